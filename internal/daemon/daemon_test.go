package daemon

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ntkd/ntkd/internal/config"
	"github.com/ntkd/ntkd/internal/ctl"
	"github.com/ntkd/ntkd/internal/kernel"
	"github.com/ntkd/ntkd/internal/node"
	"github.com/ntkd/ntkd/internal/radar"
	"github.com/ntkd/ntkd/internal/transport"
	"github.com/ntkd/ntkd/internal/tunnel"
	"github.com/ntkd/ntkd/internal/vlink"
)

// hub joins fake transports: each link joins (daemon a, iface ia) to
// (daemon b, iface ib); broadcasts reach the other end of the link.
type hub struct {
	mu   sync.Mutex
	ends map[[2]int][2]int // (daemon, iface) -> (daemon, iface)
	trs  []*fakeTransport
	cut  map[[2]int]bool
}

func newHub(n int) *hub {
	h := &hub{ends: map[[2]int][2]int{}, cut: map[[2]int]bool{}}
	for i := range n {
		h.trs = append(h.trs, &fakeTransport{h: h, me: i, recv: make(chan transport.Packet, 4096), ifaces: map[int]bool{}})
	}
	return h
}

func (h *hub) link(a, ia, b, ib int) {
	h.ends[[2]int{a, ia}] = [2]int{b, ib}
	h.ends[[2]int{b, ib}] = [2]int{a, ia}
}

func (h *hub) setCut(a, ia int, cut bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	o := h.ends[[2]int{a, ia}]
	h.cut[[2]int{a, ia}], h.cut[o] = cut, cut
}

type fakeTransport struct {
	h      *hub
	me     int
	recv   chan transport.Packet
	mu     sync.Mutex
	ifaces map[int]bool
}

func peerOf(daemon int) radar.PeerID { return radar.PeerID(daemon + 1) }

func (t *fakeTransport) AddIface(iface int, _ string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.ifaces[iface] = true
	return nil
}

func (t *fakeTransport) RemoveIface(iface int) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.ifaces, iface)
	return nil
}

func (t *fakeTransport) Send(s node.Send) error {
	t.h.mu.Lock()
	o, ok := t.h.ends[[2]int{t.me, s.Iface}]
	cut := t.h.cut[[2]int{t.me, s.Iface}]
	t.h.mu.Unlock()
	if !ok || cut {
		return nil
	}
	if s.To != radar.Broadcast && s.To != peerOf(o[0]) {
		return fmt.Errorf("no peer %d on iface %d", s.To, s.Iface)
	}
	dst := t.h.trs[o[0]]
	dst.mu.Lock()
	up := dst.ifaces[o[1]]
	dst.mu.Unlock()
	if !up {
		return nil
	}
	select {
	case dst.recv <- transport.Packet{Iface: o[1], From: peerOf(t.me), Data: append([]byte(nil), s.Data...)}:
	default:
	}
	return nil
}

func (t *fakeTransport) Recv() <-chan transport.Packet { return t.recv }
func (t *fakeTransport) PeerAddr(p radar.PeerID) (int, netip.Addr, bool) {
	return 0, netip.AddrFrom16([16]byte{0xfe, 0x80, 15: byte(p)}), true
}
func (t *fakeTransport) Stats() transport.Stats { return transport.Stats{} }
func (t *fakeTransport) Close() error           { return nil }

// fakeKernel keeps the routes and addresses it was given.
type fakeKernel struct {
	mu     sync.Mutex
	routes map[netip.Prefix]kernel.Route
	addrs  map[int]netip.Prefix
	syncs  int
}

func newFakeKernel() *fakeKernel {
	return &fakeKernel{routes: map[netip.Prefix]kernel.Route{}, addrs: map[int]netip.Prefix{}}
}

func (k *fakeKernel) Sync(want []kernel.Route) (kernel.SyncStats, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.syncs++
	var st kernel.SyncStats
	next := map[netip.Prefix]kernel.Route{}
	for _, r := range want {
		next[r.Dst] = r
		if _, ok := k.routes[r.Dst]; !ok {
			st.Added++
		}
	}
	st.Removed = len(k.routes) + st.Added - len(next)
	k.routes = next
	return st, nil
}
func (k *fakeKernel) Resync() (kernel.SyncStats, error) { return kernel.SyncStats{}, nil }
func (k *fakeKernel) Installed() ([]kernel.Route, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	var out []kernel.Route
	for _, r := range k.routes {
		out = append(out, r)
	}
	return out, nil
}
func (k *fakeKernel) Flush() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.routes = map[netip.Prefix]kernel.Route{}
	return nil
}
func (k *fakeKernel) SetAddr(ifindex int, a netip.Prefix) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.addrs[ifindex] = a
	return nil
}
func (k *fakeKernel) DelAddr(ifindex int, a netip.Prefix) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.addrs[ifindex] == a {
		delete(k.addrs, ifindex)
	}
	return nil
}
func (k *fakeKernel) PrepareIface(string) error { return nil }
func (k *fakeKernel) EnableForwarding() error   { return nil }
func (k *fakeKernel) NeighbourMAC(int, netip.Addr) (net.HardwareAddr, bool) {
	return nil, false
}

func (k *fakeKernel) snapshot() (map[netip.Prefix]kernel.Route, map[int]netip.Prefix) {
	k.mu.Lock()
	defer k.mu.Unlock()
	r := map[netip.Prefix]kernel.Route{}
	for p, v := range k.routes {
		r[p] = v
	}
	a := map[int]netip.Prefix{}
	for i, v := range k.addrs {
		a[i] = v
	}
	return r, a
}

// fakeLinks: every interface "ethN" exists with ifindex 10+N and is up
// unless marked down.
type fakeLinks struct {
	mu   sync.Mutex
	down map[string]bool
}

func (l *fakeLinks) ByName(name string) (int, bool, bool) {
	var n int
	if _, err := fmt.Sscanf(name, "eth%d", &n); err != nil {
		return 0, false, false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return 10 + n, !l.down[name], true
}

func (l *fakeLinks) Addrs(string) []netip.Prefix { return nil }

func fastTimers(c *node.Config) {
	c.Radar.Interval = 300 * time.Millisecond
	c.Radar.ProbeTimeout = 100 * time.Millisecond
	c.Radar.BurstGap = 5 * time.Millisecond
	c.Radar.Burst = 4
	c.HookScan = 400 * time.Millisecond
	c.RequestTimeout = 500 * time.Millisecond
	c.WaitRound = 2 * time.Second
	c.RoundSettle = 500 * time.Millisecond
}

type testNet struct {
	hub     *hub
	ds      []*Daemon
	ks      []*fakeKernel
	links   []*fakeLinks
	cancels []context.CancelFunc
	done    []chan error
}

// line builds n daemons in a line: daemon i's eth1 is joined to daemon
// i+1's eth0.
func line(t *testing.T, n int) *testNet {
	t.Helper()
	tn := &testNet{hub: newHub(n)}
	for i := range n {
		cfg := config.Default()
		cfg.Interfaces = []config.Interface{{Name: "eth0"}, {Name: "eth1"}}
		k := newFakeKernel()
		fl := &fakeLinks{down: map[string]bool{}}
		d, err := New(Options{Config: cfg, Version: "test", Transport: tn.hub.trs[i], Kernel: k, Links: fl, Seed: uint64(i + 1), Timers: fastTimers,
			ANDNAKey: ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))})
		if err != nil {
			t.Fatal(err)
		}
		tn.ds, tn.ks, tn.links = append(tn.ds, d), append(tn.ks, k), append(tn.links, fl)
		if i > 0 {
			tn.hub.link(i-1, 1, i, 0)
		}
	}
	tn.run(t, 50*time.Millisecond)
	return tn
}

// run starts every daemon, each stagger after the one before, and stops
// them all when the test ends.
func (tn *testNet) run(t *testing.T, stagger time.Duration) {
	for i, d := range tn.ds {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		tn.cancels, tn.done = append(tn.cancels, cancel), append(tn.done, done)
		time.Sleep(time.Duration(i) * stagger)
		go func() { done <- d.Run(ctx) }()
	}
	t.Cleanup(tn.stop)
}

func (tn *testNet) stop() {
	for i, c := range tn.cancels {
		if c != nil {
			c()
			<-tn.done[i]
			tn.cancels[i] = nil
		}
	}
}

// full reports whether every daemon has a route covering every other's address.
func (tn *testNet) full() (bool, string) {
	var addrs []netip.Addr
	for i, d := range tn.ds {
		st, err := d.Handle(context.Background(), ctl.Request{Cmd: ctl.CmdStatus})
		if err != nil {
			return false, err.Error()
		}
		s := st.(ctl.Status)
		if s.Address == "" {
			return false, fmt.Sprintf("daemon %d not hooked (%s)", i, s.State)
		}
		addrs = append(addrs, netip.MustParseAddr(s.Address))
	}
	for i, k := range tn.ks {
		routes, _ := k.snapshot()
		for j, a := range addrs {
			if i == j {
				continue
			}
			ok := false
			for p := range routes {
				if p.Contains(a) {
					ok = true
				}
			}
			if !ok {
				return false, fmt.Sprintf("daemon %d has no route to %v", i, a)
			}
		}
	}
	return true, ""
}

func waitFor(t *testing.T, what string, limit time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(limit)
	var why string
	for time.Now().Before(deadline) {
		var ok bool
		if ok, why = cond(); ok {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s: not after %v: %s", what, limit, why)
}

func TestLineConvergesAndCleansUp(t *testing.T) {
	tn := line(t, 4)
	waitFor(t, "full routes", 30*time.Second, tn.full)

	// Addresses sit on the active interfaces; routes use the neighbours'
	// mesh addresses as gateways on the right ifindex.
	routes, addrs := tn.ks[1].snapshot()
	if len(addrs) != 2 || addrs[10] != addrs[11] {
		t.Fatalf("daemon 1 addresses %v, want one address on eth0 and eth1", addrs)
	}
	for p, r := range routes {
		for _, h := range r.Nexthops {
			if h.LinkIndex != 10 && h.LinkIndex != 11 || !h.Gw.IsValid() || h.Weight < 1 {
				t.Fatalf("route %v: bad nexthop %+v", p, h)
			}
		}
	}

	// The control answers are complete enough for ctl and LuCI.
	ans, err := tn.ds[1].Handle(context.Background(), ctl.Request{Cmd: ctl.CmdNeighbours})
	if err != nil {
		t.Fatal(err)
	}
	if nbs := ans.([]ctl.Neighbour); len(nbs) != 2 || nbs[0].Address == "" || nbs[0].Cost == 0 {
		t.Fatalf("neighbours of daemon 1: %+v", nbs)
	}
	ans, err = tn.ds[1].Handle(context.Background(), ctl.Request{Cmd: ctl.CmdRoutes})
	if err != nil {
		t.Fatal(err)
	}
	if rs := ans.(ctl.Routes); len(rs.Ours) != 3 || len(rs.Missing) != 0 || len(rs.Extra) != 0 {
		t.Fatalf("routes of daemon 1: %+v", rs)
	}
	for _, cmd := range ctl.Commands {
		if _, err := tn.ds[0].Handle(context.Background(), ctl.Request{Cmd: cmd}); err != nil {
			t.Errorf("%s: %v", cmd, err)
		}
	}
	if _, err := tn.ds[0].Handle(context.Background(), ctl.Request{Cmd: "bogus"}); err == nil {
		t.Error("an unknown command was answered")
	}

	// Stopping leaves no route and no address behind.
	tn.stop()
	for i, k := range tn.ks {
		if r, a := k.snapshot(); len(r) != 0 || len(a) != 0 {
			t.Errorf("daemon %d left routes %v addresses %v", i, r, a)
		}
	}
}

// An interface that loses its carrier takes its routes away at once; when
// it comes back the routes return.
func TestInterfaceDownAndUp(t *testing.T) {
	tn := line(t, 3)
	waitFor(t, "full routes", 30*time.Second, tn.full)
	tn.links[1].mu.Lock()
	tn.links[1].down["eth1"] = true
	tn.links[1].mu.Unlock()
	tn.hub.setCut(1, 1, true)
	waitFor(t, "routes through eth1 gone", 10*time.Second, func() (bool, string) {
		routes, addrs := tn.ks[1].snapshot()
		if _, ok := addrs[11]; ok {
			return false, "address still on eth1"
		}
		for p, r := range routes {
			for _, h := range r.Nexthops {
				if h.LinkIndex == 11 {
					return false, fmt.Sprintf("%v still via eth1", p)
				}
			}
		}
		return true, ""
	})
	tn.links[1].mu.Lock()
	tn.links[1].down["eth1"] = false
	tn.links[1].mu.Unlock()
	tn.hub.setCut(1, 1, false)
	waitFor(t, "full routes again", 30*time.Second, tn.full)
}

// A reload adds and removes interfaces live.
func TestReloadInterfaces(t *testing.T) {
	tn := line(t, 2)
	waitFor(t, "full routes", 30*time.Second, tn.full)
	cfg := config.Default()
	cfg.Interfaces = []config.Interface{{Name: "eth0"}} // eth1 carries the only link of daemon 0
	if err := tn.ds[0].Reload(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "daemon 0 alone", 10*time.Second, func() (bool, string) {
		r, _ := tn.ks[0].snapshot()
		return len(r) == 0, fmt.Sprintf("%d routes", len(r))
	})
	cfg = config.Default()
	cfg.Interfaces = []config.Interface{{Name: "eth0"}, {Name: "eth1"}}
	if err := tn.ds[0].Reload(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "full routes again", 30*time.Second, tn.full)
}

func TestNewRefusesNoInterface(t *testing.T) {
	cfg := config.Default()
	_, err := New(Options{Config: cfg, Transport: newHub(1).trs[0], Kernel: newFakeKernel()})
	if err != ErrNoInterface {
		t.Fatalf("err %v, want ErrNoInterface", err)
	}
}

// TestANDNAOverTheDaemon: a name added to one daemon's configuration (by
// reload) resolves from the far end of the line, and the reverse lookup
// asks its node.
func TestANDNAOverTheDaemon(t *testing.T) {
	tn := line(t, 4)
	waitFor(t, "full routes", 30*time.Second, tn.full)
	cfg := config.Default()
	cfg.Interfaces = []config.Interface{{Name: "eth0"}, {Name: "eth1"}}
	cfg.ANDNA.Names = []string{"alpha"}
	if err := tn.ds[0].Reload(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	var owner netip.Addr
	if err := tn.ds[0].Do(context.Background(), func() { owner = tn.ds[0].node.Addr() }); err != nil {
		t.Fatal(err)
	}
	var last string
	waitFor(t, "alpha resolves from the far end", 30*time.Second, func() (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		addrs, ttl, err := tn.ds[3].Resolve(ctx, "alpha")
		last = fmt.Sprint(addrs, ttl, err)
		return err == nil && len(addrs) == 1 && addrs[0] == owner && ttl > 0, last
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	names, _, err := tn.ds[3].Reverse(ctx, owner)
	if err != nil || len(names) != 1 || names[0] != "alpha" {
		t.Fatalf("reverse of %v: %v %v", owner, names, err)
	}
	if _, _, err := tn.ds[3].Resolve(ctx, "nobody"); err == nil {
		t.Fatal("a name nobody registered resolved")
	}
}

func TestLoadOrCreateKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "etc", "ntkd")
	k1, err := LoadOrCreateKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, KeyFile))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", st, err)
	}
	k2, err := LoadOrCreateKey(dir)
	if err != nil || !k1.Equal(k2) {
		t.Fatalf("the key changed on the second start: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, KeyFile), []byte("not hex\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateKey(dir); err == nil {
		t.Fatal("a damaged key file was accepted")
	}
}

// fakeVLinks stands for internal/vlink: the tunnels "exist" as fakeLinks'
// ethN; it records what the daemon asks and fails the first Apply.
type fakeVLinks struct {
	mu             sync.Mutex
	applies, fails int
	closed         bool
	names          []string          // of the last Apply
	links          []config.VLink    // of the last Apply
	standby        map[string]string // what List says held each down (tests set it)
}

func (v *fakeVLinks) Apply(c *config.Config) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.applies++
	v.names = c.VLinkNames()
	v.links = nil
	if c.VLayer.Enabled {
		v.links = slices.Clone(c.VLayer.Links)
	}
	if v.applies <= v.fails {
		return errors.New("no tunnel yet")
	}
	return nil
}
func (v *fakeVLinks) List() []vlink.Info {
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []vlink.Info
	for i, l := range v.links {
		var k tunnel.Key
		k.UnmarshalText([]byte(l.PublicKey))
		name := v.names[i] // VLinkNames: one per link, in order
		out = append(out, vlink.Info{Name: name, PublicKey: k, ListenPort: l.ListenPort, Standby: v.standby[name]})
	}
	return out
}

// setStandby makes List say that name is held down for why.
func (v *fakeVLinks) setStandby(name, why string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.standby == nil {
		v.standby = map[string]string{}
	}
	v.standby[name] = why
}
func (v *fakeVLinks) PublicKey() tunnel.Key           { return tunnel.Key{} }
func (v *fakeVLinks) SetStandby(string, string) error { return nil }
func (v *fakeVLinks) Close() error                    { v.mu.Lock(); v.closed = true; v.mu.Unlock(); return nil }
func (v *fakeVLinks) state() (int, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.applies, v.closed
}

// TestVirtualLinks: a [[vlayer.link]] is one more mesh interface, marked
// virtual in the node; its tunnel is made at start, made again after a
// failure, and removed at exit.
func TestVirtualLinks(t *testing.T) {
	tn := &testNet{hub: newHub(2)}
	vl := &fakeVLinks{fails: 1}
	for i := range 2 {
		cfg := config.Default()
		cfg.Interfaces = []config.Interface{{Name: "eth0"}}
		var opts VLinks
		if i == 0 {
			cfg.VLayer.Enabled = true
			cfg.VLayer.Links = []config.VLink{{Name: "eth1", PublicKey: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}}
			opts = vl
		} else {
			cfg.Interfaces = append(cfg.Interfaces, config.Interface{Name: "eth1"})
		}
		k := newFakeKernel()
		d, err := New(Options{Config: cfg, Version: "test", Transport: tn.hub.trs[i], Kernel: k, Links: &fakeLinks{down: map[string]bool{}},
			Seed: uint64(i + 1), Timers: fastTimers, VLinks: opts, ANDNAKey: ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))})
		if err != nil {
			t.Fatal(err)
		}
		tn.ds, tn.ks = append(tn.ds, d), append(tn.ks, k)
	}
	tn.hub.link(0, 1, 1, 1) // daemon 0's tunnel eth1 to daemon 1's eth1
	tn.run(t, 0)
	waitFor(t, "routes over the virtual link", 30*time.Second, tn.full)
	var virtual, physical bool
	if err := tn.ds[0].Do(context.Background(), func() { virtual, physical = tn.ds[0].node.Virtual(1), tn.ds[0].node.Virtual(0) }); err != nil {
		t.Fatal(err)
	}
	if !virtual || physical {
		t.Errorf("virtual: eth1 %v (want true), eth0 %v (want false)", virtual, physical)
	}
	waitFor(t, "the failed Apply tried again", 2*ifaceScanEvery+time.Second, func() (bool, string) {
		n, _ := vl.state()
		return n >= 2, fmt.Sprintf("%d applies", n)
	})
	tn.stop()
	if _, closed := vl.state(); !closed {
		t.Error("the tunnels were not removed at exit")
	}
}

// TestManualVLinks: `ntkd ctl vlink add|del` makes and removes tunnels
// with the config file's checks; configured tunnels cannot be deleted
// that way; a node without the virtual layer refuses.
func TestManualVLinks(t *testing.T) {
	const keyA, keyB = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="
	tn := &testNet{hub: newHub(2)}
	vl := &fakeVLinks{}
	for i := range 2 {
		cfg := config.Default()
		cfg.Interfaces = []config.Interface{{Name: "eth0"}}
		var opts VLinks
		if i == 0 {
			cfg.VLayer.Enabled = true
			cfg.VLayer.Links = []config.VLink{{PublicKey: keyA, ListenPort: 27000, Endpoint: "192.0.2.1:27000"}}
			opts = vl
		}
		k := newFakeKernel()
		d, err := New(Options{Config: cfg, Version: "test", Transport: tn.hub.trs[i], Kernel: k, Links: &fakeLinks{down: map[string]bool{}},
			Seed: uint64(i + 1), Timers: fastTimers, VLinks: opts, ANDNAKey: ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))})
		if err != nil {
			t.Fatal(err)
		}
		tn.ds, tn.ks = append(tn.ds, d), append(tn.ks, k)
	}
	tn.run(t, 0)
	defer tn.stop()
	ctx := context.Background()
	call := func(d int, cmd, arg string, spec *ctl.VLinkSpec) (any, error) {
		return tn.ds[d].Handle(ctx, ctl.Request{Cmd: cmd, Arg: arg, VLink: spec})
	}
	ifaces := func() []string {
		var out []string
		_ = tn.ds[0].Do(ctx, func() {
			for _, ifc := range tn.ds[0].ifaces {
				if !ifc.removed {
					out = append(out, ifc.name)
				}
			}
		})
		return out
	}
	applied := func() []string { vl.mu.Lock(); defer vl.mu.Unlock(); return slices.Clone(vl.names) }

	out, err := call(0, ctl.CmdVLinkAdd, "198.51.100.7:27001", &ctl.VLinkSpec{PublicKey: keyB, ListenPort: 27001})
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := out.(ctl.VLink); !ok || v.Interface != "ntkm0" || !v.Manual {
		t.Errorf("vlink add answered %+v", out)
	}
	if got := applied(); !slices.Equal(got, []string{"ntkv0", "ntkm0"}) {
		t.Errorf("tunnels applied %v, want ntkv0 ntkm0", got)
	}
	if got := ifaces(); !slices.Contains(got, "ntkm0") {
		t.Errorf("interfaces %v lack ntkm0", got)
	}
	for _, c := range []struct {
		arg  string
		spec *ctl.VLinkSpec
		want string
	}{
		{"198.51.100.8:27002", &ctl.VLinkSpec{PublicKey: keyB}, "one tunnel per vnode"},
		{"198.51.100.8:27002", &ctl.VLinkSpec{PublicKey: "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=", ListenPort: 27000}, "each tunnel needs its own"},
		{"198.51.100.8", &ctl.VLinkSpec{PublicKey: keyB}, "ADDRESS:PORT"},
		{"198.51.100.8:1", &ctl.VLinkSpec{PublicKey: "short"}, "public key"},
		{"198.51.100.8:1", nil, "no public key"},
	} {
		if _, err := call(0, ctl.CmdVLinkAdd, c.arg, c.spec); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("vlink add %s %+v: %v, want an error with %q", c.arg, c.spec, err, c.want)
		}
	}
	if got := applied(); !slices.Equal(got, []string{"ntkv0", "ntkm0"}) {
		t.Errorf("refused adds changed the tunnels: %v", got)
	}
	if _, err := call(0, ctl.CmdVLinkDel, "192.0.2.1:27000", nil); err == nil || !strings.Contains(err.Error(), "configured") {
		t.Errorf("deleting a configured tunnel: %v", err)
	}
	if _, err := call(0, ctl.CmdVLinkDel, "198.51.100.7:27001", nil); err != nil {
		t.Fatal(err)
	}
	if got := applied(); !slices.Equal(got, []string{"ntkv0"}) {
		t.Errorf("after del, tunnels applied %v", got)
	}
	if got := ifaces(); slices.Contains(got, "ntkm0") {
		t.Errorf("after del, interfaces %v", got)
	}
	if _, err := call(0, ctl.CmdVLinkDel, "ntkm0", nil); err == nil {
		t.Error("deleting twice succeeded")
	}
	if _, err := call(1, ctl.CmdVLinkAdd, "198.51.100.7:27001", &ctl.VLinkSpec{PublicKey: keyB}); err == nil || !strings.Contains(err.Error(), "virtual layer is off") {
		t.Errorf("vlink add without the virtual layer: %v", err)
	}
}

// TestSteadyWeight: a hop keeps its kernel weight while cost noise moves
// its share by less than a quarter, and takes the new one beyond that.
func TestSteadyWeight(t *testing.T) {
	dst := netip.MustParsePrefix("10.1.2.0/24")
	a := netip.MustParseAddr("10.1.9.1")
	d := &Daemon{want: []kernel.Route{{Dst: dst, Nexthops: []kernel.Nexthop{{Gw: a, LinkIndex: 3, Weight: 60}}}}}
	d.prevWant = map[netip.Prefix]int{dst: 0}
	for _, c := range []struct {
		nh   kernel.Nexthop
		want int
	}{
		{kernel.Nexthop{Gw: a, LinkIndex: 3, Weight: 70}, 60}, // +17%: kept
		{kernel.Nexthop{Gw: a, LinkIndex: 3, Weight: 46}, 60}, // -23%: kept
		{kernel.Nexthop{Gw: a, LinkIndex: 3, Weight: 80}, 80}, // +33%: new
		{kernel.Nexthop{Gw: a, LinkIndex: 3, Weight: 40}, 40}, // -33%: new
		{kernel.Nexthop{Gw: a, LinkIndex: 4, Weight: 70}, 70}, // another interface
		{kernel.Nexthop{Gw: netip.MustParseAddr("10.1.9.2"), LinkIndex: 3, Weight: 70}, 70},
	} {
		if got := d.steadyWeight(dst, c.nh); got != c.want {
			t.Errorf("%v weight %d: got %d, want %d", c.nh.Gw, c.nh.Weight, got, c.want)
		}
	}
	if got := d.steadyWeight(netip.MustParsePrefix("10.1.3.0/24"), kernel.Nexthop{Gw: a, LinkIndex: 3, Weight: 70}); got != 70 {
		t.Errorf("a new route: got %d, want 70", got)
	}
}
