package sim

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/ntkd/ntkd/internal/topo"
)

// routesVia counts the routes in node a's maps (all levels, all
// alternatives) whose gateway is rnode index gw.
func routesVia(s *Sim, a int, gw uint8) int {
	k := 0
	for _, m := range s.Node(a).Maps().Levels {
		for id := 0; id < m.Size(); id++ {
			for _, r := range m.Routes(nil, uint8(id)) {
				if r.Gw == gw {
					k++
				}
			}
		}
	}
	return k
}

// index is the rnode index node a's radar gave neighbour b.
func index(t *testing.T, s *Sim, a, b int) uint8 {
	for iface := range s.nodes[a].ports {
		if s.Peer(a, iface) == b {
			if nb := s.Node(a).Radar().Lookup(iface, radarPeer(b)); nb != nil {
				return nb.Index
			}
		}
	}
	t.Fatalf("%d is no neighbour of %d", b, a)
	return 0
}

// Carrier loss: the routes through the lost neighbour go in the same
// instant (the kernel keeps the other nexthops), long before any round.
func TestFastFailoverOnCarrierLoss(t *testing.T) {
	tp, _ := topo.Generate("ring", 8, rand.New(rand.NewPCG(1, 1)), linkOpt)
	s := newSim(t, tp, testConfig(t, "10.0.0.0/8"), 1)
	settle(t, s, 10*time.Minute)
	l := tp.Links[0]
	ia, ib := index(t, s, l.A, l.B), index(t, s, l.B, l.A)
	if routesVia(s, l.A, ia) == 0 || routesVia(s, l.B, ib) == 0 {
		t.Fatal("no routes through the link before it went down")
	}
	at := s.Now() + time.Second
	s.At(at, func() { s.SetLinkCarrier(s.findLink(l.A, l.B), false) })
	s.Run(at + time.Millisecond)
	if k := routesVia(s, l.A, ia) + routesVia(s, l.B, ib); k != 0 {
		t.Fatalf("%d routes still through the dead link 1 ms after carrier loss", k)
	}
	settle(t, s, s.Now()+10*time.Minute)
	checkAll(t, s, "after carrier loss")
}

// Silent failure (carrier up, packets dropped): the radar's state machine
// must give up on the neighbour within Interval + ProbeTimeout x
// (DeadAfter+1) of virtual time, and the routes through it go then.
func TestSilentFailureDetectedWithinRadarBound(t *testing.T) {
	tp, _ := topo.Generate("ring", 8, rand.New(rand.NewPCG(2, 1)), linkOpt)
	cfg := testConfig(t, "10.0.0.0/8")
	s := newSim(t, tp, cfg, 2)
	settle(t, s, 10*time.Minute)
	l := tp.Links[3]
	ia, ib := index(t, s, l.A, l.B), index(t, s, l.B, l.A)
	if routesVia(s, l.A, ia) == 0 || routesVia(s, l.B, ib) == 0 {
		t.Fatal("no routes through the link before it failed")
	}
	at := s.Now() + time.Second
	s.At(at, func() { s.SetLink(s.findLink(l.A, l.B), false) })
	r := cfg.Radar
	bound := r.Interval + r.ProbeTimeout*time.Duration(r.DeadAfter+1) + 10*time.Millisecond
	s.Run(at + bound)
	if k := routesVia(s, l.A, ia) + routesVia(s, l.B, ib); k != 0 {
		t.Fatalf("%d routes still through the silently dead link %v after it died", k, bound)
	}
	settle(t, s, s.Now()+10*time.Minute)
	checkAll(t, s, "after silent failure")
}
