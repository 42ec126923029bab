package andna

import (
	"errors"
	"net/netip"
	"time"

	"github.com/ntkd/ntkd/internal/wire"
)

// checkClaim applies the hash gnode's rules to a registration against what
// we hold: replays and too-early updates are refused, a new key waits in a
// queue of at most five.
func (e *Engine) checkClaim(r *wire.Register, rec *record) wire.Code {
	if rec == nil {
		return wire.CodeOK
	}
	rec.expire(e.now)
	if i := rec.find(r.PubKey); i >= 0 {
		q := rec.queue[i]
		switch {
		case r.Counter <= q.counter:
			return wire.CodeReplay
		case e.now-q.updated < e.cfg.MinUpdateAge && r.Addr == q.addr:
			return wire.CodeTooEarly
		}
		return wire.CodeOK
	}
	if len(rec.queue) >= e.cfg.MaxQueue {
		return wire.CodeQueueFull
	}
	return wire.CodeOK
}

// store records an accepted registration. It reports false when the table
// is full.
func (e *Engine) store(r *wire.Register, h [32]byte, backup bool) bool {
	rec := e.db[h]
	if rec == nil {
		if len(e.db) >= e.cfg.MaxRecords {
			e.Stats.drop("record table full")
			return false
		}
		rec = &record{backup: backup}
		e.db[h] = rec
	}
	rec.name = r.Hostname
	rec.backup = rec.backup && backup
	ent := entry{pub: r.PubKey, addr: r.Addr, counter: r.Counter, updated: e.now, expires: e.now + e.cfg.Hibernation}
	if i := rec.find(r.PubKey); i >= 0 {
		rec.queue[i] = ent
	} else {
		rec.queue = append(rec.queue, ent)
	}
	return true
}

// spread passes p to the other members of our gnode once.
func (e *Engine) spread(k seenKey, p wire.Payload) {
	if _, ok := e.seen[k]; ok {
		return
	}
	e.seen[k] = e.now + e.cfg.Hibernation
	e.send(Out{Spread: true, P: p})
}

// holdsBackup says whether we are one of the members of our gnode that keep
// a backup of the name placed at bh: all of them in a gnode of up to 8, a
// share proportional to its size above (seed §7.1: seeds*32/MAXGROUPNODE),
// the ones whose ids are nearest to the hash, which is where a backup
// resolution is routed.
func (e *Engine) holdsBackup(bh [32]byte) bool {
	members := e.host.GnodeMembers()
	n := len(members)
	if n <= 8 {
		return true
	}
	k := max(1, n*32/e.scheme.Size(0))
	target := int(bh[0]) % e.scheme.Size(0)
	me := e.scheme.ID(e.addr, 0)
	dist := func(id uint8) int { return abs(int(id) - target) }
	closer := 0
	for _, id := range members {
		if id != me && (dist(id) < dist(me) || (dist(id) == dist(me) && id < me)) {
			closer++
		}
	}
	return closer < k
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// onRegister serves ANDNA_REGISTER (seed §7.1.4).
func (e *Engine) onRegister(src netip.Addr, id uint32, r *wire.Register, how Delivery) {
	name, err := Canonical(r.Hostname)
	if err != nil || name != r.Hostname || !r.Addr.IsValid() {
		e.refuse(src, id, how, wire.CodeBadRequest, "not a canonical name and address")
		return
	}
	if !verify(r) {
		e.refuse(src, id, how, wire.CodeBadSignature, "signature does not verify")
		return
	}
	h := NameHash(name)
	backup := r.Flags&wire.RegisterBackup != 0
	key := seenKey{op: wire.OpAndnaRegister, hash: h, pub: r.PubKey, ctr: r.Counter}
	if backup {
		key.hash = backupKey(h)
	}
	switch how {
	case Spread:
		// A member that accepted it passes it on; we keep what the rules
		// let us keep and pass it on once.
		if _, seen := e.seen[key]; seen {
			return
		}
		if e.checkClaim(r, e.db[h]) == wire.CodeOK && (!backup || e.holdsBackupOf(r)) {
			e.store(r, h, backup)
		}
		e.spread(key, r)
		return
	case Direct:
		e.nack(src, id, wire.CodeNotResponsible, "registrations go to the hash gnode")
		return
	}
	if backup {
		if code := e.checkClaim(r, e.db[h]); code != wire.CodeOK {
			e.nack(src, id, code, "")
			return
		}
		if e.holdsBackupOf(r) {
			e.store(r, h, true)
		}
		e.spread(key, r)
		e.reply(src, id, &wire.Empty{Kind: wire.OpAck})
		return
	}
	rc := *r
	e.withRecord(h, func() {
		if code := e.checkClaim(&rc, e.db[h]); code != wire.CodeOK {
			e.nack(src, id, code, "")
			return
		}
		// The counter gnode of the key says whether it may hold one more
		// name (seed §7.1.3); every check also keeps the count alive.
		cc := &wire.CheckCounter{Asker: e.addr, Request: rc}
		e.request(Out{Dst: hashAddr(e.scheme, keyHash(rc.PubKey)), Level: 1, Nearest: true, P: cc},
			func(_ netip.Addr, p wire.Payload) {
				switch p := p.(type) {
				case *wire.CounterReply:
					if p.Result != wire.CodeOK {
						e.Stats.Refused++
						e.nack(src, id, p.Result, "")
						return
					}
				case *wire.Nack:
					e.nack(src, id, p.Code, p.Reason)
					return
				default:
					return
				}
				if code := e.checkClaim(&rc, e.db[h]); code != wire.CodeOK {
					e.nack(src, id, code, "")
					return
				}
				if !e.store(&rc, h, false) {
					e.nack(src, id, wire.CodeInternal, "record table full")
					return
				}
				e.spread(key, &rc)
				e.reply(src, id, &wire.Empty{Kind: wire.OpAck})
			},
			func() { e.nack(src, id, wire.CodeInternal, "counter gnode did not answer") })
	})
}

// backupKey keeps the spread of a backup copy apart from the main one.
func backupKey(h [32]byte) [32]byte { h[31] ^= 0xff; return h }

// holdsBackupOf says whether we keep the backup registration r: which of
// the backup hashes brought it here is not on the wire, so any of them
// that selects us does.
func (e *Engine) holdsBackupOf(r *wire.Register) bool {
	h := NameHash(r.Hostname)
	for i := 1; i <= max(e.cfg.BackupGnodes, 1); i++ {
		if e.holdsBackup(backupHash(h, i)) {
			return true
		}
	}
	return false
}

// refuse answers a bad registration, except one spread inside the gnode.
func (e *Engine) refuse(src netip.Addr, id uint32, how Delivery, code wire.Code, why string) {
	e.Stats.drop("registration refused: " + code.String())
	if how != Spread {
		e.nack(src, id, code, why)
	}
}

// withRecord runs then once we hold what the network knows of the name: if
// our gnode has no record of it, it may be new here (a gnode nearer to the
// hash appeared, seed §7.1.6): the backup gnodes' record is taken over
// first, so that a newcomer cannot steal a name during the move.
func (e *Engine) withRecord(h [32]byte, then func()) {
	if rec := e.db[h]; rec != nil && !rec.backup {
		then()
		return
	}
	e.fetchRecord(h, 1, then)
}

func (e *Engine) fetchRecord(h [32]byte, i int, then func()) {
	if i > e.cfg.BackupGnodes {
		then()
		return
	}
	q := &wire.Resolve{Flags: wire.ResolveRecord, Hostname: hashName(h)}
	out := Out{Dst: hashAddr(e.scheme, backupHash(h, i)), Level: 0, Nearest: true, P: q}
	e.request(out, func(_ netip.Addr, p wire.Payload) {
		if pc, ok := p.(*wire.PutCache); ok && len(pc.Records) > 0 {
			e.importRecords(pc.Records, false)
			then()
			return
		}
		e.fetchRecord(h, i+1, then)
	}, func() { e.fetchRecord(h, i+1, then) })
}

// hashName carries a name hash where a hostname is expected: ResolveRecord
// asks by hash, since a gnode that only has records by transfer does not
// know the name. Two labels of 32 hex digits (a label holds at most 63).
func hashName(h [32]byte) string {
	const hexdigits = "0123456789abcdef"
	b := make([]byte, 0, 67)
	b = append(b, "h-"...)
	for i, x := range h {
		if i == 16 {
			b = append(b, '.')
		}
		b = append(b, hexdigits[x>>4], hexdigits[x&15])
	}
	return string(b)
}

// parseHashName is the inverse of hashName.
func parseHashName(s string) ([32]byte, bool) {
	var h [32]byte
	if len(s) != 67 || s[:2] != "h-" || s[34] != '.' {
		return h, false
	}
	digits := s[2:34] + s[35:]
	for i := range h {
		hi, ok1 := unhex(digits[2*i])
		lo, ok2 := unhex(digits[2*i+1])
		if !ok1 || !ok2 {
			return h, false
		}
		h[i] = hi<<4 | lo
	}
	return h, true
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// importRecords takes registrations over from a cache transfer (the ANDNA
// hook, or a hash gnode that is new for a name). A claim we hold with a
// higher counter wins.
func (e *Engine) importRecords(rs []wire.CacheRecord, backup bool) {
	for _, c := range rs {
		if c.ExpiresIn == 0 {
			continue
		}
		rec := e.db[c.Hash]
		if rec == nil {
			if len(e.db) >= e.cfg.MaxRecords {
				e.Stats.drop("record table full")
				return
			}
			rec = &record{backup: backup}
			e.db[c.Hash] = rec
		}
		rec.backup = rec.backup && backup
		ent := entry{pub: c.PubKey, addr: c.Addr, counter: c.Counter, updated: e.now,
			expires: e.now + min(e.cfg.Hibernation, secondsDur(c.ExpiresIn))}
		if i := rec.find(c.PubKey); i >= 0 {
			if rec.queue[i].counter < c.Counter {
				rec.queue[i] = ent
			}
			continue
		}
		if len(rec.queue) < e.cfg.MaxQueue {
			rec.queue = append(rec.queue, ent) // records come owner first
		}
	}
}

// cacheRecords lists the live claims on the name h, owner first.
func (e *Engine) cacheRecords(h [32]byte, rec *record) []wire.CacheRecord {
	var out []wire.CacheRecord
	pos := uint8(0)
	for _, q := range rec.queue {
		if q.expires <= e.now {
			continue
		}
		out = append(out, wire.CacheRecord{Hash: h, PubKey: q.pub, Counter: q.counter, ExpiresIn: seconds(q.expires - e.now), QueuePos: pos, Addr: q.addr})
		pos++
	}
	return out
}

// onCheckCounter serves ANDNA_CHECK_COUNTER at the key's counter gnode.
func (e *Engine) onCheckCounter(src netip.Addr, id uint32, cc *wire.CheckCounter, how Delivery) {
	r := &cc.Request
	if !verify(r) {
		e.refuse(src, id, how, wire.CodeBadSignature, "signature does not verify")
		return
	}
	if how == Direct {
		e.nack(src, id, wire.CodeNotResponsible, "counter checks go to the counter gnode")
		return
	}
	h := NameHash(r.Hostname)
	key := seenKey{op: wire.OpAndnaCheckCounter, hash: h, pub: r.PubKey, ctr: r.Counter}
	if how == Spread {
		if _, seen := e.seen[key]; seen {
			return
		}
	}
	k := e.counters[r.PubKey]
	if k == nil {
		if len(e.counters) >= e.cfg.MaxKeys {
			e.Stats.drop("key table full")
			if how != Spread {
				e.nack(src, id, wire.CodeInternal, "key table full")
			}
			return
		}
		k = &keyCount{}
		e.counters[r.PubKey] = k
	}
	result := wire.CodeOK
	if i := k.find(h); (i < 0 || k.names[i].expires <= e.now) && k.live(e.now) >= e.cfg.MaxNamesPerKey {
		result = wire.CodeLimitExceeded
	} else {
		k.set(h, e.now+e.cfg.Hibernation)
		e.spread(key, cc)
	}
	if how != Spread {
		e.reply(src, id, &wire.CounterReply{Count: uint16(min(k.live(e.now), 1<<16-1)), Result: result})
	}
}

// onResolve serves ANDNA_RESOLVE: as the hash gnode (level 1), as a backup
// holder (level 0), or as a resolver of the asker's gnode (recursive).
func (e *Engine) onResolve(src netip.Addr, id uint32, q *wire.Resolve, level uint8) {
	if q.Flags&wire.ResolveRecursive != 0 {
		e.resolve(q.Hostname, func(a netip.Addr, ttl time.Duration, err error) {
			if err != nil {
				e.nack(src, id, codeOf(err), "")
				return
			}
			e.reply(src, id, &wire.ResolveReply{ExpiresIn: seconds(ttl), Addr: a})
		})
		return
	}
	h, byHash := parseHashName(q.Hostname)
	if !byHash {
		name, err := Canonical(q.Hostname)
		if err != nil {
			e.nack(src, id, wire.CodeBadRequest, "not a hostname")
			return
		}
		h = NameHash(name)
	}
	answer := func() {
		rec := e.db[h]
		if rec == nil {
			e.Stats.NotFound++
			e.nack(src, id, wire.CodeNotFound, "")
			return
		}
		if q.Flags&wire.ResolveRecord != 0 {
			e.reply(src, id, &wire.PutCache{Records: e.cacheRecords(h, rec)})
			return
		}
		head, _, ok := rec.head(e.now)
		if !ok {
			e.Stats.NotFound++
			e.nack(src, id, wire.CodeNotFound, "")
			return
		}
		e.Stats.Resolved++
		e.reply(src, id, &wire.ResolveReply{ExpiresIn: seconds(head.expires - e.now), Counter: head.counter, Addr: head.addr})
	}
	if level == 1 && q.Flags&wire.ResolveRecord == 0 {
		e.withRecord(h, answer)
		return
	}
	answer()
}

// secondsDur is a wire count of seconds as a duration.
func secondsDur(s uint32) time.Duration { return time.Duration(s) * time.Second }

// codeOf turns a resolution error into the NACK code that carries it.
func codeOf(err error) wire.Code {
	var r *RefusedError
	switch {
	case errors.Is(err, ErrNotFound):
		return wire.CodeNotFound
	case errors.As(err, &r):
		return r.Code
	}
	return wire.CodeInternal
}

// onGetQueue serves ANDNA_GET_QUEUE: the claims on a name, owner first.
func (e *Engine) onGetQueue(src netip.Addr, id uint32, q *wire.GetQueue) {
	name, err := Canonical(q.Hostname)
	if err != nil {
		e.nack(src, id, wire.CodeBadRequest, "not a hostname")
		return
	}
	rec := e.db[NameHash(name)]
	if rec == nil {
		e.nack(src, id, wire.CodeNotFound, "")
		return
	}
	var pq wire.PutQueue
	for _, c := range e.cacheRecords(NameHash(name), rec) {
		pq.Entries = append(pq.Entries, wire.QueueEntry{ExpiresIn: c.ExpiresIn, Addr: c.Addr})
	}
	e.reply(src, id, &pq)
}

// onGetCache serves ANDNA_GET_CACHE (the ANDNA hook of a new member): as
// many of our records as fit in one packet.
func (e *Engine) onGetCache(src netip.Addr, id uint32) {
	var pc wire.PutCache
	size := 2
	for h, rec := range e.db {
		for _, c := range e.cacheRecords(h, rec) {
			if len(pc.Records) >= 4096 || size+cacheRecordSize(c) > wire.MaxPayload-1024 {
				e.reply(src, id, &pc)
				return
			}
			size += cacheRecordSize(c)
			pc.Records = append(pc.Records, c)
		}
	}
	e.reply(src, id, &pc)
}

func cacheRecordSize(c wire.CacheRecord) int { return 74 + c.Addr.BitLen()/8 }
