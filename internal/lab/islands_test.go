package lab

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ntkd/ntkd/internal/ctl"
	"github.com/ntkd/ntkd/internal/topo"
)

// Two islands of three, grown apart from the same first address so their
// gnode ids collide at every level, join through the tunnel between their
// gates (WireGuard: wireguard-go in these developer builds) once the
// internet comes up: one island keeps every address, the other is
// renumbered as a whole, and traffic crosses between non-gate nodes. A
// link plugged in between the islands puts the tunnel on standby at both
// ends (seed 002: a physical path replaces it); when that link goes, the
// tunnel comes back and carries the traffic again.
func TestIntegrationIslands(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the test creates network namespaces")
	}
	bin := ntkdBinary(t)
	l := Lab{Dir: t.TempDir(), Prefix: fmt.Sprintf("ntkdi%dI-", os.Getpid()%100000)}
	t.Cleanup(func() {
		if t.Failed() {
			dumpLogs(t, l)
		}
		if _, err := l.Down(); err != nil {
			t.Errorf("down: %v", err)
		}
	})
	ring, err := topo.Generate("ring", 3, nil, topo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := l.Up(context.Background(), UpOptions{Topology: ring, Ntkd: bin, ExtraConfig: fastConfig, Islands: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Islands) != 2 || s.Islands[0].Gate != "n1" || s.Islands[1].Gate != "n4" || len(s.Nodes) != 6 {
		t.Fatalf("islands %+v", s.Islands)
	}

	apart := waitStatus(t, l, "each island converged apart", 60*time.Second, (*Status).IslandsFull)
	if apart.Full {
		t.Fatal("the islands reach each other before the internet is up")
	}
	first := netip.MustParseAddr(FirstAddress)
	before := map[string]netip.Addr{}
	for _, n := range apart.Nodes {
		before[n.Name] = n.Address
	}
	for _, island := range s.Islands {
		if !sameGnode(before[island.Nodes[0]], first) || !sameGnode(before[island.Nodes[1]], first) {
			t.Fatalf("island %v did not grow from %v: %v", island.Nodes, first, before)
		}
	}

	if err := l.Connect(true); err != nil {
		t.Fatal(err)
	}
	joined := time.Now()
	st := waitFull(t, l, 90*time.Second)
	t.Logf("islands joined %.1fs after the internet came up", time.Since(joined).Seconds())
	kept := [2]int{}
	for _, n := range st.Nodes {
		if n.Address == before[n.Name] {
			kept[s.Nodes[s.index(n.Name)].Island-1]++
		}
	}
	if kept != [2]int{3, 0} && kept != [2]int{0, 3} {
		t.Fatalf("addresses kept per island %v: want one island whole and the other renumbered (before %v, after %+v)", kept, before, st.Nodes)
	}
	ping(t, l, "n2", addrOf(t, st, "n5"), 10*time.Second)
	ping(t, l, "n6", addrOf(t, st, "n3"), 10*time.Second)
	if v := vlinks(t, l, "n1"); len(v.Links) != 1 || !v.Links[0].Neighbour || v.Links[0].Standby != "" {
		t.Fatalf("n1's tunnel: %+v", v)
	}

	// A physical link between the islands: the tunnel goes at both ends.
	if err := l.AddLink("n3", "n6"); err != nil {
		t.Fatal(err)
	}
	for _, gate := range []string{"n1", "n4"} {
		waitVLink(t, l, gate, "on standby", 60*time.Second, func(v ctl.VLink) bool { return v.Standby != "" })
	}
	ping(t, l, "n2", addrOf(t, st, "n5"), 10*time.Second)
	if r := ntkRoutes(t, l, "n1"); strings.Contains(r, "dev vn4") {
		t.Fatalf("n1 routes through the tunnel on standby:\n%s", r)
	}

	// The link goes: the tunnel comes back and carries the traffic again.
	if err := l.Cut("n3", "n6", false); err != nil {
		t.Fatal(err)
	}
	for _, gate := range []string{"n1", "n4"} {
		waitVLink(t, l, gate, "back with the other gate alive", 60*time.Second, func(v ctl.VLink) bool { return v.Standby == "" && v.Neighbour })
	}
	st = waitFull(t, l, 60*time.Second)
	ping(t, l, "n2", addrOf(t, st, "n5"), 20*time.Second)
}

// sameGnode says whether a and b share their top-level gnode (10.X/16).
func sameGnode(a, b netip.Addr) bool {
	pa, _ := a.Prefix(16)
	pb, _ := b.Prefix(16)
	return a.IsValid() && pa == pb
}

// vlinks asks node's daemon for its virtual links.
func vlinks(t *testing.T, l Lab, node string) ctl.VLinks {
	t.Helper()
	return ctlJSON[ctl.VLinks](t, l, node, "vlinks")
}

// ctlJSON runs `ntkd ctl --json cmd` against node's daemon and decodes
// the answer.
func ctlJSON[T any](t *testing.T, l Lab, node, cmd string) T {
	t.Helper()
	s, err := l.Load()
	if err != nil {
		t.Fatal(err)
	}
	n, err := s.Node(node)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(ntkdBinary(t), "ctl", "-s", n.Socket, "--json", cmd).Output()
	if err != nil {
		t.Fatalf("ntkd ctl %s on %s: %v", cmd, node, err)
	}
	var v T
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("ntkd ctl %s on %s: %v\n%s", cmd, node, err, out)
	}
	return v
}

// waitVLink waits until node's only tunnel satisfies ok.
func waitVLink(t *testing.T, l Lab, node, what string, limit time.Duration, ok func(ctl.VLink) bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		v := vlinks(t, l, node)
		if len(v.Links) == 1 && ok(v.Links[0]) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s's tunnel not %s within %v: %+v", node, what, limit, v)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
