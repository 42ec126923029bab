package transport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ntkd/ntkd/internal/logx"
	"github.com/ntkd/ntkd/internal/node"
	"github.com/ntkd/ntkd/internal/radar"
	"github.com/ntkd/ntkd/internal/wire"
)

// ErrClosed is returned by calls on a closed Transport.
var ErrClosed = errors.New("transport: closed")

// allNodes is ff02::1, the link broadcast of radar probes.
var allNodes = netip.MustParseAddr("ff02::1")

// Packet is one received packet.
type Packet struct {
	Iface int          // the daemon's interface number given to AddIface
	From  radar.PeerID // never radar.Broadcast
	Data  []byte       // the whole packet, header included; the receiver owns it
}

// Transport owns the sockets of every mesh interface.
type Transport struct {
	cfg   Config
	log   *logx.Logger
	ctx   context.Context // cancelled by Close; parent of every interface's
	stop  context.CancelFunc
	recv  chan Packet
	wg    sync.WaitGroup // every goroutine, so Close can wait for them
	stats counters
	keys  atomic.Pointer[keySet] // the network keys (auth.go); nil: an open mesh

	// inNetns runs fn where sockets must be created and interfaces looked
	// up. The daemon runs in its own network namespace and calls fn
	// directly; the tests enter a test namespace around it.
	inNetns func(fn func() error) error

	mu       sync.Mutex
	closed   bool
	ifaces   map[int]*ifaceState
	byIndex  map[int]*ifaceState // the bound ones, by kernel interface index
	sock     *sockets            // nil while no interface is bound
	peers    *peerTable
	own      map[netip.Addr]int // our link-local addresses (refcount over interfaces)
	fresh    []*inConn          // accepted connections without a valid frame yet, oldest first (conns.go)
	inConns  int                // proven accepted connections
	outConns int
}

// New returns a Transport with no interfaces.
func New(cfg Config, logger *logx.Logger) (*Transport, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = logx.Discard()
	}
	ctx, stop := context.WithCancel(context.Background())
	return &Transport{
		cfg: cfg, log: logger, ctx: ctx, stop: stop,
		recv:    make(chan Packet, cfg.RecvQueue),
		inNetns: func(fn func() error) error { return fn() },
		ifaces:  make(map[int]*ifaceState),
		byIndex: make(map[int]*ifaceState),
		peers:   newPeerTable(cfg.MaxPeers, cfg.PerSourceBurst),
		own:     make(map[netip.Addr]int),
		fresh:   make([]*inConn, 0, cfg.MaxFreshConns),
	}, nil
}

// Recv delivers everything received, in arrival order per source and
// socket. It is closed by Close.
func (t *Transport) Recv() <-chan Packet { return t.recv }

// AddIface starts using the interface called name as the daemon's interface
// number iface. The interface must exist; its sockets are opened in the
// background as soon as its link-local address is usable (LocalAddr says
// when).
func (t *Transport) AddIface(iface int, name string) error {
	err := t.inNetns(func() error {
		_, err := net.InterfaceByName(name)
		return err
	})
	if err != nil {
		return fmt.Errorf("transport: add interface %s: %w", name, err)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return ErrClosed
	}
	if old := t.ifaces[iface]; old != nil {
		return fmt.Errorf("transport: add interface %s: number %d is already %s", name, iface, old.name)
	}
	for _, other := range t.ifaces {
		if other.name == name {
			return fmt.Errorf("transport: add interface %s: already added as number %d", name, other.id)
		}
	}
	ctx, cancel := context.WithCancel(t.ctx)
	ifc := &ifaceState{t: t, id: iface, name: name, ctx: ctx, cancel: cancel}
	t.ifaces[iface] = ifc
	ifc.spawn(ifc.bindLoop)
	return nil
}

// RemoveIface closes the interface's streams, both ways, and waits for its
// goroutines; what arrives on it afterwards is dropped. Its peers keep
// their PeerIDs. The shared sockets close with the last bound interface,
// so that a node without mesh interfaces refuses connections.
func (t *Transport) RemoveIface(iface int) error {
	t.mu.Lock()
	ifc := t.ifaces[iface]
	if ifc == nil {
		t.mu.Unlock()
		return fmt.Errorf("transport: remove interface %d: not added", iface)
	}
	delete(t.ifaces, iface)
	if ifc.b != nil && t.byIndex[ifc.b.index] == ifc {
		delete(t.byIndex, ifc.b.index)
	}
	t.forgetOwn(ifc)
	conns := t.endStreams(func(p *peer) bool { return p.key.iface == iface })
	var sock *sockets
	if len(t.byIndex) == 0 {
		sock, t.sock = t.sock, nil
	}
	t.mu.Unlock()
	ifc.cancel()
	for _, c := range conns {
		c.Close() // a writer blocked on it returns
	}
	if sock != nil {
		sock.close() // its readers end
	}
	ifc.wg.Wait()
	return nil
}

// LocalAddr is our link-local address on iface, once it is bound.
func (t *Transport) LocalAddr(iface int) (netip.Addr, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if ifc := t.ifaces[iface]; ifc != nil && ifc.b != nil {
		return ifc.b.local, true
	}
	return netip.Addr{}, false
}

// PeerAddr is the interface and link-local address (no zone: iface scopes
// it) of peer p.
func (t *Transport) PeerAddr(p radar.PeerID) (iface int, ip netip.Addr, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if pr := t.peers.byID[p]; pr != nil {
		return pr.key.iface, pr.key.ip, true
	}
	return 0, netip.Addr{}, false
}

// Stats returns a snapshot of the counters.
func (t *Transport) Stats() Stats {
	s := t.stats.snapshot()
	t.mu.Lock()
	s.Peers, s.InStreams, s.FreshStreams, s.OutStreams = len(t.peers.byKey), t.inConns+len(t.fresh), len(t.fresh), t.outConns
	t.mu.Unlock()
	return s
}

// Send sends one packet without blocking: a datagram at once (to ff02::1
// for radar.Broadcast, else to the peer's address, on DatagramPort), or a
// reliable packet queued on the peer's stream (dialled if needed). Data must
// be one whole wire packet; the transport keeps it until written, so the
// caller must not change it afterwards. s.Op only names the packet in
// errors: Stats count the op in the header. Every refusal is also counted
// in Stats.
func (t *Transport) Send(s node.Send) error {
	extra := t.keySet().trailer()
	if len(s.Data)+extra > t.cfg.MaxPacket || (!s.Reliable && len(s.Data) > maxDatagram) ||
		len(s.Data)+extra > wire.HeaderLen+wire.MaxPayload {
		t.stats.drop(dropTooBig, 1)
		return fmt.Errorf("transport: send %v: %d bytes, more than the limit", s.Op, len(s.Data))
	}
	if err := checkFrame(s.Data); err != nil {
		t.stats.drop(dropMalformed, 1)
		return fmt.Errorf("transport: send %v: %w", s.Op, err)
	}
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return ErrClosed
	}
	ifc := t.ifaces[s.Iface]
	if ifc == nil || ifc.b == nil {
		t.mu.Unlock()
		if ifc == nil {
			t.stats.drop(dropUnknownIface, 1)
			return fmt.Errorf("transport: send %v: no interface %d", s.Op, s.Iface)
		}
		t.stats.drop(dropIfaceNotReady, 1)
		return fmt.Errorf("transport: send %v on %s: link-local address not bound yet", s.Op, ifc.name)
	}
	dst := allNodes
	var p *peer
	if s.To != radar.Broadcast {
		p = t.peers.byID[s.To]
		if p == nil || p.key.iface != s.Iface {
			t.mu.Unlock()
			t.stats.drop(dropUnknownPeer, 1)
			return fmt.Errorf("transport: send %v: no peer %d on interface %d", s.Op, s.To, s.Iface)
		}
		t.peers.touch(p)
		dst = p.key.ip
	}
	if s.Reliable {
		defer t.mu.Unlock()
		if p == nil {
			t.stats.drop(dropUnknownPeer, 1)
			return fmt.Errorf("transport: send %v: a reliable packet needs a peer, not the broadcast", s.Op)
		}
		return t.enqueue(ifc, p, s.Data)
	}
	b, udp := ifc.b, t.sock.udp // a bound interface implies open sockets
	t.mu.Unlock()
	return t.sendDatagram(ifc, b, udp, dst, s.Data)
}

func (t *Transport) sendDatagram(ifc *ifaceState, b *binding, udp *net.UDPConn, dst netip.Addr, pkt []byte) error {
	// No zone: srcInfo names the interface (and the source address) for
	// unicast and ff02::1 alike. A numeric zone missed the net package's
	// name cache and made it dump every link of the system at each send
	// (2 MB of garbage a minute on a node with four neighbours).
	to := netip.AddrPortFrom(dst, uint16(t.cfg.DatagramPort))
	out := pkt
	if ks := t.keySet(); ks != nil {
		out = ks.seal(pkt, &authCtx{domain: domainDatagram, src: b.local})
	}
	if _, _, err := udp.WriteMsgUDPAddrPort(out, b.srcInfo, to); err != nil {
		t.stats.drop(dropSendFailed, 1)
		return fmt.Errorf("transport: send to %v on %s: %w", to, ifc.name, err)
	}
	t.stats.sent(pkt)
	return nil
}

// Close stops every goroutine, closes every socket and then the Recv
// channel.
func (t *Transport) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	t.ifaces = make(map[int]*ifaceState)
	t.byIndex = make(map[int]*ifaceState)
	conns := t.endStreams(func(*peer) bool { return true })
	sock := t.sock
	t.sock = nil
	t.mu.Unlock()
	t.stop() // cancels every interface: their goroutines end
	if sock != nil {
		sock.close() // the readers end
	}
	for _, c := range conns {
		c.Close()
	}
	t.wg.Wait()
	close(t.recv)
	return nil
}

// origin finds the interface (by its kernel index) of what arrived from
// src, or counts why it must be dropped and returns nil. t.mu held.
func (t *Transport) origin(index int, src netip.Addr) *ifaceState {
	if !src.Is6() || !src.IsLinkLocalUnicast() {
		t.stats.drop(dropNotLinkLocal, 1)
		return nil
	}
	ifc := t.byIndex[index]
	if ifc == nil {
		t.stats.drop(dropForeignIface, 1)
		return nil
	}
	if t.own[src] > 0 {
		t.stats.drop(dropOwnPacket, 1)
		return nil
	}
	return ifc
}

// source finds the interface and the peer behind what arrived from src,
// or counts why it must be dropped and returns a nil peer. t.mu held.
func (t *Transport) source(index int, src netip.Addr, now time.Time) (*ifaceState, *peer) {
	ifc := t.origin(index, src)
	if ifc == nil {
		return nil, nil
	}
	p := t.peers.get(peerKey{ifc.id, src}, now)
	if p == nil {
		t.stats.drop(dropPeerTableFull, 1)
	}
	return ifc, p
}

// admit finds the interface and the peer behind a received datagram and
// takes a token from the peer's bucket; it counts and returns a nil peer
// when the packet must be dropped.
func (t *Transport) admit(index int, src netip.Addr) (int, *peer) {
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	ifc, p := t.source(index, src, now)
	if p == nil {
		return 0, nil
	}
	if !p.allow(now, t.cfg.PerSourceRate, t.cfg.PerSourceBurst) {
		t.stats.drop(dropRateLimited, 1)
		return 0, nil
	}
	return ifc.id, p
}

// forgetOwn drops ifc's addresses from our own set. t.mu held.
func (t *Transport) forgetOwn(ifc *ifaceState) {
	if ifc.b == nil {
		return
	}
	for _, a := range ifc.b.own {
		if t.own[a]--; t.own[a] <= 0 {
			delete(t.own, a)
		}
	}
}

// checkFrame accepts exactly one well-framed packet: magic, version, length
// within the protocol's limit and equal to what follows the header. Op and
// payload are the node's business (it may answer a NACK).
func checkFrame(pkt []byte) error {
	n, err := wire.PayloadLen(pkt)
	if err != nil {
		return err
	}
	if wire.HeaderLen+n != len(pkt) {
		return fmt.Errorf("header length %d, packet has %d payload bytes", n, len(pkt)-wire.HeaderLen)
	}
	return nil
}
