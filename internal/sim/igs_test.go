package sim

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/ntkd/ntkd/internal/igs"
	"github.com/ntkd/ntkd/internal/node"
	"github.com/ntkd/ntkd/internal/topo"
)

// expectedGateways is what node i must know of the gateways (by node
// index, bandwidth): each other gateway, seen as part of the element of
// the highest level where their positions differ, if it is among the
// wire.MaxGateways best of that element (all of them here).
func expectedGateways(s *Sim, i int, bw map[int]uint32) []string {
	me := s.Node(i).Position()
	levels := len(s.Node(i).Maps().Levels)
	var out []string
	for g, b := range bw {
		if g == i || b == 0 {
			continue
		}
		p := s.Node(g).Position()
		l := levels - 1
		for l >= 0 && p[l] == me[l] {
			l--
		}
		out = append(out, fmt.Sprintf("%v L%d %d", s.Node(g).Addr(), l, b))
	}
	slices.Sort(out)
	return out
}

func knownGateways(n *node.Node) []string {
	var out []string
	for _, g := range n.Gateways(nil) {
		out = append(out, fmt.Sprintf("%v L%d %d", g.Addr, g.Level, g.Bandwidth))
	}
	slices.Sort(out)
	return out
}

// Gateway announcements reach every node across levels, with each
// gateway's full address, and follow a gateway that stops sharing or
// changes its bandwidth; the clients' choice does not move while nothing
// changes.
func TestGatewayAnnouncements(t *testing.T) {
	for seed := uint64(1); seed <= 3; seed++ {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			cfg := testConfig(t, "10.0.0.0/8", 3, 3, 3, 3)
			tp, err := topo.Generate("random", 40, rand.New(rand.NewPCG(seed, 7)), linkOpt)
			if err != nil {
				t.Fatal(err)
			}
			s := newSim(t, tp, cfg, seed)
			settle(t, s, 2000*time.Second)
			bw := map[int]uint32{3: 10000, 17: 50000, 30: 2000}
			for g, b := range bw {
				s.WithNode(g, func(n *node.Node, now time.Duration) { n.SetGateway(now, b) })
			}
			check := func(what string) {
				t.Helper()
				levels := map[int]bool{}
				for i := 0; i < s.Nodes(); i++ {
					want, got := expectedGateways(s, i, bw), knownGateways(s.Node(i))
					if !slices.Equal(want, got) {
						t.Fatalf("%s: node %d (%v) knows gateways %v, want %v", what, i, s.Node(i).Addr(), got, want)
					}
					for _, g := range s.Node(i).Gateways(nil) {
						levels[g.Level] = true
					}
				}
				if what == "announced" && len(levels) < 2 {
					t.Fatalf("every gateway seen at one level %v: the test does not cross gnodes", levels)
				}
			}
			settle(t, s, s.Now()+2000*time.Second)
			check("announced")

			choices := make([][]igs.Choice, s.Nodes())
			for i := range choices {
				choices[i] = igs.Select(s.Node(i).Gateways(nil), nil, 2)
			}
			// Many more rounds (refreshes) with nothing changed: the same
			// candidates and the same choice everywhere.
			s.Run(s.Now() + 30*cfg.WaitRound*time.Duration(cfg.RefreshRounds+1)/10)
			for i := range choices {
				if got := igs.Select(s.Node(i).Gateways(nil), choices[i], 2); !slices.Equal(got, choices[i]) {
					t.Fatalf("node %d: choice moved from %v to %v with nothing changed", i, choices[i], got)
				}
			}

			// Withdraw a gateway that shares its gnode of level 1 with
			// other nodes, and change another's bandwidth.
			gnodeMates := func(g int) []int {
				var out []int
				gp := s.Node(g).Position()
				for i := 0; i < s.Nodes(); i++ {
					if p := s.Node(i).Position(); i != g && slices.Equal(p[1:], gp[1:]) {
						out = append(out, i)
					}
				}
				return out
			}
			gone, changed := -1, -1
			for _, g := range []int{17, 3, 30} {
				if gone < 0 && len(gnodeMates(g)) > 0 {
					gone = g
				} else if changed < 0 {
					changed = g
				}
			}
			if gone < 0 {
				t.Fatalf("every gateway alone in its gnode: the seed does not test a withdrawal")
			}
			// The worst case: a round of the gateway's gnode has just
			// started (a bandwidth change), so an urgent one must wait.
			s.WithNode(gone, func(n *node.Node, now time.Duration) { n.SetGateway(now, bw[gone]+1) })
			s.Run(s.Now() + time.Second)
			bw[gone], bw[changed] = 0, 7000
			for _, g := range []int{gone, changed} {
				s.WithNode(g, func(n *node.Node, now time.Duration) { n.SetGateway(now, bw[g]) })
			}
			// The withdrawal reaches the gateway's own gnode at once, with
			// a tracer, not at the next round.
			s.Run(s.Now() + time.Second)
			for _, i := range gnodeMates(gone) {
				for _, g := range s.Node(i).Gateways(nil) {
					if g.Addr == s.Node(gone).Addr() {
						t.Fatalf("node %d still lists withdrawn gateway %v a second later", i, g.Addr)
					}
				}
			}
			settle(t, s, s.Now()+2000*time.Second)
			check("withdrawn and changed")
		})
	}
}
