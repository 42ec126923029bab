package sim

import (
	"testing"
	"time"

	"github.com/ntkd/ntkd/internal/andna"
)

// TestANDNARecordsSurviveHolderRestart: every node of a name's hash gnode
// restarts with empty memory (a reboot, all at once). Resolutions of the
// name still find it: the hash gnode, new for the name, takes the record
// over from a backup gnode before it answers (seed 001 §7.1.6), and keeps
// it from then on.
func TestANDNARecordsSurviveHolderRestart(t *testing.T) {
	const n = 60
	s := andnaSim(t, n, 5)
	for i := range n {
		s.WithANDNA(i, func(e *andna.Engine, now time.Duration) {
			if err := e.Register(now, nameOf(i)); err != nil {
				t.Fatal(err)
			}
		})
	}
	s.Run(s.Now() + 60*time.Second)
	const owner = 11
	victim := nameOf(owner)
	h := andna.NameHash(victim)
	holders := func() (hash, backup []int) {
		for i := range n {
			nd := s.Node(i)
			if nd == nil || nd.ANDNA() == nil {
				continue
			}
			for _, rec := range nd.ANDNA().Records() {
				if rec.Hash == h && rec.Backup {
					backup = append(backup, i)
				} else if rec.Hash == h {
					hash = append(hash, i)
				}
			}
		}
		return hash, backup
	}
	hash, backup := holders()
	hash = withoutNode(hash, owner)
	if len(hash) == 0 || len(backup) == 0 {
		t.Fatalf("%s kept by hash gnode nodes %v and backup nodes %v: want both", victim, hash, backup)
	}
	for _, i := range hash {
		s.Kill(i)
	}
	s.Run(s.Now() + 5*time.Second)
	for _, i := range hash {
		if err := s.Restart(i); err != nil {
			t.Fatal(err)
		}
	}
	settle(t, s, s.Now()+2000*time.Second)
	if again, _ := holders(); len(withoutNode(again, owner)) > 0 {
		t.Fatalf("restarted with empty memory, yet %v hold %s", again, victim)
	}
	var asks [][2]any
	for i := 0; len(asks) < 5; i++ {
		if i != owner && !containsNode(hash, i) {
			asks = append(asks, [2]any{i, victim})
		}
	}
	got := resolveAll(t, s, asks)
	for _, a := range asks {
		if res := got[a]; res.Err != nil || res.Addr != s.Node(owner).Addr() {
			t.Errorf("node %d resolving %s after its hash gnode restarted: %+v, want %v", a[0], victim, res, s.Node(owner).Addr())
		}
	}
	if again, _ := holders(); len(withoutNode(again, owner)) == 0 {
		t.Errorf("no node of the hash gnode took %s over from the backups", victim)
	}
}

func containsNode(xs []int, x int) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func withoutNode(xs []int, x int) []int {
	out := xs[:0:0]
	for _, y := range xs {
		if y != x {
			out = append(out, y)
		}
	}
	return out
}

// TestANDNAOwnerRestartKeepsName: a node reboots with its key (the sim
// gives each node the same key again) and empty memory. Its name must come
// back pointing at its new address: its first update after the restart is
// news to the hash gnode, not a replay of the ones sent before (the C
// daemon's counters restarted at zero).
func TestANDNAOwnerRestartKeepsName(t *testing.T) {
	const n = 40
	s := andnaSim(t, n, 6)
	const owner = 7
	register := func() {
		s.WithANDNA(owner, func(e *andna.Engine, now time.Duration) {
			if err := e.Register(now, nameOf(owner)); err != nil {
				t.Fatal(err)
			}
		})
	}
	register()
	// Several updates, so the hash gnode holds a counter well above 1.
	s.Run(s.Now() + 20*time.Minute)
	old := s.Node(owner).Addr()
	s.Kill(owner)
	s.Run(s.Now() + 5*time.Second)
	if err := s.Restart(owner); err != nil {
		t.Fatal(err)
	}
	settle(t, s, s.Now()+2000*time.Second)
	register()
	s.Run(s.Now() + 2*time.Minute)
	now := s.Node(owner).Addr()
	for _, o := range s.Node(owner).ANDNA().Names() {
		if o.State != "registered" {
			t.Fatalf("after the restart %s is %s (%s)", o.Name, o.State, o.Error)
		}
	}
	res := resolveAll(t, s, [][2]any{{0, nameOf(owner)}})[[2]any{0, nameOf(owner)}]
	if res.Err != nil || res.Addr != now {
		t.Fatalf("%s after its owner restarted (address %v, before %v): %+v", nameOf(owner), now, old, res)
	}
}
