package maps

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Wire bodies of PUT_INT_MAP, PUT_EXT_MAP and PUT_BNODE_MAP (docs/PROTOCOL.md
// §Maps). A map travels as its elements and the sender's best cost to each:
// gateways are indexes into the sender's own neighbour table and mean nothing
// to the receiver, which prepends the sender anyway (seed 001 §5.1).

var ErrMalformed = errors.New("malformed map body")

const (
	mapHeaderLen   = 6
	flagCounts     = 0x01
	maxBnodeLinks  = 4096
	bnodeLinkLen   = 7
	bnodeHeaderLen = 3
)

// Entry is one element of a received map.
type Entry struct {
	ID    uint8
	Cost  uint32 // the sender's best cost; 0 for the sender's own slot
	Count uint32 // nodes of the gnode (external maps only)
}

// Snapshot is a map as received: what Merge needs, nothing else.
type Snapshot struct {
	Level   uint8
	Bits    uint8
	Me      uint8
	Counts  bool
	Entries []Entry
}

func bitsOf(size int) uint8 {
	b := uint8(0)
	for 1<<b < size {
		b++
	}
	return b
}

// AppendPacked appends the body of m: the sender's own slot with cost 0 and
// every routed element with its best cost, in id order.
func AppendPacked(dst []byte, m *Map) []byte {
	flags := byte(0)
	if m.count != nil {
		flags |= flagCounts
	}
	me, _ := m.Me()
	dst = append(dst, m.level, bitsOf(int(m.size)), me, flags, 0, 0)
	at := len(dst) - 2
	n := 0
	for id := 0; id < int(m.size); id++ {
		var cost uint32
		switch {
		case int16(id) == m.me:
		case m.n[id] > 0:
			cost = m.cost[id*int(m.maxRoutes)]
		default:
			continue
		}
		dst = append(dst, uint8(id))
		dst = binary.BigEndian.AppendUint32(dst, cost)
		if m.count != nil {
			dst = binary.BigEndian.AppendUint32(dst, m.count[id])
		}
		n++
	}
	binary.BigEndian.PutUint16(dst[at:], uint16(n))
	return dst
}

// Unmarshal decodes one map body from b into s, reusing s.Entries, and
// returns the bytes after it. Every field is checked before it is used.
func (s *Snapshot) Unmarshal(b []byte) ([]byte, error) {
	s.Entries = s.Entries[:0]
	if len(b) < mapHeaderLen {
		return nil, fmt.Errorf("%w: %d bytes, header needs %d", ErrMalformed, len(b), mapHeaderLen)
	}
	s.Level, s.Bits, s.Me = b[0], b[1], b[2]
	flags := b[3]
	n := int(binary.BigEndian.Uint16(b[4:]))
	switch {
	case s.Level >= 16:
		return nil, fmt.Errorf("%w: level %d", ErrMalformed, s.Level)
	case s.Bits < 1 || s.Bits > 8:
		return nil, fmt.Errorf("%w: %d bits", ErrMalformed, s.Bits)
	case flags&^flagCounts != 0:
		return nil, fmt.Errorf("%w: unknown flags %#x", ErrMalformed, flags)
	case (flags&flagCounts != 0) != (s.Level > 0):
		return nil, fmt.Errorf("%w: node counts go with external maps only", ErrMalformed)
	case int(s.Me) >= 1<<s.Bits:
		return nil, fmt.Errorf("%w: own id %d beyond %d bits", ErrMalformed, s.Me, s.Bits)
	case n > 1<<s.Bits:
		return nil, fmt.Errorf("%w: %d entries in %d slots", ErrMalformed, n, 1<<s.Bits)
	}
	s.Counts = flags&flagCounts != 0
	size := 5
	if s.Counts {
		size = 9
	}
	b = b[mapHeaderLen:]
	if len(b) < n*size {
		return nil, fmt.Errorf("%w: %d entries need %d bytes, have %d", ErrMalformed, n, n*size, len(b))
	}
	prev := -1
	for i := 0; i < n; i++ {
		e := Entry{ID: b[0], Cost: binary.BigEndian.Uint32(b[1:])}
		if s.Counts {
			e.Count = binary.BigEndian.Uint32(b[5:])
		}
		b = b[size:]
		switch {
		case int(e.ID) <= prev:
			return nil, fmt.Errorf("%w: id %d out of order", ErrMalformed, e.ID)
		case int(e.ID) >= 1<<s.Bits:
			return nil, fmt.Errorf("%w: id %d beyond %d bits", ErrMalformed, e.ID, s.Bits)
		case (e.ID == s.Me) != (e.Cost == 0):
			return nil, fmt.Errorf("%w: id %d cost %d (only the sender's own slot costs 0)", ErrMalformed, e.ID, e.Cost)
		}
		prev = int(e.ID)
		s.Entries = append(s.Entries, e)
	}
	return b, nil
}

// Merge folds a map received from an rnode into m: every element the rnode
// knows becomes reachable through it at linkCost plus the rnode's cost
// (seed 001 §5.1: prepend the rnode, keep the best). The caller makes sure
// the rnode is inside our gnode of the level above, where the two maps
// describe the same elements. It returns how many elements changed.
func (m *Map) Merge(s *Snapshot, via uint8, linkCost uint32, round uint8) (int, error) {
	if s.Level != m.level || 1<<s.Bits != int(m.size) {
		return 0, fmt.Errorf("merge: level %d/%d bits into level %d/%d slots", s.Level, s.Bits, m.level, m.size)
	}
	changed := 0
	for _, e := range s.Entries {
		if int16(e.ID) == m.me {
			continue
		}
		ch, err := m.Update(e.ID, via, addCost(linkCost, e.Cost), round)
		if err != nil {
			return changed, err
		}
		if s.Counts && e.Count > 0 {
			m.SetCount(e.ID, e.Count)
		}
		if ch {
			changed++
		}
	}
	return changed, nil
}

// addCost adds path costs, saturating instead of wrapping.
func addCost(a, b uint32) uint32 {
	if s := a + b; s >= a {
		return s
	}
	return ^uint32(0)
}

// AppendPackedSet appends a count byte and the bodies of maps, in order: the
// body of PUT_EXT_MAP (levels 1 and up).
func AppendPackedSet(dst []byte, ms []*Map) []byte {
	dst = append(dst, uint8(len(ms)))
	for _, m := range ms {
		dst = AppendPacked(dst, m)
	}
	return dst
}

// UnmarshalSet decodes a body made by AppendPackedSet, reusing dst.
// It accepts at most 16 maps and no trailing bytes.
func UnmarshalSet(b []byte, dst []Snapshot) ([]Snapshot, error) {
	if len(b) < 1 {
		return nil, fmt.Errorf("%w: empty map set", ErrMalformed)
	}
	n := int(b[0])
	if n > 16 {
		return nil, fmt.Errorf("%w: %d maps", ErrMalformed, n)
	}
	b = b[1:]
	dst = dst[:0]
	for i := 0; i < n; i++ {
		if len(dst) < cap(dst) {
			dst = dst[:i+1]
		} else {
			dst = append(dst, Snapshot{})
		}
		var err error
		if b, err = dst[i].Unmarshal(b); err != nil {
			return nil, fmt.Errorf("map %d: %w", i, err)
		}
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrMalformed, len(b))
	}
	return dst, nil
}

// AppendPackedBnodes appends the body of PUT_BNODE_MAP: a count byte, then
// per map its level, its link count and the links in key order.
func AppendPackedBnodes(dst []byte, bs []*BnodeMap) []byte {
	dst = append(dst, uint8(len(bs)))
	for _, bm := range bs {
		dst = append(dst, bm.level)
		dst = binary.BigEndian.AppendUint16(dst, uint16(len(bm.links)))
		for _, l := range bm.links {
			dst = append(dst, l.Bnode, l.Level, l.Gnode)
			dst = binary.BigEndian.AppendUint32(dst, l.Cost)
		}
	}
	return dst
}

// BnodeSnapshot is a received border map.
type BnodeSnapshot struct {
	Level uint8
	Links []BnodeLink
}

// UnmarshalBnodes decodes a PUT_BNODE_MAP body, reusing dst.
func UnmarshalBnodes(b []byte, dst []BnodeSnapshot) ([]BnodeSnapshot, error) {
	if len(b) < 1 {
		return nil, fmt.Errorf("%w: empty bnode map set", ErrMalformed)
	}
	n := int(b[0])
	if n > 15 {
		return nil, fmt.Errorf("%w: %d bnode maps", ErrMalformed, n)
	}
	b = b[1:]
	dst = dst[:0]
	for i := 0; i < n; i++ {
		if len(b) < bnodeHeaderLen {
			return nil, fmt.Errorf("%w: bnode map %d truncated", ErrMalformed, i)
		}
		if len(dst) < cap(dst) {
			dst = dst[:i+1]
		} else {
			dst = append(dst, BnodeSnapshot{})
		}
		s := &dst[i]
		s.Level, s.Links = b[0], s.Links[:0]
		k := int(binary.BigEndian.Uint16(b[1:]))
		b = b[bnodeHeaderLen:]
		switch {
		case s.Level >= 15:
			return nil, fmt.Errorf("%w: bnode map level %d", ErrMalformed, s.Level)
		case k > maxBnodeLinks:
			return nil, fmt.Errorf("%w: %d bnode links", ErrMalformed, k)
		case len(b) < k*bnodeLinkLen:
			return nil, fmt.Errorf("%w: %d bnode links need %d bytes, have %d", ErrMalformed, k, k*bnodeLinkLen, len(b))
		}
		prev := int64(-1)
		for j := 0; j < k; j++ {
			l := BnodeLink{Bnode: b[0], Level: b[1], Gnode: b[2], Cost: binary.BigEndian.Uint32(b[3:])}
			b = b[bnodeLinkLen:]
			switch {
			case int64(l.key()) <= prev:
				return nil, fmt.Errorf("%w: bnode link %d out of order", ErrMalformed, j)
			case l.Level <= s.Level || l.Level >= 16:
				return nil, fmt.Errorf("%w: bnode link to level %d from a level-%d map", ErrMalformed, l.Level, s.Level)
			}
			prev = int64(l.key())
			s.Links = append(s.Links, l)
		}
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrMalformed, len(b))
	}
	return dst, nil
}

// Load replaces the links of b with those of a snapshot of the same level,
// keeping at most MaxLinks of them.
func (b *BnodeMap) Load(s *BnodeSnapshot) error {
	if s.Level != b.level {
		return fmt.Errorf("bnode map: level %d snapshot into level %d", s.Level, b.level)
	}
	if len(s.Links) > int(b.maxLinks) {
		return fmt.Errorf("%w: %d links, room for %d", ErrBnodeMapFull, len(s.Links), b.maxLinks)
	}
	b.links = append(b.links[:0], s.Links...)
	return nil
}
