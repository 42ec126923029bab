package sim

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/ntkd/ntkd/internal/node"
	"github.com/ntkd/ntkd/internal/topo"
)

func startAll(t *testing.T, tp *topo.Topology, cfg node.Config, seed uint64, spread time.Duration) *Sim {
	t.Helper()
	s, err := New(Options{Topology: tp, Node: cfg, Seed: seed, StartSpread: spread})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Routers that start hooking at the same moment must not each create a
// gnode: the lowest hooking nonce of the whole group (passed hop by hop in
// the echoes) creates it and the others join.
func TestSimultaneousHookMakesOneGnode(t *testing.T) {
	for seed := uint64(1); seed <= 10; seed++ {
		tp, _ := topo.Generate("grid", 9, rand.New(rand.NewPCG(seed, 1)), linkOpt)
		s := startAll(t, tp, testConfig(t, "10.0.0.0/8"), seed, 0)
		settle(t, s, 10*time.Minute)
		created := 0
		for _, l := range tp.Links {
			if s.Node(l.A).Stats.Created > 0 && s.Node(l.B).Stats.Created > 0 {
				t.Fatalf("seed %d: neighbours %d and %d both created a gnode", seed, l.A, l.B)
			}
		}
		for i := 0; i < s.Nodes(); i++ {
			created += int(s.Node(i).Stats.Created)
		}
		if created != 1 {
			t.Fatalf("seed %d: %d gnodes created by 9 nodes of a 3x3 grid hooking at once", seed, created)
		}
		checkAll(t, s, "simultaneous hook")
	}
	// Two nodes alone together: exactly one gnode.
	tp, _ := topo.Generate("line", 2, rand.New(rand.NewPCG(1, 1)), linkOpt)
	for seed := uint64(1); seed <= 10; seed++ {
		s := startAll(t, tp, testConfig(t, "10.0.0.0/8"), seed, 0)
		settle(t, s, 10*time.Minute)
		if !s.opt.Node.Scheme.SameGnode(s.Node(0).Position(), s.Node(1).Position(), 1) {
			t.Fatalf("seed %d: two nodes hooking at once made two gnodes", seed)
		}
	}
}

// Two usable ids per gnode (2 bits at level 0): the third node of a line
// finds its rnode's gnode full and creates a new gnode of level 1 inside
// the rnode's gnode of level 2.
func TestFullGnodeMakesNewGnodeAbove(t *testing.T) {
	tp, _ := topo.Generate("line", 3, rand.New(rand.NewPCG(1, 1)), linkOpt)
	cfg := testConfig(t, "10.0.0.0/8", 2, 8, 8)
	s, err := New(Options{Topology: tp, Node: cfg, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	// Start the line in order, one node every 10 s.
	s.queue = s.queue[:0]
	for i := 0; i < 3; i++ {
		i := i
		s.At(time.Duration(i)*10*time.Second, func() { s.nodes[i].alive = false; s.Restart(i) })
	}
	settle(t, s, 10*time.Minute)
	sc := cfg.Scheme
	a, b, c := s.Node(0).Position(), s.Node(1).Position(), s.Node(2).Position()
	if !sc.SameGnode(a, b, 1) {
		t.Fatalf("node 1 did not join node 0's gnode: %v %v", s.Node(0).Addr(), s.Node(1).Addr())
	}
	if sc.SameGnode(c, b, 1) || !sc.SameGnode(c, b, 2) {
		t.Fatalf("node 2 should be in a new gnode of level 1 inside node 1's gnode of level 2: %v %v", s.Node(1).Addr(), s.Node(2).Addr())
	}
	checkAll(t, s, "full gnode")
}

// Two networks grown apart with two bits per level (so their gnode ids
// collide) meet through several links at the same moment: they converge on
// one routing, every node ends with a distinct address, and the addresses
// stop changing (no flapping).
func TestMergeWithCollisionsConverges(t *testing.T) {
	for seed := uint64(1); seed <= 4; seed++ {
		tp, err := topo.Generate("islands", 40, rand.New(rand.NewPCG(seed, 2)), topo.Options{LatencyMin: time.Millisecond, LatencyMax: 8 * time.Millisecond, Islands: 2, Bridges: 3})
		if err != nil {
			t.Fatal(err)
		}
		cfg := testConfig(t, "10.0.0.0/8", 3, 2, 2, 2)
		s := startAll(t, tp, cfg, seed, 5*time.Second)
		steps, _ := ParseScript("merge", strings.NewReader("0s partition 0-19\n600s merge\n"))
		if err := s.Schedule(steps); err != nil {
			t.Fatal(err)
		}
		s.Run(590 * time.Second)
		checkAll(t, s, "apart")
		s.Run(610 * time.Second)
		if !s.RunUntilQuiet(60*time.Second, 2*time.Hour) {
			t.Fatalf("seed %d: no quiet period after the merge", seed)
		}
		checkAll(t, s, "merged")
		addrs := map[int]string{}
		for i := 0; i < s.Nodes(); i++ {
			addrs[i] = s.Node(i).Addr().String()
		}
		s.Run(s.Now() + 10*time.Minute)
		for i := 0; i < s.Nodes(); i++ {
			if got := s.Node(i).Addr().String(); got != addrs[i] {
				t.Fatalf("seed %d: node %d moved from %s to %s after the network went quiet", seed, i, addrs[i], got)
			}
		}
	}
}
