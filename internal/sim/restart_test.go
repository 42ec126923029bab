package sim

import (
	"fmt"
	"testing"
	"time"

	"github.com/ntkd/ntkd/internal/node"
	"github.com/ntkd/ntkd/internal/oracle"
)

// TestRestartRejoins: a node that restarts with fresh state (new nonce,
// broadcast ids from zero, as a daemon restart is), at once or after its
// neighbours have noticed it is gone, is not taken for a collision loser
// nor are its floods dropped as old: every pair delivers again within a
// couple of rounds, and the rest of the mesh keeps its routes meanwhile.
func TestRestartRejoins(t *testing.T) {
	s, cfg := convergedSim(t, "random", 16, 3, 9, 3)
	for _, c := range []struct {
		node int
		down time.Duration
	}{{3, 500 * time.Millisecond}, {7, 2 * time.Second}, {11, 30 * time.Second}, {3, 0}} {
		what := fmt.Sprintf("node %d restarted after %v", c.node, c.down)
		s.Kill(c.node)
		s.Run(s.Now() + c.down)
		if err := s.Restart(c.node); err != nil {
			t.Fatal(err)
		}
		// Every pair delivers again within two wait rounds.
		start := s.Now()
		for n := s.Node(c.node); n == nil || n.State() != node.Hooked || !delivers(s, s.Nodes()); n = s.Node(c.node) {
			if s.Now()-start > 2*cfg.WaitRound {
				t.Fatalf("%s: pairs still fail %v later", what, s.Now()-start)
			}
			s.Run(s.Now() + 100*time.Millisecond)
		}
		t.Logf("%s: every pair delivers %v after the restart", what, s.Now()-start)
		if !s.RunUntilQuiet(10*time.Second, s.Now()+5*time.Minute) {
			t.Fatalf("%s: no quiet period", what)
		}
		checkAll(t, s, what)
		if t.Failed() {
			return
		}
	}
}

// delivers says whether the nodes are all in one connected part, every
// pair of which delivers.
func delivers(s *Sim, nodes int) bool {
	parts := s.Components()
	return len(parts) == 1 && len(parts[0].Nodes) == nodes && oracle.CheckDelivery(parts[0]).Passed()
}
