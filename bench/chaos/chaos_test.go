package main

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ntkd/ntkd/internal/lab"
)

// line4 is a world n1 - n2 - n3 - n4 (plus a link n1-n3) whose tables the
// cases edit: addresses 10.0.0.N, everyone running.
func line4(edit func(t []*lab.KernelTable)) *world {
	names := []string{"n1", "n2", "n3", "n4"}
	links := [][2]int{{0, 1}, {1, 2}, {2, 3}, {0, 2}}
	addr := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, 0, 0, byte(i + 1)}) }
	hop := func(to int) lab.KernelHop { return lab.KernelHop{Via: addr(to), Dev: names[to], Weight: 100} }
	// next[u][y]: u's best hop towards y on a correct table.
	next := [4][4]int{{-1, 1, 2, 2}, {0, -1, 2, 2}, {0, 1, -1, 3}, {2, 2, 2, -1}}
	tables := make([]*lab.KernelTable, 4)
	for u := range 4 {
		t := &lab.KernelTable{Node: names[u], PID: 100 + u, Addrs: []netip.Addr{addr(u)}, Address: addr(u)}
		for y := range 4 {
			if y != u {
				t.Routes = append(t.Routes, lab.KernelRoute{Dst: netip.PrefixFrom(addr(y), 32), Type: unix.RTN_UNICAST, Hops: []lab.KernelHop{hop(next[u][y])}})
			}
		}
		tables[u] = t
	}
	if edit != nil {
		edit(tables)
	}
	return newWorld(names, links, map[[2]int]bool{}, tables)
}

func route(t *lab.KernelTable, dst string) *lab.KernelRoute {
	for i := range t.Routes {
		if t.Routes[i].Dst.String() == dst {
			return &t.Routes[i]
		}
	}
	panic("no route to " + dst)
}

func TestChecks(t *testing.T) {
	a := netip.MustParseAddr
	for _, c := range []struct {
		name  string
		edit  func(t []*lab.KernelTable)
		cut   [][2]int
		check func(r *result) string // "" when as expected
	}{
		{"correct", nil, nil, func(r *result) string {
			if !r.ok() || r.Pairs != 12 || r.Delivered != 12 || r.AnyPathBad != 0 || r.Foreign != 0 {
				return r.summary()
			}
			return ""
		}},
		{"loop", func(ts []*lab.KernelTable) {
			route(ts[2], "10.0.0.4/32").Hops[0] = lab.KernelHop{Via: a("10.0.0.2"), Dev: "n2", Weight: 1}
		}, nil, func(r *result) string {
			// n1, n2, n3 cannot reach n4 (n4 still reaches everyone)
			if r.Delivered != 9 || !strings.Contains(strings.Join(r.DeliveryFail, ";"), "loop") {
				return r.summary() + fmt.Sprint(r.DeliveryFail)
			}
			return ""
		}},
		{"dead end", func(ts []*lab.KernelTable) {
			ts[1].Routes = ts[1].Routes[1:] // n2 forgets n1
		}, nil, func(r *result) string {
			if r.Delivered != 11 || !strings.Contains(r.DeliveryFail[0], "n2: no route to 10.0.0.1") {
				return r.summary() + fmt.Sprint(r.DeliveryFail)
			}
			return ""
		}},
		{"dead neighbour", func(ts []*lab.KernelTable) {
			ts[3].PID = 0 // n4 dead: pairs with it do not count, but n3's route to it is a bad hop
		}, nil, func(r *result) string {
			if r.Pairs != 6 || r.Delivered != 6 || r.BadHops != 1 || !strings.Contains(r.HopFail[0], "n4 is dead") || r.Foreign != 3 {
				return r.summary() + fmt.Sprint(r.HopFail)
			}
			return ""
		}},
		{"cut link", nil, [][2]int{{0, 2}}, func(r *result) string {
			// n1 and n3 route to each other (and n1 to n4) over the cut n1-n3; n2 still links them
			if r.BadHops != 3 || r.Delivered != 8 || !strings.Contains(r.HopFail[0], "the link n1-n3 is cut") {
				return r.summary() + fmt.Sprint(r.HopFail, r.DeliveryFail)
			}
			return ""
		}},
		{"partition", nil, [][2]int{{0, 2}, {1, 2}}, func(r *result) string {
			// components {n1,n2} and {n3,n4}: 4 pairs; n1>n3, n1>n4, n2>n3, n2>n4, n3>n1, n3>n2 hops are bad
			if r.Pairs != 4 || r.Delivered != 4 || r.BadHops != 6 || r.Foreign != 8 {
				return r.summary() + fmt.Sprint(r.HopFail)
			}
			return ""
		}},
		{"wrong via", func(ts []*lab.KernelTable) {
			route(ts[3], "10.0.0.1/32").Hops[0].Via = a("10.0.0.9")
		}, nil, func(r *result) string {
			if r.BadHops != 1 || r.Delivered != 11 || !strings.Contains(r.HopFail[0], "n3's address is 10.0.0.3") {
				return r.summary() + fmt.Sprint(r.HopFail)
			}
			return ""
		}},
		{"duplicate address", func(ts []*lab.KernelTable) {
			ts[3].Addrs = []netip.Addr{a("10.0.0.1")}
			ts[3].Address = a("10.0.0.1")
		}, nil, func(r *result) string {
			if r.DupAddrs != 1 || r.ok() {
				return r.summary()
			}
			return ""
		}},
		{"alternative comes back", func(ts []*lab.KernelTable) {
			// n2 to n4: best via n3, alternative via n1, whose best to n4 is n3: fine.
			// n3 to n1: best via n1, alternative via n2, whose best to n1 is direct: fine.
			// n1 to n4: alternative via n2 whose best to n4 is via n3: fine.
			// n3 to n4: alternative via n2, which goes back to n3: bad.
			rt := route(ts[2], "10.0.0.4/32")
			rt.Hops = append(rt.Hops, lab.KernelHop{Via: a("10.0.0.2"), Dev: "n2", Weight: 50})
			rt = route(ts[1], "10.0.0.4/32")
			rt.Hops = append(rt.Hops, lab.KernelHop{Via: a("10.0.0.1"), Dev: "n1", Weight: 50})
		}, nil, func(r *result) string {
			if r.Delivered != 12 || r.AltRoutes != 2 || r.AltBad != 1 || !strings.Contains(r.AltFail[0], "n3 -> n4: hop 10.0.0.2 dev n2") || r.AnyPathBad == 0 {
				return r.summary() + fmt.Sprint(r.AltFail)
			}
			return ""
		}},
		{"gnode route", func(ts []*lab.KernelTable) {
			// n1 reaches n4 through a /24 instead of a host route.
			rt := route(ts[0], "10.0.0.4/32")
			rt.Dst = netip.MustParsePrefix("10.0.0.0/24")
		}, nil, func(r *result) string {
			if !r.ok() || r.Delivered != 12 {
				return r.summary() + fmt.Sprint(r.DeliveryFail)
			}
			return ""
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := line4(c.edit)
			if len(c.cut) > 0 {
				cut := map[[2]int]bool{}
				for _, l := range c.cut {
					cut[l] = true
				}
				w = newWorld(w.names, w.links, cut, w.tables)
			}
			if msg := c.check(w.check()); msg != "" {
				t.Error(msg)
			}
		})
	}
}

func TestComponents(t *testing.T) {
	w := line4(func(ts []*lab.KernelTable) { ts[1].PID = 0 })
	if got := fmt.Sprint(w.components()); got != "[3]" { // n1-n3 link keeps n1 with n3, n4
		t.Errorf("components %s, want [3]", got)
	}
	w = newWorld(w.names, w.links, map[[2]int]bool{{0, 2}: true}, w.tables)
	if got := fmt.Sprint(w.components()); got != "[2 1]" {
		t.Errorf("components %s, want [2 1]", got)
	}
}

// TestSoakSmall runs the whole soak on a small lab of real daemons with
// fast timers: two rounds of faults (one healed), then the final heal.
// About a minute and a half.
func TestSoakSmall(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the soak creates network namespaces")
	}
	if testing.Short() {
		t.Skip("a lab of real daemons: not in -short")
	}
	dir := t.TempDir()
	bin, err := buildNtkd(dir)
	if err != nil {
		t.Fatal(err)
	}
	var progress bytes.Buffer
	o := options{
		Nodes: 8, Topology: "random", Seed: 3, Rounds: 2,
		Burst: 12 * time.Second, FaultEvery: 2 * time.Second,
		QuietTimeout: 60 * time.Second, Poll: time.Second, Stable: 3, HealEvery: 2,
		MaxDead: 0.25, MaxCut: 0.2, Pings: 6, UpTimeout: 2 * time.Minute,
		Ntkd: bin, Dir: dir + "/lab", Prefix: fmt.Sprintf("chst%d-", os.Getpid()%100000),
		ExtraConfig: "[radar]\ninterval = \"1s\"\nprobe_timeout = \"250ms\"\n\n[qspn]\nwait_round = \"5s\"\n",
		LogsDir:     dir + "/logs", Progress: &progress,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	rep, err := runSoak(ctx, o)
	var sum bytes.Buffer
	rep.print(&sum)
	t.Logf("progress:\n%s\nsummary:%s", progress.String(), sum.String())
	if err != nil {
		t.Fatal(err)
	}
	// Everything the soak made is gone.
	for _, ns := range mustNamespaces(t, o.Prefix) {
		t.Errorf("namespace %s left behind", ns)
	}
	if _, err := os.Stat(o.Dir); !os.IsNotExist(err) {
		t.Errorf("lab directory %s left behind (%v)", o.Dir, err)
	}
	faults := 0
	for _, n := range rep.Faults {
		faults += n
	}
	if faults < 4 || len(rep.Quiet) != 4 || len(rep.Checks) < 7 {
		t.Errorf("%d faults, %d quiet periods, %d checks: want 4+, 4 (first, 2 rounds, final), 7+", faults, len(rep.Quiet), len(rep.Checks))
	}
	if last := rep.Quiet[len(rep.Quiet)-1]; last.Dead != 0 || last.Cut != 0 || fmt.Sprint(last.Components) != "[8]" {
		t.Errorf("the final quiet period is not healed: %+v", last)
	}
	for _, c := range rep.Checks {
		if c.Failed > 0 {
			t.Errorf("invariant %s failed %d times (see the summary)", c.Name, c.Failed)
		}
	}
}

func mustNamespaces(t *testing.T, prefix string) []string {
	entries, err := os.ReadDir("/run/netns")
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) {
			out = append(out, e.Name())
		}
	}
	return out
}

func TestRouteChanges(t *testing.T) {
	before := line4(nil).tables
	after := line4(func(ts []*lab.KernelTable) {
		route(ts[0], "10.0.0.2/32").Hops[0].Weight = 7                                                  // weight only
		route(ts[1], "10.0.0.4/32").Hops[0].Dev = "n1"                                                  // other hop
		ts[2].Routes = ts[2].Routes[1:]                                                                 // a route gone
		ts[3].Routes = append(ts[3].Routes, lab.KernelRoute{Dst: netip.MustParsePrefix("10.9.0.0/24")}) // a new one
	}).tables
	if h, w := routeChanges(before, after); h != 3 || w != 1 {
		t.Errorf("routeChanges = %d hops, %d weights; want 3, 1", h, w)
	}
	if h, w := routeChanges(before, before); h != 0 || w != 0 {
		t.Errorf("no change: %d, %d", h, w)
	}
}
