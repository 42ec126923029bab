package transport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// ifaceState is one mesh interface. Its goroutines stop when ctx is cancelled
// (RemoveIface or Close), which also closes its sockets.
type ifaceState struct {
	t      *Transport
	id     int
	name   string // looked up again at each bind: the kernel's index may change
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	b *binding // nil until bound; set once, under t.mu
}

// binding is what an interface has once its link-local address is usable.
type binding struct {
	local   netip.Addr   // the address we bound and send from
	own     []netip.Addr // every link-local address of the interface
	srcInfo []byte       // IPV6_PKTINFO control message: send from local
	udp     *net.UDPConn // [::]:DatagramPort on the device: unicast and ff02::1
	ln      *net.TCPListener
}

func (b *binding) close() {
	b.udp.Close()
	b.ln.Close()
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

// bindLoop retries bind until it works or the interface goes away. Only a
// new kind of error is logged; an interface that stays without a usable
// link-local address (IPv6 disabled on it?) is reported once, after a while.
func (ifc *ifaceState) bindLoop() {
	const patience = 10 * time.Second
	start := time.Now()
	delay := 50 * time.Millisecond
	var lastErr string
	warned := false
	for {
		b, err := ifc.bind()
		if err == nil {
			if !ifc.publish(b) {
				b.close()
			}
			return
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

// bind opens the interface's sockets. The TCP listener on the link-local
// address goes first: it is what fails (EADDRNOTAVAIL) while the address is
// tentative, and the UDP socket sends from that address too.
func (ifc *ifaceState) bind() (*binding, error) {
	t := ifc.t
	var b *binding
	err := t.inNetns(func() error {
		ifi, err := net.InterfaceByName(ifc.name)
		if err != nil {
			return err
		}
		addrs, err := ifi.Addrs()
		if err != nil {
			return fmt.Errorf("addresses: %w", err)
		}
		own := linkLocals(addrs)
		zone := strconv.Itoa(ifi.Index)
		var ln *net.TCPListener
		var local netip.Addr
		for _, a := range own {
			l, err := listenStream(ifc.name, ifi.Index, netip.AddrPortFrom(a.WithZone(zone), uint16(t.cfg.StreamPort)))
			if errors.Is(err, syscall.EADDRNOTAVAIL) {
				continue // tentative
			}
			if err != nil {
				return err
			}
			ln, local = l, a
			break
		}
		if ln == nil {
			return errNotReady
		}
		udp, err := listenDatagram(ifc.name, ifi.Index, t.cfg.DatagramPort)
		if err != nil {
			ln.Close()
			return err
		}
		b = &binding{local: local, own: own, srcInfo: pktInfo(local, ifi.Index), udp: udp, ln: ln}
		return nil
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

// publish makes b the interface's binding and starts its readers, unless
// the interface went away meanwhile.
func (ifc *ifaceState) publish(b *binding) bool {
	t := ifc.t
	t.mu.Lock()
	defer t.mu.Unlock()
	if ifc.ctx.Err() != nil {
		return false
	}
	ifc.b = b
	for _, a := range b.own {
		t.own[a]++
	}
	context.AfterFunc(ifc.ctx, b.close)
	ifc.spawn(func() { ifc.readDatagrams(b.udp) })
	ifc.spawn(func() { ifc.acceptStreams(b.ln) })
	t.log.Info("transport: interface bound", "iface", ifc.name, "addr", b.local,
		"udp", t.cfg.DatagramPort, "tcp", t.cfg.StreamPort)
	return true
}

// pause waits d after an unexpected socket error, so that a persistent
// one does not spin; it reports false when the interface is going away.
func (ifc *ifaceState) pause(d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ifc.ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}

func (ifc *ifaceState) readDatagrams(conn *net.UDPConn) {
	t := ifc.t
	// One byte more than we accept, to see oversized datagrams.
	limit := min(t.cfg.MaxPacket, maxDatagram)
	buf := make([]byte, limit+1)
	for {
		n, from, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if ifc.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			t.log.Warn("transport: datagram read", "iface", ifc.name, "err", err)
			if !ifc.pause(100 * time.Millisecond) {
				return
			}
			continue
		}
		pkt := buf[:n]
		if n > limit {
			t.stats.drop(dropTooBig, 1)
			continue
		}
		if checkFrame(pkt) != nil {
			t.stats.drop(dropMalformed, 1)
			continue
		}
		p := t.admit(ifc.id, from.Addr())
		if p == nil {
			continue
		}
		// Drop rather than wait: a stale probe is worth nothing, and the
		// socket must keep draining.
		select {
		case t.recv <- Packet{Iface: ifc.id, From: p.id, Data: append([]byte(nil), pkt...)}:
			t.stats.received(pkt)
		default:
			t.stats.drop(dropRecvQueueFull, 1)
		}
	}
}

func (ifc *ifaceState) acceptStreams(ln *net.TCPListener) {
	t := ifc.t
	for {
		conn, err := ln.AcceptTCP()
		if err != nil {
			if ifc.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			// EMFILE and friends: wait instead of spinning.
			t.log.Warn("transport: accept", "iface", ifc.name, "err", err)
			if !ifc.pause(100 * time.Millisecond) {
				return
			}
			continue
		}
		// No keepalives, as on the streams we dial (see Transport.dial); the
		// listener, made by hand, turned Go's default on.
		_ = conn.SetKeepAlive(false) // best effort: keepalives only cost airtime
		if p := ifc.admitConn(conn); p != nil {
			ifc.spawn(func() { ifc.readStream(conn, p) })
		} else {
			conn.Close()
		}
	}
}

// admitConn checks an accepted connection against the source and
// connection limits and pins its peer.
func (ifc *ifaceState) admitConn(conn *net.TCPConn) *peer {
	t := ifc.t
	src := conn.RemoteAddr().(*net.TCPAddr).AddrPort().Addr().Unmap().WithZone("")
	if !src.Is6() || !src.IsLinkLocalUnicast() {
		t.stats.drop(dropNotLinkLocal, 1)
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	p := t.peers.get(peerKey{ifc.id, src}, time.Now())
	switch {
	case p == nil:
		t.stats.drop(dropPeerTableFull, 1)
		return nil
	case p.inConns >= t.cfg.MaxConnsPerSource || t.inConns >= t.cfg.MaxConns:
		t.stats.drop(dropTooManyConns, 1)
		return nil
	}
	p.inConns++
	t.inConns++
	return p
}

func (ifc *ifaceState) releaseConn(p *peer) {
	t := ifc.t
	t.mu.Lock()
	p.inConns--
	t.inConns--
	t.mu.Unlock()
}
