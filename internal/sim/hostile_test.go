package sim

import (
	"testing"
	"time"

	"github.com/ntkd/ntkd/internal/node"
	"github.com/ntkd/ntkd/internal/radar"
	"github.com/ntkd/ntkd/internal/wire"
)

// A packet a stranger on a link can send (bench/hostile found it): one
// echo claiming our top-level id with a lower nonce must not make a node
// re-hook. (Floods of rounds far ahead: TestRoundFloodKeepsRoutes.)
func TestHostilePacketsKeepRoutes(t *testing.T) {
	s, _ := convergedSim(t, "ring", 8, 1, 7, 1)
	victim := s.Node(0)
	addr, rehooks := victim.Addr(), victim.Stats.Rehooks
	iface, stranger := s.Node(0).Radar().Neighbours()[0].Iface, radar.PeerID(0xbad)

	// A stranger's echo reply: the address of a node of our network (so
	// our top-level id), top nonce 1 (lower than any real one).
	other := s.Node(4).Addr() // a real node's address, far away on the ring
	echo, err := wire.Encode(1, &wire.Echo{Kind: wire.OpEchoReply, Nonce: 12345, Lowest: 1, Addr: other})
	if err != nil {
		t.Fatal(err)
	}
	s.WithNode(0, func(n *node.Node, now time.Duration) { n.HandlePacket(now, iface, stranger, echo) })
	s.Run(s.Now() + 10*time.Second)
	if victim.Addr() != addr || victim.Stats.Rehooks != rehooks {
		t.Fatalf("a stranger's echo moved the node from %v to %v (re-hooks %d -> %d)", addr, victim.Addr(), rehooks, victim.Stats.Rehooks)
	}

	checkAll(t, s, "after a stranger's echo")
}
