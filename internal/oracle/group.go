package oracle

import "net/netip"

// CheckShortestInsideGroup checks, for every ordered pair of distinct nodes
// in the same group, that the cost of src's best hop on its route to dst's
// host prefix (/32 or /128) equals the shortest path cost from src to dst
// using only links with both ends in the group. Inside its gnode a node's
// int map must hold exact shortest routes; between gnodes the hierarchy
// trades optimality for size, so this check is per group.
//
// group maps a node to its group name; nodes mapped to "" are in no group.
// Pairs that cannot reach each other inside their group (the group is split)
// are Skipped, not failed. A missing host route is NoRoute; a mismatch is
// NotShortest or BelowShortest, with both costs in the example.
func CheckShortestInsideGroup(d *Dump, group func(node int) string) Report {
	g, err := d.index()
	if err != nil {
		return Report{Check: "shortest-inside-group", Unit: "pairs", Err: err}
	}
	rep := newReport("shortest-inside-group", "pairs")
	gid := make([]int32, g.n)
	ids := map[string]int32{}
	var members [][]int32
	for x := range g.n {
		name := group(x)
		if name == "" {
			gid[x] = -1
			continue
		}
		id, ok := ids[name]
		if !ok {
			id = int32(len(members))
			ids[name] = id
			members = append(members, nil)
		}
		gid[x] = id
		members[id] = append(members[id], int32(x))
	}
	dj := newDijkstra(g)
	// exact[x] is x's route to the current dst's host prefix, when
	// exactGen[x] == dst+1.
	exact := make([]int32, g.n)
	exactGen := make([]int32, g.n)
	for id, ms := range members {
		for _, dst := range ms {
			dist := dj.run(dst, true, gid, int32(id))
			host := g.host(int(dst))
			for _, nr := range g.routesTo(host) {
				exact[nr.node], exactGen[nr.node] = nr.route, dst+1
			}
			for _, src := range ms {
				if dst == src {
					continue
				}
				rep.Total++
				want := dist[src]
				if want == inf {
					rep.Skipped++
					continue
				}
				f := func() Failure {
					return Failure{Src: int(src), Dst: int(dst), Prefix: host, Node: int(src), Hop: -1}
				}
				if exactGen[src] != dst+1 {
					rep.Failed++
					rep.note(NoRoute, f)
					continue
				}
				got := g.routes[exact[src]].Hops[0].Cost
				withCosts := func() Failure {
					e := f()
					e.Hop, e.Got, e.Want = 0, got, want
					return e
				}
				switch {
				case got == want:
					rep.OK++
				case got > want:
					rep.Failed++
					rep.note(NotShortest, withCosts)
				default:
					rep.Failed++
					rep.note(BelowShortest, withCosts)
				}
			}
		}
	}
	return rep
}

// GroupByPrefix returns a grouping for CheckShortestInsideGroup that puts
// nodes whose addresses share their first bits bits in one group: 24 gives
// the level-0 gnode of the default IPv4 scheme (the node's /24). Bits beyond
// an address's length are ignored. It reads d's node addresses now; node
// indexes it does not know map to no group.
func (d *Dump) GroupByPrefix(bits int) func(node int) string {
	names := make([]string, len(d.Nodes))
	for _, nd := range d.Nodes {
		if nd.ID < 0 || nd.ID >= len(names) || !nd.Addr.IsValid() {
			continue
		}
		p, err := nd.Addr.Prefix(min(max(bits, 0), nd.Addr.BitLen()))
		if err == nil {
			names[nd.ID] = p.String()
		}
	}
	return func(node int) string {
		if node < 0 || node >= len(names) {
			return ""
		}
		return names[node]
	}
}

// KernelStats counts the routes each node would install in its kernel: one
// per destination prefix, next hops being multipath entries of one route.
type KernelStats struct {
	PerNode []int   `json:"per_node"`
	Total   int     `json:"total"`
	Max     int     `json:"max"`
	MaxNode int     `json:"max_node"` // a node with Max routes (the lowest index)
	Mean    float64 `json:"mean"`
}

// KernelRoutes counts routes per node. It needs no validation: routes of
// unknown nodes are ignored, and a repeated prefix is counted once.
func KernelRoutes(d *Dump) KernelStats {
	n := len(d.Nodes)
	s := KernelStats{PerNode: make([]int, n)}
	seen := make(map[struct {
		node int
		dst  netip.Prefix
	}]bool, len(d.Routes))
	for _, r := range d.Routes {
		if r.Node < 0 || r.Node >= n {
			continue
		}
		k := struct {
			node int
			dst  netip.Prefix
		}{r.Node, r.Dst}
		if seen[k] {
			continue
		}
		seen[k] = true
		s.PerNode[r.Node]++
		s.Total++
	}
	for i, c := range s.PerNode {
		if c > s.Max {
			s.Max, s.MaxNode = c, i
		}
	}
	if n > 0 {
		s.Mean = float64(s.Total) / float64(n)
	}
	return s
}
