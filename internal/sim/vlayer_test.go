package sim

import (
	"testing"
	"time"

	"github.com/ntkd/ntkd/internal/oracle"
	"github.com/ntkd/ntkd/internal/topo"
)

// threeIslands is three lines of three nodes (A: 0-1-2, B: 3-4-5,
// C: 6-7-8) joined only by the tunnels given.
func threeIslands(tunnels [][2]int, virtual bool) *topo.Topology {
	tp := &topo.Topology{Name: "three islands", Nodes: 9}
	for _, l := range [][2]int{{0, 1}, {1, 2}, {3, 4}, {4, 5}, {6, 7}, {7, 8}} {
		tp.Links = append(tp.Links, topo.Link{A: l[0], B: l[1], Latency: 2 * time.Millisecond})
	}
	for _, l := range tunnels {
		tp.Links = append(tp.Links, topo.Link{A: l[0], B: l[1], Latency: 20 * time.Millisecond, Virtual: virtual})
	}
	return tp
}

func island(i int) int { return i / 3 }

// The forwarding rule of seed 000 §3: a node passes what came over a
// tunnel only inside, never into its other tunnels. Island B with one gate
// holding both tunnels (3 to A, 3 to C) joins A and C to itself but not to
// each other; with a gate for each tunnel (3 to A, 5 to C) it carries them.
// The same single-gate topology with ordinary links carries everything, so
// it is the rule, not the topology, that parts A from C.
func TestVirtualForwardingRule(t *testing.T) {
	cfg := testConfig(t, "10.0.0.0/8", 3, 2, 2, 2)
	run := func(tunnels [][2]int, virtual bool) (*Sim, oracle.Report) {
		s := newSim(t, threeIslands(tunnels, virtual), cfg, 1)
		settle(t, s, 2*time.Hour)
		d := s.Dump()
		if err := d.Validate(); err != nil {
			t.Fatal(err)
		}
		return s, oracle.CheckDelivery(d)
	}

	s, r := run([][2]int{{2, 3}, {5, 6}}, true)
	if !r.Passed() {
		t.Fatalf("two gates: %v", r)
	}
	checkAll(t, s, "two gates")

	_, r = run([][2]int{{2, 3}, {3, 6}}, false)
	if !r.Passed() {
		t.Fatalf("one gate, physical links: %v", r)
	}

	s, r = run([][2]int{{2, 3}, {3, 6}}, true)
	if r.Passed() {
		t.Fatal("one gate holding both tunnels carried A to C")
	}
	for _, f := range r.Examples {
		a, b := island(f.Src), island(f.Dst)
		if !(a == 0 && b == 2 || a == 2 && b == 0) {
			t.Errorf("a pair outside A-C failed: %+v", f)
		}
	}
	if r.Failed != 2*3*3 {
		t.Errorf("%d pairs failed, want the 18 between A and C", r.Failed)
	}
	if s.Node(3).Stats.TunnelHeld == 0 {
		t.Error("the gate counted no broadcast held back from a tunnel")
	}
}
