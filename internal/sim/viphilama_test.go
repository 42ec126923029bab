package sim

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/ntkd/ntkd/internal/geo"
	"github.com/ntkd/ntkd/internal/node"
	"github.com/ntkd/ntkd/internal/topo"
	"github.com/ntkd/ntkd/internal/wire"
)

// cities more than 900 km apart from each other (microdegrees): the
// vnodes of one are one cluster of any multi-barycenter, never two cities
// in one.
var vcities = [...][2]int32{
	{41_902_800, 12_496_400}, // Rome
	{51_507_400, -127_800},   // London
	{52_520_000, 13_405_000}, // Berlin
	{40_416_800, -3_703_800}, // Madrid
}

// TestViphilamaMap: vnodes in four cities on a random mesh of three
// levels. Every node's Viphilama map accounts for every other vnode once
// (the points' counts), and no point lies in the empty land between
// cities, as one barycenter per gnode would (seed 002's multi-barycenter).
// A hook request carried from any node for a city's coordinates stops at
// that city's vnode; with it excluded, at another vnode of the city when
// there is one; and it comes back to the node that sent it.
func TestViphilamaMap(t *testing.T) {
	for seed := uint64(1); seed <= 3; seed++ {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			cfg := testConfig(t, "10.0.0.0/8", 3, 3, 3, 3)
			rng := rand.New(rand.NewPCG(seed, 11))
			tp, err := topo.Generate("random", 40, rng, linkOpt)
			if err != nil {
				t.Fatal(err)
			}
			s := newSim(t, tp, cfg, seed)
			settle(t, s, 2000*time.Second)
			// 10 vnodes: cities 0 and 1 get one, 2 and 3 get four each,
			// a few km apart.
			where := map[int][2]int32{}
			city := map[int]int{}
			perm := rng.Perm(s.Nodes())
			for k, c := range []int{0, 1, 2, 2, 2, 2, 3, 3, 3, 3} {
				i := perm[k]
				p := vcities[c]
				p[0] += int32(rng.IntN(200_000)) - 100_000
				p[1] += int32(rng.IntN(200_000)) - 100_000
				where[i], city[i] = p, c
				s.WithNode(i, func(n *node.Node, now time.Duration) { n.SetVnode(now, true, p[0], p[1]) })
			}
			settle(t, s, s.Now()+2000*time.Second)

			levels := map[int]bool{}
			for i := 0; i < s.Nodes(); i++ {
				want := len(where)
				if _, ok := where[i]; ok {
					want--
				}
				got := 0
				for _, p := range s.Node(i).VnodeMap(nil) {
					got += p.Count
					levels[p.Level] = true
					near := false
					for _, w := range where {
						if geo.Km(geo.Hav(p.Lat, p.Lon, w[0], w[1])) < 100 {
							near = true
						}
					}
					if !near {
						t.Fatalf("node %d: point %+v is 100 km from every vnode", i, p)
					}
				}
				if got != want {
					t.Fatalf("node %d: its map counts %d vnodes, want %d: %+v", i, got, want, s.Node(i).VnodeMap(nil))
				}
			}
			if len(levels) < 2 {
				t.Fatalf("every point at one level %v: the test does not cross gnodes", levels)
			}

			// carry sends a request from node from for the coordinates
			// of c (a city's, or a point's with c = -1) and returns the
			// node where it stopped.
			carry := func(from, c int, to [2]int32, exclude ...netip.Addr) (int, wire.VHookRoute) {
				t.Helper()
				rt := &wire.VHookRoute{Flags: wire.VRouteCoords, Lat: to[0], Lon: to[1], Origin: s.Node(from).Addr(), Exclude: exclude, Body: []byte{byte(c)}}
				sent := false
				s.WithNode(from, func(n *node.Node, now time.Duration) { sent = n.SendVHookRoute(now, rt) })
				if !sent {
					t.Fatalf("node %d: nowhere to carry a request for city %d", from, c)
				}
				s.Run(s.Now() + 5*time.Second)
				at, got := -1, wire.VHookRoute{}
				for i := 0; i < s.Nodes(); i++ {
					s.WithNode(i, func(n *node.Node, _ time.Duration) {
						for _, d := range n.VHookRoutes() {
							if at >= 0 {
								t.Fatalf("request for city %d stopped at nodes %d and %d", c, at, i)
							}
							at, got = i, d.Route
						}
					})
				}
				if at < 0 {
					t.Fatalf("request from node %d for city %d stopped nowhere", from, c)
				}
				if len(got.Body) != 1 || got.Body[0] != byte(c) {
					t.Fatalf("request for city %d came with body %v", c, got.Body)
				}
				return at, got
			}
			checked := 0
			for from := 0; from < s.Nodes(); from += 3 {
				for c := range vcities {
					at, rt := carry(from, c, vcities[c])
					if city[at] != c || where[at] == [2]int32{} {
						t.Fatalf("request from node %d for city %d stopped at node %d (city %d, vnode %v)", from, c, at, city[at], where[at] != [2]int32{})
					}
					if rt.Hops > 4 {
						t.Fatalf("request for city %d passed on %d times", c, rt.Hops)
					}
					// Without it: another vnode of the city if any, else
					// a vnode anyway.
					next, _ := carry(from, c, vcities[c], s.Node(at).Addr())
					if next == at || where[next] == [2]int32{} {
						t.Fatalf("with node %d excluded the request stopped at node %d", at, next)
					}
					if c >= 2 && city[next] != c {
						t.Fatalf("city %d has four vnodes, but with node %d excluded the request stopped at node %d of city %d", c, at, next, city[next])
					}
					// And back to where it came from.
					if home := carryBack(s, at, s.Node(from).Addr()); home != from {
						t.Fatalf("request sent back from node %d to node %d reached node %d", at, from, home)
					}
				}
				// A gnode's point whose vnode is excluded (an anchor
				// chain's last) still leads to the gnode's other vnodes.
				for _, p := range s.Node(from).VnodeMap(nil) {
					if p.Level == 0 || p.Count < 2 {
						continue
					}
					rep := -1
					for i := 0; i < s.Nodes(); i++ {
						if s.Node(i).Addr() == p.Addr {
							rep = i
						}
					}
					next, _ := carry(from, -1, [2]int32{p.Lat, p.Lon}, p.Addr)
					pn, _ := cfg.Scheme.Position(s.Node(next).Addr())
					pr, _ := cfg.Scheme.Position(p.Addr)
					if next == rep || where[next] == [2]int32{} || !cfg.Scheme.SameGnode(pn, pr, p.Level) {
						t.Fatalf("node %d: with the vnode of point %+v excluded, the request stopped at node %d (vnode %v), not in its gnode", from, p, next, where[next] != [2]int32{})
					}
					checked++
				}
			}
			if checked == 0 {
				t.Fatal("no gnode's point of several vnodes: the exclusion inside gnodes is not tested")
			}
		})
	}
}

// carryBack sends a request back from node at to origin and returns the
// node where it stopped.
func carryBack(s *Sim, at int, origin netip.Addr) int {
	rt := &wire.VHookRoute{Flags: wire.VRouteCoords | wire.VRouteBack, Origin: origin}
	s.WithNode(at, func(n *node.Node, now time.Duration) { n.SendVHookRoute(now, rt) })
	s.Run(s.Now() + 5*time.Second)
	home := -1
	for i := 0; i < s.Nodes(); i++ {
		s.WithNode(i, func(n *node.Node, _ time.Duration) {
			if len(n.VHookRoutes()) > 0 {
				home = i
			}
		})
	}
	return home
}

// TestNearVnodesLink: seed 002's near vnodes that vhooked at once. Two
// islands joined by one tunnel between London (node 0) and Berlin (node
// 3); Rome (node 2) and Florence (node 5) are vnodes at the far ends,
// each the other's nearest, reached only through the tunnel. The one
// with the smaller address, and only it, is told to open a vlink to the
// other; London and Berlin, neighbours over their tunnel, are not. With
// a physical link in place of the tunnel nobody is.
func TestNearVnodesLink(t *testing.T) {
	cfg := testConfig(t, "10.0.0.0/8", 3, 2, 2, 2)
	at := map[int][2]int32{0: vcities[1], 3: vcities[2], 2: vcities[0], 5: {43_769_600, 11_255_800}}
	run := func(virtual bool) map[int]netip.Addr {
		s := newSim(t, threeIslands([][2]int{{0, 3}}, virtual), cfg, 1)
		settle(t, s, 2*time.Hour)
		for i, p := range at {
			s.WithNode(i, func(n *node.Node, now time.Duration) { n.SetVnode(now, true, p[0], p[1]) })
		}
		settle(t, s, s.Now()+2*time.Hour)
		out := map[int]netip.Addr{}
		for i := 0; i < s.Nodes(); i++ {
			if a, ok := s.Node(i).NearVnodeToLink(); ok {
				out[i] = a
			}
		}
		return out
	}
	got := run(true)
	if len(got) != 1 {
		t.Fatalf("over a tunnel, nodes told to link: %v, want one of Rome and Florence", got)
	}
	for i, a := range got {
		if i != 2 && i != 5 {
			t.Fatalf("node %d told to link to %v", i, a)
		}
	}
	if got := run(false); len(got) != 0 {
		t.Fatalf("with a physical path, nodes told to link: %v", got)
	}
}
