package kernel

import (
	"net/netip"
	"os/exec"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// The IGS pieces in a namespace: the flow-based VXLAN device, the
// neighbour entries, the encapsulated multipath default route in its
// table, the rule after main; and all of it removed again.
func TestGatewayRouting(t *testing.T) {
	ns := newTestNS(t)
	ns.veth("m0", "m1")
	ns.ip("addr", "add", "10.1.1.1/32", "dev", "m0")
	k := ns.open(Config{Family: unix.AF_INET, SysctlRoot: "/proc/sys"})
	me := netip.MustParseAddr("10.1.1.1")
	idx, err := k.EnsureVXLAN("ntkgw", 4790, GatewayMAC(me))
	if err != nil {
		t.Fatal(err)
	}
	if idx2, err := k.EnsureVXLAN("ntkgw", 4790, GatewayMAC(me)); err != nil || idx2 != idx {
		t.Fatalf("second EnsureVXLAN: %d %v, want %d", idx2, err, idx)
	}
	link := ns.ip("-d", "link", "show", "ntkgw")
	for _, want := range []string{"02:6e:0a:01:01:01", "vxlan external", "dstport 4790", "UP"} {
		if !strings.Contains(link, want) {
			t.Errorf("ntkgw lacks %q:\n%s", want, link)
		}
	}
	g1, g2 := netip.MustParseAddr("10.1.2.3"), netip.MustParseAddr("10.2.0.1")
	for _, g := range []netip.Addr{g1, g2} {
		if err := k.SetGatewayNeighbour(idx, g, false); err != nil {
			t.Fatal(err)
		}
	}
	if err := k.SetGatewayRoute(110, idx, me, []GatewayHop{{g1, 3}, {g2, 1}}); err != nil {
		t.Fatal(err)
	}
	rt := ns.ip("route", "show", "table", "110")
	for _, want := range []string{"encap ip id 1 src 0.0.0.0 dst 10.1.2.3", "via 10.1.2.3 dev ntkgw weight 3 onlink", "dst 10.2.0.1", "via 10.2.0.1 dev ntkgw weight 1 onlink", "proto ntk", "src 10.1.1.1"} {
		if !strings.Contains(rt, want) {
			t.Errorf("table 110 lacks %q:\n%s", want, rt)
		}
	}
	neigh := ns.ip("neigh", "show", "dev", "ntkgw")
	if !strings.Contains(neigh, "10.1.2.3 lladdr 02:6e:0a:01:02:03 PERMANENT") {
		t.Errorf("neighbours:\n%s", neigh)
	}
	if err := k.SetGatewayRule(110, 32800, 0x6e740000, false); err != nil {
		t.Fatal(err)
	}
	if err := k.SetGatewayRule(110, 32800, 0x6e740000, false); err != nil {
		t.Fatalf("adding the rule twice: %v", err)
	}
	if rules := ns.ip("rule", "show"); !strings.Contains(rules, "32800:	not from all fwmark 0x6e740000/0x6e740000 lookup 110 proto ntk") {
		t.Errorf("rules:\n%s", rules)
	}
	// The namespace's main table has no default route: the Internet goes
	// to the gateways, except the tunnels' own packets, which carry the
	// mark and must not ride the mesh (they fail instead).
	if got := ns.ip("route", "get", "198.51.100.9"); !strings.Contains(got, "dev ntkgw table 110") {
		t.Errorf("unmarked packet: %s", got)
	}
	if out, err := exec.Command("ip", "-n", ns.name, "route", "get", "198.51.100.9", "mark", "0x6e740000").CombinedOutput(); err == nil || strings.Contains(string(out), "ntkgw") {
		t.Errorf("a packet with the tunnels' mark took the gateway route: %v %s", err, out)
	}
	// One gateway left, then none.
	if err := k.SetGatewayRoute(110, idx, me, []GatewayHop{{g2, 1}}); err != nil {
		t.Fatal(err)
	}
	if rt := ns.ip("route", "show", "table", "110"); strings.Contains(rt, "10.1.2.3") || !strings.Contains(rt, "10.2.0.1") {
		t.Errorf("after g1 went:\n%s", rt)
	}
	if err := k.SetGatewayNeighbour(idx, g1, true); err != nil {
		t.Fatal(err)
	}
	if err := k.SetGatewayRoute(110, idx, me, nil); err != nil {
		t.Fatal(err)
	}
	if err := k.SetGatewayRoute(110, idx, me, nil); err != nil {
		t.Fatalf("deleting a missing route: %v", err)
	}
	if err := k.SetGatewayRule(110, 32800, 0x6e740000, true); err != nil {
		t.Fatal(err)
	}
	if err := k.DeleteLink("ntkgw"); err != nil {
		t.Fatal(err)
	}
	if rt, rules := ns.ip("route", "show", "table", "110"), ns.ip("rule", "show"); rt != "" || strings.Contains(rules, "32800") {
		t.Errorf("left behind: routes %q rules %q", rt, rules)
	}
	if err := k.DeleteLink("ntkgw"); err != nil {
		t.Fatalf("deleting a missing link: %v", err)
	}
}
