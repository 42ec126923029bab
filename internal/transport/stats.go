package transport

import (
	"sync/atomic"

	"github.com/ntkd/ntkd/internal/wire"
)

// Drop reasons: the keys of Stats.Dropped.
const (
	DropRateLimited   = "rate_limited"    // the source's token bucket was empty
	DropTooBig        = "too_big"         // above Config.MaxPacket (received or sent)
	DropMalformed     = "malformed"       // bad framing; on a stream the connection is closed
	DropQueueFull     = "queue_full"      // the outgoing stream's queue was full
	DropRecvQueueFull = "recv_queue_full" // a datagram found the Recv channel full
	DropUnknownPeer   = "unknown_peer"    // Send to a PeerID we do not know on that interface
	DropUnknownIface  = "unknown_iface"   // Send on an interface never added or removed
	DropIfaceNotReady = "iface_not_ready" // Send before the interface's address could be bound
	DropDialFailed    = "dial_failed"     // queued packets lost because the connect failed
	DropWriteFailed   = "write_failed"    // queued packets lost because the stream broke
	DropSendFailed    = "send_failed"     // the kernel refused a datagram
	DropTooManyConns  = "too_many_conns"  // a connection whose first valid frame found the limits full was closed
	DropNotLinkLocal  = "not_link_local"  // a source that is not fe80::/10
	DropPeerTableFull = "peer_table_full" // a new source while every peer has streams open
	DropOwnPacket     = "own_packet"      // our own packet came back
	DropForeignIface  = "foreign_iface"   // arrived on an interface not added, not bound yet, or removed
	// DropUnauthenticated: a packet without the network key's trailer on
	// a closed mesh, or with one on an open mesh (the sender is not in
	// this mesh's mode); on a stream the connection is closed.
	DropUnauthenticated = "unauthenticated"
	// DropBadTag: a packet whose trailer no accepted network key gives (a
	// foreign key, a key change not yet made here, tampering, a replay
	// into another connection); on a stream the connection is closed.
	DropBadTag = "bad_tag"
	// DropSilentConn: an accepted connection that sent no valid frame
	// within Config.FreshTimeout was closed.
	DropSilentConn = "silent_conn"
	// DropFreshEvicted: an accepted connection without a valid frame yet
	// was closed to let a newer one in (Config.MaxFreshConns).
	DropFreshEvicted = "fresh_evicted"
	// DropConnEvicted: a connection that had sent valid frames was closed
	// to make room for a new one: its interface was above its share of
	// MaxConns and another needed its own, its source was at
	// MaxConnsPerSource and connected again, or it had been silent for
	// longer than IdleTimeout.
	DropConnEvicted = "conn_evicted"
)

type dropReason uint8

const (
	dropRateLimited dropReason = iota
	dropTooBig
	dropMalformed
	dropQueueFull
	dropRecvQueueFull
	dropUnknownPeer
	dropUnknownIface
	dropIfaceNotReady
	dropDialFailed
	dropWriteFailed
	dropSendFailed
	dropTooManyConns
	dropNotLinkLocal
	dropPeerTableFull
	dropOwnPacket
	dropForeignIface
	dropUnauthenticated
	dropBadTag
	dropSilentConn
	dropFreshEvicted
	dropConnEvicted
	numDropReasons
)

var dropNames = [numDropReasons]string{
	DropRateLimited, DropTooBig, DropMalformed, DropQueueFull, DropRecvQueueFull,
	DropUnknownPeer, DropUnknownIface, DropIfaceNotReady, DropDialFailed,
	DropWriteFailed, DropSendFailed, DropTooManyConns, DropNotLinkLocal,
	DropPeerTableFull, DropOwnPacket, DropForeignIface, DropUnauthenticated,
	DropBadTag, DropSilentConn, DropFreshEvicted, DropConnEvicted,
}

// Counters count packets and bytes (header included) by wire op; the
// network key's trailer is not counted.
type Counters struct {
	Packets [256]uint64
	Bytes   [256]uint64
}

// Stats is a snapshot of what the transport did.
type Stats struct {
	Sent     Counters // written to a socket
	Received Counters // handed to Recv
	Dropped  map[string]uint64
	// Peers is the size of the peer table, InStreams the accepted
	// connections open, FreshStreams those of them without a valid frame
	// yet, OutStreams the outgoing streams (connected or dialling).
	Peers, InStreams, FreshStreams, OutStreams int
}

// counters is the live, lock-free form of Stats' counters.
type counters struct {
	sentPackets, sentBytes [256]atomic.Uint64
	recvPackets, recvBytes [256]atomic.Uint64
	drops                  [numDropReasons]atomic.Uint64
}

func (c *counters) sent(pkt []byte) {
	op := opOf(pkt)
	c.sentPackets[op].Add(1)
	c.sentBytes[op].Add(uint64(len(pkt)))
}

func (c *counters) received(pkt []byte) {
	op := opOf(pkt)
	c.recvPackets[op].Add(1)
	c.recvBytes[op].Add(uint64(len(pkt)))
}

func (c *counters) drop(r dropReason, n int) { c.drops[r].Add(uint64(n)) }

func (c *counters) snapshot() Stats {
	var s Stats
	for i := range 256 {
		s.Sent.Packets[i] = c.sentPackets[i].Load()
		s.Sent.Bytes[i] = c.sentBytes[i].Load()
		s.Received.Packets[i] = c.recvPackets[i].Load()
		s.Received.Bytes[i] = c.recvBytes[i].Load()
	}
	s.Dropped = make(map[string]uint64)
	for r := range numDropReasons {
		if n := c.drops[r].Load(); n > 0 {
			s.Dropped[dropNames[r]] = n
		}
	}
	return s
}

// opOf is the op byte of a framed packet (checkFrame has passed).
func opOf(pkt []byte) wire.Op {
	if len(pkt) < wire.HeaderLen {
		return 0
	}
	return wire.Op(pkt[3])
}
