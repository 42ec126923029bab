package transport

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"slices"
	"syscall"
	"time"

	"github.com/ntkd/ntkd/internal/wire"
)

// outStream is our stream to one peer: its queue and, once dialled, its
// connection. A writer goroutine runs only while packets wait: most streams
// idle most of the time, and an idle goroutine would cost a stack per
// neighbour. Guarded by Transport.mu.
type outStream struct {
	q       [][]byte     // waiting packets, at most Config.QueueLen
	q0      [4][]byte    // q's first array: a stream mostly carries a packet or two at a time
	writing bool         // a writer goroutine runs
	ended   bool         // unlinked from its peer; conn is closed or being closed
	conn    *net.TCPConn // nil until dialled
	idle    *time.Timer  // ends the stream after IdleTimeout without packets

	// The network key's state of conn, used by the writer alone: whether
	// it was made on a closed mesh, the challenge its acceptor sent, the
	// number of the next frame.
	authed bool
	chal   [challengeLen]byte
	seq    uint64
}

// maxBatch bounds the packets written with one writev.
const maxBatch = 64

// enqueue queues pkt on p's stream, starting its writer if none runs. t.mu held.
func (t *Transport) enqueue(ifc *ifaceState, p *peer, pkt []byte) error {
	s := p.out
	if s == nil {
		s = &outStream{}
		s.q = s.q0[:0]
		p.out = s
		t.outConns++
	}
	if len(s.q) >= t.cfg.QueueLen {
		t.stats.drop(dropQueueFull, 1)
		return fmt.Errorf("transport: stream to %v on %s: queue full", p.key.ip, ifc.name)
	}
	s.q = append(s.q, pkt)
	if !s.writing {
		s.writing = true
		b := ifc.b
		ifc.spawn(func() { t.writeStream(ifc, b, p, s) })
	}
	return nil
}

// writeStream writes s's queue, dialling p first if needed, and returns once
// the queue is empty, leaving the connection open for IdleTimeout. The first
// dial or write error ends the stream and drops what it held: the next Send
// starts a new one and so reconnects.
func (t *Transport) writeStream(ifc *ifaceState, b *binding, p *peer, s *outStream) {
	for {
		t.mu.Lock()
		if s.ended {
			t.mu.Unlock()
			return // the interface went away or the transport closed
		}
		n := min(len(s.q), maxBatch)
		if n == 0 {
			s.writing = false
			// No batch is in hand: the queue starts again at the front of
			// its first array, and a bigger one grown by a burst goes.
			s.q = s.q0[:0]
			t.armIdle(p, s)
			t.mu.Unlock()
			return
		}
		// The batch keeps the front of the queue's array; appends go
		// behind it, so it needs no copy.
		batch := s.q[:n:n]
		s.q = s.q[n:]
		conn := s.conn
		t.mu.Unlock()

		ks := t.keySet()
		if conn != nil && (peerClosed(conn) || s.authed != (ks != nil)) {
			// The peer restarted or dropped us: writing would only lose
			// the batch, so connect again first. Also when the network
			// key was turned on or off since the connection was made.
			t.mu.Lock()
			s.conn = nil
			t.mu.Unlock()
			conn.Close()
			conn = nil
		}
		if conn == nil {
			c, err := t.dial(ifc, b, p.key.ip)
			if err != nil {
				t.log.Debug("transport: stream connect failed", "iface", ifc.name, "peer", p.key.ip, "err", err)
				t.failStream(p, s, dropDialFailed, len(batch))
				return
			}
			s.authed, s.seq = ks != nil, 0
			if ks != nil {
				if err := readChallenge(c, s.chal[:], t.cfg.DialTimeout); err != nil {
					c.Close()
					t.log.Debug("transport: no stream challenge (is the peer's mesh open?)", "iface", ifc.name, "peer", p.key.ip, "err", err)
					t.failStream(p, s, dropDialFailed, len(batch))
					return
				}
			}
			t.mu.Lock()
			ended := s.ended
			if !ended {
				s.conn = c
			}
			t.mu.Unlock()
			if ended {
				c.Close()
				return
			}
			conn = c
		}
		conn.SetWriteDeadline(time.Now().Add(t.cfg.WriteTimeout))
		out := batch
		if ks != nil {
			out = make([][]byte, len(batch))
			for i, pkt := range batch {
				out[i] = ks.seal(pkt, &authCtx{domain: domainStream, src: b.local, challenge: s.chal[:], seq: s.seq})
				s.seq++
			}
		}
		var err error
		if len(out) == 1 {
			_, err = conn.Write(out[0]) // the common case: no writev, no copy of the batch
		} else {
			bufs := net.Buffers(slices.Clone(out)) // WriteTo consumes its slices
			_, err = bufs.WriteTo(conn)
		}
		if err != nil {
			t.log.Debug("transport: stream write failed", "iface", ifc.name, "peer", p.key.ip, "err", err)
			t.failStream(p, s, dropWriteFailed, len(batch))
			return
		}
		for _, pkt := range batch {
			t.stats.sent(pkt)
		}
		clear(batch) // let the packets go
	}
}

// armIdle (re)starts the timer that ends an idle stream. t.mu held.
func (t *Transport) armIdle(p *peer, s *outStream) {
	if s.idle == nil {
		s.idle = time.AfterFunc(t.cfg.IdleTimeout, func() { t.endIdle(p, s) })
		return
	}
	s.idle.Reset(t.cfg.IdleTimeout)
}

// endIdle ends s unless packets arrived meanwhile.
func (t *Transport) endIdle(p *peer, s *outStream) {
	t.mu.Lock()
	if s.writing || s.ended {
		t.mu.Unlock()
		return
	}
	conn, _ := t.endStream(p, s)
	t.mu.Unlock()
	closeConn(conn)
}

// failStream ends s after a dial or write error and counts the lost packets
// (the batch in hand and the queue) under reason, unless the stream had
// already been ended by the interface going away or by Close.
func (t *Transport) failStream(p *peer, s *outStream, reason dropReason, inHand int) {
	t.mu.Lock()
	already := s.ended
	conn, queued := t.endStream(p, s)
	t.mu.Unlock()
	closeConn(conn)
	if !already {
		t.stats.drop(reason, inHand+queued)
	}
}

// endStream unlinks s from p so that the next Send starts a new stream, and
// empties it. It returns the connection to close (after t.mu is released)
// and how many packets were still queued. Idempotent. t.mu held.
func (t *Transport) endStream(p *peer, s *outStream) (*net.TCPConn, int) {
	if s.ended {
		return nil, 0
	}
	s.ended = true
	if p.out == s {
		p.out = nil
	}
	t.outConns--
	queued := len(s.q)
	s.q = nil
	if s.idle != nil {
		s.idle.Stop()
	}
	conn := s.conn
	s.conn = nil
	return conn, queued
}

// endStreams ends the streams of the peers that match and returns their
// connections to close after t.mu is released. t.mu held.
func (t *Transport) endStreams(match func(*peer) bool) []*net.TCPConn {
	var conns []*net.TCPConn
	for _, p := range t.peers.byKey {
		if p.out != nil && match(p) {
			if c, _ := t.endStream(p, p.out); c != nil {
				conns = append(conns, c)
			}
		}
	}
	return conns
}

func closeConn(c *net.TCPConn) {
	if c != nil {
		c.Close()
	}
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

// readStream reads the packets of a connection a peer opened. Its first
// valid frame, due within FreshTimeout of the accept, proves it (conns.go).
func (ifc *ifaceState) readStream(ic *inConn) {
	t := ifc.t
	conn := ic.conn
	defer t.releaseConn(ic)
	defer conn.Close()
	stop := context.AfterFunc(ifc.ctx, func() { conn.Close() })
	defer stop()
	r := bufio.NewReaderSize(conn, 1024) // frames bigger than this are read past it
	hdr := new([wire.HeaderLen]byte)     // one for the stream, not one per frame
	// On a closed mesh the connection starts with our challenge, which
	// the tag of every frame covers, with the frame's number.
	ks := t.keySet()
	actx := authCtx{domain: domainStream, src: ic.src}
	if ks != nil {
		var chal [challengeLen]byte
		rand.Read(chal[:])
		conn.SetWriteDeadline(time.Now().Add(t.cfg.WriteTimeout))
		if _, err := conn.Write(chal[:]); err != nil {
			return
		}
		actx.challenge = chal[:]
	}
	fresh := true
	conn.SetReadDeadline(ic.since.Add(t.cfg.FreshTimeout)) // for the whole first frame
	for {
		if !fresh {
			conn.SetReadDeadline(time.Now().Add(2 * t.cfg.IdleTimeout))
		}
		pkt, err := readFrame(r, hdr, t.cfg.MaxPacket+ks.trailer())
		switch {
		case errors.Is(err, errTooBig):
			t.stats.drop(dropTooBig, 1)
			actx.seq++
			continue
		case errors.Is(err, errMalformed):
			t.stats.drop(dropMalformed, 1)
			t.log.Debug("transport: closing stream", "iface", ifc.name, "peer", ic.src, "err", err)
			return
		case err != nil:
			if fresh && errors.Is(err, os.ErrDeadlineExceeded) {
				t.stats.drop(dropSilentConn, 1)
			}
			return // EOF, idle timeout, closed (or evicted)
		}
		// The mode of the connection, not of the moment: a key turned on
		// or off since it was accepted closes it, and the peer connects
		// again.
		if now := t.keySet(); (now == nil) != (ks == nil) {
			return
		} else if ks != nil {
			ks = now // a key change (rotation) applies at once
		}
		pkt, why, ok := ks.open(pkt, &actx)
		actx.seq++
		if !ok {
			t.stats.drop(why, 1)
			t.log.Debug("transport: closing stream: network key", "iface", ifc.name, "peer", ic.src, "drop", dropNames[why])
			return
		}
		if fresh {
			if !t.provenFrame(ic) {
				return
			}
			fresh = false
		}
		if !t.allowConn(ic) {
			continue
		}
		// Wait rather than drop: TCP then pushes back on the sender, and
		// the stream stays reliable.
		select {
		case t.recv <- Packet{Iface: ifc.id, From: ic.p.id, Data: pkt}:
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
// stream ended cleanly between frames. hdr is scratch for the header (a
// local array would escape through r, an allocation per frame).
func readFrame(r io.Reader, hdr *[wire.HeaderLen]byte, limit int) ([]byte, error) {
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

// readChallenge reads the challenge the acceptor of a stream sends first
// on a closed mesh.
func readChallenge(c *net.TCPConn, chal []byte, timeout time.Duration) error {
	c.SetReadDeadline(time.Now().Add(timeout))
	_, err := io.ReadFull(c, chal)
	c.SetReadDeadline(time.Time{})
	return err
}
