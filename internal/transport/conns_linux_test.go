package transport

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ntkd/ntkd/internal/node"
	"github.com/ntkd/ntkd/internal/radar"
	"github.com/ntkd/ntkd/internal/wire"
)

// Bug B3 (docs/RELIABILITY.md) over real sockets: a stranger on the link
// opens connections from link-local addresses of its choosing.

// addAddrs gives ifname in ns n more link-local addresses, fe80::tag:1 and
// up, usable at once (nodad).
func addAddrs(t *testing.T, ns, ifname, tag string, n int) []netip.Addr {
	t.Helper()
	var out []netip.Addr
	for i := 1; i <= n; i++ {
		a := netip.MustParseAddr(fmt.Sprintf("fe80::%s:%d", tag, i))
		run(t, "ip", "-n", ns, "addr", "add", a.String()+"/64", "dev", ifname, "nodad")
		out = append(out, a)
	}
	return out
}

// dialFrom connects from one of our link-local addresses to to:port on
// device index; the caller runs it inside the namespace.
func dialFrom(index int, from, to netip.Addr, port int) (*net.TCPConn, error) {
	zone := strconv.Itoa(index)
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(from.WithZone(zone), 0))}
	c, err := d.Dial("tcp6", netip.AddrPortFrom(to.WithZone(zone), uint16(port)).String())
	if err != nil {
		return nil, err
	}
	return c.(*net.TCPConn), nil
}

// flood opens idle connections from srcs round-robin as fast as it can,
// in ns, until stop is closed, and returns how many it opened and the
// last 64, which it keeps open (so that the victim, not the attacker,
// closes them) for the caller to close.
func flood(ns, ifname string, srcs []netip.Addr, to netip.Addr, stop <-chan struct{}) (int, []*net.TCPConn, error) {
	n := 0
	var held [64]*net.TCPConn
	err := enterNetns(ns)(func() error {
		ifi, err := net.InterfaceByName(ifname)
		if err != nil {
			return err
		}
		for {
			select {
			case <-stop:
				return nil
			default:
			}
			c, err := dialFrom(ifi.Index, srcs[n%len(srcs)], to, wire.DefaultPort)
			if err != nil {
				return err
			}
			if old := held[n%len(held)]; old != nil {
				old.Close()
			}
			held[n%len(held)] = c
			n++
		}
	})
	var open []*net.TCPConn
	for _, c := range held {
		if c != nil {
			open = append(open, c)
		}
	}
	return n, open, err
}

// The attack of B3: silent connections from 8 spoofed addresses, then a
// flood of new ones from 8 more, while an honest neighbour connects. Its
// reliable packet must get through at once, on an open and a closed mesh.
func TestIdleConnsCannotLockOut(t *testing.T) {
	for _, closed := range []bool{false, true} {
		name := "open"
		if closed {
			name = "closed"
		}
		t.Run(name, func(t *testing.T) { idleConnAttack(t, closed) })
	}
}

func idleConnAttack(t *testing.T, closed bool) {
	const fresh = 2
	p := newPair(t, Config{}, Config{MaxConns: 4, MaxFreshConns: fresh, FreshTimeout: 3 * time.Second})
	if closed {
		p.a.SetKeys(keyOld)
		p.b.SetKeys(keyOld)
	}
	p.introduce(t)
	held := addAddrs(t, p.nsA, p.ifA, "a", 8)
	flooders := addAddrs(t, p.nsA, p.ifA, "b", 8)

	// 16 silent connections, 2 per address: four times MaxConns.
	for i := range 16 {
		rawDial(t, p.nsA, p.ifA, held[i%len(held)], p.bAddr, wire.DefaultPort)
	}
	waitFor(t, "every silent connection judged", func() bool {
		s := p.b.Stats()
		return uint64(s.InStreams)+s.Dropped[DropTooManyConns]+s.Dropped[DropFreshEvicted] == 16
	})
	t.Logf("after 16 silent connections B has %d in streams, drops %v", p.b.Stats().InStreams, p.b.Stats().Dropped)

	// A flood of new connections meanwhile.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var flooded int
	var floodConns []*net.TCPConn
	var floodErr error
	wg.Go(func() { flooded, floodConns, floodErr = flood(p.nsA, p.ifA, flooders, p.bAddr, stop) })
	stopFlood := sync.OnceFunc(func() {
		close(stop)
		wg.Wait()
		t.Cleanup(func() {
			for _, c := range floodConns {
				c.Close()
			}
		})
	})
	defer stopFlood()
	time.Sleep(200 * time.Millisecond)

	// The honest neighbour's reliable packet arrives within a few
	// seconds (at once, in fact).
	start := time.Now()
	send(t, p.a, node.Send{Iface: ifaceA, To: p.pB, Reliable: true, Op: wire.OpTracerPkt, Data: frame(wire.OpTracerPkt, 42, []byte("honest"))})
	select {
	case got := <-p.b.Recv():
		if got.From != p.pA || binary.BigEndian.Uint32(got.Data[8:]) != 42 {
			t.Fatalf("B got packet %d from %d, want A's 42 from %d", binary.BigEndian.Uint32(got.Data[8:]), got.From, p.pA)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("A's reliable packet did not reach B within 5 s; B: %d in streams, drops %v", p.b.Stats().InStreams, p.b.Stats().Dropped)
	}
	delay := time.Since(start)
	time.Sleep(500 * time.Millisecond) // more flood with A's stream proven
	stopFlood()
	if floodErr != nil {
		t.Fatalf("flood: %v", floodErr)
	}
	s := p.b.Stats()
	t.Logf("A's packet took %v; %d connections flooded in %v; B: drops %v", delay, flooded, time.Since(start)+200*time.Millisecond, s.Dropped)
	if s.Dropped[DropTooManyConns] != 0 || s.Dropped[DropFreshEvicted] <= 16-fresh || s.FreshStreams > fresh {
		t.Errorf("B dropped %v and has %d fresh connections; want no too_many_conns, more than %d fresh_evicted, at most %d fresh",
			s.Dropped, s.FreshStreams, 16-fresh, fresh)
	}

	// The attacker's last connections are closed at FreshTimeout; A's
	// stream stays and carries more.
	waitFor(t, "the silent connections closed", func() bool {
		s := p.b.Stats()
		return s.FreshStreams == 0 && s.Dropped[DropSilentConn] > 0
	})
	send(t, p.a, node.Send{Iface: ifaceA, To: p.pB, Reliable: true, Op: wire.OpTracerPkt, Data: frame(wire.OpTracerPkt, 43, nil)})
	if got := expectPacket(t, p.b); binary.BigEndian.Uint32(got.Data[8:]) != 43 {
		t.Fatalf("B got packet %d, want 43", binary.BigEndian.Uint32(got.Data[8:]))
	}
	s = p.b.Stats()
	if s.InStreams != 1 || s.Peers != 1 || s.Dropped[DropSilentConn] > fresh {
		t.Errorf("B: %d in streams, %d peers, drops %v; want A's stream and peer alone, at most %d silent", s.InStreams, s.Peers, s.Dropped, fresh)
	}
	if d := p.a.Stats().Dropped; len(d) != 0 {
		t.Errorf("A dropped %v", d)
	}
}

// A connection must send its first frame, whole, within FreshTimeout;
// once proven it may then be silent.
func TestSilentConnClosed(t *testing.T) {
	const timeout = 500 * time.Millisecond
	p := newPair(t, Config{}, Config{FreshTimeout: timeout})
	port := wire.DefaultPort

	start := time.Now()
	idle := rawDial(t, p.nsA, p.ifA, p.aAddr, p.bAddr, port)
	// Slow: a header promising 100 bytes, and 10 of them.
	slow := rawDial(t, p.nsA, p.ifA, p.aAddr, p.bAddr, port)
	slow.Write(frame(wire.OpTracerPkt, 1, make([]byte, 100))[:wire.HeaderLen+10])
	good := rawDial(t, p.nsA, p.ifA, p.aAddr, p.bAddr, port)
	good.Write(frame(wire.OpTracerPkt, 2, nil))
	expectPacket(t, p.b)
	expectClosed(t, idle)
	expectClosed(t, slow)
	took := time.Since(start)
	if took < timeout || took > timeout+2*time.Second {
		t.Errorf("silent connections closed after %v, want about %v", took, timeout)
	}
	waitFor(t, "silent connections released", func() bool { return p.b.Stats().InStreams == 1 })
	if d := p.b.Stats().Dropped; d[DropSilentConn] != 2 || len(d) != 1 {
		t.Fatalf("drops %v, want 2 silent_conn", d)
	}
	time.Sleep(2 * timeout)
	good.Write(frame(wire.OpTracerPkt, 3, nil))
	if got := expectPacket(t, p.b); binary.BigEndian.Uint32(got.Data[8:]) != 3 {
		t.Fatalf("got packet %d, want 3 on the proven connection", binary.BigEndian.Uint32(got.Data[8:]))
	}
	t.Logf("silent connections closed after %v", took)
}

// On an open mesh a stranger can send valid frames and so hold proven
// connections, but only on its own link: a neighbour on another interface
// takes its share back.
func TestOneLinkCannotTakeTheOthersSlots(t *testing.T) {
	s := newStar(t)
	a := newTransport(t, s.nsA, Config{MaxConns: 4, MaxConnsPerSource: 2, MaxFreshConns: 2}, ifToB, s.toB)
	if err := a.AddIface(ifToC, s.toC); err != nil {
		t.Fatal(err)
	}
	b := newTransport(t, s.nsB, Config{}, 1, "to-a")
	c := newTransport(t, s.nsC, Config{}, 1, "to-a")
	waitBound(t, a, ifToB)
	waitBound(t, a, ifToC)
	waitBound(t, b, 1)
	waitBound(t, c, 1)
	aOnB, _ := a.LocalAddr(ifToB)

	// Everyone knows A.
	send(t, a, node.Send{Iface: ifToB, To: radar.Broadcast, Op: wire.OpEchoMe, Data: frame(wire.OpEchoMe, 1, nil)})
	send(t, a, node.Send{Iface: ifToC, To: radar.Broadcast, Op: wire.OpEchoMe, Data: frame(wire.OpEchoMe, 1, nil)})
	pAatB, pAatC := expectPacket(t, b).From, expectPacket(t, c).From

	// The stranger on B's link: 4 connections from 2 addresses, each
	// proven by a frame. A lets them use all 4 slots while C needs none.
	for i, src := range addAddrs(t, s.nsB, "to-a", "b", 2) {
		for k := range 2 {
			conn := rawDial(t, s.nsB, "to-a", src, aOnB, wire.DefaultPort)
			conn.Write(frame(wire.OpTracerPkt, uint32(100+2*i+k), nil))
			if got := expectPacket(t, a); got.Iface != ifToB {
				t.Fatalf("stranger's frame on interface %d", got.Iface)
			}
		}
	}
	if st := a.Stats(); st.InStreams != 4 {
		t.Fatalf("A has %d in streams, want the stranger's 4", st.InStreams)
	}

	// C's packet gets through: its interface is below its share (2).
	send(t, c, node.Send{Iface: 1, To: pAatC, Reliable: true, Op: wire.OpTracerPkt, Data: frame(wire.OpTracerPkt, 7, nil)})
	select {
	case got := <-a.Recv():
		if got.Iface != ifToC || binary.BigEndian.Uint32(got.Data[8:]) != 7 {
			t.Fatalf("A got packet %d on %d, want C's 7 on %d", binary.BigEndian.Uint32(got.Data[8:]), got.Iface, ifToC)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("C's reliable packet did not reach A within 5 s; A drops %v", a.Stats().Dropped)
	}
	if d := a.Stats().Dropped; d[DropConnEvicted] != 1 || d[DropTooManyConns] != 0 {
		t.Fatalf("A dropped %v, want one conn_evicted", d)
	}

	// What remains on an open mesh: B, on the stranger's own link, finds
	// that link's share taken.
	send(t, b, node.Send{Iface: 1, To: pAatB, Reliable: true, Op: wire.OpTracerPkt, Data: frame(wire.OpTracerPkt, 8, nil)})
	waitFor(t, "B's connection refused", func() bool { return a.Stats().Dropped[DropTooManyConns] == 1 })
	if st := a.Stats(); st.InStreams != 4 || len(a.Recv()) != 0 {
		t.Fatalf("A has %d in streams and %d packets waiting; want 4 and none", st.InStreams, len(a.Recv()))
	}
}
