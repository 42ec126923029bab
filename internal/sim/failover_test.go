package sim

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/ntkd/ntkd/internal/oracle"
	"github.com/ntkd/ntkd/internal/topo"
	"github.com/ntkd/ntkd/internal/wire"
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

// A lost link must not leave the nodes upstream of it sending into a loop
// until the next round: ROUTE_LOSS moves them over at once. The links drop
// every round's flood meanwhile, so nothing else can.
func TestLossReroutesUpstreamBeforeRound(t *testing.T) {
	for _, tc := range []struct {
		name, gen string
		nodes     int
		cuts      int
		bits      []uint8
	}{
		{"ring", "ring", 16, 1, nil},
		{"grid", "grid", 16, 3, nil},
		{"random", "random", 16, 3, nil},
		// Gnodes of up to 6 nodes: losses at the levels above too.
		{"random-levels", "random", 80, 4, []uint8{3, 3, 3, 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tp, err := topo.Generate(tc.gen, tc.nodes, rand.New(rand.NewPCG(3, 1)), linkOpt)
			if err != nil {
				t.Fatal(err)
			}
			cfg := testConfig(t, "10.0.0.0/8", tc.bits...)
			cfg.WaitRound, cfg.RoundSettle = 10*time.Minute, time.Minute
			s := newSim(t, tp, cfg, 3)
			settle(t, s, 30*time.Minute)
			checkAll(t, s, "before the cuts")
			var cuts []topo.Link
			for _, l := range tp.Links {
				// A cut that splits a gnode is the split check's case
				// (NTK_RFC 0001), not a loss's.
				if len(cuts) < tc.cuts && gnodesConnectedWithout(s, tp, append(cuts, l)) {
					cuts = append(cuts, l)
				}
			}
			if len(cuts) < tc.cuts {
				t.Fatalf("only %d links can be cut", len(cuts))
			}
			s.Drop[wire.OpQSPNClose], s.Drop[wire.OpQSPNOpen] = true, true
			for _, l := range cuts {
				at := s.Now() + time.Second
				s.At(at, func() { s.SetLinkCarrier(s.findLink(l.A, l.B), false) })
				s.Run(at + time.Second)
				for _, d := range s.Components() {
					if r := oracle.CheckDelivery(d); len(d.Nodes) > 1 && !r.Passed() {
						t.Fatalf("1 s after cutting %d-%d: %v", l.A, l.B, r)
					}
				}
			}
			var sent uint64
			for i := range s.Nodes() {
				sent += s.Node(i).Stats.LossesSent
			}
			if sent == 0 {
				t.Fatal("no ROUTE_LOSS was sent")
			}
		})
	}
}

// gnodesConnectedWithout says whether every gnode of every level stays
// connected inside itself without the links cut.
func gnodesConnectedWithout(s *Sim, tp *topo.Topology, cut []topo.Link) bool {
	levels := len(s.Node(0).Maps().Levels)
	for l := 0; l < levels; l++ {
		group := func(i int) [16]uint8 {
			var g [16]uint8
			p := s.Node(i).Position()
			copy(g[l+1:], p[l+1:])
			return g
		}
		parent := make([]int, tp.Nodes)
		for i := range parent {
			parent[i] = i
		}
		var find func(int) int
		find = func(i int) int {
			for parent[i] != i {
				i = parent[i]
			}
			return i
		}
		for _, k := range tp.Links {
			if !slices.ContainsFunc(cut, func(c topo.Link) bool { return c.A == k.A && c.B == k.B }) && group(k.A) == group(k.B) {
				parent[find(k.A)] = find(k.B)
			}
		}
		roots := map[[16]uint8]int{}
		for i := 0; i < tp.Nodes; i++ {
			if r, ok := roots[group(i)]; ok && r != find(i) {
				return false
			}
			roots[group(i)] = find(i)
		}
	}
	return true
}
