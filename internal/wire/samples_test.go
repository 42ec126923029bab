package wire

import (
	"net/netip"
	"strings"
)

// sample is one packet used by the round-trip, golden and fuzz-seed tests.
type sample struct {
	id uint32
	p  Payload
}

// fill32 / fill64 give recognisable, deterministic key and signature bytes.
func fill32(start byte) (a [32]byte) {
	for i := range a {
		a[i] = start + byte(i)
	}
	return a
}

func fill64(start byte) (a [64]byte) {
	for i := range a {
		a[i] = start + byte(i)
	}
	return a
}

var (
	v4a = netip.MustParseAddr("10.1.2.3")
	v4b = netip.MustParseAddr("10.7.8.9")
	v6a = netip.MustParseAddr("fd00::1:2:3")
)

func sampleRegister() Register {
	return Register{
		Hostname:  "alice.mesh",
		PubKey:    fill32(0xa0),
		Counter:   7,
		Flags:     RegisterBackup,
		Addr:      v4a,
		Signature: fill64(0x10),
	}
}

func sampleTracer(kind Op, chunks, blocks, links int) *Broadcast {
	b := &Broadcast{Kind: kind, Gnode: 42, Level: 1, SubID: 9, Flags: BcastTracer | BcastStarters, Round: 0x01020304, Nonce: 0xcafe, Origin: [MaxLevels]uint8{17}, TTL: 64}
	for i := 0; i < chunks; i++ {
		b.Chunks = append(b.Chunks, Chunk{Node: uint8(i * 7), Cost: uint32(1000 + i)})
	}
	for i := 0; i < blocks; i++ {
		blk := BnodeBlock{Bnode: uint8(200 + i)}
		for j := 0; j < links; j++ {
			blk.Links = append(blk.Links, BnodeLink{Gnode: uint8(j + 1), Level: uint8(j % 3), Cost: uint32(50 * (j + 1))})
		}
		b.Blocks = append(b.Blocks, blk)
	}
	if blocks > 0 {
		b.Flags |= BcastBBlock
	}
	return b
}

// samples returns one packet per op, built fresh on every call.
func samples() []sample {
	pf := &PutFreeNodes{Level: 0, Bits: 8, Addr: v4a}
	for _, id := range []uint8{0, 1, 7, 8, 100, 255} {
		pf.SetFree(id, true)
	}
	reg := sampleRegister()
	return []sample{
		{0x00000001, &Echo{Kind: OpEchoMe, Burst: 0x1234, Seq: 3, Flags: EchoHooking | EchoHello | EchoReplyWanted, Nonce: 0xdeadbeef,
			Lowest: 0x0badcafe, Interval: 500, IHU: []IHU{{Nonce: 0x01020304, Heard: 16}, {Nonce: 0xfffffffe, Heard: 0}, {Nonce: 7, Heard: 9}}}},
		{0x00000002, &Echo{Kind: OpEchoReply, Burst: 0x1234, Seq: 3, Flags: EchoHello, Nonce: 0x11223344, Addr: v4b}},
		{0x00000010, &Empty{Kind: OpGetFreeNodes}},
		{0x00000011, pf},
		{0x00000012, &Empty{Kind: OpGetQSPNRound}},
		{0x00000013, &PutQSPNRound{Rounds: []QSPNRound{{ID: 17, ElapsedMs: 1500}, {ID: 3, ElapsedMs: 60000}, {ID: 0xdeadbeef, ElapsedMs: 0}}}},
		{0x00000014, &Empty{Kind: OpGetIntMap}},
		{0x00000015, &MapBody{Kind: OpPutIntMap, Body: []byte("int map body")}},
		{0x00000016, &Empty{Kind: OpGetExtMap}},
		{0x00000017, &MapBody{Kind: OpPutExtMap, Body: []byte{0, 1, 2, 3, 4, 5, 6, 7}}},
		{0x00000018, &Empty{Kind: OpGetBnodeMap}},
		{0x00000019, &MapBody{Kind: OpPutBnodeMap, Body: []byte{0xff}}},
		{0x00000020, sampleTracer(OpTracerPkt, 3, 2, 2)},
		{0x00000021, &Broadcast{Kind: OpQSPNClose, Gnode: 5, Level: 0, Flags: BcastBnodeClosed, Round: 9, TTL: 32,
			Chunks: []Chunk{{Node: 1, Cost: 10}, {Node: 2, Cost: 20}}}},
		{0x00000022, &Broadcast{Kind: OpQSPNOpen, Gnode: 5, Level: 2, SubID: 77, Flags: BcastBnodeOpened | BcastBBlock | BcastGateways | BcastVnodes, Round: 10, Origin: [MaxLevels]uint8{7, 8}, TTL: 1,
			Chunks:   []Chunk{{Node: 77, Cost: 0}},
			Blocks:   []BnodeBlock{{Bnode: 77, Links: []BnodeLink{{Gnode: 3, Level: 2, Cost: 400}}}, {Bnode: 78}},
			Gateways: []Gateway{{Bandwidth: 10000, Position: [MaxLevels]uint8{3, 7}}, {Bandwidth: 4000000000, Position: [MaxLevels]uint8{0, 9}}},
			Vnodes:   []VnodePoint{{Lat: 45464204, Lon: 9189982, Count: 3, Position: [MaxLevels]uint8{4, 7}}, {Lat: -22906847, Lon: -43172897, Count: 1, Position: [MaxLevels]uint8{1, 9}}}}},
		{0x00000024, &Loss{Gnode: 3, Level: 1, Round: 77, Entries: []LossEntry{{ID: 4, Cost: 1200}, {ID: 9, Cost: LossUnreachable}}}},
		{0x00000030, &reg},
		{0x00000031, &CheckCounter{Asker: v6a, Request: sampleRegister()}},
		{0x00000032, &CounterReply{Count: 12, Result: CodeOK}},
		{0x00000033, &Resolve{Flags: ResolveRecursive, Hostname: "bob.example-1"}},
		{0x00000034, &ResolveReply{ExpiresIn: 259200, Counter: 4, Addr: v6a}},
		{0x00000035, &Empty{Kind: OpAndnaReverse}},
		{0x00000023, &Routed{Flags: RoutedNearest, TTL: 64, Level: 1, Dst: v4a, Src: v4b,
			Inner: must(Encode(7, &Resolve{Hostname: "carol"}))}},
		{0x00000036, &ReverseReply{Names: []ReverseName{{ExpiresIn: 100, Hostname: "alice"}, {ExpiresIn: 200, Hostname: "alice.mesh"}}}},
		{0x00000037, &GetCache{HasLevel: true, Level: 2}},
		{0x00000038, &PutCache{Records: []CacheRecord{
			{Hash: fill32(0x01), PubKey: fill32(0x40), Counter: 1, ExpiresIn: 3600, QueuePos: 0, Addr: v4a},
			{Hash: fill32(0x01), PubKey: fill32(0x80), Counter: 0, ExpiresIn: 7200, QueuePos: 1, Addr: v6a},
		}}},
		{0x00000039, &GetQueue{Hostname: "carol"}},
		{0x0000003a, &PutQueue{Entries: []QueueEntry{{ExpiresIn: 10, Addr: v4a}, {ExpiresIn: 20, Addr: v4b}}}},
		{0x00000040, &Empty{Kind: OpAck}},
		{0x00000041, &Nack{Code: CodeGnodeFull, Reason: "gnode 10.1.2.0/24 is full"}},
		{0x00000050, &VHookRoute{Flags: VRouteCoords, Hops: 3, Lat: -33868800, Lon: 151209300, Origin: v4a,
			Exclude: []netip.Addr{v4b, netip.MustParseAddr("10.9.9.9")}, Body: []byte("vhook request")}},
	}
}

// goldenName is the testdata file of an op's golden vector.
func goldenName(op Op) string {
	return "testdata/" + strings.ToLower(op.String()) + ".hex"
}
