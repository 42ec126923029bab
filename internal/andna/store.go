package andna

import (
	"net/netip"
	"slices"
	"time"

	"github.com/ntkd/ntkd/internal/wire"
)

// entry is one key's claim on a name.
type entry struct {
	pub     [wire.PubKeySize]byte
	addr    netip.Addr
	counter uint32
	updated time.Duration // when it was registered or last updated
	expires time.Duration
}

// record is what a hash gnode (or a backup gnode) keeps for one name: the
// queue of claims, the owner first (seed §7.1.7).
type record struct {
	name   string // empty when it came by cache transfer, which carries hashes only
	queue  []entry
	backup bool // kept as a backup gnode
}

// head is the current owner: the first claim not expired.
func (r *record) head(now time.Duration) (entry, int, bool) {
	for i, q := range r.queue {
		if q.expires > now {
			return q, i, true
		}
	}
	return entry{}, -1, false
}

// find returns the index of pub's claim.
func (r *record) find(pub [wire.PubKeySize]byte) int {
	for i := range r.queue {
		if r.queue[i].pub == pub {
			return i
		}
	}
	return -1
}

// expire drops claims whose time ran out; the next in the queue becomes
// the owner by itself.
func (r *record) expire(now time.Duration) {
	r.queue = slices.DeleteFunc(r.queue, func(x entry) bool { return x.expires <= now })
}

// keyCount is what a counter gnode keeps for one key: the names it holds,
// each alive until the checks stop coming (seed §7.1.3). A slice, not a
// map: most keys hold one or two names, and a map costs hundreds of bytes.
type keyCount struct {
	names []countedName
}

type countedName struct {
	hash    [32]byte
	expires time.Duration
}

func (k *keyCount) live(now time.Duration) int {
	n := 0
	for _, c := range k.names {
		if c.expires > now {
			n++
		}
	}
	return n
}

// find returns the index of the name h, or -1.
func (k *keyCount) find(h [32]byte) int {
	for i := range k.names {
		if k.names[i].hash == h {
			return i
		}
	}
	return -1
}

// set counts h until expires.
func (k *keyCount) set(h [32]byte, expires time.Duration) {
	if i := k.find(h); i >= 0 {
		k.names[i].expires = expires
		return
	}
	k.names = append(k.names, countedName{h, expires})
}

// expire forgets names whose checks stopped.
func (k *keyCount) expire(now time.Duration) {
	k.names = slices.DeleteFunc(k.names, func(c countedName) bool { return c.expires <= now })
}

// resolvedEntry is a cached answer; it expires with the registration
// (seed §7.8.1).
type resolvedEntry struct {
	addr    netip.Addr
	expires time.Duration
}

// seenKey names a spread packet, so each member passes it on once.
type seenKey struct {
	op   wire.Op
	hash [32]byte
	pub  [wire.PubKeySize]byte
	ctr  uint32
}

// sweep forgets everything that expired. Lookups check expiry themselves;
// this only returns the memory.
func (e *Engine) sweep() {
	now := e.now
	for h, r := range e.db {
		r.expire(now)
		if len(r.queue) == 0 {
			delete(e.db, h)
		}
	}
	for k, c := range e.counters {
		c.expire(now)
		if len(c.names) == 0 {
			delete(e.counters, k)
		}
	}
	for n, r := range e.resolved {
		if r.expires <= now {
			delete(e.resolved, n)
		}
	}
	for k, exp := range e.seen {
		if exp <= now {
			delete(e.seen, k)
		}
	}
}

// cacheResolved remembers an answer, evicting the entry that expires first
// when the cache is full.
func (e *Engine) cacheResolved(name string, a netip.Addr, ttl time.Duration) {
	if ttl <= 0 {
		return
	}
	if _, ok := e.resolved[name]; !ok && len(e.resolved) >= e.cfg.MaxResolved {
		var victim string
		first := time.Duration(1<<63 - 1)
		for n, r := range e.resolved {
			if r.expires < first {
				victim, first = n, r.expires
			}
		}
		delete(e.resolved, victim)
	}
	e.resolved[name] = resolvedEntry{addr: a, expires: e.now + ttl}
}

// Record is a registration as `ntkd ctl andna cache` shows it.
type Record struct {
	Name     string // empty when only the hash is known
	Hash     [32]byte
	Owner    netip.Addr
	Queue    int // claims waiting behind the owner
	Counter  uint32
	Backup   bool
	ExpireIn time.Duration
}

// Records lists the registrations this node keeps for others.
func (e *Engine) Records() []Record {
	var out []Record
	for h, r := range e.db {
		q, i, ok := r.head(e.now)
		if !ok {
			continue
		}
		out = append(out, Record{Name: r.name, Hash: h, Owner: q.addr, Queue: len(r.queue) - i - 1,
			Counter: q.counter, Backup: r.backup, ExpireIn: q.expires - e.now})
	}
	return out
}

// KeyCounts lists the keys this node counts names for, with their counts.
func (e *Engine) KeyCounts() map[[wire.PubKeySize]byte]int {
	out := map[[wire.PubKeySize]byte]int{}
	for k, c := range e.counters {
		if n := c.live(e.now); n > 0 {
			out[k] = n
		}
	}
	return out
}
