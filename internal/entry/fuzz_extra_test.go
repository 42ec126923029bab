package entry

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"reflect"
	"testing"
	"time"
)

// FuzzPublicKeyText: a key in a configuration is standard base64 of 32
// bytes. Anything else is refused without touching the key; what is
// accepted is 44 characters and survives MarshalText and UnmarshalText.
func FuzzPublicKeyText(f *testing.F) {
	k := PublicKeyOf(key(7))
	text, _ := k.MarshalText()
	f.Add(text)
	f.Add(text[:43])
	f.Add(append(append([]byte(nil), text[:43]...), 'x'))
	f.Add([]byte("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB="))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, text []byte) {
		before := PublicKeyOf(key(9))
		k := before
		if err := k.UnmarshalText(text); err != nil {
			if k != before {
				t.Fatalf("%q refused (%v) but the key changed", text, err)
			}
			return
		}
		if len(text) != 44 {
			t.Fatalf("%q accepted: %d characters", text, len(text))
		}
		out, err := k.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var again PublicKey
		if err := again.UnmarshalText(out); err != nil || again != k {
			t.Fatalf("%q -> %s -> %v, %v", text, out, again, err)
		}
	})
}

// pipeConn is a connection whose peer sent in and reads out.
type pipeConn struct {
	in  *bytes.Reader
	out bytes.Buffer
}

var fuzzPeerAddr = &net.TCPAddr{IP: net.IPv4(192, 0, 2, 9), Port: 40000}

func (c *pipeConn) Read(p []byte) (int, error)       { return c.in.Read(p) }
func (c *pipeConn) Write(p []byte) (int, error)      { return c.out.Write(p) }
func (c *pipeConn) Close() error                     { return nil }
func (c *pipeConn) LocalAddr() net.Addr              { return fuzzPeerAddr }
func (c *pipeConn) RemoteAddr() net.Addr             { return fuzzPeerAddr }
func (c *pipeConn) SetDeadline(time.Time) error      { return nil }
func (c *pipeConn) SetReadDeadline(time.Time) error  { return nil }
func (c *pipeConn) SetWriteDeadline(time.Time) error { return nil }

// FuzzServeConn runs a server's connection handler on any bytes a client
// may send. Whatever comes in, the server answers only well-formed RESULT
// or signed LIST messages; one OK result per accepted update; and when no
// update is accepted the list is exactly what it was (a refused or
// malformed message changes no state).
func FuzzServeConn(f *testing.F) {
	now := time.Now()
	fresh, err := NewUpdate(key(3), [32]byte{3}, netip.MustParseAddrPort("192.0.2.3:27000"),
		Position{HasCoords: true, Lat: 1, Lon: 2}, now.Add(-time.Hour), now)
	if err != nil {
		f.Fatal(err)
	}
	msg := func(typ byte, p []byte) []byte {
		var b bytes.Buffer
		WriteMsg(&b, typ, p)
		return b.Bytes()
	}
	q := ListRequest{Limit: 1}
	copy(q.Nonce[:], "0123456789abcdef")
	f.Add(msg(MsgUpdate, fresh.AppendBinary(nil)))
	f.Add(append(msg(MsgUpdate, fresh.AppendBinary(nil)), msg(MsgListRequest, q.AppendBinary(nil))...))
	f.Add(msg(MsgUpdate, goldenEntry(f).AppendBinary(nil)))
	f.Add(msg(MsgListRequest, q.AppendBinary(nil)))
	f.Add(msg(MsgList, goldenList(f).AppendBinary(nil)))
	f.Add(msg(MsgResult, []byte{0}))
	f.Add(msg(MsgUpdate, []byte{1, 2, 3}))
	f.Add([]byte("NE\x01\x03\x00\x00\x00\x140123456789abcdef"))

	held, err := NewUpdate(key(4), [32]byte{4}, netip.MustParseAddrPort("[2001:db8::4]:27000"),
		Position{}, now.Add(-2*time.Hour), now)
	if err != nil {
		f.Fatal(err)
	}
	srvKey := key(200)
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := NewServer(ServerConfig{Key: srvKey, Peers: []Peer{{Key: PublicKeyOf(key(101))}}, SourceRate: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		if err := s.list.Apply(held, time.Now()); err != nil {
			t.Fatalf("held entry: %v", err)
		}
		before := s.list.Snapshot()
		c := &pipeConn{in: bytes.NewReader(data)}
		s.serveConn(context.Background(), c)

		counters, _ := s.Stats()
		oks := 0
		for n := 0; ; n++ {
			typ, p, err := ReadMsg(&c.out, 1<<24)
			if errors.Is(err, io.EOF) && c.out.Len() == 0 {
				break
			}
			if err != nil || n >= msgsPerConn {
				t.Fatalf("answer %d: %v", n, err)
			}
			switch typ {
			case MsgResult:
				st, err := DecodeResult(p)
				if err != nil {
					t.Fatalf("answer %d: %v", n, err)
				}
				if st == StatusOK {
					oks++
				}
			case MsgList:
				l, err := DecodeList(p)
				if err != nil {
					t.Fatalf("list answer: %v", err)
				}
				if err := l.Verify(); err != nil || l.Server != s.PublicKey() {
					t.Fatalf("list answer does not verify: %v", err)
				}
				if !bytes.Equal(l.AppendBinary(nil), p) {
					t.Fatal("list answer not canonical")
				}
			default:
				t.Fatalf("answer %d has type %d", n, typ)
			}
		}
		if uint64(oks) != counters.Accepted-1 {
			t.Fatalf("%d OK results, %d updates accepted", oks, counters.Accepted-1)
		}
		if oks == 0 && !reflect.DeepEqual(before, s.list.Snapshot()) {
			t.Fatal("no update accepted, but the list changed")
		}
	})
}
