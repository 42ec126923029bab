package sim

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ntkd/ntkd/internal/addr"
	"github.com/ntkd/ntkd/internal/node"

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

// Floods cross a vnode from one tunnel to the next (seed 002: the vnode H
// anchored on one side, "( group of vnodes ) --- H --- AN ---- ( rest of
// the virtual layer )", joins the two; seed 000 §3's "only inside the
// gnode" is the flood's own gnode). Island B with one gate holding both
// tunnels (3 to A, 3 to C) joins A and C to each other, as it does with a
// gate for each tunnel (3 to A, 5 to C) and with ordinary links.
func TestTunnelTransit(t *testing.T) {
	cfg := testConfig(t, "10.0.0.0/8", 3, 2, 2, 2)
	for _, c := range []struct {
		name    string
		tunnels [][2]int
		virtual bool
	}{
		{"one gate, two tunnels", [][2]int{{2, 3}, {3, 6}}, true},
		{"two gates", [][2]int{{2, 3}, {5, 6}}, true},
		{"one gate, physical links", [][2]int{{2, 3}, {3, 6}}, false},
	} {
		s := newSim(t, threeIslands(c.tunnels, c.virtual), cfg, 1)
		settle(t, s, 2*time.Hour)
		d := s.Dump()
		if err := d.Validate(); err != nil {
			t.Fatal(err)
		}
		if r := oracle.CheckDelivery(d); !r.Passed() {
			t.Fatalf("%s: %v", c.name, r)
		}
		checkAll(t, s, c.name)
	}
}

// Islands on a virtual Internet (seed 000 §5): two islands grow apart, each
// from the same first address, so their gnode ids collide at every level.
// Then the tunnel between their gates comes up: the collisions are settled
// (some nodes take new addresses), every node ends with its own address,
// traffic between the islands crosses the tunnel, and nothing moves once
// the network is quiet.
func TestIslandsJoinThroughTunnelWithCollidingIDs(t *testing.T) {
	for seed := uint64(1); seed <= 10; seed++ {
		joinIslands(t, seed, [][2]int{{0, 6}}, -1)
	}
}

// Seed 004: the same two islands connect through two pairs of gates at the
// same instant (tunnels 0-6 and 3-9 come up together). Both ends of both
// tunnels see the collision at once, and every node decides the same way:
// one island keeps every address, the other is renumbered once, nothing
// oscillates, and traffic crosses.
func TestSimultaneousJoinsOneOutcome(t *testing.T) {
	for seed := uint64(1); seed <= 10; seed++ {
		joinIslands(t, seed, [][2]int{{0, 6}, {3, 9}}, -1)
	}
}

// Seed 000 §5.ii and §6.v: the newcomer re-addresses and the stable group
// stays. One island was founded three days after the other; whichever of
// them, and through one tunnel or two at once, every node of the younger
// island takes a new address and the older keeps all of its own.
func TestYoungerIslandReaddresses(t *testing.T) {
	for seed := uint64(1); seed <= 8; seed++ {
		tunnels := [][2]int{{0, 6}}
		if seed%2 == 0 {
			tunnels = append(tunnels, [2]int{3, 9})
		}
		joinIslands(t, seed, tunnels, int(seed/2%2))
	}
}

// joinIslands grows two rings of six apart from the same first address
// (nodes 0-5 and 6-11), brings the tunnels up at 300 s, all at once, and
// checks the outcome. younger (0 or 1) is an island founded three days
// after the other, which must be the one renumbered; -1: the same day.
func joinIslands(t *testing.T, seed uint64, tunnels [][2]int, younger int) {
	t.Helper()
	tp := &topo.Topology{Name: "two islands", Nodes: 12}
	for _, base := range []int{0, 6} {
		// A ring of six: a gnode with more than one path inside.
		for i := range 6 {
			a, b := base+i, base+(i+1)%6
			tp.Links = append(tp.Links, topo.Link{A: min(a, b), B: max(a, b), Latency: 2 * time.Millisecond})
		}
	}
	for _, l := range tunnels {
		tp.Links = append(tp.Links, topo.Link{A: l[0], B: l[1], Latency: 25 * time.Millisecond, Virtual: true})
	}
	cfg := testConfig(t, "10.0.0.0/8", 3, 2, 2, 2)
	cfg.First, cfg.HasFirst = addr.Position{5, 1, 2, 1}, true
	firstAddr, err := cfg.Scheme.Addr(cfg.First)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{Topology: tp, Node: cfg, Seed: seed, StartSpread: time.Duration(tp.Nodes) * 50 * time.Millisecond,
		WallStart: func(i int) int64 {
			if i/6 == younger {
				return DefaultWallStart + 3*86400
			}
			return DefaultWallStart
		}})
	if err != nil {
		t.Fatal(err)
	}
	steps, _ := ParseScript("islands", strings.NewReader("0s partition 0-5\n300s merge\n"))
	if err := s.Schedule(steps); err != nil {
		t.Fatal(err)
	}
	s.Run(290 * time.Second)
	checkAll(t, s, "apart")
	// Each island was started by one node that took the first address.
	for _, base := range []int{0, 6} {
		found := false
		for i := base; i < base+6; i++ {
			found = found || s.Node(i).Addr() == firstAddr
		}
		if !found {
			t.Fatalf("seed %d: no node of the island at %d took the first address", seed, base)
		}
	}
	before := make([]netip.Addr, s.Nodes())
	for i := range before {
		before[i] = s.Node(i).Addr()
	}
	s.Run(310 * time.Second)
	if !s.RunUntilQuiet(60*time.Second, 2*time.Hour) {
		t.Fatalf("seed %d: no quiet period after the tunnel came up", seed)
	}
	checkAll(t, s, "joined")
	d := s.Dump()
	if r := oracle.CheckDelivery(d); !r.Passed() {
		t.Fatalf("seed %d: joined islands do not deliver: %v", seed, r)
	}
	seen := map[netip.Addr]int{}
	rehooks := uint64(0)
	for i := range s.Nodes() {
		a := s.Node(i).Addr()
		if j, dup := seen[a]; dup {
			t.Fatalf("seed %d: nodes %d and %d both hold %v", seed, j, i, a)
		}
		seen[a] = i
		rehooks += s.Node(i).Stats.Rehooks
	}
	if rehooks == 0 {
		t.Fatalf("seed %d: the colliding islands joined without anyone taking a new address", seed)
	}
	// One island keeps every address, the other takes new ones (seed
	// 000 §5.ii: the colliding gnode re-addresses as a whole).
	kept := [2]int{}
	for i := range s.Nodes() {
		if s.Node(i).Addr() == before[i] {
			kept[i/6]++
		}
	}
	want := [2]int{6, 6}
	if younger >= 0 {
		want[younger] = 0
	}
	if !(kept == [2]int{6, 0} || kept == [2]int{0, 6}) || (younger >= 0 && kept != want) {
		for i := range s.Nodes() {
			t.Logf("%d %v", i, s.Node(i).Stats.RehookWhy)
		}
		t.Fatalf("seed %d: addresses kept per island %v, want one island whole and the other renumbered, %v if not the same (before %v, now %v at %v)", seed, kept, want, before, s.Dump().Nodes, s.Now())
	}
	addrs := map[int]netip.Addr{}
	for i := range s.Nodes() {
		addrs[i] = s.Node(i).Addr()
	}
	s.Run(s.Now() + 10*time.Minute)
	for i := range s.Nodes() {
		if got := s.Node(i).Addr(); got != addrs[i] {
			t.Fatalf("seed %d: node %d moved from %v to %v after the network went quiet", seed, i, addrs[i], got)
		}
	}
}

// Seed 002, "Removal of virtual links": two islands joined by a tunnel
// (0-4) get a physical link (2-6). Once routes over it exist the tunnel is
// redundant and goes (node.TunnelUpkeep, the code the daemon runs); the
// islands still deliver over the physical link. When that link fails the
// tunnel comes back and they deliver over it again.
func TestTunnelShedWhenPhysicalLinkAppears(t *testing.T) {
	for seed := uint64(1); seed <= 10; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) { tunnelShed(t, seed) })
	}
}

func tunnelShed(t *testing.T, seed uint64) {
	tp := &topo.Topology{Name: "two islands, a tunnel and a late link", Nodes: 8}
	for _, base := range []int{0, 4} {
		for i := range 4 {
			a, b := base+i, base+(i+1)%4
			tp.Links = append(tp.Links, topo.Link{A: min(a, b), B: max(a, b), Latency: 2 * time.Millisecond})
		}
	}
	tp.Links = append(tp.Links,
		topo.Link{A: 0, B: 4, Latency: 25 * time.Millisecond, Virtual: true},
		topo.Link{A: 2, B: 6, Latency: 2 * time.Millisecond})
	// Islands from the same first address: the one that re-addresses takes
	// a top-level gnode of its own, so each island is one gnode, as in the
	// lab. (A gnode held together only by the tunnel keeps it: its
	// members reach each other physically only through another gnode,
	// which routes inside a gnode never do, so PhysicalRoute says no.)
	cfg := testConfig(t, "10.0.0.0/8")
	cfg.First, cfg.HasFirst = addr.Position{1, 1, 1}, true
	s := newSim(t, tp, cfg, seed)
	tunnel, physical := s.findLink(0, 4), s.findLink(2, 6)
	s.SetLinkCarrier(physical, false)

	upkeep := make([]node.TunnelUpkeep, s.Nodes())
	// step runs the simulation for d, with every node's upkeep every 5 s;
	// it returns when the tunnel last went down or came back.
	var shed, back time.Duration
	step := func(d time.Duration) {
		for end := s.Now() + d; s.Now() < end; {
			s.Run(s.Now() + 5*time.Second)
			for i := range s.Nodes() {
				act := upkeep[i].Step(s.Node(i))
				for _, iface := range act.Shed {
					if li := s.nodes[i].ports[iface].link; li != tunnel {
						t.Fatalf("node %d sheds link %d, not the tunnel", i, li)
					}
					if s.links[tunnel].up {
						s.SetLinkCarrier(tunnel, false)
						shed = s.Now()
					}
				}
				for range act.Restore {
					if !s.links[tunnel].up {
						s.SetLinkCarrier(tunnel, true)
						back = s.Now()
					}
				}
			}
		}
	}
	delivers := func(what string) {
		t.Helper()
		if !s.RunUntilQuiet(30*time.Second, s.Now()+time.Hour) {
			t.Fatalf("%s: no quiet period", what)
		}
		checkAll(t, s, what)
		if r := oracle.CheckDelivery(s.Dump()); !r.Passed() {
			t.Fatalf("%s: %v", what, r)
		}
	}

	step(120 * time.Second)
	delivers("joined by the tunnel")
	step(60 * time.Second)
	if shed != 0 || !s.links[tunnel].up {
		t.Fatalf("the tunnel went at %v with no physical path between the islands", shed)
	}

	s.SetLinkCarrier(physical, true)
	linked := s.Now()
	step(120 * time.Second)
	if s.links[tunnel].up {
		t.Fatal("the tunnel stayed up 120 s after a physical link joined the islands")
	}
	t.Logf("tunnel shed %v after the physical link came up", shed-linked)
	delivers("joined by the physical link")

	s.SetLinkCarrier(physical, false)
	cut := s.Now()
	step(120 * time.Second)
	if !s.links[tunnel].up {
		t.Fatal("the tunnel did not come back when the physical link went")
	}
	t.Logf("tunnel back %v after the physical link went", back-cut)
	delivers("joined by the tunnel again")
	step(60 * time.Second)
	if !s.links[tunnel].up || back < cut {
		t.Fatal("the tunnel flapped with no physical path")
	}
}

// Seed 000 §4: a tunnel over which nobody answers any more (here the
// Internet path between the gates breaks) is found dead and torn down at
// both ends, made again after a wait that doubles while it stays dead, and
// carries the islands' traffic again once the path is back.
func TestDeadTunnelTornDownAndRetried(t *testing.T) {
	tp := &topo.Topology{Name: "two islands and a tunnel", Nodes: 6}
	for _, l := range [][2]int{{0, 1}, {1, 2}, {3, 4}, {4, 5}} {
		tp.Links = append(tp.Links, topo.Link{A: l[0], B: l[1], Latency: 2 * time.Millisecond})
	}
	tp.Links = append(tp.Links, topo.Link{A: 0, B: 3, Latency: 25 * time.Millisecond, Virtual: true})
	s := newSim(t, tp, testConfig(t, "10.0.0.0/8"), 1)
	tunnel := s.findLink(0, 3)
	upkeep := []node.TunnelUpkeep{{DeadSteps: 4, MaxRetrySteps: 16}, {}, {}, {DeadSteps: 4, MaxRetrySteps: 16}}
	broken, torn := false, false
	var deaths, retries []time.Duration
	step := func(d time.Duration) {
		for end := s.Now() + d; s.Now() < end; {
			s.Run(s.Now() + 5*time.Second)
			for _, i := range []int{0, 3} {
				act := upkeep[i].Step(s.Node(i))
				if len(act.Shed)+len(act.Restore) > 0 {
					t.Fatalf("node %d sheds or restores %+v with no physical path", i, act)
				}
				// Either end tearing its device down takes the link down.
				if len(act.Dead) > 0 && !torn {
					s.SetLinkCarrier(tunnel, false)
					torn = true
					deaths = append(deaths, s.Now())
				}
				if len(act.Retry) > 0 && torn {
					s.SetLinkCarrier(tunnel, true)
					s.SetLink(tunnel, !broken)
					torn = false
					retries = append(retries, s.Now())
				}
			}
		}
	}
	step(120 * time.Second)
	if len(deaths) > 0 {
		t.Fatalf("a working tunnel died at %v", deaths)
	}
	if r := oracle.CheckDelivery(s.Dump()); !r.Passed() {
		t.Fatalf("joined: %v", r)
	}

	s.SetLink(tunnel, false) // silent: the carrier stays, nothing crosses
	broken = true
	cut := s.Now()
	step(300 * time.Second)
	if len(deaths) < 3 || len(retries) < 2 {
		t.Fatalf("broken tunnel: deaths %v, retries %v (cut at %v)", deaths, retries, cut)
	}
	if first := deaths[0] - cut; first > 40*time.Second {
		t.Fatalf("the dead tunnel was found %v after the cut, want within 4 steps of the neighbour's death", first)
	}
	// The wait before each retry doubles, 4, 8, 16 steps, and stays at
	// MaxRetrySteps.
	for k := 1; k < len(retries); k++ {
		gap, prev := retries[k]-deaths[k], retries[k-1]-deaths[k-1]
		if gap < prev || k == 1 && gap <= prev || gap > 16*5*time.Second {
			t.Fatalf("retry waits %v then %v: not doubling up to 80 s (deaths %v, retries %v)", prev, gap, deaths, retries)
		}
	}

	broken = false
	healed := s.Now()
	step(200 * time.Second)
	if torn || !s.RunUntilQuiet(30*time.Second, s.Now()+time.Hour) {
		t.Fatalf("the tunnel is not back %v after the path healed (retries %v)", s.Now()-healed, retries)
	}
	checkAll(t, s, "healed")
	if r := oracle.CheckDelivery(s.Dump()); !r.Passed() {
		t.Fatalf("healed: %v", r)
	}
}
