package kernel

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// eventTimeout only keeps a broken test from hanging; nothing is timed.
const eventTimeout = 20 * time.Second

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: the test creates network namespaces")
	}
}

var nsCount atomic.Int32

// testNS is a named network namespace the test created, removed at cleanup.
type testNS struct {
	t    *testing.T
	name string
	h    netns.NsHandle
}

func newTestNS(t *testing.T) *testNS {
	t.Helper()
	needRoot(t)
	name := fmt.Sprintf("ntkdk%d-%d", os.Getpid(), nsCount.Add(1))
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v: %s", name, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", name, err, out)
		}
	})
	h, err := netns.GetFromName(name)
	if err != nil {
		t.Fatalf("open netns %s: %v", name, err)
	}
	t.Cleanup(func() { h.Close() })
	ns := &testNS{t: t, name: name, h: h}
	ns.ip("link", "set", "lo", "up")
	return ns
}

// ip runs `ip -n <ns> args...` and returns its output; failure ends the test.
func (ns *testNS) ip(args ...string) string {
	ns.t.Helper()
	out, err := exec.Command("ip", append([]string{"-n", ns.name}, args...)...).CombinedOutput()
	if err != nil {
		ns.t.Fatalf("ip -n %s %s: %v: %s", ns.name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// exec runs a command inside the namespace.
func (ns *testNS) exec(args ...string) string {
	ns.t.Helper()
	out, err := exec.Command("ip", append([]string{"netns", "exec", ns.name}, args...)...).CombinedOutput()
	if err != nil {
		ns.t.Fatalf("in %s: %s: %v: %s", ns.name, strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// veth creates the pair a-b, both up, and returns a's index.
func (ns *testNS) veth(a, b string) int {
	ns.t.Helper()
	ns.ip("link", "add", a, "type", "veth", "peer", "name", b)
	ns.ip("link", "set", a, "up")
	ns.ip("link", "set", b, "up")
	return ns.index(a)
}

func (ns *testNS) index(name string) int {
	ns.t.Helper()
	h, err := netlink.NewHandleAt(ns.h, unix.NETLINK_ROUTE)
	if err != nil {
		ns.t.Fatal(err)
	}
	defer h.Close()
	l, err := h.LinkByName(name)
	if err != nil {
		ns.t.Fatalf("link %s: %v", name, err)
	}
	return l.Attrs().Index
}

func (ns *testNS) open(cfg Config) *Kernel {
	ns.t.Helper()
	k, err := OpenAt(ns.h, cfg)
	if err != nil {
		ns.t.Fatalf("OpenAt: %v", err)
	}
	ns.t.Cleanup(func() { k.Close() })
	return k
}

type ipRoute struct {
	Dst      string   `json:"dst"`
	Gateway  string   `json:"gateway"`
	Dev      string   `json:"dev"`
	Flags    []string `json:"flags"`
	Nexthops []struct {
		Gateway string   `json:"gateway"`
		Dev     string   `json:"dev"`
		Weight  int      `json:"weight"`
		Flags   []string `json:"flags"`
	} `json:"nexthops"`
}

// routes shows what `ip route show args...` says (a leading "-6" selects
// IPv6), one entry per destination: "gw dev D weight W [onlink]" per
// nexthop, sorted, joined with "; ".
func (ns *testNS) routes(args ...string) map[string]string {
	ns.t.Helper()
	cmd := []string{"-j", "route", "show"}
	if len(args) > 0 && args[0] == "-6" {
		cmd = append([]string{"-6"}, cmd...)
		args = args[1:]
	}
	out := ns.ip(append(cmd, args...)...)
	var rs []ipRoute
	if err := json.Unmarshal([]byte(out), &rs); err != nil {
		ns.t.Fatalf("ip -j route show %v: %v: %s", args, err, out)
	}
	hop := func(gw, dev string, weight int, flags []string) string {
		s := fmt.Sprintf("%s dev %s weight %d", gw, dev, weight)
		if slices.Contains(flags, "onlink") {
			s += " onlink"
		}
		return s
	}
	m := map[string]string{}
	for _, r := range rs {
		var hops []string
		if len(r.Nexthops) == 0 {
			hops = append(hops, hop(r.Gateway, r.Dev, 1, r.Flags))
		}
		for _, nh := range r.Nexthops {
			hops = append(hops, hop(nh.Gateway, nh.Dev, nh.Weight, nh.Flags))
		}
		slices.Sort(hops)
		if _, dup := m[r.Dst]; dup {
			ns.t.Fatalf("two routes to %s: %s", r.Dst, out)
		}
		m[r.Dst] = strings.Join(hops, "; ")
	}
	return m
}

func checkRoutes(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	if len(want) == 0 && len(got) == 0 {
		return
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s:\n got  %v\n want %v", what, got, want)
	}
}

func checkStats(t *testing.T, what string, got SyncStats, err error, want SyncStats) {
	t.Helper()
	if err != nil {
		t.Errorf("%s: %v", what, err)
	}
	if got != want {
		t.Errorf("%s: stats %+v, want %+v", what, got, want)
	}
}

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }

func hop(gw string, link, weight int) Nexthop {
	return Nexthop{Gw: netip.MustParseAddr(gw), LinkIndex: link, Weight: weight}
}

func route(dst string, hops ...Nexthop) Route { return Route{Dst: pfx(dst), Nexthops: hops} }

// watch starts Watch and stops it at cleanup.
func watch(t *testing.T, k *Kernel) <-chan Event {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	events, err := k.Watch(ctx)
	if err != nil {
		cancel()
		t.Fatalf("Watch: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		for range events { // Watch closes the channel once it has stopped
		}
	})
	return events
}

// waitEvent returns the first event that match accepts, skipping the others.
func waitEvent(t *testing.T, events <-chan Event, what string, match func(Event) bool) Event {
	t.Helper()
	timeout := time.After(eventTimeout)
	for {
		select {
		case e, ok := <-events:
			if !ok {
				t.Fatalf("waiting for %s: event channel closed", what)
			}
			if match(e) {
				return e
			}
		case <-timeout:
			t.Fatalf("no %s within %v", what, eventTimeout)
		}
	}
}

// nextResync returns the next ResyncNeeded, skipping link events.
func nextResync(t *testing.T, events <-chan Event) Event {
	t.Helper()
	return waitEvent(t, events, "ResyncNeeded", func(e Event) bool { return e.Kind == ResyncNeeded })
}
