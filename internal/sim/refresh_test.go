package sim

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/ntkd/ntkd/internal/topo"
)

// TestRefreshHealsQuietSplit: in this collision-heavy run (3 bits per
// level) two routers end up as a part of a top-level gnode that reaches the
// rest only through another gnode, holding the addresses of two routers of
// the other part, after the last round: a quiet network never floods again,
// so nothing would show it. The refresh round (RefreshRounds) does, and the
// split part re-hooks.
func TestRefreshHealsQuietSplit(t *testing.T) {
	cfg := testConfig(t, "10.0.0.0/8", 3, 3, 3, 3)
	tp, err := topo.Generate("islands", 120, rand.New(rand.NewPCG(1, 0x746f706f)),
		topo.Options{Latency: time.Millisecond, LatencyMin: time.Millisecond, LatencyMax: 8 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	s := newSim(t, tp, cfg, 1)
	s.Run(200 * time.Second)
	if err := s.Dump().Validate(); err != nil {
		t.Logf("before any refresh round: %v", err) // the case this test is about
	} else {
		t.Logf("before any refresh round: no duplicate address; the run no longer reaches the quiet split")
	}
	settle(t, s, 1200*time.Second)
	s.Run(s.Now() + time.Duration(cfg.RefreshRounds+1)*cfg.WaitRound)
	if err := s.Dump().Validate(); err != nil {
		t.Fatalf("after the refresh rounds: %v", err)
	}
	settle(t, s, s.Now()+600*time.Second)
	checkAll(t, s, "after the refresh rounds")
}
