package maps

import (
	"errors"
	"fmt"
	"sort"
)

// DefaultMaxBnodeLinks bounds a bnode map: a gnode borders at most 255 other
// gnodes of its level and more border links than that add nothing to routing.
const DefaultMaxBnodeLinks = 256

var ErrBnodeMapFull = errors.New("bnode map full")

// BnodeLink says that border element Bnode of our gnode touches gnode Gnode
// of level Level (the highest level at which the two differ) at Cost.
type BnodeLink struct {
	Bnode uint8
	Level uint8
	Gnode uint8
	Cost  uint32
}

func (a BnodeLink) key() uint32 { return uint32(a.Bnode)<<16 | uint32(a.Level)<<8 | uint32(a.Gnode) }

// BnodeMap lists the border elements of our gnode of level Level()+1: the
// members of the level-Level() map that have links to other gnodes. QSPN of
// the upper levels counts them to know when the whole gnode is closed (seed
// 001 §5.3.1). Links are kept sorted by (bnode, level, gnode) in one array.
type BnodeMap struct {
	level    uint8
	maxLinks uint16
	links    []BnodeLink
}

// NewBnodeMap makes the border map of level with room for maxLinks links.
func NewBnodeMap(level, maxLinks int) (*BnodeMap, error) {
	if maxLinks < 1 || maxLinks > 4096 {
		return nil, fmt.Errorf("bnode map: %d links, want 1..4096", maxLinks)
	}
	if level < 0 || level > 255 {
		return nil, fmt.Errorf("bnode map: bad level %d", level)
	}
	return &BnodeMap{level: uint8(level), maxLinks: uint16(maxLinks), links: make([]BnodeLink, 0, maxLinks)}, nil
}

func (b *BnodeMap) Level() int     { return int(b.level) }
func (b *BnodeMap) Len() int       { return len(b.links) }
func (b *BnodeMap) MaxLinks() int  { return int(b.maxLinks) }
func (b *BnodeMap) Footprint() int { return cap(b.links)*8 + 8 + 24 }

func (b *BnodeMap) find(k uint32) (int, bool) {
	i := sort.Search(len(b.links), func(i int) bool { return b.links[i].key() >= k })
	return i, i < len(b.links) && b.links[i].key() == k
}

// Set adds or updates a link. It fails only when the map is full.
func (b *BnodeMap) Set(l BnodeLink) (bool, error) {
	i, ok := b.find(l.key())
	if ok {
		changed := b.links[i].Cost != l.Cost
		b.links[i].Cost = l.Cost
		return changed, nil
	}
	if len(b.links) >= int(b.maxLinks) {
		return false, fmt.Errorf("%w: %d links", ErrBnodeMapFull, len(b.links))
	}
	b.links = append(b.links, BnodeLink{})
	copy(b.links[i+1:], b.links[i:])
	b.links[i] = l
	return true, nil
}

// Remove drops one link; it reports whether it was there.
func (b *BnodeMap) Remove(bnode, level, gnode uint8) bool {
	i, ok := b.find(BnodeLink{Bnode: bnode, Level: level, Gnode: gnode}.key())
	if ok {
		b.links = append(b.links[:i], b.links[i+1:]...)
	}
	return ok
}

// RemoveBnode drops every link of a border element and returns how many.
func (b *BnodeMap) RemoveBnode(bnode uint8) int {
	i, _ := b.find(uint32(bnode) << 16)
	j, _ := b.find(uint32(bnode)<<16 | 0xFFFF)
	if j < len(b.links) && b.links[j].Bnode == bnode {
		j++
	}
	b.links = append(b.links[:i], b.links[j:]...)
	return j - i
}

// Links appends the links of bnode to dst.
func (b *BnodeMap) Links(dst []BnodeLink, bnode uint8) []BnodeLink {
	i, _ := b.find(uint32(bnode) << 16)
	for ; i < len(b.links) && b.links[i].Bnode == bnode; i++ {
		dst = append(dst, b.links[i])
	}
	return dst
}

// All returns the links in order. The slice is the map's own: do not keep it.
func (b *BnodeMap) All() []BnodeLink { return b.links }

// Bnodes counts the distinct border elements: the number of BNODE_CLOSED
// flags a gnode waits for before it opens (seed 001 §5.3.1).
func (b *BnodeMap) Bnodes() int {
	n := 0
	for i := range b.links {
		if i == 0 || b.links[i].Bnode != b.links[i-1].Bnode {
			n++
		}
	}
	return n
}

// IsBnode says whether element id has any external link.
func (b *BnodeMap) IsBnode(id uint8) bool {
	i, _ := b.find(uint32(id) << 16)
	return i < len(b.links) && b.links[i].Bnode == id
}
