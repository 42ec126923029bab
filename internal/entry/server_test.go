package entry

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ntkd/ntkd/internal/logx"
)

type testServer struct {
	srv  *Server
	peer Peer
	done chan error
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func addrOf(ln net.Listener) netip.AddrPort {
	return ln.Addr().(*net.TCPAddr).AddrPort()
}

// TestLoopback runs ES1 <-> ES2 -> MES1 on 127.0.0.1 (seed 002's chain):
// an update sent to ES1 reaches the mirror with ES1's and ES2's
// signatures; replays, forgeries and updates sent straight to the mirror
// are refused; the mirror sends nothing to a full server; a client merging
// two servers' lists picks the nearest entry node.
func TestLoopback(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	lns := []net.Listener{listen(t), listen(t), listen(t)}
	trap := listen(t) // a full server the mirror lists: it must never hear from it
	var trapped atomic.Int32
	go func() {
		for {
			c, err := trap.Accept()
			if err != nil {
				return
			}
			trapped.Add(1)
			c.Close()
		}
	}()
	defer trap.Close()

	k1, k2, km := key(101), key(102), key(103)
	p1 := Peer{Addr: addrOf(lns[0]), Key: PublicKeyOf(k1)}
	p2 := Peer{Addr: addrOf(lns[1]), Key: PublicKeyOf(k2)}
	pm := Peer{Addr: addrOf(lns[2]), Key: PublicKeyOf(km), Mirror: true}
	log := logx.Discard()
	cfgs := []ServerConfig{
		{Key: k1, Peers: []Peer{p2}, Logger: log, SourceRate: 10000},
		{Key: k2, Peers: []Peer{p1, pm}, Logger: log, SourceRate: 10000},
		{Key: km, Mirror: true, Logger: log, SourceRate: 10000, Peers: []Peer{{Key: p2.Key},
			{Addr: addrOf(trap), Key: PublicKeyOf(key(104))}}},
	}
	servers := make([]*testServer, 3)
	for i, c := range cfgs {
		s, err := NewServer(c)
		if err != nil {
			t.Fatal(err)
		}
		ts := &testServer{srv: s, peer: []Peer{p1, p2, pm}[i], done: make(chan error, 1)}
		go func() { ts.done <- s.Serve(ctx, lns[i]) }()
		servers[i] = ts
	}
	defer func() {
		cancel()
		for i, s := range servers {
			select {
			case err := <-s.done:
				if err != nil {
					t.Errorf("server %d: %v", i, err)
				}
			case <-time.After(5 * time.Second):
				t.Errorf("server %d did not stop", i)
			}
		}
	}()

	c := &Client{Timeout: 5 * time.Second}
	now := time.Now()
	// Node 1 in Rome, node 2 in Paris.
	u1, err := NewUpdate(key(1), [32]byte{1}, netip.MustParseAddrPort("192.0.2.1:27000"),
		Position{HasCoords: true, Lat: 41_902_800, Lon: 12_496_400}, now.Add(-96*time.Hour), now)
	if err != nil {
		t.Fatal(err)
	}
	u2, err := NewUpdate(key(2), [32]byte{2}, netip.MustParseAddrPort("[2001:db8::2]:27000"),
		Position{HasCoords: true, Lat: 48_856_600, Lon: 2_352_200}, now.Add(-72*time.Hour), now)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Send(ctx, p1, u1); err != nil {
		t.Fatalf("update to ES1: %v", err)
	}
	if err := c.Send(ctx, p2, u2); err != nil {
		t.Fatalf("update to ES2: %v", err)
	}

	wantStatus := func(what string, err error, st Status) {
		t.Helper()
		var se *StatusError
		if !errors.As(err, &se) || se.Status != st {
			t.Errorf("%s: %v, want %v", what, err, st)
		}
	}
	wantStatus("replay to ES1", c.Send(ctx, p1, u1), StatusStale)
	forged := u1
	forged.Endpoint = netip.MustParseAddrPort("198.51.100.66:27000")
	forged.Stamp += int64(time.Minute)
	wantStatus("forged to ES2", c.Send(ctx, p2, forged), StatusBadSignature)
	u3, _ := NewUpdate(key(3), [32]byte{3}, netip.MustParseAddrPort("192.0.2.3:27000"), Position{}, now, now)
	wantStatus("straight to the mirror", c.Send(ctx, pm, u3), StatusRefused)
	wantStatus("chain from a stranger", c.Send(ctx, p1, u3.Forwarded(key(105))), StatusUntrusted)

	// Wait for both updates to reach the mirror over the chain.
	var fromMirror []Entry
	deadline := time.Now().Add(10 * time.Second)
	for {
		fromMirror, err = c.Fetch(ctx, pm)
		if err != nil {
			t.Fatal(err)
		}
		if len(fromMirror) == 2 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(fromMirror) != 2 {
		t.Fatalf("the mirror lists %d entries, want 2", len(fromMirror))
	}
	// Oldest first: node 1 (up 96 h), then node 2.
	e1, e2 := fromMirror[0], fromMirror[1]
	if e1.Node != u1.Node || e2.Node != u2.Node {
		t.Fatalf("mirror's order: %v, %v", e1.Endpoint, e2.Endpoint)
	}
	if len(e1.Hops) != 2 || e1.Hops[0].Signer != p1.Key || e1.Hops[1].Signer != p2.Key {
		t.Errorf("node 1's chain at the mirror: %+v, want ES1, ES2", e1.Hops)
	}
	if len(e2.Hops) != 1 || e2.Hops[0].Signer != p2.Key {
		t.Errorf("node 2's chain at the mirror: %+v, want ES2", e2.Hops)
	}
	// ES1 learnt node 2 from ES2, and did not send node 1 back and forth.
	fromES1, err := c.Fetch(ctx, p1)
	if err != nil {
		t.Fatal(err)
	}
	if len(fromES1) != 2 || len(fromES1[0].Hops) != 0 || len(fromES1[1].Hops) != 1 {
		t.Errorf("ES1's list: %+v", fromES1)
	}

	// A client that expects another key refuses the mirror's list.
	if _, err := c.Fetch(ctx, Peer{Addr: pm.Addr, Key: p1.Key}); !errors.Is(err, ErrBadSignature) {
		t.Errorf("list signed by an unexpected server: %v", err)
	}

	// A client merging ES1 and the mirror picks the nearest entry node:
	// Paris from London, Rome from Naples.
	c.Servers = []Peer{p1, pm, {Addr: addrOf(trap), Key: PublicKeyOf(key(104))}} // the trap closes: one failure is fine
	merged, err := c.FetchAll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	london := Position{HasCoords: true, Lat: 51_507_400, Lon: -127_800}
	naples := Position{HasCoords: true, Lat: 40_851_800, Lon: 14_268_100}
	if i := Nearest(merged, london); i < 0 || merged[i].Node != u2.Node {
		t.Errorf("nearest to London: %d of %d", i, len(merged))
	}
	if i := Nearest(merged, naples); i < 0 || merged[i].Node != u1.Node {
		t.Errorf("nearest to Naples: %d of %d", i, len(merged))
	}
	cache := filepath.Join(t.TempDir(), "entry-nodes")
	if err := SaveCache(cache, merged); err != nil {
		t.Fatal(err)
	}
	loaded, err := LoadCache(cache)
	if err != nil || len(loaded) != 2 || loaded[0].Node != u1.Node {
		t.Errorf("LoadCache = %d entries, %v", len(loaded), err)
	}

	if n := trapped.Load(); n != 1 { // the client's FetchAll only
		t.Errorf("the full server behind the mirror had %d connections, want the client's 1", n)
	}
	counters, stats := servers[2].srv.Stats()
	if counters.Accepted != 2 || counters.Refused[StatusRefused] != 1 || stats.Forwarded != 0 {
		t.Errorf("mirror: %+v %+v", counters, stats)
	}
	counters, stats = servers[0].srv.Stats()
	if counters.Refused[StatusStale] != 1 || counters.Refused[StatusUntrusted] != 1 || stats.Forwarded != 1 {
		t.Errorf("ES1: %+v %+v", counters, stats)
	}
}

// TestServerRefusesGarbage: a malformed message is counted, closes its
// connection and changes nothing; the per-address rate holds.
func TestServerRefusesGarbage(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ln := listen(t)
	s, err := NewServer(ServerConfig{Key: key(101), SourceRate: 2})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	p := Peer{Addr: addrOf(ln), Key: s.PublicKey()}

	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	conn.Write([]byte("NE\x01\x01\x00\x00\x00\x03abc"))
	typ, r, err := ReadMsg(conn, 0)
	if st, _ := DecodeResult(r); err != nil || typ != MsgResult || st != StatusMalformed {
		t.Errorf("garbage update: %d %x %v", typ, r, err)
	}
	conn.Close()

	c := &Client{Timeout: 5 * time.Second}
	now := time.Now()
	for n := byte(1); n <= 3; n++ {
		u, _ := NewUpdate(key(n), [32]byte{n}, netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 0, 2, n}), 1), Position{}, now, now)
		err := c.Send(ctx, p, u)
		if n <= 2 && err != nil {
			t.Errorf("update %d: %v", n, err)
		}
		if n == 3 {
			var se *StatusError
			if !errors.As(err, &se) || se.Status != StatusRate {
				t.Errorf("the third update from one address: %v, want rate limited", err)
			}
		}
	}
	if es := s.Snapshot(); len(es) != 2 {
		t.Errorf("%d entries, want 2", len(es))
	}
	_, stats := s.Stats()
	if stats.Malformed != 1 || stats.SourceLimit != 1 {
		t.Errorf("stats %+v", stats)
	}
	cancel()
	if err := <-done; err != nil {
		t.Error(err)
	}
}
