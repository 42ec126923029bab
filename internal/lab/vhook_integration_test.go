package lab

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ntkd/ntkd/internal/ctl"
	"github.com/ntkd/ntkd/internal/topo"
)

// upHookIslands brings up k islands of kind with n nodes each, an entry
// server and no tunnel; once each island has converged apart, it puts them
// on the internet and returns when that was.
func upHookIslands(t *testing.T, tag, kind string, n, k int) (Lab, *State, time.Time) {
	t.Helper()
	tp, err := topo.Generate(kind, n, nil, topo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	l := upTestLab(t, tag, UpOptions{Topology: tp, ExtraConfig: fastConfig, Islands: k, EntryServer: true})
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
	return l, s, time.Now()
}

// Two islands of three with colliding ids, no tunnel configured: an entry
// server runs on the internet, both gates are entry nodes listed there
// after a minute, and each, having no tunnel, asks the nearest other
// gate for one (docs/VLAYER.md "Virtual hooking"). They end with one
// tunnel between them, the islands join (one renumbered) and traffic
// crosses between non-gate nodes.
func TestIntegrationIslandsByVirtualHook(t *testing.T) {
	l, s, connected := upHookIslands(t, "V", "ring", 3, 2)
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

// Three islands of two join by virtual hooks, as above: each gate without
// a tunnel asks another, so they end joined by two tunnels, through the
// gate of one of them. That island loses its internet connection mid-way:
// its tunnels die without a word. Each other gate finds its tunnel dead
// (nobody answers over it for a minute) and tears it down, and those
// without a tunnel left hook again through the entry list: the two
// islands still on the internet end joined by a tunnel of their own, and
// traffic crosses between them again.
func TestIntegrationDeadTunnelReplaced(t *testing.T) {
	l, s, _ := upHookIslands(t, "D", "line", 2, 3)
	waitFull(t, l, 4*time.Minute)
	// The island to cut off: the one whose gate has the most tunnels, the
	// middle one, and an anchorage node.
	cut, most := -1, 0
	for i, isl := range s.Islands {
		v := vlinks(t, l, isl.Gate)
		anchors := slices.ContainsFunc(v.Links, func(v ctl.VLink) bool { return v.Anchorage == "us" })
		if len(v.Links) > most && anchors {
			cut, most = i, len(v.Links)
		}
	}
	if most != 2 {
		t.Fatalf("no gate in the middle, with two tunnels and anchoring another (most tunnels %d)", most)
	}
	var left []Island
	for i, isl := range s.Islands {
		if i != cut {
			left = append(left, isl)
		}
	}
	if err := l.Connect(false, cut+1); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	// Each gate left finds its tunnel to the gate that went dead and
	// tears it down.
	for _, isl := range left {
		deadline := time.Now().Add(3 * time.Minute)
		for {
			v := vlinks(t, l, isl.Gate)
			if !slices.ContainsFunc(v.Links, func(v ctl.VLink) bool {
				return v.PublicKey == s.Islands[cut].PublicKey && !strings.HasPrefix(v.Standby, "dead")
			}) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s keeps its tunnel to the gate that went: %+v", isl.Gate, v)
			}
			time.Sleep(time.Second)
		}
	}
	t.Logf("the dead tunnels torn down %.1fs after island %d went off the internet", time.Since(killed).Seconds(), cut+1)
	inCut := func(name string) bool { return slices.Contains(s.Islands[cut].Nodes, name) }
	st := waitStatus(t, l, "the two islands left reach each other again", 4*time.Minute, func(st *Status) bool {
		for _, n := range st.Nodes {
			if inCut(n.Name) {
				continue
			}
			if !n.Running || !n.Address.IsValid() || slices.ContainsFunc(n.Unreached, func(u string) bool { return !inCut(u) }) {
				return false
			}
		}
		return true
	})
	t.Logf("the dead tunnel replaced %.1fs after island %d went off the internet", time.Since(killed).Seconds(), cut+1)
	ping(t, l, left[0].Nodes[1], addrOf(t, st, left[1].Nodes[1]), time.Minute)
	ping(t, l, left[1].Nodes[1], addrOf(t, st, left[0].Nodes[1]), time.Minute)
	// Their tunnel: live, between the two gates left, none to the gate
	// that went.
	for j, isl := range left {
		other := left[1-j]
		live := false
		for _, v := range vlinks(t, l, isl.Gate).Links {
			if v.PublicKey == other.PublicKey && v.Neighbour && v.Standby == "" {
				live = true
			}
			if v.PublicKey == s.Islands[cut].PublicKey && !strings.HasPrefix(v.Standby, "dead") {
				t.Errorf("%s keeps a tunnel to the gate that went: %+v", isl.Gate, v)
			}
		}
		if !live {
			t.Errorf("%s has no live tunnel to %s: %+v", isl.Gate, other.Gate, vlinks(t, l, isl.Gate))
		}
	}
}
