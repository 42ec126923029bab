package dnsd

import (
	"context"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// fakeResolver answers from maps and counts its calls. When gate is set,
// every call waits for it (or for ctx) first.
type fakeResolver struct {
	mu       sync.Mutex
	names    map[string][]netip.Addr
	rev      map[netip.Addr][]string
	ttl      time.Duration
	err      error // returned by every call when set
	gate     chan struct{}
	resolves map[string]int
	reverses int
}

func newFakeResolver() *fakeResolver {
	return &fakeResolver{
		names: map[string][]netip.Addr{
			"myrouter":       {netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("fd00::1")},
			"files.myrouter": {netip.MustParseAddr("10.0.0.2")},
			"v6only":         {netip.MustParseAddr("fd00::6")},
			"noaddr":         {},
		},
		rev: map[netip.Addr][]string{
			netip.MustParseAddr("10.0.0.1"): {"myrouter", "files.myrouter"},
			netip.MustParseAddr("fd00::1"):  {"myrouter"},
			netip.MustParseAddr("10.0.0.9"): {"Bad_Name", "ok"},
		},
		ttl:      60 * time.Second,
		resolves: map[string]int{},
	}
}

func (f *fakeResolver) wait(ctx context.Context) error {
	f.mu.Lock()
	gate := f.gate
	f.mu.Unlock()
	if gate == nil {
		return nil
	}
	select {
	case <-gate:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (f *fakeResolver) Resolve(ctx context.Context, name string) ([]netip.Addr, time.Duration, error) {
	f.mu.Lock()
	f.resolves[name]++
	f.mu.Unlock()
	if err := f.wait(ctx); err != nil {
		return nil, 0, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, 0, f.err
	}
	a, ok := f.names[name]
	if !ok {
		return nil, 0, ErrNotFound
	}
	return a, f.ttl, nil
}

func (f *fakeResolver) Reverse(ctx context.Context, addr netip.Addr) ([]string, time.Duration, error) {
	f.mu.Lock()
	f.reverses++
	f.mu.Unlock()
	if err := f.wait(ctx); err != nil {
		return nil, 0, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, 0, f.err
	}
	n, ok := f.rev[addr]
	if !ok {
		return nil, 0, ErrNotFound
	}
	return n, f.ttl, nil
}

func (f *fakeResolver) calls(name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.resolves[name]
}

// fakeClock is a settable clock for the cache.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Unix(1_700_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// newTestServer returns a server that is not started, on loopback port 0.
func newTestServer(t *testing.T, cfg Config, r Resolver) *Server {
	t.Helper()
	if cfg.Listen == nil {
		cfg.Listen = []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:0")}
	}
	s, err := New(cfg, r, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// startServer starts a server and closes it at the end of the test,
// checking that no goroutine of it is left.
func startServer(t *testing.T, cfg Config, r Resolver) *Server {
	t.Helper()
	s := newTestServer(t, cfg, r)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
		checkNoGoroutines(t)
	})
	return s
}

// checkNoGoroutines fails if a goroutine of this package's servers is
// still running (Close must wait for all of them).
func checkNoGoroutines(t *testing.T) {
	t.Helper()
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		if strings.Contains(g, "dnsd.(*Server)") {
			t.Errorf("goroutine left after Close:\n%s", g)
		}
	}
}

type qopt func(*dnsmessage.Message)

func withEDNS(size int, version uint8) qopt {
	return func(m *dnsmessage.Message) {
		var rh dnsmessage.ResourceHeader
		rh.SetEDNS0(size, 0, false)
		rh.TTL |= uint32(version) << 16
		m.Additionals = append(m.Additionals, dnsmessage.Resource{Header: rh, Body: &dnsmessage.OPTResource{}})
	}
}

func withID(id uint16) qopt { return func(m *dnsmessage.Message) { m.Header.ID = id } }

func withClass(c dnsmessage.Class) qopt {
	return func(m *dnsmessage.Message) { m.Questions[0].Class = c }
}

func withOpCode(op dnsmessage.OpCode) qopt {
	return func(m *dnsmessage.Message) { m.Header.OpCode = op }
}

// query packs a query for name and typ.
func query(t testing.TB, name string, typ dnsmessage.Type, opts ...qopt) []byte {
	t.Helper()
	m := dnsmessage.Message{
		Header: dnsmessage.Header{ID: 0xbeef, RecursionDesired: true},
		Questions: []dnsmessage.Question{{
			Name: dnsmessage.MustNewName(name), Type: typ, Class: dnsmessage.ClassINET,
		}},
	}
	for _, o := range opts {
		o(&m)
	}
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// unpack parses a response, failing the test if it is not one.
func unpack(t testing.TB, b []byte) dnsmessage.Message {
	t.Helper()
	if b == nil {
		t.Fatal("no response")
	}
	var m dnsmessage.Message
	if err := m.Unpack(b); err != nil {
		t.Fatalf("unpack response: %v", err)
	}
	if !m.Header.Response {
		t.Fatal("QR not set")
	}
	return m
}

// ask runs a query through the handler as over UDP.
func ask(t testing.TB, s *Server, name string, typ dnsmessage.Type, opts ...qopt) dnsmessage.Message {
	t.Helper()
	return unpack(t, s.handle(context.Background(), query(t, name, typ, opts...), false))
}

// addrsOf lists the A and AAAA answers.
func addrsOf(m dnsmessage.Message) []netip.Addr {
	var out []netip.Addr
	for _, r := range m.Answers {
		switch b := r.Body.(type) {
		case *dnsmessage.AResource:
			out = append(out, netip.AddrFrom4(b.A))
		case *dnsmessage.AAAAResource:
			out = append(out, netip.AddrFrom16(b.AAAA))
		}
	}
	return out
}

// soaOf returns the authority SOA, failing if there is none.
func soaOf(t testing.TB, m dnsmessage.Message) (dnsmessage.ResourceHeader, *dnsmessage.SOAResource) {
	t.Helper()
	if len(m.Authorities) != 1 {
		t.Fatalf("want 1 authority record, got %d", len(m.Authorities))
	}
	soa, ok := m.Authorities[0].Body.(*dnsmessage.SOAResource)
	if !ok {
		t.Fatalf("authority is %T, want SOA", m.Authorities[0].Body)
	}
	return m.Authorities[0].Header, soa
}
