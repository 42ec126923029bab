package lab

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/ntkd/ntkd/internal/config"
	"github.com/ntkd/ntkd/internal/topo"
)

// testLab returns a lab of its own for the test: a directory under the
// test's temporary directory and a namespace prefix made of the pid and the
// test's name, so that it never meets a real lab nor another test. Down
// runs at cleanup, whatever happens.
func testLab(t *testing.T) Lab {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("not root: the lab needs network namespaces")
	}
	h := fnv.New32a()
	h.Write([]byte(t.Name()))
	l := Lab{Dir: filepath.Join(t.TempDir(), "lab"), Prefix: fmt.Sprintf("ntkdt%d-%x-", os.Getpid(), h.Sum32())}
	t.Cleanup(func() {
		if _, err := l.Down(); err != nil {
			t.Errorf("cleanup: %v", err)
		}
		if left, _ := namespaces(l.Prefix); len(left) > 0 {
			t.Errorf("cleanup left namespaces %v", left)
		}
	})
	return l
}

// fakeDaemon writes a stand-in for ntkd that records its arguments in its
// working directory (the node's directory) and sleeps.
func fakeDaemon(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "fake-ntkd")
	script := "#!/bin/sh\nprintf '%s\\n' \"$@\" > args\nexec sleep 3600\n"
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func upRing(t *testing.T, l Lab, n int) *State {
	t.Helper()
	tp, err := topo.Ring(n, topo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := l.Up(context.Background(), UpOptions{Topology: tp, Name: "ring", Ntkd: fakeDaemon(t)})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// links returns the non-loopback interfaces of a namespace by name.
func links(t *testing.T, namespace string) map[string]netlink.Link {
	t.Helper()
	out := map[string]netlink.Link{}
	err := withHandle(namespace, func(h *netlink.Handle) error {
		ls, err := h.LinkList()
		for _, l := range ls {
			out[l.Attrs().Name] = l
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func adminUp(l netlink.Link) bool { return l.Attrs().Flags&net.FlagUp != 0 }

func TestUpRing(t *testing.T) {
	l := testLab(t)
	s := upRing(t, l, 4)

	names, err := namespaces(l.Prefix)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	want := []string{l.Prefix + "n1", l.Prefix + "n2", l.Prefix + "n3", l.Prefix + "n4"}
	if !slices.Equal(names, want) {
		t.Fatalf("namespaces %v, want %v", names, want)
	}
	peers := map[string][]string{"n1": {"n2", "n4"}, "n2": {"n1", "n3"}, "n3": {"n2", "n4"}, "n4": {"n1", "n3"}}
	for _, n := range s.Nodes {
		ls := links(t, n.Namespace)
		if lo, ok := ls["lo"]; !ok || !adminUp(lo) {
			t.Errorf("%s: loopback missing or down", n.Name)
		}
		delete(ls, "lo")
		var got []string
		for name, lk := range ls {
			got = append(got, name)
			if lk.Type() != "veth" || !adminUp(lk) {
				t.Errorf("%s: %s is a %s, up=%v", n.Name, name, lk.Type(), adminUp(lk))
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, peers[n.Name]) || !slices.Equal(n.Interfaces, peers[n.Name]) {
			t.Errorf("%s: interfaces %v (state %v), want %v", n.Name, got, n.Interfaces, peers[n.Name])
		}
		// The veths inherited the namespace's no-DAD default.
		var dad []byte
		err := inNamespace(n.Namespace, func() (err error) {
			dad, err = os.ReadFile("/proc/sys/net/ipv6/conf/" + n.Interfaces[0] + "/accept_dad")
			return err
		})
		if err != nil || strings.TrimSpace(string(dad)) != "0" {
			t.Errorf("%s: accept_dad %q %v", n.Name, dad, err)
		}

		c, err := config.Load(n.Config)
		if err != nil {
			t.Fatalf("%s: %v", n.Name, err)
		}
		if len(c.Interfaces) != 2 || c.Interfaces[0].Name != n.Interfaces[0] || c.Control.Socket != n.Socket ||
			!c.ANDNA.Enabled || len(c.ANDNA.Names) != 1 || c.ANDNA.Names[0] != n.Name || c.DNS.Listen != fmt.Sprintf("127.0.0.1:%d", DNSPort) {
			t.Errorf("%s: config %+v", n.Name, c)
		}

		pid := daemonPID(&n)
		if pid == 0 {
			t.Fatalf("%s: daemon not running", n.Name)
		}
		args := waitFile(t, filepath.Join(n.Dir, "args"))
		if args != "run\n-c\n"+n.Config+"\n" {
			t.Errorf("%s: daemon arguments %q", n.Name, args)
		}
	}
	// Both ends of every link up means carrier on both: the kernel says
	// so after its link watch runs (up to a second).
	for _, n := range s.Nodes {
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			var down []string
			for name, lk := range links(t, n.Namespace) {
				if name != "lo" && lk.Attrs().OperState != netlink.OperUp {
					down = append(down, name+" "+lk.Attrs().OperState.String())
				}
			}
			if len(down) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("%s: %v", n.Name, down)
				break
			}
		}
	}

	loaded, err := l.Load()
	if err != nil || len(loaded.Nodes) != 4 || len(loaded.Links) != 4 || loaded.Prefix != l.Prefix {
		t.Fatalf("state: %+v %v", loaded, err)
	}
	if _, err := l.Up(context.Background(), UpOptions{Topology: mustRing(t, 3), Ntkd: s.Ntkd}); err == nil || !strings.Contains(err.Error(), "down") {
		t.Errorf("a second Up over a running lab: %v", err)
	}
}

func mustRing(t *testing.T, n int) *topo.Topology {
	tp, err := topo.Ring(n, topo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return tp
}

// waitFile returns the content of a file some process writes soon.
func waitFile(t *testing.T, path string) string {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		b, err := os.ReadFile(path)
		if err == nil && len(b) > 0 && b[len(b)-1] == '\n' && strings.Count(string(b), "\n") >= 3 {
			return string(b)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never written: %v", path, err)
		}
	}
}

func TestUpFailureCleansUp(t *testing.T) {
	l := testLab(t)
	// A daemon that exits at once: Up must fail and leave nothing.
	bin := filepath.Join(t.TempDir(), "false")
	os.WriteFile(bin, []byte("#!/bin/sh\nexit 1\n"), 0o755)
	_, err := l.Up(context.Background(), UpOptions{Topology: mustRing(t, 3), Ntkd: bin})
	if err == nil {
		t.Fatal("Up succeeded with a daemon that exits at once")
	}
	if names, _ := namespaces(l.Prefix); len(names) > 0 {
		t.Errorf("left namespaces %v", names)
	}
	if _, err := os.Stat(l.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("left the directory: %v", err)
	}
	if _, err := l.Up(context.Background(), UpOptions{Topology: mustRing(t, 3), Ntkd: filepath.Join(l.Dir, "nothing")}); err == nil {
		t.Error("a missing binary was accepted")
	}
}

// addAddr gives a node its mesh address on its first veth, as the daemon
// would.
func addAddr(t *testing.T, s *State, node, addr string) {
	t.Helper()
	n, _ := s.Node(node)
	err := withHandle(n.Namespace, func(h *netlink.Handle) error {
		lk, err := h.LinkByName(n.Interfaces[0])
		if err != nil {
			return err
		}
		a, _ := netlink.ParseAddr(addr + "/32")
		return h.AddrAdd(lk, a)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// addRoute adds a route of node out of its veth towards via.
func addRoute(t *testing.T, s *State, node, via, dst string, proto netlink.RouteProtocol, typ int) {
	t.Helper()
	n, _ := s.Node(node)
	err := withHandle(n.Namespace, func(h *netlink.Handle) error {
		_, d, _ := net.ParseCIDR(dst)
		r := &netlink.Route{Dst: d, Protocol: proto, Type: typ}
		if typ == unix.RTN_UNICAST {
			lk, err := h.LinkByName(via)
			if err != nil {
				return err
			}
			r.LinkIndex, r.Scope = lk.Attrs().Index, netlink.SCOPE_LINK
		}
		return h.RouteAdd(r)
	})
	if err != nil {
		t.Fatalf("%s: route %s: %v", node, dst, err)
	}
}

func TestStatusReachability(t *testing.T) {
	l := testLab(t)
	s := upRing(t, l, 4) // n1-n2-n3-n4-n1

	st, err := l.Status()
	if err != nil {
		t.Fatal(err)
	}
	if st.Full || st.Hooked != 0 || st.Reached != 0 || st.Pairs != 12 || st.Running != 4 {
		t.Fatalf("fresh lab: %+v", st)
	}

	addrs := map[string]string{"n1": "10.1.0.1", "n2": "10.1.0.2", "n3": "10.2.0.3", "n4": "10.2.0.4"}
	for n, a := range addrs {
		addAddr(t, s, n, a)
	}
	uni := unix.RTN_UNICAST
	// n1: a host route to n2, a gnode route covering n3 and n4, and a
	// longer unreachable route for n4 that must win over the gnode route.
	addRoute(t, s, "n1", "n2", "10.1.0.2/32", RouteProtocol, uni)
	addRoute(t, s, "n1", "n2", "10.2.0.0/24", RouteProtocol, uni)
	addRoute(t, s, "n1", "", "10.2.0.4/32", RouteProtocol, unix.RTN_UNREACHABLE)
	// n2: all three as host routes, one of them in another protocol,
	// which does not count.
	addRoute(t, s, "n2", "n1", "10.1.0.1/32", RouteProtocol, uni)
	addRoute(t, s, "n2", "n3", "10.2.0.3/32", RouteProtocol, uni)
	addRoute(t, s, "n2", "n3", "10.2.0.4/32", unix.RTPROT_STATIC, uni)
	// n3 and n4: a gnode route each for the other gnode, host routes
	// inside theirs.
	addRoute(t, s, "n3", "n2", "10.1.0.0/24", RouteProtocol, uni)
	addRoute(t, s, "n3", "n4", "10.2.0.4/32", RouteProtocol, uni)
	addRoute(t, s, "n4", "n1", "10.1.0.0/24", RouteProtocol, uni)
	addRoute(t, s, "n4", "n3", "10.2.0.3/32", RouteProtocol, uni)

	st, err = l.Status()
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]NodeStatus{}
	for _, n := range st.Nodes {
		byName[n.Name] = n
		if n.Error != "" || !n.Hooked || n.Address != netip.MustParseAddr(addrs[n.Name]) {
			t.Errorf("%s: %+v", n.Name, n)
		}
	}
	check := func(node string, routes, reaches int, unreached ...string) {
		t.Helper()
		n := byName[node]
		if n.Routes != routes || n.Reaches != reaches || !slices.Equal(n.Unreached, unreached) {
			t.Errorf("%s: routes %d reaches %d unreached %v, want %d %d %v", node, n.Routes, n.Reaches, n.Unreached, routes, reaches, unreached)
		}
	}
	check("n1", 3, 2, "n4")
	check("n2", 2, 2, "n4")
	check("n3", 2, 3)
	check("n4", 2, 3)
	if st.Full || st.Hooked != 4 || st.Reached != 10 {
		t.Errorf("status: full %v hooked %d reached %d", st.Full, st.Hooked, st.Reached)
	}

	// Completing the routes makes the lab full.
	n1, _ := s.Node("n1")
	withHandle(n1.Namespace, func(h *netlink.Handle) error {
		_, d, _ := net.ParseCIDR("10.2.0.4/32")
		return h.RouteDel(&netlink.Route{Dst: d, Protocol: RouteProtocol, Type: unix.RTN_UNREACHABLE})
	})
	addRoute(t, s, "n2", "n3", "10.2.0.0/24", RouteProtocol, uni)
	st, err = l.Wait(context.Background(), 10*time.Millisecond, nil)
	if err != nil || !st.Full || st.Reached != 12 {
		t.Fatalf("completed routes: %+v %v", st, err)
	}

	// Wait gives up on its context, and at the progress function's word.
	addRoute(t, s, "n3", "", "10.1.0.1/32", RouteProtocol, unix.RTN_UNREACHABLE)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if st, err := l.Wait(ctx, 10*time.Millisecond, nil); !errors.Is(err, context.DeadlineExceeded) || st == nil || st.Full {
		t.Errorf("Wait on a lab that is not full: %v", err)
	}
	stop := errors.New("stop")
	if _, err := l.Wait(context.Background(), 10*time.Millisecond, func(*Status) error { return stop }); err != stop {
		t.Errorf("Wait ignored progress: %v", err)
	}

	// A crashed daemon's old address stays on an interface that is down:
	// lower than the node's own, it is still not the node's address.
	err = withHandle(n1.Namespace, func(h *netlink.Handle) error {
		lk, err := h.LinkByName(n1.Interfaces[1])
		if err != nil {
			return err
		}
		a, _ := netlink.ParseAddr("10.0.0.9/32")
		if err := h.AddrAdd(lk, a); err != nil {
			return err
		}
		return h.LinkSetDown(lk)
	})
	if err != nil {
		t.Fatal(err)
	}
	if st, err = l.Status(); err != nil || st.Nodes[0].Address != netip.MustParseAddr("10.1.0.1") {
		t.Errorf("n1 with a stale address on a down interface: %+v %v", st.Nodes[0], err)
	}
}

func TestCutRestore(t *testing.T) {
	l := testLab(t)
	s := upRing(t, l, 4)
	ifState := func(node, ifc string) bool {
		n, _ := s.Node(node)
		return adminUp(links(t, n.Namespace)[ifc])
	}
	linkUp := func(a, b string) bool {
		st, err := l.Status()
		if err != nil {
			t.Fatal(err)
		}
		for _, lk := range st.Links {
			if lk.A == a && lk.B == b {
				return lk.Up
			}
		}
		t.Fatalf("no link %s-%s in status", a, b)
		return false
	}

	if err := l.Cut("n2", "n1", false); err != nil {
		t.Fatal(err)
	}
	if ifState("n1", "n2") || ifState("n2", "n1") || linkUp("n1", "n2") {
		t.Error("after cut, the link is still up")
	}
	if !ifState("n1", "n4") || !linkUp("n1", "n4") {
		t.Error("cut took another link down")
	}
	if err := l.Restore("n1", "n2"); err != nil {
		t.Fatal(err)
	}
	if !ifState("n1", "n2") || !ifState("n2", "n1") || !linkUp("n1", "n2") {
		t.Error("after restore, the link is still down")
	}
	if err := l.Cut("n1", "n3", false); err == nil {
		t.Error("cut of a link that does not exist")
	}

	t.Run("silent", func(t *testing.T) {
		if _, err := exec.LookPath("nft"); err != nil {
			t.Skip("nft (nftables) is not installed")
		}
		probe := newProbe(t, s, "n1", "n2")
		if !probe.passes(true) {
			t.Fatal("no traffic over n1-n2 before the cut")
		}
		if err := l.Cut("n1", "n2", true); err != nil {
			t.Fatal(err)
		}
		if err := l.Cut("n1", "n4", true); err != nil {
			t.Fatal(err)
		}
		for _, p := range [][2]string{{"n1", "n2"}, {"n2", "n1"}, {"n1", "n4"}} {
			if on, err := l.Silenced(p[0], p[1]); err != nil || !on {
				t.Errorf("%s towards %s not silenced: %v", p[0], p[1], err)
			}
		}
		if !ifState("n1", "n2") || !ifState("n2", "n1") || !linkUp("n1", "n2") {
			t.Error("a silent cut took the interfaces down")
		}
		st, _ := l.Status()
		if err := l.FindSilentCuts(st); err != nil {
			t.Fatal(err)
		}
		var silent []string
		for _, lk := range st.Links {
			if lk.Silent {
				silent = append(silent, lk.A+"-"+lk.B)
			}
		}
		if !slices.Equal(silent, []string{"n1-n2", "n1-n4"}) {
			t.Errorf("silent cuts found: %v", silent)
		}
		if probe.passes(false) {
			t.Error("traffic passes a silent cut")
		}
		if err := l.Restore("n2", "n1"); err != nil {
			t.Fatal(err)
		}
		if on, _ := l.Silenced("n2", "n1"); on {
			t.Error("n2 still silenced after restore")
		}
		if on, _ := l.Silenced("n1", "n4"); !on {
			t.Error("restoring n1-n2 also restored n1-n4")
		}
		if !probe.passes(true) {
			t.Error("no traffic after restore")
		}
		if err := l.Restore("n1", "n4"); err != nil {
			t.Fatal(err)
		}
		// The last restore removes the table.
		for _, node := range []string{"n1", "n2", "n4"} {
			if out, _ := l.Exec(context.Background(), node, "nft", "list", "tables"); strings.Contains(string(out), NftTable) {
				t.Errorf("%s: table left: %s", node, out)
			}
		}
	})
}

// probe sends UDP datagrams from one node to another over their link's
// IPv6 link-local addresses: the traffic a silent cut must stop.
type probe struct {
	t     *testing.T
	from  *net.UDPConn
	to    *net.UDPConn
	dst   *net.UDPAddr
	round int
}

func newProbe(t *testing.T, s *State, a, b string) *probe {
	t.Helper()
	na, _ := s.Node(a)
	nb, _ := s.Node(b)
	var ll netip.Addr
	var zone int
	withHandle(nb.Namespace, func(h *netlink.Handle) error {
		lk, err := h.LinkByName(a)
		if err != nil {
			return err
		}
		addrs, err := h.AddrList(lk, netlink.FAMILY_V6)
		for _, ad := range addrs {
			if ad.IP.IsLinkLocalUnicast() {
				ll, _ = netip.AddrFromSlice(ad.IP)
			}
		}
		return err
	})
	withHandle(na.Namespace, func(h *netlink.Handle) error {
		lk, err := h.LinkByName(b)
		if err == nil {
			zone = lk.Attrs().Index
		}
		return err
	})
	if !ll.IsValid() || zone == 0 {
		t.Fatalf("no link-local address on %s towards %s, or no interface", b, a)
	}
	p := &probe{t: t}
	// A socket belongs to the namespace it was created in, whatever thread
	// uses it later.
	listen := func(namespace, addr string) *net.UDPConn {
		var c *net.UDPConn
		err := inNamespace(namespace, func() (err error) {
			c, err = net.ListenUDP("udp6", net.UDPAddrFromAddrPort(netip.MustParseAddrPort(addr)))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	p.to = listen(nb.Namespace, "[::]:0")
	p.from = listen(na.Namespace, "[::]:0")
	p.dst = &net.UDPAddr{IP: ll.AsSlice(), Zone: strconv.Itoa(zone), Port: p.to.LocalAddr().(*net.UDPAddr).Port}
	return p
}

// passes sends datagrams for a while and says whether one arrived. When
// traffic is expected it stops at the first; when not, it keeps trying for
// a second, long enough for any datagram in flight on a veth. Each call
// sends its own payload, so that a datagram an earlier call left queued
// (several wait for neighbour discovery) does not count.
func (p *probe) passes(expect bool) bool {
	p.t.Helper()
	p.round++
	msg := fmt.Sprintf("probe %d", p.round)
	tries := 50 // 5 s: only bounds a failure
	if !expect {
		tries = 10
	}
	buf := make([]byte, 64)
	for range tries {
		if _, err := p.from.WriteToUDP([]byte(msg), p.dst); err != nil && expect {
			p.t.Logf("send: %v", err)
		}
		for deadline := time.Now().Add(100 * time.Millisecond); ; {
			p.to.SetReadDeadline(deadline)
			n, _, err := p.to.ReadFromUDP(buf)
			if err != nil {
				break
			}
			if string(buf[:n]) == msg {
				return true
			}
		}
	}
	return false
}

func TestKillStart(t *testing.T) {
	l := testLab(t)
	s := upRing(t, l, 3)
	n2, _ := s.Node("n2")
	first := daemonPID(n2)
	if first == 0 {
		t.Fatal("n2 not running")
	}
	if _, err := l.Start("n2"); err == nil {
		t.Error("started n2 twice")
	}

	pid, err := l.Kill("n2", false)
	if err != nil || pid != first {
		t.Fatalf("kill: pid %d (want %d), %v", pid, first, err)
	}
	if alive(first) {
		t.Error("the killed daemon is alive")
	}
	if st, _ := l.Status(); st.Running != 2 || st.Nodes[1].Running {
		t.Errorf("status after kill: %d running", st.Running)
	}
	if _, err := l.Kill("n2", false); err == nil {
		t.Error("killed a daemon that is not running")
	}

	second, err := l.Start("n2")
	if err != nil {
		t.Fatal(err)
	}
	if second == first || daemonPID(n2) != second || !runsIn(second, n2.Namespace) {
		t.Errorf("restart: pid %d after %d, pid file says %d", second, first, daemonPID(n2))
	}
	if pid, err := l.Kill("n2", true); err != nil || pid != second || alive(second) {
		t.Errorf("kill --term: %d %v", pid, err)
	}
	if _, err := l.Kill("n9", false); err == nil {
		t.Error("killed a node that does not exist")
	}
	// A stale pid file naming some other live process is not ours.
	os.WriteFile(n2.PIDFile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644)
	if _, err := l.Kill("n2", false); err == nil {
		t.Error("Kill signalled a process outside the lab")
	}
}

func TestExec(t *testing.T) {
	l := testLab(t)
	upRing(t, l, 3)
	out, err := l.Exec(context.Background(), "n3", "ip", "-o", "link", "show")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), " n1@") || !strings.Contains(string(out), " n2@") {
		t.Errorf("n3's links: %s", out)
	}
	if _, err := l.Exec(context.Background(), "n3", "false"); err == nil {
		t.Error("a failing command reported success")
	}
	if _, err := l.Exec(context.Background(), "n7", "true"); err == nil {
		t.Error("exec on a node that does not exist")
	}
}

func TestDown(t *testing.T) {
	l := testLab(t)
	s := upRing(t, l, 4)
	var pids []int
	for i := range s.Nodes {
		pids = append(pids, daemonPID(&s.Nodes[i]))
	}
	// A namespace that only shares the beginning of the prefix is not ours.
	other := strings.TrimSuffix(l.Prefix, "-") + "x-n1"
	if err := ipCmd("netns", "add", other); err != nil {
		t.Fatal(err)
	}
	defer deleteNamespace(other)

	rep, err := l.Down()
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Namespaces) != 4 || len(rep.Killed) != 4 || !rep.DirRemoved {
		t.Errorf("report %+v", rep)
	}
	for _, p := range pids {
		if alive(p) {
			t.Errorf("daemon %d survived", p)
		}
	}
	if names, _ := namespaces(l.Prefix); len(names) > 0 {
		t.Errorf("namespaces left: %v", names)
	}
	if _, err := os.Stat(l.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("directory left: %v", err)
	}
	if _, err := os.Stat(filepath.Join(netnsDir, other)); err != nil {
		t.Errorf("Down removed %s, which is not the lab's: %v", other, err)
	}
	rep, err = l.Down()
	if err != nil || !rep.Nothing() {
		t.Errorf("second Down: %+v %v", rep, err)
	}
	if _, err := l.Status(); !errors.Is(err, ErrNoLab) {
		t.Errorf("Status without a lab: %v", err)
	}
}

func TestDownAfterCrash(t *testing.T) {
	l := testLab(t)
	s := upRing(t, l, 3)
	var pids []int
	for i := range s.Nodes {
		pids = append(pids, daemonPID(&s.Nodes[i]))
	}
	// The state file is gone, as after a crash of the machine's /run or a
	// careless rm: Down still finds everything by the prefix.
	if err := os.Remove(filepath.Join(l.Dir, stateFile)); err != nil {
		t.Fatal(err)
	}
	rep, err := l.Down()
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Namespaces) != 3 || len(rep.Killed) != 3 || !rep.DirRemoved {
		t.Errorf("report %+v", rep)
	}
	for _, p := range pids {
		if alive(p) {
			t.Errorf("daemon %d survived", p)
		}
	}
	if names, _ := namespaces(l.Prefix); len(names) > 0 {
		t.Errorf("namespaces left: %v", names)
	}

	// Without even the directory, and a namespace half made.
	upRing(t, l, 2)
	if err := os.RemoveAll(l.Dir); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(netnsDir, l.Prefix+"n9"), nil, 0o444)
	rep, err = l.Down()
	if err != nil || len(rep.Namespaces) != 3 || len(rep.Killed) != 2 {
		t.Errorf("Down without a directory: %+v %v", rep, err)
	}
	if names, _ := namespaces(l.Prefix); len(names) > 0 {
		t.Errorf("namespaces left: %v", names)
	}
}

func TestDownKeepsForeignDirectory(t *testing.T) {
	l := testLab(t)
	if err := os.MkdirAll(filepath.Join(l.Dir, "n1"), 0o755); err != nil {
		t.Fatal(err)
	}
	rep, err := l.Down()
	if err != nil || rep.DirRemoved || !rep.DirKept {
		t.Errorf("Down on a directory Up did not make: %+v %v", rep, err)
	}
	if _, err := os.Stat(filepath.Join(l.Dir, "n1")); err != nil {
		t.Errorf("Down deleted a directory that is not a lab's: %v", err)
	}
	if _, err := l.Up(context.Background(), UpOptions{Topology: mustRing(t, 3), Ntkd: fakeDaemon(t)}); err == nil {
		t.Error("Up used a non-empty directory that is not a lab's")
	}
}
