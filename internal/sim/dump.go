package sim

import (
	"github.com/ntkd/ntkd/internal/node"
	"github.com/ntkd/ntkd/internal/oracle"
)

// Dump is the converged state in the shape `ntkd sim --dump` writes and
// internal/oracle checks: node addresses, directed link costs as each end's
// radar announced them, and every node's routes with their next hops. Ids
// are simulator indexes when every node runs; when some are dead or not
// hooked, the dump holds the running ones renumbered (SimID keeps the index).
func (s *Sim) Dump() *oracle.Dump {
	var members []int
	for i, sn := range s.nodes {
		if sn.alive && sn.n.State() == node.Hooked {
			members = append(members, i)
		}
	}
	return s.dumpOf(members)
}

// Components dumps every connected part of the running network (alive,
// hooked nodes over links that are up and known to both ends) separately:
// after a partition each part must route inside itself.
func (s *Sim) Components() []*oracle.Dump {
	parent := make([]int, len(s.nodes))
	for i := range parent {
		parent[i] = i
	}
	var find func(int) int
	find = func(x int) int {
		for parent[x] != x {
			parent[x] = parent[parent[x]]
			x = parent[x]
		}
		return x
	}
	for li, l := range s.links {
		if l.up && s.cost(l.A, li) > 0 && s.cost(l.B, li) > 0 && s.running(l.A) && s.running(l.B) {
			parent[find(l.A)] = find(l.B)
		}
	}
	groups := map[int][]int{}
	var roots []int
	for i := range s.nodes {
		if !s.running(i) {
			continue
		}
		r := find(i)
		if groups[r] == nil {
			roots = append(roots, r)
		}
		groups[r] = append(groups[r], i)
	}
	var out []*oracle.Dump
	for _, r := range roots {
		out = append(out, s.dumpOf(groups[r]))
	}
	return out
}

func (s *Sim) running(i int) bool {
	return s.nodes[i].alive && s.nodes[i].n.State() == node.Hooked
}

func (s *Sim) dumpOf(members []int) *oracle.Dump {
	d := &oracle.Dump{}
	id := make(map[int]int, len(members))
	for k, i := range members {
		id[i] = k
		d.Nodes = append(d.Nodes, oracle.DumpNode{ID: k, SimID: i, Addr: s.nodes[i].n.Addr()})
	}
	for li, l := range s.links {
		a, okA := id[l.A]
		b, okB := id[l.B]
		if !l.up || !okA || !okB {
			continue
		}
		ab, ba := s.cost(l.A, li), s.cost(l.B, li)
		if ab == 0 || ba == 0 {
			continue // not (yet) a neighbour on both sides
		}
		d.Links = append(d.Links, oracle.DumpLink{A: a, B: b, CostAB: int64(ab), CostBA: int64(ba)})
	}
	var rs []node.Route
	for _, i := range members {
		sn := s.nodes[i]
		rs = sn.n.Routes(rs[:0])
		for _, r := range rs {
			dr := oracle.DumpRoute{Node: id[i], Dst: r.Prefix}
			for _, h := range r.Hops {
				if via, ok := id[sn.ports[h.Iface].peer]; ok {
					dr.Hops = append(dr.Hops, oracle.Hop{Via: via, Cost: int64(h.Cost)})
				}
			}
			if len(dr.Hops) > 0 {
				d.Routes = append(d.Routes, dr)
			}
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
