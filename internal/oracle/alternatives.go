package oracle

// CheckAlternatives checks every route: its hops have distinct vias
// (DuplicateVia), are sorted by cost, best first (UnsortedHops), and every
// hop, the best one included, is loop-free: stepping to its via and then
// following best hops from there reaches the destination without coming
// back to the route's node (else AlternativeReturns, AlternativeLoop or
// AlternativeNoRoute).
//
// "Best hops towards a prefix" means, at each node, the route with the
// longest prefix that covers the whole destination prefix; a node is
// reached when its address lies inside the prefix. For a host prefix that
// is ordinary forwarding to that address.
//
// The unit is routes; a route fails once whatever its problems, while
// ByKind counts each problem. Routes towards a prefix that contains their
// own node are Skipped if their hops are distinct and sorted: there is
// nowhere to forward to.
func CheckAlternatives(d *Dump) Report {
	g, err := d.index()
	if err != nil {
		return Report{Check: "alternatives", Unit: "routes", Err: err}
	}
	rep := newReport("alternatives", "routes")
	// The index groups routes by destination: each destination's forwarding
	// outcomes are resolved once and shared by all routes towards it.
	w := newWalker(g)
	mark := make([]int32, g.n) // mark[via] == route index + 1: via already seen in this route
	for _, list := range g.lists {
		p := g.routes[list[0].route].Dst
		dst := g.nodeOf(p)
		w.reset(p)
		for _, nr := range list {
			ri := nr.route
			r := g.routes[ri]
			u := int32(r.Node)
			rep.Total++
			bad := false
			fail := func(k Kind, hop int, mk func() []int) {
				bad = true
				rep.note(k, func() Failure {
					var path []int
					if mk != nil {
						path = mk()
					}
					return Failure{Src: int(u), Dst: dst, Prefix: p, Node: int(u), Hop: hop, Path: path}
				})
			}
			for j, h := range r.Hops {
				if mark[h.Via] == ri+1 {
					fail(DuplicateVia, j, nil)
				}
				mark[h.Via] = ri + 1
				if j > 0 && h.Cost < r.Hops[j-1].Cost {
					fail(UnsortedHops, j, nil)
				}
			}
			if p.Contains(g.addr[u]) {
				if !bad {
					rep.Skipped++
				} else {
					rep.Failed++
				}
				continue
			}
			for j, h := range r.Hops {
				v := int32(h.Via)
				trail := func() []int { return append([]int{int(u)}, w.path(v)...) }
				switch {
				case w.passes(v, u):
					fail(AlternativeReturns, j, func() []int { return append([]int{int(u)}, w.pathUntil(v, u)...) })
				case w.state[v] == looped:
					fail(AlternativeLoop, j, trail)
				case w.state[v] == noRoute:
					fail(AlternativeNoRoute, j, trail)
				}
			}
			if bad {
				rep.Failed++
			} else {
				rep.OK++
			}
		}
	}
	return rep
}
