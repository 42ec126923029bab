package wire

import (
	"errors"
	"net/netip"
	"slices"
)

// RegisterFlags are the flag bits of ANDNA_REGISTER.
type RegisterFlags uint8

// RegisterBackup: this copy of the request is addressed to a backup gnode.
// It is inside the signed bytes, so the owner signs each copy.
const RegisterBackup RegisterFlags = 0x01

const registerFlagsKnown = uint8(RegisterBackup)

// Register is the payload of ANDNA_REGISTER, used for first registrations
// and for updates (Counter counts the updates already sent). The layout is
// fixed here; whether the signature verifies, and what is accepted, is
// internal/andna's policy.
//
//	off      size field
//	0        1    hostname length n (1..253)
//	1        n    hostname
//	1+n      32   Ed25519 public key of the owner
//	33+n     4    update counter
//	37+n     1    flags (RegisterBackup)
//	38+n     1+a  address of the registering node (required)
//	39+n+a   64   Ed25519 signature over bytes [0, 39+n+a): SignedBytes
type Register struct {
	Hostname  string
	PubKey    [PubKeySize]byte
	Counter   uint32
	Flags     RegisterFlags
	Addr      netip.Addr
	Signature [SignatureSize]byte
}

func (p *Register) Op() Op { return OpAndnaRegister }

// Decode decodes the payload bytes of one packet into p.
func (p *Register) Decode(data []byte) error {
	old := p.Hostname
	*p = Register{}
	r := start(data, OpAndnaRegister)
	p.decode(&r, old)
	return r.done()
}

func (p *Register) decode(r *reader, old string) {
	if h := r.hostname("hostname"); h != nil {
		p.Hostname = internString(old, h)
	}
	p.PubKey = r.array32("pubkey")
	p.Counter = r.u32("counter")
	p.Flags = RegisterFlags(r.flags("flags", registerFlagsKnown))
	p.Addr = r.addr("address", false)
	if b := r.take(SignatureSize, "signature"); b != nil {
		p.Signature = [SignatureSize]byte(b)
	}
}

// signedSize validates everything but the signature and returns the size of
// the signed part.
func (p *Register) signedSize(op Op) (int, error) {
	hn, err := hostnameLen(op, "hostname", p.Hostname)
	if err != nil {
		return 0, err
	}
	if err := checkFlags(op, "flags", uint8(p.Flags), registerFlagsKnown); err != nil {
		return 0, err
	}
	an, err := addrLen(op, "address", p.Addr, false)
	if err != nil {
		return 0, err
	}
	return hn + PubKeySize + 4 + 1 + an, nil
}

func (p *Register) putSigned(w *writer) {
	w.hostname(p.Hostname)
	w.bytes(p.PubKey[:])
	w.u32(p.Counter)
	w.u8(uint8(p.Flags))
	w.addr(p.Addr)
}

// SignContext prefixes the signed bytes so that a REGISTER signature can
// never be replayed as a signature over some other message of the same key.
const SignContext = "ntkd-andna-register-v1\x00"

// SignedBytes returns the bytes the owner signs: SignContext followed by every
// payload field before the signature, encoded exactly as on the wire.
func (p *Register) SignedBytes() ([]byte, error) {
	return p.AppendSigned(nil)
}

// AppendSigned appends the signed bytes (see SignedBytes) to dst.
func (p *Register) AppendSigned(dst []byte) ([]byte, error) {
	n, err := p.signedSize(OpAndnaRegister)
	if err != nil {
		return dst, err
	}
	dst = append(dst, SignContext...)
	off := len(dst)
	dst = slices.Grow(dst, n)[:off+n]
	w := writer{b: dst[off:]}
	p.putSigned(&w)
	return dst, nil
}

func (p *Register) size() (int, error) {
	n, err := p.signedSize(OpAndnaRegister)
	return n + SignatureSize, err
}

func (p *Register) put(b []byte) {
	w := writer{b: b}
	p.putSigned(&w)
	w.bytes(p.Signature[:])
}

// CheckCounter is the payload of ANDNA_CHECK_COUNTER: a hash-gnode node
// forwards a copy of a signed ANDNA_REGISTER to the counter gnode of the
// key.
//
//	off    size field
//	0      1+a  address of the hash-gnode node asking (required)
//	1+a    2    length m of the embedded request
//	3+a    m    the ANDNA_REGISTER payload, byte for byte
type CheckCounter struct {
	Asker   netip.Addr
	Request Register
}

func (p *CheckCounter) Op() Op { return OpAndnaCheckCounter }

// Decode decodes the payload bytes of one packet into p.
func (p *CheckCounter) Decode(data []byte) error {
	old := p.Request.Hostname
	*p = CheckCounter{}
	r := start(data, OpAndnaCheckCounter)
	p.Asker = r.addr("asker", false)
	m := int(r.u16("request length"))
	off := r.off
	if req := r.take(m, "request"); req != nil {
		sub := reader{b: req, layer: r.layer}
		p.Request.decode(&sub, old)
		if err := sub.done(); err != nil {
			// Report the failure inside the request at its packet offset.
			var e *Error
			if errors.As(err, &e) {
				r.setErr(e.Err, "request "+e.Field, off+e.Offset, "%s", e.Detail)
			}
		}
	}
	return r.done()
}

func (p *CheckCounter) size() (int, error) {
	an, err := addrLen(OpAndnaCheckCounter, "asker", p.Asker, false)
	if err != nil {
		return 0, err
	}
	rn, err := p.Request.signedSize(OpAndnaCheckCounter)
	if err != nil {
		return 0, err
	}
	return an + 2 + rn + SignatureSize, nil
}

func (p *CheckCounter) put(b []byte) {
	w := writer{b: b}
	w.addr(p.Asker)
	rn := len(b) - w.off - 2
	w.u16(uint16(rn))
	p.Request.put(b[w.off:])
}

// CounterReply is the payload of ANDNA_COUNTER_REPLY, the counter gnode's
// answer to ANDNA_CHECK_COUNTER.
//
//	off size field
//	0   2    number of names registered under the key, this one included
//	2   2    result: CodeOK, or a NACK code (CodeLimitExceeded, CodeReplay, ...)
type CounterReply struct {
	Count  uint16
	Result Code
}

func (p *CounterReply) Op() Op { return OpAndnaCounterReply }

// Decode decodes the payload bytes of one packet into p.
func (p *CounterReply) Decode(data []byte) error {
	*p = CounterReply{}
	r := start(data, OpAndnaCounterReply)
	p.Count = r.u16("count")
	p.Result = Code(r.u16("result"))
	return r.done()
}

func (p *CounterReply) size() (int, error) { return 4, nil }

func (p *CounterReply) put(b []byte) {
	w := writer{b: b}
	w.u16(p.Count)
	w.u16(uint16(p.Result))
}

// ResolveFlags are the flag bits of ANDNA_RESOLVE.
type ResolveFlags uint8

// ResolveRecursive: the receiver is asked as a resolver of the asker's own
// gnode (seed §7.8.1), not as the hash gnode: answer from the resolved-names
// cache or resolve on the asker's behalf.
const ResolveRecursive ResolveFlags = 0x01

// ResolveRecord: answer with an ANDNA_PUT_CACHE holding the name's records
// (its queue) instead of a RESOLVE_REPLY: a hash gnode that is new for the
// name takes the registration over from a backup gnode (seed §7.1.6).
const ResolveRecord ResolveFlags = 0x02

const resolveFlagsKnown = uint8(ResolveRecursive | ResolveRecord)

// Resolve is the payload of ANDNA_RESOLVE.
//
//	off size field
//	0   1    flags (ResolveRecursive)
//	1   1    hostname length n (1..253)
//	2   n    hostname
type Resolve struct {
	Flags    ResolveFlags
	Hostname string
}

func (p *Resolve) Op() Op { return OpAndnaResolve }

// Decode decodes the payload bytes of one packet into p.
func (p *Resolve) Decode(data []byte) error {
	old := p.Hostname
	*p = Resolve{}
	r := start(data, OpAndnaResolve)
	p.Flags = ResolveFlags(r.flags("flags", resolveFlagsKnown))
	if h := r.hostname("hostname"); h != nil {
		p.Hostname = internString(old, h)
	}
	return r.done()
}

func (p *Resolve) size() (int, error) {
	if err := checkFlags(OpAndnaResolve, "flags", uint8(p.Flags), resolveFlagsKnown); err != nil {
		return 0, err
	}
	hn, err := hostnameLen(OpAndnaResolve, "hostname", p.Hostname)
	return 1 + hn, err
}

func (p *Resolve) put(b []byte) {
	w := writer{b: b}
	w.u8(uint8(p.Flags))
	w.hostname(p.Hostname)
}

// ResolveReply is the payload of ANDNA_RESOLVE_REPLY. A name that does not
// resolve is answered with NACK CodeNotFound instead.
//
//	off size field
//	0   4    seconds until the registration expires (the resolver's cache
//	         entry expires with it, seed §7.8.1)
//	4   4    update counter of the registration
//	8   1+a  address of the name's owner (required)
type ResolveReply struct {
	ExpiresIn uint32 // seconds
	Counter   uint32
	Addr      netip.Addr
}

func (p *ResolveReply) Op() Op { return OpAndnaResolveReply }

// Decode decodes the payload bytes of one packet into p.
func (p *ResolveReply) Decode(data []byte) error {
	*p = ResolveReply{}
	r := start(data, OpAndnaResolveReply)
	p.ExpiresIn = r.u32("expires")
	p.Counter = r.u32("counter")
	p.Addr = r.addr("address", false)
	return r.done()
}

func (p *ResolveReply) size() (int, error) {
	an, err := addrLen(OpAndnaResolveReply, "address", p.Addr, false)
	return 8 + an, err
}

func (p *ResolveReply) put(b []byte) {
	w := writer{b: b}
	w.u32(p.ExpiresIn)
	w.u32(p.Counter)
	w.addr(p.Addr)
}

// ReverseName is one name in an ANDNA_REVERSE_REPLY.
type ReverseName struct {
	ExpiresIn uint32 // seconds
	Hostname  string
}

// ReverseReply is the payload of ANDNA_REVERSE_REPLY: the names the node
// itself holds (seed §7.8.2: reverse lookups ask the node that has the IP).
//
//	off size field
//	0   1    count c (<= 255)
//	1   ...  c x {seconds until expiry u32, hostname length n u8, hostname [n]}
type ReverseReply struct {
	Names []ReverseName
}

func (p *ReverseReply) Op() Op { return OpAndnaReverseReply }

// Decode decodes the payload bytes of one packet into p.
func (p *ReverseReply) Decode(data []byte) error {
	names := p.Names[:0]
	*p = ReverseReply{}
	r := start(data, OpAndnaReverseReply)
	n := int(r.u8("count"))
	// Each entry is at least 4+1+1 bytes.
	if r.need(6*n, "names") {
		names = slices.Grow(names, n)
		for i := 0; i < n && r.err == nil; i++ {
			var old string
			if i < cap(names) {
				old = names[:i+1][i].Hostname
			}
			e := ReverseName{ExpiresIn: r.u32("expires")}
			if h := r.hostname("hostname"); h != nil {
				e.Hostname = internString(old, h)
			}
			names = append(names, e)
		}
	}
	p.Names = names
	return r.done()
}

func (p *ReverseReply) size() (int, error) {
	if len(p.Names) > MaxReverseNames {
		return 0, encErr(ErrInconsistent, OpAndnaReverseReply.String(), "count", "%d names > %d", len(p.Names), MaxReverseNames)
	}
	n := 1
	for _, e := range p.Names {
		hn, err := hostnameLen(OpAndnaReverseReply, "hostname", e.Hostname)
		if err != nil {
			return 0, err
		}
		n += 4 + hn
	}
	return n, nil
}

func (p *ReverseReply) put(b []byte) {
	w := writer{b: b}
	w.u8(uint8(len(p.Names)))
	for _, e := range p.Names {
		w.u32(e.ExpiresIn)
		w.hostname(e.Hostname)
	}
}

// GetCache is the payload of ANDNA_GET_CACHE: an empty payload asks for the
// whole andna_cache (ANDNA hook), one byte asks for the part kept for the
// gnode of that level.
//
//	off size field
//	0   1    level (< 16), present iff HasLevel
type GetCache struct {
	HasLevel bool
	Level    uint8 // must be 0 when !HasLevel
}

func (p *GetCache) Op() Op { return OpAndnaGetCache }

// Decode decodes the payload bytes of one packet into p.
func (p *GetCache) Decode(data []byte) error {
	*p = GetCache{}
	r := start(data, OpAndnaGetCache)
	if r.err == nil && len(data) > 0 {
		p.HasLevel = true
		p.Level = r.level("level")
	}
	return r.done()
}

func (p *GetCache) size() (int, error) {
	if !p.HasLevel {
		if p.Level != 0 {
			return 0, encErr(ErrInconsistent, OpAndnaGetCache.String(), "level", "level %d without HasLevel", p.Level)
		}
		return 0, nil
	}
	return 1, checkLevel(OpAndnaGetCache, "level", p.Level)
}

func (p *GetCache) put(b []byte) {
	if p.HasLevel {
		b[0] = p.Level
	}
}

// CacheRecord is one registration in an ANDNA_PUT_CACHE.
type CacheRecord struct {
	Hash      [HashSize]byte // SHA-256 of the hostname
	PubKey    [PubKeySize]byte
	Counter   uint32 // update counter
	ExpiresIn uint32 // seconds remaining
	QueuePos  uint8  // 0 = the current owner, 1..4 = waiting in the queue
	Addr      netip.Addr
}

// PutCache is the payload of ANDNA_PUT_CACHE: (part of) an andna_cache, for
// the ANDNA hook and for hash-gnode mutation (seed §7.1.6).
//
//	off size field
//	0   2    count c (<= 4096, and the packet must fit in MaxPayload)
//	2   ...  c x record:
//	         +0  32   hostname hash (SHA-256)
//	         +32 32   Ed25519 public key of the owner
//	         +64 4    update counter
//	         +68 4    seconds remaining
//	         +72 1    queue position (0..4)
//	         +73 1+a  owner address (required)
type PutCache struct {
	Records []CacheRecord
}

const cacheRecordFixed = 73

func (p *PutCache) Op() Op { return OpAndnaPutCache }

// Decode decodes the payload bytes of one packet into p.
func (p *PutCache) Decode(data []byte) error {
	recs := p.Records[:0]
	*p = PutCache{}
	r := start(data, OpAndnaPutCache)
	n := int(r.u16("count"))
	if r.err == nil && n > MaxCacheRecords {
		r.setErr(ErrInconsistent, "count", 0, "%d records > %d", n, MaxCacheRecords)
	}
	// Each record is at least its fixed part plus a 5-byte IPv4 address.
	if r.need(n*(cacheRecordFixed+5), "records") {
		recs = slices.Grow(recs, n)
		for i := 0; i < n && r.err == nil; i++ {
			var c CacheRecord
			c.Hash = r.array32("hash")
			c.PubKey = r.array32("pubkey")
			c.Counter = r.u32("counter")
			c.ExpiresIn = r.u32("expires")
			off := r.off
			c.QueuePos = r.u8("queue position")
			if r.err == nil && c.QueuePos >= MaxQueue {
				r.setErr(ErrInconsistent, "queue position", off, "%d >= %d", c.QueuePos, MaxQueue)
			}
			c.Addr = r.addr("address", false)
			recs = append(recs, c)
		}
	}
	p.Records = recs
	return r.done()
}

func (p *PutCache) size() (int, error) {
	op := OpAndnaPutCache
	if len(p.Records) > MaxCacheRecords {
		return 0, encErr(ErrInconsistent, op.String(), "count", "%d records > %d", len(p.Records), MaxCacheRecords)
	}
	n := 2
	for i := range p.Records {
		c := &p.Records[i]
		if c.QueuePos >= MaxQueue {
			return 0, encErr(ErrInconsistent, op.String(), "queue position", "record %d: %d >= %d", i, c.QueuePos, MaxQueue)
		}
		an, err := addrLen(op, "address", c.Addr, false)
		if err != nil {
			return 0, err
		}
		n += cacheRecordFixed + an
	}
	return n, nil
}

func (p *PutCache) put(b []byte) {
	w := writer{b: b}
	w.u16(uint16(len(p.Records)))
	for i := range p.Records {
		c := &p.Records[i]
		w.bytes(c.Hash[:])
		w.bytes(c.PubKey[:])
		w.u32(c.Counter)
		w.u32(c.ExpiresIn)
		w.u8(c.QueuePos)
		w.addr(c.Addr)
	}
}

// GetQueue is the payload of ANDNA_GET_QUEUE: a resolver asks for the queue
// of a name, to fall back on the next node if the owner is unreachable
// (seed §7.1.7).
//
//	off size field
//	0   1    hostname length n (1..253)
//	1   n    hostname
type GetQueue struct {
	Hostname string
}

func (p *GetQueue) Op() Op { return OpAndnaGetQueue }

// Decode decodes the payload bytes of one packet into p.
func (p *GetQueue) Decode(data []byte) error {
	old := p.Hostname
	*p = GetQueue{}
	r := start(data, OpAndnaGetQueue)
	if h := r.hostname("hostname"); h != nil {
		p.Hostname = internString(old, h)
	}
	return r.done()
}

func (p *GetQueue) size() (int, error) {
	return hostnameLen(OpAndnaGetQueue, "hostname", p.Hostname)
}

func (p *GetQueue) put(b []byte) {
	w := writer{b: b}
	w.hostname(p.Hostname)
}

// QueueEntry is one node in a name's queue.
type QueueEntry struct {
	ExpiresIn uint32 // seconds remaining
	Addr      netip.Addr
}

// PutQueue is the payload of ANDNA_PUT_QUEUE: the queue of a name, owner
// first.
//
//	off size field
//	0   1    count c (<= 5)
//	1   ...  c x {seconds remaining u32, address 1+a (required)}
type PutQueue struct {
	Entries []QueueEntry
}

func (p *PutQueue) Op() Op { return OpAndnaPutQueue }

// Decode decodes the payload bytes of one packet into p.
func (p *PutQueue) Decode(data []byte) error {
	entries := p.Entries[:0]
	*p = PutQueue{}
	r := start(data, OpAndnaPutQueue)
	n := int(r.u8("count"))
	if r.err == nil && n > MaxQueue {
		r.setErr(ErrInconsistent, "count", 0, "%d entries > %d", n, MaxQueue)
	}
	if r.need(n*(4+5), "entries") {
		entries = slices.Grow(entries, n)
		for i := 0; i < n && r.err == nil; i++ {
			entries = append(entries, QueueEntry{ExpiresIn: r.u32("expires"), Addr: r.addr("address", false)})
		}
	}
	p.Entries = entries
	return r.done()
}

func (p *PutQueue) size() (int, error) {
	op := OpAndnaPutQueue
	if len(p.Entries) > MaxQueue {
		return 0, encErr(ErrInconsistent, op.String(), "count", "%d entries > %d", len(p.Entries), MaxQueue)
	}
	n := 1
	for _, e := range p.Entries {
		an, err := addrLen(op, "address", e.Addr, false)
		if err != nil {
			return 0, err
		}
		n += 4 + an
	}
	return n, nil
}

func (p *PutQueue) put(b []byte) {
	w := writer{b: b}
	w.u8(uint8(len(p.Entries)))
	for _, e := range p.Entries {
		w.u32(e.ExpiresIn)
		w.addr(e.Addr)
	}
}
