package entry

import (
	"bytes"
	"encoding/hex"
	"errors"
	"net/netip"
	"testing"
	"time"
)

// The cast of the golden vectors: L is key(1), H is key(7), the vrnodes
// offered are key(3) and key(4).

func goldenSwapOffer() SwapOffer {
	o := SwapOffer{Asker: PublicKeyOf(key(7)), ID: 0x0123456789abcdef, Stamp: t0.Add(2 * time.Second).UnixNano(),
		Peers: []SwapPeer{
			{Node: PublicKeyOf(key(3)), Endpoint: netip.MustParseAddrPort("192.0.2.3:27001")},
			{Node: PublicKeyOf(key(4)), Endpoint: netip.MustParseAddrPort("[2001:db8::4]:27001")},
		}}
	o.Sign(key(1))
	return o
}

// goldenSwapHook is H's half of a SwapLink: a fresh id, Swap set.
func goldenSwapHook() VHook {
	v := goldenVHook()
	v.ID, v.Stamp = 0xfedcba9876543210, t0.Add(3*time.Second).UnixNano()
	v.Sign(key(7))
	return v
}

func goldenSwapLink() SwapLink {
	return SwapLink{Hook: goldenSwapHook(), Offer: goldenSwapOffer()}
}

func goldenSwapDone() SwapDone {
	d := SwapDone{ID: 0x0123456789abcdef, Linked: []PublicKey{PublicKeyOf(key(4)), PublicKeyOf(key(3))}}
	d.Sign(key(7))
	return d
}

// checkLayout compares b at the offsets given with the hex strings.
func checkLayout(t *testing.T, name string, b []byte, fields map[int]string) {
	t.Helper()
	for off, h := range fields {
		want, err := hex.DecodeString(h)
		if err != nil {
			t.Fatal(err)
		}
		if off+len(want) > len(b) || !bytes.Equal(b[off:off+len(want)], want) {
			t.Errorf("%s, offset %d: want %s in %x", name, off, h, b)
		}
	}
}

// hexKey is key(n)'s public key in hex.
func hexKey(n byte) string { k := PublicKeyOf(key(n)); return hex.EncodeToString(k[:]) }

// TestSwapOfferGolden: testdata/swap-offer.hex, 246 bytes (docs/ENTRY.md):
//
//	0    01                  version
//	1    02                  count of peers
//	2    8a88…               anchor: L's key (key(1))
//	34   ea4a…               asker: H's key (key(7))
//	66   0123456789abcdef    H's request id
//	74   18ab6f40cadf1400    stamp: t0+2s in unix ns
//	82   key(3) ::ffff:192.0.2.3 6979         peer 0: key, address, port 27001
//	132  key(4) 2001:db8::4 6979              peer 1
//	182  …                   signature (64)
func TestSwapOfferGolden(t *testing.T) {
	o := goldenSwapOffer()
	b := o.AppendBinary(nil)
	golden(t, "swap-offer", b)
	if len(b) != 246 || swapOfferMinSize+2*swapPeerSize != 246 {
		t.Fatalf("offer of %d bytes", len(b))
	}
	checkLayout(t, "offer", b, map[int]string{
		0: "0102", 2: hexKey(1), 34: hexKey(7), 66: "0123456789abcdef", 74: "18ab6f40cadf1400",
		82: hexKey(3), 114: "00000000000000000000ffffc0000203" + "6979",
		132: hexKey(4), 164: "20010db8000000000000000000000004" + "6979",
	})
	d, err := DecodeSwapOffer(b)
	if err != nil || !bytes.Equal(d.AppendBinary(nil), b) || d.Verify() != nil {
		t.Fatalf("decoded %+v (%v)", d, err)
	}
	if d.Anchor != PublicKeyOf(key(1)) || d.Asker != o.Asker || d.ID != o.ID || d.Stamp != o.Stamp ||
		len(d.Peers) != 2 || d.Peers[0] != o.Peers[0] || d.Peers[1] != o.Peers[1] || d.Sig != o.Sig {
		t.Fatalf("decoded %+v, want %+v", d, o)
	}
	if !d.Offers(PublicKeyOf(key(3))) || !d.Offers(PublicKeyOf(key(4))) ||
		d.Offers(PublicKeyOf(key(1))) || d.Offers(PublicKeyOf(key(7))) || d.Offers(PublicKey{}) {
		t.Error("Offers")
	}
	var none SwapOffer
	if none.Offers(PublicKey{}) {
		t.Error("an offer of no peers offers the zero key")
	}
}

// TestSwapLinkGolden: testdata/swap-link.hex, 420 bytes: H's VHook
// (174 bytes, as in TestVHookGolden with id fedcba9876543210 and stamp
// t0+3s) then L's offer (246 bytes, as in TestSwapOfferGolden).
func TestSwapLinkGolden(t *testing.T) {
	s := goldenSwapLink()
	b := s.AppendBinary(nil)
	golden(t, "swap-link", b)
	if len(b) != 420 || VHookSize+246 != 420 {
		t.Fatalf("link of %d bytes", len(b))
	}
	h, o := goldenSwapHook(), goldenSwapOffer()
	if !bytes.Equal(b[:VHookSize], h.AppendBinary(nil)) || !bytes.Equal(b[VHookSize:], o.AppendBinary(nil)) {
		t.Fatal("a link is not its hook then its offer")
	}
	checkLayout(t, "link", b, map[int]string{0: "0107", 94: "fedcba9876543210", 102: "18ab6f410679de00",
		VHookSize: "0102", VHookSize + 66: "0123456789abcdef"})
	d, err := DecodeSwapLink(b)
	if err != nil || !bytes.Equal(d.AppendBinary(nil), b) || d.Hook.Verify() != nil || d.Offer.Verify() != nil {
		t.Fatalf("decoded %+v (%v)", d, err)
	}
	if !d.Hook.Swap || d.Hook.ID != h.ID || d.Offer.Asker != d.Hook.Node || !d.Offer.Offers(PublicKeyOf(key(3))) {
		t.Fatalf("decoded %+v", d)
	}
}

// TestSwapDoneGolden: testdata/swap-done.hex, 170 bytes:
//
//	0    01                  version
//	1    02                  count of nodes linked
//	2    ea4a…               asker: H's key (key(7))
//	34   0123456789abcdef    the id of H's I_AM_VHOOKING
//	42   key(4) key(3)       the nodes linked, 32 bytes each
//	106  …                   signature (64)
func TestSwapDoneGolden(t *testing.T) {
	dn := goldenSwapDone()
	b := dn.AppendBinary(nil)
	golden(t, "swap-done", b)
	if len(b) != 170 || swapDoneMinSize+2*32 != 170 {
		t.Fatalf("done of %d bytes", len(b))
	}
	checkLayout(t, "done", b, map[int]string{0: "0102", 2: hexKey(7), 34: "0123456789abcdef", 42: hexKey(4), 74: hexKey(3)})
	d, err := DecodeSwapDone(b)
	if err != nil || !bytes.Equal(d.AppendBinary(nil), b) || d.Verify() != nil {
		t.Fatalf("decoded %+v (%v)", d, err)
	}
	if d.Asker != PublicKeyOf(key(7)) || d.ID != dn.ID || len(d.Linked) != 2 || d.Linked[0] != dn.Linked[0] || d.Linked[1] != dn.Linked[1] {
		t.Fatalf("decoded %+v, want %+v", d, dn)
	}
}

// TestSwapFraming: the new messages are framed like the others, and the
// bounds ReadMsg is to hold them to (swap*MaxSize) are the largest
// well-formed payloads.
func TestSwapFraming(t *testing.T) {
	o := goldenSwapOffer()
	o.Peers = nil
	for i := range MaxSwapPeers {
		o.Peers = append(o.Peers, SwapPeer{Node: PublicKeyOf(key(byte(20 + i))),
			Endpoint: netip.AddrPortFrom(netip.MustParseAddr("2001:db8::1"), uint16(27000+i))})
	}
	o.Sign(key(1))
	ob := o.AppendBinary(nil)
	if _, err := DecodeSwapOffer(ob); err != nil || len(ob) != swapOfferMaxSize || swapOfferMaxSize != 546 {
		t.Fatalf("largest offer: %d bytes, %v", len(ob), err)
	}
	s := SwapLink{Hook: goldenSwapHook(), Offer: o}
	sb := s.AppendBinary(nil)
	if _, err := DecodeSwapLink(sb); err != nil || len(sb) != swapLinkMaxSize || swapLinkMaxSize != 720 {
		t.Fatalf("largest link: %d bytes, %v", len(sb), err)
	}
	dn := goldenSwapDone()
	dn.Linked = nil
	for i := range MaxSwapPeers {
		dn.Linked = append(dn.Linked, o.Peers[i].Node)
	}
	dn.Sign(key(7))
	db := dn.AppendBinary(nil)
	if _, err := DecodeSwapDone(db); err != nil || len(db) != swapDoneMaxSize || swapDoneMaxSize != 362 {
		t.Fatalf("largest done: %d bytes, %v", len(db), err)
	}
	if MsgSwapOffer != 7 || MsgSwapLink != 8 || MsgSwapDone != 9 {
		t.Fatal("message types")
	}
	var m bytes.Buffer
	WriteMsg(&m, MsgSwapOffer, ob)
	WriteMsg(&m, MsgSwapLink, sb)
	WriteMsg(&m, MsgSwapDone, db)
	for _, want := range []struct {
		typ byte
		p   []byte
	}{{MsgSwapOffer, ob}, {MsgSwapLink, sb}, {MsgSwapDone, db}} {
		var h [headerSize]byte
		m.Read(h[:])
		p := m.Next(len(want.p))
		if h != [headerSize]byte{'N', 'E', version, want.typ, 0, 0, byte(len(want.p) >> 8), byte(len(want.p))} || !bytes.Equal(p, want.p) {
			t.Fatalf("message %d framed as %x", want.typ, h)
		}
	}
}

// TestSwapSigned: every signed byte of an offer and of a done counts,
// every field of the values too, and one kind's signature is no other's.
func TestSwapSigned(t *testing.T) {
	o := goldenSwapOffer()
	ob := o.AppendBinary(nil)
	for i := 0; i < len(ob)-64; i++ {
		b := bytes.Clone(ob)
		b[i] ^= 0x01
		if d, err := DecodeSwapOffer(b); err == nil && d.Verify() == nil {
			t.Fatalf("offer byte %d flipped, still verifies", i)
		}
	}
	for name, mut := range map[string]func(o *SwapOffer){
		"anchor":        func(o *SwapOffer) { o.Anchor[5] ^= 1 },
		"asker":         func(o *SwapOffer) { o.Asker[5] ^= 1 },
		"id":            func(o *SwapOffer) { o.ID ^= 1 },
		"stamp":         func(o *SwapOffer) { o.Stamp ^= 1 },
		"peer key":      func(o *SwapOffer) { o.Peers[1].Node[0] ^= 1 },
		"peer address":  func(o *SwapOffer) { o.Peers[0].Endpoint = netip.MustParseAddrPort("192.0.2.4:27001") },
		"peer port":     func(o *SwapOffer) { o.Peers[1].Endpoint = netip.MustParseAddrPort("[2001:db8::4]:27002") },
		"peer dropped":  func(o *SwapOffer) { o.Peers = o.Peers[:1] },
		"peers swapped": func(o *SwapOffer) { o.Peers[0], o.Peers[1] = o.Peers[1], o.Peers[0] },
		"signature":     func(o *SwapOffer) { o.Sig[63] ^= 1 },
	} {
		c := goldenSwapOffer()
		mut(&c)
		if err := c.Verify(); !errors.Is(err, ErrBadSignature) {
			t.Errorf("offer, %s changed: %v", name, err)
		}
	}

	dn := goldenSwapDone()
	db := dn.AppendBinary(nil)
	for i := 0; i < len(db)-64; i++ {
		b := bytes.Clone(db)
		b[i] ^= 0x01
		if d, err := DecodeSwapDone(b); err == nil && d.Verify() == nil {
			t.Fatalf("done byte %d flipped, still verifies", i)
		}
	}
	for name, mut := range map[string]func(d *SwapDone){
		"asker":          func(d *SwapDone) { d.Asker[5] ^= 1 },
		"id":             func(d *SwapDone) { d.ID ^= 1 },
		"linked key":     func(d *SwapDone) { d.Linked[0][31] ^= 1 },
		"linked dropped": func(d *SwapDone) { d.Linked = d.Linked[1:] },
		"linked added":   func(d *SwapDone) { d.Linked = append(d.Linked, PublicKeyOf(key(5))) },
		"signature":      func(d *SwapDone) { d.Sig[0] ^= 1 },
	} {
		c := goldenSwapDone()
		mut(&c)
		if err := c.Verify(); !errors.Is(err, ErrBadSignature) {
			t.Errorf("done, %s changed: %v", name, err)
		}
	}

	// Domains: an offer with no peers and a done with none line up
	// nowhere, but the signatures must not pass for each other anyway,
	// nor for a vhook's or an ack's.
	e := goldenSwapOffer()
	e.Peers = nil
	e.Sign(key(7))
	if (&SwapDone{Asker: e.Anchor, ID: e.ID, Sig: e.Sig}).Verify() == nil {
		t.Error("an offer's signature passed as a done's")
	}
	v := goldenVHook()
	if (&SwapOffer{Anchor: v.Node, Sig: v.Sig}).Verify() == nil || (&SwapDone{Asker: v.Node, Sig: v.Sig}).Verify() == nil {
		t.Error("a vhook's signature passed as a swap message's")
	}
}

func TestSwapOfferRejects(t *testing.T) {
	good := goldenSwapOffer()
	gb := good.AppendBinary(nil)
	signed := func(mut func(o *SwapOffer)) []byte {
		o := goldenSwapOffer()
		mut(&o)
		o.Sign(key(1))
		return o.AppendBinary(nil)
	}
	peer := func(n byte, ep string) SwapPeer {
		return SwapPeer{Node: PublicKeyOf(key(n)), Endpoint: netip.MustParseAddrPort(ep)}
	}
	cases := map[string][]byte{
		"too many peers": signed(func(o *SwapOffer) {
			for i := range MaxSwapPeers - 1 {
				o.Peers = append(o.Peers, peer(byte(30+i), "192.0.2.30:27001"))
			}
		}),
		"count 255":          append(append([]byte(nil), gb[0], 255), gb[2:]...),
		"count beyond data":  append(append([]byte(nil), gb[0], 3), gb[2:]...),
		"count below data":   append(append([]byte(nil), gb[0], 1), gb[2:]...),
		"key twice":          signed(func(o *SwapOffer) { o.Peers[1].Node = o.Peers[0].Node }),
		"key twice, apart":   signed(func(o *SwapOffer) { o.Peers = append(o.Peers, peer(3, "192.0.2.9:1")) }),
		"multicast":          signed(func(o *SwapOffer) { o.Peers[1] = peer(4, "[ff02::1]:27001") }),
		"multicast v4":       signed(func(o *SwapOffer) { o.Peers[0] = peer(3, "224.0.0.1:27001") }),
		"unspecified":        signed(func(o *SwapOffer) { o.Peers[0] = peer(3, "0.0.0.0:27001") }),
		"unspecified v6":     signed(func(o *SwapOffer) { o.Peers[0] = peer(3, "[::]:27001") }),
		"port 0":             signed(func(o *SwapOffer) { o.Peers[0] = peer(3, "192.0.2.3:0") }),
		"no endpoint":        signed(func(o *SwapOffer) { o.Peers[0].Endpoint = netip.AddrPort{} }),
		"peer is the anchor": signed(func(o *SwapOffer) { o.Peers[0].Node = PublicKeyOf(key(1)) }),
		"peer is the asker":  signed(func(o *SwapOffer) { o.Peers[1].Node = o.Asker }),
		"asker is anchor":    signed(func(o *SwapOffer) { o.Asker = PublicKeyOf(key(1)) }),
		"stamp":              signed(func(o *SwapOffer) { o.Stamp = -1 }),
		"version":            func() []byte { b := bytes.Clone(gb); b[0] = 2; return b }(),
		"trailing":           append(bytes.Clone(gb), 0),
		"empty":              {},
	}
	for n := range len(gb) {
		cases["truncated to "+itoa(n)] = gb[:n]
	}
	for name, b := range cases {
		if o, err := DecodeSwapOffer(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %+v %v, want malformed", name, o, err)
		}
	}
	// The bounds themselves are fine: MaxSwapPeers peers, or none.
	for _, b := range [][]byte{
		signed(func(o *SwapOffer) {
			for i := range MaxSwapPeers - 2 {
				o.Peers = append(o.Peers, peer(byte(30+i), "192.0.2.30:27001"))
			}
		}),
		signed(func(o *SwapOffer) { o.Peers = nil }),
		signed(func(o *SwapOffer) { o.Peers = []SwapPeer{} }),
	} {
		o, err := DecodeSwapOffer(b)
		if err != nil || o.Verify() != nil || !bytes.Equal(o.AppendBinary(nil), b) {
			t.Errorf("%d peers: %v", b[1], err)
		}
		if len(o.Peers) == 0 && (o.Peers != nil || len(b) != 146) {
			t.Errorf("no peers: %d bytes, %#v", len(b), o.Peers)
		}
	}
}

func TestSwapLinkRejects(t *testing.T) {
	s := goldenSwapLink()
	gb := s.AppendBinary(nil)
	hb := gb[:VHookSize]
	link := func(mut func(s *SwapLink)) []byte {
		s := goldenSwapLink()
		mut(&s)
		s.Hook.Sign(key(7))
		s.Offer.Sign(key(1))
		return s.AppendBinary(nil)
	}
	cases := map[string][]byte{
		"no swap flag":       link(func(s *SwapLink) { s.Hook.Swap = false }),
		"offer to another":   link(func(s *SwapLink) { s.Offer.Asker = PublicKeyOf(key(8)) }),
		"hook malformed":     func() []byte { b := bytes.Clone(gb); b[1] |= 0x80; return b }(),
		"offer malformed":    func() []byte { b := bytes.Clone(gb); b[VHookSize] = 2; return b }(),
		"offer of too many":  func() []byte { b := bytes.Clone(gb); b[VHookSize+1] = MaxSwapPeers + 1; return b }(),
		"trailing":           append(bytes.Clone(gb), 0),
		"hook only":          gb[:VHookSize],
		"one byte of offer":  gb[:VHookSize+1],
		"short of a peer":    gb[:len(gb)-1],
		"empty":              {},
		"offer, hook":        append(bytes.Clone(gb[VHookSize:]), hb...),
		"two hooks no offer": append(bytes.Clone(hb), hb...),
	}
	for n := 0; n < len(gb); n += 7 {
		cases["truncated to "+itoa(n)] = gb[:n]
	}
	for name, b := range cases {
		if d, err := DecodeSwapLink(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %+v %v, want malformed", name, d, err)
		}
	}
	// Decoding checks no signature: that is the daemon's, with Verify.
	forged := goldenSwapLink()
	forged.Hook.Sig[0] ^= 1
	forged.Offer.Sig[0] ^= 1
	d, err := DecodeSwapLink(forged.AppendBinary(nil))
	if err != nil || d.Hook.Verify() == nil || d.Offer.Verify() == nil {
		t.Fatalf("forged link: %v", err)
	}
	// An offer with no peers decodes: it offers nobody.
	d, err = DecodeSwapLink(link(func(s *SwapLink) { s.Offer.Peers = nil }))
	if err != nil || d.Offer.Offers(PublicKeyOf(key(3))) {
		t.Fatalf("link with an empty offer: %v", err)
	}
}

func TestSwapDoneRejects(t *testing.T) {
	g := goldenSwapDone()
	gb := g.AppendBinary(nil)
	signed := func(mut func(d *SwapDone)) []byte {
		d := goldenSwapDone()
		mut(&d)
		d.Sign(key(7))
		return d.AppendBinary(nil)
	}
	cases := map[string][]byte{
		"too many": signed(func(d *SwapDone) {
			for i := range MaxSwapPeers - 1 {
				d.Linked = append(d.Linked, PublicKeyOf(key(byte(30+i))))
			}
		}),
		"count 255":         append(append([]byte(nil), gb[0], 255), gb[2:]...),
		"count beyond data": append(append([]byte(nil), gb[0], 3), gb[2:]...),
		"key twice":         signed(func(d *SwapDone) { d.Linked[1] = d.Linked[0] }),
		"names its asker":   signed(func(d *SwapDone) { d.Linked[0] = PublicKeyOf(key(7)) }),
		"version":           func() []byte { b := bytes.Clone(gb); b[0] = 0; return b }(),
		"trailing":          append(bytes.Clone(gb), 0),
	}
	for n := range len(gb) {
		cases["truncated to "+itoa(n)] = gb[:n]
	}
	for name, b := range cases {
		if d, err := DecodeSwapDone(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %+v %v, want malformed", name, d, err)
		}
	}
	for _, b := range [][]byte{
		signed(func(d *SwapDone) {
			for i := range MaxSwapPeers - 2 {
				d.Linked = append(d.Linked, PublicKeyOf(key(byte(30+i))))
			}
		}),
		signed(func(d *SwapDone) { d.Linked = nil }), // H linked none: L keeps them all
	} {
		d, err := DecodeSwapDone(b)
		if err != nil || d.Verify() != nil || !bytes.Equal(d.AppendBinary(nil), b) {
			t.Errorf("%d linked: %v", b[1], err)
		}
	}
}

// TestSwapDecodeAllocs: a count the bytes cannot hold, or any malformed
// message, is refused before anything is allocated; a good one takes
// one allocation, its slice (none when it is empty).
func TestSwapDecodeAllocs(t *testing.T) {
	o, dn, s := goldenSwapOffer(), goldenSwapDone(), goldenSwapLink()
	ob, db, sb := o.AppendBinary(nil), dn.AppendBinary(nil), s.AppendBinary(nil)
	big := func(b []byte, at int) []byte { b = bytes.Clone(b); b[at] = 255; return b }
	dup := goldenSwapOffer()
	dup.Peers[1].Node = dup.Peers[0].Node
	dupb := dup.AppendBinary(nil)
	ob255, db255, sb255 := big(ob, 1), big(db, 1), big(sb, VHookSize+1)
	for _, c := range []struct {
		name string
		f    func()
		max  float64
	}{
		{"offer count 255", func() { DecodeSwapOffer(ob255) }, 0},
		{"done count 255", func() { DecodeSwapDone(db255) }, 0},
		{"link count 255", func() { DecodeSwapLink(sb255) }, 0},
		{"offer peer twice", func() { DecodeSwapOffer(dupb) }, 1},
		{"offer", func() { DecodeSwapOffer(ob) }, 1},
		{"done", func() { DecodeSwapDone(db) }, 1},
		{"link", func() { DecodeSwapLink(sb) }, 1},
	} {
		if n := testing.AllocsPerRun(20, c.f); n > c.max {
			t.Errorf("%s: %v allocations, want at most %v", c.name, n, c.max)
		}
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

func FuzzDecodeSwapOffer(f *testing.F) {
	o := goldenSwapOffer()
	f.Add(o.AppendBinary(nil))
	o.Peers = nil
	o.Sign(key(1))
	f.Add(o.AppendBinary(nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := DecodeSwapOffer(b)
		if err != nil {
			return
		}
		if got := o.AppendBinary(nil); !bytes.Equal(got, b) {
			t.Fatalf("not canonical:\n in %x\nout %x", b, got)
		}
		if len(o.Peers) > MaxSwapPeers || o.Offers(o.Anchor) || o.Offers(o.Asker) {
			t.Fatalf("bounds not held: %+v", o)
		}
		_ = o.Verify()
	})
}

func FuzzDecodeSwapLink(f *testing.F) {
	s := goldenSwapLink()
	f.Add(s.AppendBinary(nil))
	s.Offer.Peers = s.Offer.Peers[1:]
	s.Offer.Sign(key(1))
	s.Hook.Endpoint, s.Hook.Listen, s.Hook.HasCoords, s.Hook.Lat, s.Hook.Lon = netip.AddrPort{}, 0, false, 0, 0
	s.Hook.Sign(key(7))
	f.Add(s.AppendBinary(nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := DecodeSwapLink(b)
		if err != nil {
			return
		}
		if got := s.AppendBinary(nil); !bytes.Equal(got, b) {
			t.Fatalf("not canonical:\n in %x\nout %x", b, got)
		}
		if !s.Hook.Swap || s.Offer.Asker != s.Hook.Node {
			t.Fatalf("checks not held: %+v", s)
		}
		_ = s.Hook.Verify()
		_ = s.Offer.Verify()
	})
}

func FuzzDecodeSwapDone(f *testing.F) {
	d := goldenSwapDone()
	f.Add(d.AppendBinary(nil))
	d.Linked = nil
	d.Sign(key(7))
	f.Add(d.AppendBinary(nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := DecodeSwapDone(b)
		if err != nil {
			return
		}
		if got := d.AppendBinary(nil); !bytes.Equal(got, b) {
			t.Fatalf("not canonical:\n in %x\nout %x", b, got)
		}
		if len(d.Linked) > MaxSwapPeers {
			t.Fatalf("bounds not held: %+v", d)
		}
		_ = d.Verify()
	})
}
