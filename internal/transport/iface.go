package transport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"
)

// ifaceState is one mesh interface. Its goroutines (the binding loop, the
// readers of its accepted streams, the writers of its peers' streams) stop
// when ctx is cancelled by RemoveIface or Close.
type ifaceState struct {
	t      *Transport
	id     int
	name   string // looked up again at each bind: the kernel's index may change
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	b *binding // nil until bound; set once, under t.mu

	// Its accepted connections (conns.go), under t.mu: how many are
	// fresh, and the proven ones.
	fresh int
	conns []*inConn
}

// binding is what an interface has once its link-local address is usable.
type binding struct {
	index   int          // the kernel's interface index
	local   netip.Addr   // the address we send and dial from
	own     []netip.Addr // every link-local address of the interface
	srcInfo []byte       // IPV6_PKTINFO control message: leave from local on index
}

// sockets are the transport's two sockets, shared by every interface:
// [::]:DatagramPort and [::]:StreamPort, bound to no device. They are open
// while at least one interface is bound.
type sockets struct {
	udp *net.UDPConn
	ln  *net.TCPListener
}

func (s *sockets) close() {
	s.udp.Close()
	s.ln.Close()
}

// spawn runs fn as one of the interface's goroutines. Called with t.mu held
// or from another of its goroutines, so Close and RemoveIface never miss it.
func (ifc *ifaceState) spawn(fn func()) {
	ifc.t.wg.Add(1)
	ifc.wg.Add(1)
	go func() {
		defer ifc.t.wg.Done()
		defer ifc.wg.Done()
		fn()
	}()
}

// errNotReady means the interface has no usable link-local address yet:
// IPv6 is off, the link is down, or the address is still tentative.
var errNotReady = errors.New("no usable link-local address yet")

// bindLoop retries until the interface is bound or goes away, then ends.
// Only a new kind of error is logged; an interface that stays without a
// usable link-local address (IPv6 disabled on it?) is reported once, after
// a while.
func (ifc *ifaceState) bindLoop() {
	const patience = 10 * time.Second
	start := time.Now()
	delay := 50 * time.Millisecond
	var lastErr string
	warned := false
	for {
		b, err := ifc.bind()
		if err == nil {
			if err = ifc.publish(b); err == nil {
				return
			}
		}
		notReady := errors.Is(err, errNotReady)
		switch msg := err.Error(); {
		case msg != lastErr && !notReady:
			ifc.t.log.Warn("transport: cannot bind interface yet, retrying", "iface", ifc.name, "err", err)
		case notReady && !warned && time.Since(start) > patience:
			warned = true
			ifc.t.log.Warn("transport: interface still has no usable IPv6 link-local address, retrying",
				"iface", ifc.name, "after", time.Since(start).Round(time.Second))
		}
		lastErr = err.Error()
		timer := time.NewTimer(delay)
		select {
		case <-ifc.ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
		delay = min(2*delay, time.Second)
	}
}

// bind finds the interface's first usable link-local address: one that a
// socket can bind, which a tentative one cannot (EADDRNOTAVAIL). The kernel
// refuses it as the source of a datagram too while it is tentative.
func (ifc *ifaceState) bind() (*binding, error) {
	var b *binding
	err := ifc.t.inNetns(func() error {
		ifi, err := net.InterfaceByName(ifc.name)
		if err != nil {
			return err
		}
		addrs, err := ifi.Addrs()
		if err != nil {
			return fmt.Errorf("addresses: %w", err)
		}
		own := linkLocals(addrs)
		for _, a := range own {
			ok, err := addrUsable(a, ifi.Index)
			if err != nil {
				return err
			}
			if ok {
				b = &binding{index: ifi.Index, local: a, own: own, srcInfo: pktInfo(a, ifi.Index)}
				return nil
			}
		}
		return errNotReady
	})
	if err != nil {
		return nil, fmt.Errorf("transport: bind %s: %w", ifc.name, err)
	}
	return b, nil
}

// linkLocals returns the IPv6 link-local addresses among addrs.
func linkLocals(addrs []net.Addr) []netip.Addr {
	var out []netip.Addr
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		ip, ok := netip.AddrFromSlice(ipn.IP)
		if ok && ip.Is6() && !ip.Is4In6() && ip.IsLinkLocalUnicast() {
			out = append(out, ip)
		}
	}
	return out
}

// publish makes b the interface's binding, opening the shared sockets if
// it is the first interface bound, unless the interface went away
// meanwhile.
func (ifc *ifaceState) publish(b *binding) error {
	t := ifc.t
	t.mu.Lock()
	defer t.mu.Unlock()
	if ifc.ctx.Err() != nil {
		return nil // removed: nothing to undo
	}
	if t.sock == nil {
		s, err := t.openSockets()
		if err != nil {
			return err
		}
		t.sock = s
		t.spawn(func() { t.readDatagrams(s) })
		t.spawn(func() { t.acceptStreams(s) })
		t.log.Info("transport: listening", "udp", t.cfg.DatagramPort, "tcp", t.cfg.StreamPort)
	}
	ifc.b = b
	t.byIndex[b.index] = ifc
	for _, a := range b.own {
		t.own[a]++
	}
	t.log.Info("transport: interface bound", "iface", ifc.name, "addr", b.local)
	return nil
}

// openSockets opens the shared sockets in the transport's namespace.
// t.mu held.
func (t *Transport) openSockets() (*sockets, error) {
	var s *sockets
	err := t.inNetns(func() error {
		udp, err := listenDatagram(t.cfg.DatagramPort)
		if err != nil {
			return err
		}
		ln, err := listenStream(t.cfg.StreamPort)
		if err != nil {
			udp.Close()
			return err
		}
		s = &sockets{udp: udp, ln: ln}
		return nil
	})
	return s, err
}

// spawn runs fn as one of the transport's own goroutines (the socket
// readers), which only Close waits for. t.mu held.
func (t *Transport) spawn(fn func()) {
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		fn()
	}()
}

// pause waits d after an unexpected socket error, so that a persistent
// one does not spin; it reports false when the transport is closing.
func (t *Transport) pause(d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-t.ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}

// readDatagrams reads the shared UDP socket until it is closed. A
// link-local source carries the index of the interface it arrived on as
// its scope (sin6_scope_id), which names our interface.
func (t *Transport) readDatagrams(s *sockets) {
	rc, err := s.udp.SyscallConn()
	if err != nil {
		t.log.Warn("transport: datagram socket", "err", err)
		return
	}
	// One byte more than we accept, to see oversized datagrams; room for
	// the network key's trailer.
	limit := min(t.cfg.MaxPacket, maxDatagram)
	buf := make([]byte, limit+TrailerLen+1)
	dr := newDatagramReader(rc, buf)
	for {
		n, from, index, err := dr.recvFrom()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			t.log.Warn("transport: datagram read", "err", err)
			if !t.pause(100 * time.Millisecond) {
				return
			}
			continue
		}
		pkt := buf[:n]
		ks := t.keySet()
		if n > limit+ks.trailer() {
			t.stats.drop(dropTooBig, 1)
			continue
		}
		if checkFrame(pkt) != nil {
			t.stats.drop(dropMalformed, 1)
			continue
		}
		// The tag before the peer table: a forged source never takes a
		// peer's place in it.
		pkt, why, ok := ks.open(pkt, &authCtx{domain: domainDatagram, src: from})
		if !ok {
			t.stats.drop(why, 1)
			continue
		}
		id, p := t.admit(index, from)
		if p == nil {
			continue
		}
		// Drop rather than wait: a stale probe is worth nothing, and the
		// socket must keep draining.
		select {
		case t.recv <- Packet{Iface: id, From: p.id, Data: append([]byte(nil), pkt...)}:
			t.stats.received(pkt)
		default:
			t.stats.drop(dropRecvQueueFull, 1)
		}
	}
}

// acceptStreams accepts on the shared TCP listener until it is closed.
func (t *Transport) acceptStreams(s *sockets) {
	for {
		conn, err := s.ln.AcceptTCP()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// EMFILE and friends: wait instead of spinning.
			t.log.Warn("transport: accept", "err", err)
			if !t.pause(100 * time.Millisecond) {
				return
			}
			continue
		}
		// No keepalives, as on the streams we dial (see Transport.dial); the
		// listener, made by hand, turned Go's default on.
		_ = conn.SetKeepAlive(false) // best effort: keepalives only cost airtime
		if !t.admitConn(conn) {
			conn.Close()
		}
	}
}
