package topo

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

// FuzzParse checks that Parse never panics, that whatever it accepts is a
// valid topology, and that WriteText gives back text Parse reads to the same
// topology.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"0 1\n",
		"nodes 4\n0 1 latency=5ms jitter=1ms loss=0.5\n2 3 # c\n",
		"# c\n\n1 2 loss=1\n",
		"0 0\n",
		"0 1\n1 0\n",
		"nodes 2\n0 5\n",
		"0 1 latency=-1s\n",
		"0 1 loss=1e-3 latency=1h2m3.000000004s\n",
		"1000000 0\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		tp, err := Parse("fuzz", bytes.NewReader(in))
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error is not a *ParseError: %v", err)
			}
			return
		}
		if err := tp.Validate(); err != nil {
			t.Fatalf("accepted an invalid topology: %v", err)
		}
		if tp.Nodes < 1 {
			t.Fatalf("accepted %d nodes", tp.Nodes)
		}
		var buf bytes.Buffer
		if err := tp.WriteText(&buf); err != nil {
			t.Fatal(err)
		}
		back, err := Parse("fuzz", &buf)
		if err != nil {
			t.Fatalf("output does not parse: %v\n%s", err, buf.String())
		}
		if !reflect.DeepEqual(back, tp) {
			t.Fatalf("round trip changed the topology:\n%+v\n%+v", tp, back)
		}
	})
}
