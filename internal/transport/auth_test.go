package transport

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/ntkd/ntkd/internal/wire"
)

// The network key's trailer without sockets (auth.go); auth_linux_test.go
// has the same over real datagrams and streams.

func testKey(b byte) Key {
	var k Key
	for i := range k {
		k[i] = b + byte(i)
	}
	return k
}

var (
	keyOld, keyNew, keyForeign = testKey(1), testKey(100), testKey(200)
	srcA                       = netip.MustParseAddr("fe80::a")
	srcB                       = netip.MustParseAddr("fe80::b")
)

func dgram(src netip.Addr) *authCtx { return &authCtx{domain: domainDatagram, src: src} }

func streamCtx(src netip.Addr, chal byte, seq uint64) *authCtx {
	return &authCtx{domain: domainStream, src: src, challenge: bytes.Repeat([]byte{chal}, challengeLen), seq: seq}
}

// An echo packet the wire decoder accepts, so that what open returns is
// checked by the protocol's own decoder.
func echoPacket(t testing.TB) []byte {
	t.Helper()
	pkt, err := wire.Encode(7, &wire.Echo{Kind: wire.OpEchoMe, Burst: 1, Seq: 2, Nonce: 3, Lowest: 3})
	if err != nil {
		t.Fatal(err)
	}
	return pkt
}

func TestSealOpen(t *testing.T) {
	plain := echoPacket(t)
	ks := newKeySet([]Key{keyOld})
	sealed := ks.seal(plain, dgram(srcA))
	if len(sealed) != len(plain)+TrailerLen || sealed[5]&flagAuth == 0 ||
		binary.BigEndian.Uint32(sealed[12:]) != binary.BigEndian.Uint32(plain[12:])+TrailerLen || checkFrame(sealed) != nil {
		t.Fatalf("sealed packet % x: want flag 1, length +%d, well framed", sealed, TrailerLen)
	}
	if sealed[len(plain)] != KeyID(keyOld) {
		t.Fatalf("key id %d, want %d", sealed[len(plain)], KeyID(keyOld))
	}
	if _, _, err := wire.Decode(sealed); err == nil {
		t.Fatal("the protocol decoder accepts a sealed packet: the flag must make it refuse it")
	}
	got, _, ok := ks.open(sealed, dgram(srcA))
	if !ok || !bytes.Equal(got, plain) {
		t.Fatalf("open: %v % x, want the plain packet back", ok, got)
	}
	if _, _, err := wire.Decode(got); err != nil {
		t.Fatalf("the opened packet does not decode: %v", err)
	}
	// Open mesh: nothing changes.
	var open *keySet
	if got, _, ok := open.open(plain, dgram(srcA)); !ok || !bytes.Equal(got, plain) {
		t.Fatal("an open mesh changed a plain packet")
	}
}

// TestHMAC: netKey.mac is HMAC-SHA256 as crypto/hmac computes it.
func TestHMAC(t *testing.T) {
	for _, k := range []Key{keyOld, keyNew, {}} {
		nk := newNetKey(k)
		for _, n := range []int{0, 1, 55, 64, 65, 1000} {
			msg := bytes.Repeat([]byte{byte(n)}, n)
			ref := hmac.New(sha256.New, k[:])
			ref.Write(msg)
			m := nk.pool.Get().(*macState)
			copy(m.pre[:], msg)
			nk.mac(m, min(n, len(m.pre)), msg[min(n, len(m.pre)):])
			if want, got := ref.Sum(nil), m.sum; !bytes.Equal(got[:], want) {
				t.Fatalf("key %x, %d bytes: %x, want %x", k[:2], n, got, want)
			}
		}
	}
}

func TestOpenRefuses(t *testing.T) {
	plain := echoPacket(t)
	closed := newKeySet([]Key{keyOld})
	var open *keySet
	sealed := func(ks *keySet, ctx *authCtx) []byte { return ks.seal(plain, ctx) }
	for _, c := range []struct {
		name string
		ks   *keySet
		pkt  []byte
		ctx  *authCtx
		why  dropReason
	}{
		{"keyless packet on a closed mesh", closed, plain, dgram(srcA), dropUnauthenticated},
		{"tagged packet on an open mesh", open, sealed(closed, dgram(srcA)), dgram(srcA), dropUnauthenticated},
		{"foreign key", closed, sealed(newKeySet([]Key{keyForeign}), dgram(srcA)), dgram(srcA), dropBadTag},
		{"another sender's address", closed, sealed(closed, dgram(srcA)), dgram(srcB), dropBadTag},
		{"a datagram's tag on a stream", closed, sealed(closed, dgram(srcA)), streamCtx(srcA, 1, 0), dropBadTag},
		{"another frame number", closed, sealed(closed, streamCtx(srcA, 1, 0)), streamCtx(srcA, 1, 1), dropBadTag},
		{"another connection's challenge", closed, sealed(closed, streamCtx(srcA, 1, 5)), streamCtx(srcA, 2, 5), dropBadTag},
		{"a new key not accepted yet", closed, sealed(newKeySet([]Key{keyNew, keyOld}), dgram(srcA)), dgram(srcA), dropBadTag},
		{"flag without a trailer", closed, func() []byte { p := bytes.Clone(plain); p[5] |= flagAuth; return p }(), dgram(srcA), dropBadTag},
	} {
		got, why, ok := c.ks.open(bytes.Clone(c.pkt), c.ctx)
		if ok || why != c.why || got != nil {
			t.Errorf("%s: open = %v %s, want dropped as %s", c.name, ok, dropNames[why], dropNames[c.why])
		}
	}
}

func TestOpenRefusesEveryTamperedByte(t *testing.T) {
	ks := newKeySet([]Key{keyOld})
	sealed := ks.seal(echoPacket(t), streamCtx(srcA, 9, 3))
	for i := range sealed {
		for _, bit := range []byte{0x01, 0x80} {
			p := bytes.Clone(sealed)
			p[i] ^= bit
			if _, _, ok := ks.open(p, streamCtx(srcA, 9, 3)); ok {
				t.Fatalf("byte %d ^ %#x accepted", i, bit)
			}
		}
	}
	if _, _, ok := ks.open(sealed, streamCtx(srcA, 9, 3)); !ok {
		t.Fatal("the untouched packet is refused")
	}
}

// Rotation: a node sending with the new key and accepting the old one
// talks with nodes that still send the old key and accept the new one, and
// with nodes that dropped the old one; a node with the old key alone
// cannot read the new key (step 1 of the procedure exists for that).
func TestKeyRotation(t *testing.T) {
	plain := echoPacket(t)
	step1 := newKeySet([]Key{keyOld, keyNew}) // old sent, new accepted
	step2 := newKeySet([]Key{keyNew, keyOld}) // new sent, old accepted
	step3 := newKeySet([]Key{keyNew})         // old dropped
	before := newKeySet([]Key{keyOld})
	for _, c := range []struct {
		name     string
		from, to *keySet
		ok       bool
	}{
		{"before -> step 1", before, step1, true}, {"step 1 -> before", step1, before, true},
		{"step 1 -> step 2", step1, step2, true}, {"step 2 -> step 1", step2, step1, true},
		{"step 2 -> step 3", step2, step3, true}, {"step 3 -> step 2", step3, step2, true},
		{"step 2 -> before", step2, before, false}, {"before -> step 3", before, step3, false},
	} {
		_, _, ok := c.to.open(c.from.seal(plain, dgram(srcA)), dgram(srcA))
		if ok != c.ok {
			t.Errorf("%s: accepted %v, want %v", c.name, ok, c.ok)
		}
	}
	if s := newKeySet([]Key{keyOld, keyOld}); len(s.keys) != 1 {
		t.Errorf("a key given twice is kept %d times", len(s.keys))
	}
	if newKeySet(nil) != nil {
		t.Error("no keys must be an open mesh (nil)")
	}
}

// Two keys with the same id are both tried.
func TestKeyIDCollision(t *testing.T) {
	var other Key
	for i := 0; ; i++ {
		other = testKey(byte(i))
		binary.BigEndian.PutUint32(other[:], uint32(i))
		if KeyID(other) == KeyID(keyOld) && other != keyOld {
			break
		}
	}
	ks := newKeySet([]Key{other, keyOld})
	plain := echoPacket(t)
	for _, k := range []Key{keyOld, other} {
		if _, _, ok := ks.open(newKeySet([]Key{k}).seal(plain, dgram(srcA)), dgram(srcA)); !ok {
			t.Errorf("key with id %d refused", KeyID(k))
		}
	}
}

// FuzzOpen: open never panics, and what it accepts is one well-framed
// plain packet that seals back to exactly the bytes received (the trailer
// is canonical).
func FuzzOpen(f *testing.F) {
	ks := newKeySet([]Key{keyNew, keyOld})
	plain := echoPacket(f)
	f.Add(plain, false, uint64(0))
	f.Add(ks.seal(plain, dgram(srcA)), false, uint64(0))
	f.Add(newKeySet([]Key{keyOld}).seal(plain, streamCtx(srcA, 0, 1)), true, uint64(1))
	f.Add(newKeySet([]Key{keyForeign}).seal(plain, dgram(srcA)), false, uint64(0))
	f.Fuzz(func(t *testing.T, pkt []byte, stream bool, seq uint64) {
		if checkFrame(pkt) != nil {
			return // the transport checks the framing first
		}
		ctx := dgram(srcA)
		if stream {
			ctx = streamCtx(srcA, 0, seq)
		}
		in := bytes.Clone(pkt)
		got, why, ok := ks.open(pkt, ctx)
		if !ok {
			if why != dropBadTag && why != dropUnauthenticated {
				t.Fatalf("drop reason %d", why)
			}
			return
		}
		if err := checkFrame(got); err != nil {
			t.Fatalf("accepted packet badly framed: %v", err)
		}
		if got[5]&flagAuth != 0 {
			t.Fatal("accepted packet keeps the flag")
		}
		// Sealed again with the key it came with, it is what arrived.
		for _, k := range ks.keys {
			if k.id == in[len(in)-TrailerLen] {
				one := &keySet{keys: []*netKey{k}}
				if again := one.seal(got, ctx); bytes.Equal(again, in) {
					return
				}
			}
		}
		t.Fatalf("accepted % x, which no key seals back", in)
	})
}

// BenchmarkSeal and BenchmarkOpen: the cost of the network key per packet
// (docs/PROTOCOL.md, "Closed mesh: network key").
func BenchmarkSeal(b *testing.B) {
	for _, size := range []int{64, 1024} {
		b.Run(strconvItoa(size), func(b *testing.B) {
			ks := newKeySet([]Key{keyOld})
			plain := testFrame(wire.OpTracerPkt, 1, make([]byte, size-wire.HeaderLen))
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				ks.seal(plain, dgram(srcA))
			}
		})
	}
}

func BenchmarkOpen(b *testing.B) {
	for _, size := range []int{64, 1024} {
		b.Run(strconvItoa(size), func(b *testing.B) {
			ks := newKeySet([]Key{keyNew, keyOld})
			plain := testFrame(wire.OpTracerPkt, 1, make([]byte, size-wire.HeaderLen))
			sealed := newKeySet([]Key{keyOld}).seal(plain, dgram(srcA))
			buf := make([]byte, len(sealed))
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				copy(buf, sealed)
				if _, _, ok := ks.open(buf, dgram(srcA)); !ok {
					b.Fatal("refused")
				}
			}
		})
	}
}

func strconvItoa(n int) string {
	if n == 64 {
		return "64B"
	}
	return "1024B"
}
