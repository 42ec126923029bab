package oracle

// CheckMultipath checks delivery the way the kernel forwards on multipath
// routes: at every node a flow may be hashed onto any hop of the route
// (longest prefix covering the destination), so every choice of hops, at
// every node on the way, must reach the destination. A pair (src, dst)
// fails when some path from src following any hops comes back to a node
// it passed (MultipathLoop) or reaches a node without a route
// (MultipathNoRoute).
//
// This is stricter than CheckAlternatives, which follows one alternative
// and then best hops only.
func CheckMultipath(d *Dump) Report {
	g, err := d.index()
	if err != nil {
		return Report{Check: "multipath", Unit: "pairs", Err: err}
	}
	rep := newReport("multipath", "pairs")
	w := newWalker(g)
	m := &multiWalk{w: w, state: make([]uint8, g.n), bad: make([]int32, g.n)}
	for dst := 0; dst < g.n; dst++ {
		w.reset(g.host(dst))
		clear(m.state)
		for src := 0; src < g.n; src++ {
			if src == dst {
				continue
			}
			rep.Total++
			switch m.resolve(int32(src)) {
			case reached:
				rep.OK++
			case noRoute:
				rep.Failed++
				rep.note(MultipathNoRoute, func() Failure { return m.failure(int32(src), dst) })
			default:
				rep.Failed++
				rep.note(MultipathLoop, func() Failure { return m.failure(int32(src), dst) })
			}
		}
	}
	return rep
}

// multiWalk resolves, for one destination, whether every path of any hops
// from a node reaches it. state is the outcome (unknown until resolved);
// bad[x] is the successor through which x fails, for reports (-1: x has
// no route itself).
type multiWalk struct {
	w     *walker
	state []uint8
	bad   []int32
	stack []multiFrame
}

type multiFrame struct {
	x   int32
	hop int // next hop index of x's route to look at
}

// resolve is a depth-first search over all hops, without recursion (a
// route can be as long as the network): a hop to a node still on the stack
// is a loop; any failing successor makes the node fail.
func (m *multiWalk) resolve(src int32) uint8 {
	g, w := m.w.g, m.w
	if m.state[src] != unknown {
		return m.state[src]
	}
	// enter resolves x at once when it is the destination or has no
	// route, else pushes it to have its hops visited.
	enter := func(x int32) {
		switch _, ok := w.lookup(x); {
		case w.dst.Contains(g.addr[x]):
			m.state[x] = reached
		case !ok:
			m.state[x], m.bad[x] = noRoute, -1
		default:
			m.state[x] = pending
			m.stack = append(m.stack, multiFrame{x: x})
		}
	}
	enter(src)
	for len(m.stack) > 0 {
		f := &m.stack[len(m.stack)-1]
		ri, _ := w.lookup(f.x)
		hops := g.routes[ri].Hops
		if f.hop == len(hops) || m.state[f.x] != pending {
			if m.state[f.x] == pending {
				m.state[f.x] = reached
			}
			m.stack = m.stack[:len(m.stack)-1]
			if n := len(m.stack); n > 0 && m.state[f.x] != reached {
				m.fail(m.stack[n-1].x, f.x, m.state[f.x])
			}
			continue
		}
		v := int32(hops[f.hop].Via)
		f.hop++
		switch m.state[v] {
		case unknown:
			enter(v)
			if m.state[v] != reached && m.state[v] != pending {
				m.fail(f.x, v, m.state[v])
			}
		case pending:
			m.fail(f.x, v, looped)
		case reached:
		default:
			m.fail(f.x, v, m.state[v])
		}
	}
	return m.state[src]
}

// fail marks x failed through v, keeping the first reason found.
func (m *multiWalk) fail(x, v int32, why uint8) {
	if m.state[x] == pending {
		m.state[x] = why
		m.bad[x] = v
	}
}

// failure reports the pair with one failing path: the successors through
// which each node failed, up to a dead end or a repeat.
func (m *multiWalk) failure(src int32, dst int) Failure {
	var path []int
	seen := map[int32]bool{}
	x := src
	for {
		path = append(path, int(x))
		if seen[x] || m.state[x] == reached || m.bad[x] < 0 {
			break
		}
		seen[x] = true
		x = m.bad[x]
	}
	return Failure{Src: int(src), Dst: dst, Prefix: m.w.dst, Node: path[len(path)-1], Hop: -1, Path: path}
}
