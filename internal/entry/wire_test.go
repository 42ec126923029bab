package entry

import (
	"bytes"
	"encoding/hex"
	"errors"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden vectors in testdata")

// goldenEntry is an entry with two hops, every field set; Ed25519 is
// deterministic, so its bytes are fixed.
func goldenEntry(t testing.TB) Entry {
	e := update(t, 1, t0.Add(-72*time.Hour), t0)
	e.Lat, e.Lon = -33_868_800, 151_209_300 // southern and eastern: negative and large
	e.Sign(key(1))
	return e.Forwarded(key(101)).Forwarded(key(102))
}

func goldenList(t testing.TB) ListReply {
	v6 := update(t, 2, t0.Add(-96*time.Hour), t0)
	v6.Endpoint = netip.MustParseAddrPort("[2001:db8::2]:51820")
	v6.HasCoords, v6.Lat, v6.Lon = false, 0, 0
	v6.Sign(key(2))
	l := ListReply{Stamp: t0.Add(time.Second).UnixNano(), Entries: []Entry{v6, goldenEntry(t)}}
	copy(l.Nonce[:], "0123456789abcdef")
	l.Sign(key(200))
	return l
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".hex")
	if *updateGolden {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		h := hex.EncodeToString(got)
		for len(h) > 64 {
			b.WriteString(h[:64] + "\n")
			h = h[64:]
		}
		b.WriteString(h + "\n")
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to write it)", err)
	}
	want, err := hex.DecodeString(strings.ReplaceAll(string(text), "\n", ""))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s: encoding changed:\n got %x\nwant %x", name, got, want)
	}
}

// TestGolden pins the wire form byte for byte, in both directions: the
// encoders produce the vectors, and the decoders read them back to the
// same values with valid signatures (under GOARCH=mips too).
func TestGolden(t *testing.T) {
	e := goldenEntry(t)
	eb := e.AppendBinary(nil)
	golden(t, "entry", eb)
	if len(eb) != RecordSize+1+2*hopSize {
		t.Errorf("entry of %d bytes", len(eb))
	}
	d, err := DecodeEntry(eb)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Verify(); err != nil {
		t.Fatal(err)
	}
	if d.Lat != -33_868_800 || d.Lon != 151_209_300 || d.Endpoint != e.Endpoint || d.Since != e.Since || d.Stamp != e.Stamp || len(d.Hops) != 2 {
		t.Errorf("decoded %+v, want %+v", d, e)
	}

	l := goldenList(t)
	lb := l.AppendBinary(nil)
	golden(t, "list", lb)
	dl, err := DecodeList(lb)
	if err != nil {
		t.Fatal(err)
	}
	if err := dl.Verify(); err != nil {
		t.Fatal(err)
	}
	if dl.Entries[0].Endpoint.String() != "[2001:db8::2]:51820" || dl.Entries[1].Endpoint.String() != "192.0.2.1:27000" || dl.Stamp != l.Stamp {
		t.Errorf("decoded list %+v", dl)
	}

	q := ListRequest{Limit: 1000}
	copy(q.Nonce[:], "0123456789abcdef")
	var msg bytes.Buffer
	if err := WriteMsg(&msg, MsgListRequest, q.AppendBinary(nil)); err != nil {
		t.Fatal(err)
	}
	if err := WriteMsg(&msg, MsgResult, []byte{byte(StatusStale)}); err != nil {
		t.Fatal(err)
	}
	golden(t, "messages", msg.Bytes())
	typ, p, err := ReadMsg(&msg, 0)
	if err != nil || typ != MsgListRequest {
		t.Fatal(typ, err)
	}
	if dq, err := DecodeListRequest(p); err != nil || dq != q {
		t.Errorf("list request %+v, %v", dq, err)
	}
	typ, p, err = ReadMsg(&msg, 0)
	if st, derr := DecodeResult(p); err != nil || derr != nil || typ != MsgResult || st != StatusStale {
		t.Errorf("result %d %v %v %v", typ, st, err, derr)
	}

	path := filepath.Join(t.TempDir(), "entries.cache")
	if err := SaveCache(path, l.Entries); err != nil {
		t.Fatal(err)
	}
	cb, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "cache", cb)
}

// TestDecodersRefuse feeds each decoder near misses of valid input.
func TestDecodersRefuse(t *testing.T) {
	eb := goldenEntry(t).AppendBinary(nil)
	for name, b := range map[string][]byte{
		"empty":         nil,
		"short":         eb[:RecordSize],
		"trailing byte": append(append([]byte(nil), eb...), 0),
		"missing hop":   eb[:len(eb)-1],
		"version 2":     patch(eb, 0, 2),
		"unknown flag":  patch(eb, 1, 3),
		"hop count":     patch(eb, RecordSize, 3),
		"too many hops": patch(eb, RecordSize, MaxHops+1),
	} {
		if _, err := DecodeEntry(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("entry %s: %v", name, err)
		}
	}
	lb := goldenList(t).AppendBinary(nil)
	for name, b := range map[string][]byte{
		"short":        lb[:100],
		"count":        patch(lb, nonceSize+8+32+3, 3),
		"count huge":   patch(lb, nonceSize+8+32, 0xff),
		"trailing":     append(append([]byte(nil), lb[:len(lb)-64]...), append([]byte{0}, lb[len(lb)-64:]...)...),
		"entry length": patch(lb, nonceSize+8+32+4+1, 0),
	} {
		if _, err := DecodeList(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("list %s: %v", name, err)
		}
	}
	l, err := DecodeList(patch(lb, 0, 'x')) // decodes, but the signature fails
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Verify(); !errors.Is(err, ErrBadSignature) {
		t.Errorf("changed nonce: %v", err)
	}
	for name, h := range map[string][]byte{
		"magic":      []byte("XE\x01\x01\x00\x00\x00\x00"),
		"version":    []byte("NE\x02\x01\x00\x00\x00\x00"),
		"type":       []byte("NE\x01\x0b\x00\x00\x00\x00"),
		"long chain": []byte("NE\x01\x0a\x00\x00\x05\xe3"), // 1507: one over the largest VHOOK_CHAIN
		"long ack":   []byte("NE\x01\x06\x00\x00\x00\xaf"), // 175: one over a VHOOK_ACK
		"long swap":  []byte("NE\x01\x09\x00\x00\x10\x00"),
		"long upd":   []byte("NE\x01\x01\x00\x01\x00\x00"),
		"long res":   []byte("NE\x01\x02\x00\x00\x00\x02"),
		"long list":  []byte("NE\x01\x04\x7f\x00\x00\x00"),
	} {
		if _, _, err := ReadMsg(bytes.NewReader(h), 0); !errors.Is(err, ErrMalformed) {
			t.Errorf("header %s: %v", name, err)
		}
	}
	if _, err := DecodeResult([]byte{byte(numStatus)}); !errors.Is(err, ErrMalformed) {
		t.Errorf("unknown status: %v", err)
	}
	if _, err := DecodeListRequest(make([]byte, 19)); !errors.Is(err, ErrMalformed) {
		t.Errorf("short list request: %v", err)
	}
}

func patch(b []byte, i int, v byte) []byte {
	c := append([]byte(nil), b...)
	c[i] = v
	return c
}

// The fuzz targets check that decoders never panic, that what they accept
// is canonical (it encodes back to the same bytes), and that allocation is
// bounded by the input.

func FuzzDecodeEntry(f *testing.F) {
	f.Add(goldenEntry(f).AppendBinary(nil))
	f.Add(update(f, 3, t0.Add(-time.Hour), t0).AppendBinary(nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := DecodeEntry(b)
		if err != nil {
			return
		}
		if got := e.AppendBinary(nil); !bytes.Equal(got, b) {
			t.Fatalf("not canonical:\n in %x\nout %x", b, got)
		}
		_ = e.Verify()
	})
}

func FuzzDecodeList(f *testing.F) {
	f.Add(goldenList(f).AppendBinary(nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := DecodeList(b)
		if err != nil {
			return
		}
		if got := l.AppendBinary(nil); !bytes.Equal(got, b) {
			t.Fatalf("not canonical:\n in %x\nout %x", b, got)
		}
	})
}

func FuzzReadMsg(f *testing.F) {
	var b bytes.Buffer
	WriteMsg(&b, MsgUpdate, goldenEntry(f).AppendBinary(nil))
	f.Add(b.Bytes())
	b.Reset()
	a := goldenVHookAck()
	WriteMsg(&b, MsgVHookAck, a.AppendBinary(nil))
	f.Add(b.Bytes())
	f.Add([]byte("NE\x01\x03\x00\x00\x00\x140123456789abcdef\x00\x00\x00\x00"))
	f.Add([]byte("NE\x01\x02\x00\x00\x00\x01\x05"))
	f.Fuzz(func(t *testing.T, b []byte) {
		typ, p, err := ReadMsg(bytes.NewReader(b), 1<<16)
		if err != nil {
			return
		}
		var out bytes.Buffer
		WriteMsg(&out, typ, p)
		if !bytes.HasPrefix(b, out.Bytes()) {
			t.Fatalf("re-encoded %x is not the start of %x", out.Bytes(), b)
		}
		switch typ {
		case MsgUpdate:
			DecodeEntry(p)
		case MsgResult:
			DecodeResult(p)
		case MsgListRequest:
			if q, err := DecodeListRequest(p); err == nil && !bytes.Equal(q.AppendBinary(nil), p) {
				t.Fatal("list request not canonical")
			}
		case MsgList:
			DecodeList(p)
		case MsgVHookAck:
			if a, err := DecodeVHookAck(p); err == nil && !bytes.Equal(a.AppendBinary(nil), p) {
				t.Fatal("vhook ack not canonical")
			}
		case MsgVHookChain:
			DecodeVHookChain(p)
		}
	})
}

func FuzzDecodeCache(f *testing.F) {
	es := goldenList(f).Entries
	b := append([]byte(nil), cacheMagic...)
	b = append(b, 0, 0, 0, byte(len(es)))
	for i := range es {
		b = append(b, byte(es[i].Size()>>8), byte(es[i].Size()))
		b = es[i].AppendBinary(b)
	}
	f.Add(b)
	f.Fuzz(func(t *testing.T, b []byte) {
		es, err := DecodeCache(b)
		if err != nil {
			return
		}
		for i := range es {
			if err := es[i].Verify(); err != nil {
				t.Fatalf("DecodeCache kept an entry that does not verify: %v", err)
			}
		}
	})
}
