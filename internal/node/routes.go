package node

import (
	"net/netip"

	"github.com/ntkd/ntkd/internal/maps"
	"github.com/ntkd/ntkd/internal/radar"
)

// Hop is one nexthop of a kernel route.
type Hop struct {
	Iface int
	Peer  radar.PeerID
	Gw    uint8 // rnode index
	Cost  uint32
}

// Route is what the kernel gets for one map element: its prefix (a host
// route at level 0, the gnode's range above) and its nexthops, best first.
type Route struct {
	Prefix netip.Prefix
	Level  int
	ID     uint8
	Hops   []Hop
}

// Routes appends the node's route table to dst: one route per reachable
// element of every level, so at most 256 per level (768 for IPv4) whatever
// the size of the network.
func (n *Node) Routes(dst []Route) []Route {
	if n.state != Hooked {
		return dst
	}
	// Every route's nexthops are carved from one array, sized for all the
	// routes of the maps: one allocation per table instead of a few per
	// route.
	total := 0
	for _, m := range n.maps.Levels {
		for id := 0; id < m.Size(); id++ {
			total += m.Len(uint8(id))
		}
	}
	hops := make([]Hop, 0, total)
	var arr [maps.MaxMaxRoutes]maps.Route
	buf := arr[:0]
	for l, m := range n.maps.Levels {
		for id := 0; id < m.Size(); id++ {
			if m.Len(uint8(id)) == 0 {
				continue
			}
			p := n.pos
			p[l] = uint8(id)
			prefix, err := n.cfg.Scheme.ElementPrefix(p, l)
			if err != nil {
				continue
			}
			r := Route{Prefix: prefix, Level: l, ID: uint8(id)}
			buf = m.Routes(buf[:0], uint8(id))
			first := len(hops)
			// The kernel hashes each flow onto any of a route's hops, at
			// every node on the way: a hop goes to the kernel only if its
			// rnode is nearer to the element than we ever were since its
			// last flood (its own cost, the route's minus the link's, below
			// our feasible distance). Then no choice of hops anywhere
			// comes back (maps.Map.Feasible).
			fd := m.Feasible(uint8(id))
			for _, rt := range buf {
				nb := n.radar.ByIndex(rt.Gw)
				if nb == nil {
					continue
				}
				link := n.linkCost(nb)
				if rt.Cost < link || rt.Cost-link >= fd {
					continue
				}
				hops = append(hops, Hop{Iface: nb.Iface, Peer: nb.Peer, Gw: rt.Gw, Cost: rt.Cost})
			}
			if len(hops) == first && len(buf) > 0 {
				// None is: only after a loss took the routes that were,
				// until the element's next flood. The best one is all we
				// have; better a route that may loop for a moment than
				// none.
				if nb := n.radar.ByIndex(buf[0].Gw); nb != nil {
					hops = append(hops, Hop{Iface: nb.Iface, Peer: nb.Peer, Gw: buf[0].Gw, Cost: buf[0].Cost})
				}
			}
			if len(hops) > first {
				r.Hops = hops[first:len(hops):len(hops)] // an append by the caller copies
				dst = append(dst, r)
			}
		}
	}
	return dst
}

// LevelInfo is what a node knows about one of its levels, for `ntkd ctl`
// and tests.
type LevelInfo struct {
	Round   uint32 // current QSPN round of the level
	Settled bool   // the round's floods are over
	Nonce   uint32 // our element's identity at this level
	Members int    // elements of the level's map present (ourselves included)
}

// Level describes level l; the zero value before the node hooks.
func (n *Node) Level(l int) LevelInfo {
	if n.state != Hooked || l < 0 || l >= len(n.lv) {
		return LevelInfo{}
	}
	return LevelInfo{Round: n.lv[l].round, Settled: n.lv[l].settled, Nonce: n.nonces[l], Members: n.maps.Levels[l].Members()}
}

// RoundPending says whether the node still waits to start a round.
func (n *Node) RoundPending() bool {
	for i := range n.lv {
		if n.lv[i].pending {
			return true
		}
	}
	return false
}

// PhysicalRoute says whether the node reaches dst over physical links
// only: through a neighbour on a physical interface, at a cost below that
// of any virtual link (radar.Config.VirtualCost), so that no tunnel lies
// further along either. A tunnel to a node reached so is redundant (seed
// 002, "Removal of virtual links"). The route is the one to the element
// holding dst in our maps: its gnode, when dst is outside our own.
func (n *Node) PhysicalRoute(dst netip.Addr) bool {
	if n.state != Hooked {
		return false
	}
	p, err := n.cfg.Scheme.Position(dst)
	if err != nil {
		return false
	}
	l := n.cfg.Scheme.Levels() - 1
	for l >= 0 && p[l] == n.pos[l] {
		l--
	}
	if l < 0 {
		return false // ourselves
	}
	limit := n.cfg.Radar.VirtualCost.Microseconds()
	for _, rt := range n.maps.Levels[l].Routes(nil, p[l]) {
		nb := n.radar.ByIndex(rt.Gw)
		if nb != nil && !n.Virtual(nb.Iface) && int64(rt.Cost) < limit {
			return true
		}
	}
	return false
}
