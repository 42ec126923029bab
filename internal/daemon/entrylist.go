package daemon

// The daemon's side of the entry lists (seed 002, docs/VLAYER.md "Entry
// servers and lists"): a goroutine of its own, outside the event loop and
// the sans-I/O core, that keeps the list of entry nodes fetched from the
// entry servers (internal/entry checks every signature) and, on an entry
// node, lists this node on them. It shares nothing with the loop but what
// New gave it; `ntkd ctl entry-nodes` reads its state under its mutex.

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/ntkd/ntkd/internal/config"
	"github.com/ntkd/ntkd/internal/ctl"
	"github.com/ntkd/ntkd/internal/entry"
	"github.com/ntkd/ntkd/internal/logx"
)

// Clock is the entry list's time: the machine's, or a test's that moves
// by hand. After is time.After.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

const (
	// entryFetchEvery is the time between fetches of the list.
	entryFetchEvery = 6 * time.Hour
	// entryRetryFirst is the wait after a fetch no server answered; it
	// doubles at each failure in a row, up to entryFetchEvery.
	entryRetryFirst = time.Minute
	// entryUpdateEvery is the time between an entry node's updates, well
	// inside the servers' expiry (30 min).
	entryUpdateEvery = 10 * time.Minute
	// maxEntryNodes bounds the list kept: a server holds at most as many.
	maxEntryNodes = entry.DefaultMaxRecords
)

// entryList is the goroutine's configuration and state. It is on when the
// virtual layer is on and entry servers are configured.
type entryList struct {
	on     bool
	conf   config.VLayer // as read at start: a reload does not change it
	log    *logx.Logger
	clock  Clock
	client entry.Client
	cache  string
	pos    entry.Position // ours: coordinates, and the endpoint's address
	lat    *float64       // as configured, for ctl
	lon    *float64

	// An entry node's: key is nil when this node does not list itself.
	key      ed25519.PrivateKey
	tunnel   [32]byte
	endpoint netip.AddrPort
	after    time.Duration

	start time.Time     // when run began: the uptime's origin (set under mu)
	done  chan struct{} // closed when run returns
	kick  chan struct{} // refresh's: a fetch before its time

	mu sync.Mutex
	st entryState
}

type entryState struct {
	list                []entry.Entry // nearest-first order is made by answer
	fromCache           bool
	lastFetch           time.Time // zero: none succeeded yet
	nextFetch           time.Time
	fetches, fetchFails uint64
	fetchErrs           []ctl.EntryServerError

	lastAccepted     time.Time
	accepted, failed uint64
	sendErrs         []ctl.EntryServerError
	sendErr          map[netip.AddrPort]string // per server: the last outcome logged
}

// newEntryList reads the [vlayer] entry keys; an entry node's key is the
// ANDNA key (loaded from andna.key_dir when ANDNA is off).
func newEntryList(o Options, log *logx.Logger) (*entryList, error) {
	v := &o.Config.VLayer
	l := &entryList{conf: *v, log: log.With("part", "entry"), clock: o.EntryClock, cache: v.EntryCache,
		lat: v.Latitude, lon: v.Longitude, after: v.EntryAfter, done: make(chan struct{}), kick: make(chan struct{}, 1)}
	if l.clock == nil {
		l.clock = realClock{}
	}
	if !v.Enabled || len(v.EntryServers) == 0 {
		return l, nil
	}
	l.on = true
	for i, s := range v.EntryServers {
		var p entry.Peer
		var err error
		if p.Addr, err = netip.ParseAddrPort(s.Address); err == nil {
			err = p.Key.UnmarshalText([]byte(s.PublicKey))
		}
		if err != nil {
			return nil, fmt.Errorf("daemon: vlayer.entry_server[%d]: %w", i, err)
		}
		l.client.Servers = append(l.client.Servers, p)
	}
	l.pos.Lat, l.pos.Lon, l.pos.HasCoords = v.EntryPosition()
	if v.Endpoint != "" {
		ep, err := netip.ParseAddrPort(v.Endpoint)
		if err != nil {
			return nil, fmt.Errorf("daemon: vlayer.endpoint: %w", err)
		}
		l.endpoint, l.pos.Addr = ep, ep.Addr().Unmap()
	}
	if !v.EntryNode {
		return l, nil
	}
	if !l.endpoint.IsValid() {
		return nil, errors.New("daemon: vlayer.entry_node needs vlayer.endpoint")
	}
	if o.VLinks == nil {
		return nil, errors.New("daemon: vlayer.entry_node needs the virtual layer's tunnel key")
	}
	l.tunnel = o.VLinks.PublicKey()
	var err error
	if l.key, err = nodeKey(o); err != nil {
		return nil, fmt.Errorf("daemon: the entry node's key: %w", err)
	}
	return l, nil
}

// begin starts the goroutine; the function it returns stops it and waits
// for it.
func (l *entryList) begin(ctx context.Context) (stop func()) {
	if !l.on {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	l.mu.Lock() // answer reads it from the control server's goroutines
	l.start = l.clock.Now()
	l.mu.Unlock()
	go l.run(ctx)
	return func() {
		cancel()
		<-l.done
	}
}

func (l *entryList) run(ctx context.Context) {
	defer close(l.done)
	l.loadCache()
	next, retry := l.start, entryRetryFirst
	var nextUpdate time.Time
	updateRetry := entryRetryFirst
	var lastKick time.Time
	if l.key != nil {
		nextUpdate = l.start.Add(l.after)
		l.log.Info("entry node: listed on the entry servers once up", "after", l.after, "endpoint", l.endpoint)
	}
	for {
		now := l.clock.Now()
		if !now.Before(next) {
			ok := l.fetch(ctx)
			if ctx.Err() != nil {
				return
			}
			now = l.clock.Now()
			if ok {
				next, retry = now.Add(entryFetchEvery), entryRetryFirst
			} else {
				next, retry = now.Add(retry), min(2*retry, entryFetchEvery)
			}
			l.mu.Lock()
			l.st.nextFetch = next
			l.mu.Unlock()
		}
		wait := next.Sub(now)
		if l.key != nil {
			if !now.Before(nextUpdate) {
				listed := l.update(ctx, now)
				if ctx.Err() != nil {
					return
				}
				// Unlisted (the uplink not up yet, the servers away):
				// again soon, not in ten minutes.
				if listed {
					nextUpdate, updateRetry = now.Add(entryUpdateEvery), entryRetryFirst
				} else {
					nextUpdate, updateRetry = now.Add(updateRetry), min(2*updateRetry, entryUpdateEvery)
				}
			}
			wait = min(wait, nextUpdate.Sub(now))
		}
		select {
		case <-ctx.Done():
			return
		case <-l.clock.After(max(wait, 0)):
		case <-l.kick:
			// Virtual hooking finds no entry node to ask: a fetch now,
			// once a minute at most, rather than in six hours.
			if now := l.clock.Now(); now.Sub(lastKick) >= entryRetryFirst {
				lastKick, next = now, now
			}
		}
	}
}

// refresh asks for a fetch before its time (virtual hooking has no entry
// node to ask); it never blocks.
func (l *entryList) refresh() {
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

// loadCache takes the list of the last run, every signature checked
// again; a cache that fails is left alone and logged.
func (l *entryList) loadCache() {
	es, err := entry.LoadCache(l.cache)
	if err != nil {
		l.log.Warn("entry list cache refused", "err", err)
		return
	}
	if len(es) == 0 {
		return
	}
	es = es[:min(len(es), maxEntryNodes)]
	l.mu.Lock()
	l.st.list, l.st.fromCache = es, true
	l.mu.Unlock()
	l.log.Info("entry list read from the cache", "nodes", len(es), "file", l.cache)
}

// fetch asks every server for its list, one after the other, merges what
// came (per entry node the newest record) and keeps and caches it. It
// fails only when no server answered: the last good list stays.
func (l *entryList) fetch(ctx context.Context) bool {
	var lists [][]entry.Entry
	errs := []ctl.EntryServerError{}
	for _, s := range l.client.Servers {
		es, err := l.client.Fetch(ctx, s)
		if err != nil {
			if ctx.Err() != nil {
				return false
			}
			l.log.Warn("entry server: no list", "server", s.Addr, "err", err)
			errs = append(errs, ctl.EntryServerError{Server: s.Addr.String(), Error: err.Error()})
			continue
		}
		lists = append(lists, es)
	}
	now := l.clock.Now()
	l.mu.Lock()
	l.st.fetchErrs = errs
	if len(lists) == 0 {
		l.st.fetchFails++
		l.mu.Unlock()
		return false
	}
	merged := entry.Merge(lists...)
	merged = merged[:min(len(merged), maxEntryNodes)] // oldest uptime kept
	l.st.list, l.st.fromCache, l.st.lastFetch = merged, false, now
	l.st.fetches++
	l.mu.Unlock()
	l.log.Info("entry list fetched", "nodes", len(merged), "servers", len(lists), "failed", len(errs))
	err := os.MkdirAll(filepath.Dir(l.cache), 0o700)
	if err == nil {
		err = entry.SaveCache(l.cache, merged)
	}
	if err != nil {
		l.log.Warn("entry list not cached", "err", err)
	}
	return true
}

// update signs a record of this node and sends it to every server. The
// uptime's origin is the wall clock now less the time run has been going
// by the monotonic clock: a router without a battery-backed clock sets its
// time after boot, and "up since 1970" would put it first in every list.
// It reports whether a server took it.
func (l *entryList) update(ctx context.Context, now time.Time) (listed bool) {
	since := now.Add(-now.Sub(l.start))
	e, err := entry.NewUpdate(l.key, l.tunnel, l.endpoint, l.pos, since, now)
	if err != nil {
		l.log.Warn("entry node: no update", "err", err)
		return false
	}
	errs := []ctl.EntryServerError{}
	for _, s := range l.client.Servers {
		err := l.client.Send(ctx, s, e)
		if ctx.Err() != nil {
			return listed
		}
		listed = listed || err == nil
		l.mu.Lock()
		if l.st.sendErr == nil {
			l.st.sendErr = map[netip.AddrPort]string{}
		}
		prev, seen := l.st.sendErr[s.Addr]
		msg := ""
		if err != nil {
			l.st.failed++
			msg = err.Error()
			errs = append(errs, ctl.EntryServerError{Server: s.Addr.String(), Error: msg})
		} else {
			l.st.accepted++
			l.st.lastAccepted = l.clock.Now()
		}
		l.st.sendErr[s.Addr] = msg
		l.mu.Unlock()
		// Logged when the outcome changes, not every 10 minutes.
		se, refused := errors.AsType[*entry.StatusError](err)
		switch {
		case seen && prev == msg:
		case err == nil:
			l.log.Info("entry node: listed", "server", s.Addr)
		case refused:
			l.log.Warn("entry node: update refused", "server", s.Addr, "status", se.Status.String())
		default:
			l.log.Warn("entry node: update not delivered", "server", s.Addr, "err", err)
		}
	}
	l.mu.Lock()
	l.st.sendErrs = errs
	l.mu.Unlock()
	return listed
}

// entries is the list as it is now (replaced, never changed in place).
func (l *entryList) entries() []entry.Entry {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.st.list
}

// answer is `ntkd ctl entry-nodes`: the list nearest first
// (entry.ByDistance).
func (l *entryList) answer() ctl.EntryNodes {
	out := ctl.EntryNodes{LastFetchAgoSec: -1, Errors: []ctl.EntryServerError{}, Nodes: []ctl.EntryNode{},
		Self: ctl.EntrySelf{LastAcceptedAgoSec: -1, Errors: []ctl.EntryServerError{}}}
	if !l.on {
		return out
	}
	now := l.clock.Now()
	l.mu.Lock()
	st, start := l.st, l.start
	l.mu.Unlock() // st.list is replaced, never changed in place
	out.Enabled, out.Servers, out.Latitude, out.Longitude = true, len(l.client.Servers), l.lat, l.lon
	out.FromCache, out.Fetches, out.FetchFailures = st.fromCache, st.fetches, st.fetchFails
	if !st.lastFetch.IsZero() {
		out.LastFetchAgoSec = now.Sub(st.lastFetch).Seconds()
	}
	if !st.nextFetch.IsZero() {
		out.NextFetchInSec = max(0, st.nextFetch.Sub(now).Seconds())
	}
	out.Errors = append(out.Errors, st.fetchErrs...)

	var self entry.PublicKey
	if l.key != nil {
		self = entry.PublicKeyOf(l.key)
		s := &out.Self
		s.EntryNode, s.Endpoint, s.PublicKey = true, l.endpoint.String(), self.String()
		if !start.IsZero() {
			s.EligibleInSec = max(0, (l.after - now.Sub(start)).Seconds())
		}
		if !st.lastAccepted.IsZero() {
			s.LastAcceptedAgoSec = now.Sub(st.lastAccepted).Seconds()
			s.Listed = now.Sub(st.lastAccepted) < entry.DefaultExpiry
		}
		s.Accepted, s.Failed = st.accepted, st.failed
		s.Errors = append(s.Errors, st.sendErrs...)
	}

	for _, i := range entry.ByDistance(st.list, l.pos) {
		e := &st.list[i]
		n := ctl.EntryNode{PublicKey: e.Node.String(), TunnelKey: entry.PublicKey(e.TunnelKey).String(),
			Endpoint: e.Endpoint.String(), UptimeSec: max(0, float64(now.Unix()-e.Since)),
			DistanceKm: -1, Hops: len(e.Hops), Self: l.key != nil && e.Node == self}
		if km := entry.DistanceKm(l.pos, e.Position()); !math.IsInf(km, 1) {
			n.DistanceKm = km
		}
		if e.HasCoords {
			lat, lon := float64(e.Lat)/1e6, float64(e.Lon)/1e6
			n.Latitude, n.Longitude = &lat, &lon
		}
		out.Nodes = append(out.Nodes, n)
	}
	return out
}

// warnEntryReload says that a reload does not change the entry list's
// settings: they are read at start.
func (d *Daemon) warnEntryReload(c *config.Config) {
	a, b := &d.entries.conf, &c.VLayer
	same := a.Enabled == b.Enabled && a.Endpoint == b.Endpoint && a.EntryNode == b.EntryNode &&
		a.EntryAfter == b.EntryAfter && a.EntryCache == b.EntryCache && len(a.EntryServers) == len(b.EntryServers) &&
		samePtr(a.Latitude, b.Latitude) && samePtr(a.Longitude, b.Longitude)
	for i := 0; same && i < len(a.EntryServers); i++ {
		same = a.EntryServers[i] == b.EntryServers[i]
	}
	if !same && len(a.EntryServers)+len(b.EntryServers) > 0 {
		d.log.Warn("reload: the entry servers, coordinates and entry node settings take effect at the next restart")
	}
}

func samePtr(a, b *float64) bool { return a == nil && b == nil || a != nil && b != nil && *a == *b }
