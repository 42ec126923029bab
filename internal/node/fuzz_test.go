package node

import (
	"net/netip"
	"testing"
	"time"

	"github.com/ntkd/ntkd/internal/addr"
	"github.com/ntkd/ntkd/internal/radar"
	"github.com/ntkd/ntkd/internal/wire"
)

// hookedPair returns a node that is hooked alone and knows one neighbour
// (peer 7 on interface 0) at a neighbouring address of its gnode.
func hookedPair(t testing.TB) (*Node, time.Duration) {
	cfg := DefaultConfig(addr.Default())
	cfg.Seed = 1
	n, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Duration(0)
	n.IfaceUp(now, 0)
	n.Start(now)
	for now < 10*time.Second {
		now += 100 * time.Millisecond
		n.Tick(now)
	}
	if n.State() != Hooked {
		t.Fatalf("alone for 10 s and not hooked: %v", n.State())
	}
	n.Outbox()
	// A neighbour in our gnode announces itself and answers our probes.
	p := n.Position()
	p[0] ^= 0x40
	if p[0] == 0 || p[0] == 255 {
		p[0] = 7
	}
	nbAddr, _ := addr.Default().Addr(p)
	probe, _ := wire.Encode(1, &wire.Echo{Kind: wire.OpEchoMe, Nonce: 99, Addr: nbAddr})
	for i := 0; i < 40; i++ {
		now += 50 * time.Millisecond
		n.HandlePacket(now, 0, 7, probe)
		for _, s := range n.Outbox() {
			if s.Op == wire.OpEchoMe {
				_, pl, _ := wire.Decode(s.Data)
				e := pl.(*wire.Echo)
				rep, _ := wire.Encode(2, &wire.Echo{Kind: wire.OpEchoReply, Burst: e.Burst, Seq: e.Seq, Nonce: 99, Addr: nbAddr})
				n.HandlePacket(now+time.Millisecond, 0, 7, rep)
			}
		}
		n.Tick(now)
	}
	if nb := n.Radar().Lookup(0, radar.PeerID(7)); nb == nil || nb.Cost == 0 {
		t.Fatal("the neighbour was not measured")
	}
	return n, now
}

func TestHookedPairRoutes(t *testing.T) {
	n, _ := hookedPair(t)
	rs := n.Routes(nil)
	if len(rs) != 1 || rs[0].Prefix.Bits() != 32 || len(rs[0].Hops) != 1 {
		t.Fatalf("routes of a node with one neighbour: %+v", rs)
	}
}

// FuzzHandlePacket feeds a hooked node arbitrary packets from a neighbour:
// nothing a peer sends may crash the node or leave its maps inconsistent.
func FuzzHandlePacket(f *testing.F) {
	a := netip.MustParseAddr("10.1.2.3")
	seeds := []wire.Payload{
		&wire.Echo{Kind: wire.OpEchoMe, Addr: a},
		&wire.Empty{Kind: wire.OpGetFreeNodes},
		&wire.Empty{Kind: wire.OpGetIntMap},
		&wire.Empty{Kind: wire.OpGetExtMap},
		&wire.Empty{Kind: wire.OpGetQSPNRound},
		&wire.Broadcast{Kind: wire.OpTracerPkt, Level: 0, Round: 0, Nonce: 5, TTL: 9, Chunks: []wire.Chunk{{Node: 3, Cost: 0}, {Node: 9, Cost: 100}}},
		&wire.Broadcast{Kind: wire.OpQSPNClose, Level: 1, Round: 7, Nonce: 5, SubNonce: 3, Part: 4, Origin: [16]uint8{3}, TTL: 9, Chunks: []wire.Chunk{{Node: 3, Cost: 0}}},
		&wire.Broadcast{Kind: wire.OpQSPNClose, Level: 2, Round: 1 << 31, Nonce: 1, TTL: 9, Chunks: []wire.Chunk{{Node: 1, Cost: 0}, {Node: 2, Cost: 1 << 31}, {Node: 3, Cost: 1 << 31}}},
	}
	for i, p := range seeds {
		b, err := wire.Encode(uint32(i), p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	n0, _ := hookedPair(f)
	_ = n0
	f.Fuzz(func(t *testing.T, data []byte) {
		n, now := hookedPair(t)
		n.HandlePacket(now, 0, 7, data)
		n.Tick(now + time.Second)
		n.Outbox()
		for l, m := range n.Maps().Levels {
			for id := 0; id < m.Size(); id++ {
				rs := m.Routes(nil, uint8(id))
				if len(rs) > m.MaxRoutes() {
					t.Fatalf("level %d id %d: %d routes", l, id, len(rs))
				}
			}
		}
		n.Routes(nil)
	})
}

// A hooked node never offers an id already in its map (anti-spoofing,
// seed 001 §9): not its own, not its neighbour's.
func TestFreeNodesSkipsPresentIDs(t *testing.T) {
	n, now := hookedPair(t)
	nb := n.Radar().Lookup(0, 7)
	np, err := addr.Default().Position(nb.Addr)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := wire.Encode(42, &wire.Empty{Kind: wire.OpGetFreeNodes})
	n.HandlePacket(now, 0, 7, req)
	var got *wire.PutFreeNodes
	for _, s := range n.Outbox() {
		if s.Op == wire.OpPutFreeNodes {
			h, p, err := wire.Decode(s.Data)
			if err != nil || h.ID != 42 {
				t.Fatalf("reply %v %v", h, err)
			}
			got = p.(*wire.PutFreeNodes)
		}
	}
	if got == nil {
		t.Fatal("no PUT_FREE_NODES")
	}
	me := n.Position()[0]
	if got.IsFree(me) || got.IsFree(np[0]) || got.IsFree(0) || got.IsFree(255) {
		t.Fatalf("offered a taken or reserved id: me %d neighbour %d", me, np[0])
	}
	free := 0
	for id := 0; id < 256; id++ {
		if got.IsFree(uint8(id)) {
			free++
		}
	}
	if free != 254-2 {
		t.Fatalf("%d ids offered, want 252", free)
	}
}
