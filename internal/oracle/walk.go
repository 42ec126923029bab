package oracle

import "net/netip"

// Outcome of forwarding from a node towards the walker's destination.
const (
	unknown uint8 = iota
	pending       // on the stack of the walk being resolved
	reached
	noRoute
	looped
)

// walker forwards towards one destination prefix at a time. Forwarding is a
// function of the current node only (longest-prefix match, best hop), so the
// next-hop pointers form a functional graph: the outcome from a node is that
// of its next hop, and each node needs resolving once per destination. That
// makes checking every source towards a destination O(N), not O(N * path).
type walker struct {
	g     *graph
	dst   netip.Prefix
	gen   uint32
	stamp []uint32 // stamp[x] == gen: state[x] is for the current dst
	state []uint8
	next  []int32
	step  []int64 // cost of the link from x to next[x]
	depth []int32 // hops to the destination, when reached
	cost  []int64 // cost travelled to the destination, when reached
	stack []int32

	seenGen uint32 // for bounded walks that must not revisit nodes
	seen    []uint32

	// route[x] (when routeGen[x] == gen) is x's route with the longest
	// prefix covering dst, filled by reset.
	route    []int32
	routeGen []uint32
}

func newWalker(g *graph) *walker {
	return &walker{g: g, stamp: make([]uint32, g.n), state: make([]uint8, g.n),
		next: make([]int32, g.n), step: make([]int64, g.n), depth: make([]int32, g.n), cost: make([]int64, g.n),
		seen: make([]uint32, g.n), route: make([]int32, g.n), routeGen: make([]uint32, g.n)}
}

// reset starts walking towards dst; a node is reached when its address lies
// in dst. It finds every node's route for dst up front: the routes of each
// prefix covering dst, longest first, the first found for a node winning.
func (w *walker) reset(dst netip.Prefix) {
	w.dst = dst
	w.gen++
	if w.gen == 0 { // wrapped: old stamps could collide
		clear(w.stamp)
		clear(w.routeGen)
		w.gen = 1
	}
	a := dst.Addr()
	lens := w.g.lens6
	if a.Is4() {
		lens = w.g.lens4
	}
	for _, l := range lens {
		if int(l) > dst.Bits() {
			continue
		}
		p, err := a.Prefix(int(l))
		if err != nil {
			continue
		}
		for _, nr := range w.g.routesTo(p) {
			if w.routeGen[nr.node] != w.gen {
				w.routeGen[nr.node] = w.gen
				w.route[nr.node] = nr.route
			}
		}
	}
}

// lookup returns x's route with the longest prefix covering dst.
func (w *walker) lookup(x int32) (int32, bool) {
	if w.routeGen[x] != w.gen {
		return 0, false
	}
	return w.route[x], true
}

// resolve returns the outcome of forwarding from x: reached, noRoute or
// looped (some node is visited twice).
func (w *walker) resolve(x int32) uint8 {
	g := w.g
	start := x
	for w.stamp[x] != w.gen {
		w.stamp[x] = w.gen
		if w.dst.Contains(g.addr[x]) {
			w.state[x], w.depth[x], w.cost[x] = reached, 0, 0
			break
		}
		ri, ok := w.lookup(x)
		if !ok {
			w.state[x] = noRoute
			break
		}
		w.state[x] = pending
		w.next[x], w.step[x] = g.bestVia[ri], g.bestLink[ri]
		w.stack = append(w.stack, x)
		x = g.bestVia[ri]
	}
	// x is where the walk stopped: a node already resolved, a terminal one,
	// or a pending one, which means the stack runs round a cycle.
	end := w.state[x]
	if end == pending {
		end = looped
	}
	for i := len(w.stack) - 1; i >= 0; i-- {
		y := w.stack[i]
		w.state[y] = end
		if end == reached {
			z := w.next[y]
			w.depth[y] = w.depth[z] + 1
			w.cost[y] = w.cost[z] + w.step[y]
		}
	}
	w.stack = w.stack[:0]
	return w.state[start]
}

// path returns the nodes visited forwarding from x, x first: up to the
// destination, the node without a route, or the first node seen twice
// (listed twice). It is for reports, so it simply walks.
func (w *walker) path(x int32) []int {
	w.newSeen()
	var p []int
	for {
		p = append(p, int(x))
		if w.seen[x] == w.seenGen {
			return p
		}
		w.seen[x] = w.seenGen
		if w.dst.Contains(w.g.addr[x]) {
			return p
		}
		ri, ok := w.lookup(x)
		if !ok {
			return p
		}
		x = w.g.bestVia[ri]
	}
}

func (w *walker) newSeen() {
	w.seenGen++
	if w.seenGen == 0 {
		clear(w.seen)
		w.seenGen = 1
	}
}

// passes reports whether forwarding from v goes through u (u != v).
func (w *walker) passes(v, u int32) bool {
	sv, su := w.resolve(v), w.resolve(u)
	if sv == reached || su == reached {
		// If the walk from v went through u, v's outcome would be u's and v
		// would be further from the destination.
		if sv != su || w.depth[v] <= w.depth[u] {
			return false
		}
		x := v
		for k := w.depth[v] - w.depth[u]; k > 0; k-- {
			x = w.next[x]
		}
		return x == u
	}
	// Neither reaches: walk until a dead end or a repeat.
	w.newSeen()
	for x := v; ; {
		if x == u {
			return true
		}
		if w.seen[x] == w.seenGen || w.state[x] == noRoute {
			return false
		}
		w.seen[x] = w.seenGen
		x = w.next[x]
	}
}

// pathUntil returns the nodes from v to u following best hops, both ends
// included; passes(v, u) must hold.
func (w *walker) pathUntil(v, u int32) []int {
	p := []int{int(v)}
	for x := v; x != u && len(p) <= w.g.n; {
		x = w.next[x]
		p = append(p, int(x))
	}
	return p
}
