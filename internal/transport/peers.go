package transport

import (
	"container/list"
	"net/netip"
	"time"

	"github.com/ntkd/ntkd/internal/radar"
)

// peerKey is a neighbour as the kernel shows it: our interface and its
// link-local address (no zone: the interface is the scope).
type peerKey struct {
	iface int
	ip    netip.Addr
}

type peer struct {
	id  radar.PeerID
	key peerKey

	// Token bucket over everything the peer sends us.
	tokens   float64
	refilled time.Time

	inConns int        // proven accepted connections open (conns.go)
	out     *outStream // our stream to it, nil until a reliable send
	elem    *list.Element
}

// pinned peers have connections that refer to them: they are never evicted.
func (p *peer) pinned() bool { return p.inConns > 0 || p.out != nil }

// allow takes a token from the peer's bucket.
func (p *peer) allow(now time.Time, rate, burst float64) bool {
	if el := now.Sub(p.refilled).Seconds(); el > 0 {
		p.tokens = min(burst, p.tokens+el*rate)
		p.refilled = now
	}
	if p.tokens < 1 {
		return false
	}
	p.tokens--
	return true
}

// peerTable assigns PeerIDs. It is bounded: when full, the least recently
// used unpinned peer makes room. Evicted ids are never reused, so a stale id
// in the node's hands can only miss, never reach someone else. Guarded by
// Transport.mu.
type peerTable struct {
	max   int
	burst float64
	last  radar.PeerID // ids start at 1: 0 is radar.Broadcast
	byKey map[peerKey]*peer
	byID  map[radar.PeerID]*peer
	lru   list.List // of *peer, most recently used first
}

func newPeerTable(max int, burst float64) *peerTable {
	return &peerTable{max: max, burst: burst, byKey: make(map[peerKey]*peer), byID: make(map[radar.PeerID]*peer)}
}

// get returns the peer of k, creating it if needed, and marks it used. It
// returns nil when the table is full of pinned peers.
func (pt *peerTable) get(k peerKey, now time.Time) *peer {
	if p := pt.byKey[k]; p != nil {
		pt.lru.MoveToFront(p.elem)
		return p
	}
	if len(pt.byKey) >= pt.max && !pt.evictOne() {
		return nil
	}
	pt.last++
	p := &peer{id: pt.last, key: k, tokens: pt.burst, refilled: now}
	p.elem = pt.lru.PushFront(p)
	pt.byKey[k] = p
	pt.byID[p.id] = p
	return p
}

// touch marks p used (we sent to it).
func (pt *peerTable) touch(p *peer) { pt.lru.MoveToFront(p.elem) }

func (pt *peerTable) evictOne() bool {
	for e := pt.lru.Back(); e != nil; e = e.Prev() {
		p := e.Value.(*peer)
		if p.pinned() {
			continue
		}
		pt.lru.Remove(e)
		delete(pt.byKey, p.key)
		delete(pt.byID, p.id)
		return true
	}
	return false
}
