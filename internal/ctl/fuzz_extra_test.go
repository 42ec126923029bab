package ctl

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/ntkd/ntkd/internal/jsondec"
)

// FuzzRequest runs what a client sends through the server's path (one
// line of at most maxRequest bytes, decoded with jsondec) and compares it
// with encoding/json: same value, same error text. A refusal's answer must
// read back as that error; an accepted request must survive the round trip
// Call makes (json.Marshal, then jsondec).
func FuzzRequest(f *testing.F) {
	for _, s := range []string{
		`{"cmd":"status"}` + "\n", `{"cmd":"maps","level":-1}` + "\n", `{"cmd":"andna-resolve","arg":"x.mesh"}`,
		`{"cmd":`, `{"cmd":1}`, `status`, `{"level":"x","cmd":"status"}`, `{"CMD":"routes","Level":2}` + "\nmore",
		`{"cmd":"a\u00e9\ud83d\ude00","arg":"\"\\"}`, "\n", `  {"cmd":"qspn"}  ` + "\n",
		`{"cmd":"vlink-add","arg":"198.51.100.7:27000","vlink":{"public_key":"x","name":"v0"}}` + "\n", `{"vlink":null}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		line, err := bufio.NewReader(io.LimitReader(bytes.NewReader(data), maxRequest)).ReadBytes('\n')
		if err != nil && len(line) == 0 {
			return
		}
		var got, want Request
		gerr := jsondec.Unmarshal(line, &got)
		werr := json.Unmarshal(line, &want)
		if errString(gerr) != errString(werr) || !reflect.DeepEqual(got, want) {
			t.Fatalf("%q:\n jsondec       %+v, %v\n encoding/json %+v, %v", line, got, gerr, want, werr)
		}
		if gerr != nil {
			var b bytes.Buffer
			writeResponse(&b, nil, fmt.Errorf("bad request: %w", gerr))
			r, err := readResponse(&b)
			if err != nil || r.Error != "bad request: "+gerr.Error() || r.Data != nil {
				t.Fatalf("the refusal reads back as %+v, %v", r, err)
			}
			return
		}
		b, err := json.Marshal(got)
		if err != nil {
			t.Fatal(err)
		}
		var again Request
		if err := jsondec.Unmarshal(append(b, '\n'), &again); err != nil || !reflect.DeepEqual(again, got) {
			t.Fatalf("round trip %+v -> %s -> %+v, %v", got, b, again, err)
		}
	})
}

// errorReader ends a stream with an error other than EOF.
type errorReader struct{ r io.Reader }

var errBroken = errors.New("broken")

func (e errorReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err == io.EOF {
		err = errBroken
	}
	return n, err
}

// FuzzReadResponse compares readResponse with the json.Decoder it
// replaced on any answer, read whole or one byte at a time: when
// readResponse accepts an answer, the decoder must accept it with the same
// value; io.EOF only for an answer with nothing but white space. A
// Response that writeResponse writes always reads back.
func FuzzReadResponse(f *testing.F) {
	for _, s := range []string{
		"", "  \n", `{"data":{"a":[1,2]}}` + "\n", `{"error":"boom"}` + "\n", `{"data":1}`, `{"data":`,
		`{"data":[1,2` + "\n", `{"data":}` + "\n", `nope` + "\n", `{"error":5}` + "\n",
		"\n\n" + `{"data":` + "\n" + `[1]}` + "\n", `{"data":` + "\n" + `[1}` + "\n", `{"data":1} {"data":2}` + "\n",
	} {
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, data []byte, slow bool) {
		var r io.Reader = bytes.NewReader(data)
		if slow {
			r = oneByte{r}
		}
		got, gerr := readResponse(r)
		if gerr == io.EOF && len(bytes.TrimSpace(data)) != 0 {
			t.Fatalf("%q: io.EOF for a non-blank answer", data)
		}
		if gerr == nil {
			var want Response
			werr := json.NewDecoder(bytes.NewReader(data)).Decode(&want)
			if werr != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("%q: readResponse %+v; json.Decoder %+v, %v", data, got, want, werr)
			}
			// What the server writes from such an answer reads back.
			var b bytes.Buffer
			writeResponse(&b, got.Data, nil)
			if !strings.HasSuffix(b.String(), "\n") {
				t.Fatalf("no newline: %q", b.String())
			}
			again, err := readResponse(&b)
			if err != nil || (got.Data != nil && !jsonEqual(t, again.Data, got.Data)) {
				t.Fatalf("%q: written %q, read back %+v, %v", data, b.String(), again, err)
			}
		}
		// A stream that breaks is reported as broken, never as a value.
		if _, err := readResponse(errorReader{bytes.NewReader(data)}); err != nil && !errors.Is(err, errBroken) && gerr == nil {
			t.Fatalf("%q: broken stream gave %v, whole stream nil", data, err)
		}
	})
}

type oneByte struct{ r io.Reader }

func (o oneByte) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	return o.r.Read(p[:1])
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatalf("%s: %v", a, err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return reflect.DeepEqual(x, y)
}
