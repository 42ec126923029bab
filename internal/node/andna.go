package node

import (
	"net/netip"

	"github.com/ntkd/ntkd/internal/andna"
	"github.com/ntkd/ntkd/internal/radar"
	"github.com/ntkd/ntkd/internal/wire"
)

// ANDNA returns the node's name system (nil when the config has none).
// Calls into it are events like any other: make them from the node's event
// loop, then collect Outbox.
func (n *Node) ANDNA() *andna.Engine { return n.andna }

// andnaHost is what ANDNA sees of the node.
type andnaHost struct{ n *Node }

// GnodeMembers lists the level-0 ids present in our level-1 gnode.
func (h andnaHost) GnodeMembers() []uint8 {
	n := h.n
	if n.maps == nil {
		return nil
	}
	m := n.maps.Levels[0]
	ids := []uint8{n.pos[0]}
	for id := 0; id < m.Size(); id++ {
		if uint8(id) != n.pos[0] && m.Present(uint8(id)) {
			ids = append(ids, uint8(id))
		}
	}
	return ids
}

// Bnode is the member of our gnode on our way out of it: the first hop of
// our best route to the nearest other gnode of level 1. A node with links
// out of the gnode is a border node itself and has none.
func (h andnaHost) Bnode() (netip.Addr, bool) {
	n := h.n
	if n.maps == nil || n.cfg.Scheme.Levels() < 2 {
		return netip.Addr{}, false
	}
	for _, nb := range n.radar.Neighbours() {
		if _, ll, ok := n.peer(nb); ok && ll >= 1 {
			return netip.Addr{}, false
		}
	}
	best, found := uint32(0), false
	var gw uint8
	m := n.maps.Levels[1]
	for id := 0; id < m.Size(); id++ {
		if r, ok := m.Best(uint8(id)); ok && (!found || r.Cost < best) {
			best, gw, found = r.Cost, r.Gw, true
		}
	}
	if !found {
		return netip.Addr{}, false
	}
	nb := n.radar.ByIndex(gw)
	if nb == nil || !nb.Addr.IsValid() {
		return netip.Addr{}, false
	}
	return nb.Addr, true
}

// syncANDNA keeps ANDNA's address in step with ours, runs the ANDNA hook
// once we join a gnode, and carries what ANDNA wants to send.
func (n *Node) syncANDNA() {
	e := n.andna
	if e == nil {
		return
	}
	want := netip.Addr{}
	if n.state == Hooked {
		want = n.ip
	}
	if e.Addr() != want {
		e.SetAddr(n.now, want)
		if want.IsValid() {
			var rnodes []netip.Addr
			for _, nb := range n.radar.Neighbours() {
				if _, ll, ok := n.peer(nb); ok && ll == 0 {
					rnodes = append(rnodes, nb.Addr)
				}
			}
			e.Hooked(n.now, rnodes)
		}
	}
	// Local deliveries may produce more packets: loop until quiet, bounded
	// so that a bug cannot spin forever.
	for range 64 {
		out := e.Outbox()
		if len(out) == 0 {
			return
		}
		for _, o := range out {
			n.sendANDNA(o)
		}
	}
	n.Stats.drop("ANDNA: too many local rounds")
}

// sendANDNA wraps one ANDNA packet in ROUTED and routes it (or spreads it
// inside our gnode).
func (n *Node) sendANDNA(o andna.Out) {
	if n.state != Hooked {
		n.Stats.drop("ANDNA: not hooked")
		return
	}
	inner := n.encode(o.ID, o.P)
	if inner == nil {
		return
	}
	if o.Spread {
		// Level 1, not NEAREST: for every member of our level-1 gnode; one
		// hop at a time, each member passing it on if it is new to it.
		r := &wire.Routed{TTL: 1, Level: 1, Dst: n.ip, Src: n.ip, Inner: inner}
		b := n.encode(0, r)
		if b == nil {
			return
		}
		for _, nb := range n.radar.Neighbours() {
			if _, ll, ok := n.peer(nb); ok && ll == 0 && nb.Cost > 0 {
				n.sendBytes(nb.Iface, nb.Peer, true, wire.OpRouted, b)
			}
		}
		return
	}
	r := &wire.Routed{TTL: wire.MaxRoutedTTL, Level: o.Level, Dst: o.Dst, Src: n.ip, Inner: inner}
	if o.Nearest {
		r.Flags = wire.RoutedNearest
	}
	n.route(r)
}

// onRouted takes a ROUTED packet from a neighbour.
func (n *Node) onRouted(iface int, from radar.PeerID, r *wire.Routed) {
	if n.state != Hooked {
		n.Stats.drop("ROUTED: not hooked")
		return
	}
	nb := n.radar.Lookup(iface, from)
	if nb == nil {
		n.Stats.drop("ROUTED: from a non-neighbour")
		return
	}
	if r.Dst.Is4() != n.ip.Is4() || r.Dst.Is4() != r.Src.Is4() {
		n.Stats.drop("ROUTED: wrong address family")
		return
	}
	if r.Flags&wire.RoutedNearest == 0 && r.Level >= 1 && r.TTL == 1 && n.andna != nil {
		// A spread: only from a member of our gnode, about our gnode.
		if _, ll, ok := n.peer(nb); !ok || ll != 0 || !n.cfg.Scheme.Contains(r.Dst) {
			n.Stats.drop("ROUTED: spread from outside the gnode")
			return
		}
		if p, err := n.cfg.Scheme.Position(r.Dst); err != nil || !n.cfg.Scheme.SameGnode(p, n.pos, 1) {
			n.Stats.drop("ROUTED: spread for another gnode")
			return
		}
		h, p, err := wire.Decode(r.Inner)
		if err != nil {
			n.Stats.drop("ROUTED: malformed inner packet")
			return
		}
		n.deliverANDNA(r, h, p, andna.Spread)
		return
	}
	r.TTL--
	n.route(r)
}

// route passes r towards its target or delivers it here. At each level,
// from the top, the target's element (with NEAREST: the existing element
// nearest the hash's id; the same choice every node of that gnode makes
// from the same map) is compared with ours; the first that differs says
// where to go.
func (n *Node) route(r *wire.Routed) {
	s := n.cfg.Scheme
	if !s.Contains(r.Dst) {
		n.Stats.drop("ROUTED: destination outside the mesh")
		return
	}
	target, err := s.Position(r.Dst)
	if err != nil {
		n.Stats.drop("ROUTED: bad destination")
		return
	}
	nearest := r.Flags&wire.RoutedNearest != 0
	for l := s.Levels() - 1; l >= int(r.Level); l-- {
		m := n.maps.Levels[l]
		id := target[l]
		if nearest {
			id = n.nearestElement(l, id)
		}
		if id == n.pos[l] {
			continue
		}
		rt, ok := m.Best(id)
		if !ok {
			n.Stats.drop("ROUTED: no route to the target")
			return
		}
		if r.TTL == 0 {
			n.Stats.drop("ROUTED: TTL ran out")
			return
		}
		nb := n.radar.ByIndex(rt.Gw)
		if nb == nil {
			n.Stats.drop("ROUTED: next hop gone")
			return
		}
		if b := n.encode(0, r); b != nil {
			n.sendBytes(nb.Iface, nb.Peer, true, wire.OpRouted, b)
		}
		return
	}
	h, p, err := wire.Decode(r.Inner)
	if err != nil {
		n.Stats.drop("ROUTED: malformed inner packet")
		return
	}
	if rt, ok := p.(*wire.VHookRoute); ok && !nearest {
		n.deliverVHook(r, rt)
		return
	}
	how := andna.Direct
	if nearest {
		how = andna.HashGnode
	}
	n.deliverANDNA(r, h, p, how)
}

// nearestElement is the element of level l nearest to id that exists in
// our map (ourselves included); ties go to the lower id.
func (n *Node) nearestElement(l int, id uint8) uint8 {
	m := n.maps.Levels[l]
	best, bestD := n.pos[l], absDiff(n.pos[l], id)
	for x := 0; x < m.Size(); x++ {
		if !m.Present(uint8(x)) {
			continue
		}
		if d := absDiff(uint8(x), id); d < bestD || (d == bestD && uint8(x) < best) {
			best, bestD = uint8(x), d
		}
	}
	return best
}

func absDiff(a, b uint8) int {
	if a > b {
		return int(a - b)
	}
	return int(b - a)
}

// deliverANDNA hands the inner packet of r to ANDNA.
func (n *Node) deliverANDNA(r *wire.Routed, h wire.Header, p wire.Payload, how andna.Delivery) {
	if n.andna == nil {
		n.Stats.drop("ROUTED: no ANDNA")
		return
	}
	switch h.Op {
	case wire.OpAndnaRegister, wire.OpAndnaCheckCounter, wire.OpAndnaCounterReply, wire.OpAndnaResolve,
		wire.OpAndnaResolveReply, wire.OpAndnaReverse, wire.OpAndnaReverseReply, wire.OpAndnaGetCache,
		wire.OpAndnaPutCache, wire.OpAndnaGetQueue, wire.OpAndnaPutQueue, wire.OpAck, wire.OpNack:
	default:
		n.Stats.drop("ROUTED: inner packet is not ANDNA")
		return
	}
	n.andna.Handle(n.now, r.Src, h.ID, p, how, r.Level)
}
