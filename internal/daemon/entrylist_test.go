package daemon

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ntkd/ntkd/internal/config"
	"github.com/ntkd/ntkd/internal/ctl"
	"github.com/ntkd/ntkd/internal/entry"
	"github.com/ntkd/ntkd/internal/logx"
	"github.com/ntkd/ntkd/internal/tunnel"
)

// fakeClock is an entry list's time that moves only by Advance.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []fakeWaiter
}

type fakeWaiter struct {
	at time.Time
	c  chan time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, fakeWaiter{c.now.Add(d), ch})
	return ch
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	keep := c.waiters[:0]
	for _, w := range c.waiters {
		if w.at.After(c.now) {
			keep = append(keep, w)
			continue
		}
		w.c <- c.now
	}
	c.waiters = keep
}

// logBuf collects a daemon's log lines.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// keyedVLinks is fakeVLinks with a tunnel key.
type keyedVLinks struct {
	*fakeVLinks
	pub tunnel.Key
}

func (v keyedVLinks) PublicKey() tunnel.Key { return v.pub }

// entryServer is an entry.Server on 127.0.0.1.
type entryServer struct {
	srv  *entry.Server
	peer entry.Peer
	stop func()
}

func startEntryServer(t *testing.T, seed byte, mirror bool) *entryServer {
	t.Helper()
	k := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
	// The daemon's clock is a test's: its stamps run ahead of ours.
	s, err := entry.NewServer(entry.ServerConfig{Key: k, Mirror: mirror, SourceRate: 100000,
		List: entry.ListConfig{MinInterval: time.Nanosecond, MaxSkew: 24 * time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	es := &entryServer{srv: s, peer: entry.Peer{Addr: ln.Addr().(*net.TCPAddr).AddrPort(), Key: s.PublicKey()}}
	var once sync.Once
	es.stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(es.stop)
	return es
}

func (s *entryServer) conf() config.EntryServer {
	return config.EntryServer{Address: s.peer.Addr.String(), PublicKey: s.peer.Key.String()}
}

// listNode makes an entry node's signed update and sends it to s.
func listNode(t *testing.T, s *entryServer, seed byte, endpoint string, lat, lon float64, coords bool, since time.Time) entry.PublicKey {
	t.Helper()
	k := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
	pos := entry.Position{HasCoords: coords, Lat: int32(lat * 1e6), Lon: int32(lon * 1e6)}
	e, err := entry.NewUpdate(k, [32]byte{seed}, netip.MustParseAddrPort(endpoint), pos, since, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	c := entry.Client{}
	if err := c.Send(context.Background(), s.peer, e); err != nil {
		t.Fatal(err)
	}
	return e.Node
}

type entryDaemon struct {
	d    *Daemon
	log  *logBuf
	stop func()
}

// startEntryDaemon runs a daemon alone (eth0, nobody on it) with the
// virtual layer on and setup's [vlayer]; it never hooks (the lists of
// these tests hold documentation addresses: it must dial none).
func startEntryDaemon(t *testing.T, clk Clock, key ed25519.PrivateKey, setup func(*config.VLayer)) *entryDaemon {
	t.Helper()
	if key == nil {
		key = ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	}
	return startVLayerDaemon(t, clk, key, tunnel.Key{7, 7, 7}, -1, func(c *config.Config) { setup(&c.VLayer) })
}

// startVLayerDaemon runs a daemon alone with the virtual layer on, fake
// tunnels with public key tun, and setup's [vlayer]. Stopping it checks
// that the entry list's and the hook's goroutines ended with Run.
func startVLayerDaemon(t *testing.T, clk Clock, key ed25519.PrivateKey, tun tunnel.Key, vhookEvery time.Duration, setup func(*config.Config)) *entryDaemon {
	t.Helper()
	return startVLayerDaemonOn(t, newHub(1).trs[0], 1, clk, key, tun, vhookEvery, setup)
}

// startVLayerDaemonOn is startVLayerDaemon on transport tr (a hub's, to
// mesh daemons), its node seeded with seed.
func startVLayerDaemonOn(t *testing.T, tr Transport, seed uint64, clk Clock, key ed25519.PrivateKey, tun tunnel.Key, vhookEvery time.Duration, setup func(*config.Config)) *entryDaemon {
	t.Helper()
	cfg := config.Default()
	cfg.Interfaces = []config.Interface{{Name: "eth0"}}
	cfg.VLayer.Enabled = true
	setup(cfg)
	logs := &logBuf{}
	d, err := New(Options{Config: cfg, Version: "test", Transport: tr, Kernel: newFakeKernel(),
		Links: &fakeLinks{down: map[string]bool{}}, Seed: seed, Timers: fastTimers, VLinks: keyedVLinks{&fakeVLinks{}, tun},
		ANDNAKey: key, Logger: logx.New(logs, logx.LevelDebug), EntryClock: clk, VHookEvery: vhookEvery})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	ed := &entryDaemon{d: d, log: logs}
	var once sync.Once
	ed.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
			// No goroutine of the entry list or of the hook outlives Run:
			// each closes its channel last thing.
			select {
			case <-d.entries.done:
			default:
				if d.entries.on {
					t.Error("the entry list's goroutine still runs after Run returned")
				}
			}
			select {
			case <-d.vhook.done:
			default:
				t.Error("virtual hooking's goroutines outlive Run")
			}
		})
	}
	t.Cleanup(ed.stop)
	return ed
}

func (ed *entryDaemon) entryNodes(t *testing.T) ctl.EntryNodes {
	t.Helper()
	out, err := ed.d.Handle(context.Background(), ctl.Request{Cmd: ctl.CmdEntryNodes})
	if err != nil {
		t.Fatal(err)
	}
	return out.(ctl.EntryNodes)
}

func coords(lat, lon float64) (*float64, *float64) { return &lat, &lon }

// TestEntryList: a daemon fetches and merges the lists of two real entry
// servers, checking every signature, caches the result and lists it
// nearest first; with the servers stopped, another daemon serves the list
// from the cache; a forged cache is refused and logged.
func TestEntryList(t *testing.T) {
	es1, es2 := startEntryServer(t, 1, false), startEntryServer(t, 2, false)
	wrongKey := startEntryServer(t, 3, false) // configured with another key: its lists fail
	wrongKey.peer.Key = es1.peer.Key
	dead := startEntryServer(t, 4, false)
	dead.stop()

	up := time.Now().Add(-time.Hour)
	paris := listNode(t, es1, 11, "192.0.2.11:27000", 48.8566, 2.3522, true, up)
	rome := listNode(t, es2, 12, "192.0.2.12:27000", 41.9028, 12.4964, true, up)
	listNode(t, es1, 13, "203.0.113.13:1000", 0, 0, false, up.Add(-time.Hour)) // no coordinates
	time.Sleep(2 * time.Millisecond)
	far := listNode(t, es2, 13, "203.0.113.13:2000", 0, 0, false, up) // newer: wins the merge
	near := listNode(t, es2, 14, "198.51.100.14:27000", 0, 0, false, up)
	listNode(t, wrongKey, 15, "192.0.2.15:27000", 0, 0, false, up) // never listed

	cache := filepath.Join(t.TempDir(), "sub", "entry.cache")
	london := func(v *config.VLayer) {
		v.EntryServers = []config.EntryServer{es1.conf(), es2.conf(), wrongKey.conf(), dead.conf()}
		v.Latitude, v.Longitude = coords(51.5074, -0.1278)
		v.EntryCache = cache
	}
	a := startEntryDaemon(t, nil, nil, london)
	var got ctl.EntryNodes
	waitFor(t, "a fetch", 20*time.Second, func() (bool, string) {
		got = a.entryNodes(t)
		return got.Fetches > 0, "no fetch yet"
	})
	if !got.Enabled || got.Servers != 4 || got.FromCache || got.LastFetchAgoSec < 0 || got.NextFetchInSec < 5*3600 {
		t.Errorf("answer %+v", got)
	}
	wantOrder := []entry.PublicKey{paris, rome, near, far} // 344 km, 1434 km, then by address
	if len(got.Nodes) != len(wantOrder) {
		t.Fatalf("%d nodes, want %d: %+v", len(got.Nodes), len(wantOrder), got.Nodes)
	}
	for i, k := range wantOrder {
		if got.Nodes[i].PublicKey != k.String() {
			t.Errorf("node %d is %+v, want %v", i, got.Nodes[i], k)
		}
	}
	if n := got.Nodes[0]; n.DistanceKm < 330 || n.DistanceKm > 360 || n.Endpoint != "192.0.2.11:27000" || n.Latitude == nil ||
		n.UptimeSec < 3500 || n.TunnelKey != entry.PublicKey([32]byte{11}).String() {
		t.Errorf("Paris: %+v", n)
	}
	if n := got.Nodes[3]; n.DistanceKm != -1 || n.Endpoint != "203.0.113.13:2000" || n.Latitude != nil {
		t.Errorf("the node without coordinates: %+v (want the newer record, port 2000)", n)
	}
	// The first is the one entry.Nearest picks.
	cached, err := entry.LoadCache(cache)
	if err != nil || len(cached) != 4 {
		t.Fatalf("cache: %d entries, %v", len(cached), err)
	}
	from := entry.Position{HasCoords: true, Lat: 51507400, Lon: -127800}
	if i := entry.Nearest(cached, from); cached[i].Node.String() != got.Nodes[0].PublicKey {
		t.Errorf("entry.Nearest picks %v", cached[i].Node)
	}
	errs := map[string]string{}
	for _, e := range got.Errors {
		errs[e.Server] = e.Error
	}
	if len(errs) != 2 || !strings.Contains(errs[wrongKey.peer.Addr.String()], "bad signature") || errs[dead.peer.Addr.String()] == "" {
		t.Errorf("server errors %+v", got.Errors)
	}
	if got.Self.EntryNode || got.Self.Listed || len(got.Self.Errors) != 0 {
		t.Errorf("self %+v", got.Self)
	}
	a.stop()

	// The servers go; a new daemon has the list from the cache.
	es1.stop()
	es2.stop()
	wrongKey.stop()
	b := startEntryDaemon(t, nil, nil, london)
	waitFor(t, "a failed fetch", 20*time.Second, func() (bool, string) {
		got = b.entryNodes(t)
		return got.FetchFailures > 0, "no failure yet"
	})
	if !got.FromCache || len(got.Nodes) != 4 || got.Nodes[0].PublicKey != paris.String() || len(got.Errors) != 4 ||
		got.LastFetchAgoSec != -1 || got.NextFetchInSec > 61 {
		t.Errorf("from the cache: %+v", got)
	}
	if !strings.Contains(b.log.String(), "entry list read from the cache") {
		t.Errorf("log:\n%s", b.log)
	}
	b.stop()

	// A forged cache: one byte of the first record's signature.
	raw, err := os.ReadFile(cache)
	if err != nil {
		t.Fatal(err)
	}
	raw[len("NTKDENC1")+4+2+120] ^= 1
	if err := os.WriteFile(cache, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	c := startEntryDaemon(t, nil, nil, london)
	waitFor(t, "a failed fetch", 20*time.Second, func() (bool, string) {
		got = c.entryNodes(t)
		return got.FetchFailures > 0, "no failure yet"
	})
	if got.FromCache || len(got.Nodes) != 0 {
		t.Errorf("a forged cache was taken: %+v", got)
	}
	if l := c.log.String(); !strings.Contains(l, "entry list cache refused") || !strings.Contains(l, "bad signature") {
		t.Errorf("the forged cache is not logged:\n%s", l)
	}
}

// TestEntryNode: with entry_node on, the node lists itself on every server
// once the daemon has been up entry_after (1 minute of a test clock), then
// every 10 minutes; a mirror's refusal is counted and logged with its
// status.
func TestEntryNode(t *testing.T) {
	es1, es2 := startEntryServer(t, 1, false), startEntryServer(t, 2, false)
	mirror := startEntryServer(t, 3, true) // takes no update straight from an entry node
	clk := &fakeClock{now: time.Now()}
	start := clk.Now()
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{42}, ed25519.SeedSize))
	self := entry.PublicKeyOf(key)
	d := startEntryDaemon(t, clk, key, func(v *config.VLayer) {
		v.EntryServers = []config.EntryServer{es1.conf(), es2.conf(), mirror.conf()}
		v.Latitude, v.Longitude = coords(45.4642, 9.19)
		v.Endpoint = "192.0.2.42:27000"
		v.EntryNode, v.EntryAfter = true, time.Minute
		v.EntryCache = filepath.Join(t.TempDir(), "entry.cache")
	})
	listed := func(s *entryServer) (entry.Entry, bool) {
		for _, e := range s.srv.Snapshot() {
			if e.Node == self {
				return e, true
			}
		}
		return entry.Entry{}, false
	}
	var got ctl.EntryNodes
	waitFor(t, "the first fetch", 20*time.Second, func() (bool, string) {
		got = d.entryNodes(t)
		return got.Fetches > 0, "no fetch yet"
	})
	time.Sleep(100 * time.Millisecond)
	if _, ok := listed(es1); ok {
		t.Fatal("listed before entry_after")
	}
	if s := got.Self; !s.EntryNode || s.Listed || s.EligibleInSec != 60 || s.PublicKey != self.String() || s.Endpoint != "192.0.2.42:27000" {
		t.Errorf("self before entry_after: %+v", s)
	}

	waitFor(t, "listed on both servers", 20*time.Second, func() (bool, string) {
		clk.Advance(10 * time.Second)
		_, ok1 := listed(es1)
		_, ok2 := listed(es2)
		return ok1 && ok2, "not yet"
	})
	e, _ := listed(es1)
	if e.Since != start.Unix() || e.Endpoint.String() != "192.0.2.42:27000" || e.TunnelKey != [32]byte{7, 7, 7} ||
		!e.HasCoords || e.Lat != 45464200 || e.Lon != 9190000 {
		t.Errorf("our record: %+v", e.Record)
	}
	if _, ok := listed(mirror); ok {
		t.Error("the mirror took an update from an entry node")
	}
	waitFor(t, "the round's results", 10*time.Second, func() (bool, string) {
		got = d.entryNodes(t)
		return got.Self.Accepted+got.Self.Failed >= 3, "round not over"
	})
	if s := got.Self; !s.Listed || s.EligibleInSec != 0 || s.LastAcceptedAgoSec < 0 || s.Accepted != 2 || s.Failed != 1 ||
		len(s.Errors) != 1 || s.Errors[0].Server != mirror.peer.Addr.String() || !strings.Contains(s.Errors[0].Error, "refused") {
		t.Errorf("self after the first round: %+v", s)
	}
	if l := d.log.String(); !strings.Contains(l, "update refused") || !strings.Contains(l, "status=refused") {
		t.Errorf("the refusal is not logged with its status:\n%s", l)
	}

	// Ten minutes on, a newer record.
	clk.Advance(9 * time.Minute)
	waitFor(t, "the next update", 20*time.Second, func() (bool, string) {
		clk.Advance(10 * time.Second)
		n, _ := listed(es2)
		return n.Stamp > e.Stamp, "no newer record"
	})
	waitFor(t, "the second round's results", 10*time.Second, func() (bool, string) {
		got = d.entryNodes(t)
		return got.Self.Accepted >= 4 && got.Self.Failed >= 2, "round not over"
	})
	if n := strings.Count(d.log.String(), "update refused"); n != 1 {
		t.Errorf("the same refusal logged %d times, want once", n)
	}
}

// TestEntryListOff: without entry servers, entry-nodes answers an empty,
// disabled list and no goroutine runs.
func TestEntryListOff(t *testing.T) {
	d := startEntryDaemon(t, nil, nil, func(*config.VLayer) {})
	got := d.entryNodes(t)
	if got.Enabled || got.Nodes == nil || got.Errors == nil || got.LastFetchAgoSec != -1 || got.Self.LastAcceptedAgoSec != -1 {
		t.Errorf("off: %+v", got)
	}
}

// TestEntryListStops: a daemon stopped while a server holds its fetch
// (the connection open, no answer) stops at once, not after the
// client's 10 s, and leaves no goroutine of the entry list behind.
func TestEntryListStops(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	held := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			held <- c
		}
	}()
	hole := config.EntryServer{Address: ln.Addr().String(), PublicKey: entry.PublicKey{1}.String()}
	d := startEntryDaemon(t, nil, nil, func(v *config.VLayer) {
		v.EntryServers = []config.EntryServer{hole}
		v.EntryCache = filepath.Join(t.TempDir(), "entry.cache")
	})
	var c net.Conn
	select {
	case c = <-held:
		defer c.Close()
	case <-time.After(10 * time.Second):
		t.Fatal("the daemon did not fetch")
	}
	begin := time.Now()
	d.stop()
	if took := time.Since(begin); took > 2*time.Second {
		t.Errorf("stopping took %v: the fetch did not see the daemon's context", took)
	}
	// The client closed its connection before Run returned.
	c.SetReadDeadline(time.Now().Add(time.Second))
	buf := make([]byte, 64)
	for err == nil { // the LIST request, then its end
		_, err = c.Read(buf)
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("the fetch's connection is still open after Run returned: %v", err)
	}
}
