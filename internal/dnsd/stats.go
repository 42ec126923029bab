package dnsd

import "sync/atomic"

// Drop reasons: the keys of Stats.Dropped. A dropped request gets no
// response at all.
const (
	DropShort       = "short"        // shorter than a DNS header
	DropResponse    = "response"     // a response (QR set), never answered: no loops
	DropBusy        = "busy"         // a UDP query found MaxPending queries waiting
	DropTCPLimit    = "tcp_limit"    // a TCP connection over MaxTCPConns was closed
	DropTCPTimeout  = "tcp_timeout"  // a TCP client too slow to send or to read
	DropTCPBroken   = "tcp_broken"   // a TCP connection closed in the middle of a message
	DropWriteFailed = "write_failed" // the kernel refused our response
	DropClosed      = "closed"       // the server closed while the query waited
	DropTooBig      = "too_big"      // longer than MaxQuerySize
)

type dropReason uint8

const (
	dropNone dropReason = iota // not dropped
	dropShort
	dropResponse
	dropBusy
	dropTCPLimit
	dropTCPTimeout
	dropTCPBroken
	dropWriteFailed
	dropClosed
	dropTooBig
	numDropReasons
)

var dropNames = [numDropReasons]string{
	"", DropShort, DropResponse, DropBusy, DropTCPLimit, DropTCPTimeout,
	DropTCPBroken, DropWriteFailed, DropClosed, DropTooBig,
}

// Stats is a snapshot of what the server did. Every request is counted in
// Queries, and then either in Dropped or, once its response is sent, in
// Answered; the counts by outcome tell the responses apart.
type Stats struct {
	Queries  uint64 // requests received: UDP datagrams and TCP messages
	Answered uint64 // responses sent

	Local     uint64 // answered by us (mesh names, reverse zones, errors)
	Forwarded uint64 // upstream answers relayed
	NXDomain  uint64 // local NXDOMAIN
	NoData    uint64 // local NOERROR without answers
	Refused   uint64 // REFUSED: outside the suffix without upstream, or not class IN
	ServFail  uint64 // SERVFAIL: the Resolver failed or no upstream answered
	FormErr   uint64 // FORMERR: malformed query, several questions, bad EDNS
	NotImp    uint64 // NOTIMP: opcode other than QUERY
	BadVers   uint64 // BADVERS: EDNS version other than 0
	Truncated uint64 // sent with TC set, as the answer did not fit

	CacheHits      uint64 // answered from the cache
	ResolverCalls  uint64 // Resolve and Reverse calls
	ResolverErrors uint64 // calls that failed other than with ErrNotFound
	UpstreamErrors uint64 // exchanges with an upstream that failed

	Dropped map[string]uint64 // by reason, the Drop constants

	CacheEntries int // entries in the cache now
	TCPConns     int // TCP connections open now
}

// counters is the live, lock-free form of Stats' counters.
type counters struct {
	queries, answered                                        atomic.Uint64
	local, forwarded, nxdomain, nodata, refused, servfail    atomic.Uint64
	formerr, notimp, badvers, truncated                      atomic.Uint64
	cacheHits, resolverCalls, resolverErrors, upstreamErrors atomic.Uint64
	drops                                                    [numDropReasons]atomic.Uint64
}

func (c *counters) drop(r dropReason) { c.drops[r].Add(1) }

func (c *counters) snapshot() Stats {
	s := Stats{
		Queries: c.queries.Load(), Answered: c.answered.Load(),
		Local: c.local.Load(), Forwarded: c.forwarded.Load(),
		NXDomain: c.nxdomain.Load(), NoData: c.nodata.Load(),
		Refused: c.refused.Load(), ServFail: c.servfail.Load(),
		FormErr: c.formerr.Load(), NotImp: c.notimp.Load(),
		BadVers: c.badvers.Load(), Truncated: c.truncated.Load(),
		CacheHits: c.cacheHits.Load(), ResolverCalls: c.resolverCalls.Load(),
		ResolverErrors: c.resolverErrors.Load(), UpstreamErrors: c.upstreamErrors.Load(),
		Dropped: make(map[string]uint64),
	}
	for r := dropShort; r < numDropReasons; r++ {
		if n := c.drops[r].Load(); n > 0 {
			s.Dropped[dropNames[r]] = n
		}
	}
	return s
}
