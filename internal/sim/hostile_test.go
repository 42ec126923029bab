package sim

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/ntkd/ntkd/internal/node"
	"github.com/ntkd/ntkd/internal/radar"
	"github.com/ntkd/ntkd/internal/topo"
	"github.com/ntkd/ntkd/internal/wire"
)

// A packet a stranger on a link can send (bench/hostile found it): one
// echo claiming our top-level id with a lower nonce must not make a node
// re-hook. (A flood whose round id is far ahead of ours still costs the
// gnode its routes: docs/RELIABILITY.md, B2.)
func TestHostilePacketsKeepRoutes(t *testing.T) {
	cfg := testConfig(t, "10.0.0.0/8", 4, 4, 4, 4)
	tp, err := topo.Generate("ring", 8, rand.New(rand.NewPCG(1, 7)), linkOpt)
	if err != nil {
		t.Fatal(err)
	}
	s := newSim(t, tp, cfg, 1)
	settle(t, s, 600*time.Second)
	checkAll(t, s, "before")
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
