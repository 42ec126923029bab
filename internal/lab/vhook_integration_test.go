package lab

import (
	"net/netip"
	"testing"
	"time"

	"github.com/ntkd/ntkd/internal/topo"
)

// Two islands of three with colliding ids, no tunnel configured: an entry
// server runs on the internet, both gates are entry nodes listed there
// after a minute, and each, having no tunnel, asks the nearest other
// gate for one (docs/VLAYER.md "Virtual hooking"). They end with one
// tunnel between them, the islands join (one renumbered) and traffic
// crosses between non-gate nodes.
func TestIntegrationIslandsByVirtualHook(t *testing.T) {
	ring, err := topo.Generate("ring", 3, nil, topo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	l := upTestLab(t, "V", UpOptions{Topology: ring, ExtraConfig: fastConfig, Islands: 2, EntryServer: true})
	s, err := l.Load()
	if err != nil {
		t.Fatal(err)
	}
	if s.Entry == nil || s.EntryPID() == 0 {
		t.Fatalf("no entry server running: %+v", s.Entry)
	}
	apart := waitStatus(t, l, "each island converged apart", 60*time.Second, (*Status).IslandsFull)
	if apart.Full {
		t.Fatal("the islands reach each other before the internet is up")
	}
	if err := l.Connect(true); err != nil {
		t.Fatal(err)
	}
	connected := time.Now()
	// A minute until the gates list themselves (entry_after), then a
	// fetch, the hook, the tunnel's first handshake and the join.
	st := waitFull(t, l, 4*time.Minute)
	t.Logf("islands joined by virtual hook %.1fs after the internet came up", time.Since(connected).Seconds())
	ping(t, l, "n2", addrOf(t, st, "n5"), 10*time.Second)
	ping(t, l, "n6", addrOf(t, st, "n3"), 10*time.Second)
	a, b := vlinks(t, l, "n1"), vlinks(t, l, "n4")
	if len(a.Links) != 1 || len(b.Links) != 1 || !a.Links[0].Manual || !b.Links[0].Manual {
		t.Fatalf("tunnels: n1 %+v, n4 %+v; want one each, made by the hook", a, b)
	}
	if a.Links[0].PublicKey != s.Islands[1].PublicKey || b.Links[0].PublicKey != s.Islands[0].PublicKey {
		t.Errorf("the tunnels do not join the two gates: n1 %+v, n4 %+v", a.Links[0], b.Links[0])
	}
	if ep, err := netip.ParseAddrPort(a.Links[0].Endpoint); err != nil || ep.Addr() != s.Islands[1].Address {
		t.Errorf("n1's tunnel goes to %q, not to n4's internet address %v", a.Links[0].Endpoint, s.Islands[1].Address)
	}
}
