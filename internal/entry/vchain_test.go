package entry

import (
	"bytes"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// The cast of the chain vectors: H is key(7) (the golden VHOOK with Want
// 3, id 0123456789abcdef), V the entry node it asked is key(1), and the
// anchorage nodes the request reached are key(5) (with a listen port
// and coordinates) then key(6) (without).

// chainAck is anchorage node n's ack for H's golden id: tunnel key n×32,
// endpoint ep, signed n seconds after t0; no listen port, no coordinates.
func chainAck(n byte, ep string) VHookAck {
	a := VHookAck{Endpoint: netip.MustParseAddrPort(ep), ID: 0x0123456789abcdef, Stamp: t0.Add(time.Duration(n) * time.Second).UnixNano()}
	copy(a.TunnelKey[:], bytes.Repeat([]byte{n<<4 | n}, 32))
	a.Sign(key(n))
	return a
}

func goldenChainAnchors() []VHookAck {
	a := chainAck(5, "192.0.2.5:27005")
	a.Listen, a.HasCoords, a.Lat, a.Lon = 27105, true, 45_070_300, 7_686_900
	a.Sign(key(5))
	return []VHookAck{a, chainAck(6, "[2001:db8::6]:27006")}
}

// manyAnchors returns n acks for H's golden id from distinct nodes, with
// distinct tunnel keys.
func manyAnchors(n int) []VHookAck {
	as := make([]VHookAck, n)
	for i := range as {
		a := VHookAck{Endpoint: netip.AddrPortFrom(netip.MustParseAddr("2001:db8::1"), uint16(28000+i)), ID: 0x0123456789abcdef, Stamp: t0.UnixNano()}
		a.TunnelKey[0] = byte(40 + i)
		a.Sign(key(byte(40 + i)))
		as[i] = a
	}
	return as
}

func goldenVHookChain() VHookChain {
	c := VHookChain{ID: 0x0123456789abcdef, Anchors: goldenChainAnchors(), Stamp: t0.Add(4 * time.Second).UnixNano()}
	c.Sign(key(1))
	return c
}

func goldenChainBody() ChainBody {
	return ChainBody{Request: goldenVHookWant(), Anchors: goldenChainAnchors()}
}

// TestVHookChainGolden: testdata/vhook-chain.hex, 462 bytes (docs/ENTRY.md):
//
//	0    01                  version
//	1    02                  count of anchors
//	2    8a88…               node: V's key (key(1))
//	34   0123456789abcdef    H's request id
//	42   18ab6f414214a800    stamp: t0+4s in unix ns
//	50   …                   anchor 0: key(5)'s VHOOK_ACK, 174 bytes (192.0.2.5:27005,
//	                         listen 27105, coordinates 45070300 7686900)
//	224  …                   anchor 1: key(6)'s VHOOK_ACK ([2001:db8::6]:27006, no
//	                         listen port, no coordinates)
//	398  …                   signature (64)
func TestVHookChainGolden(t *testing.T) {
	c := goldenVHookChain()
	b := c.AppendBinary(nil)
	golden(t, "vhook-chain", b)
	if len(b) != 462 || vhookChainFixed+2*VHookAckSize+64 != 462 || vhookChainMinSize != 288 {
		t.Fatalf("chain of %d bytes", len(b))
	}
	as := goldenChainAnchors()
	checkLayout(t, "chain", b, map[int]string{
		0: "0102", 2: hexKey(1), 34: "0123456789abcdef", 42: "18ab6f414214a800",
		50: "0101" + hexKey(5), 50 + 66: "00000000000000000000ffffc0000205" + "697d" + "69e1" + "02afb7dc" + "00754af4" +
			"0123456789abcdef" + "18ab6f417daf7200",
		224: "0100" + hexKey(6), 224 + 66: "20010db8000000000000000000000006" + "697e" + "0000" + "00000000" + "00000000" + "0123456789abcdef",
	})
	if !bytes.Equal(b[50:224], as[0].AppendBinary(nil)) || !bytes.Equal(b[224:398], as[1].AppendBinary(nil)) {
		t.Fatal("the anchors are not their acks' bytes")
	}
	d, err := DecodeVHookChain(b)
	if err != nil || !bytes.Equal(d.AppendBinary(nil), b) || d.Verify(PublicKeyOf(key(1)), 0x0123456789abcdef) != nil {
		t.Fatalf("decoded %+v (%v)", d, err)
	}
	if d.Node != PublicKeyOf(key(1)) || d.ID != c.ID || d.Stamp != c.Stamp || d.Sig != c.Sig || len(d.Anchors) != 2 {
		t.Fatalf("decoded %+v, want %+v", d, c)
	}
	for i := range as {
		a := &d.Anchors[i]
		if a.Node != as[i].Node || a.TunnelKey != as[i].TunnelKey || a.Endpoint != as[i].Endpoint || a.Listen != as[i].Listen ||
			a.HasCoords != as[i].HasCoords || a.Lat != as[i].Lat || a.Lon != as[i].Lon || a.ID != as[i].ID || a.Stamp != as[i].Stamp || a.Sig != as[i].Sig {
			t.Fatalf("anchor %d: %+v, want %+v", i, a, as[i])
		}
	}
}

// TestChainBodyGolden: testdata/chain-body.hex, 524 bytes:
//
//	0    01                  version
//	1    02                  count of anchors so far
//	2    …                   H's VHOOK, 174 bytes: testdata/vhook-want.hex (Want 3)
//	176  …                   anchor 0: key(5)'s VHOOK_ACK, 174 bytes (listen port, coordinates)
//	350  …                   anchor 1: key(6)'s VHOOK_ACK (neither)
func TestChainBodyGolden(t *testing.T) {
	c := goldenChainBody()
	b := c.AppendBinary(nil)
	golden(t, "chain-body", b)
	if len(b) != 524 || chainBodyFixed+2*VHookAckSize != 524 {
		t.Fatalf("body of %d bytes", len(b))
	}
	as := goldenChainAnchors()
	checkLayout(t, "body", b, map[int]string{0: "0102", 2: "0127" + hexKey(7), 2 + 94: "0123456789abcdef",
		176: "0101" + hexKey(5), 176 + 84: "69e1" + "02afb7dc" + "00754af4", 350: "0100" + hexKey(6), 350 + 84: strings.Repeat("00", 10)})
	r := goldenVHookWant()
	if !bytes.Equal(b[2:176], r.AppendBinary(nil)) || !bytes.Equal(b[176:350], as[0].AppendBinary(nil)) ||
		!bytes.Equal(b[350:], as[1].AppendBinary(nil)) {
		t.Fatal("a body is not its version, count, request and acks")
	}
	d, err := DecodeChainBody(b)
	if err != nil || !bytes.Equal(d.AppendBinary(nil), b) || d.Request.Verify() != nil {
		t.Fatalf("decoded %+v (%v)", d, err)
	}
	if d.Request.Want != 3 || d.Request.ID != 0x0123456789abcdef || d.Request.Node != PublicKeyOf(key(7)) || len(d.Anchors) != 2 {
		t.Fatalf("decoded %+v", d)
	}
	for i := range d.Anchors {
		if err := d.Anchors[i].Verify(as[i].Node, d.Request.ID); err != nil {
			t.Fatalf("anchor %d: %v", i, err)
		}
		if a := &d.Anchors[i]; a.Listen != as[i].Listen || a.HasCoords != as[i].HasCoords || a.Lat != as[i].Lat || a.Lon != as[i].Lon {
			t.Fatalf("anchor %d: %+v, want %+v", i, a, as[i])
		}
	}
	// Where the carrying starts: the request alone.
	e := ChainBody{Request: r}
	eb := e.AppendBinary(nil)
	if de, err := DecodeChainBody(eb); err != nil || len(eb) != chainBodyFixed || de.Anchors != nil || !bytes.Equal(de.AppendBinary(nil), eb) {
		t.Fatalf("body without anchors: %d bytes, %+v %v", len(eb), de, err)
	}
}

// TestVHookChainFraming: VHOOK_CHAIN is type 10, bounded by its largest
// well-formed payload; the largest body fits the mesh's 2048 bytes.
func TestVHookChainFraming(t *testing.T) {
	if MsgVHookChain != 10 || MsgSwapDone != 9 {
		t.Fatal("message type")
	}
	c := goldenVHookChain()
	c.Anchors = manyAnchors(MaxChainAnchors)
	c.Sign(key(1))
	cb := c.AppendBinary(nil)
	if _, err := DecodeVHookChain(cb); err != nil || len(cb) != vhookChainMaxSize || vhookChainMaxSize != 1506 {
		t.Fatalf("largest chain: %d bytes, %v", len(cb), err)
	}
	r := goldenVHookWant()
	r.Want = MaxWant
	r.Sign(key(7))
	body := ChainBody{Request: r, Anchors: manyAnchors(MaxChainAnchors)}
	bb := body.AppendBinary(nil)
	if _, err := DecodeChainBody(bb); err != nil || len(bb) != MaxChainBodySize || MaxChainBodySize != 1568 || MaxChainBodySize > 2048 {
		t.Fatalf("largest body: %d bytes, %v", len(bb), err)
	}
	var m bytes.Buffer
	WriteMsg(&m, MsgVHookChain, cb)
	WriteMsg(&m, MsgVHookChain, append(bytes.Clone(cb), 0))
	typ, p, err := ReadMsg(&m, 0)
	if err != nil || typ != MsgVHookChain || !bytes.Equal(p, cb) {
		t.Fatalf("largest chain framed: %d %v", typ, err)
	}
	if _, _, err := ReadMsg(&m, 0); !errors.Is(err, ErrMalformed) {
		t.Fatalf("a chain one byte over its bound: %v", err)
	}
}

func TestVHookChainRejects(t *testing.T) {
	g := goldenVHookChain()
	gb := g.AppendBinary(nil)
	signed := func(mut func(c *VHookChain)) []byte {
		c := goldenVHookChain()
		mut(&c)
		c.Sign(key(1))
		return c.AppendBinary(nil)
	}
	other := chainAck(6, "[2001:db8::6]:27006")
	other.ID++
	other.Sign(key(6))
	cases := map[string][]byte{
		"no anchor":         signed(func(c *VHookChain) { c.Anchors = nil }),
		"9 anchors":         signed(func(c *VHookChain) { c.Anchors = manyAnchors(MaxChainAnchors + 1) }),
		"count 0":           append(append([]byte(nil), gb[0], 0), gb[2:]...),
		"count 9":           append(append([]byte(nil), gb[0], 9), gb[2:]...),
		"count 255":         append(append([]byte(nil), gb[0], 255), gb[2:]...),
		"count beyond data": append(append([]byte(nil), gb[0], 3), gb[2:]...),
		"count below data":  append(append([]byte(nil), gb[0], 1), gb[2:]...),
		"version":           patch(gb, 0, 2),
		"version 0":         patch(gb, 0, 0),
		"stamp":             signed(func(c *VHookChain) { c.Stamp = -1 }),
		"ack version":       patch(gb, 50, 2),
		"ack flags":         patch(gb, 225, 2),
		"ack flags high":    patch(gb, 51, 0x81),
		"ack coords unflag": patch(gb, 51, 0),
		"ack latitude":      patch(gb, 50+86, 0x7f),
		"ack lat unflagged": patch(gb, 224+89, 1),
		"ack endpoint":      signed(func(c *VHookChain) { c.Anchors[0].Endpoint = netip.MustParseAddrPort("[ff02::1]:27005") }),
		"ack stamp":         patch(gb, 224+102, 0x80),
		"ack of another id": signed(func(c *VHookChain) { c.Anchors[1] = other }),
		"anchor twice":      signed(func(c *VHookChain) { c.Anchors[1] = c.Anchors[0] }),
		"node twice":        signed(func(c *VHookChain) { c.Anchors[1].Node = c.Anchors[0].Node }),
		"tunnel key twice":  signed(func(c *VHookChain) { c.Anchors[1].TunnelKey = c.Anchors[0].TunnelKey }),
		"trailing":          append(bytes.Clone(gb), 0),
		"an ack trailing":   append(bytes.Clone(gb), gb[50:224]...),
		"empty":             {},
	}
	for n := range len(gb) {
		cases["truncated to "+itoa(n)] = gb[:n]
	}
	for name, b := range cases {
		if c, err := DecodeVHookChain(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %+v %v, want malformed", name, c, err)
		}
	}
	// The bounds themselves are fine: one anchor, or MaxChainAnchors.
	for _, b := range [][]byte{
		signed(func(c *VHookChain) { c.Anchors = c.Anchors[1:] }),
		signed(func(c *VHookChain) { c.Anchors = manyAnchors(MaxChainAnchors) }),
	} {
		c, err := DecodeVHookChain(b)
		if err != nil || c.Verify(PublicKeyOf(key(1)), 0x0123456789abcdef) != nil || !bytes.Equal(c.AppendBinary(nil), b) {
			t.Errorf("%d anchors: %v", b[1], err)
		}
	}
}

// TestVHookChainVerify: H takes a chain only from the entry node it
// asked, for its id, with every ack its anchorage node's for that id,
// no anchorage node or tunnel twice.
func TestVHookChainVerify(t *testing.T) {
	v, id := PublicKeyOf(key(1)), uint64(0x0123456789abcdef)
	if c := goldenVHookChain(); c.Verify(v, id) != nil {
		t.Fatal("golden chain does not verify")
	}
	resigned := func(mut func(c *VHookChain)) VHookChain {
		c := goldenVHookChain()
		mut(&c)
		c.Sign(key(1))
		return c
	}
	other := chainAck(6, "[2001:db8::6]:27006")
	other.ID++
	other.Sign(key(6))
	for name, c := range map[string]struct {
		c    VHookChain
		node PublicKey
		id   uint64
		sig  bool // ErrBadSignature, else ErrMalformed
	}{
		"wrong signer":   {resigned(func(*VHookChain) {}), PublicKeyOf(key(2)), id, false},
		"signer claimed": {func() VHookChain { c := goldenVHookChain(); c.Sign(key(2)); c.Node = v; return c }(), v, id, true},
		"wrong id":       {goldenVHookChain(), v, id + 1, false},
		"id changed":     {func() VHookChain { c := goldenVHookChain(); c.ID++; return c }(), v, id + 1, false},
		"stamp changed":  {func() VHookChain { c := goldenVHookChain(); c.Stamp++; return c }(), v, id, true},
		"anchor dropped": {func() VHookChain { c := goldenVHookChain(); c.Anchors = c.Anchors[:1]; return c }(), v, id, true},
		"anchors reordered": {func() VHookChain {
			c := goldenVHookChain()
			c.Anchors[0], c.Anchors[1] = c.Anchors[1], c.Anchors[0]
			return c
		}(), v, id, true},
		"ack of another id":   {resigned(func(c *VHookChain) { c.Anchors[1] = other }), v, id, false},
		"ack id changed":      {resigned(func(c *VHookChain) { c.Anchors[0].ID = id + 1 }), v, id, false},
		"forged ack":          {resigned(func(c *VHookChain) { c.Anchors[1].Sig[0] ^= 1 }), v, id, true},
		"ack endpoint forged": {resigned(func(c *VHookChain) { c.Anchors[0].Endpoint = netip.MustParseAddrPort("192.0.2.66:27005") }), v, id, true},
		"ack by another node": {resigned(func(c *VHookChain) { c.Anchors[1].Node = PublicKeyOf(key(9)) }), v, id, true},
		"ack by V for key(6)": {resigned(func(c *VHookChain) { a := c.Anchors[1]; a.Sign(key(1)); a.Node = c.Anchors[1].Node; c.Anchors[1] = a }), v, id, true},
		"anchor twice":        {resigned(func(c *VHookChain) { c.Anchors[1] = c.Anchors[0] }), v, id, false},
		"node twice": {resigned(func(c *VHookChain) {
			a := chainAck(5, "192.0.2.9:1")
			a.TunnelKey[0]++
			a.Sign(key(5))
			c.Anchors[1] = a
		}), v, id, false},
		"tunnel key twice": {resigned(func(c *VHookChain) { c.Anchors[1].TunnelKey = c.Anchors[0].TunnelKey; c.Anchors[1].Sign(key(6)) }), v, id, false},
		"no anchor":        {resigned(func(c *VHookChain) { c.Anchors = nil }), v, id, false},
		"9 anchors":        {resigned(func(c *VHookChain) { c.Anchors = manyAnchors(MaxChainAnchors + 1) }), v, id, false},
		"signature":        {func() VHookChain { c := goldenVHookChain(); c.Sig[63] ^= 1; return c }(), v, id, true},
	} {
		err := c.c.Verify(c.node, c.id)
		if want := map[bool]error{true: ErrBadSignature, false: ErrMalformed}[c.sig]; !errors.Is(err, want) {
			t.Errorf("%s: %v, want %v", name, err, want)
		}
	}
	// Every signed byte counts, the acks' own included.
	gc := goldenVHookChain()
	gb := gc.AppendBinary(nil)
	for i := 0; i < len(gb)-64; i++ {
		b := bytes.Clone(gb)
		b[i] ^= 0x01
		if d, err := DecodeVHookChain(b); err == nil && d.Verify(v, id) == nil {
			t.Fatalf("chain byte %d flipped, still verifies", i)
		}
	}
	// Domains: a chain's signature is no ack's, request's or offer's, and
	// theirs are no chain's.
	if (&VHookAck{Node: gc.Node, ID: id, Sig: gc.Sig}).Verify(gc.Node, id) == nil {
		t.Error("a chain's signature passed as an ack's")
	}
	a := chainAck(5, "192.0.2.5:27005")
	if (&VHookChain{Node: a.Node, ID: id, Anchors: []VHookAck{a}, Sig: a.Sig}).Verify(a.Node, id) == nil {
		t.Error("an ack's signature passed as a chain's")
	}
	r := goldenVHook()
	if (&VHookChain{Node: r.Node, ID: r.ID, Anchors: []VHookAck{a}, Sig: r.Sig}).Verify(r.Node, r.ID) == nil {
		t.Error("a request's signature passed as a chain's")
	}
}

func TestChainBodyRejects(t *testing.T) {
	g := goldenChainBody()
	gb := g.AppendBinary(nil)
	body := func(mut func(c *ChainBody)) []byte {
		c := goldenChainBody()
		mut(&c)
		c.Request.Sign(key(7))
		return c.AppendBinary(nil)
	}
	other := chainAck(6, "[2001:db8::6]:27006")
	other.ID++
	other.Sign(key(6))
	asker := chainAck(7, "192.0.2.7:27007")
	cases := map[string][]byte{
		"9 anchors": body(func(c *ChainBody) { c.Request.Want = MaxWant; c.Anchors = manyAnchors(MaxChainAnchors + 1) }),
		"more than wanted": body(func(c *ChainBody) {
			c.Request.Want = 2
			c.Anchors = append(c.Anchors, chainAck(8, "192.0.2.8:27008"))
		}),
		"more than wanted, 1": body(func(c *ChainBody) { c.Request.Want = 0 }),
		"count 9":             append(append([]byte(nil), gb[0], 9), gb[2:]...),
		"count 255":           append(append([]byte(nil), gb[0], 255), gb[2:]...),
		"count beyond data":   append(append([]byte(nil), gb[0], 3), gb[2:]...),
		"count below data":    append(append([]byte(nil), gb[0], 1), gb[2:]...),
		"version":             patch(gb, 0, 2),
		"request version":     patch(gb, 2, 2),
		"request flags":       patch(gb, 3, 0x80|0x27),
		"request want 9":      body(func(c *ChainBody) { c.Request.Want = MaxWant + 1 }),
		"ack version":         patch(gb, 176, 0),
		"ack endpoint":        body(func(c *ChainBody) { c.Anchors[1].Endpoint = netip.MustParseAddrPort("[::]:27006") }),
		"ack of another id":   body(func(c *ChainBody) { c.Anchors[1] = other }),
		"anchor is the asker": body(func(c *ChainBody) { c.Anchors[1] = asker }),
		"anchor twice":        body(func(c *ChainBody) { c.Anchors[1] = c.Anchors[0] }),
		"tunnel key twice":    body(func(c *ChainBody) { c.Anchors[1].TunnelKey = c.Anchors[0].TunnelKey }),
		"trailing":            append(bytes.Clone(gb), 0),
		"an ack trailing":     append(bytes.Clone(gb), gb[176:350]...),
		"ack flags":           patch(gb, 351, 4),
		"ack coords unflag":   patch(gb, 177, 0),
		"ack longitude":       body(func(c *ChainBody) { c.Anchors[0].Lon = -maxLon - 1 }),
		"empty":               {},
	}
	for n := range len(gb) {
		cases["truncated to "+itoa(n)] = gb[:n]
	}
	for name, b := range cases {
		if c, err := DecodeChainBody(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %+v %v, want malformed", name, c, err)
		}
	}
	// The bounds themselves are fine: no ack yet, or as many as wanted.
	for _, b := range [][]byte{
		body(func(c *ChainBody) { c.Anchors = nil }),
		body(func(c *ChainBody) { c.Request.Want = 0; c.Anchors = nil }),
		body(func(c *ChainBody) { c.Request.Want = 0; c.Anchors = c.Anchors[:1] }),
		body(func(c *ChainBody) { c.Anchors = append(c.Anchors, chainAck(8, "192.0.2.8:27008")) }),
		body(func(c *ChainBody) { c.Request.Want = MaxWant; c.Anchors = manyAnchors(MaxChainAnchors) }),
	} {
		c, err := DecodeChainBody(b)
		if err != nil || c.Request.Verify() != nil || !bytes.Equal(c.AppendBinary(nil), b) {
			t.Errorf("%d anchors: %v", b[1], err)
		}
	}
	// Decoding checks no signature: the carriers do, with Verify.
	forged := goldenChainBody()
	forged.Request.Sig[0] ^= 1
	forged.Anchors[1].Sig[0] ^= 1
	d, err := DecodeChainBody(forged.AppendBinary(nil))
	if err != nil || d.Request.Verify() == nil || d.Anchors[1].Verify(d.Anchors[1].Node, d.Request.ID) == nil {
		t.Fatalf("forged body: %v", err)
	}
}

// TestVHookChainDecodeAllocs: a count the bytes cannot hold, or a
// message malformed before its acks, is refused before anything is
// allocated; a good one takes one allocation, its slice (a body without
// acks none).
func TestVHookChainDecodeAllocs(t *testing.T) {
	c, body := goldenVHookChain(), goldenChainBody()
	cb, bb := c.AppendBinary(nil), body.AppendBinary(nil)
	empty := ChainBody{Request: body.Request}
	eb := empty.AppendBinary(nil)
	cb255, bb255, cb0 := patch(cb, 1, 255), patch(bb, 1, 255), patch(cb, 1, 0)
	cbv, bbw := patch(cb, 0, 2), patch(bb, 3, 0x80|0x27)
	for _, x := range []struct {
		name string
		f    func()
		max  float64
	}{
		{"chain count 255", func() { DecodeVHookChain(cb255) }, 0},
		{"chain count 0", func() { DecodeVHookChain(cb0) }, 0},
		{"chain version", func() { DecodeVHookChain(cbv) }, 0},
		{"body count 255", func() { DecodeChainBody(bb255) }, 0},
		{"body request malformed", func() { DecodeChainBody(bbw) }, 0},
		{"chain", func() { DecodeVHookChain(cb) }, 1},
		{"body", func() { DecodeChainBody(bb) }, 1},
		{"body without acks", func() { DecodeChainBody(eb) }, 0},
	} {
		if n := testing.AllocsPerRun(20, x.f); n > x.max {
			t.Errorf("%s: %v allocations, want at most %v", x.name, n, x.max)
		}
	}
}

func FuzzVHookChain(f *testing.F) {
	c := goldenVHookChain()
	f.Add(c.AppendBinary(nil))
	c.Anchors = c.Anchors[1:]
	c.Sign(key(1))
	f.Add(c.AppendBinary(nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := DecodeVHookChain(b)
		if err != nil {
			return
		}
		if got := c.AppendBinary(nil); !bytes.Equal(got, b) {
			t.Fatalf("not canonical:\n in %x\nout %x", b, got)
		}
		if len(c.Anchors) == 0 || len(c.Anchors) > MaxChainAnchors || checkAnchors(c.Anchors, c.ID) != nil {
			t.Fatalf("bounds not held: %+v", c)
		}
		_ = c.Verify(c.Node, c.ID)
	})
}

func FuzzChainBody(f *testing.F) {
	c := goldenChainBody()
	f.Add(c.AppendBinary(nil))
	c.Anchors = nil
	f.Add(c.AppendBinary(nil))
	c.Request.Endpoint, c.Request.Listen, c.Request.HasCoords, c.Request.Lat, c.Request.Lon = netip.AddrPort{}, 0, false, 0, 0
	c.Request.Want = 1
	c.Request.Sign(key(7))
	c.Anchors = goldenChainAnchors()[1:]
	f.Add(c.AppendBinary(nil))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := DecodeChainBody(b)
		if err != nil {
			return
		}
		if got := c.AppendBinary(nil); !bytes.Equal(got, b) {
			t.Fatalf("not canonical:\n in %x\nout %x", b, got)
		}
		if len(b) > MaxChainBodySize || len(c.Anchors) > int(c.Request.Want) || checkAnchors(c.Anchors, c.Request.ID) != nil {
			t.Fatalf("bounds not held: %+v", c)
		}
		for i := range c.Anchors {
			if c.Anchors[i].Node == c.Request.Node {
				t.Fatalf("anchor %d is the asker", i)
			}
			_ = c.Anchors[i].Verify(c.Anchors[i].Node, c.Request.ID)
		}
		_ = c.Request.Verify()
	})
}
