package igs

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	"github.com/ntkd/ntkd/internal/node"
)

func gw(a string, level int, bw, cost uint32) node.Gateway {
	return node.Gateway{Addr: netip.MustParseAddr(a), Level: level, Bandwidth: bw, Cost: cost}
}

func addrs(cs []Choice) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Addr.String())
	}
	return out
}

func TestSelectBestPerLevel(t *testing.T) {
	cands := []node.Gateway{
		gw("10.0.0.1", 0, 10000, 1000), // score 5,000,000
		gw("10.0.0.2", 0, 10000, 9000), // 1,000,000
		gw("10.0.0.3", 0, 50000, 4000), // 10,000,000
		gw("10.1.0.9", 1, 1000, 20000),
	}
	got := Select(cands, nil, 2)
	if want := []string{"10.0.0.1", "10.0.0.3", "10.1.0.9"}; !slices.Equal(addrs(got), want) {
		t.Fatalf("chose %v, want %v", addrs(got), want)
	}
	for _, c := range got {
		switch c.Addr.String() {
		case "10.0.0.3":
			if c.Weight != 255 {
				t.Errorf("best gateway weight %d, want 255", c.Weight)
			}
		case "10.0.0.1":
			if c.Weight != 127 {
				t.Errorf("half as good a gateway weight %d, want 127", c.Weight)
			}
		case "10.1.0.9":
			if c.Weight != 1 {
				t.Errorf("far slow gateway weight %d, want 1", c.Weight)
			}
		}
	}
	if Select(cands, nil, 0) != nil || Select(nil, nil, 2) != nil {
		t.Error("nothing to choose from should choose nothing")
	}
}

// Costs that wobble by up to 20 % never move a choice; a gateway that
// goes is replaced at once; a newcomer needs a clear lead.
func TestSelectStable(t *testing.T) {
	base := []node.Gateway{
		gw("10.0.0.1", 0, 10000, 2000),
		gw("10.0.0.2", 0, 10000, 2100),
		gw("10.0.0.3", 0, 10000, 2200),
	}
	first := Select(base, nil, 2)
	if want := []string{"10.0.0.1", "10.0.0.2"}; !slices.Equal(addrs(first), want) {
		t.Fatalf("chose %v, want %v", addrs(first), want)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	prev := first
	for i := 0; i < 1000; i++ {
		c := slices.Clone(base)
		for j := range c {
			c[j].Cost = uint32(float64(c[j].Cost) * (0.9 + 0.2*rng.Float64()))
		}
		rng.Shuffle(len(c), func(a, b int) { c[a], c[b] = c[b], c[a] })
		got := Select(c, prev, 2)
		if !slices.Equal(addrs(got), addrs(first)) {
			t.Fatalf("step %d: wobbling costs moved the choice to %v", i, addrs(got))
		}
		prev = got
	}
	// Without the last choice the same wobble does move it: the test can
	// tell stability from luck.
	moved := false
	for i := 0; i < 1000 && !moved; i++ {
		c := slices.Clone(base)
		for j := range c {
			c[j].Cost = uint32(float64(c[j].Cost) * (0.9 + 0.2*rng.Float64()))
		}
		moved = !slices.Equal(addrs(Select(c, nil, 2)), addrs(first))
	}
	if !moved {
		t.Fatal("the wobble never changes a fresh choice: the test proves nothing")
	}

	gone := []node.Gateway{base[1], base[2]}
	if got := addrs(Select(gone, first, 2)); !slices.Equal(got, []string{"10.0.0.2", "10.0.0.3"}) {
		t.Fatalf("after 10.0.0.1 went: %v", got)
	}
	better := append(slices.Clone(base), gw("10.0.0.4", 0, 20000, 2000))
	if got := addrs(Select(better, first, 2)); !slices.Equal(got, []string{"10.0.0.1", "10.0.0.4"}) {
		t.Fatalf("a gateway twice as fast should take the worst place: %v", got)
	}
	slightly := append(slices.Clone(base), gw("10.0.0.4", 0, 11000, 2000))
	if got := addrs(Select(slightly, first, 2)); !slices.Equal(got, addrs(first)) {
		t.Fatalf("a gateway 10%% better should not move flows: %v", got)
	}
}
