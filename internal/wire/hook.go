package wire

import (
	"net/netip"
	"slices"
)

// Empty is the payload of the requests that carry nothing but their op:
// GET_FREE_NODES, GET_QSPN_ROUND, GET_INT_MAP, GET_EXT_MAP, GET_BNODE_MAP,
// ANDNA_REVERSE and ACK. Any payload byte is rejected.
type Empty struct {
	Kind Op
}

func (p *Empty) Op() Op { return p.Kind }

func (p *Empty) checkKind() error {
	switch p.Kind {
	case OpGetFreeNodes, OpGetQSPNRound, OpGetIntMap, OpGetExtMap, OpGetBnodeMap, OpAndnaReverse, OpAck:
		return nil
	}
	return kindError("Empty", p.Kind)
}

// Decode decodes the payload bytes of one packet into p.
func (p *Empty) Decode(data []byte) error {
	*p = Empty{Kind: p.Kind}
	if err := p.checkKind(); err != nil {
		return err
	}
	r := start(data, p.Kind)
	return r.done()
}

func (p *Empty) size() (int, error) { return 0, p.checkKind() }
func (p *Empty) put([]byte)         {}

// PutFreeNodes answers GET_FREE_NODES: which ids are free at Level inside the
// replier's gnode, so a hooking node can pick one.
//
//	off size field
//	0   1    level (< 16)
//	1   1    bits per level at that level (1..8): valid ids are < 2^bits
//	2   32   bitmap of free ids: id i is bit 0x80>>(i%8) of byte i/8; set = free
//	34  1+a  replier address (required)
type PutFreeNodes struct {
	Level uint8
	Bits  uint8
	Free  [32]byte // use IsFree / SetFree
	Addr  netip.Addr
}

// IsFree reports whether id is marked free.
func (p *PutFreeNodes) IsFree(id uint8) bool { return p.Free[id/8]&(0x80>>(id%8)) != 0 }

// SetFree marks id free or taken.
func (p *PutFreeNodes) SetFree(id uint8, free bool) {
	if free {
		p.Free[id/8] |= 0x80 >> (id % 8)
	} else {
		p.Free[id/8] &^= 0x80 >> (id % 8)
	}
}

// freeBeyond returns the first id >= 2^bits marked free, or -1.
func (p *PutFreeNodes) freeBeyond() int {
	if p.Bits >= MaxBitsPerLevel {
		return -1
	}
	for id := 1 << p.Bits; id < 256; id++ {
		if p.IsFree(uint8(id)) {
			return id
		}
	}
	return -1
}

func (p *PutFreeNodes) Op() Op { return OpPutFreeNodes }

// Decode decodes the payload bytes of one packet into p.
func (p *PutFreeNodes) Decode(data []byte) error {
	*p = PutFreeNodes{}
	r := start(data, OpPutFreeNodes)
	p.Level = r.level("level")
	p.Bits = r.u8("bits")
	if r.err == nil && (p.Bits == 0 || p.Bits > MaxBitsPerLevel) {
		r.setErr(ErrInconsistent, "bits", 1, "bits per level %d, want 1..%d", p.Bits, MaxBitsPerLevel)
	}
	p.Free = r.array32("bitmap")
	if r.err == nil {
		if id := p.freeBeyond(); id >= 0 {
			r.setErr(ErrInconsistent, "bitmap", 2+id/8, "id %d marked free but >= 2^%d", id, p.Bits)
		}
	}
	p.Addr = r.addr("address", false)
	return r.done()
}

func (p *PutFreeNodes) size() (int, error) {
	if err := checkLevel(OpPutFreeNodes, "level", p.Level); err != nil {
		return 0, err
	}
	if p.Bits == 0 || p.Bits > MaxBitsPerLevel {
		return 0, encErr(ErrInconsistent, OpPutFreeNodes.String(), "bits", "bits per level %d, want 1..%d", p.Bits, MaxBitsPerLevel)
	}
	if id := p.freeBeyond(); id >= 0 {
		return 0, encErr(ErrInconsistent, OpPutFreeNodes.String(), "bitmap", "id %d marked free but >= 2^%d", id, p.Bits)
	}
	n, err := addrLen(OpPutFreeNodes, "address", p.Addr, false)
	return 2 + 32 + n, err
}

func (p *PutFreeNodes) put(b []byte) {
	w := writer{b: b}
	w.u8(p.Level)
	w.u8(p.Bits)
	w.bytes(p.Free[:])
	w.addr(p.Addr)
}

// QSPNRound is where one level's QSPN round stands at the replier.
type QSPNRound struct {
	ID        uint32 // round id
	ElapsedMs uint32 // milliseconds since that round started, at send time
	// Nonce is the identity of the replier's gnode of that level (its own
	// node nonce at level 0): a newcomer joining the gnode takes it over.
	Nonce uint32
}

// PutQSPNRound answers GET_QSPN_ROUND (seed §5.1.4): per level, the current
// round id and how long ago it started, so a newcomer can compute when the
// next round fires. Index i of Rounds is level i.
//
//	off  size field
//	0    1    count n (<= 16)
//	1+12i 4   round id of level i
//	5+12i 4   milliseconds since that round started
//	9+12i 4   nonce of the replier's gnode of level i (its node nonce at 0)
type PutQSPNRound struct {
	Rounds []QSPNRound
}

func (p *PutQSPNRound) Op() Op { return OpPutQSPNRound }

// Decode decodes the payload bytes of one packet into p.
func (p *PutQSPNRound) Decode(data []byte) error {
	*p = PutQSPNRound{Rounds: p.Rounds[:0]}
	r := start(data, OpPutQSPNRound)
	n := int(r.u8("count"))
	if r.err == nil && n > MaxQSPNLevels {
		r.setErr(ErrInconsistent, "count", 0, "%d levels > %d", n, MaxQSPNLevels)
	}
	if r.need(12*n, "rounds") {
		p.Rounds = slices.Grow(p.Rounds, n)
		for i := 0; i < n; i++ {
			p.Rounds = append(p.Rounds, QSPNRound{ID: r.u32("round id"), ElapsedMs: r.u32("elapsed"), Nonce: r.u32("nonce")})
		}
	}
	return r.done()
}

func (p *PutQSPNRound) size() (int, error) {
	if len(p.Rounds) > MaxQSPNLevels {
		return 0, encErr(ErrInconsistent, OpPutQSPNRound.String(), "count", "%d levels > %d", len(p.Rounds), MaxQSPNLevels)
	}
	return 1 + 12*len(p.Rounds), nil
}

func (p *PutQSPNRound) put(b []byte) {
	w := writer{b: b}
	w.u8(uint8(len(p.Rounds)))
	for _, rd := range p.Rounds {
		w.u32(rd.ID)
		w.u32(rd.ElapsedMs)
		w.u32(rd.Nonce)
	}
}

// MapBody is the payload of PUT_INT_MAP, PUT_EXT_MAP and PUT_BNODE_MAP: the
// whole payload is the map body, whose format belongs to internal/maps
// (docs/PROTOCOL.md §Maps). This package only bounds its length.
//
// A decoded Body aliases the decoded bytes (nil when empty).
type MapBody struct {
	Kind Op
	Body []byte
}

func (p *MapBody) Op() Op { return p.Kind }

func (p *MapBody) checkKind() error {
	switch p.Kind {
	case OpPutIntMap, OpPutExtMap, OpPutBnodeMap:
		return nil
	}
	return kindError("MapBody", p.Kind)
}

// Decode decodes the payload bytes of one packet into p.
func (p *MapBody) Decode(data []byte) error {
	*p = MapBody{Kind: p.Kind}
	if err := p.checkKind(); err != nil {
		return err
	}
	r := start(data, p.Kind)
	if r.err != nil {
		return r.err
	}
	if len(data) > 0 {
		p.Body = data[:len(data):len(data)]
	}
	return nil
}

func (p *MapBody) size() (int, error) {
	if err := p.checkKind(); err != nil {
		return 0, err
	}
	if len(p.Body) > MaxPayload {
		return 0, encErr(ErrOversized, p.Kind.String(), "body", "%d bytes > %d", len(p.Body), MaxPayload)
	}
	return len(p.Body), nil
}

func (p *MapBody) put(b []byte) { copy(b, p.Body) }
