package sim

import (
	"math/rand/v2"
	"net/netip"
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
	return cfg
}

func run(t testing.TB, tp *topo.Topology, cfg node.Config, seed uint64, until time.Duration) *Sim {
	s, err := New(Options{Topology: tp, Node: cfg, Seed: seed, StartSpread: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	s.Run(until)
	return s
}

func check(t *testing.T, s *Sim, groupBits int) {
	t.Helper()
	d := s.Dump()
	if err := d.Validate(); err != nil {
		t.Fatalf("dump: %v", err)
	}
	if r := oracle.CheckDelivery(d); !r.Passed() {
		t.Errorf("delivery: %v", r)
	}
	if r := oracle.CheckAlternatives(d); !r.Passed() {
		t.Errorf("alternatives: %v", r)
	}
	if r := oracle.CheckShortestInsideGroup(d, d.GroupByPrefix(groupBits)); !r.Passed() {
		t.Errorf("shortest inside gnode: %v", r)
	}
}

func TestSmallTopologies(t *testing.T) {
	opt := topo.Options{LatencyMin: time.Millisecond, LatencyMax: 8 * time.Millisecond}
	for _, kind := range []string{"line", "ring", "grid", "random", "diamond"} {
		for seed := uint64(1); seed <= 3; seed++ {
			n := 30
			if kind == "diamond" {
				n = 6
			}
			tp, err := topo.Generate(kind, n, rand.New(rand.NewPCG(seed, 9)), opt)
			if err != nil {
				t.Fatal(err)
			}
			s := run(t, tp, testConfig(t, "10.0.0.0/8"), seed, 120*time.Second)
			t.Run(kind, func(t *testing.T) { check(t, s, 24) })
		}
	}
}
