package dnsd

import (
	"context"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

func TestCacheExpiresWithTTL(t *testing.T) {
	f := newFakeResolver()
	f.ttl = 10 * time.Second
	clk := newFakeClock()
	s := newTestServer(t, Config{Now: clk.Now}, f)
	ttl := func(typ dnsmessage.Type) uint32 {
		t.Helper()
		m := ask(t, s, "myrouter.ntk.", typ)
		if len(m.Answers) != 1 {
			t.Fatalf("%v: %d answers", typ, len(m.Answers))
		}
		return m.Answers[0].Header.TTL
	}
	if got := ttl(dnsmessage.TypeA); got != 10 {
		t.Fatalf("fresh TTL %d, want 10", got)
	}
	clk.Advance(3500 * time.Millisecond)
	if got := ttl(dnsmessage.TypeA); got != 7 {
		t.Fatalf("TTL after 3.5s %d, want 7", got)
	}
	// AAAA came with the same Resolve call.
	if got := ttl(dnsmessage.TypeAAAA); got != 7 {
		t.Fatalf("AAAA TTL %d, want 7", got)
	}
	clk.Advance(6499 * time.Millisecond) // 1ms before expiry
	if got := ttl(dnsmessage.TypeA); got != 1 {
		t.Fatalf("TTL 1ms before expiry %d, want 1", got)
	}
	if n := f.calls("myrouter"); n != 1 {
		t.Fatalf("resolver asked %d times while cached, want 1", n)
	}
	if st := s.Stats(); st.CacheHits != 3 || st.ResolverCalls != 1 {
		t.Fatalf("stats: %d hits, %d calls", st.CacheHits, st.ResolverCalls)
	}
	clk.Advance(time.Millisecond) // exactly expired
	if got := ttl(dnsmessage.TypeA); got != 10 {
		t.Fatalf("TTL after refresh %d, want 10", got)
	}
	if n := f.calls("myrouter"); n != 2 {
		t.Fatalf("resolver asked %d times after expiry, want 2", n)
	}
}

func TestCacheNegative(t *testing.T) {
	f := newFakeResolver()
	clk := newFakeClock()
	s := newTestServer(t, Config{Now: clk.Now, NegativeTTL: 20 * time.Second}, f)
	soaTTL := func() uint32 {
		h, _ := soaOf(t, ask(t, s, "later.ntk.", dnsmessage.TypeA))
		return h.TTL
	}
	if got := soaTTL(); got != 20 {
		t.Fatalf("SOA TTL %d, want 20", got)
	}
	clk.Advance(15 * time.Second)
	if got := soaTTL(); got != 5 {
		t.Fatalf("SOA TTL %d after 15s, want 5", got)
	}
	f.mu.Lock()
	f.names["later"] = f.names["myrouter"] // registered meanwhile
	f.mu.Unlock()
	clk.Advance(5 * time.Second)
	if got := addrsOf(ask(t, s, "later.ntk.", dnsmessage.TypeA)); len(got) != 1 {
		t.Fatalf("after the negative TTL: %v", got)
	}
	if n := f.calls("later"); n != 2 {
		t.Fatalf("resolver asked %d times, want 2", n)
	}
}

func TestTTLBounds(t *testing.T) {
	for _, tc := range []struct {
		resolver time.Duration
		want     uint32
	}{
		{72 * time.Hour, 300}, // capped by MaxTTL
		{0, 1},
		{-time.Second, 1},
		{1500 * time.Millisecond, 1}, // whole seconds
		{42 * time.Second, 42},
	} {
		f := newFakeResolver()
		f.ttl = tc.resolver
		clk := newFakeClock()
		s := newTestServer(t, Config{Now: clk.Now}, f)
		m := ask(t, s, "myrouter.ntk.", dnsmessage.TypeA)
		if len(m.Answers) != 1 || m.Answers[0].Header.TTL != tc.want {
			t.Errorf("resolver TTL %v: answers %+v, want TTL %d", tc.resolver, m.Answers, tc.want)
		}
		// The cache expires with the TTL served, not with what the
		// Resolver said.
		clk.Advance(time.Duration(tc.want) * time.Second)
		ask(t, s, "myrouter.ntk.", dnsmessage.TypeA)
		if n := f.calls("myrouter"); n != 2 {
			t.Errorf("resolver TTL %v: %d calls after %ds, want 2", tc.resolver, n, tc.want)
		}
	}
}

func TestCacheLRU(t *testing.T) {
	c := newCache(3)
	now := time.Unix(0, 0)
	e := entry{expires: now.Add(time.Minute)}
	for _, n := range []string{"a", "b", "c"} {
		c.put(key{n, dnsmessage.TypeA}, e)
	}
	c.get(key{"a", dnsmessage.TypeA}, now) // a is now the most recent
	c.put(key{"d", dnsmessage.TypeA}, e)   // evicts b
	if _, ok := c.get(key{"b", dnsmessage.TypeA}, now); ok {
		t.Error("b not evicted")
	}
	for _, n := range []string{"a", "c", "d"} {
		if _, ok := c.get(key{n, dnsmessage.TypeA}, now); !ok {
			t.Errorf("%s evicted", n)
		}
	}
	if c.len() != 3 {
		t.Errorf("len %d", c.len())
	}
	if _, ok := c.get(key{"a", dnsmessage.TypeA}, now.Add(time.Minute)); ok {
		t.Error("served at its expiry")
	}
	if c.len() != 2 {
		t.Errorf("expired entry kept: len %d", c.len())
	}
}

func TestCacheBounded(t *testing.T) {
	f := newFakeResolver()
	s := newTestServer(t, Config{CacheSize: 8}, f)
	for i := range 100 {
		ask(t, s, string(rune('a'+i%26))+"x"+string(rune('a'+i/26))+".ntk.", dnsmessage.TypeA)
	}
	if st := s.Stats(); st.CacheEntries != 8 {
		t.Fatalf("%d cache entries, want 8", st.CacheEntries)
	}
	// Even a cache of one answers: the entry comes from the call, not
	// from reading the cache back.
	s = newTestServer(t, Config{CacheSize: 1}, f)
	if got := addrsOf(ask(t, s, "myrouter.ntk.", dnsmessage.TypeA)); len(got) != 1 {
		t.Fatalf("cache of one: %v", got)
	}
}

func TestLookupCoalesced(t *testing.T) {
	f := newFakeResolver()
	f.gate = make(chan struct{})
	s := newTestServer(t, Config{}, f)
	const n = 20
	var wg sync.WaitGroup
	results := make([]dnsmessage.Message, n)
	for i := range n {
		typ := dnsmessage.TypeA
		if i%2 == 1 {
			typ = dnsmessage.TypeAAAA // same Resolve call
		}
		wg.Go(func() {
			results[i] = unpack(t, s.handle(context.Background(), query(t, "myrouter.ntk.", typ), false))
		})
	}
	// Let them all reach the flight before the Resolver answers.
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		s.flightMu.Lock()
		l := len(s.flights)
		s.flightMu.Unlock()
		if l == 1 && f.calls("myrouter") == 1 {
			break
		}
	}
	time.Sleep(20 * time.Millisecond)
	close(f.gate)
	wg.Wait()
	for i, m := range results {
		if len(m.Answers) != 1 {
			t.Errorf("query %d: %d answers", i, len(m.Answers))
		}
	}
	if c := f.calls("myrouter"); c != 1 {
		t.Fatalf("resolver asked %d times for %d concurrent queries, want 1", c, n)
	}
}
