package wire

import (
	"bytes"
	"io"
	"testing"
)

// chunkReader hands out at most n bytes per Read, as a TCP stream may.
type chunkReader struct {
	b []byte
	n int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	k := copy(p[:min(len(p), r.n)], r.b)
	r.b = r.b[k:]
	return k, nil
}

// FuzzReadFrame reads frames off any byte stream, cut into any read sizes,
// with a reused buffer. Each frame must be exactly the next header and
// payload that PayloadLen finds in the bytes; framing errors are *Error with
// one sentinel, a cut stream io.ErrUnexpectedEOF, only a clean end io.EOF.
// Every frame then goes through Decode, which either rejects it properly
// or gives a value that re-encodes to the same frame.
func FuzzReadFrame(f *testing.F) {
	ops := Ops()
	for i, op := range ops {
		a, b := readGolden(f, op), readGolden(f, ops[(i+1)%len(ops)])
		f.Add(append(append([]byte(nil), a...), b...), uint8(i%5))
	}
	f.Add(readGolden(f, OpRouted)[:HeaderLen+1], uint8(0))
	f.Add(readGolden(f, OpAck)[:5], uint8(2))
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8) {
		var r io.Reader = bytes.NewReader(data)
		if chunk > 0 {
			r = &chunkReader{b: data, n: int(chunk)}
		}
		var buf []byte
		rest := data
		for {
			frame, err := ReadFrame(r, buf)
			switch {
			case len(rest) == 0:
				if err != io.EOF {
					t.Fatalf("clean end: %x, %v", frame, err)
				}
				return
			case len(rest) < HeaderLen:
				if err != io.ErrUnexpectedEOF {
					t.Fatalf("%d header bytes: %x, %v", len(rest), frame, err)
				}
				return
			}
			n, perr := PayloadLen(rest)
			if perr != nil {
				if err == nil || err.Error() != perr.Error() {
					t.Fatalf("bad framing: ReadFrame %v, PayloadLen %v", err, perr)
				}
				checkRejection(t, err)
				return
			}
			if len(rest) < HeaderLen+n {
				if err != io.ErrUnexpectedEOF {
					t.Fatalf("cut frame: %d bytes, %v", len(frame), err)
				}
				return
			}
			if err != nil || !bytes.Equal(frame, rest[:HeaderLen+n]) {
				t.Fatalf("frame: %v\n got  %x\n want %x", err, frame, rest[:HeaderLen+n])
			}
			h, p, derr := Decode(frame)
			if derr != nil {
				checkRejection(t, derr)
			} else if b, err := Encode(h.ID, p); err != nil || !bytes.Equal(b, frame) {
				t.Fatalf("re-encode: %v\n in  %x\n out %x", err, frame, b)
			}
			rest = rest[HeaderLen+n:]
			buf = frame
		}
	})
}
