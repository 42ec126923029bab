package entry

import (
	"crypto/ed25519"
	"errors"
	"net/netip"
	"testing"
	"time"
)

// key returns a deterministic key: tests and golden vectors stay the same
// from run to run.
func key(n byte) ed25519.PrivateKey {
	seed := make([]byte, ed25519.SeedSize)
	for i := range seed {
		seed[i] = n
	}
	return ed25519.NewKeyFromSeed(seed)
}

var t0 = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

// update makes entry node n's update stamped at, up since since.
func update(t testing.TB, n byte, since, at time.Time) Entry {
	t.Helper()
	pos := Position{HasCoords: true, Lat: int32(n) * 1_000_000, Lon: 12_000_000}
	e, err := NewUpdate(key(n), [32]byte{n}, netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 0, 2, n}), 27000), pos, since, at)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestSignAndVerify(t *testing.T) {
	e := update(t, 1, t0.Add(-72*time.Hour), t0)
	if err := e.Verify(); err != nil {
		t.Fatal(err)
	}
	f := e.Forwarded(key(100)).Forwarded(key(101))
	if err := f.Verify(); err != nil {
		t.Fatal(err)
	}
	if len(e.Hops) != 0 || len(f.Hops) != 2 {
		t.Fatalf("Forwarded changed its receiver or lost a hop: %d, %d", len(e.Hops), len(f.Hops))
	}
	// Any bit changed breaks a signature: the record's fields, a hop, the
	// order of hops.
	bad := []func(*Entry){
		func(e *Entry) { e.Endpoint = netip.MustParseAddrPort("192.0.2.99:27000") },
		func(e *Entry) { e.Since-- },
		func(e *Entry) { e.Stamp++ },
		func(e *Entry) { e.TunnelKey[5] ^= 1 },
		func(e *Entry) { e.Lat++ },
		func(e *Entry) { e.Hops[0].Sig[3] ^= 1 },
		func(e *Entry) { e.Hops[0], e.Hops[1] = e.Hops[1], e.Hops[0] },
		func(e *Entry) { e.Hops[1].Signer = PublicKeyOf(key(102)) },
		func(e *Entry) { e.Hops = e.Hops[1:] },
	}
	for i, mut := range bad {
		g := f
		g.Hops = append([]Hop(nil), f.Hops...)
		mut(&g)
		if err := g.Verify(); !errors.Is(err, ErrBadSignature) {
			t.Errorf("mutation %d: Verify = %v, want a bad signature", i, err)
		}
	}
}

func newList(cfg ListConfig) *List {
	if cfg.Self == (PublicKey{}) {
		cfg.Self = PublicKeyOf(key(200))
	}
	return NewList(cfg)
}

func TestApplyReplayAndFreshness(t *testing.T) {
	l := newList(ListConfig{})
	e := update(t, 1, t0.Add(-72*time.Hour), t0)
	if err := l.Apply(e, t0); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		e    Entry
		now  time.Time
		want error
	}{
		{"replay", e, t0.Add(time.Minute), ErrStale},
		{"older", update(t, 1, t0.Add(-72*time.Hour), t0.Add(-time.Minute)), t0, ErrStale},
		{"too soon", update(t, 1, t0.Add(-72*time.Hour), t0.Add(time.Second)), t0.Add(time.Second), ErrRate},
		{"older than the expiry", update(t, 2, t0.Add(-time.Hour), t0.Add(-31*time.Minute)), t0, ErrStale},
		{"future", update(t, 2, t0.Add(-time.Hour), t0.Add(10*time.Minute)), t0, ErrFuture},
	} {
		before := l.Snapshot()
		if err := l.Apply(c.e, c.now); !errors.Is(err, c.want) {
			t.Errorf("%s: Apply = %v, want %v", c.name, err, c.want)
		}
		if after := l.Snapshot(); len(after) != len(before) || after[0].Stamp != before[0].Stamp {
			t.Errorf("%s: a refused update changed the list", c.name)
		}
	}
	if err := l.Apply(update(t, 1, t0.Add(-72*time.Hour), t0.Add(10*time.Minute)), t0.Add(10*time.Minute)); err != nil {
		t.Errorf("the next update: %v", err)
	}
	c := l.Counters()
	if c.Accepted != 2 || c.Refused[StatusStale] != 3 || c.Refused[StatusRate] != 1 || c.Refused[StatusFuture] != 1 {
		t.Errorf("counters %+v", c)
	}
}

func TestApplyForgery(t *testing.T) {
	l := newList(ListConfig{})
	e := update(t, 1, t0.Add(-72*time.Hour), t0)
	e.Endpoint = netip.MustParseAddrPort("203.0.113.66:27000") // someone else's record, redirected
	if err := l.Apply(e, t0); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("Apply = %v, want a bad signature", err)
	}
	e = update(t, 1, t0.Add(-72*time.Hour), t0)
	e.Node = PublicKeyOf(key(9)) // signed by 1, claiming to be 9
	if err := l.Apply(e, t0); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("Apply = %v, want a bad signature", err)
	}
	if l.Len() != 0 || l.Counters().Refused[StatusBadSignature] != 2 {
		t.Errorf("len %d, counters %+v", l.Len(), l.Counters())
	}
}

func TestExpiryAndUptimeOrder(t *testing.T) {
	l := newList(ListConfig{Expiry: 20 * time.Minute})
	// Node 3 is the oldest, node 1 the newest; node 2 stops updating.
	for n, up := range map[byte]time.Duration{1: 4 * 24 * time.Hour, 2: 5 * 24 * time.Hour, 3: 9 * 24 * time.Hour} {
		if err := l.Apply(update(t, n, t0.Add(-up), t0), t0); err != nil {
			t.Fatal(err)
		}
	}
	got := l.Snapshot()
	if len(got) != 3 || got[0].Node != PublicKeyOf(key(3)) || got[1].Node != PublicKeyOf(key(2)) || got[2].Node != PublicKeyOf(key(1)) {
		t.Fatalf("not oldest first: %v", nodes(got))
	}
	at := t0.Add(15 * time.Minute)
	for _, n := range []byte{1, 3} {
		up := map[byte]time.Duration{1: 4 * 24 * time.Hour, 3: 9 * 24 * time.Hour}[n]
		if err := l.Apply(update(t, n, t0.Add(-up), at), at); err != nil {
			t.Fatal(err)
		}
	}
	if n := l.Expire(t0.Add(20 * time.Minute)); n != 0 {
		t.Fatalf("expired %d at exactly the expiry", n)
	}
	if n := l.Expire(t0.Add(21 * time.Minute)); n != 1 {
		t.Fatalf("expired %d, want node 2 only", n)
	}
	got = l.Snapshot()
	if len(got) != 2 || got[0].Node != PublicKeyOf(key(3)) || got[1].Node != PublicKeyOf(key(1)) {
		t.Fatalf("after expiry: %v", nodes(got))
	}
	if l.Counters().Expired != 1 {
		t.Errorf("counters %+v", l.Counters())
	}
}

func nodes(es []Entry) []byte {
	var out []byte
	for _, e := range es {
		out = append(out, e.TunnelKey[0])
	}
	return out
}

func TestChainTrust(t *testing.T) {
	es1, es2, stranger := key(101), key(102), key(103)
	l := newList(ListConfig{Trusted: map[PublicKey]bool{PublicKeyOf(es1): true}})
	e := update(t, 1, t0.Add(-72*time.Hour), t0)

	// A valid chain whose last signer is not trusted: refused, even when a
	// trusted server signed before it.
	for _, f := range []Entry{e.Forwarded(stranger), e.Forwarded(es1).Forwarded(stranger), e.Forwarded(es2)} {
		if err := l.Apply(f, t0); !errors.Is(err, ErrUntrusted) {
			t.Errorf("chain ending with %v: Apply = %v, want untrusted", f.Hops[len(f.Hops)-1].Signer, err)
		}
	}
	// A forged hop under a trusted key.
	f := e.Forwarded(es1)
	f.Hops[0].Sig[0] ^= 1
	if err := l.Apply(f, t0); !errors.Is(err, ErrBadSignature) {
		t.Errorf("forged hop: Apply = %v", err)
	}
	// A chain through us is a loop.
	self := l.Config().Self
	loop := e.Forwarded(key(200)).Forwarded(es1)
	if loop.Hops[0].Signer != self {
		t.Fatal("test key mismatch")
	}
	if err := l.Apply(loop, t0); !errors.Is(err, ErrLoop) {
		t.Errorf("loop: Apply = %v", err)
	}
	// Too long.
	long := e
	for range DefaultMaxHops {
		long = long.Forwarded(stranger)
	}
	long = long.Forwarded(es1)
	if err := l.Apply(long, t0); !errors.Is(err, ErrMalformed) {
		t.Errorf("%d hops: Apply = %v", len(long.Hops), err)
	}
	if err := l.Apply(e.Forwarded(es2).Forwarded(es1), t0); err != nil {
		t.Errorf("trusted chain: %v", err)
	}
	if l.Len() != 1 || len(l.Snapshot()[0].Hops) != 2 {
		t.Errorf("the chain was not kept: %+v", l.Snapshot())
	}
}

func TestMirror(t *testing.T) {
	es := key(101)
	l := newList(ListConfig{Mirror: true, Trusted: map[PublicKey]bool{PublicKeyOf(es): true}})
	e := update(t, 1, t0.Add(-72*time.Hour), t0)
	if err := l.Apply(e, t0); !errors.Is(err, ErrRefused) {
		t.Errorf("a mirror took an update from an entry node: %v", err)
	}
	if err := l.Apply(e.Forwarded(es), t0); err != nil {
		t.Errorf("a mirror refused a trusted server's update: %v", err)
	}

	full, mirror, noAddr := PublicKeyOf(key(110)), PublicKeyOf(key(111)), PublicKeyOf(key(112))
	peers := []Peer{
		{Addr: netip.MustParseAddrPort("127.0.0.1:1"), Key: full},
		{Addr: netip.MustParseAddrPort("127.0.0.1:2"), Key: mirror, Mirror: true},
		{Key: noAddr},
	}
	if got := Targets(peers, &e, true); len(got) != 1 || got[0] != 1 {
		t.Errorf("a mirror forwards to %v, want the mirror only", got)
	}
	if got := Targets(peers, &e, false); len(got) != 2 || got[0] != 0 || got[1] != 1 {
		t.Errorf("a full server forwards to %v, want both with an address", got)
	}
	f := e.Forwarded(key(110))
	if got := Targets(peers, &f, false); len(got) != 1 || got[0] != 1 {
		t.Errorf("forwarded back to a signer: %v", got)
	}
}

func TestCaps(t *testing.T) {
	l := newList(ListConfig{MaxRecords: 3})
	for n := byte(1); n <= 3; n++ {
		if err := l.Apply(update(t, n, t0.Add(-time.Hour), t0), t0); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Apply(update(t, 4, t0.Add(-time.Hour), t0), t0); !errors.Is(err, ErrFull) {
		t.Fatalf("a fourth node: %v", err)
	}
	// Nodes already listed still update.
	if err := l.Apply(update(t, 2, t0.Add(-time.Hour), t0.Add(time.Minute)), t0.Add(time.Minute)); err != nil {
		t.Fatalf("update of a listed node at the cap: %v", err)
	}
	if l.Len() != 3 || l.Counters().Refused[StatusFull] != 1 {
		t.Errorf("len %d counters %+v", l.Len(), l.Counters())
	}

	lim := NewLimiter(2, time.Minute, 2)
	a, b, c := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("192.0.2.3")
	if !lim.Allow(a, t0) || !lim.Allow(a, t0) || lim.Allow(a, t0) {
		t.Error("rate 2: the third message passed or an earlier one did not")
	}
	if !lim.Allow(b, t0) || lim.Allow(c, t0) {
		t.Error("the source cap did not hold")
	}
	if !lim.Allow(a, t0.Add(time.Minute)) || !lim.Allow(c, t0.Add(time.Minute)) {
		t.Error("a new window did not reset the counts")
	}
}

func TestMalformedRecords(t *testing.T) {
	l := newList(ListConfig{})
	for name, mut := range map[string]func(*Record){
		"port 0":          func(r *Record) { r.Endpoint = netip.MustParseAddrPort("192.0.2.1:0") },
		"unspecified":     func(r *Record) { r.Endpoint = netip.MustParseAddrPort("0.0.0.0:1") },
		"latitude":        func(r *Record) { r.Lat = 91_000_000 },
		"coords no flag":  func(r *Record) { r.HasCoords = false },
		"since in future": func(r *Record) { r.Since = r.Stamp/1e9 + 1 },
	} {
		e := update(t, 1, t0.Add(-time.Hour), t0)
		mut(&e.Record)
		e.Sign(key(1))
		if err := l.Apply(e, t0); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: Apply = %v", name, err)
		}
		if _, err := DecodeEntry(e.AppendBinary(nil)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: DecodeEntry = %v", name, err)
		}
	}
	if l.Len() != 0 || l.Counters().Refused[StatusMalformed] != 5 {
		t.Errorf("counters %+v", l.Counters())
	}
}

func TestNearest(t *testing.T) {
	mk := func(n byte, ip string, coords bool, lat, lon int32) Entry {
		e := Entry{Record: Record{Endpoint: netip.AddrPortFrom(netip.MustParseAddr(ip), 27000), HasCoords: coords, Lat: lat, Lon: lon, Since: int64(n)}}
		e.TunnelKey[0] = n
		return e
	}
	rome, milan, paris := Position{HasCoords: true, Lat: 41_902_800, Lon: 12_496_400}, mk(1, "192.0.2.1", true, 45_464_200, 9_190_000), mk(2, "192.0.2.2", true, 48_856_600, 2_352_200)
	if d := DistanceKm(rome, milan.Position()); d < 470 || d > 485 {
		t.Errorf("Rome-Milan %.1f km, want ~477", d)
	}
	es := []Entry{paris, milan, mk(3, "192.0.2.3", false, 0, 0)}
	if i := Nearest(es, rome); i != 1 {
		t.Errorf("nearest to Rome: %d, want Milan", i)
	}
	// No coordinates of our own: the XOR distance of the addresses.
	from := Position{Addr: netip.MustParseAddr("192.0.2.3")}
	if i := Nearest(es, from); i != 0 {
		// 192.0.2.3 is our own address and skipped; ^.1 = 2, ^.2 = 1.
		t.Errorf("by XOR: %d, want Paris (192.0.2.2)", i)
	}
	// Same coordinates: XOR decides.
	twin1, twin2 := mk(4, "198.51.100.7", true, 45_464_200, 9_190_000), mk(5, "203.0.113.9", true, 45_464_200, 9_190_000)
	me := Position{Addr: netip.MustParseAddr("203.0.113.1"), HasCoords: true, Lat: 45_000_000, Lon: 9_000_000}
	if i := Nearest([]Entry{twin1, twin2}, me); i != 1 {
		t.Errorf("twins: %d, want the one of the nearer address", i)
	}
	if Nearest(nil, me) != -1 {
		t.Error("Nearest of nothing")
	}
}

func TestMerge(t *testing.T) {
	a1 := update(t, 1, t0.Add(-72*time.Hour), t0)
	a2 := update(t, 1, t0.Add(-72*time.Hour), t0.Add(10*time.Minute))
	b := update(t, 2, t0.Add(-96*time.Hour), t0)
	got := Merge([]Entry{a1, b}, []Entry{a2}, []Entry{a1})
	if len(got) != 2 || got[0].Node != b.Node || got[1].Stamp != a2.Stamp {
		t.Errorf("Merge = %v", got)
	}
}

// TestNearer: Rome is nearer to Athens than London is, and not the other
// way; without coordinates the XOR of the addresses decides.
func TestNearer(t *testing.T) {
	at := func(a string, lat, lon float64) Position {
		return Position{Addr: netip.MustParseAddr(a), HasCoords: true, Lat: int32(lat * 1e6), Lon: int32(lon * 1e6)}
	}
	rome, london, athens := at("192.0.2.1", 41.9, 12.5), at("192.0.2.2", 51.5, -0.13), at("192.0.2.3", 37.98, 23.73)
	if !Nearer(rome, london, athens) || Nearer(london, rome, athens) || Nearer(rome, rome, athens) {
		t.Error("Rome, London, Athens")
	}
	a, b, to := Position{Addr: netip.MustParseAddr("192.0.2.6")}, Position{Addr: netip.MustParseAddr("192.0.2.9")}, Position{Addr: netip.MustParseAddr("192.0.2.7")}
	if !Nearer(a, b, to) || Nearer(b, a, to) {
		t.Error("by address: 6^7 = 1 is below 9^7 = 14")
	}
	if !Nearer(rome, b, athens) || Nearer(b, rome, athens) {
		t.Error("a node with coordinates is nearer than one without")
	}
}
