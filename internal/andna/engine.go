package andna

import (
	"net/netip"
	"time"

	"github.com/ntkd/ntkd/internal/reqlimit"
	"github.com/ntkd/ntkd/internal/wire"
)

// pending is a request waiting for its answer.
type pending struct {
	out       Out
	deadline  time.Duration
	tries     int
	onReply   func(src netip.Addr, p wire.Payload)
	onTimeout func()
}

// request sends o and calls onReply with the answer (an ACK, a NACK or the
// op's reply) or onTimeout when every try went unanswered.
func (e *Engine) request(o Out, onReply func(netip.Addr, wire.Payload), onTimeout func()) {
	if len(e.pending) >= e.cfg.MaxPending {
		e.Stats.drop("too many requests pending")
		onTimeout()
		return
	}
	e.nextID++
	if e.nextID == 0 {
		e.nextID = 1
	}
	o.ID = e.nextID
	e.pending[o.ID] = &pending{out: o, deadline: e.now + e.cfg.RequestTimeout, onReply: onReply, onTimeout: onTimeout}
	e.send(o)
}

// reply answers a request that came from src with id.
func (e *Engine) reply(src netip.Addr, id uint32, p wire.Payload) {
	e.send(Out{Dst: src, ID: id, P: p})
}

func (e *Engine) nack(src netip.Addr, id uint32, code wire.Code, reason string) {
	e.reply(src, id, &wire.Nack{Code: code, Reason: reason})
}

// NextWakeup is when Tick must run next.
func (e *Engine) NextWakeup() time.Duration {
	next := time.Duration(1<<63 - 1)
	for _, p := range e.pending {
		next = min(next, p.deadline)
	}
	if e.addr.IsValid() {
		for _, o := range e.own {
			next = min(next, o.due)
		}
	}
	if len(e.db) > 0 || len(e.counters) > 0 || len(e.resolved) > 0 || len(e.seen) > 0 {
		next = min(next, e.sweepAt)
	}
	return next
}

// Tick runs what is due at now: retries, timeouts, registrations and
// updates of our names, and the expiry of what we keep.
func (e *Engine) Tick(now time.Duration) {
	e.now = now
	for id, p := range e.pending {
		if p.deadline > now {
			continue
		}
		if p.tries < e.cfg.Retries {
			p.tries++
			p.deadline = now + e.cfg.RequestTimeout
			e.send(p.out)
			continue
		}
		delete(e.pending, id)
		e.Stats.Timeouts++
		p.onTimeout()
	}
	if e.addr.IsValid() {
		for _, o := range e.own {
			if o.due <= now {
				e.registerName(o)
			}
		}
	}
	if now >= e.sweepAt {
		e.sweep()
		e.sweepAt = now + min(e.cfg.Hibernation/64, time.Minute)
	}
}

// Handle takes an ANDNA packet (or the ACK/NACK answering one of ours)
// that reached this node from src. level is the wire.Routed level it was
// addressed to.
func (e *Engine) Handle(now time.Duration, src netip.Addr, id uint32, p wire.Payload, how Delivery, level uint8) {
	e.now = now
	if !e.requests.Allow(now, src, uint8(p.Op())) {
		e.Stats.drop("request over its rate")
		return
	}
	switch p := p.(type) {
	case *wire.Register:
		e.onRegister(src, id, p, how)
	case *wire.CheckCounter:
		e.onCheckCounter(src, id, p, how)
	case *wire.Resolve:
		e.onResolve(src, id, p, level)
	case *wire.GetQueue:
		e.onGetQueue(src, id, p)
	case *wire.GetCache:
		e.onGetCache(src, id)
	case *wire.Empty:
		if p.Kind == wire.OpAndnaReverse {
			e.onReverse(src, id)
			return
		}
		e.answer(src, id, p)
	case *wire.Nack, *wire.CounterReply, *wire.ResolveReply, *wire.ReverseReply, *wire.PutCache, *wire.PutQueue:
		e.answer(src, id, p)
	default:
		e.Stats.drop("not an ANDNA packet")
	}
}

// requestLimits are the C daemon's (request.c): per source, at most Max
// of each request every Wait; the counter checks between gnodes are not
// limited there either.
var requestLimits = map[uint8]reqlimit.Limit{
	uint8(wire.OpAndnaRegister): {Max: 30, Wait: 5 * time.Second},
	uint8(wire.OpAndnaResolve):  {Max: 80, Wait: 2 * time.Second},
	uint8(wire.OpAndnaReverse):  {Max: 40, Wait: 5 * time.Second},
	uint8(wire.OpAndnaGetCache): {Max: 5, Wait: 10 * time.Second},
	uint8(wire.OpAndnaGetQueue): {Max: 10, Wait: 10 * time.Second},
}

// answer hands a reply to the request it answers.
func (e *Engine) answer(src netip.Addr, id uint32, p wire.Payload) {
	pd, ok := e.pending[id]
	if !ok {
		e.Stats.drop("answer to no request")
		return
	}
	delete(e.pending, id)
	pd.onReply(src, p)
}

// nextToken numbers the answers the daemon waits for.
func (e *Engine) nextToken() uint64 {
	e.token++
	return e.token
}
