package dnsd

import (
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// exchangeUDP sends raw to addr from a fresh loopback socket and returns
// the answer, or nil after timeout.
func exchangeUDP(t testing.TB, addr netip.AddrPort, raw []byte, timeout time.Duration) []byte {
	t.Helper()
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write(raw); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(timeout))
	buf := make([]byte, maxMsgSize)
	n, err := c.Read(buf)
	if err != nil {
		return nil
	}
	return buf[:n]
}

// dialTCP connects to addr, closed at the end of the test.
func dialTCP(t testing.TB, addr netip.AddrPort) *net.TCPConn {
	t.Helper()
	c, err := net.DialTCP("tcp", nil, net.TCPAddrFromAddrPort(addr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func writeTCP(t testing.TB, c net.Conn, raw []byte) {
	t.Helper()
	if _, err := c.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(raw))), raw...)); err != nil {
		t.Fatal(err)
	}
}

func readTCP(t testing.TB, c net.Conn) []byte {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var l [2]byte
	if _, err := io.ReadFull(c, l[:]); err != nil {
		t.Fatalf("read length: %v", err)
	}
	b := make([]byte, binary.BigEndian.Uint16(l[:]))
	if _, err := io.ReadFull(c, b); err != nil {
		t.Fatalf("read message: %v", err)
	}
	return b
}

// waitFor polls cond for up to 5 seconds.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// upstream is a fake DNS server on loopback. handle returns the messages
// to send back for a query, in order; none for silence.
type upstream struct {
	addr   netip.AddrPort
	udp    *net.UDPConn
	tcp    *net.TCPListener
	handle func(q dnsmessage.Message, tcp bool) []*dnsmessage.Message
	seen   chan seenQuery // every query, if not full
	done   chan struct{}
}

type seenQuery struct {
	m   dnsmessage.Message
	tcp bool
}

func startUpstream(t *testing.T, handle func(q dnsmessage.Message, tcp bool) []*dnsmessage.Message) *upstream {
	t.Helper()
	u, l, err := listenPair(netip.MustParseAddrPort("127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	up := &upstream{
		addr: u.LocalAddr().(*net.UDPAddr).AddrPort(), udp: u, tcp: l, handle: handle,
		seen: make(chan seenQuery, 100), done: make(chan struct{}, 2),
	}
	go up.serveUDP()
	go up.serveTCP()
	t.Cleanup(func() {
		u.Close()
		l.Close()
		<-up.done
		<-up.done
	})
	return up
}

// next returns the next query the upstream saw, failing after 5 seconds.
func (up *upstream) next(t testing.TB) seenQuery {
	t.Helper()
	select {
	case q := <-up.seen:
		return q
	case <-time.After(5 * time.Second):
		t.Fatal("upstream saw no query")
		return seenQuery{}
	}
}

func (up *upstream) answer(raw []byte, tcp bool) [][]byte {
	var q dnsmessage.Message
	if err := q.Unpack(raw); err != nil {
		return nil
	}
	select {
	case up.seen <- seenQuery{q, tcp}:
	default:
	}
	var out [][]byte
	for _, m := range up.handle(q, tcp) {
		b, err := m.Pack()
		if err != nil {
			panic(err)
		}
		out = append(out, b)
	}
	return out
}

func (up *upstream) serveUDP() {
	defer func() { up.done <- struct{}{} }()
	buf := make([]byte, maxMsgSize)
	for {
		n, from, err := up.udp.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		for _, b := range up.answer(buf[:n], false) {
			up.udp.WriteToUDPAddrPort(b, from)
		}
	}
}

func (up *upstream) serveTCP() {
	defer func() { up.done <- struct{}{} }()
	for {
		c, err := up.tcp.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			for {
				var l [2]byte
				if _, err := io.ReadFull(c, l[:]); err != nil {
					return
				}
				raw := make([]byte, binary.BigEndian.Uint16(l[:]))
				if _, err := io.ReadFull(c, raw); err != nil {
					return
				}
				for _, b := range up.answer(raw, true) {
					c.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(b))), b...))
				}
			}
		}()
	}
}

// replyTo builds an answer to q with an A record per address.
func replyTo(q dnsmessage.Message, addrs ...netip.Addr) *dnsmessage.Message {
	m := &dnsmessage.Message{
		Header:    dnsmessage.Header{ID: q.Header.ID, Response: true, RecursionDesired: q.Header.RecursionDesired, RecursionAvailable: true},
		Questions: q.Questions,
	}
	for _, a := range addrs {
		m.Answers = append(m.Answers, dnsmessage.Resource{
			Header: dnsmessage.ResourceHeader{Name: q.Questions[0].Name, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET, TTL: 77},
			Body:   &dnsmessage.AResource{A: a.As4()},
		})
	}
	return m
}
