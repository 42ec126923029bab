// Package daemon puts the protocol core (internal/node) on real interfaces:
// it owns the node and runs its one event loop, turning packets from the
// transport, timers, kernel link events and control requests into node
// events, and the node's actions into packets, kernel routes and addresses.
// Nothing else touches the node: the transport, the kernel watcher and the
// control server only talk to the loop through channels.
package daemon

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"slices"
	"time"

	"github.com/ntkd/ntkd/internal/addr"
	"github.com/ntkd/ntkd/internal/andna"
	"github.com/ntkd/ntkd/internal/config"
	"github.com/ntkd/ntkd/internal/kernel"
	"github.com/ntkd/ntkd/internal/logx"
	"github.com/ntkd/ntkd/internal/node"
	"github.com/ntkd/ntkd/internal/radar"
	"github.com/ntkd/ntkd/internal/transport"
	"github.com/ntkd/ntkd/internal/tunnel"
	"github.com/ntkd/ntkd/internal/vlink"
	"github.com/ntkd/ntkd/internal/wifi"
)

// Transport is the daemon's view of internal/transport (a fake in tests).
type Transport interface {
	AddIface(iface int, name string) error
	RemoveIface(iface int) error
	Send(s node.Send) error
	Recv() <-chan transport.Packet
	PeerAddr(p radar.PeerID) (iface int, ip netip.Addr, ok bool)
	Stats() transport.Stats
	Close() error
}

// Kernel is the daemon's view of internal/kernel (a fake in tests).
type Kernel interface {
	Sync(want []kernel.Route) (kernel.SyncStats, error)
	Resync() (kernel.SyncStats, error)
	Installed() ([]kernel.Route, error)
	Flush() error
	SetAddr(ifindex int, a netip.Prefix) error
	DelAddr(ifindex int, a netip.Prefix) error
	PrepareIface(name string) error
	EnableForwarding() error
	NeighbourMAC(ifindex int, ip netip.Addr) (net.HardwareAddr, bool)
}

// VLinks is the daemon's view of internal/vlink's Manager.
type VLinks interface {
	Apply(*config.Config) error
	List() []vlink.Info
	PublicKey() tunnel.Key
	// SetStandby holds a link down (why: the reason) or, with "", makes it
	// again.
	SetStandby(name, why string) error
	Close() error
}

// Wifi is the daemon's view of internal/wifi's Monitor; nil when the
// machine has no nl80211 (no wifi metrics, not an error).
type Wifi interface {
	Poll() error
	Kind(ifname string) wifi.Kind
	Station(ifname string, mac net.HardwareAddr) (wifi.Metrics, bool)
}

// Links tells the daemon about interfaces: by default the stdlib's view.
type Links interface {
	ByName(name string) (index int, up bool, ok bool)
	// Addrs lists the interface's addresses.
	Addrs(name string) []netip.Prefix
}

type stdLinks struct{}

func (stdLinks) Addrs(name string) []netip.Prefix {
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return nil
	}
	as, err := ifi.Addrs()
	if err != nil {
		return nil
	}
	var out []netip.Prefix
	for _, a := range as {
		if ipn, ok := a.(*net.IPNet); ok {
			ip, _ := netip.AddrFromSlice(ipn.IP)
			ones, _ := ipn.Mask.Size()
			out = append(out, netip.PrefixFrom(ip.Unmap(), ones))
		}
	}
	return out
}

// Options build a daemon.
type Options struct {
	Config    *config.Config
	Version   string
	Logger    *logx.Logger
	Transport Transport
	Kernel    Kernel
	Wifi      Wifi // nil: no wifi metrics (yet: see OpenWifi)
	// OpenWifi is tried again when an interface appears while Wifi is
	// nil: on OpenWrt the wifi drivers may load after ntkd starts.
	OpenWifi func() (Wifi, error)
	Links    Links // nil: the machine's interfaces
	// VLinks makes the tunnels of [[vlayer.link]]; nil: no virtual links
	// (the interfaces are still expected, made by someone else).
	VLinks VLinks
	// Seed of the node's random choices; 0 draws one.
	Seed uint64
	// Events from the kernel watcher (nil: none; the daemon still looks
	// at its interfaces every few seconds).
	Events <-chan Event
	// Timers override the node's protocol timers (tests, the lab); nil
	// takes them from the configuration.
	Timers func(*node.Config)
	// ANDNAKey is the node's name key (LoadOrCreateKey); required when the
	// configuration enables ANDNA.
	ANDNAKey ed25519.PrivateKey
	// ANDNACounterBase is the first update counter of this run's names
	// (ReserveANDNACounters): above every counter sent before a restart,
	// or the hash gnodes refuse the updates as replays.
	ANDNACounterBase uint32
	// VHookEvery is how often a vnode without vlinks looks for an entry
	// node to ask (vhook.go); 0: every 10 s; negative: never (tests of
	// other parts, which must not dial the entry nodes they list).
	VHookEvery time.Duration
	// EntryClock is the entry list's time (entrylist.go); nil: the real one.
	EntryClock Clock
}

// Event is a kernel change the loop must look at.
type Event struct {
	Link   bool // an interface appeared, vanished, or changed state
	Resync bool // our routes were changed behind our back, or the watch dropped
	Why    string
}

// iface is one configured mesh interface. Its id (the node's interface
// number) is its position in Daemon.ifaces and is never reused while the
// daemon runs, even across reloads.
type iface struct {
	name    string
	id      int
	index   int // kernel ifindex while it exists
	present bool
	active  bool // transport and node use it
	wifi    bool // add wifi figures to its links' cost
	virtual bool // a tunnel (internal/vlink): the forwarding rule of seed 000 §3 applies
	removed bool // taken out of the configuration by a reload
	addr    netip.Prefix
}

// Daemon is one running ntkd.
type Daemon struct {
	// waiters get the answers of ANDNA requests, by token.
	waiters map[uint64]chan andna.Result

	cfg    *config.Config
	opt    Options
	log    *logx.Logger
	scheme *addr.Scheme
	node   *node.Node
	tr     Transport
	k      Kernel
	wifi   Wifi
	links  Links
	// vlinkErr is the last error making virtual links; they are tried
	// again while there is one.
	vlinkErr error
	// manualVLinks are the tunnels made with `ntkd ctl vlink add`.
	manualVLinks []config.VLink
	// upkeep sheds tunnels that physical paths replaced (seed 002).
	upkeep node.TunnelUpkeep
	start  time.Time

	ifaces []*iface
	addr   netip.Prefix // the node's address on the mesh interfaces

	routesVersion uint64
	routesDirty   bool
	lastSync      time.Time
	want          []kernel.Route
	wantCosts     map[netip.Prefix][]uint32 // route costs of want's nexthops, for ctl
	prevWant      map[netip.Prefix]int      // index in want by destination, while the next want is built
	routeBuf      []node.Route

	wifiSeen map[radar.PeerID]wifiSample

	counters counters
	do       chan func()
	reload   chan *config.Config
	// stopped closes when the loop ends: goroutines with an answer for it
	// give up then.
	stopped chan struct{}

	igs igsState // Internet gateway sharing (igs.go)

	entries *entryList // the entry servers' list (entrylist.go)
	vhook   *vhooker   // virtual hooking (vhook.go)
}

type wifiSample struct {
	m       wifi.Metrics
	penalty float64
}

type counters struct {
	recvPackets                                     [256]uint64
	recvBytes                                       [256]uint64
	sendErrors                                      uint64
	syncs, added, changed, removed, resyncs, errors uint64
}

// How often the loop looks at things nobody tells it about.
const (
	ifaceScanEvery  = 5 * time.Second
	resyncEvery     = 60 * time.Second
	wifiPollEvery   = 2 * time.Second
	minSyncInterval = 50 * time.Millisecond
)

// New builds the daemon; Run starts it.
func New(o Options) (*Daemon, error) {
	if o.Config == nil || o.Transport == nil || o.Kernel == nil {
		return nil, errors.New("daemon: config, transport and kernel are required")
	}
	if !o.Config.HasInterfaces() {
		return nil, ErrNoInterface
	}
	s, err := o.Config.Scheme()
	if err != nil {
		return nil, fmt.Errorf("daemon: %w", err)
	}
	nc := NodeConfig(o.Config, s)
	if o.Timers != nil {
		o.Timers(&nc)
	}
	if o.Config.ANDNA.Enabled {
		if o.ANDNAKey == nil {
			return nil, errors.New("daemon: ANDNA is enabled but no key was given")
		}
		ac := ANDNAConfig(&o.Config.ANDNA, &o.Config.Limits)
		ac.CounterBase = o.ANDNACounterBase
		nc.ANDNA, nc.ANDNAKey = &ac, o.ANDNAKey
	}
	nc.Seed = o.Seed
	if nc.Seed == 0 {
		// The runtime's generator is seeded from the kernel; the seed is no
		// secret, it only keeps two routers from choosing alike.
		nc.Seed = rand.Uint64() | 1
	}
	// The node's time zero is Run's start, a moment after this. A router
	// whose clock is not set yet (before NTP) reads a date before 2025,
	// which the node takes as unknown.
	nc.WallStart = time.Now().Unix()
	n, err := node.New(nc)
	if err != nil {
		return nil, fmt.Errorf("daemon: %w", err)
	}
	log := o.Logger
	if log == nil {
		log = logx.Discard()
	}
	links := o.Links
	if links == nil {
		links = stdLinks{}
	}
	d := &Daemon{
		cfg: o.Config, opt: o, log: log, scheme: s, node: n, tr: o.Transport, k: o.Kernel,
		wifi: o.Wifi, links: links, wifiSeen: map[radar.PeerID]wifiSample{},
		do: make(chan func()), reload: make(chan *config.Config), stopped: make(chan struct{}),
		waiters: map[uint64]chan andna.Result{},
	}
	if d.entries, err = newEntryList(o, log); err != nil {
		return nil, err
	}
	if d.vhook, err = newVHooker(o, d.entries, log); err != nil {
		return nil, err
	}
	d.setInterfaces(o.Config)
	d.setNames(o.Config.ANDNA.Names)
	return d, nil
}

// ErrNoInterface: the configuration lists no mesh interface.
var ErrNoInterface = errors.New("no mesh interface configured")

// NodeConfig maps the configuration onto the protocol's timers.
func NodeConfig(c *config.Config, s *addr.Scheme) node.Config {
	nc := node.DefaultConfig(s)
	nc.Radar.Interval = c.Radar.Interval
	nc.Radar.Burst = c.Radar.Probes
	nc.Radar.ProbeTimeout = c.Radar.ProbeTimeout
	nc.Radar.DeadAfter = c.Radar.DeadAfter
	nc.Radar.Neighbours = c.Limits.MaxNeighbours
	nc.WaitRound = c.QSPN.WaitRound
	nc.RoundSettle = min(c.QSPN.WaitRound/6, 10*time.Second)
	nc.MaxRoutes = c.QSPN.MaxRoutes
	nc.MaxAgeRounds = c.QSPN.MaxAgeRounds
	if c.Address.First.IsValid() {
		if p, err := s.Position(c.Address.First); err == nil { // validated with the config
			nc.First, nc.HasFirst = p, true
		}
	}
	return nc
}

func (d *Daemon) now() time.Duration { return time.Since(d.start) }

// Run is the event loop: it returns when ctx is done, after removing every
// route and address it installed.
func (d *Daemon) Run(ctx context.Context) error {
	d.start = time.Now()
	if err := d.k.EnableForwarding(); err != nil {
		return fmt.Errorf("enabling forwarding: %w", err)
	}
	// Routes left by a crashed run would point at neighbours that may be gone.
	if err := d.k.Flush(); err != nil {
		return fmt.Errorf("removing old routes: %w", err)
	}
	defer d.shutdown()
	defer d.entries.begin(ctx)() // its goroutine, stopped and waited for when Run returns
	defer d.beginVHook(ctx)()    // the same for virtual hooking's
	d.igsInit()
	d.applyVLinks(d.cfg)
	d.scanIfaces()
	d.node.Start(d.now())
	d.vnodeOnMap()
	d.log.Info("ntkd started", "version", d.opt.Version, "prefix", d.cfg.Address.Prefix, "interfaces", d.ifaceNames())

	recv := d.tr.Recv()
	wake := time.NewTimer(time.Hour)
	defer wake.Stop()
	scan := time.NewTicker(ifaceScanEvery)
	defer scan.Stop()
	resync := time.NewTicker(resyncEvery)
	defer resync.Stop()
	var igsTick <-chan time.Time
	if d.igs.k != nil {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		igsTick = t.C
	}
	var wifiTick <-chan time.Time
	if d.wifi != nil || d.opt.OpenWifi != nil {
		t := time.NewTicker(wifiPollEvery)
		defer t.Stop()
		wifiTick = t.C
	}
	for {
		d.after()
		resetTimer(wake, d.nextWake())
		select {
		case <-ctx.Done():
			return nil
		case p, ok := <-recv:
			if !ok {
				return errors.New("transport closed")
			}
			d.receive(p)
		case <-wake.C:
			d.node.Tick(d.now())
		case fn := <-d.do:
			fn()
		case c := <-d.reload:
			d.applyReload(c)
		case <-scan.C:
			if d.vlinkErr != nil {
				d.applyVLinks(d.cfg)
			}
			d.upkeepVLinks()
			d.scanIfaces()
		case <-resync.C:
			d.resync("periodic")
		case ev := <-d.opt.Events:
			if ev.Link {
				d.scanIfaces()
			}
			if ev.Resync {
				d.resync(ev.Why)
			}
		case <-wifiTick:
			d.pollWifi()
		case <-igsTick:
			d.igsTick()
		}
	}
}

func resetTimer(t *time.Timer, d time.Duration) {
	t.Stop()
	select {
	case <-t.C:
	default:
	}
	t.Reset(max(d, 0))
}

// nextWake is how long until the node or a delayed route sync needs the loop.
func (d *Daemon) nextWake() time.Duration {
	w := d.node.NextWakeup() - d.now()
	if d.routesDirty {
		w = min(w, minSyncInterval-time.Since(d.lastSync))
	}
	return w
}

func (d *Daemon) receive(p transport.Packet) {
	if len(p.Data) >= 4 {
		op := p.Data[3]
		d.counters.recvPackets[op]++
		d.counters.recvBytes[op] += uint64(len(p.Data))
	}
	if p.Iface < 0 || p.Iface >= len(d.ifaces) || !d.ifaces[p.Iface].active {
		return
	}
	d.node.HandlePacket(d.now(), p.Iface, p.From, p.Data)
}

// after carries out what the node asked for: packets, address, routes.
func (d *Daemon) after() {
	d.vhookRoutes()
	out := d.node.Outbox()
	d.andnaResults()
	for _, s := range out {
		if err := d.tr.Send(s); err != nil {
			d.counters.sendErrors++
			d.log.Debug("send", "iface", d.ifaces[s.Iface].name, "op", s.Op, "err", err)
		}
	}
	d.syncAddr()
	if v := d.node.RoutesVersion(); v != d.routesVersion {
		d.routesVersion = v
		d.routesDirty = true
	}
	if d.routesDirty && time.Since(d.lastSync) >= minSyncInterval {
		d.syncRoutes()
	}
}

// syncAddr keeps the node's address on every active mesh interface.
func (d *Daemon) syncAddr() {
	var want netip.Prefix
	if d.node.State() == node.Hooked {
		a := d.node.Addr()
		want = netip.PrefixFrom(a, a.BitLen())
	}
	if want != d.addr {
		if d.addr.IsValid() {
			d.log.Info("leaving address", "address", d.addr.Addr())
		}
		if want.IsValid() {
			d.log.Info("hooked", "address", want.Addr())
		}
		d.addr = want
	}
	for _, ifc := range d.ifaces {
		if !ifc.active || ifc.addr == want {
			continue
		}
		if ifc.addr.IsValid() {
			if err := d.k.DelAddr(ifc.index, ifc.addr); err != nil {
				d.log.Warn("removing address", "iface", ifc.name, "err", err)
			}
		}
		ifc.addr = netip.Prefix{}
		if want.IsValid() {
			if err := d.k.SetAddr(ifc.index, want); err != nil {
				d.log.Warn("setting address", "iface", ifc.name, "err", err)
				continue
			}
		}
		ifc.addr = want
	}
}

// kernelRoutes turns the node's table into kernel routes: nexthops are
// the neighbours' mesh addresses on the interfaces they were heard on,
// weighted by cost (the best gets 100).
func (d *Daemon) kernelRoutes() []kernel.Route {
	d.routeBuf = d.node.Routes(d.routeBuf[:0])
	out := make([]kernel.Route, 0, len(d.routeBuf))
	d.wantCosts = make(map[netip.Prefix][]uint32, len(d.routeBuf))
	if d.prevWant == nil {
		d.prevWant = make(map[netip.Prefix]int, len(d.want))
	}
	clear(d.prevWant)
	for i, r := range d.want {
		d.prevWant[r.Dst] = i
	}
	for _, r := range d.routeBuf {
		kr := kernel.Route{Dst: r.Prefix}
		for _, h := range r.Hops {
			nb := d.node.Radar().ByIndex(h.Gw)
			if nb == nil || !nb.Addr.IsValid() || h.Iface < 0 || h.Iface >= len(d.ifaces) || !d.ifaces[h.Iface].active {
				continue
			}
			w := 100
			if h.Cost > 0 && len(kr.Nexthops) > 0 {
				w = int(uint64(r.Hops[0].Cost) * 100 / uint64(h.Cost))
			}
			nh := kernel.Nexthop{Gw: nb.Addr, LinkIndex: d.ifaces[h.Iface].index, Weight: max(w, 1)}
			nh.Weight = d.steadyWeight(r.Prefix, nh)
			kr.Nexthops = append(kr.Nexthops, nh)
			d.wantCosts[r.Prefix] = append(d.wantCosts[r.Prefix], h.Cost)
		}
		if len(kr.Nexthops) > 0 {
			out = append(out, kr)
		}
	}
	return out
}

// steadyWeight is the weight for nh: the one it has in the kernel while
// the new one is within a quarter of it. Link costs move all the time by
// a few percent; rewriting every route through a link on each move would
// be netlink churn that changes nothing a flow notices.
func (d *Daemon) steadyWeight(dst netip.Prefix, nh kernel.Nexthop) int {
	i, ok := d.prevWant[dst]
	if !ok {
		return nh.Weight
	}
	for _, old := range d.want[i].Nexthops {
		if old.Gw == nh.Gw && old.LinkIndex == nh.LinkIndex {
			if 4*nh.Weight >= 3*old.Weight && 4*nh.Weight <= 5*old.Weight {
				return old.Weight
			}
			break
		}
	}
	return nh.Weight
}

func (d *Daemon) syncRoutes() {
	d.routesDirty = false
	d.lastSync = time.Now()
	d.want = d.kernelRoutes()
	st, err := d.k.Sync(d.want)
	d.count(st, err)
	if err != nil {
		d.log.Warn("route sync", "err", err)
	}
	if d.igs.k != nil {
		d.igsRoutes()
	}
}

func (d *Daemon) count(st kernel.SyncStats, err error) {
	d.counters.syncs++
	d.counters.added += uint64(st.Added)
	d.counters.changed += uint64(st.Changed)
	d.counters.removed += uint64(st.Removed)
	if err != nil {
		d.counters.errors++
	}
}

// resync repairs the kernel table after someone changed it behind our back.
func (d *Daemon) resync(why string) {
	st, err := d.k.Resync()
	d.counters.resyncs++
	d.count(st, err)
	if st.Added+st.Changed+st.Removed > 0 {
		d.log.Info("kernel routes repaired", "why", why, "added", st.Added, "changed", st.Changed, "removed", st.Removed)
	}
	if err != nil {
		d.log.Warn("route resync", "err", err)
	}
}

// setInterfaces makes the configured list current: new names get ids,
// names no longer configured are marked removed (and deactivated).
func (d *Daemon) setInterfaces(c *config.Config) {
	c = d.withManualVLinks(c)
	list := slices.Clone(c.Interfaces)
	vlinks := c.VLinkNames()
	for _, name := range vlinks {
		list = append(list, config.Interface{Name: name})
	}
	isVirtual := func(name string) bool { return slices.Contains(vlinks, name) }
	keep := map[string]config.Interface{}
	for _, ci := range list {
		keep[ci.Name] = ci
	}
	for _, ifc := range d.ifaces {
		ci, ok := keep[ifc.name]
		// A name that changed kind goes and comes back as a new interface.
		ok = ok && ifc.virtual == isVirtual(ifc.name)
		ifc.removed = !ok
		if ok {
			ifc.wifi = ci.WifiMetrics
			delete(keep, ifc.name)
		}
	}
	for _, ci := range list {
		if _, ok := keep[ci.Name]; ok {
			d.ifaces = append(d.ifaces, &iface{name: ci.Name, id: len(d.ifaces), wifi: ci.WifiMetrics, virtual: isVirtual(ci.Name)})
		}
	}
}

// applyVLinks makes the tunnels of c's virtual links; a link that cannot
// be made now is tried again at the next interface scan.
func (d *Daemon) applyVLinks(c *config.Config) {
	if d.opt.VLinks == nil {
		return
	}
	err := d.opt.VLinks.Apply(d.withManualVLinks(c))
	if err != nil && (d.vlinkErr == nil || err.Error() != d.vlinkErr.Error()) {
		d.log.Warn("virtual links", "err", err)
	}
	d.vlinkErr = err
}

// upkeepVLinks puts on standby the tunnels a physical path replaced and
// makes again those whose path went (node.TunnelUpkeep decides); the next
// interface scan sees their devices go or come.
func (d *Daemon) upkeepVLinks() {
	if d.opt.VLinks == nil {
		return
	}
	act := d.upkeep.Step(d.node)
	set := func(id int, why, msg string) {
		if id < 0 || id >= len(d.ifaces) || d.ifaces[id].removed || !d.ifaces[id].virtual {
			d.upkeep.Forget(id)
			return
		}
		name := d.ifaces[id].name
		if err := d.opt.VLinks.SetStandby(name, why); err != nil {
			d.log.Warn("virtual link upkeep", "vlink", name, "err", err)
			return
		}
		d.log.Info(msg, "vlink", name)
	}
	for _, id := range act.Shed {
		set(id, "physical path", "virtual link on standby: a physical path joins its ends")
	}
	for _, id := range act.Restore {
		set(id, "", "virtual link back: the physical path is gone")
	}
	for _, id := range act.Dead {
		set(id, "dead: no answer over it", "virtual link dead: nobody answers over it; torn down, tried again later")
	}
	for _, id := range act.Retry {
		set(id, "", "virtual link made again after it died")
	}
}

// scanIfaces brings interfaces up and down in the node as they appear,
// get carrier, lose it or vanish (wifi comes up late on OpenWrt).
func (d *Daemon) scanIfaces() {
	for _, ifc := range d.ifaces {
		index, up, ok := d.links.ByName(ifc.name)
		if ifc.removed {
			up = false
		}
		if ok && ifc.active && index != ifc.index {
			d.deactivate(ifc, "replaced") // deleted and created again
		}
		ifc.present, ifc.index = ok, index
		switch {
		case up && !ifc.active:
			d.activate(ifc)
		case !up && ifc.active:
			d.deactivate(ifc, "down")
		}
	}
}

func (d *Daemon) activate(ifc *iface) {
	if d.wifi == nil && ifc.wifi && d.opt.OpenWifi != nil {
		if w, err := d.opt.OpenWifi(); err == nil {
			d.wifi = w
			d.log.Info("wifi metrics available", "iface", ifc.name)
		}
	}
	if err := d.k.PrepareIface(ifc.name); err != nil {
		d.log.Warn("preparing interface", "iface", ifc.name, "err", err)
	}
	if err := d.tr.AddIface(ifc.id, ifc.name); err != nil {
		d.log.Warn("interface not usable yet", "iface", ifc.name, "err", err)
		return
	}
	ifc.active = true
	ifc.addr = netip.Prefix{}
	// A mesh address left by a crashed run (or an earlier identity) would
	// make the node answer for an element that is gone.
	for _, a := range d.links.Addrs(ifc.name) {
		if d.scheme.Prefix().Contains(a.Addr()) {
			d.log.Info("removing a stale mesh address", "iface", ifc.name, "address", a)
			_ = d.k.DelAddr(ifc.index, a)
		}
	}
	d.node.SetVirtual(ifc.id, ifc.virtual)
	d.node.IfaceUp(d.now(), ifc.id)
	d.log.Info("interface up", "iface", ifc.name, "ifindex", ifc.index, "virtual", ifc.virtual)
}

func (d *Daemon) deactivate(ifc *iface, why string) {
	ifc.active = false
	d.node.IfaceDown(d.now(), ifc.id)
	if err := d.tr.RemoveIface(ifc.id); err != nil {
		d.log.Debug("closing interface", "iface", ifc.name, "err", err)
	}
	if ifc.addr.IsValid() && ifc.present {
		_ = d.k.DelAddr(ifc.index, ifc.addr)
	}
	ifc.addr = netip.Prefix{}
	d.routesDirty = true
	d.log.Info("interface down", "iface", ifc.name, "why", why)
}

func (d *Daemon) ifaceNames() []string {
	var names []string
	for _, ifc := range d.ifaces {
		if !ifc.removed {
			names = append(names, ifc.name)
		}
	}
	return names
}

// pollWifi feeds the driver's station figures into the radar's costs.
func (d *Daemon) pollWifi() {
	if d.wifi == nil {
		return
	}
	if err := d.wifi.Poll(); err != nil {
		d.log.Debug("wifi poll", "err", err)
		return
	}
	seen := map[radar.PeerID]bool{}
	for _, nb := range d.node.Radar().Neighbours() {
		if nb.Iface < 0 || nb.Iface >= len(d.ifaces) {
			continue
		}
		ifc := d.ifaces[nb.Iface]
		if !ifc.wifi || !ifc.active {
			continue
		}
		_, ll, ok := d.tr.PeerAddr(nb.Peer)
		if !ok {
			continue
		}
		mac, ok := d.k.NeighbourMAC(ifc.index, ll)
		if !ok {
			continue
		}
		m, ok := d.wifi.Station(ifc.name, mac)
		if !ok {
			continue
		}
		p := wifi.Penalty(m)
		seen[nb.Peer] = true
		d.wifiSeen[nb.Peer] = wifiSample{m: m, penalty: p}
		d.node.SetLinkPenalty(d.now(), nb.Iface, nb.Peer, p)
	}
	for p := range d.wifiSeen {
		if !seen[p] {
			delete(d.wifiSeen, p)
		}
	}
}

// Reload applies a new configuration: interfaces are added and removed
// live, the log level changes; address range, ports and protocol timers
// need a restart (they are reported, not applied).
func (d *Daemon) Reload(ctx context.Context, c *config.Config) error {
	select {
	case d.reload <- c:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (d *Daemon) applyReload(c *config.Config) {
	d.warnEntryReload(c)
	if c.Address.Prefix != d.cfg.Address.Prefix || !slices.Equal(c.Address.BitsPerLevel, d.cfg.Address.BitsPerLevel) ||
		c.Ports != d.cfg.Ports || c.Radar != d.cfg.Radar || c.QSPN != d.cfg.QSPN || c.Kernel != d.cfg.Kernel {
		d.log.Warn("reload: address, ports, radar, qspn and kernel settings take effect at the next restart")
	}
	d.setInterfaces(c)
	d.cfg.Interfaces = c.Interfaces
	d.applyVLinks(c)
	d.cfg.VLayer = c.VLayer
	d.scanIfaces()
	d.setNames(c.ANDNA.Names)
	d.cfg.ANDNA.Names = c.ANDNA.Names
	d.log.Info("configuration reloaded", "interfaces", d.ifaceNames())
}

// Do runs fn in the event loop and waits for it (the control server's way
// in); it fails when the loop is gone.
func (d *Daemon) Do(ctx context.Context, fn func()) error {
	done := make(chan struct{})
	select {
	case d.do <- func() { fn(); close(done) }:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// shutdown leaves no trace: routes and addresses go, interfaces close.
func (d *Daemon) shutdown() {
	close(d.stopped)
	d.igsShutdown()
	if err := d.k.Flush(); err != nil {
		d.log.Warn("removing routes at exit", "err", err)
	}
	for _, ifc := range d.ifaces {
		if ifc.addr.IsValid() && ifc.present {
			_ = d.k.DelAddr(ifc.index, ifc.addr)
		}
		if ifc.active {
			_ = d.tr.RemoveIface(ifc.id)
		}
	}
	if d.opt.VLinks != nil {
		if err := d.opt.VLinks.Close(); err != nil {
			d.log.Warn("removing virtual links at exit", "err", err)
		}
	}
	d.log.Info("ntkd stopped", "pid", os.Getpid())
}
