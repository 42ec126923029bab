package sim

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/ntkd/ntkd/internal/addr"
	"github.com/ntkd/ntkd/internal/node"
	"github.com/ntkd/ntkd/internal/oracle"
	"github.com/ntkd/ntkd/internal/topo"
)

func testConfig(t testing.TB, prefix string, bits ...uint8) node.Config {
	p := netip.MustParsePrefix(prefix)
	if bits == nil {
		bits = addr.DefaultBits(p)
	}
	s, err := addr.NewScheme(p, bits)
	if err != nil {
		t.Fatal(err)
	}
	cfg := node.DefaultConfig(s)
	cfg.WaitRound = 10 * time.Second
	cfg.RoundSettle = 5 * time.Second
	return cfg
}

var linkOpt = topo.Options{LatencyMin: time.Millisecond, LatencyMax: 8 * time.Millisecond}

func newSim(t testing.TB, tp *topo.Topology, cfg node.Config, seed uint64) *Sim {
	t.Helper()
	s, err := New(Options{Topology: tp, Node: cfg, Seed: seed, StartSpread: time.Duration(tp.Nodes) * 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// convergedSim is a simulation of a generated topology (its RNG seeded
// with s1, s2) with 4 bits per level, run until quiet and checked.
func convergedSim(t *testing.T, kind string, nodes int, s1, s2, seed uint64) (*Sim, node.Config) {
	t.Helper()
	cfg := testConfig(t, "10.0.0.0/8", 4, 4, 4, 4)
	tp, err := topo.Generate(kind, nodes, rand.New(rand.NewPCG(s1, s2)), linkOpt)
	if err != nil {
		t.Fatal(err)
	}
	s := newSim(t, tp, cfg, seed)
	settle(t, s, 600*time.Second)
	checkAll(t, s, "before")
	return s, cfg
}

func settle(t *testing.T, s *Sim, limit time.Duration) {
	t.Helper()
	if !s.RunUntilQuiet(30*time.Second, limit) {
		t.Fatalf("no quiet period before %v (last route change %v)", limit, s.LastChange)
	}
}

// checkAll runs the oracle on every connected part of the network: every
// pair delivers hop by hop without loops, alternatives are loop-free (also
// in every combination, as the kernel hashes flows at each hop), and
// inside each level-1 gnode the best route costs exactly the shortest path.
func checkAll(t *testing.T, s *Sim, what string) {
	t.Helper()
	for _, d := range s.Components() {
		if len(d.Nodes) < 2 {
			continue
		}
		if err := d.Validate(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		for _, r := range []oracle.Report{
			oracle.CheckDelivery(d),
			oracle.CheckAlternatives(d),
			oracle.CheckMultipath(d),
			oracle.CheckShortestInsideGroup(d, d.GroupByPrefix(gnodeBits(s))),
		} {
			if !r.Passed() {
				t.Errorf("%s (%d nodes): %v", what, len(d.Nodes), r)
			}
		}
		if k := oracle.KernelRoutes(d); k.Max > maxKernelRoutes(s) {
			t.Errorf("%s: a node has %d kernel routes, more than %d", what, k.Max, maxKernelRoutes(s))
		}
	}
}

// checkRounds: after a quiet period all nodes of one gnode of level l+1
// are in the same QSPN round of level l, settled (seed 001 §5.1.4).
func checkRounds(t *testing.T, s *Sim) {
	t.Helper()
	sc := s.opt.Node.Scheme
	for l := 0; l < sc.Levels(); l++ {
		rounds := map[string]uint32{}
		for i := 0; i < s.Nodes(); i++ {
			n := s.Node(i)
			if n == nil || n.State() != node.Hooked {
				continue
			}
			info := n.Level(l)
			if !info.Settled {
				t.Errorf("node %d: level %d not settled after a quiet period", i, l)
			}
			p := n.Position()
			key := fmt.Sprint(p[l+1 : sc.Levels()])
			if r, ok := rounds[key]; ok && r != info.Round {
				t.Errorf("level %d: gnode %s has nodes in rounds %d and %d", l, key, r, info.Round)
			}
			rounds[key] = info.Round
		}
	}
}

func gnodeBits(s *Sim) int {
	sc := s.opt.Node.Scheme
	return sc.Prefix().Addr().BitLen() - sc.Bits(0)
}

// maxKernelRoutes is one route per slot of every level: 768 for IPv4.
func maxKernelRoutes(s *Sim) int {
	sc := s.opt.Node.Scheme
	n := 0
	for l := 0; l < sc.Levels(); l++ {
		n += sc.Size(l)
	}
	return n
}

func TestConvergesOnEveryGenerator(t *testing.T) {
	for _, kind := range topo.Kinds() {
		for seed := uint64(1); seed <= 4; seed++ {
			n := 40
			if kind == "diamond" {
				n = 6
			}
			tp, err := topo.Generate(kind, n, rand.New(rand.NewPCG(seed, 9)), linkOpt)
			if err != nil {
				t.Fatal(err)
			}
			s := newSim(t, tp, testConfig(t, "10.0.0.0/8"), seed)
			t.Run(fmt.Sprintf("%s/seed%d", kind, seed), func(t *testing.T) {
				settle(t, s, 10*time.Minute)
				checkAll(t, s, "converged")
				checkRounds(t, s)
			})
		}
	}
}

// Three bits per level: six usable node ids per gnode, so gnodes fill up,
// newcomers create gnodes at level 1 and 2, and routes need every level.
func TestSmallGnodesUseEveryLevel(t *testing.T) {
	for seed := uint64(1); seed <= 3; seed++ {
		tp, err := topo.Generate("random", 150, rand.New(rand.NewPCG(seed, 5)), linkOpt)
		if err != nil {
			t.Fatal(err)
		}
		s := newSim(t, tp, testConfig(t, "10.0.0.0/8", 3, 3, 3, 3), seed)
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			settle(t, s, 20*time.Minute)
			rep := s.Report("random", 0, true)
			if rep.GnodesPerLevel[0] < 25 || rep.GnodesPerLevel[1] < 4 {
				t.Errorf("150 nodes in 6-node gnodes: gnodes per level %v", rep.GnodesPerLevel)
			}
			checkAll(t, s, "converged")
		})
	}
}

func TestIPv6(t *testing.T) {
	tp, err := topo.Generate("grid", 49, rand.New(rand.NewPCG(2, 2)), linkOpt)
	if err != nil {
		t.Fatal(err)
	}
	s := newSim(t, tp, testConfig(t, "fd00::/8"), 2)
	settle(t, s, 10*time.Minute)
	checkAll(t, s, "ipv6")
}

// Every kind of failure and repair, each followed by convergence (no route
// change for a while and no round pending) and the oracle on every
// connected part.
func TestFailuresAndMerges(t *testing.T) {
	tp, err := topo.Generate("random", 60, rand.New(rand.NewPCG(11, 3)), linkOpt)
	if err != nil {
		t.Fatal(err)
	}
	l := tp.Links[len(tp.Links)/2]
	l2 := tp.Links[len(tp.Links)/3]
	steps := []string{
		fmt.Sprintf("cut %d %d", l.A, l.B), // silent failure
		fmt.Sprintf("restore %d %d", l.A, l.B),
		fmt.Sprintf("down %d %d", l2.A, l2.B), // carrier loss
		fmt.Sprintf("restore %d %d", l2.A, l2.B),
		"kill 7",
		"start 7",
		"partition 0-29",
		"merge",
	}
	s := newSim(t, tp, testConfig(t, "10.0.0.0/8"), 11)
	settle(t, s, 20*time.Minute)
	checkAll(t, s, "converged")
	for _, step := range steps {
		at := s.Now() + time.Second
		parsed, err := ParseScript("failures", strings.NewReader(fmt.Sprintf("%v %s", at, step)))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Schedule(parsed); err != nil {
			t.Fatal(err)
		}
		settle(t, s, s.Now()+30*time.Minute)
		checkAll(t, s, "after "+step)
	}
}

func TestDeterministic(t *testing.T) {
	run := func() string {
		tp, _ := topo.Generate("random", 50, rand.New(rand.NewPCG(4, 4)), linkOpt)
		s := newSim(t, tp, testConfig(t, "10.0.0.0/8"), 4)
		s.Run(90 * time.Second)
		var b strings.Builder
		for i := 0; i < s.Nodes(); i++ {
			if n := s.Node(i); n != nil {
				fmt.Fprintln(&b, n.Addr(), len(n.Routes(nil)))
			}
		}
		fmt.Fprintln(&b, s.C.Events, s.C.Packets)
		return b.String()
	}
	if a, b := run(), run(); a != b {
		t.Fatal("two runs with the same seed differ")
	}
}

func TestScriptErrors(t *testing.T) {
	for _, bad := range []string{"x cut 1 2", "10s", "10s explode 1", "10s cut 1", "10s kill -1", "10s partition 5-1"} {
		if _, err := ParseScript("s", strings.NewReader(bad)); err == nil || !strings.Contains(err.Error(), "s:1:") {
			t.Errorf("%q: %v", bad, err)
		}
	}
	tp, _ := topo.Generate("line", 3, rand.New(rand.NewPCG(1, 1)), linkOpt)
	s := newSim(t, tp, testConfig(t, "10.0.0.0/8"), 1)
	steps, _ := ParseScript("s", strings.NewReader("1s cut 0 2"))
	if err := s.Schedule(steps); err == nil {
		t.Error("a cut of a link that does not exist was accepted")
	}
}
