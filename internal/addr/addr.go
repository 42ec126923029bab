// Package addr maps Netsukuku's hierarchical positions onto IP addresses.
//
// An address is a fixed network prefix followed by one group of bits per level.
// Level 0 is the lowest group (the node's id inside its gnode), level 1 the
// next one up, and so on. Inside a level an element (node or gnode) is named by
// its IP2MAP id: the value of that level's bits, never more than one byte.
package addr

import (
	"errors"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"net/netip"
)

const (
	// MaxLevels bounds the hierarchy depth: IPv6 ULA with 8 bits per level
	// needs 15, and every level costs a map.
	MaxLevels = 16
	// MaxBits is the widest level: ids travel as one byte (IP2MAP).
	MaxBits = 8
	// MaxGroupNode is the number of slots of a full 8-bit level.
	MaxGroupNode = 1 << MaxBits
)

var (
	ErrNotPrivate   = errors.New("prefix is not inside 10.0.0.0/8, 172.16.0.0/12 or fc00::/7 (restricted mode)")
	ErrBadBits      = errors.New("bad bits per level")
	ErrOutOfScheme  = errors.New("address outside the mesh prefix")
	ErrReservedID   = errors.New("reserved id")
	ErrIDOutOfRange = errors.New("id out of range")
	ErrBadLevel     = errors.New("level out of range")
	ErrNoFreeID     = errors.New("no free id")
)

// Restricted-mode ranges (seed 001 §11): ntkd never takes addresses that could
// collide with the Internet or with the router's own default route.
var privateRanges = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("fc00::/7"),
}

// Position is a node's id at every level, level 0 first. Entries past
// Scheme.Levels() are zero.
type Position [MaxLevels]uint8

// Scheme is the layout of addresses in one mesh. It is immutable once built.
type Scheme struct {
	prefix netip.Prefix
	v4     bool
	levels int
	bits   [MaxLevels]uint8
	shift  [MaxLevels]uint8 // bit offset of each level from the least significant bit
}

// DefaultBits splits the host part of prefix into levels of 8 bits, level 0
// first; a last, narrower level takes the remainder (172.16.0.0/12 -> 8,8,4).
func DefaultBits(prefix netip.Prefix) []uint8 {
	host := prefix.Addr().BitLen() - prefix.Bits()
	var out []uint8
	for host > 0 {
		b := min(host, MaxBits)
		out = append(out, uint8(b))
		host -= b
	}
	return out
}

// NewScheme checks prefix and the bits of each level (level 0 first). The
// levels may use fewer bits than the prefix leaves; the unused high bits are
// zero. Level 0 needs at least 2 bits because ids 0 (and all-ones on IPv4)
// are reserved.
func NewScheme(prefix netip.Prefix, levelBits []uint8) (*Scheme, error) {
	if !prefix.IsValid() {
		return nil, fmt.Errorf("invalid prefix %v", prefix)
	}
	prefix = prefix.Masked()
	if !isPrivate(prefix) {
		return nil, fmt.Errorf("%v: %w", prefix, ErrNotPrivate)
	}
	if len(levelBits) == 0 || len(levelBits) > MaxLevels {
		return nil, fmt.Errorf("%w: %d levels, want 1..%d", ErrBadBits, len(levelBits), MaxLevels)
	}
	s := &Scheme{prefix: prefix, v4: prefix.Addr().Is4(), levels: len(levelBits)}
	total := 0
	for l, b := range levelBits {
		if b < 1 || b > MaxBits {
			return nil, fmt.Errorf("%w: level %d has %d bits, want 1..%d", ErrBadBits, l, b, MaxBits)
		}
		s.bits[l] = b
		s.shift[l] = uint8(total)
		total += int(b)
	}
	if levelBits[0] < 2 {
		return nil, fmt.Errorf("%w: level 0 needs at least 2 bits", ErrBadBits)
	}
	if host := prefix.Addr().BitLen() - prefix.Bits(); total > host {
		return nil, fmt.Errorf("%w: levels use %d bits but %v leaves %d", ErrBadBits, total, prefix, host)
	}
	return s, nil
}

// Default returns the restricted IPv4 scheme: 10.0.0.0/8, three levels of 8 bits.
func Default() *Scheme {
	p := netip.MustParsePrefix("10.0.0.0/8")
	s, err := NewScheme(p, DefaultBits(p))
	if err != nil {
		panic(err) // a constant input: cannot fail
	}
	return s
}

func isPrivate(p netip.Prefix) bool {
	for _, r := range privateRanges {
		if r.Addr().Is4() == p.Addr().Is4() && r.Bits() <= p.Bits() && r.Contains(p.Addr()) {
			return true
		}
	}
	return false
}

func (s *Scheme) Prefix() netip.Prefix { return s.prefix }
func (s *Scheme) Is4() bool            { return s.v4 }
func (s *Scheme) Levels() int          { return s.levels }

// Bits returns the width of a level; 0 for levels the scheme does not have.
func (s *Scheme) Bits(level int) int {
	if level < 0 || level >= s.levels {
		return 0
	}
	return int(s.bits[level])
}

// Size is the number of ids of a level, reserved ones included.
func (s *Scheme) Size(level int) int { return 1 << s.Bits(level) }

// String renders the scheme as prefix and bits, e.g. "10.0.0.0/8 [8 8 8]".
func (s *Scheme) String() string {
	return fmt.Sprintf("%v %v", s.prefix, s.bits[:s.levels])
}

// ValidID says whether id may name an element of level. Level 0 reserves id 0
// and, on IPv4, the all-ones id: as a last octet they are the .0/.255 that
// many hosts and tools treat as network/broadcast.
func (s *Scheme) ValidID(level int, id uint8) error {
	if level < 0 || level >= s.levels {
		return fmt.Errorf("%w: %d (scheme has %d levels)", ErrBadLevel, level, s.levels)
	}
	max := s.Size(level) - 1
	if int(id) > max {
		return fmt.Errorf("%w: %d at level %d (max %d)", ErrIDOutOfRange, id, level, max)
	}
	if level == 0 && (id == 0 || (s.v4 && int(id) == max)) {
		return fmt.Errorf("%w: %d at level 0", ErrReservedID, id)
	}
	return nil
}

// u128 holds an address as a 128-bit number (IPv4 in the low 32 bits).
type u128 struct{ hi, lo uint64 }

func toU128(a netip.Addr) u128 {
	if a.Is4() {
		b := a.As4()
		return u128{lo: uint64(b[0])<<24 | uint64(b[1])<<16 | uint64(b[2])<<8 | uint64(b[3])}
	}
	b := a.As16()
	var x u128
	for i := 0; i < 8; i++ {
		x.hi = x.hi<<8 | uint64(b[i])
		x.lo = x.lo<<8 | uint64(b[8+i])
	}
	return x
}

func (s *Scheme) fromU128(x u128) netip.Addr {
	if s.v4 {
		v := uint32(x.lo)
		return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
	}
	var b [16]byte
	for i := 0; i < 8; i++ {
		b[7-i] = byte(x.hi >> (8 * i))
		b[15-i] = byte(x.lo >> (8 * i))
	}
	return netip.AddrFrom16(b)
}

// field reads n bits at offset off (from the least significant bit).
// Levels never straddle the 64-bit halves unless off+n crosses 64.
func (x u128) field(off, n uint8) uint8 {
	mask := uint64(1)<<n - 1
	switch {
	case off >= 64:
		return uint8(x.hi >> (off - 64) & mask)
	case off+n <= 64:
		return uint8(x.lo >> off & mask)
	default:
		low := x.lo >> off
		high := x.hi << (64 - off)
		return uint8((low | high) & mask)
	}
}

func (x *u128) setField(off, n, v uint8) {
	for i := uint8(0); i < n; i++ {
		bit := uint64(v>>i) & 1
		p := off + i
		if p >= 64 {
			x.hi = x.hi&^(1<<(p-64)) | bit<<(p-64)
		} else {
			x.lo = x.lo&^(1<<p) | bit<<p
		}
	}
}

// Contains says whether a belongs to the mesh prefix.
func (s *Scheme) Contains(a netip.Addr) bool {
	return a.Is4() == s.v4 && s.prefix.Contains(a.Unmap())
}

// Position splits a mesh address into its ids, checking that it is a
// usable node address (inside the prefix, unused bits zero, valid level-0 id).
func (s *Scheme) Position(a netip.Addr) (Position, error) {
	a = a.Unmap()
	var p Position
	if !s.Contains(a) {
		return p, fmt.Errorf("%v: %w %v", a, ErrOutOfScheme, s.prefix)
	}
	x := toU128(a)
	top := s.shift[s.levels-1] + s.bits[s.levels-1]
	hostBits := uint8(a.BitLen() - s.prefix.Bits())
	for i := top; i < hostBits; i++ {
		var probe u128
		probe.setField(i, 1, 1)
		if x.hi&probe.hi != 0 || x.lo&probe.lo != 0 {
			return p, fmt.Errorf("%v: %w: bits above level %d must be zero", a, ErrOutOfScheme, s.levels-1)
		}
	}
	for l := 0; l < s.levels; l++ {
		p[l] = x.field(s.shift[l], s.bits[l])
	}
	if err := s.ValidID(0, p[0]); err != nil {
		return p, fmt.Errorf("%v: %w", a, err)
	}
	return p, nil
}

// ID returns a's IP2MAP id at level, without validating a.
func (s *Scheme) ID(a netip.Addr, level int) uint8 {
	if level < 0 || level >= s.levels {
		return 0
	}
	return toU128(a.Unmap()).field(s.shift[level], s.bits[level])
}

// Addr builds the address of a position, validating every id.
func (s *Scheme) Addr(p Position) (netip.Addr, error) {
	for l := 0; l < s.levels; l++ {
		if err := s.ValidID(l, p[l]); err != nil {
			return netip.Addr{}, err
		}
	}
	return s.addr(p, 0), nil
}

// addr places the ids of levels >= from onto the prefix; lower levels are zero.
func (s *Scheme) addr(p Position, from int) netip.Addr {
	x := toU128(s.prefix.Addr())
	for l := from; l < s.levels; l++ {
		x.setField(s.shift[l], s.bits[l], p[l])
	}
	return s.fromU128(x)
}

// ElementPrefix is the range of addresses of the element p[level] of the map
// at level, inside the gnodes p names above it: the destination of the kernel
// route towards that element. Level 0 gives the node's host route (/32 or
// /128), level 1 the gnode of level 1 (/24 in the default scheme), and so on.
func (s *Scheme) ElementPrefix(p Position, level int) (netip.Prefix, error) {
	if level < 0 || level >= s.levels {
		return netip.Prefix{}, fmt.Errorf("%w: %d", ErrBadLevel, level)
	}
	if int(p[level]) >= s.Size(level) {
		return netip.Prefix{}, fmt.Errorf("%w: %d at level %d", ErrIDOutOfRange, p[level], level)
	}
	plen := s.prefix.Addr().BitLen() - int(s.shift[level])
	return netip.PrefixFrom(s.addr(p, level), plen), nil
}

// GnodePrefix is the range covered by the gnode of level (>= 1) that holds
// the node at p: the node's own group at that level.
func (s *Scheme) GnodePrefix(p Position, level int) (netip.Prefix, error) {
	if level < 1 || level > s.levels {
		return netip.Prefix{}, fmt.Errorf("%w: %d", ErrBadLevel, level)
	}
	if level == s.levels {
		return s.prefix, nil
	}
	return s.ElementPrefix(p, level)
}

// SameGnode says whether two positions share their gnode of level (>= 1),
// that is, all ids from level up.
func (s *Scheme) SameGnode(a, b Position, level int) bool {
	for l := level; l < s.levels; l++ {
		if a[l] != b[l] {
			return false
		}
	}
	return true
}

// IDSet is a set of ids of one level: 256 bits, no allocation. It is also
// the free-nodes bitmap carried on the wire.
type IDSet [MaxGroupNode / 64]uint64

func (t *IDSet) Add(id uint8)      { t[id>>6] |= 1 << (id & 63) }
func (t *IDSet) Remove(id uint8)   { t[id>>6] &^= 1 << (id & 63) }
func (t *IDSet) Has(id uint8) bool { return t[id>>6]&(1<<(id&63)) != 0 }
func (t *IDSet) Len() int {
	n := 0
	for _, w := range t {
		n += bits.OnesCount64(w)
	}
	return n
}

// FreeIDs returns the valid ids of level that are not in taken.
func (s *Scheme) FreeIDs(level int, taken *IDSet) IDSet {
	var free IDSet
	if level < 0 || level >= s.levels {
		return free
	}
	for id := 0; id < s.Size(level); id++ {
		if !taken.Has(uint8(id)) && s.ValidID(level, uint8(id)) == nil {
			free.Add(uint8(id))
		}
	}
	return free
}

// RandomFreeID picks uniformly among the valid ids of level not in taken.
func (s *Scheme) RandomFreeID(level int, taken *IDSet, r *rand.Rand) (uint8, error) {
	if level < 0 || level >= s.levels {
		return 0, fmt.Errorf("%w: %d", ErrBadLevel, level)
	}
	free := s.FreeIDs(level, taken)
	n := free.Len()
	if n == 0 {
		return 0, fmt.Errorf("level %d: %w", level, ErrNoFreeID)
	}
	k := r.IntN(n)
	for id := 0; id < s.Size(level); id++ {
		if free.Has(uint8(id)) {
			if k == 0 {
				return uint8(id), nil
			}
			k--
		}
	}
	panic("unreachable: free set changed under us")
}

// RandomPosition draws a random valid position: what a lonely node uses
// when it creates a new gnode (seed 001 §5.2, §5.3.2).
func (s *Scheme) RandomPosition(r *rand.Rand) Position {
	var p Position
	var none IDSet
	for l := 0; l < s.levels; l++ {
		id, err := s.RandomFreeID(l, &none, r)
		if err != nil {
			panic(err) // every level has a valid id: NewScheme guarantees it
		}
		p[l] = id
	}
	return p
}
