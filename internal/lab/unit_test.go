package lab

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/ntkd/ntkd/internal/config"
	"github.com/ntkd/ntkd/internal/topo"
)

func TestRouteTableLongestMatch(t *testing.T) {
	var rt routeTable
	rt.add(netip.MustParsePrefix("10.1.2.3/32"), unix.RTN_UNICAST)
	rt.add(netip.MustParsePrefix("10.2.0.0/16"), unix.RTN_UNICAST)
	rt.add(netip.MustParsePrefix("10.2.7.0/24"), unix.RTN_UNREACHABLE)
	rt.add(netip.MustParsePrefix("fd00:1::/64"), unix.RTN_UNICAST)
	for _, c := range []struct {
		dst  string
		want bool
	}{
		{"10.1.2.3", true},   // host route
		{"10.1.2.4", false},  // no route
		{"10.2.9.9", true},   // covered by the /16
		{"10.2.7.1", false},  // the longer unreachable /24 wins
		{"fd00:1::5", true},  // IPv6
		{"fd00:2::5", false}, // IPv6, no route
		{"11.1.2.3", false},
	} {
		if got := rt.reaches(netip.MustParseAddr(c.dst)); got != c.want {
			t.Errorf("reaches(%s) = %v, want %v", c.dst, got, c.want)
		}
	}
	if rt.len() != 4 {
		t.Errorf("len = %d, want 4", rt.len())
	}
	// The same prefix once unreachable, once unicast (two tables): usable.
	rt.add(netip.MustParsePrefix("10.2.7.0/24"), unix.RTN_UNICAST)
	if !rt.reaches(netip.MustParseAddr("10.2.7.1")) || rt.len() != 4 {
		t.Error("a unicast route for the same prefix must win")
	}
}

func TestRoutePrefix(t *testing.T) {
	_, dst, _ := net.ParseCIDR("10.3.0.0/24")
	if got := routePrefix(netlink.Route{Dst: dst}); got != netip.MustParsePrefix("10.3.0.0/24") {
		t.Errorf("got %v", got)
	}
	if got := routePrefix(netlink.Route{Family: unix.AF_INET6}); got != netip.MustParsePrefix("::/0") {
		t.Errorf("default v6: got %v", got)
	}
	if got := routePrefix(netlink.Route{Family: unix.AF_INET}); got != netip.MustParsePrefix("0.0.0.0/0") {
		t.Errorf("default v4: got %v", got)
	}
}

func TestMeshAddrs(t *testing.T) {
	mk := func(cidr string, link, scope int) netlink.Addr {
		ip, n, _ := net.ParseCIDR(cidr)
		n.IP = ip
		return netlink.Addr{IPNet: n, LinkIndex: link, Scope: scope}
	}
	addrs := []netlink.Addr{
		mk("127.0.0.1/8", 1, unix.RT_SCOPE_HOST),
		mk("10.9.9.9/32", 1, unix.RT_SCOPE_UNIVERSE), // on loopback
		mk("fe80::1/64", 2, unix.RT_SCOPE_LINK),
		mk("192.168.1.1/24", 2, unix.RT_SCOPE_UNIVERSE), // not a mesh range
		mk("10.1.2.3/32", 2, unix.RT_SCOPE_UNIVERSE),
		mk("10.1.2.3/32", 3, unix.RT_SCOPE_UNIVERSE), // same address on the next veth
		mk("fd00::7/128", 3, unix.RT_SCOPE_UNIVERSE),
		mk("172.16.0.9/32", 3, unix.RT_SCOPE_UNIVERSE),
	}
	got := meshAddrs(addrs, map[int]bool{1: true})
	want := []netip.Addr{netip.MustParseAddr("10.1.2.3"), netip.MustParseAddr("172.16.0.9"), netip.MustParseAddr("fd00::7")}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}

func TestNodeConfigParses(t *testing.T) {
	dir := "/run/ntkd-lab"
	tp, err := topo.Ring(5, topo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := Lab{Dir: dir, Prefix: DefaultPrefix}.plan(tp, "ring", 1, "/usr/bin/ntkd")
	n := &s.Nodes[0]
	data, err := nodeConfig(s, n)
	if err != nil {
		t.Fatal(err)
	}
	c, err := config.Parse("n1.toml", data)
	if err != nil {
		t.Fatalf("%v\n%s", err, data)
	}
	if len(c.Interfaces) != 2 || c.Interfaces[0].Name != "n2" || c.Interfaces[1].Name != "n5" {
		t.Errorf("interfaces %+v, want n2 and n5", c.Interfaces)
	}
	for _, ifc := range c.Interfaces {
		if ifc.WifiMetrics {
			t.Errorf("%s: wifi_metrics on", ifc.Name)
		}
	}
	if c.Control.Socket != dir+"/n1/ctl.sock" || !c.ANDNA.Enabled || c.ANDNA.KeyDir != dir+"/n1" ||
		len(c.ANDNA.Names) != 1 || c.ANDNA.Names[0] != "n1" || !c.DNS.Enabled || c.DNS.Upstream != "" {
		t.Errorf("control/andna/dns: %+v %+v %+v", c.Control, c.ANDNA, c.DNS)
	}
	if c.Kernel.Protocol != RouteProtocol {
		t.Errorf("kernel protocol %d: Status looks for %d", c.Kernel.Protocol, RouteProtocol)
	}

	// Odd characters in the directory survive quoting.
	odd := Lab{Dir: `/tmp/a "b" \c` + "\t", Prefix: DefaultPrefix}.plan(tp, "ring", 1, "/x")
	if _, err := nodeConfig(odd, &odd.Nodes[1]); err != nil {
		t.Error(err)
	}
	// A socket path too long for a unix socket is caught before any
	// daemon sees it.
	long := Lab{Dir: "/" + strings.Repeat("d", 120), Prefix: DefaultPrefix}.plan(tp, "ring", 1, "/x")
	if _, err := nodeConfig(long, &long.Nodes[0]); err == nil {
		t.Error("a 130-byte socket path was accepted")
	}
}

func TestPlanNames(t *testing.T) {
	tp, err := topo.Line(12, topo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := Lab{Dir: "/d", Prefix: "p-"}.plan(tp, "line", 0, "/x")
	if len(s.Nodes) != 12 || s.Nodes[11].Name != "n12" || s.Nodes[11].Namespace != "p-n12" {
		t.Fatalf("nodes: %+v", s.Nodes[11])
	}
	if got := strings.Join(s.Nodes[9].Interfaces, ","); got != "n9,n11" {
		t.Errorf("n10's interfaces: %s", got)
	}
	lk, err := s.Link("n11", "n10")
	if err != nil || lk.IfA != "n11" || lk.IfB != "n10" {
		t.Errorf("link n10-n11: %+v %v", lk, err)
	}
	if _, err := s.Link("n1", "n3"); err == nil {
		t.Error("n1-n3 is not a link")
	}
	if _, err := s.Node("n13"); err == nil || !strings.Contains(err.Error(), "n1..n12") {
		t.Errorf("unknown node: %v", err)
	}
	if s.Nodes[0].Socket != "/d/n1/ctl.sock" || s.Nodes[0].Log != "/d/n1/ntkd.log" || s.Nodes[0].PIDFile != "/d/n1/pid" {
		t.Errorf("paths: %+v", s.Nodes[0])
	}
}

func TestNewTopology(t *testing.T) {
	for _, kind := range []string{"ring", "line", "grid", "random"} {
		tp, err := NewTopology(kind, 9, 3)
		if err != nil || tp.Nodes != 9 || checkTopology(tp) != nil {
			t.Errorf("%s: %v", kind, err)
		}
	}
	a, _ := NewTopology("random", 20, 7)
	b, _ := NewTopology("random", 20, 7)
	if !reflect.DeepEqual(a, b) {
		t.Error("the same seed gave another random topology")
	}
	if _, err := NewTopology("ring", 1, 1); err == nil {
		t.Error("a 1-node lab was accepted")
	}
	if _, err := NewTopology("ring", MaxNodes+1, 1); err == nil {
		t.Error("too many nodes accepted")
	}

	file := filepath.Join(t.TempDir(), "t.txt")
	os.WriteFile(file, []byte("# a triangle and a tail\n0 1\n1 2\n2 0\n2 3 latency=5ms\n"), 0o644)
	tp, err := NewTopology(file, 0, 0)
	if err != nil || tp.Nodes != 4 || len(tp.Links) != 4 {
		t.Fatalf("file: %+v %v", tp, err)
	}
	if _, err := NewTopology(file, 5, 0); err == nil {
		t.Error("a node count other than the file's was accepted")
	}
	if _, err := NewTopology(filepath.Join(t.TempDir(), "missing"), 0, 0); err == nil {
		t.Error("a missing file was accepted")
	}
	os.WriteFile(file, []byte("0 1\n2 3\n"), 0o644)
	if tp, err := NewTopology(file, 0, 0); err != nil || checkTopology(tp) == nil {
		t.Errorf("a disconnected topology passed: %v", err)
	}
}

func TestLabCheck(t *testing.T) {
	for _, l := range []Lab{
		{Dir: "relative", Prefix: "p-"},
		{Dir: "/", Prefix: "p-"},
		{Dir: "/x", Prefix: ""},
		{Dir: "/x", Prefix: "a/b"},
		{Dir: "/x", Prefix: strings.Repeat("p", 33)},
	} {
		if l.check() == nil {
			t.Errorf("%+v accepted", l)
		}
	}
	if err := (Lab{Dir: "/x/y", Prefix: "ntkdt1-"}).check(); err != nil {
		t.Error(err)
	}
	t.Setenv(EnvDir, "/tmp/somewhere")
	t.Setenv(EnvPrefix, "")
	if l := FromEnv(); l.Dir != "/tmp/somewhere" || l.Prefix != DefaultPrefix {
		t.Errorf("FromEnv: %+v", l)
	}
}

// A lab of islands: K copies of the topology, nodes numbered island by
// island, the first of each a gate whose config holds a tunnel to every
// other gate (ports and endpoints matching at both ends), every node
// starting from the same first address; configs parse as the daemon's.
func TestIslandsPlanAndConfigs(t *testing.T) {
	line, err := topo.Generate("line", 3, nil, topo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := IslandTopology(line, 1); err == nil {
		t.Error("one island accepted")
	}
	all, err := IslandTopology(line, 3)
	if err != nil {
		t.Fatal(err)
	}
	if all.Nodes != 9 || len(all.Links) != 6 || all.Connected() {
		t.Fatalf("3 islands of a 3-line: %d nodes, %d links, connected %v", all.Nodes, len(all.Links), all.Connected())
	}
	l := Lab{Dir: t.TempDir(), Prefix: "x-"}
	s := l.plan(all, "line", 1, "/bin/true")
	for i := range s.Nodes {
		if err := os.Mkdir(s.Nodes[i].Dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := planIslands(s, 3); err != nil {
		t.Fatal(err)
	}
	if s.Internet != "x-inet" || len(s.Islands) != 3 {
		t.Fatalf("internet %q, %d islands", s.Internet, len(s.Islands))
	}
	cfgs := map[string]*config.Config{}
	for i := range s.Nodes {
		n := &s.Nodes[i]
		data, err := nodeConfig(s, n)
		if err != nil {
			t.Fatal(err)
		}
		c, err := config.Parse(n.Config, data)
		if err != nil {
			t.Fatal(err)
		}
		if c.Address.First != netip.MustParseAddr(FirstAddress) || n.Island != i/3+1 {
			t.Errorf("%s: first %v, island %d", n.Name, c.Address.First, n.Island)
		}
		cfgs[n.Name] = c
	}
	for j, is := range s.Islands {
		if is.Gate != NodeName(3*j) || is.Address != netip.MustParseAddr(fmt.Sprintf("192.0.2.%d", j+1)) {
			t.Errorf("island %d: %+v", j+1, is)
		}
		c := cfgs[is.Gate]
		if !c.VLayer.Enabled || len(c.VLayer.Links) != 2 {
			t.Fatalf("gate %s: vlayer %+v", is.Gate, c.VLayer)
		}
		for _, lk := range c.VLayer.Links {
			// The other end lists us with our key, at the port we listen on.
			k := slices.IndexFunc(s.Islands, func(o Island) bool { return "v"+o.Gate == lk.Name })
			if k < 0 || k == j || lk.PublicKey != s.Islands[k].PublicKey {
				t.Fatalf("gate %s: link %+v", is.Gate, lk)
			}
			back := cfgs[s.Islands[k].Gate].VLayer.Links
			i := slices.IndexFunc(back, func(o config.VLink) bool { return o.Name == "v"+is.Gate })
			if i < 0 || back[i].Endpoint != fmt.Sprintf("%v:%d", is.Address, lk.ListenPort) || back[i].PublicKey != is.PublicKey {
				t.Fatalf("gate %s listens on %d, %s's link to it: %+v", is.Gate, lk.ListenPort, s.Islands[k].Gate, back)
			}
		}
	}
	if c := cfgs["n2"]; c.VLayer.Enabled {
		t.Error("a node inside an island has the virtual layer on")
	}
}
