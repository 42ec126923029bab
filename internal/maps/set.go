package maps

import (
	"fmt"

	"github.com/ntkd/ntkd/internal/addr"
)

// Set is all the maps of one node: the internal map (Levels[0]), an external
// map per level above, and a border map for every level but the top one.
type Set struct {
	Levels []*Map
	Bnodes []*BnodeMap
}

// NewSet builds empty maps shaped by the address scheme, with our own slot
// marked at every level.
func NewSet(s *addr.Scheme, me addr.Position, maxRoutes, maxBnodeLinks int) (*Set, error) {
	set := &Set{}
	for l := 0; l < s.Levels(); l++ {
		m, err := New(l, s.Size(l), maxRoutes)
		if err != nil {
			return nil, fmt.Errorf("level %d map: %w", l, err)
		}
		if err := m.SetMe(me[l]); err != nil {
			return nil, fmt.Errorf("level %d map: %w", l, err)
		}
		set.Levels = append(set.Levels, m)
		if l < s.Levels()-1 {
			b, err := NewBnodeMap(l, maxBnodeLinks)
			if err != nil {
				return nil, fmt.Errorf("level %d bnode map: %w", l, err)
			}
			set.Bnodes = append(set.Bnodes, b)
		}
	}
	return set, nil
}

// Footprint is the bytes held by all the maps.
func (s *Set) Footprint() int {
	n := 0
	for _, m := range s.Levels {
		n += m.Footprint()
	}
	for _, b := range s.Bnodes {
		n += b.Footprint()
	}
	return n
}

// KernelRoutes is the number of routes the node installs: one per routed
// element of every level, at most 256 per level (768 for IPv4) whatever the
// size of the network.
func (s *Set) KernelRoutes() int {
	n := 0
	for _, m := range s.Levels {
		n += m.Routed()
	}
	return n
}

// RemoveGateway drops every route through a dead rnode at every level.
func (s *Set) RemoveGateway(gw uint8) int {
	n := 0
	for _, m := range s.Levels {
		n += m.RemoveGateway(gw)
	}
	return n
}
