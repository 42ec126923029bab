package transport

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/ntkd/ntkd/internal/wire"
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

// FuzzReadFrame feeds any byte stream, cut into any read sizes, to the
// stream reader and checks each result against the framing read off the
// bytes directly: a frame comes back exactly as sent and passes checkFrame,
// a frame above the limit is skipped as errTooBig and the next one still
// comes out, bad framing is errMalformed, a cut stream is
// io.ErrUnexpectedEOF and only a clean end is io.EOF.
func FuzzReadFrame(f *testing.F) {
	small := testFrame(wire.OpEchoMe, 1, []byte("abc"))
	big := testFrame(wire.OpRouted, 2, make([]byte, 40))
	two := append(append([]byte(nil), big...), small...)
	f.Add(two, uint16(64), uint8(0))
	f.Add(two, uint16(30), uint8(3))
	f.Add(small[:10], uint16(100), uint8(1))
	f.Add(append(append([]byte(nil), small...), big[:20]...), uint16(1000), uint8(7))
	bad := append([]byte(nil), small...)
	bad[2] = 9
	f.Add(append(append([]byte(nil), small...), bad...), uint16(1000), uint8(0))
	f.Add(testFrame(0x7f, 3, nil), uint16(16), uint8(2))

	f.Fuzz(func(t *testing.T, data []byte, limit uint16, chunk uint8) {
		var r io.Reader = bytes.NewReader(data)
		if chunk > 0 {
			r = &chunkReader{b: data, n: int(chunk)}
		}
		hdr := new([wire.HeaderLen]byte)
		rest := data
		for {
			pkt, err := readFrame(r, hdr, int(limit))
			switch {
			case len(rest) == 0:
				if err != io.EOF {
					t.Fatalf("clean end: got %x, %v; want io.EOF", pkt, err)
				}
				return
			case len(rest) < wire.HeaderLen:
				if err != io.ErrUnexpectedEOF {
					t.Fatalf("%d bytes of a header: got %x, %v", len(rest), pkt, err)
				}
				return
			}
			n, perr := wire.PayloadLen(rest)
			if perr != nil {
				if !errors.Is(err, errMalformed) || err.Error() != errMalformed.Error()+": "+perr.Error() {
					t.Fatalf("bad framing %x (%v): got %v", rest[:wire.HeaderLen], perr, err)
				}
				return
			}
			total := wire.HeaderLen + n
			if len(rest) < total {
				if err != io.ErrUnexpectedEOF {
					t.Fatalf("frame of %d cut at %d: got %d bytes, %v", total, len(rest), len(pkt), err)
				}
				return
			}
			if total > int(limit) {
				if !errors.Is(err, errTooBig) || pkt != nil {
					t.Fatalf("frame of %d over limit %d: got %d bytes, %v", total, limit, len(pkt), err)
				}
				rest = rest[total:]
				continue
			}
			if err != nil || !bytes.Equal(pkt, rest[:total]) {
				t.Fatalf("frame of %d: got %v\n got  %x\n want %x", total, err, pkt, rest[:total])
			}
			if err := checkFrame(pkt); err != nil {
				t.Fatalf("readFrame returned a frame checkFrame refuses: %v", err)
			}
			if opOf(pkt) != wire.Op(rest[3]) {
				t.Fatal("opOf")
			}
			rest = rest[total:]
		}
	})
}

// FuzzCheckFrame: checkFrame (the datagram path) accepts exactly one
// well-framed packet, as PayloadLen reads its header.
func FuzzCheckFrame(f *testing.F) {
	f.Add(testFrame(wire.OpEchoMe, 1, []byte("abc")))
	f.Add(testFrame(wire.OpAck, 1, nil))
	f.Add(testFrame(wire.OpAck, 1, nil)[:15])
	f.Fuzz(func(t *testing.T, pkt []byte) {
		err := checkFrame(pkt)
		n, perr := wire.PayloadLen(pkt)
		want := perr == nil && wire.HeaderLen+n == len(pkt)
		if (err == nil) != want {
			t.Fatalf("checkFrame %v; PayloadLen %d, %v; %d bytes", err, n, perr, len(pkt))
		}
		if err == nil && opOf(pkt) != wire.Op(pkt[3]) {
			t.Fatal("opOf")
		}
	})
}
