package transport

import (
	"net"
	"net/netip"
	"slices"
	"time"
)

// Accepted connections, and why a stranger cannot keep them all.
//
// A connection a neighbour opens to us is fresh until its first valid
// frame (framing, and the network key's tag on a closed mesh), then
// proven. Anyone on the link can open connections from any link-local
// address; only a neighbour of the mesh can prove them (on a closed mesh),
// and an honest dialer sends its first frame right after connecting.
//
//   - Fresh connections have a small pool of their own
//     (Config.MaxFreshConns) and Config.FreshTimeout to send their first
//     frame, or they are closed (silent_conn). When the pool is full a new
//     connection is let in and an older fresh one closed
//     (fresh_evicted): silent connections cannot hold the door.
//   - Only proven connections count against MaxConnsPerSource and
//     MaxConns. A connection that proves itself when they are full is
//     closed (too_many_conns), unless one of the rules below makes room
//     (conn_evicted).
//   - Each bound interface is sure of an even share of MaxConns: an
//     interface may use more while the others do not need theirs, and
//     gives back its least active connection when one of them does. A
//     neighbour on one link cannot take the slots of the others.
//   - A source at its own limit loses its least active connection to its
//     newest one: the newest is the one its writer uses, the others are
//     leftovers (a restart, a lost FIN).
//   - An interface at its share loses to a newly proven connection a
//     connection silent for longer than IdleTimeout (an honest dialer
//     closes its stream by then).
//
// No goroutine or timer of its own: the reader's deadline closes a silent
// connection, and evicting one closes its socket, which ends its reader.

// connState is where an accepted connection is counted.
type connState uint8

const (
	connFresh  connState = iota // in Transport.fresh: no valid frame yet
	connProven                  // in its interface's conns: counts against the limits
	connGone                    // released or evicted: counted nowhere
)

// inConn is a connection a peer opened to us. conn, ifc, src, since and
// known never change; the rest is guarded by Transport.mu.
type inConn struct {
	conn  *net.TCPConn
	ifc   *ifaceState
	src   netip.Addr
	since time.Time // when it was accepted
	known bool      // its source was in the peer table then

	state connState
	p     *peer     // its peer, once proven (fresh connections take no place in the peer table)
	last  time.Time // its last valid frame, once proven
}

// admitConn takes an accepted connection in as fresh, if it comes from a
// link-local address on a bound interface, and starts its reader as a
// goroutine of the interface. It closes the fresh connection it evicts.
func (t *Transport) admitConn(conn *net.TCPConn) bool {
	// The peer's scope is the interface the connection came in on: the
	// kernel binds an accepted link-local connection to it.
	src, index, err := peerOf(conn)
	if err != nil {
		return false // already reset
	}
	now := time.Now()
	t.mu.Lock()
	ifc := t.origin(index, src)
	if ifc == nil {
		t.mu.Unlock()
		return false
	}
	ic := &inConn{conn: conn, ifc: ifc, src: src, since: now, known: t.peers.byKey[peerKey{ifc.id, src}] != nil}
	victim := t.addFresh(ic)
	ifc.spawn(func() { ifc.readStream(ic) })
	t.mu.Unlock()
	victim.close()
	return true
}

// addFresh puts ic in the pool of fresh connections, evicting one if the
// pool is full, and returns the evicted one to close. t.mu held.
func (t *Transport) addFresh(ic *inConn) *inConn {
	var victim *inConn
	if len(t.fresh) >= t.cfg.MaxFreshConns {
		victim = t.freshVictim()
		t.unlink(victim)
		t.stats.drop(dropFreshEvicted, 1)
	}
	ic.state = connFresh
	t.fresh = append(t.fresh, ic)
	ic.ifc.fresh++
	return victim
}

// freshVictim is the fresh connection to close for a new one: on the
// interface with the most fresh connections (a flood on one link evicts
// its own), preferably from a source the peer table does not know (a
// neighbour has sent us datagrams, on a closed mesh with the network
// key's tag, before it opens a stream), the oldest. t.mu held; the pool
// is not empty.
func (t *Transport) freshVictim() *inConn {
	var v *inConn
	for _, c := range t.fresh { // oldest first: a tie keeps the older
		if v == nil || c.ifc.fresh > v.ifc.fresh || (c.ifc.fresh == v.ifc.fresh && v.known && !c.known) {
			v = c
		}
	}
	return v
}

// prove turns fresh ic into a proven connection of peer (ic.ifc, ic.src),
// making room if the rules allow it. It returns false, having counted why,
// when ic must be closed instead; and the connection evicted for it, to
// be closed after t.mu is released. t.mu held.
func (t *Transport) prove(ic *inConn, now time.Time) (*inConn, bool) {
	ifc := ic.ifc
	if ic.state != connFresh || ifc.ctx.Err() != nil {
		return nil, false // evicted meanwhile, or its interface removed
	}
	p := t.peers.get(peerKey{ifc.id, ic.src}, now)
	if p == nil {
		t.stats.drop(dropPeerTableFull, 1)
		return nil, false
	}
	var victim *inConn
	switch {
	case p.inConns >= t.cfg.MaxConnsPerSource:
		victim = leastActive(ifc.conns, p) // one of p's: they are all on ifc
	case t.inConns < t.cfg.MaxConns:
	case len(ifc.conns) < t.share():
		victim = t.overShare()
	default:
		if v := leastActive(ifc.conns, nil); v != nil && now.Sub(v.last) > t.cfg.IdleTimeout {
			victim = v
		}
	}
	if victim == nil && (p.inConns >= t.cfg.MaxConnsPerSource || t.inConns >= t.cfg.MaxConns) {
		t.stats.drop(dropTooManyConns, 1)
		return nil, false
	}
	if victim != nil {
		t.unlink(victim)
		t.stats.drop(dropConnEvicted, 1)
	}
	t.unlink(ic)
	ic.state, ic.p, ic.last = connProven, p, now
	ifc.conns = append(ifc.conns, ic)
	p.inConns++
	t.inConns++
	return victim, true
}

// share is the number of proven connections each bound interface is sure
// to get: MaxConns split evenly. t.mu held.
func (t *Transport) share() int {
	return max(1, t.cfg.MaxConns/max(1, len(t.byIndex)))
}

// overShare picks the least active connection of the bound interface
// furthest above its share, nil if none is above. t.mu held.
func (t *Transport) overShare() *inConn {
	share := t.share()
	var from *ifaceState
	for _, ifc := range t.byIndex {
		if len(ifc.conns) > share && (from == nil || len(ifc.conns) > len(from.conns)) {
			from = ifc
		}
	}
	if from == nil {
		return nil
	}
	return leastActive(from.conns, nil)
}

// leastActive is the connection among conns (of peer p only, unless p is
// nil) whose last frame is the oldest.
func leastActive(conns []*inConn, p *peer) *inConn {
	var v *inConn
	for _, c := range conns {
		if (p == nil || c.p == p) && (v == nil || c.last.Before(v.last)) {
			v = c
		}
	}
	return v
}

// unlink takes ic out of the counts and lists it is in. Idempotent. t.mu
// held.
func (t *Transport) unlink(ic *inConn) {
	switch ic.state {
	case connFresh:
		t.fresh = without(t.fresh, ic)
		ic.ifc.fresh--
	case connProven:
		ic.ifc.conns = without(ic.ifc.conns, ic)
		ic.p.inConns--
		t.inConns--
	}
	ic.state = connGone
}

// without removes c from s, keeping the order.
func without(s []*inConn, c *inConn) []*inConn {
	if i := slices.Index(s, c); i >= 0 {
		return slices.Delete(s, i, i+1)
	}
	return s
}

// releaseConn is the end of ic's reader.
func (t *Transport) releaseConn(ic *inConn) {
	t.mu.Lock()
	t.unlink(ic)
	t.mu.Unlock()
}

// provenFrame proves fresh ic by its first valid frame, closing what it
// evicts; false means ic must be closed.
func (t *Transport) provenFrame(ic *inConn) bool {
	now := time.Now()
	t.mu.Lock()
	victim, ok := t.prove(ic, now)
	t.mu.Unlock()
	victim.close()
	return ok
}

// allowConn notes a valid frame on proven ic and takes a token from its
// peer's bucket.
func (t *Transport) allowConn(ic *inConn) bool {
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	ic.last = now
	if !ic.p.allow(now, t.cfg.PerSourceRate, t.cfg.PerSourceBurst) {
		t.stats.drop(dropRateLimited, 1)
		return false
	}
	return true
}

// close closes ic's socket, which ends its reader; nil does nothing.
func (ic *inConn) close() {
	if ic != nil && ic.conn != nil {
		ic.conn.Close()
	}
}
