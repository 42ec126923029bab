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
