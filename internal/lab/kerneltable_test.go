package lab

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"testing"

	"golang.org/x/sys/unix"
)

func TestKernelTableLookupAndBest(t *testing.T) {
	p := netip.MustParsePrefix
	a := netip.MustParseAddr
	kt := &KernelTable{Routes: []KernelRoute{
		{Dst: p("10.0.0.0/8"), Type: unix.RTN_UNREACHABLE},
		{Dst: p("10.1.0.0/16"), Type: unix.RTN_UNICAST, Hops: []KernelHop{{Via: a("10.1.0.9"), Dev: "n9", Weight: 1}}},
		{Dst: p("10.1.2.3/32"), Type: unix.RTN_UNICAST, Hops: []KernelHop{
			{Via: a("10.1.0.4"), Dev: "n4", Weight: 51},
			{Via: a("10.1.0.5"), Dev: "n5", Weight: 100},
			{Via: a("10.1.0.6"), Dev: "n6", Weight: 100},
		}},
	}}
	for _, c := range []struct {
		dst  string
		want string // prefix, "" for none
	}{
		{"10.1.2.3", "10.1.2.3/32"},
		{"10.1.2.4", "10.1.0.0/16"},
		{"10.2.0.1", "10.0.0.0/8"},
		{"172.16.0.1", ""},
	} {
		r := kt.Lookup(a(c.dst))
		switch {
		case r == nil && c.want != "":
			t.Errorf("Lookup(%s) = nil, want %s", c.dst, c.want)
		case r != nil && r.Dst.String() != c.want:
			t.Errorf("Lookup(%s) = %v, want %s", c.dst, r.Dst, c.want)
		}
	}
	if r := kt.Lookup(a("10.2.0.1")); r.Unicast() {
		t.Error("an unreachable route counts as unicast")
	}
	h, ok := kt.Lookup(a("10.1.2.3")).Best()
	if !ok || h.Dev != "n5" {
		t.Errorf("Best = %+v %v, want the first of the highest weight (n5)", h, ok)
	}
	if _, ok := (&KernelRoute{}).Best(); ok {
		t.Error("Best of a route without hops is ok")
	}
}

// TestReadKernelTable puts proto ntk routes (multipath and single) into a
// namespace of its own and reads them back.
func TestReadKernelTable(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the test creates network namespaces")
	}
	prefix := fmt.Sprintf("ntkdkt%d-", os.Getpid()%100000)
	a, b := prefix+"n1", prefix+"n2"
	t.Cleanup(func() {
		deleteNamespace(a)
		deleteNamespace(b)
	})
	for _, ns := range []string{a, b} {
		if err := addNamespace(ns); err != nil {
			t.Fatal(err)
		}
	}
	if err := addLink(prefix, Link{A: "n1", B: "n2", IfA: "n2", IfB: "n1"}); err != nil {
		t.Fatal(err)
	}
	sh := func(script string) {
		t.Helper()
		if out, err := exec.Command("ip", "netns", "exec", a, "sh", "-ec", script).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", script, err, out)
		}
	}
	sh(`ip addr add 10.7.0.1/32 dev n2
ip link add x0 type veth peer name x1
ip link set x0 up
ip addr add 10.7.0.1/32 dev x0
ip addr add 10.6.0.1/32 dev x1
ip route add 10.7.0.2/32 via 10.7.0.2 dev n2 onlink proto 15
ip route add 10.7.1.0/24 proto 15 nexthop via 10.7.0.2 dev n2 onlink weight 100 nexthop via 10.7.0.3 dev x0 onlink weight 40
ip route add 10.7.2.0/24 via 10.7.0.2 dev n2 onlink proto static`)
	n := &Node{Name: "n1", Namespace: a}
	kt, err := readKernelTable(n, RouteProtocol)
	if err != nil {
		t.Fatal(err)
	}
	// 10.6.0.1 is lower but only on an interface that is down: a stale
	// address, not the node's.
	if kt.PID != 0 || fmt.Sprint(kt.Addrs) != "[10.6.0.1 10.7.0.1]" || kt.Address != netip.MustParseAddr("10.7.0.1") {
		t.Errorf("pid %d, addrs %v, address %v: want 0, [10.6.0.1 10.7.0.1], 10.7.0.1", kt.PID, kt.Addrs, kt.Address)
	}
	if !kt.LinkUp["n2"] || !kt.LinkUp["x0"] || kt.LinkUp["x1"] {
		t.Errorf("links up %v: want n2 and x0 up, x1 down", kt.LinkUp)
	}
	got := fmt.Sprint(kt.Routes)
	// The static route is not ntkd's and must not be read.
	if len(kt.Routes) != 2 {
		t.Fatalf("routes %s: want the two proto 15 routes", got)
	}
	host, gnode := kt.Routes[0], kt.Routes[1]
	if host.Dst.String() != "10.7.0.2/32" || len(host.Hops) != 1 || host.Hops[0].Dev != "n2" || host.Hops[0].Weight != 1 || !host.Unicast() {
		t.Errorf("host route %+v", host)
	}
	if gnode.Dst.String() != "10.7.1.0/24" || len(gnode.Hops) != 2 || gnode.Hops[1] != (KernelHop{Via: netip.MustParseAddr("10.7.0.3"), Dev: "x0", Weight: 40}) {
		t.Fatalf("gnode route %+v", gnode)
	}
	if best, _ := gnode.Best(); best.Dev != "n2" || best.Via != netip.MustParseAddr("10.7.0.2") || best.Weight != 100 {
		t.Errorf("gnode route's best hop %+v: want via 10.7.0.2 dev n2 weight 100", best)
	}
}
