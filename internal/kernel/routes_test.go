package kernel

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// mesh4 is a namespace with two mesh interfaces, va and wa (veth peers vb and
// wb), carrying the node address 10.0.0.1/32 as on a real node.
func mesh4(t *testing.T) (ns *testNS, va, wa int) {
	ns = newTestNS(t)
	va = ns.veth("va", "vb")
	wa = ns.veth("wa", "wb")
	ns.ip("addr", "add", "10.0.0.1/32", "dev", "va")
	ns.ip("addr", "add", "10.0.0.1/32", "dev", "wa")
	return ns, va, wa
}

func TestSyncIPv4(t *testing.T) {
	ns, va, wa := mesh4(t)
	k := ns.open(Config{Family: unix.AF_INET})

	want := []Route{
		route("10.1.0.0/16", hop("10.0.0.2", va, 1)),
		route("10.2.0.0/16", hop("10.0.0.2", va, 3), hop("10.0.0.3", wa, 1)),
		route("0.0.0.0/0", hop("10.0.0.3", wa, 1)),
	}
	st, err := k.Sync(want)
	checkStats(t, "first Sync", st, err, SyncStats{Added: 3})
	checkRoutes(t, "after first Sync", ns.routes("proto", "15"), map[string]string{
		"default":     "10.0.0.3 dev wa weight 1 onlink",
		"10.1.0.0/16": "10.0.0.2 dev va weight 1 onlink",
		"10.2.0.0/16": "10.0.0.2 dev va weight 3 onlink; 10.0.0.3 dev wa weight 1 onlink",
	})
	installed, err := k.Installed()
	if err != nil {
		t.Fatal(err)
	}
	if len(installed) != 3 {
		t.Fatalf("Installed: %v", installed)
	}
	for _, r := range installed {
		var found bool
		for _, w := range want {
			found = found || sameRoute(r, w)
		}
		if !found {
			t.Errorf("Installed has %v, not wanted", r)
		}
	}

	// The same set again, nexthops in another order: nothing is sent. A route
	// subscription proves it: the first change it reports after the Sync is a
	// marker route of another protocol added afterwards.
	updates := make(chan netlink.RouteUpdate, 256)
	done := make(chan struct{})
	defer close(done)
	if err := netlink.RouteSubscribeWithOptions(updates, done, netlink.RouteSubscribeOptions{Namespace: &ns.h}); err != nil {
		t.Fatal(err)
	}
	st, err = k.Sync([]Route{
		route("10.1.0.0/16", hop("10.0.0.2", va, 1)),
		route("10.2.0.0/16", hop("10.0.0.3", wa, 1), hop("10.0.0.2", va, 3)),
		route("0.0.0.0/0", hop("10.0.0.3", wa, 1)),
	})
	checkStats(t, "same Sync", st, err, SyncStats{Unchanged: 3})
	ns.ip("route", "add", "10.250.0.0/16", "dev", "vb", "proto", "static")
	timeout := time.After(eventTimeout)
	for marker := false; !marker; {
		select {
		case u := <-updates:
			if u.Protocol == unix.RTPROT_NTK {
				t.Errorf("an unchanged Sync sent a request: %v", u.Route)
			}
			marker = u.Protocol == unix.RTPROT_STATIC
		case <-timeout:
			t.Fatal("marker route never reported")
		}
	}

	// Weights change, a gateway changes, a route goes, one comes.
	st, err = k.Sync([]Route{
		route("10.1.0.0/16", hop("10.0.0.4", va, 1)),
		route("10.2.0.0/16", hop("10.0.0.2", va, 1), hop("10.0.0.3", wa, 2)),
		route("10.3.0.0/16", hop("10.0.0.2", va, 1)),
	})
	checkStats(t, "changing Sync", st, err, SyncStats{Added: 1, Changed: 2, Removed: 1})
	checkRoutes(t, "after changing Sync", ns.routes("proto", "15"), map[string]string{
		"10.1.0.0/16": "10.0.0.4 dev va weight 1 onlink",
		"10.2.0.0/16": "10.0.0.2 dev va weight 1 onlink; 10.0.0.3 dev wa weight 2 onlink",
		"10.3.0.0/16": "10.0.0.2 dev va weight 1 onlink",
	})

	// Multipath to single path and back.
	st, err = k.Sync([]Route{
		route("10.1.0.0/16", hop("10.0.0.4", va, 1), hop("10.0.0.5", wa, 1)),
		route("10.2.0.0/16", hop("10.0.0.3", wa, 1)),
		route("10.3.0.0/16", hop("10.0.0.2", va, 7)), // weight of a single path: nothing to send
	})
	checkStats(t, "path count Sync", st, err, SyncStats{Changed: 2, Unchanged: 1})
	checkRoutes(t, "after path count Sync", ns.routes("proto", "15"), map[string]string{
		"10.1.0.0/16": "10.0.0.4 dev va weight 1 onlink; 10.0.0.5 dev wa weight 1 onlink",
		"10.2.0.0/16": "10.0.0.3 dev wa weight 1 onlink",
		"10.3.0.0/16": "10.0.0.2 dev va weight 1 onlink",
	})

	st, err = k.Sync(nil)
	checkStats(t, "empty Sync", st, err, SyncStats{Removed: 3})
	checkRoutes(t, "after empty Sync", ns.routes("proto", "15"), nil)
}

func TestSyncReportsBadRoutesAndInstallsTheRest(t *testing.T) {
	ns, va, _ := mesh4(t)
	k := ns.open(Config{Family: unix.AF_INET})
	st, err := k.Sync([]Route{
		route("10.1.0.0/16", hop("10.0.0.2", va, 1)),
		route("10.2.0.0/16"),                             // no nexthops
		route("fd00::/8", hop("10.0.0.2", va, 1)),        // wrong family
		route("10.3.0.0/16", hop("10.0.0.2", va, 0)),     // weight
		route("10.4.0.0/16", hop("10.0.0.2", va+100, 1)), // no such link: the kernel refuses
		route("10.5.0.0/16", hop("10.0.0.2", va, 2), hop("10.0.0.3", va, 1)),
	})
	if st != (SyncStats{Added: 2}) {
		t.Errorf("stats %+v", st)
	}
	if err == nil {
		t.Fatal("no error")
	}
	if !errors.Is(err, ErrInvalidRoute) || !errors.Is(err, unix.ENODEV) {
		t.Errorf("error does not wrap ErrInvalidRoute and ENODEV: %v", err)
	}
	for _, s := range []string{"10.2.0.0/16", "fd00::/8", "10.3.0.0/16", "10.4.0.0/16"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error does not name %s: %v", s, err)
		}
	}
	checkRoutes(t, "installed", ns.routes("proto", "15"), map[string]string{
		"10.1.0.0/16": "10.0.0.2 dev va weight 1 onlink",
		"10.5.0.0/16": "10.0.0.2 dev va weight 2 onlink; 10.0.0.3 dev va weight 1 onlink",
	})

	// The failed route is tried again next time; an installed route that turns
	// invalid is removed.
	st, err = k.Sync([]Route{
		route("10.1.0.0/16", hop("10.0.0.2", va, 1), hop("10.0.0.2", va, 1)),
		route("10.4.0.0/16", hop("10.0.0.2", va, 1)),
		route("10.5.0.0/16", hop("10.0.0.2", va, 2), hop("10.0.0.3", va, 1)),
	})
	checkStats(t, "second Sync", st, nil, SyncStats{Added: 1, Removed: 1, Unchanged: 1})
	if !errors.Is(err, ErrInvalidRoute) {
		t.Errorf("second Sync: %v", err)
	}
	checkRoutes(t, "installed after second Sync", ns.routes("proto", "15"), map[string]string{
		"10.4.0.0/16": "10.0.0.2 dev va weight 1 onlink",
		"10.5.0.0/16": "10.0.0.2 dev va weight 2 onlink; 10.0.0.3 dev va weight 1 onlink",
	})
}

func TestOtherProtocolsSurvive(t *testing.T) {
	ns, va, _ := mesh4(t)
	ns.ip("route", "add", "10.9.0.0/16", "via", "10.0.0.2", "dev", "va", "onlink", "proto", "static")
	ns.ip("route", "add", "10.8.0.0/16", "via", "10.0.0.2", "dev", "va", "onlink", "proto", "42")
	// Same destination as one of ours, another protocol and metric.
	ns.ip("route", "add", "10.1.0.0/16", "via", "10.0.0.7", "dev", "va", "onlink", "proto", "static", "metric", "50")
	others := ns.routes("proto", "static")
	k := ns.open(Config{Family: unix.AF_INET})

	st, err := k.Sync([]Route{route("10.1.0.0/16", hop("10.0.0.2", va, 1)), route("10.2.0.0/16", hop("10.0.0.2", va, 1))})
	checkStats(t, "Sync", st, err, SyncStats{Added: 2})
	st, err = k.Sync([]Route{route("10.2.0.0/16", hop("10.0.0.3", va, 1))})
	checkStats(t, "second Sync", st, err, SyncStats{Changed: 1, Removed: 1})
	st, err = k.Resync()
	checkStats(t, "Resync", st, err, SyncStats{Unchanged: 1})
	if err := k.Flush(); err != nil {
		t.Fatal(err)
	}
	checkRoutes(t, "ours after Flush", ns.routes("proto", "15"), nil)
	checkRoutes(t, "static routes", ns.routes("proto", "static"), others)
	checkRoutes(t, "protocol 42", ns.routes("proto", "42"), map[string]string{"10.8.0.0/16": "10.0.0.2 dev va weight 1 onlink"})
}

func TestOwnTableAndRule(t *testing.T) {
	ns, va, _ := mesh4(t)
	// Our protocol in the main table is not ours when we use table 100.
	ns.ip("route", "add", "10.9.0.0/16", "via", "10.0.0.2", "dev", "va", "onlink", "proto", "15")
	k := ns.open(Config{Family: unix.AF_INET, Table: 100, RulePriority: 1234})

	hasRule := func() bool {
		return strings.Contains(ns.ip("rule", "show"), "1234:\tfrom all lookup 100")
	}
	if hasRule() {
		t.Fatal("rule before Sync")
	}
	st, err := k.Sync([]Route{route("10.1.0.0/16", hop("10.0.0.2", va, 1))})
	checkStats(t, "Sync", st, err, SyncStats{Added: 1})
	if !hasRule() {
		t.Errorf("no rule after Sync:\n%s", ns.ip("rule", "show"))
	}
	checkRoutes(t, "table 100", ns.routes("table", "100", "proto", "15"), map[string]string{
		"10.1.0.0/16": "10.0.0.2 dev va weight 1 onlink",
	})
	checkRoutes(t, "main table", ns.routes("proto", "15"), map[string]string{
		"10.9.0.0/16": "10.0.0.2 dev va weight 1 onlink",
	})
	got, err := k.Installed()
	if err != nil || len(got) != 1 || got[0].Dst != pfx("10.1.0.0/16") {
		t.Errorf("Installed: %v, %v", got, err)
	}

	// Resync puts back a rule someone deleted, and leaves one copy only.
	ns.ip("rule", "del", "priority", "1234")
	st, err = k.Resync()
	checkStats(t, "Resync", st, err, SyncStats{Unchanged: 1})
	if n := strings.Count(ns.ip("rule", "show"), "lookup 100"); n != 1 {
		t.Errorf("%d rules after Resync:\n%s", n, ns.ip("rule", "show"))
	}
	st, err = k.Resync()
	checkStats(t, "second Resync", st, err, SyncStats{Unchanged: 1})
	if n := strings.Count(ns.ip("rule", "show"), "lookup 100"); n != 1 {
		t.Errorf("%d rules after second Resync:\n%s", n, ns.ip("rule", "show"))
	}

	if err := k.Flush(); err != nil {
		t.Fatal(err)
	}
	if hasRule() {
		t.Errorf("rule after Flush:\n%s", ns.ip("rule", "show"))
	}
	checkRoutes(t, "table 100 after Flush", ns.routes("table", "100", "proto", "15"), nil)
	checkRoutes(t, "main table after Flush", ns.routes("proto", "15"), map[string]string{
		"10.9.0.0/16": "10.0.0.2 dev va weight 1 onlink",
	})
}

func TestResyncRepairs(t *testing.T) {
	ns, va, wa := mesh4(t)
	k := ns.open(Config{Family: unix.AF_INET})
	want := map[string]string{
		"10.1.0.0/16": "10.0.0.2 dev va weight 1 onlink",
		"10.2.0.0/16": "10.0.0.2 dev va weight 2 onlink; 10.0.0.3 dev wa weight 1 onlink",
		"10.3.0.0/16": "10.0.0.3 dev wa weight 1 onlink",
	}
	st, err := k.Sync([]Route{
		route("10.1.0.0/16", hop("10.0.0.2", va, 1)),
		route("10.2.0.0/16", hop("10.0.0.2", va, 2), hop("10.0.0.3", wa, 1)),
		route("10.3.0.0/16", hop("10.0.0.3", wa, 1)),
	})
	checkStats(t, "Sync", st, err, SyncStats{Added: 3})

	st, err = k.Resync()
	checkStats(t, "Resync of an intact kernel", st, err, SyncStats{Unchanged: 3})

	// Behind our back: one deleted, one altered, one added.
	ns.ip("route", "del", "10.1.0.0/16", "proto", "15")
	ns.ip("route", "replace", "10.2.0.0/16", "via", "10.0.0.9", "dev", "va", "onlink", "proto", "15")
	ns.ip("route", "add", "10.7.0.0/16", "dev", "va", "proto", "15")
	st, err = k.Resync()
	checkStats(t, "Resync", st, err, SyncStats{Added: 1, Changed: 1, Removed: 1, Unchanged: 1})
	checkRoutes(t, "after Resync", ns.routes("proto", "15"), want)

	// Sync knows what Resync did.
	st, err = k.Sync([]Route{
		route("10.1.0.0/16", hop("10.0.0.2", va, 1)),
		route("10.2.0.0/16", hop("10.0.0.2", va, 2), hop("10.0.0.3", wa, 1)),
		route("10.3.0.0/16", hop("10.0.0.3", wa, 1)),
	})
	checkStats(t, "Sync after Resync", st, err, SyncStats{Unchanged: 3})
}

func TestFlushAtStartup(t *testing.T) {
	ns, _, _ := mesh4(t)
	// What a crashed run left: routes of protocol 15, one a device route with
	// scope link, one with a metric, and its ip rule.
	ns.ip("route", "add", "10.1.0.0/16", "via", "10.0.0.2", "dev", "va", "onlink", "proto", "15")
	ns.ip("route", "add", "10.2.0.0/16", "dev", "va", "proto", "15")
	ns.ip("route", "add", "10.3.0.0/16", "via", "10.0.0.2", "dev", "va", "onlink", "proto", "15", "metric", "20")
	ns.ip("route", "add", "default", "proto", "15", "nexthop", "via", "10.0.0.2", "dev", "va", "onlink", "nexthop", "via", "10.0.0.3", "dev", "wa", "onlink")
	ns.ip("route", "add", "10.4.0.0/16", "via", "10.0.0.2", "dev", "va", "onlink", "proto", "15", "table", "100")
	ns.ip("rule", "add", "priority", "1000", "lookup", "100")
	// And a route that is not ours.
	ns.ip("route", "add", "10.5.0.0/16", "via", "10.0.0.2", "dev", "va", "onlink", "proto", "static", "table", "100")

	k := ns.open(Config{Family: unix.AF_INET})
	installed, err := k.Installed()
	if err != nil || len(installed) != 4 {
		t.Errorf("Installed before Flush: %v, %v", installed, err)
	}
	if err := k.Flush(); err != nil {
		t.Fatal(err)
	}
	checkRoutes(t, "main after Flush", ns.routes("proto", "15"), nil)
	checkRoutes(t, "table 100 untouched by a main-table Flush", ns.routes("table", "100", "proto", "15"), map[string]string{
		"10.4.0.0/16": "10.0.0.2 dev va weight 1 onlink",
	})

	k100 := ns.open(Config{Family: unix.AF_INET, Table: 100})
	if err := k100.Flush(); err != nil {
		t.Fatal(err)
	}
	checkRoutes(t, "table 100 after Flush", ns.routes("table", "100", "proto", "15"), nil)
	checkRoutes(t, "table 100, not ours", ns.routes("table", "100", "proto", "static"), map[string]string{
		"10.5.0.0/16": "10.0.0.2 dev va weight 1 onlink",
	})
	if rules := ns.ip("rule", "show"); strings.Contains(rules, "lookup 100") {
		t.Errorf("rule left:\n%s", rules)
	}
	// Flushing an empty kernel is fine.
	if err := k100.Flush(); err != nil {
		t.Errorf("second Flush: %v", err)
	}
}

// mesh6 is mesh4 for IPv6: node address fd00:aa::1/128 on va and wa.
func mesh6(t *testing.T) (ns *testNS, va, wa int) {
	ns = newTestNS(t)
	va = ns.veth("va", "vb")
	wa = ns.veth("wa", "wb")
	ns.ip("-6", "addr", "add", "fd00:aa::1/128", "dev", "va", "nodad")
	ns.ip("-6", "addr", "add", "fd00:aa::1/128", "dev", "wa", "nodad")
	return ns, va, wa
}

func TestSyncIPv6(t *testing.T) {
	ns, va, wa := mesh6(t)
	k := ns.open(Config{Family: unix.AF_INET6})
	events := watch(t, k)

	st, err := k.Sync([]Route{
		route("fd01::/16", hop("fe80::2", va, 1)),
		route("fd02::/16", hop("fe80::2", va, 2), hop("fd00:bb::3", wa, 1)),
		route("fd03::/16", hop("fd00:bb::3", wa, 1)),
		route("::/0", hop("fe80::3", wa, 1)),
	})
	checkStats(t, "Sync", st, err, SyncStats{Added: 4})
	checkRoutes(t, "after Sync", ns.routes("-6", "proto", "15"), map[string]string{
		"default":   "fe80::3 dev wa weight 1 onlink",
		"fd01::/16": "fe80::2 dev va weight 1 onlink",
		"fd02::/16": "fd00:bb::3 dev wa weight 1 onlink; fe80::2 dev va weight 2 onlink",
		"fd03::/16": "fd00:bb::3 dev wa weight 1 onlink",
	})

	st, err = k.Sync([]Route{
		route("fd01::/16", hop("fe80::2", va, 1), hop("fe80::3", wa, 1)),
		route("fd02::/16", hop("fd00:bb::3", wa, 1)),
		route("fd03::/16", hop("fd00:bb::3", wa, 1)),
		route("::/0", hop("fe80::3", wa, 1)),
	})
	checkStats(t, "Sync changing path counts", st, err, SyncStats{Changed: 2, Unchanged: 2})
	checkRoutes(t, "after second Sync", ns.routes("-6", "proto", "15"), map[string]string{
		"default":   "fe80::3 dev wa weight 1 onlink",
		"fd01::/16": "fe80::2 dev va weight 1 onlink; fe80::3 dev wa weight 1 onlink",
		"fd02::/16": "fd00:bb::3 dev wa weight 1 onlink",
		"fd03::/16": "fd00:bb::3 dev wa weight 1 onlink",
	})
	st, err = k.Resync()
	checkStats(t, "Resync", st, err, SyncStats{Unchanged: 4})

	st, err = k.Sync([]Route{
		route("fd01::/16", hop("fe80::2", va, 3), hop("fe80::3", wa, 1)),
		route("fd03::/16", hop("fd00:bb::3", wa, 1)),
		route("::/0", hop("fe80::3", wa, 1)),
	})
	checkStats(t, "third Sync", st, err, SyncStats{Changed: 1, Removed: 1, Unchanged: 2})

	// Our own replacements and deletions raise no ResyncNeeded: the first one
	// is for a deletion behind our back.
	ns.ip("-6", "route", "del", "fd03::/16", "proto", "15")
	if e := nextResync(t, events); !strings.Contains(e.Reason, "fd03::/16") {
		t.Errorf("first ResyncNeeded: %q", e.Reason)
	}
	st, err = k.Resync()
	checkStats(t, "Resync after deletion", st, err, SyncStats{Added: 1, Unchanged: 2})
	checkRoutes(t, "after Resync", ns.routes("-6", "proto", "15"), map[string]string{
		"default":   "fe80::3 dev wa weight 1 onlink",
		"fd01::/16": "fe80::2 dev va weight 3 onlink; fe80::3 dev wa weight 1 onlink",
		"fd03::/16": "fd00:bb::3 dev wa weight 1 onlink",
	})

	if err := k.Flush(); err != nil {
		t.Fatal(err)
	}
	checkRoutes(t, "after Flush", ns.routes("-6", "proto", "15"), nil)
}

func TestClosed(t *testing.T) {
	ns, va, _ := mesh4(t)
	k := ns.open(Config{Family: unix.AF_INET})
	if err := k.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Sync([]Route{route("10.1.0.0/16", hop("10.0.0.2", va, 1))}); !errors.Is(err, ErrClosed) {
		t.Errorf("Sync after Close: %v", err)
	}
	if err := k.Flush(); !errors.Is(err, ErrClosed) {
		t.Errorf("Flush after Close: %v", err)
	}
	if err := k.Close(); !errors.Is(err, ErrClosed) {
		t.Errorf("second Close: %v", err)
	}
}
