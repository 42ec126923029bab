package transport

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"slices"
	"syscall"
	"time"

	"github.com/ntkd/ntkd/internal/wire"
)

// outStream is the queue of our stream to one peer; its writer goroutine
// owns the connection.
type outStream struct{ q chan []byte }

// maxBatch bounds the packets written with one writev.
const maxBatch = 64

// enqueue queues pkt on p's stream, starting its writer if needed. t.mu held.
func (t *Transport) enqueue(ifc *ifaceState, p *peer, pkt []byte) error {
	s := p.out
	if s == nil {
		s = &outStream{q: make(chan []byte, t.cfg.QueueLen)}
		p.out = s
		t.outConns++
		b := ifc.b
		ifc.spawn(func() { t.writeStream(ifc, b, p, s) })
	}
	select {
	case s.q <- pkt:
		return nil
	default:
		t.stats.drop(dropQueueFull, 1)
		return fmt.Errorf("transport: stream to %v on %s: queue full", p.key.ip, ifc.name)
	}
}

// writeStream dials p when there is something to send and writes the
// queue. It ends when the interface goes away, after IdleTimeout without
// packets, or on the first dial or write error: the next Send starts a new
// writer and so reconnects.
func (t *Transport) writeStream(ifc *ifaceState, b *binding, p *peer, s *outStream) {
	var conn *net.TCPConn
	stopCloser := func() bool { return false }
	hangUp := func() {
		if conn != nil {
			stopCloser()
			conn.Close()
			conn = nil
		}
	}
	defer hangUp()
	idle := time.NewTimer(t.cfg.IdleTimeout)
	defer idle.Stop()
	batch := make([][]byte, 0, maxBatch)
	for {
		select {
		case <-ifc.ctx.Done():
			t.retire(p, s, nil)
			return
		case <-idle.C:
			if t.retireIfIdle(p, s) {
				return
			}
			idle.Reset(t.cfg.IdleTimeout)
			continue
		case pkt := <-s.q:
			batch = append(batch[:0], pkt)
		}
	more:
		for len(batch) < maxBatch {
			select {
			case pkt := <-s.q:
				batch = append(batch, pkt)
			default:
				break more
			}
		}
		if conn != nil && peerClosed(conn) {
			// The peer restarted or dropped us: writing would only lose
			// the batch, so connect again first.
			hangUp()
		}
		if conn == nil {
			c, err := t.dial(ifc, b, p.key.ip)
			if err != nil {
				if ifc.ctx.Err() != nil {
					t.retire(p, s, nil)
					return
				}
				t.log.Debug("transport: stream connect failed", "iface", ifc.name, "peer", p.key.ip, "err", err)
				t.stats.drop(dropDialFailed, len(batch))
				reason := dropDialFailed
				t.retire(p, s, &reason)
				return
			}
			conn = c
			stopCloser = context.AfterFunc(ifc.ctx, func() { c.Close() })
		}
		conn.SetWriteDeadline(time.Now().Add(t.cfg.WriteTimeout))
		bufs := net.Buffers(slices.Clone(batch)) // WriteTo consumes its slices
		if _, err := bufs.WriteTo(conn); err != nil {
			if ifc.ctx.Err() != nil {
				t.retire(p, s, nil)
				return
			}
			t.log.Debug("transport: stream write failed", "iface", ifc.name, "peer", p.key.ip, "err", err)
			t.stats.drop(dropWriteFailed, len(batch))
			reason := dropWriteFailed
			t.retire(p, s, &reason)
			return
		}
		for _, pkt := range batch {
			t.stats.sent(pkt)
		}
		clear(batch) // let the packets go
		idle.Reset(t.cfg.IdleTimeout)
	}
}

// retire unlinks s from p so that the next Send starts a new stream, and
// empties its queue, counting the packets under reason when given.
func (t *Transport) retire(p *peer, s *outStream, reason *dropReason) {
	t.mu.Lock()
	if p.out == s {
		p.out = nil
	}
	t.outConns--
	t.mu.Unlock()
	// Send enqueues under t.mu after checking p.out, so nothing arrives now.
	n := len(s.q)
	for range n {
		<-s.q
	}
	if reason != nil {
		t.stats.drop(*reason, n)
	}
}

// retireIfIdle retires s unless packets arrived meanwhile.
func (t *Transport) retireIfIdle(p *peer, s *outStream) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(s.q) > 0 {
		return false
	}
	if p.out == s {
		p.out = nil
	}
	t.outConns--
	return true
}

func (t *Transport) dial(ifc *ifaceState, b *binding, ip netip.Addr) (*net.TCPConn, error) {
	// No TCP keepalives: the radar already watches the neighbour, and Go's
	// default (a probe every 15 s both ways) would cost more airtime than
	// the radar itself.
	d := net.Dialer{
		Timeout:   t.cfg.DialTimeout,
		KeepAlive: -1,
		Control: func(_, _ string, c syscall.RawConn) error {
			return controlDevice(c, ifc.name)
		},
	}
	// No zones: the socket is bound to the device before it binds and
	// connects, which scopes the link-local addresses; and a zone would
	// make the net package dump every link of the system to look it up.
	from := netip.AddrPortFrom(b.local, 0)
	to := netip.AddrPortFrom(ip, uint16(t.cfg.StreamPort))
	var conn *net.TCPConn
	err := t.inNetns(func() (err error) {
		// DialTCP, not DialContext: a string address would link Go's DNS resolver.
		conn, err = d.DialTCP(ifc.ctx, "tcp6", from, to)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("transport: connect to %v on %s: %w", ip, ifc.name, err)
	}
	return conn, nil
}

// readStream reads the packets of a connection the peer opened.
func (ifc *ifaceState) readStream(conn *net.TCPConn, p *peer) {
	t := ifc.t
	defer ifc.releaseConn(p)
	defer conn.Close()
	stop := context.AfterFunc(ifc.ctx, func() { conn.Close() })
	defer stop()
	r := bufio.NewReaderSize(conn, 1024) // frames bigger than this are read past it
	for {
		conn.SetReadDeadline(time.Now().Add(2 * t.cfg.IdleTimeout))
		pkt, err := readFrame(r, t.cfg.MaxPacket)
		switch {
		case errors.Is(err, errTooBig):
			t.stats.drop(dropTooBig, 1)
			continue
		case errors.Is(err, errMalformed):
			t.stats.drop(dropMalformed, 1)
			t.log.Debug("transport: closing stream", "iface", ifc.name, "peer", p.key.ip, "err", err)
			return
		case err != nil:
			return // EOF, idle timeout, closed
		}
		if !t.allow(p) {
			continue
		}
		// Wait rather than drop: TCP then pushes back on the sender, and
		// the stream stays reliable.
		select {
		case t.recv <- Packet{Iface: ifc.id, From: p.id, Data: pkt}:
			t.stats.received(pkt)
		case <-ifc.ctx.Done():
			return
		}
	}
}

var (
	errTooBig    = errors.New("frame larger than the limit")
	errMalformed = errors.New("malformed frame")
)

// frameGrowStep is the first allocation of a large frame: the buffer grows
// with the bytes that really arrive, so a header that promises a big
// payload costs nothing until the payload comes.
const frameGrowStep = 16 << 10

// readFrame reads one header-framed packet from a stream. A frame above
// limit is skipped (errTooBig, the stream stays usable); bad framing is
// errMalformed (the stream cannot be resynchronised). io.EOF means the
// stream ended cleanly between frames.
func readFrame(r io.Reader, limit int) ([]byte, error) {
	var hdr [wire.HeaderLen]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n, err := wire.PayloadLen(hdr[:])
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errMalformed, err)
	}
	total := wire.HeaderLen + n
	if total > limit {
		if _, err := io.CopyN(io.Discard, r, int64(n)); err != nil {
			return nil, io.ErrUnexpectedEOF
		}
		return nil, errTooBig
	}
	pkt := make([]byte, wire.HeaderLen, min(total, frameGrowStep))
	copy(pkt, hdr[:])
	for len(pkt) < total {
		if len(pkt) == cap(pkt) {
			pkt = slices.Grow(pkt, min(total-len(pkt), len(pkt)))
		}
		k, err := r.Read(pkt[len(pkt):min(cap(pkt), total)])
		pkt = pkt[:len(pkt)+k]
		if err != nil && len(pkt) < total {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
	return pkt, nil
}
