package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ntkd/ntkd/internal/config"
	"github.com/ntkd/ntkd/internal/topo"
)

// The plan of a lab with gateways: a /30 per gateway in the order given,
// the WAN's namespace apart from the islands' internet, gateway configs
// that share their uplink and probe the echo server, the other nodes on
// the defaults; bad gateway lists refused with a reason.
func TestGatewaysPlanAndConfigs(t *testing.T) {
	line, err := topo.Line(5, topo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	l := Lab{Dir: "/run/x", Prefix: "p-"}
	s := l.plan(line, "line", 1, "/x")
	if err := planGateways(s, l.Dir, []string{"n5", "n1"}); err != nil {
		t.Fatal(err)
	}
	want := []Gateway{
		{Node: "n5", Device: "up0", Address: netip.MustParsePrefix("198.51.100.2/30"), Peer: netip.MustParseAddr("198.51.100.1"), Port: "gn5"},
		{Node: "n1", Device: "up0", Address: netip.MustParsePrefix("198.51.100.6/30"), Peer: netip.MustParseAddr("198.51.100.5"), Port: "gn1"},
	}
	if !slices.Equal(s.Gateways, want) {
		t.Errorf("gateways %+v", s.Gateways)
	}
	for _, g := range s.Gateways {
		if !g.Address.Contains(g.Peer) || g.Address.Addr() == g.Peer {
			t.Errorf("%s: peer %v outside %v", g.Node, g.Peer, g.Address)
		}
	}
	if s.WAN == nil || s.WAN.Namespace != "p-wan" || s.WAN.Echo != EchoAddr || s.WAN.PIDFile != "/run/x/wan/echo.pid" {
		t.Fatalf("wan %+v", s.WAN)
	}
	if s.WAN.Namespace == l.Prefix+internetName || strings.HasPrefix(s.WAN.Namespace, l.Prefix+"n") {
		t.Errorf("wan namespace %s meets the islands' internet or a node's", s.WAN.Namespace)
	}
	for _, n := range s.Nodes {
		data, err := nodeConfig(s, &n)
		if err != nil {
			t.Fatal(err)
		}
		c, err := config.Parse(n.Config, data)
		if err != nil {
			t.Fatalf("%v\n%s", err, data)
		}
		g := c.IGS
		if n.Name == "n1" || n.Name == "n5" {
			if !g.ShareInternet || g.Uplink != "up0" || !slices.Equal(g.Probe, []string{"203.0.113.1:7"}) ||
				g.ProbeInterval != 2*time.Second || !g.UseGateways {
				t.Errorf("%s: igs %+v\n%s", n.Name, g, data)
			}
		} else if !reflect.DeepEqual(g, config.Default().IGS) {
			t.Errorf("%s: igs %+v, want the defaults", n.Name, g)
		}
	}
	if _, err := s.Gateway("n3"); err == nil || !strings.Contains(err.Error(), "n5, n1") {
		t.Errorf("n3 as a gateway: %v", err)
	}
	// A gateway whose --config shares nothing is caught before it runs.
	s.ExtraConfig = "[igs]\nshare_internet = false\n"
	if _, err := nodeConfig(s, &s.Nodes[0]); err == nil {
		t.Error("a duplicate [igs] table was accepted")
	}

	for _, c := range []struct {
		names []string
		err   string
	}{
		{[]string{"n1", "n6"}, `no node "n6"`},
		{[]string{"n2", "n2"}, "n2 is listed twice"},
		{[]string{""}, "empty"},
	} {
		s := l.plan(line, "line", 1, "/x")
		if err := planGateways(s, l.Dir, c.names); err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%q: %v, want %q", c.names, err, c.err)
		}
	}
	big, _ := topo.Line(MaxGateways+1, topo.Options{})
	s = l.plan(big, "line", 1, "/x")
	var all []string
	for i := range big.Nodes {
		all = append(all, NodeName(i))
	}
	if err := planGateways(s, l.Dir, all[:MaxGateways]); err != nil || s.Gateways[MaxGateways-1].Address.String() != "198.51.100.254/30" {
		t.Errorf("%d gateways: %v", MaxGateways, err)
	}
	s = l.plan(big, "line", 1, "/x")
	if err := planGateways(s, l.Dir, all); err == nil {
		t.Errorf("%d gateways accepted", len(all))
	}
	s = l.plan(line, "line", 1, "/x")
	if err := planGateways(s, l.Dir, nil); err != nil || s.WAN != nil || s.Gateways != nil {
		t.Errorf("no gateways: %+v %v", s.WAN, err)
	}
	if _, err := s.Gateway("n1"); err == nil || !strings.Contains(err.Error(), "no gateways") {
		t.Errorf("gateway of a lab without: %v", err)
	}
}

// A lab of fake daemons with gateways: the kernel side of the uplinks (the
// WAN namespace, addresses, default routes, the echo server started), an
// uplink cut and restored, and Down removing all of it, also without the
// state file.
func TestUpGateways(t *testing.T) {
	l := testLab(t)
	line, err := topo.Line(3, topo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := l.Up(context.Background(), UpOptions{Topology: line, Ntkd: fakeDaemon(t), Gateways: []string{"n1", "n3"}})
	if err != nil {
		t.Fatal(err)
	}
	names, _ := namespaces(l.Prefix)
	slices.Sort(names)
	if want := []string{l.Prefix + "n1", l.Prefix + "n2", l.Prefix + "n3", l.Prefix + "wan"}; !slices.Equal(names, want) {
		t.Fatalf("namespaces %v, want %v", names, want)
	}
	if args := waitFile(t, filepath.Join(s.WAN.Dir, "args")); args != "lab\necho-server\n203.0.113.1:7\n" {
		t.Errorf("echo server arguments %q", args)
	}
	if s.EchoPID() == 0 {
		t.Error("the echo server is not running")
	}
	wan := links(t, s.WAN.Namespace)
	if _, ok := wan["gn1"]; !ok {
		t.Errorf("wan interfaces %v", wan)
	}
	if _, ok := wan["gn3"]; !ok {
		t.Errorf("wan interfaces %v", wan)
	}
	var fwd []byte
	inNamespace(s.WAN.Namespace, func() (err error) { fwd, err = os.ReadFile("/proc/sys/net/ipv4/ip_forward"); return err })
	if strings.TrimSpace(string(fwd)) != "1" {
		t.Errorf("wan ip_forward %q", fwd)
	}
	defaultVia := func(node string) string {
		t.Helper()
		out, err := l.Exec(context.Background(), node, "ip", "-4", "route", "show", "default")
		if err != nil {
			t.Fatalf("%v %s", err, out)
		}
		return strings.TrimSpace(string(out))
	}
	if r := defaultVia("n1"); !strings.HasPrefix(r, "default via 198.51.100.1 dev up0") {
		t.Errorf("n1's default route: %q", r)
	}
	if r := defaultVia("n3"); !strings.HasPrefix(r, "default via 198.51.100.5 dev up0") {
		t.Errorf("n3's default route: %q", r)
	}
	if r := defaultVia("n2"); r != "" {
		t.Errorf("n2 is no gateway and has a default route: %q", r)
	}
	// Kernels answer pings to their own addresses: the uplinks carry
	// traffic to the echo address with no daemon at all.
	pingEcho := func(node string) error {
		_, err := l.Exec(context.Background(), node, "ping", "-c", "1", "-W", "1", EchoAddr.Addr().String())
		return err
	}
	for _, n := range []string{"n1", "n3"} {
		if err := pingEcho(n); err != nil {
			t.Errorf("%s: %v", n, err)
		}
	}

	if err := l.Uplink("n1", false); err != nil {
		t.Fatal(err)
	}
	if pingEcho("n1") == nil {
		t.Error("n1 reaches the echo address with its uplink cut")
	}
	st, err := l.Status()
	if err != nil || len(st.Gateways) != 2 || st.Gateways[0].Up || !st.Gateways[1].Up || st.WAN == nil || st.WAN.EchoPID == 0 {
		t.Fatalf("status after the cut: %+v %+v %v", st.Gateways, st.WAN, err)
	}
	if err := l.Uplink("n1", true); err != nil {
		t.Fatal(err)
	}
	if err := pingEcho("n1"); err != nil {
		t.Errorf("n1 after restore: %v (default route %q)", err, defaultVia("n1"))
	}
	if err := l.Uplink("n2", false); err == nil || !strings.Contains(err.Error(), "not a gateway") {
		t.Errorf("uplink of n2: %v", err)
	}

	// Down after a crash: no state file, everything found by the prefix.
	echo := s.EchoPID()
	if err := os.Remove(filepath.Join(l.Dir, stateFile)); err != nil {
		t.Fatal(err)
	}
	rep, err := l.Down()
	if err != nil || len(rep.Namespaces) != 4 || len(rep.Killed) != 4 || !slices.Contains(rep.Killed, echo) {
		t.Errorf("down: %+v %v", rep, err)
	}
	if alive(echo) {
		t.Error("the echo server survived Down")
	}
}

// A gateway list Up refuses leaves nothing behind.
func TestUpGatewaysRefused(t *testing.T) {
	l := testLab(t)
	_, err := l.Up(context.Background(), UpOptions{Topology: mustRing(t, 3), Ntkd: fakeDaemon(t), Gateways: []string{"n1", "n4"}})
	if err == nil || !strings.Contains(err.Error(), `no node "n4"`) {
		t.Fatalf("gateway n4 of 3 nodes: %v", err)
	}
	if names, _ := namespaces(l.Prefix); len(names) > 0 {
		t.Errorf("namespaces left: %v", names)
	}
	if _, err := os.Stat(l.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("directory left: %v", err)
	}
}

// echoFrom sends a message to the lab's echo server from inside node's
// namespace, over network (tcp or udp), and checks that it comes back.
// With device set, the socket is bound to that device (SO_BINDTODEVICE, as
// the daemon's uplink probe is): the message can only leave through it.
func echoFrom(l Lab, node, network, device string, timeout time.Duration) error {
	s, err := l.Load()
	if err != nil {
		return err
	}
	n, err := s.Node(node)
	if err != nil {
		return err
	}
	return inNamespace(n.Namespace, func() error {
		d := net.Dialer{Timeout: timeout}
		if device != "" {
			d.Control = func(_, _ string, rc syscall.RawConn) error {
				var serr error
				if err := rc.Control(func(fd uintptr) { serr = unix.BindToDevice(int(fd), device) }); err != nil {
					return err
				}
				return serr
			}
		}
		c, err := d.Dial(network, EchoAddr.String())
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(timeout))
		msg := fmt.Sprintf("%s over %s at %d", node, network, time.Now().UnixNano())
		if _, err := c.Write([]byte(msg)); err != nil {
			return err
		}
		got := make([]byte, len(msg)+1)
		k, err := io.ReadAtLeast(c, got, len(msg))
		if err != nil {
			return err
		}
		if string(got[:k]) != msg {
			return fmt.Errorf("echo %q, sent %q", got[:k], msg)
		}
		return nil
	})
}

// waitEcho retries echoFrom until it succeeds, within limit.
func waitEcho(t *testing.T, l Lab, node, network, device string, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		err := echoFrom(l, node, network, device, 2*time.Second)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: no %s echo from %v (device %q) within %v: %v", node, network, EchoAddr, device, limit, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// startGatewayLab brings up a line of the real daemon with gateways and
// waits for full routes; prefixTag keeps its namespaces apart from other
// tests'.
func startGatewayLab(t *testing.T, prefixTag string, nodes int, gateways ...string) (Lab, *State, *Status) {
	t.Helper()
	tp, err := NewTopology("line", nodes, 1)
	if err != nil {
		t.Fatal(err)
	}
	var l Lab
	// Registered first, so it runs after upTestLab's Down.
	t.Cleanup(func() {
		if left, _ := namespaces(l.Prefix); l.Prefix != "" && len(left) > 0 {
			t.Errorf("namespaces left: %v", left)
		}
	})
	l = upTestLab(t, prefixTag, UpOptions{Topology: tp, ExtraConfig: fastConfig, Gateways: gateways})
	s, err := l.Load()
	if err != nil {
		t.Fatal(err)
	}
	return l, s, waitFull(t, l, 60*time.Second)
}

// A line of 5 with gateways n1 and n5: both reach the echo server of the
// stand-in Internet over TCP and UDP through their own uplinks, their
// configs share those uplinks, an uplink cut stops its gateway reaching
// the echo server through it and a restore brings it back; down leaves no
// namespace and no process.
func TestIntegrationGateways(t *testing.T) {
	l, s, _ := startGatewayLab(t, "G", 5, "n1", "n5")
	for _, gw := range []string{"n1", "n5"} {
		n, _ := s.Node(gw)
		c, err := config.Load(n.Config)
		if err != nil {
			t.Fatal(err)
		}
		if !c.IGS.ShareInternet || c.IGS.Uplink != UplinkName || !slices.Equal(c.IGS.Probe, []string{EchoAddr.String()}) || c.IGS.ProbeInterval != GatewayProbeInterval {
			t.Errorf("%s: igs %+v", gw, c.IGS)
		}
		out, err := l.Exec(context.Background(), gw, "ip", "route", "get", EchoAddr.Addr().String())
		if err != nil || !strings.Contains(string(out), "dev "+UplinkName) {
			t.Errorf("%s: route to the echo server: %v %s", gw, err, out)
		}
		for _, network := range []string{"tcp", "udp"} {
			waitEcho(t, l, gw, network, UplinkName, 10*time.Second)
			waitEcho(t, l, gw, network, "", 10*time.Second)
		}
	}
	if c, err := config.Load(s.Nodes[2].Config); err != nil || c.IGS.ShareInternet {
		t.Errorf("n3 shares an uplink: %v", err)
	}

	// A cut uplink: nothing leaves through it, until it is restored. (Not
	// checked without the device: n1 may then reach the Internet through
	// n5 over the mesh, as IGS intends.)
	if err := l.Uplink("n1", false); err != nil {
		t.Fatal(err)
	}
	for _, network := range []string{"tcp", "udp"} {
		if err := echoFrom(l, "n1", network, UplinkName, 2*time.Second); err == nil {
			t.Errorf("n1 reaches the echo server over %s through its cut uplink", network)
		}
	}
	waitEcho(t, l, "n5", "tcp", UplinkName, 5*time.Second)
	if err := l.Uplink("n1", true); err != nil {
		t.Fatal(err)
	}
	for _, network := range []string{"tcp", "udp"} {
		waitEcho(t, l, "n1", network, UplinkName, 10*time.Second)
	}
	st, err := l.Status()
	if err != nil || len(st.Gateways) != 2 || !st.Gateways[0].Up || !st.Gateways[1].Up {
		t.Fatalf("gateways after the restore: %+v %v", st.Gateways, err)
	}

	var pids []int
	for i := range s.Nodes {
		pids = append(pids, daemonPID(&s.Nodes[i]))
	}
	pids = append(pids, s.EchoPID())
	if slices.Contains(pids, 0) {
		t.Fatalf("something is not running: %v", pids)
	}
	if _, err := l.Down(); err != nil {
		t.Fatal(err)
	}
	if left, _ := namespaces(l.Prefix); len(left) > 0 {
		t.Errorf("namespaces left: %v", left)
	}
	for _, p := range pids {
		if alive(p) {
			t.Errorf("process %d survived down", p)
		}
	}
}

// Islands and gateways in one lab: the islands' internet and the WAN are
// two namespaces, and a gate can also be a gateway.
func TestUpIslandsAndGateways(t *testing.T) {
	l := testLab(t)
	s, err := l.Up(context.Background(), UpOptions{Topology: mustRing(t, 3), Ntkd: fakeDaemon(t), Islands: 2, Gateways: []string{"n1", "n5"}})
	if err != nil {
		t.Fatal(err)
	}
	names, _ := namespaces(l.Prefix)
	if len(names) != 8 || !slices.Contains(names, s.Internet) || !slices.Contains(names, s.WAN.Namespace) {
		t.Fatalf("namespaces %v", names)
	}
	n1 := links(t, l.Prefix+"n1")
	if _, ok := n1[gateIface]; !ok {
		t.Errorf("gate n1 is off the islands' internet: %v", n1)
	}
	if _, ok := n1[UplinkName]; !ok {
		t.Errorf("gateway n1 has no uplink: %v", n1)
	}
	rep, err := l.Down()
	if err != nil || len(rep.Namespaces) != 8 || len(rep.Killed) != 7 {
		t.Errorf("down: %+v %v", rep, err)
	}
}
