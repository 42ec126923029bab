package dnsd

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

var exampleAddr = netip.MustParseAddr("192.0.2.7")

func answerAll(q dnsmessage.Message, _ bool) []*dnsmessage.Message {
	return []*dnsmessage.Message{replyTo(q, exampleAddr)}
}

func silence(dnsmessage.Message, bool) []*dnsmessage.Message { return nil }

func TestForward(t *testing.T) {
	up := startUpstream(t, answerAll)
	s := startServer(t, Config{Upstream: []netip.AddrPort{up.addr}}, newFakeResolver())
	a := s.Addrs()[0]
	raw := query(t, "Example.COM.", dnsmessage.TypeA, withID(0x1234), withEDNS(1232, 0))
	m := unpack(t, exchangeUDP(t, a, raw, 5*time.Second))
	if m.Header.ID != 0x1234 || len(m.Answers) != 1 || m.Answers[0].Header.TTL != 77 {
		t.Fatalf("relayed %+v", m)
	}
	seen := up.next(t)
	if seen.tcp || seen.m.Questions[0].Name.String() != "Example.COM." || !seen.m.Header.RecursionDesired || len(seen.m.Additionals) != 1 {
		t.Fatalf("upstream saw %+v, want the query as sent, OPT included", seen)
	}
	// A TCP client is forwarded over UDP too.
	c := dialTCP(t, a)
	writeTCP(t, c, query(t, "example.com.", dnsmessage.TypeA, withID(0x4321)))
	if m := unpack(t, readTCP(t, c)); m.Header.ID != 0x4321 || len(m.Answers) != 1 {
		t.Fatalf("TCP relayed %+v", m)
	}
	if q := up.next(t); q.tcp {
		t.Fatal("forwarded over TCP first")
	}
	// Mesh names never leave, and local answers now say RA.
	m = unpack(t, exchangeUDP(t, a, query(t, "myrouter.ntk.", dnsmessage.TypeA), 5*time.Second))
	if len(m.Answers) != 1 || !m.Header.RecursionAvailable {
		t.Fatalf("local with upstream: %+v", m)
	}
	if len(up.seen) != 0 {
		t.Fatalf("mesh name forwarded: %v", <-up.seen)
	}
	// Answered counts after the send: the client may be faster.
	waitFor(t, "3 answered", func() bool { return s.Stats().Answered == 3 })
	if st := s.Stats(); st.Forwarded != 2 {
		t.Fatalf("stats %+v", st)
	}
}

func TestForwardTruncatedRetriedOverTCP(t *testing.T) {
	var addrs []netip.Addr
	for i := range 50 { // 12 + 17 + 50*16 = 829 bytes
		addrs = append(addrs, netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}))
	}
	up := startUpstream(t, func(q dnsmessage.Message, tcp bool) []*dnsmessage.Message {
		if !tcp {
			m := replyTo(q)
			m.Header.Truncated = true
			return []*dnsmessage.Message{m}
		}
		return []*dnsmessage.Message{replyTo(q, addrs...)}
	})
	s := startServer(t, Config{Upstream: []netip.AddrPort{up.addr}}, newFakeResolver())
	a := s.Addrs()[0]
	for _, tc := range []struct {
		name    string
		tcp     bool
		opts    []qopt
		wantTC  bool
		answers int
	}{
		{"UDP client without EDNS", false, nil, true, 0},
		{"UDP client with EDNS 1232", false, []qopt{withEDNS(1232, 0)}, false, 50},
		{"TCP client", true, nil, false, 50},
	} {
		raw := query(t, "big.example.", dnsmessage.TypeA, append(tc.opts, withID(77))...)
		var resp []byte
		if tc.tcp {
			c := dialTCP(t, a)
			writeTCP(t, c, raw)
			resp = readTCP(t, c)
		} else {
			resp = exchangeUDP(t, a, raw, 5*time.Second)
		}
		m := unpack(t, resp)
		if m.Header.ID != 77 || m.Header.Truncated != tc.wantTC || len(m.Answers) != tc.answers {
			t.Errorf("%s: ID %d TC %v, %d answers; want TC %v, %d answers",
				tc.name, m.Header.ID, m.Header.Truncated, len(m.Answers), tc.wantTC, tc.answers)
		}
		if len(m.Questions) != 1 {
			t.Errorf("%s: no question", tc.name)
		}
		// Each query went upstream over UDP, then over TCP.
		for _, wantTCP := range []bool{false, true} {
			if q := up.next(t); q.tcp != wantTCP {
				t.Errorf("%s: upstream query over TCP %v, want %v", tc.name, q.tcp, wantTCP)
			}
		}
	}
	if st := s.Stats(); st.Truncated != 1 || st.Forwarded != 3 {
		t.Fatalf("stats %+v", st)
	}
}

func TestForwardTruncatedTCPFails(t *testing.T) {
	// Upstream answers TC over UDP and nothing over TCP: the client gets
	// the truncated answer and can retry over TCP itself.
	up := startUpstream(t, func(q dnsmessage.Message, tcp bool) []*dnsmessage.Message {
		if tcp {
			return nil
		}
		m := replyTo(q)
		m.Header.Truncated = true
		return []*dnsmessage.Message{m}
	})
	s := startServer(t, Config{Upstream: []netip.AddrPort{up.addr}, UpstreamTimeout: 200 * time.Millisecond}, newFakeResolver())
	m := unpack(t, exchangeUDP(t, s.Addrs()[0], query(t, "example.com.", dnsmessage.TypeA, withID(8)), 5*time.Second))
	if m.Header.ID != 8 || !m.Header.Truncated || m.Header.RCode != dnsmessage.RCodeSuccess {
		t.Fatalf("got %+v", m.Header)
	}
}

func TestForwardTimeout(t *testing.T) {
	up := startUpstream(t, silence)
	s := startServer(t, Config{Upstream: []netip.AddrPort{up.addr}, UpstreamTimeout: 200 * time.Millisecond}, newFakeResolver())
	start := time.Now()
	m := unpack(t, exchangeUDP(t, s.Addrs()[0], query(t, "example.com.", dnsmessage.TypeA, withID(5)), 5*time.Second))
	if m.Header.RCode != dnsmessage.RCodeServerFailure || m.Header.ID != 5 || len(m.Questions) != 1 {
		t.Fatalf("got %+v, want SERVFAIL", m.Header)
	}
	if d := time.Since(start); d < 200*time.Millisecond || d > 3*time.Second {
		t.Fatalf("SERVFAIL after %v", d)
	}
	if st := s.Stats(); st.UpstreamErrors != 1 || st.ServFail != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestForwardNextUpstream(t *testing.T) {
	silent := startUpstream(t, silence)
	// A closed port answers ICMP unreachable: that upstream fails at once.
	l, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:0")))
	if err != nil {
		t.Fatal(err)
	}
	closed := l.LocalAddr().(*net.UDPAddr).AddrPort()
	l.Close()
	good := startUpstream(t, answerAll)
	s := startServer(t, Config{
		Upstream:        []netip.AddrPort{closed, silent.addr, good.addr},
		UpstreamTimeout: 200 * time.Millisecond,
	}, newFakeResolver())
	m := unpack(t, exchangeUDP(t, s.Addrs()[0], query(t, "example.com.", dnsmessage.TypeA), 5*time.Second))
	if len(m.Answers) != 1 {
		t.Fatalf("got %+v", m)
	}
	if st := s.Stats(); st.UpstreamErrors != 2 || st.Forwarded != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestForwardIgnoresForgedAnswers(t *testing.T) {
	evil := netip.MustParseAddr("198.51.100.66")
	up := startUpstream(t, func(q dnsmessage.Message, _ bool) []*dnsmessage.Message {
		wrongID := replyTo(q, evil)
		wrongID.Header.ID++
		wrongName := replyTo(q, evil)
		wrongName.Questions = []dnsmessage.Question{{Name: dnsmessage.MustNewName("evil.example."), Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET}}
		notResponse := replyTo(q, evil)
		notResponse.Header.Response = false
		return []*dnsmessage.Message{wrongID, wrongName, notResponse, replyTo(q, exampleAddr)}
	})
	s := startServer(t, Config{Upstream: []netip.AddrPort{up.addr}}, newFakeResolver())
	m := unpack(t, exchangeUDP(t, s.Addrs()[0], query(t, "example.com.", dnsmessage.TypeA), 5*time.Second))
	if got := addrsOf(m); len(got) != 1 || got[0] != exampleAddr {
		t.Fatalf("relayed %v, want %v", got, exampleAddr)
	}
}

func TestForwardSlotsBounded(t *testing.T) {
	up := startUpstream(t, silence)
	s := startServer(t, Config{
		Upstream: []netip.AddrPort{up.addr}, MaxForward: 1, UpstreamTimeout: 300 * time.Millisecond,
	}, newFakeResolver())
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(s.Addrs()[0]))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range 3 {
		c.Write(query(t, "example.com.", dnsmessage.TypeA, withID(uint16(i))))
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 512)
	for range 3 {
		n, err := c.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		if m := unpack(t, buf[:n]); m.Header.RCode != dnsmessage.RCodeServerFailure {
			t.Fatalf("got %v", m.Header.RCode)
		}
	}
	// One slot: only one query at a time reached the upstream; the others
	// gave up waiting for the slot.
	if n := len(up.seen); n >= 3 {
		t.Fatalf("upstream saw %d queries with one slot", n)
	}
}
