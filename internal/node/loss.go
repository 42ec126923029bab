package node

import (
	"github.com/ntkd/ntkd/internal/maps"
	"github.com/ntkd/ntkd/internal/radar"
	"github.com/ntkd/ntkd/internal/wire"
)

// Losses between rounds (docs/QSPN.md "Losses"). When a node loses the
// rnode its best route to an element went through, the nodes upstream keep
// sending it that element's traffic, and it sends it on along its next
// best route, often back towards them: a loop until the urgent round
// refreshes the maps. ROUTE_LOSS closes that gap at once, the way distance
// vectors do: the node tells each neighbour what the elements whose best
// route changed cost through it now, and "unreachable" to the neighbour its
// new best route goes through (poisoned reverse), so that one drops its
// route back through us instead of bouncing packets. A neighbour whose own
// best route changes because of it tells its neighbours in turn; one that
// still reaches an element another lost says how much it costs.
// A loss only removes routes or makes them dearer, so this dies out where a
// path remains; where none does (a gnode cut in two) it would count to
// infinity, and the budget (maxLosses) leaves that case to the round and
// the split check, as before.

// maxLosses bounds the ROUTE_LOSS announcements a node makes per level in
// one RoundSettle: enough for the few steps a real loss takes to settle,
// few enough that a count to infinity stops long before the round.
const maxLosses = 8

// removeGateway drops every route through a lost rnode and tells the
// neighbours what that changed.
func (n *Node) removeGateway(gw uint8) {
	for l, m := range n.maps.Levels {
		n.lossSnapshot(l)
		if m.RemoveGateway(gw) > 0 {
			n.routesVersion++
			n.announceLosses(l, gw)
		}
	}
	n.linkCosts[gw] = 0
}

// linkCost is the cost of the link to nb that routes learned through it
// carry (see Node.linkCosts): the radar's announced cost, as the maps last
// took it in.
func (n *Node) linkCost(nb *radar.Neighbour) uint32 {
	c := &n.linkCosts[nb.Index]
	if *c == 0 {
		*c = nb.Cost
	}
	return *c
}

// lossSnapshot notes the best route to every element of level l, before a
// change that can only take routes away or make them dearer.
func (n *Node) lossSnapshot(l int) {
	m := n.maps.Levels[l]
	for id := 0; id < m.Size(); id++ {
		n.lossBefore[id], _ = m.Best(uint8(id)) // Gw NoGateway when there is none
	}
}

// announceLosses tells the neighbours inside the gnode of level l+1 about
// every element of level l whose best route moved to another rnode or went
// since lossSnapshot (a route that only got dearer is left to the round:
// passing those on doubled the packets and saved no pair in the tests). skip is an rnode not to tell (the lost
// one).
func (n *Node) announceLosses(l int, skip uint8) {
	m := n.maps.Levels[l]
	var changed []uint8
	for id := 0; id < m.Size(); id++ {
		was := n.lossBefore[id]
		if now, _ := m.Best(uint8(id)); was.Gw != maps.NoGateway && (now.Gw != was.Gw) {
			changed = append(changed, uint8(id))
		}
	}
	if len(changed) == 0 {
		return
	}
	lv := &n.lv[l]
	if n.now-lv.lossesAt >= n.cfg.RoundSettle {
		lv.losses, lv.lossesAt = 0, n.now
	}
	if lv.losses >= maxLosses {
		n.Stats.LossesHeld++
		return
	}
	lv.losses++
	n.Stats.LossesSent++
	for i := 0; i < radar.MaxNeighbours; i++ {
		nb := n.radar.ByIndex(uint8(i))
		if nb == nil || nb.Cost == 0 || nb.Index == skip {
			continue
		}
		if _, ll, ok := n.peer(nb); !ok || ll < 0 || ll > l {
			continue // not inside the gnode these elements are in
		}
		p := &wire.Loss{Gnode: n.scopeID(l), Level: uint8(l), Round: lv.round, Entries: make([]wire.LossEntry, 0, len(changed))}
		for _, id := range changed {
			cost := wire.LossUnreachable
			if r, ok := m.Best(id); ok && r.Gw != nb.Index {
				cost = r.Cost
			}
			p.Entries = append(p.Entries, wire.LossEntry{ID: id, Cost: cost})
		}
		n.send(nb.Iface, nb.Peer, true, 0, p)
	}
}

// onLoss applies a neighbour's ROUTE_LOSS to our routes through it, and
// passes on what that changes for us.
func (n *Node) onLoss(iface int, from radar.PeerID, p *wire.Loss) {
	nb, ll, ok := n.meshSender(iface, from, "route loss while hooking", "route loss from a non-neighbour")
	if !ok {
		return
	}
	l := int(p.Level)
	if l >= len(n.maps.Levels) || p.Gnode != n.scopeID(l) || ll < 0 || ll > l {
		n.Stats.drop("route loss out of scope")
		return
	}
	m := n.maps.Levels[l]
	for _, e := range p.Entries {
		if int(e.ID) >= m.Size() {
			n.Stats.drop("route loss with a bad id")
			return
		}
	}
	n.lossSnapshot(l)
	changed := false
	var answer []wire.LossEntry
	for _, e := range p.Entries {
		r, stamp, had := m.RouteVia(e.ID, nb.Index)
		switch {
		case e.Cost == wire.LossUnreachable:
			if had {
				m.Remove(e.ID, nb.Index)
				changed = true
			}
			// It lost the element: if we reach it otherwise, say so, or
			// it has no way there until the round.
			if b, ok := m.Best(e.ID); ok && b.Gw != nb.Index {
				answer = append(answer, wire.LossEntry{ID: e.ID, Cost: b.Cost})
			}
		case !had:
			// A way we did not know: the floods that would have taught
			// it went elsewhere. The sender's best route does not come
			// back through us (it would have said unreachable); the
			// round confirms or replaces it.
			if ok, _ := m.Update(e.ID, nb.Index, addCost(n.linkCost(nb), e.Cost), n.stamp(l)); ok {
				changed = true
			}
		default:
			// Only dearer: a loss never makes a known route cheaper, and
			// a lower cost here would be older news than the floods'.
			if c := addCost(n.linkCost(nb), e.Cost); c > r.Cost {
				m.Update(e.ID, nb.Index, c, stamp)
				changed = true
			}
		}
	}
	if changed {
		n.routesVersion++
		// The sender too: what we cost now is news to it.
		n.announceLosses(l, maps.NoGateway)
	}
	if len(answer) > 0 {
		n.send(nb.Iface, nb.Peer, true, 0, &wire.Loss{Gnode: p.Gnode, Level: p.Level, Round: n.lv[l].round, Entries: answer})
	}
}
