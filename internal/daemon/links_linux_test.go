package daemon

import (
	"net"
	"strings"
	"testing"
)

// TestStdLinksByName checks the ioctl lookup against the net package's.
func TestStdLinksByName(t *testing.T) {
	ifs, err := net.Interfaces()
	if err != nil || len(ifs) == 0 {
		t.Fatalf("no interfaces to compare with (every namespace has lo): %v", err)
	}
	for _, ifi := range ifs {
		index, up, ok := stdLinks{}.ByName(ifi.Name)
		wantUp := ifi.Flags&net.FlagUp != 0 && ifi.Flags&net.FlagRunning != 0
		if !ok || index != ifi.Index || up != wantUp {
			t.Errorf("%s: index %d up %v ok %v, want %d %v", ifi.Name, index, up, ok, ifi.Index, wantUp)
		}
	}
	for _, name := range []string{"ntkd-absent0", strings.Repeat("x", 40), ""} {
		if _, _, ok := (stdLinks{}).ByName(name); ok {
			t.Errorf("%q found", name)
		}
	}
}
