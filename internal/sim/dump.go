package sim

import (
	"github.com/ntkd/ntkd/internal/node"
	"github.com/ntkd/ntkd/internal/oracle"
)

// Dump is the converged state in the shape `ntkd sim --dump` writes and
// internal/oracle checks: node addresses, directed link costs as each end's
// radar announced them, and every node's routes with their next hops.
func (s *Sim) Dump() *oracle.Dump {
	d := &oracle.Dump{}
	for i, sn := range s.nodes {
		dn := oracle.DumpNode{ID: i}
		if sn.alive && sn.n.State() == node.Hooked {
			dn.Addr = sn.n.Addr()
		}
		d.Nodes = append(d.Nodes, dn)
	}
	for li, l := range s.links {
		if !l.up {
			continue
		}
		ab, ba := s.cost(l.A, li), s.cost(l.B, li)
		if ab == 0 || ba == 0 {
			continue // not (yet) a neighbour on both sides
		}
		d.Links = append(d.Links, oracle.DumpLink{A: l.A, B: l.B, CostAB: int64(ab), CostBA: int64(ba)})
	}
	var rs []node.Route
	for i, sn := range s.nodes {
		if !sn.alive {
			continue
		}
		rs = sn.n.Routes(rs[:0])
		for _, r := range rs {
			dr := oracle.DumpRoute{Node: i, Dst: r.Prefix}
			for _, h := range r.Hops {
				dr.Hops = append(dr.Hops, oracle.Hop{Via: sn.ports[h.Iface].peer, Cost: int64(h.Cost)})
			}
			d.Routes = append(d.Routes, dr)
		}
	}
	return d
}

// cost is the link cost node i's radar announced for link li (0: none).
func (s *Sim) cost(i, li int) uint32 {
	sn := s.nodes[i]
	if !sn.alive {
		return 0
	}
	for iface, p := range sn.ports {
		if p.link == li {
			if nb := sn.n.Radar().Lookup(iface, radarPeer(p.peer)); nb != nil {
				return nb.Cost
			}
		}
	}
	return 0
}
