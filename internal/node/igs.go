package node

import (
	"net/netip"
	"slices"
	"sort"
	"time"

	"github.com/ntkd/ntkd/internal/wire"
)

// Internet gateway sharing (NTK_RFC 0003, docs/IGS.md). A gateway's floods
// of level 0 say so; every element of level L announces in its floods of
// level L the best gateways inside it (up to wire.MaxGateways, by
// bandwidth), with their position below L. So every node learns, with the
// routes, the full address of the best gateways of every element it has a
// route to, without knowing the inside of other gnodes.

// Gateway is an Internet gateway the node has a route to.
type Gateway struct {
	Addr      netip.Addr
	Level     int    // level of the element holding it in our maps
	Bandwidth uint32 // kbit/s, as announced
	Cost      uint32 // of our best route to that element
}

// SetGateway makes the node an Internet gateway announcing bandwidth
// kbit/s, or no gateway with 0. The change goes out with the next round;
// a withdrawal is urgent (clients still send through us).
func (n *Node) SetGateway(now time.Duration, bandwidth uint32) {
	n.now = now
	if n.gwBandwidth == bandwidth {
		return
	}
	n.gwBandwidth = bandwidth
	n.gwVersion++
	n.Tick(now)
}

// GatewayBandwidth is what SetGateway set.
func (n *Node) GatewayBandwidth() uint32 { return n.gwBandwidth }

// Gateways appends every other gateway the node has a route to, with the
// cost of that route, to dst.
func (n *Node) Gateways(dst []Gateway) []Gateway {
	if n.state != Hooked {
		return dst
	}
	start := len(dst)
	defer func() {
		// sort, not slices: one generic sort less in the router binary.
		out := dst[start:]
		sort.Slice(out, func(i, j int) bool {
			return out[i].Level < out[j].Level || (out[i].Level == out[j].Level && out[i].Addr.Less(out[j].Addr))
		})
	}()
	for l := range n.lv {
		m := n.maps.Levels[l]
		for id, gws := range n.lv[l].gws {
			best, ok := m.Best(id)
			if id == n.pos[l] || !ok {
				continue
			}
			cost := best.Cost
			for _, g := range gws {
				p := n.pos
				p[l] = id
				copy(p[:l], g.Position[:l])
				a, err := n.cfg.Scheme.Addr(p)
				if err != nil {
					continue
				}
				dst = append(dst, Gateway{Addr: a, Level: l, Bandwidth: g.Bandwidth, Cost: cost})
			}
		}
	}
	return dst
}

// gatewaysIn lists the best gateways inside our element of level l, with
// their positions below l: what our floods of level l announce. Every
// member of the element computes the same list once the levels below
// settled.
func (n *Node) gatewaysIn(l int) []wire.Gateway {
	if l == 0 {
		if n.gwBandwidth == 0 {
			return nil
		}
		return []wire.Gateway{{Bandwidth: n.gwBandwidth}}
	}
	k := l - 1
	var all []wire.Gateway
	for _, g := range n.gatewaysIn(k) {
		g.Position[k] = n.pos[k]
		all = append(all, g)
	}
	m := n.maps.Levels[k]
	for id, gws := range n.lv[k].gws {
		if id == n.pos[k] || m.Len(id) == 0 {
			continue
		}
		for _, g := range gws {
			g.Position[k] = id
			all = append(all, g)
		}
	}
	sort.Slice(all, func(i, j int) bool {
		a, b := &all[i], &all[j]
		if a.Bandwidth != b.Bandwidth {
			return a.Bandwidth > b.Bandwidth
		}
		return string(a.Position[:l]) < string(b.Position[:l])
	})
	return all[:min(len(all), wire.MaxGateways)]
}

// learnGateways keeps what the newest flood of origin at level l says of
// the gateways inside it.
func (n *Node) learnGateways(l int, origin uint8, gws []wire.Gateway) {
	lv := &n.lv[l]
	old := lv.gws[origin]
	if slices.Equal(old, gws) {
		return
	}
	if len(gws) == 0 {
		delete(lv.gws, origin)
	} else {
		if lv.gws == nil {
			lv.gws = map[uint8][]wire.Gateway{}
		}
		lv.gws[origin] = append(old[:0:0], gws...)
	}
	n.gwVersion++
	n.routesVersion++
}

// checkGateways asks for a round at every level whose announcement
// changed since our last floods there. Called from Tick: cheap unless
// routes or gateways changed.
func (n *Node) checkGateways() {
	v := n.gwVersion + n.routesVersion
	if v == n.gwChecked {
		return
	}
	n.gwChecked = v
	for l := range n.lv {
		now := n.gatewaysIn(l)
		lv := &n.lv[l]
		if slices.Equal(now, lv.announced) {
			continue
		}
		lost := len(now) < len(lv.announced)
		lv.announced = now
		if lv.announcedOnce || len(now) > 0 {
			n.want(l, false, "gateways changed")
			// A gateway gone may still be chosen by clients: tell them
			// as soon as a repair would.
			lv.urgent = lv.urgent || lost
			if lost && l == 0 {
				// Our own withdrawal reaches our gnode at once with a
				// tracer, as a lost link does; the gnodes above hear it
				// with the urgent round (their floods have one id a round).
				n.originate(0, wire.OpTracerPkt)
			}
		}
		lv.announcedOnce = true
	}
}
