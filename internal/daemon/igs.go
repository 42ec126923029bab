package daemon

import (
	"fmt"
	"github.com/ntkd/ntkd/internal/tunnel"
	"net"
	"net/netip"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/ntkd/ntkd/internal/ctl"
	"github.com/ntkd/ntkd/internal/igs"
	"github.com/ntkd/ntkd/internal/kernel"
	"github.com/ntkd/ntkd/internal/node"
	"golang.org/x/sys/unix"
)

// Internet gateway sharing in the daemon (docs/IGS.md): a gateway probes
// its uplink and NATs; a client keeps the default route of its IGS table
// over the gateways internal/igs chooses.

// gatewayKernel is what IGS needs of the kernel; *kernel.Kernel has it.
type gatewayKernel interface {
	EnsureVXLAN(name string, port int, mac net.HardwareAddr) (int, error)
	DeleteLink(name string) error
	SetGatewayNeighbour(ifindex int, a netip.Addr, del bool) error
	SetGatewayRoute(table, ifindex int, src netip.Addr, hops []kernel.GatewayHop) error
	SetGatewayRule(table, priority int, vlayerMark uint32, del bool) error
	SetMultipathHash(policy int) error
}

const (
	gatewayDevice = "ntkgw"
	// probeFailures in a row take a gateway down.
	probeFailures = 2
	probeTimeout  = 3 * time.Second
	probeRetry    = time.Second
)

type igsState struct {
	k gatewayKernel // nil: IGS off

	// Gateway.
	uplink    string
	up        bool
	fails     int
	why       string
	probing   bool
	nextProbe time.Time
	natOn     bool

	// Client (and the device both use).
	vxIndex int
	src     netip.Addr
	chosen  []igs.Choice
	cands   []node.Gateway
	ruleOn  bool
	neigh   []netip.Addr
	err     string
}

func (d *Daemon) igsInit() {
	gk, ok := d.k.(gatewayKernel)
	if !ok || !d.cfg.IGS.Active() || !d.cfg.Address.Prefix.Addr().Is4() {
		return
	}
	d.igs.k = gk
	d.igs.why = "not probed yet"
}

// igsTick runs every second while IGS is on: it starts the uplink probes
// and retries a gateway route the kernel refused. (Route changes reach
// igsRoutes through syncRoutes, a probe's result through probed.)
func (d *Daemon) igsTick() {
	g := &d.igs
	if g.k == nil {
		return
	}
	c := d.cfg.IGS
	if c.ShareInternet && !g.probing && time.Now().After(g.nextProbe) {
		g.probing = true
		g.nextProbe = time.Now().Add(c.ProbeInterval)
		uplink, targets, links := c.Uplink, slices.Clone(c.Probe), d.links
		go func() {
			up, dev, why := probeUplink(links, uplink, targets)
			select {
			case d.do <- func() { d.probed(up, dev, why) }:
			case <-d.stopped:
			}
		}()
	}
	if g.err != "" {
		d.igsRoutes()
	}
}

// probed takes a probe's result: two failures in a row take the gateway
// down, one success brings it up.
func (d *Daemon) probed(ok bool, dev, why string) {
	g := &d.igs
	g.probing, g.why = false, why
	if ok {
		g.fails = 0
		g.uplink = dev
	} else {
		g.fails++
		if g.up {
			// Confirm a failure at once rather than a probe interval
			// later: clients keep sending to us until we withdraw.
			g.nextProbe = time.Now().Add(probeRetry)
		}
	}
	up := ok || (g.up && g.fails < probeFailures)
	if up != g.up {
		g.up = up
		d.log.Info("uplink", "up", up, "device", g.uplink, "why", why)
	}
	d.applyGateway()
}

// applyGateway announces (or withdraws) us as a gateway and sets the NAT.
func (d *Daemon) applyGateway() {
	g := &d.igs
	bw := uint32(0)
	if g.up && d.node.Addr().IsValid() { // not hooked yet: the next probe announces
		bw = uint32(d.cfg.IGS.Bandwidth)
		if err := d.ensureDevice(); err != nil {
			d.log.Warn("gateway device", "err", err)
			bw = 0
		}
	}
	if g.up && !g.natOn {
		if err := runNft(igs.NATRuleset(g.uplink, d.cfg.Address.Prefix)); err != nil {
			d.log.Warn("gateway NAT", "err", err)
			bw = 0
		} else {
			g.natOn = true
		}
	} else if !g.up && g.natOn {
		if err := runNft(igs.NATRemove); err != nil {
			d.log.Warn("gateway NAT", "err", err)
		}
		g.natOn = false
	}
	d.node.SetGateway(d.now(), bw)
	d.igsRoutes() // a gateway that is up uses no other; one that went down may
}

// ensureDevice makes the VXLAN device once the node has its address.
func (d *Daemon) ensureDevice() error {
	g := &d.igs
	a := d.node.Addr()
	if !a.IsValid() {
		return fmt.Errorf("no mesh address yet")
	}
	if g.vxIndex != 0 && g.src == a {
		return nil
	}
	idx, err := g.k.EnsureVXLAN(gatewayDevice, d.cfg.IGS.Port, kernel.GatewayMAC(a))
	if err != nil {
		return err
	}
	g.vxIndex, g.src = idx, a
	return g.k.SetMultipathHash(1)
}

// igsRoutes keeps the IGS table's default route on the chosen gateways.
func (d *Daemon) igsRoutes() {
	g := &d.igs
	c := d.cfg.IGS
	g.cands = d.node.Gateways(g.cands[:0])
	var chosen []igs.Choice
	if c.UseGateways && !g.up {
		chosen = igs.Select(g.cands, g.chosen, c.MaxGateways)
	}
	if slices.Equal(chosen, g.chosen) && g.src == d.node.Addr() {
		return
	}
	g.err = ""
	if err := d.setGatewayRoute(chosen); err != nil {
		g.err = err.Error()
		d.log.Warn("gateway route", "err", err)
		return
	}
	if !slices.Equal(chosen, g.chosen) {
		d.log.Info("gateways", "chosen", fmt.Sprint(chosen))
	}
	g.chosen = chosen
}

func (d *Daemon) setGatewayRoute(chosen []igs.Choice) error {
	g := &d.igs
	c := d.cfg.IGS
	if len(chosen) == 0 {
		if g.vxIndex == 0 {
			return nil
		}
		return g.k.SetGatewayRoute(c.Table, g.vxIndex, g.src, nil)
	}
	if err := d.ensureDevice(); err != nil {
		return err
	}
	hops := make([]kernel.GatewayHop, 0, len(chosen))
	var addrs []netip.Addr
	for _, ch := range chosen {
		if err := g.k.SetGatewayNeighbour(g.vxIndex, ch.Addr, false); err != nil {
			return err
		}
		hops = append(hops, kernel.GatewayHop{Addr: ch.Addr, Weight: ch.Weight})
		addrs = append(addrs, ch.Addr)
	}
	for _, a := range g.neigh {
		if !slices.Contains(addrs, a) {
			_ = g.k.SetGatewayNeighbour(g.vxIndex, a, true)
		}
	}
	g.neigh = addrs
	if err := g.k.SetGatewayRoute(c.Table, g.vxIndex, g.src, hops); err != nil {
		return err
	}
	if !g.ruleOn {
		if err := g.k.SetGatewayRule(c.Table, c.RulePriority, tunnel.Mark, false); err != nil {
			return err
		}
		g.ruleOn = true
	}
	return nil
}

// igsShutdown removes every trace: route, rule, device, NAT.
func (d *Daemon) igsShutdown() {
	g := &d.igs
	if g.k == nil {
		return
	}
	c := d.cfg.IGS
	if g.vxIndex != 0 {
		_ = g.k.SetGatewayRoute(c.Table, g.vxIndex, g.src, nil)
	}
	if g.ruleOn {
		_ = g.k.SetGatewayRule(c.Table, c.RulePriority, tunnel.Mark, true)
	}
	if g.vxIndex != 0 {
		if err := g.k.DeleteLink(gatewayDevice); err != nil {
			d.log.Warn("removing the gateway device", "err", err)
		}
	}
	if g.natOn {
		if err := runNft(igs.NATRemove); err != nil {
			d.log.Warn("removing the gateway NAT", "err", err)
		}
	}
}

// gateways answers `ntkd ctl gateways`.
func (d *Daemon) gateways() ctl.Gateways {
	g := &d.igs
	c := d.cfg.IGS
	out := ctl.Gateways{
		Sharing: ctl.GatewaySharing{Enabled: c.ShareInternet && g.k != nil, Uplink: g.uplink, Up: g.up,
			Bandwidth: d.node.GatewayBandwidth(), Why: g.why},
		OwnDefaultRoute: defaultRouteDevice() != "",
		Table:           c.Table,
		Gateways:        []ctl.GatewayInfo{},
		Error:           g.err,
	}
	if !out.Sharing.Enabled {
		out.Sharing.Why = ""
	}
	cands := slices.Clone(g.cands)
	// sort, not slices: no new generic sort in the router binary.
	sort.SliceStable(cands, func(i, j int) bool { return igs.Score(cands[i]) > igs.Score(cands[j]) })
	for _, gw := range cands {
		info := ctl.GatewayInfo{Address: gw.Addr.String(), Level: gw.Level, Bandwidth: gw.Bandwidth, CostMS: float64(gw.Cost) / 1000}
		for _, ch := range g.chosen {
			if ch.Addr == gw.Addr {
				info.Selected, info.Weight = true, ch.Weight
			}
		}
		out.Gateways = append(out.Gateways, info)
	}
	return out
}

// probeUplink says whether the uplink works: a TCP connect to one of
// targets through the uplink device, or without targets a default route
// through it. It also names the uplink device ("" in the config: the
// device of the main table's default route).
func probeUplink(links Links, uplink string, targets []string) (bool, string, string) {
	dev := uplink
	if dev == "" {
		dev = defaultRouteDevice()
		if dev == "" {
			return false, "", "no default route in the main table"
		}
	}
	if _, up, ok := links.ByName(dev); !ok || !up {
		return false, dev, fmt.Sprintf("uplink %s is missing or down", dev)
	}
	if len(targets) == 0 {
		if defaultRouteDevice() != dev {
			return false, dev, fmt.Sprintf("no default route through %s", dev)
		}
		return true, dev, fmt.Sprintf("default route through %s", dev)
	}
	var errs []string
	for _, t := range targets {
		err := connectVia(dev, t)
		if err == nil {
			return true, dev, fmt.Sprintf("probe %s answered", t)
		}
		errs = append(errs, fmt.Sprintf("%s: %v", t, err))
	}
	return false, dev, "probes failed: " + strings.Join(errs, "; ")
}

// connectVia opens and closes a TCP connection to target ("IP:port")
// through device dev. Raw system calls: the net package's dialer would
// link its resolver (100 KB of the router binary) for literal addresses.
func connectVia(dev, target string) error {
	ap, err := netip.ParseAddrPort(target)
	if err != nil {
		return err
	}
	family, sa := unix.AF_INET, unix.Sockaddr(nil)
	if ap.Addr().Is4() {
		sa = &unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}
	} else {
		family, sa = unix.AF_INET6, &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}
	}
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.BindToDevice(fd, dev); err != nil {
		return fmt.Errorf("bind to %s: %w", dev, err)
	}
	if err := unix.Connect(fd, sa); err != nil && err != unix.EINPROGRESS {
		return err
	}
	pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
	n, err := unix.Poll(pfd, int(probeTimeout/time.Millisecond))
	switch {
	case err != nil:
		return err
	case n == 0:
		return fmt.Errorf("no answer in %v", probeTimeout)
	}
	if soErr, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR); err != nil {
		return err
	} else if soErr != 0 {
		return unix.Errno(soErr)
	}
	return nil
}

// defaultRouteDevice is the device of the main table's IPv4 default
// route, from /proc (no netlink socket for a look every few seconds).
func defaultRouteDevice() string {
	b, err := os.ReadFile("/proc/net/route")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) >= 8 && f[1] == "00000000" && f[7] == "00000000" {
			return f[0]
		}
	}
	return ""
}
