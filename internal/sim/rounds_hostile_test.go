package sim

import (
	"testing"
	"time"

	"github.com/ntkd/ntkd/internal/node"
	"github.com/ntkd/ntkd/internal/oracle"
	"github.com/ntkd/ntkd/internal/radar"
	"github.com/ntkd/ntkd/internal/wire"
)

// TestRoundFloodKeepsRoutes: a measured neighbour that sends QSPN_CLOSE
// floods of rounds far ahead, 50 a second (hostile -attacks qspn-rounds,
// RELIABILITY.md B2), must not take routes away from anyone, during the
// flood or after it, nor make the mesh flood at its pace.
func TestRoundFloodKeepsRoutes(t *testing.T) {
	s, _ := convergedSim(t, "ring", 8, 1, 7, 1)

	victim := s.Node(0)
	var liar radar.Neighbour // the measured neighbour the floods come from
	for _, nb := range victim.Radar().Neighbours() {
		if nb.State == radar.Alive && nb.Addr.IsValid() {
			liar = *nb
			break
		}
	}
	if !liar.Addr.IsValid() {
		t.Fatal("the victim has no alive neighbour")
	}
	var liarNode *node.Node
	for i := 0; i < s.Nodes(); i++ {
		if n := s.Node(i); n != nil && n.Addr() == liar.Addr {
			liarNode = n
		}
	}
	if liarNode == nil {
		t.Fatalf("no node holds %v", liar.Addr)
	}
	pos, vpos := liarNode.Position(), victim.Position()
	nonce := liarNode.Level(0).Nonce

	sent := floodsSent(s)
	round := victim.Level(0).Round
	const rate = 50
	end := s.Now() + 20*time.Second
	for step := 0; s.Now() < end; step++ {
		round += 0x7fffffff
		b := &wire.Broadcast{Kind: wire.OpQSPNClose, Gnode: vpos[1], Level: 0, Round: round, Nonce: nonce,
			Flags: wire.BcastTracer, TTL: 32, Chunks: []wire.Chunk{{Node: pos[0], Cost: 0}}}
		pkt, err := wire.Encode(round<<8, b)
		if err != nil {
			t.Fatal(err)
		}
		s.WithNode(0, func(n *node.Node, now time.Duration) { n.HandlePacket(now, liar.Iface, liar.Peer, pkt) })
		s.Run(s.Now() + time.Second/rate)
		if step%rate == rate-1 {
			// Every pair delivers; not always on the shortest path: the
			// liar's own floods (cost 0 to itself) are lies about its links.
			for _, d := range s.Components() {
				if r := oracle.CheckDelivery(d); !r.Passed() {
					t.Fatalf("%v into the round flood: %v", s.Now()-end+20*time.Second, r)
				}
			}
		}
	}
	// The mesh must not flood at the liar's pace: every node answering
	// each forged round with a flood of its own would send thousands.
	t.Logf("QSPN packets sent by the mesh during the 20 s flood: %d", floodsSent(s)-sent)
	if d := floodsSent(s) - sent; d > 2000 {
		t.Errorf("the mesh sent %d QSPN packets during the 20 s flood", d)
	}
	s.Run(s.Now() + 60*time.Second)
	checkAll(t, s, "a minute after the round flood")
}

// floodsSent counts the QSPN packets every node has sent.
func floodsSent(s *Sim) uint64 {
	var sum uint64
	for i := 0; i < s.Nodes(); i++ {
		if n := s.Node(i); n != nil {
			for _, op := range []wire.Op{wire.OpTracerPkt, wire.OpQSPNClose, wire.OpQSPNOpen} {
				sum += n.Stats.SentPackets[op]
			}
		}
	}
	return sum
}
