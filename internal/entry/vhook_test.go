package entry

import (
	"bytes"
	"encoding/hex"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func goldenVHook() VHook {
	v := VHook{Endpoint: netip.MustParseAddrPort("198.51.100.7:27000"), Listen: 27001, Swap: true, HasCoords: true,
		Lat: 45_464_200, Lon: 9_190_000, ID: 0x0123456789abcdef, Stamp: t0.UnixNano()}
	copy(v.TunnelKey[:], bytes.Repeat([]byte{0xa5}, 32))
	v.Sign(key(7))
	return v
}

// goldenVHookAck is key(1)'s ack for the golden VHOOK, with a listen port
// and coordinates (south and west: both negative).
func goldenVHookAck() VHookAck {
	a := VHookAck{Endpoint: netip.MustParseAddrPort("[2001:db8::1]:27001"), Listen: 27002, HasCoords: true,
		Lat: -22_906_800, Lon: -43_172_900, ID: 0x0123456789abcdef, Stamp: t0.Add(time.Second).UnixNano()}
	copy(a.TunnelKey[:], bytes.Repeat([]byte{0x5a}, 32))
	a.Sign(key(1))
	return a
}

// goldenVHookAckBare is the golden ack without listen port or coordinates.
func goldenVHookAckBare() VHookAck {
	a := goldenVHookAck()
	a.Listen, a.HasCoords, a.Lat, a.Lon = 0, false, 0, 0
	a.Sign(key(1))
	return a
}

// The VHOOK golden vector (testdata/vhook.hex, 174 bytes; docs/ENTRY.md):
//
//	0    01                  version
//	1    07                  flags: coordinates, endpoint, swap
//	2    ea4a…d22c           node key (key(7))
//	34   a5 × 32             tunnel key
//	66   ::ffff:198.51.100.7 endpoint address
//	82   6978                endpoint port 27000
//	84   6979                listen port 27001
//	86   02b5ba88 008c3a70   latitude 45464200, longitude 9190000
//	94   0123456789abcdef    id
//	102  18ab6f4053a98000    stamp: t0 in unix ns
//	110  …                   signature (64)
func TestVHookGolden(t *testing.T) {
	v := goldenVHook()
	b := v.AppendBinary(nil)
	golden(t, "vhook", b)
	if len(b) != VHookSize || VHookSize != 174 {
		t.Fatalf("vhook of %d bytes, want %d", len(b), VHookSize)
	}
	d, err := DecodeVHook(b)
	if err != nil || !bytes.Equal(d.AppendBinary(nil), b) || d.Verify() != nil {
		t.Fatalf("decoded %+v (%v), want %+v", d, err, v)
	}
	if d.Endpoint != v.Endpoint || d.Listen != 27001 || !d.Swap || d.Want != 1 || !d.HasCoords || d.Lat != v.Lat ||
		d.Lon != v.Lon || d.ID != v.ID || d.Stamp != v.Stamp || d.Node != PublicKeyOf(key(7)) || d.TunnelKey != v.TunnelKey {
		t.Fatalf("decoded %+v, want %+v", d, v)
	}
	// The layout above, byte for byte where it is not a key or signature.
	for _, f := range []struct {
		off  int
		want string
	}{{0, "01"}, {1, "07"}, {66, "00000000000000000000ffffc6336407"}, {82, "6978"}, {84, "6979"},
		{86, "02b5ba88008c3a70"}, {94, "0123456789abcdef"}, {102, "18ab6f4053a98000"}} {
		want, _ := hex.DecodeString(f.want)
		if !bytes.Equal(b[f.off:f.off+len(want)], want) {
			t.Errorf("offset %d: %x, want %s", f.off, b[f.off:f.off+len(want)], f.want)
		}
	}
	a := goldenVHookAck()
	ab := a.AppendBinary(nil)
	// Framed like the list's messages, within their types' bounds.
	var m bytes.Buffer
	WriteMsg(&m, MsgVHook, b)
	WriteMsg(&m, MsgVHookAck, ab)
	for _, want := range []byte{MsgVHook, MsgVHookAck} {
		typ, _, err := ReadMsg(&m, 0)
		if err != nil || typ != want {
			t.Fatalf("message %d: %d %v", want, typ, err)
		}
	}
}

// The VHOOK_ACK golden vector (testdata/vhook-ack.hex, 174 bytes, the
// layout of a VHOOK; docs/ENTRY.md):
//
//	0    01                  version
//	1    01                  flags: coordinates
//	2    8a88…               node key (key(1))
//	34   5a × 32             tunnel key
//	66   2001:db8::1         endpoint address
//	82   6979                endpoint port 27001
//	84   697a                listen port 27002
//	86   fea27850 fd6d3bdc   latitude -22906800, longitude -43172900
//	94   0123456789abcdef    id: the golden VHOOK's
//	102  18ab6f408f444a00    stamp: t0+1s in unix ns
//	110  …                   signature (64)
//
// testdata/vhook-ack-bare.hex is the same ack without listen port and
// coordinates: flags 00, bytes 84..93 zero.
func TestVHookAckGolden(t *testing.T) {
	a := goldenVHookAck()
	b := a.AppendBinary(nil)
	golden(t, "vhook-ack", b)
	if len(b) != VHookAckSize || VHookAckSize != 174 || vhookAckBody != 110 {
		t.Fatalf("vhook ack of %d bytes, want %d", len(b), VHookAckSize)
	}
	checkLayout(t, "ack", b, map[int]string{0: "0101" + hexKey(1), 34: strings.Repeat("5a", 32),
		66: "20010db8000000000000000000000001" + "6979" + "697a" + "fea27850" + "fd6d3bdc" + "0123456789abcdef" + "18ab6f408f444a00"})
	d, err := DecodeVHookAck(b)
	if err != nil || !bytes.Equal(d.AppendBinary(nil), b) || d.Verify(PublicKeyOf(key(1)), 0x0123456789abcdef) != nil {
		t.Fatalf("decoded ack %+v (%v), want %+v", d, err, a)
	}
	if d.Node != PublicKeyOf(key(1)) || d.TunnelKey != a.TunnelKey || d.Endpoint != a.Endpoint || d.Listen != 27002 ||
		!d.HasCoords || d.Lat != -22_906_800 || d.Lon != -43_172_900 || d.ID != a.ID || d.Stamp != a.Stamp || d.Sig != a.Sig {
		t.Fatalf("decoded ack %+v, want %+v", d, a)
	}
	bare := goldenVHookAckBare()
	bb := bare.AppendBinary(nil)
	golden(t, "vhook-ack-bare", bb)
	checkLayout(t, "bare ack", bb, map[int]string{0: "0100" + hexKey(1), 82: "6979" + strings.Repeat("00", 10) + "0123456789abcdef" + "18ab6f408f444a00"})
	if len(bb) != VHookAckSize || !bytes.Equal(bb[2:84], b[2:84]) || !bytes.Equal(bb[94:110], b[94:110]) {
		t.Fatalf("bare ack %x: not the golden ack without listen port and coordinates", bb)
	}
	d, err = DecodeVHookAck(bb)
	if err != nil || !bytes.Equal(d.AppendBinary(nil), bb) || d.Verify(PublicKeyOf(key(1)), 0x0123456789abcdef) != nil {
		t.Fatalf("decoded bare ack %+v (%v)", d, err)
	}
	if d.Listen != 0 || d.HasCoords || d.Lat != 0 || d.Lon != 0 || d.Endpoint != a.Endpoint {
		t.Fatalf("decoded bare ack %+v", d)
	}
}

// TestVHookAckFields: the listen port and the coordinates come back as
// they were sent, at their bounds too, and each is signed.
func TestVHookAckFields(t *testing.T) {
	for _, c := range []struct {
		listen    uint16
		hasCoords bool
		lat, lon  int32
	}{
		{0, false, 0, 0}, {1, false, 0, 0}, {65535, false, 0, 0}, {0, true, 0, 0}, {27002, true, 1, -1},
		{443, true, maxLat, maxLon}, {443, true, -maxLat, -maxLon}, {443, true, maxLat, -maxLon}, {443, true, -maxLat, maxLon},
	} {
		a := goldenVHookAck()
		a.Listen, a.HasCoords, a.Lat, a.Lon = c.listen, c.hasCoords, c.lat, c.lon
		a.Sign(key(1))
		b := a.AppendBinary(nil)
		d, err := DecodeVHookAck(b)
		if err != nil || d.Listen != c.listen || d.HasCoords != c.hasCoords || d.Lat != c.lat || d.Lon != c.lon ||
			!bytes.Equal(d.AppendBinary(nil), b) || d.Verify(a.Node, a.ID) != nil {
			t.Fatalf("%+v: decoded %+v %v", c, d, err)
		}
		for name, mut := range map[string]func(x *VHookAck){
			"listen":      func(x *VHookAck) { x.Listen++ },
			"coordinates": func(x *VHookAck) { x.HasCoords = !x.HasCoords },
			"latitude":    func(x *VHookAck) { x.Lat ^= 1 },
			"longitude":   func(x *VHookAck) { x.Lon ^= 1 },
		} {
			x := d
			mut(&x)
			if x.Verify(a.Node, a.ID) == nil {
				t.Errorf("%+v: %s changed, still verifies", c, name)
			}
		}
	}
}

// TestVHookAckRejects: only the canonical ack is decoded, whether the
// bytes were signed so or patched.
func TestVHookAckRejects(t *testing.T) {
	ga, gbare := goldenVHookAck(), goldenVHookAckBare()
	good, bare := ga.AppendBinary(nil), gbare.AppendBinary(nil)
	signed := func(mut func(a *VHookAck)) []byte {
		a := goldenVHookAck()
		mut(&a)
		a.Sign(key(1))
		return a.AppendBinary(nil)
	}
	cases := map[string][]byte{
		"empty":                    {},
		"short":                    good[:len(good)-1],
		"long":                     append(bytes.Clone(good), 0),
		"old size":                 good[:164],
		"version":                  patch(good, 0, 2),
		"version 0":                patch(good, 0, 0),
		"lat without flag":         signed(func(a *VHookAck) { a.HasCoords = false; a.Lon = 0 }),
		"lon without flag":         signed(func(a *VHookAck) { a.HasCoords = false; a.Lat = 0 }),
		"coords without flag":      signed(func(a *VHookAck) { a.HasCoords = false }),
		"flag cleared":             patch(good, 1, 0),
		"bare lat without flag":    patch(bare, 89, 1),
		"bare lon without flag":    patch(bare, 93, 1),
		"latitude above":           signed(func(a *VHookAck) { a.Lat = maxLat + 1 }),
		"latitude below":           signed(func(a *VHookAck) { a.Lat = -maxLat - 1 }),
		"longitude above":          signed(func(a *VHookAck) { a.Lon = maxLon + 1 }),
		"longitude below":          signed(func(a *VHookAck) { a.Lon = -maxLon - 1 }),
		"latitude patched high":    patch(good, 86, 0x7f),
		"longitude patched low":    patch(good, 90, 0x80),
		"endpoint invalid":         signed(func(a *VHookAck) { a.Endpoint = netip.AddrPort{} }),
		"endpoint zero":            signed(func(a *VHookAck) { a.Endpoint = netip.MustParseAddrPort("[::]:27001") }),
		"endpoint port 0":          signed(func(a *VHookAck) { a.Endpoint = netip.MustParseAddrPort("[2001:db8::1]:0") }),
		"endpoint multicast":       signed(func(a *VHookAck) { a.Endpoint = netip.MustParseAddrPort("[ff02::1]:27001") }),
		"endpoint zero, listening": append(append(bytes.Clone(good[:66]), make([]byte, 18)...), good[84:]...),
		"stamp":                    signed(func(a *VHookAck) { a.Stamp = -1 }),
		"stamp patched":            patch(good, 102, 0x80),
	}
	for bit := 1; bit < 8; bit++ {
		cases["flag bit "+itoa(bit)] = patch(good, 1, good[1]|1<<bit)
		cases["bare flag bit "+itoa(bit)] = patch(bare, 1, 1<<bit)
	}
	for name, b := range cases {
		if a, err := DecodeVHookAck(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %+v %v, want malformed", name, a, err)
		}
	}
	// The goldens the cases were made from decode: each case is refused
	// for what was changed.
	for _, b := range [][]byte{good, bare} {
		if _, err := DecodeVHookAck(b); err != nil {
			t.Fatalf("golden ack refused: %v", err)
		}
	}
	// Every signed byte counts.
	for i := 0; i < vhookAckBody; i++ {
		b := bytes.Clone(good)
		b[i] ^= 0x01
		if a, err := DecodeVHookAck(b); err == nil && a.Verify(PublicKeyOf(key(1)), ga.ID) == nil {
			t.Fatalf("ack byte %d flipped, still verifies", i)
		}
	}
}

// goldenVHookWant is the golden VHOOK asking for 3 anchorage nodes.
func goldenVHookWant() VHook {
	v := goldenVHook()
	v.Want = 3
	v.Sign(key(7))
	return v
}

// TestVHookWantGolden: testdata/vhook-want.hex, 174 bytes, the golden
// VHOOK with Want 3: flags 27 (Want-1 = 2 in bits 4..6, then coordinates,
// endpoint, swap), every other byte but the signature as in vhook.hex.
// Requests written before Want (those bits 0) decode as Want 1.
func TestVHookWantGolden(t *testing.T) {
	v := goldenVHookWant()
	b := v.AppendBinary(nil)
	golden(t, "vhook-want", b)
	old := goldenVHook()
	ob := old.AppendBinary(nil)
	if len(b) != VHookSize || b[1] != 0x27 || !bytes.Equal(b[2:vhookBody], ob[2:vhookBody]) {
		t.Fatalf("want 3: %x, want flags 27 and the rest of %x", b, ob)
	}
	d, err := DecodeVHook(b)
	if err != nil || d.Want != 3 || !bytes.Equal(d.AppendBinary(nil), b) || d.Verify() != nil {
		t.Fatalf("decoded %+v (%v)", d, err)
	}
	for _, h := range []string{"vhook", "swap-link"} {
		text, err := os.ReadFile(filepath.Join("testdata", h+".hex"))
		if err != nil {
			t.Fatal(err)
		}
		g, _ := hex.DecodeString(strings.ReplaceAll(string(text), "\n", ""))
		if d, err := DecodeVHook(g[:VHookSize]); err != nil || d.Want != 1 || d.Verify() != nil {
			t.Errorf("%s.hex: want %d, %v", h, d.Want, err)
		}
	}
	// Want is signed: a relay cannot ask more (or fewer) in H's name.
	d.Want = 4
	if d.Verify() == nil {
		t.Error("want changed, still verifies")
	}
	// Keep is bit 3, signed too; requests from before it read as false.
	v.Keep = true
	v.Sign(key(7))
	kb := v.AppendBinary(nil)
	if kb[1] != 0x2f || !bytes.Equal(kb[2:vhookBody], b[2:vhookBody]) {
		t.Errorf("keep: flags %02x, want 2f and the rest unchanged", kb[1])
	}
	if d, err := DecodeVHook(kb); err != nil || !d.Keep || d.Want != 3 || d.Verify() != nil || !bytes.Equal(d.AppendBinary(nil), kb) {
		t.Errorf("keep: decoded %+v, %v", d, err)
	} else if d.Keep = false; d.Verify() == nil {
		t.Error("keep dropped, still verifies")
	}
	if d, _ := DecodeVHook(b); d.Keep {
		t.Error("keep read from a request without it")
	}
	for w := range MaxWant + 1 {
		v := goldenVHook()
		v.Want = uint8(w)
		v.Sign(key(7))
		b := v.AppendBinary(nil)
		d, err := DecodeVHook(b)
		if err != nil || int(d.Want) != max(w, 1) || d.Verify() != nil || b[1]>>4 != byte(max(w, 1)-1) {
			t.Errorf("want %d: flags %02x, decoded want %d, %v", w, b[1], d.Want, err)
		}
	}
	// Beyond MaxWant the request is written with bit 7 set, and refused.
	for _, w := range []uint8{MaxWant + 1, 16, 17, 255} {
		v := goldenVHook()
		v.Want = w
		v.Sign(key(7))
		b := v.AppendBinary(nil)
		if _, err := DecodeVHook(b); !errors.Is(err, ErrMalformed) || b[1]&0x80 == 0 {
			t.Errorf("want %d: flags %02x, %v, want malformed", w, b[1], err)
		}
	}
}

// TestVHookBehindNAT: a vnode without a public endpoint says so; the
// zero endpoint has exactly one encoding.
func TestVHookBehindNAT(t *testing.T) {
	v := goldenVHook()
	v.Endpoint, v.Listen, v.Swap, v.HasCoords, v.Lat, v.Lon = netip.AddrPort{}, 0, false, false, 0, 0
	v.Sign(key(7))
	b := v.AppendBinary(nil)
	d, err := DecodeVHook(b)
	if err != nil || d.Endpoint.IsValid() || d.Verify() != nil {
		t.Fatalf("decoded %+v %v", d, err)
	}
	b[70] = 1 // an address byte without the endpoint flag
	if _, err := DecodeVHook(b); !errors.Is(err, ErrMalformed) {
		t.Fatalf("endpoint bytes without the flag: %v", err)
	}
	// A vnode that cannot be reached takes no swap links: no listen port
	// without an endpoint, whether the value is signed so or forged.
	v.Listen = 27001
	v.Sign(key(7))
	if _, err := DecodeVHook(v.AppendBinary(nil)); !errors.Is(err, ErrMalformed) {
		t.Fatalf("listen port without an endpoint: %v", err)
	}
	// It can still ask for swapping (it dials the vrnodes offered).
	v.Listen, v.Swap = 0, true
	v.Sign(key(7))
	if d, err := DecodeVHook(v.AppendBinary(nil)); err != nil || !d.Swap || d.Verify() != nil {
		t.Fatalf("swap behind NAT: %+v %v", d, err)
	}
}

// TestVHookSwapListen: the swap flag and the listen port are each
// optional and each signed.
func TestVHookSwapListen(t *testing.T) {
	for _, c := range []struct {
		swap   bool
		listen uint16
	}{{false, 0}, {true, 0}, {false, 1}, {true, 65535}} {
		v := goldenVHook()
		v.Swap, v.Listen = c.swap, c.listen
		v.Sign(key(7))
		b := v.AppendBinary(nil)
		d, err := DecodeVHook(b)
		if err != nil || d.Swap != c.swap || d.Listen != c.listen || d.Verify() != nil || !bytes.Equal(d.AppendBinary(nil), b) {
			t.Fatalf("%+v: decoded %+v %v", c, d, err)
		}
		d.Swap = !d.Swap
		if d.Verify() == nil {
			t.Errorf("%+v: swap flag changed, still verifies", c)
		}
		d.Swap, d.Listen = c.swap, c.listen+1
		if d.Verify() == nil {
			t.Errorf("%+v: listen port changed, still verifies", c)
		}
	}
}

func TestVHookRejects(t *testing.T) {
	gv := goldenVHook()
	good := gv.AppendBinary(nil)
	for name, mut := range map[string]func(b []byte) []byte{
		"short":         func(b []byte) []byte { return b[:len(b)-1] },
		"long":          func(b []byte) []byte { return append(b, 0) },
		"version":       func(b []byte) []byte { b[0] = 2; return b },
		"flags high":    func(b []byte) []byte { b[1] |= 0x80; return b },
		"want 9":        func(b []byte) []byte { b[1] |= 0xf0; return b },
		"latitude":      func(b []byte) []byte { copy(b[86:90], []byte{0x7f, 0xff, 0xff, 0xff}); return b },
		"longitude":     func(b []byte) []byte { copy(b[90:94], []byte{0x80, 0, 0, 0}); return b },
		"stamp":         func(b []byte) []byte { b[102] |= 0x80; return b },
		"listen unflag": func(b []byte) []byte { b[1] &^= flagEndpoint; clear(b[66:84]); return b },
		"port 0":        func(b []byte) []byte { b[82], b[83] = 0, 0; return b },
		"multicast":     func(b []byte) []byte { copy(b[66:82], netip.MustParseAddr("ff02::1").AsSlice()); return b },
		"coords unflag": func(b []byte) []byte { b[1] &^= flagCoords; return b },
	} {
		if _, err := DecodeVHook(mut(bytes.Clone(good))); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want malformed", name, err)
		}
	}
	// Every signed byte counts.
	for i := 0; i < vhookBody; i++ {
		b := bytes.Clone(good)
		b[i] ^= 0x01
		if v, err := DecodeVHook(b); err == nil && v.Verify() == nil {
			t.Fatalf("byte %d flipped, still verifies", i)
		}
	}
	ack := goldenVHookAck()
	if err := ack.Verify(PublicKeyOf(key(2)), ack.ID); err == nil {
		t.Error("an ack from another node than the one asked verified")
	}
	if err := ack.Verify(PublicKeyOf(key(1)), ack.ID+1); err == nil {
		t.Error("an ack for another request verified")
	}
	ab := ack.AppendBinary(nil)
	ab[99] ^= 1
	if a, err := DecodeVHookAck(ab); err == nil && a.Verify(PublicKeyOf(key(1)), a.ID) == nil {
		t.Error("a tampered ack verified")
	}
	// A request's signature is no ack's, and the other way round: the
	// domains differ even where the bytes could be made to line up.
	v := goldenVHook()
	forged := VHookAck{Node: v.Node, Sig: v.Sig}
	if forged.Verify(v.Node, 0) == nil {
		t.Error("a request's signature passed as an ack's")
	}
}

func TestAnchorCheck(t *testing.T) {
	a := NewAnchor(AnchorConfig{MaxSeen: 2})
	now := t0
	v := goldenVHook()
	if st := a.Check(now, &v, false); st != StatusOK {
		t.Fatalf("fresh request: %v", st)
	}
	if st := a.Check(now, &v, false); st != StatusStale {
		t.Errorf("replayed request: %v, want stale", st)
	}
	old := v
	old.Stamp, old.ID = now.Add(-6*time.Minute).UnixNano(), 2
	old.Sign(key(7))
	if st := a.Check(now, &old, false); st != StatusStale {
		t.Errorf("request signed 6 minutes ago: %v, want stale", st)
	}
	future := v
	future.Stamp, future.ID = now.Add(6*time.Minute).UnixNano(), 3
	future.Sign(key(7))
	if st := a.Check(now, &future, false); st != StatusFuture {
		t.Errorf("request signed 6 minutes ahead: %v, want in the future", st)
	}
	bad := v
	bad.ID = 4 // changed after signing
	if st := a.Check(now, &bad, false); st != StatusBadSignature {
		t.Errorf("tampered request: %v", st)
	}
	other := v
	other.ID = 5
	other.Sign(key(7))
	if st := a.Check(now, &other, true); st != StatusFull {
		t.Errorf("no room for a vlink: %v, want full", st)
	}
	if st := a.Check(now, &other, false); st != StatusOK {
		t.Errorf("second request: %v", st)
	}
	third := v
	third.ID = 6
	third.Sign(key(7))
	if st := a.Check(now, &third, false); st != StatusFull {
		t.Errorf("third request with 2 remembered: %v, want full", st)
	}
	// Once the remembered ones are older than the skew they go.
	later := now.Add(6 * time.Minute)
	third.Stamp = later.UnixNano()
	third.Sign(key(7))
	if st := a.Check(later, &third, false); st != StatusOK {
		t.Errorf("after the old ones expired: %v", st)
	}
}

func FuzzDecodeVHook(f *testing.F) {
	v := goldenVHook()
	f.Add(v.AppendBinary(nil))
	v = goldenVHookWant()
	f.Add(v.AppendBinary(nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		v, err := DecodeVHook(b)
		if err != nil {
			return
		}
		if v.Want < 1 || v.Want > MaxWant {
			t.Fatalf("want %d", v.Want)
		}
		if got := v.AppendBinary(nil); !bytes.Equal(got, b) {
			t.Fatalf("not canonical:\n in %x\nout %x", b, got)
		}
		_ = v.Verify()
		_ = NewAnchor(AnchorConfig{}).Check(t0, &v, false)
	})
}

func FuzzDecodeVHookAck(f *testing.F) {
	a := goldenVHookAck()
	f.Add(a.AppendBinary(nil))
	a = goldenVHookAckBare()
	f.Add(a.AppendBinary(nil))
	a.Endpoint, a.Listen = netip.MustParseAddrPort("192.0.2.1:27001"), 65535
	a.HasCoords, a.Lat, a.Lon = true, maxLat, -maxLon
	a.Sign(key(1))
	f.Add(a.AppendBinary(nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := DecodeVHookAck(b)
		if err != nil {
			return
		}
		if got := a.AppendBinary(nil); !bytes.Equal(got, b) {
			t.Fatalf("not canonical:\n in %x\nout %x", b, got)
		}
		if !unicastEndpoint(a.Endpoint) || (!a.HasCoords && (a.Lat != 0 || a.Lon != 0)) ||
			a.Lat < -maxLat || a.Lat > maxLat || a.Lon < -maxLon || a.Lon > maxLon || a.Stamp < 0 {
			t.Fatalf("bounds not held: %+v", a)
		}
		_ = a.Verify(a.Node, a.ID)
	})
}
