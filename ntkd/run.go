package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/ntkd/ntkd/internal/andna"
	"github.com/ntkd/ntkd/internal/config"
	"github.com/ntkd/ntkd/internal/ctl"
	"github.com/ntkd/ntkd/internal/daemon"
	"github.com/ntkd/ntkd/internal/dnsd"
	"github.com/ntkd/ntkd/internal/kernel"
	"github.com/ntkd/ntkd/internal/logx"
	"github.com/ntkd/ntkd/internal/memtrim"
	"github.com/ntkd/ntkd/internal/transport"
	"github.com/ntkd/ntkd/internal/wifi"
	"golang.org/x/sys/unix"
)

// runDaemon is `ntkd run`: the daemon in the foreground (procd keeps it
// running). SIGTERM and SIGINT stop it cleanly (routes and addresses
// removed), SIGHUP re-reads the configuration.
func runDaemon(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("run", stderr)
	path := fs.String("c", defaultConfigPath, "configuration `file`")
	split := fs.Bool("log-split", false, "log info and debug lines to stdout, warnings and errors to stderr (procd: daemon.info, daemon.err)")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	cfg, err := config.Load(*path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitConfig
	}
	level := new(logx.LevelVar)
	level.Set(cfg.LogLevel)
	logw := stderr
	if *split {
		logw = levelSplit{out: stdout, err: stderr}
	}
	log := logx.New(logw, level)
	if !cfg.HasInterfaces() {
		log.Error("no mesh interface configured: add an [[interface]] block (on OpenWrt: pick the interfaces in LuCI)", "config", *path)
		return exitNoIface
	}
	if os.Geteuid() != 0 {
		log.Error("ntkd run needs root: it sets routes and addresses and listens on its ports")
		return exitPerm
	}
	applyMemory(cfg)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	code, err := serve(ctx, cfg, *path, level, log)
	if err != nil {
		log.Error("ntkd stopped", "err", err)
	}
	return code
}

// levelSplit writes the text handler's lines (one Write each) by level:
// WARN and ERROR to err, DEBUG and INFO to out. procd logs a service's
// stdout at daemon.info and its stderr at daemon.err.
type levelSplit struct {
	out, err io.Writer
	_        [0]func() // not comparable: no equality function in the binary
}

func (s levelSplit) Write(p []byte) (int, error) {
	// The first "level=" is the level's key: only the time comes before it.
	if i := bytes.Index(p, []byte("level=")); i >= 0 && i+6 < len(p) && (p[i+6] == 'W' || p[i+6] == 'E') {
		return s.err.Write(p)
	}
	return s.out.Write(p)
}

// applyMemory sets GOMEMLIMIT, GOGC and GOMAXPROCS from the configuration
// (a router with 32 MiB of RAM wants the collector to work harder than
// Go's default).
func applyMemory(cfg *config.Config) {
	if cfg.MemoryLimit > 0 {
		debug.SetMemoryLimit(int64(cfg.MemoryLimit))
	}
	debug.SetGCPercent(cfg.GOGC)
	if cfg.MaxProcs > 0 {
		runtime.GOMAXPROCS(cfg.MaxProcs)
	}
}

func serve(ctx context.Context, cfg *config.Config, path string, level *logx.LevelVar, log *logx.Logger) (int, error) {
	s, err := cfg.Scheme()
	if err != nil {
		return exitConfig, err
	}
	family := unix.AF_INET
	if !s.Is4() {
		family = unix.AF_INET6
	}
	k, err := kernel.Open(kernel.Config{Table: int(cfg.Kernel.Table), RulePriority: cfg.Kernel.RulePriority, Protocol: cfg.Kernel.Protocol, Family: family})
	if err != nil {
		return permOr(err), fmt.Errorf("netlink: %w", err)
	}
	defer k.Close()
	tr, err := transport.New(transportConfig(cfg), log.With("part", "transport"))
	if err != nil {
		return permOr(err), fmt.Errorf("sockets: %w", err)
	}
	defer tr.Close()
	if err := setNetworkKeys(tr, cfg); err != nil {
		return exitConfig, err
	}

	var wifiSrc wifi.Source
	defer func() {
		if wifiSrc != nil {
			wifiSrc.Close()
		}
	}()
	// Called from the daemon's loop only: at start and when an interface
	// appears, until nl80211 answers.
	openWifi := func() (daemon.Wifi, error) {
		src, err := wifi.Open()
		if err != nil {
			if !errors.Is(err, wifi.ErrNoWifi) {
				log.Warn("no wifi metrics", "err", err)
			}
			return nil, err
		}
		wifiSrc = src
		return wifi.NewMonitor(src), nil
	}

	events := make(chan daemon.Event, 16)
	kev, err := k.Watch(ctx)
	if err != nil {
		log.Warn("no netlink events: interfaces are polled every few seconds", "err", err)
	} else {
		go forwardKernelEvents(ctx, kev, events)
	}
	var key ed25519.PrivateKey
	var counterBase uint32
	if cfg.ANDNA.Enabled {
		if key, err = daemon.LoadOrCreateKey(cfg.ANDNA.KeyDir); err != nil {
			return exitFail, err
		}
		if counterBase, err = daemon.ReserveANDNACounters(cfg.ANDNA.KeyDir, time.Now()); err != nil {
			return exitFail, err
		}
	}
	var vlinks daemon.VLinks
	if cfg.VLayer.Enabled {
		m, err := openVLinks(cfg, k, log)
		if err != nil {
			return permOr(err), err
		}
		vlinks = m
	}
	d, err := daemon.New(daemon.Options{
		Config: cfg, Version: version, Logger: log, Transport: tr, Kernel: k,
		OpenWifi: openWifi, Events: events, ANDNAKey: key, ANDNACounterBase: counterBase, VLinks: vlinks,
	})
	if err != nil {
		if errors.Is(err, daemon.ErrNoInterface) {
			return exitNoIface, err
		}
		return exitFail, err
	}
	srv, err := ctl.Listen(cfg.Control.Socket, d.Handle, log)
	if err != nil {
		return exitFail, err
	}
	defer srv.Close()
	go srv.Serve(ctx)

	if cfg.DNS.Enabled {
		dns, err := startDNS(cfg, d, log)
		if err != nil {
			return exitFail, err
		}
		defer dns.Close()
	}

	// Start-up code (flag and configuration parsing, package init, the
	// hook) is not run again: once it is over, the binary's pages go and
	// only what the steady state runs comes back (internal/memtrim).
	trim := time.AfterFunc(trimAfter, func() {
		n, err := memtrim.DropExecutablePages()
		log.Debug("binary pages given back", "bytes", n, "err", err)
	})
	defer trim.Stop()
	go returnHeap(ctx, log)

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for range hup {
			trim.Reset(trimAfter)
			c, err := config.Load(path)
			if err != nil {
				log.Error("reload refused: the configuration is invalid, keeping the running one", "err", err)
				continue
			}
			if err := setNetworkKeys(tr, c); err != nil {
				log.Error("reload refused: keeping the running configuration", "err", err)
				continue
			}
			level.Set(c.LogLevel)
			applyMemory(c)
			if err := d.Reload(ctx, c); err != nil {
				return
			}
		}
	}()
	if err := d.Run(ctx); err != nil {
		return exitFail, err
	}
	return exitOK, nil
}

// heapReturnEvery is how often the daemon collects and gives its free heap
// pages back to the kernel (debug.FreeOSMemory). In steady state the daemon
// makes little garbage (about 2 KB/s), so the collector seldom runs and the
// runtime's scavenger, paced by it, keeps the pages the start-up and the
// last map transfers freed: 1.9 MiB held for a 1 MiB heap. Measured in a
// grid-16 lab over 3 minutes: 7.25 MiB mean, 7.9 max without; 6.9 mean, 7.0
// max with (docs/BENCHMARKS.md). One collection of a heap this small takes
// about 0.5 ms on x86. Busy nodes (10-12 neighbours) make 120-160 KB/s of
// garbage, which 15 s let reach the collector's goal; every 5 s took the
// random-64 lab's max from 8.5 to 8.1 MiB (one run each, mean 7.7 both).
const heapReturnEvery = 5 * time.Second

func returnHeap(ctx context.Context, log *logx.Logger) {
	tick := time.NewTicker(heapReturnEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			start := time.Now()
			debug.FreeOSMemory()
			log.Debug("free heap given back", "took", time.Since(start))
		}
	}
}

// trimAfter is how long after start (or a reload) the binary's start-up
// pages are given back: the hook and the first rounds are over by then.
const trimAfter = time.Minute

func permOr(err error) int {
	if errors.Is(err, os.ErrPermission) || errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
		return exitPerm
	}
	return exitFail
}

// forwardKernelEvents turns the kernel watcher's events into the loop's.
func forwardKernelEvents(ctx context.Context, in <-chan kernel.Event, out chan<- daemon.Event) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-in:
			if !ok {
				return
			}
			select {
			case out <- daemon.Event{Link: ev.Kind != kernel.ResyncNeeded, Resync: ev.Kind == kernel.ResyncNeeded, Why: ev.Kind.String() + ": " + ev.Reason}:
			case <-ctx.Done():
				return
			}
		}
	}
}

// startDNS runs the DNS wrapper (seed §7.9) in front of the daemon's ANDNA.
func startDNS(cfg *config.Config, d *daemon.Daemon, log *logx.Logger) (*dnsd.Server, error) {
	listen, err := netip.ParseAddrPort(cfg.DNS.Listen)
	if err != nil {
		return nil, fmt.Errorf("dns.listen: %w", err)
	}
	dc := dnsd.Config{Listen: []netip.AddrPort{listen}, Suffix: cfg.DNS.Suffix, ReverseZones: []netip.Prefix{cfg.Address.Prefix}}
	if cfg.DNS.Upstream != "" {
		up, err := netip.ParseAddrPort(cfg.DNS.Upstream)
		if err != nil {
			return nil, fmt.Errorf("dns.upstream: %w", err)
		}
		dc.Upstream = []netip.AddrPort{up}
	}
	srv, err := dnsd.New(dc, dnsResolver{d}, log)
	if err != nil {
		return nil, fmt.Errorf("dns wrapper: %w", err)
	}
	if err := srv.Start(); err != nil {
		return nil, fmt.Errorf("dns wrapper: %w", err)
	}
	log.Info("DNS wrapper listening", "addr", listen, "suffix", cfg.DNS.Suffix)
	return srv, nil
}

// dnsResolver answers the DNS wrapper from ANDNA.
type dnsResolver struct{ d *daemon.Daemon }

func (r dnsResolver) Resolve(ctx context.Context, name string) ([]netip.Addr, time.Duration, error) {
	a, ttl, err := r.d.Resolve(ctx, name)
	return a, ttl, dnsErr(err)
}

func (r dnsResolver) Reverse(ctx context.Context, a netip.Addr) ([]string, time.Duration, error) {
	n, ttl, err := r.d.Reverse(ctx, a)
	return n, ttl, dnsErr(err)
}

// dnsErr turns ANDNA's "no such name" into the wrapper's NXDOMAIN.
func dnsErr(err error) error {
	if errors.Is(err, andna.ErrNotFound) {
		return dnsd.ErrNotFound
	}
	return err
}

// setNetworkKeys gives the transport the configuration's network keys
// ([mesh]; none: an open mesh). On SIGHUP a changed key applies at once:
// that is how a key change goes without a flag day (docs/PROTOCOL.md).
func setNetworkKeys(tr *transport.Transport, c *config.Config) error {
	keys, err := c.Mesh.NetworkKeys()
	if err != nil {
		return err
	}
	tk := make([]transport.Key, len(keys))
	for i, k := range keys {
		tk[i] = k
	}
	tr.SetKeys(tk...)
	return nil
}

// transportConfig maps the ports and [limits] onto the transport's settings.
func transportConfig(cfg *config.Config) transport.Config {
	lim := cfg.Limits
	return transport.Config{
		DatagramPort: cfg.Ports.Radar, StreamPort: cfg.Ports.Stream,
		PerSourceRate: float64(lim.PerSourceRate), PerSourceBurst: float64(lim.PerSourceBurst),
		MaxConns: lim.MaxConns, MaxConnsPerSource: lim.MaxConnsPerSource, MaxFreshConns: lim.MaxFreshConns,
		QueueLen: lim.StreamQueue, RecvQueue: lim.RecvQueue, MaxPeers: lim.MaxPeers,
	}
}
