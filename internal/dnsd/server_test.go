package dnsd

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

func TestServeUDPAndTCP(t *testing.T) {
	listen := []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:0")}
	if l, err := net.Listen("tcp", "[::1]:0"); err == nil {
		l.Close()
		listen = append(listen, netip.MustParseAddrPort("[::1]:0"))
	} else {
		t.Logf("no ::1 here, IPv4 only: %v", err)
	}
	s := startServer(t, Config{Listen: listen}, newFakeResolver())
	addrs := s.Addrs()
	if len(addrs) != len(listen) {
		t.Fatalf("Addrs %v", addrs)
	}
	for _, a := range addrs {
		if a.Port() == 0 || !a.Addr().IsLoopback() {
			t.Fatalf("bound %v", a)
		}
		m := unpack(t, exchangeUDP(t, a, query(t, "myrouter.ntk.", dnsmessage.TypeA, withID(1)), 5*time.Second))
		if m.Header.ID != 1 || len(addrsOf(m)) != 1 {
			t.Fatalf("UDP %v: %+v", a, m)
		}
		// Several queries on one connection, answered in order.
		c := dialTCP(t, a)
		writeTCP(t, c, query(t, "myrouter.ntk.", dnsmessage.TypeAAAA, withID(2)))
		writeTCP(t, c, query(t, "nobody.ntk.", dnsmessage.TypeA, withID(3)))
		if m := unpack(t, readTCP(t, c)); m.Header.ID != 2 || len(addrsOf(m)) != 1 {
			t.Fatalf("TCP %v first: %+v", a, m)
		}
		if m := unpack(t, readTCP(t, c)); m.Header.ID != 3 || m.Header.RCode != dnsmessage.RCodeNameError {
			t.Fatalf("TCP %v second: %+v", a, m)
		}
	}
	want := uint64(3 * len(addrs))
	waitFor(t, "answered count", func() bool { return s.Stats().Answered == want })
	if st := s.Stats(); st.Queries != want {
		t.Fatalf("stats %+v, want %d queries", st, want)
	}
}

func TestTruncatedThenTCP(t *testing.T) {
	s := startServer(t, Config{}, manyAddrs(40))
	a := s.Addrs()[0]
	raw := query(t, "big.ntk.", dnsmessage.TypeAAAA)
	m := unpack(t, exchangeUDP(t, a, raw, 5*time.Second))
	if !m.Header.Truncated || len(m.Answers) != 0 {
		t.Fatalf("UDP: TC %v, %d answers", m.Header.Truncated, len(m.Answers))
	}
	c := dialTCP(t, a)
	writeTCP(t, c, raw)
	if m := unpack(t, readTCP(t, c)); m.Header.Truncated || len(m.Answers) != maxAddrsPerFamily {
		t.Fatalf("TCP: TC %v, %d answers", m.Header.Truncated, len(m.Answers))
	}
	if st := s.Stats(); st.Truncated != 1 {
		t.Fatalf("Stats.Truncated %d", st.Truncated)
	}
}

func TestLifecycle(t *testing.T) {
	s := newTestServer(t, Config{}, newFakeResolver())
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Start after Close: %v", err)
	}
	s = startServer(t, Config{}, newFakeResolver())
	if err := s.Start(); err == nil {
		t.Fatal("second Start succeeded")
	}
	// A port taken over TCP: Start fails and leaves nothing bound.
	l, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:0")))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	taken := l.Addr().(*net.TCPAddr).AddrPort()
	u, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:0")))
	if err != nil {
		t.Fatal(err)
	}
	free := u.LocalAddr().(*net.UDPAddr).AddrPort()
	u.Close()
	s2 := newTestServer(t, Config{Listen: []netip.AddrPort{free, taken}}, newFakeResolver())
	if err := s2.Start(); err == nil {
		t.Fatal("Start on a taken port succeeded")
	}
	if len(s2.Addrs()) != 0 {
		t.Fatalf("Addrs %v after a failed Start", s2.Addrs())
	}
	u, err = net.ListenUDP("udp", net.UDPAddrFromAddrPort(free))
	if err != nil {
		t.Fatalf("%v still bound after the failed Start: %v", free, err)
	}
	u.Close()
	s2.Close() // startServer's cleanup checks for goroutines left
}

func TestNew(t *testing.T) {
	if _, err := New(Config{}, nil, nil); err == nil {
		t.Error("nil Resolver accepted")
	}
	up := netip.MustParseAddrPort("127.0.0.1:5373")
	for _, c := range []Config{
		{Suffix: "bad_suffix"},
		{Suffix: ".ntk"},
		{Upstream: []netip.AddrPort{up}, Listen: []netip.AddrPort{up}},
		{Upstream: []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:0")}},
		{UDPSize: 100},
		{MaxPending: -1},
		{MaxTTL: 500 * time.Millisecond},
		{ReverseZones: []netip.Prefix{{}}},
	} {
		if _, err := New(c, newFakeResolver(), nil); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
	zones := []netip.Prefix{netip.MustParsePrefix("10.1.2.3/8")}
	s, err := New(Config{Suffix: "Mesh.Lan.", ReverseZones: zones}, newFakeResolver(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.apex != "mesh.lan." || s.cfg.ReverseZones[0].String() != "10.0.0.0/8" || zones[0].String() != "10.1.2.3/8" {
		t.Fatalf("apex %q zones %v, caller's %v", s.apex, s.cfg.ReverseZones, zones)
	}
}

func TestCloseWhileResolving(t *testing.T) {
	f := newFakeResolver()
	f.gate = make(chan struct{}) // never opens: only Close ends the calls
	s := newTestServer(t, Config{ResolveTimeout: time.Hour}, f)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	a := s.Addrs()[0]
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(a))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write(query(t, "myrouter.ntk.", dnsmessage.TypeA))
	tc := dialTCP(t, a)
	writeTCP(t, tc, query(t, "other.ntk.", dnsmessage.TypeA))
	waitFor(t, "both resolver calls", func() bool { return f.calls("myrouter") == 1 && f.calls("other") == 1 })
	start := time.Now()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("Close took %v", d)
	}
	checkNoGoroutines(t)
	if st := s.Stats(); st.Dropped[DropClosed] != 2 {
		t.Fatalf("drops %v, want 2 closed", st.Dropped)
	}
}

func TestUDPBusy(t *testing.T) {
	f := newFakeResolver()
	f.gate = make(chan struct{})
	s := startServer(t, Config{MaxPending: 2}, f)
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(s.Addrs()[0]))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		c.Write(query(t, n+".ntk.", dnsmessage.TypeA))
	}
	waitFor(t, "3 busy drops", func() bool { return s.Stats().Dropped[DropBusy] == 3 })
	// Cached and local answers still flow while the slots are taken.
	m := unpack(t, exchangeUDP(t, s.Addrs()[0], query(t, "ntk.", dnsmessage.TypeSOA), 5*time.Second))
	if len(m.Answers) != 1 {
		t.Fatalf("SOA while busy: %+v", m)
	}
	close(f.gate)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 512)
	for range 2 {
		if _, err := c.Read(buf); err != nil {
			t.Fatalf("pending answers: %v", err)
		}
	}
}

func TestTCPLimit(t *testing.T) {
	s := startServer(t, Config{MaxTCPConns: 2}, newFakeResolver())
	a := s.Addrs()[0]
	for range 2 {
		c := dialTCP(t, a)
		writeTCP(t, c, query(t, "ntk.", dnsmessage.TypeSOA))
		readTCP(t, c)
	}
	c := dialTCP(t, a)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("third connection not closed: %v", err)
	}
	if st := s.Stats(); st.Dropped[DropTCPLimit] != 1 || st.TCPConns != 2 {
		t.Fatalf("stats %+v", st)
	}
}

func TestTCPTimeout(t *testing.T) {
	s := startServer(t, Config{TCPTimeout: 100 * time.Millisecond}, newFakeResolver())
	a := s.Addrs()[0]
	idle := dialTCP(t, a)
	half := dialTCP(t, a)
	half.Write([]byte{0, 30, 1}) // a length and one byte of the query, then nothing
	for _, c := range []*net.TCPConn{idle, half} {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		start := time.Now()
		if _, err := c.Read(make([]byte, 1)); err == nil {
			t.Fatal("read data")
		}
		if time.Since(start) > 3*time.Second {
			t.Fatal("connection not closed by the server")
		}
	}
	waitFor(t, "connections gone", func() bool { return s.Stats().TCPConns == 0 })
	if st := s.Stats(); st.Dropped[DropTCPTimeout] != 1 {
		t.Fatalf("drops %v, want one timeout (the idle connection is no drop)", st.Dropped)
	}
}

func TestTCPGarbage(t *testing.T) {
	s := startServer(t, Config{}, newFakeResolver())
	c := dialTCP(t, s.Addrs()[0])
	writeTCP(t, c, []byte{1, 2, 3, 4, 5})
	writeTCP(t, c, nil)
	writeTCP(t, c, query(t, "myrouter.ntk.", dnsmessage.TypeA, withID(9)))
	if m := unpack(t, readTCP(t, c)); m.Header.ID != 9 {
		t.Fatalf("got %+v", m.Header)
	}
	if st := s.Stats(); st.Dropped[DropShort] != 2 {
		t.Fatalf("drops %v", st.Dropped)
	}
}

// A query longer than MaxQuerySize is dropped, over UDP and TCP, and the
// server goes on answering.
func TestTooBigQuery(t *testing.T) {
	s := startServer(t, Config{}, newFakeResolver())
	a := s.Addrs()[0]
	// A valid query padded with an extra record would still be a query:
	// length alone decides.
	big := append(query(t, "myrouter.ntk.", dnsmessage.TypeA, withID(4)), make([]byte, MaxQuerySize)...)
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(a))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write(big); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "UDP drop", func() bool { return s.Stats().Dropped[DropTooBig] == 1 })
	tc := dialTCP(t, a)
	writeTCP(t, tc, big)
	waitFor(t, "TCP drop", func() bool { return s.Stats().Dropped[DropTooBig] == 2 })
	m := unpack(t, exchangeUDP(t, a, query(t, "myrouter.ntk.", dnsmessage.TypeA, withID(5)), 5*time.Second))
	if m.Header.ID != 5 {
		t.Fatalf("after the drops: %+v", m.Header)
	}
	// The server counts an answer after sending it: the client can be
	// quicker.
	waitFor(t, "answered count", func() bool { return s.Stats().Answered == 1 })
	if st := s.Stats(); st.Queries != 3 || st.Answered != 1 {
		t.Fatalf("stats %+v", st)
	}
}
