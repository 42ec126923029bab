package wire

import (
	"bytes"
	"errors"
	"net/netip"
	"reflect"
	"slices"
	"testing"
)

// Every fuzz target checks the same properties of its decoder:
//   - it never panics (the fuzzer reports panics itself);
//   - a rejection is an *Error wrapping one sentinel;
//   - an accepted input re-encodes to the very same bytes (the format is
//     canonical), and those decode to an equal value.

// seedPayloads adds the golden payloads of ops, each tagged with its index
// in ops (the selector byte of the fuzz function).
func seedPayloads(f *testing.F, ops ...Op) {
	for i, op := range ops {
		b := readGolden(f, op)
		f.Add(uint8(i), b[HeaderLen:])
	}
}

func checkRejection(t *testing.T, err error) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T %v is not *Error", err, err)
	}
	n := 0
	for _, s := range []error{ErrTruncated, ErrOversized, ErrBadMagic, ErrBadVersion, ErrUnknownOp, ErrInconsistent} {
		if errors.Is(err, s) {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("error %v wraps %d sentinels", err, n)
	}
}

// fuzzPayload decodes data as the payload of one of ops.
func fuzzPayload(f *testing.F, ops ...Op) {
	seedPayloads(f, ops...)
	f.Fuzz(func(t *testing.T, sel uint8, data []byte) {
		op := ops[int(sel)%len(ops)]
		p := NewPayload(op)
		if err := p.Decode(data); err != nil {
			checkRejection(t, err)
			return
		}
		b, err := Encode(1, p)
		if err != nil {
			t.Fatalf("decoded value does not encode: %v\n%#v", err, p)
		}
		if !bytes.Equal(b[HeaderLen:], data) {
			t.Fatalf("not canonical:\nin  %x\nout %x", data, b[HeaderLen:])
		}
		_, p2, err := Decode(b)
		if err != nil {
			t.Fatalf("re-encoded bytes do not decode: %v", err)
		}
		if !reflect.DeepEqual(p, p2) {
			t.Fatalf("round trip changed the value:\n%#v\n%#v", p, p2)
		}
	})
}

func FuzzHeader(f *testing.F) {
	for _, op := range Ops() {
		f.Add(readGolden(f, op))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var h Header
		err := h.Decode(data)
		n, perr := PayloadLen(data)
		if err != nil {
			checkRejection(t, err)
			// Framing errors and PayloadLen agree.
			if perr == nil && len(data) == HeaderLen+n && !errors.Is(err, ErrUnknownOp) && !errors.Is(err, ErrInconsistent) {
				t.Fatalf("PayloadLen accepts a frame the header rejects: %v", err)
			}
			return
		}
		if perr != nil || n != int(h.Length) || len(data) != HeaderLen+n || !h.Op.Known() {
			t.Fatalf("PayloadLen %d %v, header %+v", n, perr, h)
		}
		// An accepted header re-encodes to the same bytes.
		if b, err := AppendHeader(nil, h); err != nil || !bytes.Equal(b, data[:HeaderLen]) {
			t.Fatalf("AppendHeader: %v\nin  %x\nout %x", err, data[:HeaderLen], b)
		}
	})
}

// FuzzDecode runs whole packets through Decode and a reused Decoder, which
// must agree.
func FuzzDecode(f *testing.F) {
	for _, op := range Ops() {
		f.Add(readGolden(f, op))
	}
	var d Decoder
	f.Fuzz(func(t *testing.T, data []byte) {
		h, p, err := Decode(data)
		h2, p2, err2 := d.Decode(data)
		if (err == nil) != (err2 == nil) {
			t.Fatalf("Decode %v, Decoder %v", err, err2)
		}
		if err != nil {
			checkRejection(t, err)
			return
		}
		if h.ID != h2.ID || h.Op != h2.Op || p.Op() != h.Op {
			t.Fatalf("headers differ: %+v %+v", h, h2)
		}
		b, err := Encode(h.ID, p)
		if err != nil || !bytes.Equal(b, data) {
			t.Fatalf("re-encode: %v\nin  %x\nout %x", err, data, b)
		}
		b2, err := Encode(h2.ID, p2)
		if err != nil || !bytes.Equal(b2, data) {
			t.Fatalf("Decoder value re-encode: %v", err)
		}
	})
}

func FuzzEmpty(f *testing.F) {
	fuzzPayload(f, OpGetFreeNodes, OpGetQSPNRound, OpGetIntMap, OpGetExtMap, OpGetBnodeMap, OpAndnaReverse, OpAck)
}
func FuzzEcho(f *testing.F)         { fuzzPayload(f, OpEchoMe, OpEchoReply) }
func FuzzPutFreeNodes(f *testing.F) { fuzzPayload(f, OpPutFreeNodes) }
func FuzzPutQSPNRound(f *testing.F) { fuzzPayload(f, OpPutQSPNRound) }
func FuzzMapBody(f *testing.F)      { fuzzPayload(f, OpPutIntMap, OpPutExtMap, OpPutBnodeMap) }
func FuzzRouted(f *testing.F)       { fuzzPayload(f, OpRouted) }
func FuzzRouteLoss(f *testing.F)    { fuzzPayload(f, OpRouteLoss) }
func FuzzRegister(f *testing.F)     { fuzzPayload(f, OpAndnaRegister) }
func FuzzCheckCounter(f *testing.F) { fuzzPayload(f, OpAndnaCheckCounter) }
func FuzzCounterReply(f *testing.F) { fuzzPayload(f, OpAndnaCounterReply) }
func FuzzResolve(f *testing.F)      { fuzzPayload(f, OpAndnaResolve) }
func FuzzResolveReply(f *testing.F) { fuzzPayload(f, OpAndnaResolveReply) }
func FuzzReverseReply(f *testing.F) { fuzzPayload(f, OpAndnaReverseReply) }
func FuzzGetCache(f *testing.F)     { fuzzPayload(f, OpAndnaGetCache) }
func FuzzPutCache(f *testing.F)     { fuzzPayload(f, OpAndnaPutCache) }
func FuzzGetQueue(f *testing.F)     { fuzzPayload(f, OpAndnaGetQueue) }
func FuzzPutQueue(f *testing.F)     { fuzzPayload(f, OpAndnaPutQueue) }
func FuzzNack(f *testing.F)         { fuzzPayload(f, OpNack) }

// seedEncoded adds the payloads of ps, tagged with the index of each one's
// op in ops.
func seedEncoded(f *testing.F, ops []Op, ps ...Payload) {
	for _, p := range ps {
		b, err := Encode(1, p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(slices.Index(ops, p.Op())), b[HeaderLen:])
	}
}

func FuzzBroadcast(f *testing.F) {
	ops := []Op{OpTracerPkt, OpQSPNClose, OpQSPNOpen}
	// Vnode points at the lowest and highest levels, with and without
	// the other optional sections.
	vn := func(level uint8, n int) []VnodePoint {
		var vs []VnodePoint
		for i := 0; i < n; i++ {
			v := VnodePoint{Lat: int32(i%3-1) * 90000000, Lon: int32(i-2) * 90000000, Count: uint16(1 + i*1000)}
			for k := 0; k < int(level); k++ {
				v.Position[k] = uint8(i + k)
			}
			vs = append(vs, v)
		}
		return vs
	}
	lvl15 := sampleTracer(OpTracerPkt, 2, 1, 1)
	lvl15.Level, lvl15.Origin = 15, [MaxLevels]uint8{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	lvl15.Flags |= BcastVnodes
	lvl15.Vnodes = vn(15, MaxVnodePoints)
	seedEncoded(f, ops,
		&Broadcast{Kind: OpQSPNClose, Flags: BcastVnodes, TTL: 3, Chunks: []Chunk{{Node: 1}}, Vnodes: vn(0, 1)},
		&Broadcast{Kind: OpQSPNOpen, Level: 1, Flags: BcastGateways | BcastVnodes, Origin: [MaxLevels]uint8{9},
			Gateways: []Gateway{{Bandwidth: 1, Position: [MaxLevels]uint8{2}}}, Vnodes: vn(1, 3)},
		lvl15)
	fuzzPayload(f, ops...)
}

func FuzzVHookRoute(f *testing.F) {
	ops := []Op{OpVHookRoute}
	a6 := netip.MustParseAddr("fd00::1")
	seedEncoded(f, ops,
		&VHookRoute{Origin: v4a},
		&VHookRoute{Flags: VRouteBack, Hops: MaxVRouteHops, Origin: a6, Exclude: []netip.Addr{v6a, a6}, Body: []byte{0}},
		&VHookRoute{Flags: VRouteCoords, Lat: 90000000, Lon: -180000000, Origin: v4b,
			Exclude: slices.Repeat([]netip.Addr{v4a}, MaxVRouteExclude), Body: bytes.Repeat([]byte("ab"), MaxVRouteBody/2)})
	fuzzPayload(f, ops...)
}
