package andna

import (
	"crypto/ed25519"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/ntkd/ntkd/internal/addr"
	"github.com/ntkd/ntkd/internal/wire"
)

type fakeHost struct{ members []uint8 }

func (h fakeHost) GnodeMembers() []uint8     { return h.members }
func (h fakeHost) Bnode() (netip.Addr, bool) { return netip.Addr{}, false }

func testKey(b byte) ed25519.PrivateKey {
	var s [ed25519.SeedSize]byte
	s[0] = b
	return ed25519.NewKeyFromSeed(s[:])
}

func testEngine(t testing.TB, key byte, a string) *Engine {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Hibernation, cfg.MinUpdateAge, cfg.UpdateEvery = 600*time.Second, 200*time.Second, 300*time.Second
	e, err := New(cfg, addr.Default(), fakeHost{members: []uint8{1, 2, 3}}, testKey(key))
	if err != nil {
		t.Fatal(err)
	}
	e.SetAddr(0, netip.MustParseAddr(a))
	return e
}

// signed builds a registration of name by key k from address a.
func signed(k byte, name, a string, counter uint32) *wire.Register {
	e := &Engine{key: testKey(k)}
	copy(e.pub[:], e.key.Public().(ed25519.PublicKey))
	r := &wire.Register{Hostname: name, PubKey: e.pub, Counter: counter, Addr: netip.MustParseAddr(a)}
	e.sign(r)
	return r
}

// nackOf returns the code of the NACK to id in e's outbox, or CodeOK for an
// ACK, failing if there is neither.
func replyTo(t *testing.T, e *Engine, id uint32) wire.Payload {
	t.Helper()
	for _, o := range e.Outbox() {
		if o.ID == id && !o.Spread && o.Dst.IsValid() && o.Level == 0 && !o.Nearest {
			return o.P
		}
	}
	t.Fatalf("no reply to request %d", id)
	return nil
}

func codeOf2(p wire.Payload) wire.Code {
	if n, ok := p.(*wire.Nack); ok {
		return n.Code
	}
	return wire.CodeOK
}

// accept runs a registration through e as the hash gnode, answering its
// counter check and its look-up of the backup gnodes itself.
func accept(t *testing.T, e *Engine, now time.Duration, r *wire.Register, id uint32) wire.Code {
	t.Helper()
	src := netip.MustParseAddr("10.9.9.9")
	e.Handle(now, src, id, r, HashGnode, 1)
	for range 8 {
		var answered bool
		var rest []Out
		for _, o := range e.Outbox() {
			switch p := o.P.(type) {
			case *wire.CheckCounter:
				e.Handle(now, netip.MustParseAddr("10.8.8.8"), o.ID, &wire.CounterReply{Count: 1, Result: wire.CodeOK}, Direct, 0)
				answered = true
			case *wire.Resolve:
				if p.Flags&wire.ResolveRecord != 0 {
					e.Handle(now, netip.MustParseAddr("10.7.7.7"), o.ID, &wire.Nack{Code: wire.CodeNotFound}, Direct, 0)
					answered = true
				}
			default:
				rest = append(rest, o)
			}
		}
		for _, o := range rest {
			if o.ID == id && o.Dst == src {
				return codeOf2(o.P)
			}
		}
		if !answered {
			break
		}
	}
	t.Fatalf("registration %d got no answer", id)
	return 0
}

func TestForgedReplayedAndEarlyUpdates(t *testing.T) {
	e := testEngine(t, 9, "10.1.1.1")
	r := signed(1, "alice", "10.0.0.1", 1)
	if c := accept(t, e, time.Second, r, 1); c != wire.CodeOK {
		t.Fatalf("first registration: %v", c)
	}
	forged := *signed(1, "alice", "10.0.0.66", 2)
	forged.Signature[0] ^= 1
	e.Handle(300*time.Second, netip.MustParseAddr("10.9.9.9"), 2, &forged, HashGnode, 1)
	if c := codeOf2(replyTo(t, e, 2)); c != wire.CodeBadSignature {
		t.Fatalf("forged update: %v, want BAD_SIGNATURE", c)
	}
	// Someone else's key claiming alice's: the signature is fine for its
	// own key, so it is a new claim, queued behind alice.
	if c := accept(t, e, 300*time.Second, signed(2, "alice", "10.0.0.66", 1), 3); c != wire.CodeOK {
		t.Fatalf("second key: %v", c)
	}
	if c := accept(t, e, 300*time.Second, r, 4); c != wire.CodeReplay {
		t.Fatalf("replayed registration: %v, want REPLAY", c)
	}
	if c := accept(t, e, 100*time.Second, signed(1, "alice", "10.0.0.1", 2), 5); c != wire.CodeTooEarly {
		t.Fatalf("early update: %v, want TOO_EARLY", c)
	}
	if c := accept(t, e, 100*time.Second, signed(1, "alice", "10.0.0.2", 3), 6); c != wire.CodeOK {
		t.Fatalf("early update from a new address: %v, want OK", c)
	}
	// Resolution gives the owner, not the queued claim.
	e.Handle(300*time.Second, netip.MustParseAddr("10.5.5.5"), 7, &wire.Resolve{Hostname: "alice"}, HashGnode, 0)
	rr, ok := replyTo(t, e, 7).(*wire.ResolveReply)
	if !ok || rr.Addr != netip.MustParseAddr("10.0.0.2") {
		t.Fatalf("resolve: %+v", rr)
	}
	// The owner's registration expires at 100 s + 600 s; the queue moves up.
	e.Handle(701*time.Second, netip.MustParseAddr("10.5.5.5"), 8, &wire.Resolve{Hostname: "alice"}, HashGnode, 0)
	rr, ok = replyTo(t, e, 8).(*wire.ResolveReply)
	if !ok || rr.Addr != netip.MustParseAddr("10.0.0.66") {
		t.Fatalf("resolve after the owner expired: %+v", rr)
	}
}

func TestQueueFull(t *testing.T) {
	e := testEngine(t, 9, "10.1.1.1")
	for k := range wire.MaxQueue {
		if c := accept(t, e, time.Second, signed(byte(k+1), "bob", "10.0.0.1", 1), uint32(k+1)); c != wire.CodeOK {
			t.Fatalf("claim %d: %v", k, c)
		}
	}
	if c := accept(t, e, time.Second, signed(77, "bob", "10.0.0.1", 1), 99); c != wire.CodeQueueFull {
		t.Fatalf("sixth claim: %v, want QUEUE_FULL", c)
	}
}

// TestMutationTakesOverFromBackup: a hash gnode that is new for a name (a
// gnode nearer the hash appeared) takes the record over from a backup gnode
// before it answers or accepts anything (seed §7.1.6), so a newcomer cannot
// steal the name during the move.
func TestMutationTakesOverFromBackup(t *testing.T) {
	e := testEngine(t, 9, "10.1.1.1")
	owner := signed(1, "carol", "10.0.0.5", 4)
	record := wire.CacheRecord{Hash: NameHash("carol"), PubKey: owner.PubKey, Counter: 4, ExpiresIn: 500, Addr: owner.Addr}
	backup := func(now time.Duration) {
		for _, o := range e.Outbox() {
			if q, ok := o.P.(*wire.Resolve); ok && q.Flags&wire.ResolveRecord != 0 {
				e.Handle(now, netip.MustParseAddr("10.7.7.7"), o.ID, &wire.PutCache{Records: []wire.CacheRecord{record}}, Direct, 0)
				return
			}
		}
		t.Fatal("no look-up of the backup gnodes")
	}
	// A thief's first registration of carol here: it is queued, not owner.
	thief := signed(2, "carol", "10.0.0.66", 1)
	e.Handle(time.Second, netip.MustParseAddr("10.9.9.9"), 1, thief, HashGnode, 1)
	backup(time.Second)
	for _, o := range e.Outbox() {
		if _, ok := o.P.(*wire.CheckCounter); ok {
			e.Handle(time.Second, netip.MustParseAddr("10.8.8.8"), o.ID, &wire.CounterReply{Count: 1}, Direct, 0)
		}
	}
	e.Outbox()
	e.Handle(2*time.Second, netip.MustParseAddr("10.5.5.5"), 2, &wire.Resolve{Hostname: "carol"}, HashGnode, 1)
	rr, ok := replyTo(t, e, 2).(*wire.ResolveReply)
	if !ok || rr.Addr != owner.Addr {
		t.Fatalf("carol after the move: %+v, want the owner %v", rr, owner.Addr)
	}
}

func TestResolvedCacheExpiresWithRecord(t *testing.T) {
	e := testEngine(t, 9, "10.1.1.1")
	tok, err := e.Resolve(0, "Dave.")
	if err != nil {
		t.Fatal(err)
	}
	out := e.Outbox()
	if len(out) != 1 || !out[0].Nearest || out[0].Level != 1 {
		t.Fatalf("first resolution goes to the hash gnode: %+v", out)
	}
	e.Handle(time.Second, netip.MustParseAddr("10.3.3.3"), out[0].ID, &wire.ResolveReply{ExpiresIn: 100, Addr: netip.MustParseAddr("10.0.0.9")}, Direct, 0)
	if r := e.Results(); len(r) != 1 || r[0].Token != tok || r[0].Addr != netip.MustParseAddr("10.0.0.9") || r[0].TTL != 100*time.Second {
		t.Fatalf("results: %+v", r)
	}
	e.Resolve(100*time.Second, "dave")
	if len(e.Outbox()) != 0 || len(e.Results()) != 1 {
		t.Fatal("a cached name went to the network")
	}
	e.Resolve(101*time.Second+time.Millisecond, "dave")
	if len(e.Outbox()) != 1 {
		t.Fatal("an expired cache entry was used")
	}
}

// TestResolvedTTLCapped: a name registered for days is kept and handed
// out for ResolvedTTL only, so that an owner that moved (a reboot into
// another address) is followed within minutes, not days.
func TestResolvedTTLCapped(t *testing.T) {
	e := testEngine(t, 9, "10.1.1.1")
	e.Resolve(0, "frank")
	out := e.Outbox()
	e.Handle(time.Second, netip.MustParseAddr("10.3.3.3"), out[0].ID, &wire.ResolveReply{ExpiresIn: 3 * 86400, Addr: netip.MustParseAddr("10.0.0.9")}, Direct, 0)
	if r := e.Results(); len(r) != 1 || r[0].TTL != e.cfg.ResolvedTTL || e.cfg.ResolvedTTL != 5*time.Minute {
		t.Fatalf("results: %+v (cap %v)", r, e.cfg.ResolvedTTL)
	}
	e.Resolve(time.Second+e.cfg.ResolvedTTL-time.Millisecond, "frank")
	if len(e.Outbox()) != 0 {
		t.Fatal("a fresh cache entry went to the network")
	}
	e.Resolve(time.Second+e.cfg.ResolvedTTL, "frank")
	if len(e.Outbox()) != 1 {
		t.Fatal("a cache entry past the cap was used")
	}
}

func TestResolveFallsBackToBackups(t *testing.T) {
	e := testEngine(t, 9, "10.1.1.1")
	tok, _ := e.Resolve(0, "erin")
	for i := 0; i <= e.cfg.BackupGnodes; i++ {
		out := e.Outbox()
		if len(out) != 1 {
			t.Fatalf("step %d: %d packets", i, len(out))
		}
		if i > 0 && (out[0].Level != 0 || !out[0].Nearest) {
			t.Fatalf("backup %d asked as %+v", i, out[0])
		}
		e.Handle(time.Second, netip.MustParseAddr("10.3.3.3"), out[0].ID, &wire.Nack{Code: wire.CodeNotFound}, Direct, 0)
	}
	r := e.Results()
	if len(r) != 1 || r[0].Token != tok || !errors.Is(r[0].Err, ErrNotFound) {
		t.Fatalf("results: %+v", r)
	}
}

func TestKeyLimitAtCounterGnode(t *testing.T) {
	e := testEngine(t, 9, "10.1.1.1")
	e.cfg.MaxNamesPerKey = 3
	for i, name := range []string{"a", "b", "c", "a", "d"} {
		cc := &wire.CheckCounter{Asker: netip.MustParseAddr("10.2.2.2"), Request: *signed(1, name, "10.0.0.1", 1)}
		e.Handle(0, netip.MustParseAddr("10.2.2.2"), uint32(i+1), cc, HashGnode, 1)
		got := replyTo(t, e, uint32(i+1)).(*wire.CounterReply)
		want := wire.CodeOK
		if name == "d" {
			want = wire.CodeLimitExceeded
		}
		if got.Result != want {
			t.Fatalf("name %s: %v, want %v", name, got.Result, want)
		}
	}
}

func TestHashNameRoundTrip(t *testing.T) {
	h := NameHash("frank")
	s := hashName(h)
	if err := wire.ValidHostname(s); err != nil {
		t.Fatal(err)
	}
	if g, ok := parseHashName(s); !ok || g != h {
		t.Fatalf("%s parsed back as %x %v", s, g, ok)
	}
}

func TestBoundedTables(t *testing.T) {
	e := testEngine(t, 9, "10.1.1.1")
	e.cfg.MaxRecords = 2
	codes := map[wire.Code]int{}
	for i, name := range []string{"a", "b", "c", "d"} {
		codes[accept(t, e, 0, signed(1, name, "10.0.0.1", 1), uint32(i+1))]++
	}
	if len(e.db) != 2 || codes[wire.CodeInternal] != 2 {
		t.Fatalf("%d records, codes %v", len(e.db), codes)
	}
}
