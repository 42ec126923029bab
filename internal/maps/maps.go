// Package maps holds a node's knowledge of the network: the internal map
// (level 0: the nodes of its own gnode), one external map per higher level
// (the gnodes inside its gnode of the level above) and the border-node maps.
//
// Memory is the point of this package. A slot keeps at most MaxRoutes routes,
// each a fixed-size record {gateway rnode index, cost, refresh stamp} stored
// in flat per-map arrays: no pointers, no per-route allocation. A fully
// populated IPv4 network fits in well under 64 KiB (seed 001 estimated 144 KiB).
package maps

import (
	"errors"
	"fmt"
)

const (
	// DefaultMaxRoutes is MAXROUTES of seed 001 §5.1.
	DefaultMaxRoutes = 10
	// MaxMaxRoutes bounds the configurable MAXROUTES.
	MaxMaxRoutes = 32
	// NoGateway marks "no rnode": gateways are rnode indexes 0..254.
	NoGateway = 0xFF
	// MaxSlots is the size of a map of a full 8-bit level.
	MaxSlots = 256
)

// Route is one way to reach a map element: through the rnode with index Gw
// (an index into the node's neighbour table, not an address) at Cost.
type Route struct {
	Gw   uint8
	Cost uint32
}

var (
	ErrBadSize      = errors.New("bad map size")
	ErrBadMaxRoutes = errors.New("bad max routes")
	ErrBadGateway   = errors.New("bad gateway index")
	ErrBadID        = errors.New("id outside the map")
)

// Map is the map of one level: Size() slots indexed by IP2MAP id.
// The zero value is not usable; call New.
type Map struct {
	level     uint8
	maxRoutes uint8
	size      uint16
	me        int16 // our own slot (our node at level 0, our gnode above), -1 if unset

	n     []uint8  // routes in use per slot
	bcast []uint32 // broadcast cache: last broadcast pkt id accepted from each element (seed 001 §6)
	count []uint32 // nodes inside each gnode; nil for the internal map
	// fd is each slot's feasible distance: the least cost any route to it
	// had since the slot was last cleared or emptied (noRoute when none).
	// A neighbour whose own cost is below it is nearer to the element than
	// we ever were, so its routes never come back through us: the rule
	// that keeps multipath routes loop-free (see Feasible).
	fd []uint32

	// Route records, slot-major: slot s uses [s*maxRoutes, s*maxRoutes+n[s]),
	// sorted best first, at most one per gateway.
	gw    []uint8
	cost  []uint32
	stamp []uint8 // low 8 bits of the QSPN round that last refreshed the route
}

// New makes the map of level with size slots (1 << bits of that level),
// keeping up to maxRoutes routes per slot. External maps (level >= 1) also
// count the nodes of each gnode.
func New(level, size, maxRoutes int) (*Map, error) {
	if size < 1 || size > MaxSlots {
		return nil, fmt.Errorf("%w: %d slots, want 1..%d", ErrBadSize, size, MaxSlots)
	}
	if maxRoutes < 1 || maxRoutes > MaxMaxRoutes {
		return nil, fmt.Errorf("%w: %d, want 1..%d", ErrBadMaxRoutes, maxRoutes, MaxMaxRoutes)
	}
	if level < 0 || level > 255 {
		return nil, fmt.Errorf("bad level %d", level)
	}
	r := size * maxRoutes
	m := &Map{
		level: uint8(level), maxRoutes: uint8(maxRoutes), size: uint16(size), me: -1,
		n: make([]uint8, size), bcast: make([]uint32, size), fd: make([]uint32, size),
		gw: make([]uint8, r), cost: make([]uint32, r), stamp: make([]uint8, r),
	}
	if level > 0 {
		m.count = make([]uint32, size)
	}
	for i := range m.fd {
		m.fd[i] = noRoute
	}
	return m, nil
}

func (m *Map) Level() int     { return int(m.level) }
func (m *Map) Size() int      { return int(m.size) }
func (m *Map) MaxRoutes() int { return int(m.maxRoutes) }

// Footprint is the number of bytes of the map's arrays: the figure the
// memory budget is about.
func (m *Map) Footprint() int {
	return cap(m.n) + 4*cap(m.bcast) + 4*cap(m.count) + 4*cap(m.fd) + cap(m.gw) + 4*cap(m.cost) + cap(m.stamp) + mapHeader
}

// mapHeader approximates the Map struct itself (fields plus slice headers).
const mapHeader = 8 + 7*24

// noRoute is the feasible distance of a slot without routes.
const noRoute = ^uint32(0)

func (m *Map) check(id uint8) bool { return int(id) < int(m.size) }

// SetMe marks our own slot. It never holds routes.
func (m *Map) SetMe(id uint8) error {
	if !m.check(id) {
		return fmt.Errorf("%w: %d (size %d)", ErrBadID, id, m.size)
	}
	m.Clear(id)
	m.me = int16(id)
	return nil
}

// Me returns our own slot.
func (m *Map) Me() (uint8, bool) { return uint8(m.me), m.me >= 0 }

// Present says whether the element is known: ourselves or reachable.
func (m *Map) Present(id uint8) bool {
	return m.check(id) && (int16(id) == m.me || m.n[id] > 0)
}

// Len is the number of routes to id.
func (m *Map) Len(id uint8) int {
	if !m.check(id) {
		return 0
	}
	return int(m.n[id])
}

// Best returns the cheapest route to id.
func (m *Map) Best(id uint8) (Route, bool) {
	if !m.check(id) || m.n[id] == 0 {
		return Route{Gw: NoGateway}, false
	}
	b := int(id) * int(m.maxRoutes)
	return Route{m.gw[b], m.cost[b]}, true
}

// Routes appends the routes to id, best first, to dst.
func (m *Map) Routes(dst []Route, id uint8) []Route {
	if !m.check(id) {
		return dst
	}
	b := int(id) * int(m.maxRoutes)
	for i := 0; i < int(m.n[id]); i++ {
		dst = append(dst, Route{m.gw[b+i], m.cost[b+i]})
	}
	return dst
}

// Update offers a route to id through gw. An existing route through gw is
// replaced (its cost may rise or fall) and refreshed; a new gateway is
// added while there is room, or replaces the worst route if it is cheaper.
// It reports whether the routes of id changed. Our own slot takes no routes.
func (m *Map) Update(id, gw uint8, cost uint32, round uint8) (bool, error) {
	if !m.check(id) {
		return false, fmt.Errorf("%w: %d (size %d)", ErrBadID, id, m.size)
	}
	if gw == NoGateway {
		return false, ErrBadGateway
	}
	if int16(id) == m.me {
		return false, nil
	}
	b := int(id) * int(m.maxRoutes)
	n := int(m.n[id])
	i := 0
	for i < n && m.gw[b+i] != gw {
		i++
	}
	changed := true
	switch {
	case i < n: // known gateway: new cost
		changed = m.cost[b+i] != cost
	case n < int(m.maxRoutes):
		m.n[id]++
	case less(cost, gw, m.cost[b+n-1], m.gw[b+n-1]):
		i = n - 1 // evict the worst
	default:
		return false, nil
	}
	m.gw[b+i], m.cost[b+i], m.stamp[b+i] = gw, cost, round
	m.resort(b, int(m.n[id]), i)
	m.fd[id] = min(m.fd[id], cost)
	return changed, nil
}

// Feasible is the feasible distance of id: the least cost of any route to
// it since it was last cleared or left without routes; ^uint32(0) if none.
// A route through a neighbour whose own cost to id (the route's cost minus
// the link's) is below it cannot loop back through us, whatever the other
// nodes pick among their own feasible routes: along any path every node is
// strictly nearer than the one before (a neighbour's cost, as it told us,
// is never below its own feasible distance, which only falls until the
// element's next flood clears it everywhere).
func (m *Map) Feasible(id uint8) uint32 {
	if !m.check(id) {
		return noRoute
	}
	return m.fd[id]
}

// ShiftGateway adds delta (possibly negative) to the cost of every route
// through gw, saturating, when the link to that rnode changed cost: a
// route's cost stays the rnode's own cost plus the link's current one.
// The feasible distances only follow it down. It returns how many routes
// changed.
func (m *Map) ShiftGateway(gw uint8, delta int64) int {
	if delta == 0 {
		return 0
	}
	changed := 0
	for id := 0; id < int(m.size); id++ {
		b := id * int(m.maxRoutes)
		n := int(m.n[id])
		for i := 0; i < n; i++ {
			if m.gw[b+i] != gw {
				continue
			}
			c := int64(m.cost[b+i]) + delta
			switch {
			case m.cost[b+i] == noRoute:
				c = int64(noRoute) // saturated stays saturated
			case c < 0:
				c = 0
			case c > int64(noRoute):
				c = int64(noRoute)
			}
			m.cost[b+i] = uint32(c)
			m.resort(b, n, i)
			m.fd[id] = min(m.fd[id], uint32(c))
			changed++
			break // one route per gateway
		}
	}
	return changed
}

// less orders routes: cheaper first, then by gateway index so that the
// order, and so the chosen best route, is the same on every run.
func less(c1 uint32, g1 uint8, c2 uint32, g2 uint8) bool {
	return c1 < c2 || (c1 == c2 && g1 < g2)
}

// resort moves the record at i to its place; the others are already sorted.
func (m *Map) resort(b, n, i int) {
	for i > 0 && less(m.cost[b+i], m.gw[b+i], m.cost[b+i-1], m.gw[b+i-1]) {
		m.swap(b+i, b+i-1)
		i--
	}
	for i < n-1 && less(m.cost[b+i+1], m.gw[b+i+1], m.cost[b+i], m.gw[b+i]) {
		m.swap(b+i, b+i+1)
		i++
	}
}

func (m *Map) swap(x, y int) {
	m.gw[x], m.gw[y] = m.gw[y], m.gw[x]
	m.cost[x], m.cost[y] = m.cost[y], m.cost[x]
	m.stamp[x], m.stamp[y] = m.stamp[y], m.stamp[x]
}

// removeAt deletes record i of the slot starting at b, keeping order.
func (m *Map) removeAt(id uint8, b, i int) {
	n := int(m.n[id])
	copy(m.gw[b+i:b+n], m.gw[b+i+1:b+n])
	copy(m.cost[b+i:b+n], m.cost[b+i+1:b+n])
	copy(m.stamp[b+i:b+n], m.stamp[b+i+1:b+n])
	m.n[id]--
	if m.n[id] == 0 {
		// The element is gone from the map: forget its broadcasts too, so
		// whatever comes from it next is news.
		m.bcast[id] = 0
		m.fd[id] = noRoute
		if m.count != nil {
			m.count[id] = 0
		}
	}
}

// Remove drops the route to id through gw; it reports whether there was one.
func (m *Map) Remove(id, gw uint8) bool {
	if !m.check(id) {
		return false
	}
	b := int(id) * int(m.maxRoutes)
	for i := 0; i < int(m.n[id]); i++ {
		if m.gw[b+i] == gw {
			m.removeAt(id, b, i)
			return true
		}
	}
	return false
}

// RemoveGateway drops every route through gw (an rnode that died: fast
// failover) and returns how many routes went.
func (m *Map) RemoveGateway(gw uint8) int {
	removed := 0
	for id := 0; id < int(m.size); id++ {
		if m.Remove(uint8(id), gw) {
			removed++
		}
	}
	return removed
}

// Clear forgets an element: routes, node count and broadcast cache.
func (m *Map) Clear(id uint8) {
	if !m.check(id) {
		return
	}
	m.n[id] = 0
	m.bcast[id] = 0
	m.fd[id] = noRoute
	if m.count != nil {
		m.count[id] = 0
	}
}

// Age drops routes not refreshed during the last maxAge rounds (round is
// the current QSPN round) and returns how many went. Elements left without
// routes disappear from the map.
func (m *Map) Age(round, maxAge uint8) int {
	removed := 0
	for id := 0; id < int(m.size); id++ {
		b := id * int(m.maxRoutes)
		for i := 0; i < int(m.n[id]); {
			if round-m.stamp[b+i] > maxAge { // uint8 arithmetic: wraps like the round does
				m.removeAt(uint8(id), b, i)
				removed++
				continue
			}
			i++
		}
		if m.n[id] == 0 {
			m.bcast[id] = 0
			m.fd[id] = noRoute
		}
	}
	return removed
}

// Refresh marks every route of id as seen in round without changing it.
func (m *Map) Refresh(id, round uint8) {
	if !m.check(id) {
		return
	}
	b := int(id) * int(m.maxRoutes)
	for i := 0; i < int(m.n[id]); i++ {
		m.stamp[b+i] = round
	}
}

// AcceptBroadcast is the broadcast cache of seed 001 §6: a broadcast from
// element id is new only if its pkt id is after the last one accepted
// (serial-number order, so the 32-bit counter may wrap). New ids are stored.
func (m *Map) AcceptBroadcast(id uint8, pktID uint32) bool {
	if !m.check(id) {
		return false
	}
	last := m.bcast[id]
	if last != 0 && int32(pktID-last) <= 0 {
		return false
	}
	m.bcast[id] = pktID
	return true
}

// ResetBroadcasts forgets the last broadcast of every element, keeping
// their routes: after the round ids jumped further than a broadcast id can
// tell apart, the next flood of each element is news again.
func (m *Map) ResetBroadcasts() { clear(m.bcast) }

// LastBroadcast returns the cached pkt id of element id (0: none yet).
func (m *Map) LastBroadcast(id uint8) uint32 {
	if !m.check(id) {
		return 0
	}
	return m.bcast[id]
}

// SetCount records how many nodes the gnode id holds (external maps only).
func (m *Map) SetCount(id uint8, n uint32) {
	if m.count != nil && m.check(id) {
		m.count[id] = n
	}
}

// Count returns the nodes of gnode id; 0 on the internal map.
func (m *Map) Count(id uint8) uint32 {
	if m.count == nil || !m.check(id) {
		return 0
	}
	return m.count[id]
}

// Members returns how many elements are present, ourselves included.
func (m *Map) Members() int {
	k := 0
	for id := 0; id < int(m.size); id++ {
		if m.Present(uint8(id)) {
			k++
		}
	}
	return k
}

// Routed returns how many elements other than ourselves have a route: the
// number of kernel routes this map needs.
func (m *Map) Routed() int {
	k := 0
	for id := 0; id < int(m.size); id++ {
		if m.n[id] > 0 {
			k++
		}
	}
	return k
}

// RouteVia returns the route to id through gw and the round that last
// refreshed it.
func (m *Map) RouteVia(id, gw uint8) (Route, uint8, bool) {
	if !m.check(id) {
		return Route{Gw: NoGateway}, 0, false
	}
	b := int(id) * int(m.maxRoutes)
	for i := 0; i < int(m.n[id]); i++ {
		if m.gw[b+i] == gw {
			return Route{gw, m.cost[b+i]}, m.stamp[b+i], true
		}
	}
	return Route{Gw: NoGateway}, 0, false
}
