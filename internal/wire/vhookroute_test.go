package wire

import (
	"bytes"
	"net/netip"
	"reflect"
	"slices"
	"testing"
)

// A hand-written VHOOK_ROUTE pins its layout independently of the encoder.
func TestVHookRouteLayout(t *testing.T) {
	payload := []byte{
		0x03, 0x05, // flags BACK|COORDS, 5 hops
		0x02, 0xb5, 0xba, 0x8c, // lat 45464204
		0xff, 0x76, 0xab, 0xc0, // lon -9000000
		6, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, // origin fd00::1
		1,                                                    // one exclude
		6, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, // fd00::2
		0x00, 0x03, 'a', 'b', 'c', // body "abc"
	}
	want := &VHookRoute{Flags: VRouteBack | VRouteCoords, Hops: 5, Lat: 45464204, Lon: -9000000,
		Origin: netip.MustParseAddr("fd00::1"), Exclude: []netip.Addr{netip.MustParseAddr("fd00::2")}, Body: []byte("abc")}
	checkLayout(t, OpVHookRoute, payload, want)
}

// A VHOOK_ROUTE travels inside ROUTED; the inner bytes decode on their own.
func TestVHookRouteInRouted(t *testing.T) {
	vr := &VHookRoute{Flags: VRouteCoords, Lat: -1, Lon: 1, Origin: v4a, Exclude: []netip.Addr{v4b}, Body: []byte{1, 2, 3}}
	inner, err := Encode(99, vr)
	if err != nil {
		t.Fatal(err)
	}
	outer, err := Encode(5, &Routed{TTL: 8, Dst: v4b, Src: v4a, Inner: inner})
	if err != nil {
		t.Fatal(err)
	}
	var d Decoder
	_, p, err := d.Decode(outer)
	if err != nil {
		t.Fatal(err)
	}
	h, ip, err := Decode(p.(*Routed).Inner)
	if err != nil || h.Op != OpVHookRoute || h.ID != 99 {
		t.Fatalf("inner: %v %+v", err, h)
	}
	got, ok := ip.(*VHookRoute)
	if !ok || !reflect.DeepEqual(got, vr) {
		t.Fatalf("inner decodes to %#v", ip)
	}
	if _, ip, err = d.Decode(p.(*Routed).Inner); err != nil || !reflect.DeepEqual(ip, vr) {
		t.Fatalf("Decoder, inner: %v %#v", err, ip)
	}
}

// The fields bound the payload: the largest VHOOK_ROUTE is 2214 bytes.
func TestVHookRouteMaxSize(t *testing.T) {
	a := netip.MustParseAddr("fd00::1")
	p := &VHookRoute{Flags: VRouteBack | VRouteCoords, Hops: MaxVRouteHops, Lat: -90000000, Lon: 180000000, Origin: a,
		Exclude: slices.Repeat([]netip.Addr{a}, MaxVRouteExclude), Body: bytes.Repeat([]byte{0xee}, MaxVRouteBody)}
	b, err := Encode(1, p)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(b) - HeaderLen; n != 2214 {
		t.Fatalf("largest VHOOK_ROUTE is %d bytes, want 2214", n)
	}
	if _, q, err := Decode(b); err != nil || !reflect.DeepEqual(q, p) {
		t.Fatalf("%v %#v", err, q)
	}
	// Nothing can be added: one more byte anywhere is rejected.
	long := append(slices.Clone(b), 0)
	long[15]++
	_, _, err = Decode(long)
	wantErr(t, err, ErrInconsistent, "one byte over the largest")
}

// A reused Decoder keeps no vnode points, excludes or body from one packet
// in the next, and decodes them without allocating once grown.
func TestDecoderReuseVnodes(t *testing.T) {
	var d Decoder
	withVnodes := sampleTracer(OpTracerPkt, 3, 1, 1)
	withVnodes.Flags |= BcastVnodes
	withVnodes.Vnodes = []VnodePoint{{Lat: 1, Lon: 2, Count: 3, Position: [MaxLevels]uint8{4}}, {Lat: -1, Lon: -2, Count: 1}}
	big, _ := Encode(1, withVnodes)
	small, _ := Encode(2, &Broadcast{Kind: OpTracerPkt, Level: 1})
	r1, _ := Encode(3, &VHookRoute{Origin: v4a, Exclude: []netip.Addr{v4b, v4b}, Body: []byte("x")})
	r2, _ := Encode(4, &VHookRoute{Origin: v6a})
	for i := 0; i < 3; i++ {
		_, p, err := d.Decode(big)
		if err != nil || !reflect.DeepEqual(p.(*Broadcast).Vnodes, withVnodes.Vnodes) {
			t.Fatalf("%v %+v", err, p)
		}
		_, p, err = d.Decode(small)
		if err != nil || len(p.(*Broadcast).Vnodes) != 0 || p.(*Broadcast).Flags != 0 {
			t.Fatalf("stale vnode points: %v %+v", err, p)
		}
		_, p, err = d.Decode(r1)
		if err != nil || len(p.(*VHookRoute).Exclude) != 2 {
			t.Fatalf("%v %+v", err, p)
		}
		_, p, err = d.Decode(r2)
		if got := p.(*VHookRoute); err != nil || len(got.Exclude) != 0 || got.Body != nil || got.Origin != v6a {
			t.Fatalf("stale route: %v %+v", err, p)
		}
	}
	for _, b := range [][]byte{big, r1} {
		allocs := testing.AllocsPerRun(20, func() {
			if _, _, err := d.Decode(b); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Fatalf("%v allocs per decode with a reused Decoder, want 0", allocs)
		}
	}
}
