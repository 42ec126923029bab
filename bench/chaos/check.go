package main

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/ntkd/ntkd/internal/lab"
)

// world is what the checks know of the lab at one moment: the topology,
// which daemons run, which links are cut (by the soak, which knows: a
// silent cut looks up to the kernel) and every namespace's kernel table.
type world struct {
	names   []string
	index   map[string]int
	links   [][2]int           // topology links, a < b
	cut     map[[2]int]bool    // cut links, a < b
	running []bool             // the daemon runs
	tables  []*lab.KernelTable // nil when not read
	addr    []netip.Addr       // each node's mesh address (first), invalid when none
	comp    []int              // component of each running node, -1 for the others
}

func key(a, b int) [2]int {
	if a > b {
		a, b = b, a
	}
	return [2]int{a, b}
}

// newWorld fills in addresses and the expected components: running nodes
// joined by links that are not cut.
func newWorld(names []string, links [][2]int, cut map[[2]int]bool, tables []*lab.KernelTable) *world {
	w := &world{names: names, index: map[string]int{}, links: links, cut: cut, tables: tables,
		running: make([]bool, len(names)), addr: make([]netip.Addr, len(names)), comp: make([]int, len(names))}
	for i, n := range names {
		w.index[n] = i
		if t := tables[i]; t != nil {
			w.running[i] = t.PID != 0
			w.addr[i] = t.Address
		}
	}
	adj := make([][]int, len(names))
	for _, l := range links {
		if !cut[key(l[0], l[1])] {
			adj[l[0]] = append(adj[l[0]], l[1])
			adj[l[1]] = append(adj[l[1]], l[0])
		}
	}
	for i := range w.comp {
		w.comp[i] = -1
	}
	c := 0
	for i := range names {
		if !w.running[i] || w.comp[i] >= 0 {
			continue
		}
		stack := []int{i}
		w.comp[i] = c
		for len(stack) > 0 {
			x := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			for _, y := range adj[x] {
				if w.running[y] && w.comp[y] < 0 {
					w.comp[y] = c
					stack = append(stack, y)
				}
			}
		}
		c++
	}
	return w
}

// components returns the sizes of the expected components, largest first.
func (w *world) components() []int {
	var sizes []int
	for _, c := range w.comp {
		if c < 0 {
			continue
		}
		for len(sizes) <= c {
			sizes = append(sizes, 0)
		}
		sizes[c]++
	}
	slices.SortFunc(sizes, func(a, b int) int { return b - a })
	return sizes
}

func (w *world) linked(a, b int) bool {
	return slices.Contains(w.links, key(a, b))
}

// hopProblem says what is wrong with next hop h of node u: its interface
// must lead to a running neighbour over a link that is not cut, and its
// gateway must be that neighbour's mesh address. It returns the neighbour
// (or -1) and "" when the hop is sound.
func (w *world) hopProblem(u int, h lab.KernelHop) (int, string) {
	v, ok := w.index[h.Dev] // a lab node's veths are named after the peer
	if !ok || !w.linked(u, v) {
		return -1, fmt.Sprintf("via %s dev %s: not an interface towards a lab node", h.Via, h.Dev)
	}
	switch {
	case !w.running[v]:
		return v, fmt.Sprintf("via %s dev %s: %s is dead", h.Via, h.Dev, w.names[v])
	case w.cut[key(u, v)]:
		k := key(u, v)
		return v, fmt.Sprintf("via %s dev %s: the link %s-%s is cut", h.Via, h.Dev, w.names[k[0]], w.names[k[1]])
	case h.Via != w.addr[v]:
		return v, fmt.Sprintf("via %s dev %s: %s's address is %s", h.Via, h.Dev, w.names[v], addrString(w.addr[v]))
	}
	return v, ""
}

func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return "none"
	}
	return a.String()
}

// Outcomes of a walk.
const (
	delivered = iota
	noRoute   // a node on the way has no usable route
	badHop    // the route's hop leads to a dead node, over a cut link or to a wrong address
	looped    // a node is visited twice
	wrongNode // a node holding the destination's address that is not the destination
)

// walk forwards a packet from x towards node y's address on best hops
// (the longest prefix match, its highest-weight next hop) until it reaches
// y. It returns the outcome, the path of node indices and a description of
// where it stopped.
func (w *world) walk(x, y int) (int, []int, string) {
	dst := w.addr[y]
	path := []int{x}
	seen := map[int]bool{x: true}
	u := x
	for {
		if u == y {
			return delivered, path, ""
		}
		if w.addr[u] == dst {
			return wrongNode, path, fmt.Sprintf("%s also holds %s", w.names[u], dst)
		}
		t := w.tables[u]
		r := t.Lookup(dst)
		if r == nil || !r.Unicast() {
			why := "no route"
			if r != nil {
				why = "route " + r.Dst.String() + " is not unicast"
			}
			return noRoute, path, fmt.Sprintf("%s: %s to %s", w.names[u], why, dst)
		}
		h, ok := r.Best()
		if !ok {
			return noRoute, path, fmt.Sprintf("%s: route %s has no next hop", w.names[u], r.Dst)
		}
		v, problem := w.hopProblem(u, h)
		if problem != "" {
			return badHop, path, fmt.Sprintf("%s: %s %s", w.names[u], r.Dst, problem)
		}
		path = append(path, v)
		if seen[v] {
			return looped, path, "loop"
		}
		seen[v] = true
		u = v
	}
}

func (w *world) pathString(path []int) string {
	s := make([]string, len(path))
	for i, x := range path {
		s[i] = w.names[x]
	}
	return strings.Join(s, " > ")
}

// result is one evaluation of the forwarding invariants.
type result struct {
	Pairs      int `json:"pairs"`       // ordered pairs of running nodes in one component
	Delivered  int `json:"delivered"`   // of those, delivered on best hops
	Unhooked   int `json:"unhooked"`    // running nodes without a mesh address (in components of 2+)
	DupAddrs   int `json:"dup_addrs"`   // running nodes sharing an address with another of their component
	AltRoutes  int `json:"alt_routes"`  // routes towards a node of the component with 2+ hops
	AltBad     int `json:"alt_bad"`     // of those, with a hop that comes back, loops or ends nowhere
	Hops       int `json:"hops"`        // next hops in running nodes' tables
	BadHops    int `json:"bad_hops"`    // towards a dead node, over a cut link, or not the neighbour's address
	AnyPathBad int `json:"anypath_bad"` // pairs where some choice of next hops loops or ends nowhere
	// Foreign counts host routes (/32, /128) of running nodes towards an
	// address no running node of their component holds (not an invariant).
	Foreign int `json:"foreign_host_routes"`

	DeliveryFail []string `json:"delivery_failures,omitempty"`
	AltFail      []string `json:"alternative_failures,omitempty"`
	HopFail      []string `json:"hop_failures,omitempty"`
	AnyPathFail  []string `json:"anypath_failures,omitempty"`
	ForeignEx    []string `json:"foreign_examples,omitempty"`

	anyBad [][2]int // the pairs counted in AnyPathBad
}

// keep bounds the failures a result lists in detail.
const keep = 12

func add(list *[]string, s string) {
	if len(*list) < keep {
		*list = append(*list, s)
	}
}

// ok says whether the forwarding invariants hold: every pair delivers,
// every alternative is loop-free, no hop is bad.
func (r *result) ok() bool {
	return r.Delivered == r.Pairs && r.Unhooked == 0 && r.DupAddrs == 0 && r.AltBad == 0 && r.BadHops == 0
}

func (r *result) summary() string {
	return fmt.Sprintf("delivered %d/%d, unhooked %d, dup %d, bad alternatives %d/%d, bad hops %d/%d, any-path bad %d, foreign host routes %d",
		r.Delivered, r.Pairs, r.Unhooked, r.DupAddrs, r.AltBad, r.AltRoutes, r.BadHops, r.Hops, r.AnyPathBad, r.Foreign)
}

// check evaluates every invariant on kernel routes:
//
//   - delivery: every ordered pair of running nodes of one component
//     delivers on best hops (the simulator's hop-by-hop check);
//   - alternatives: every next hop of a route towards a node of the
//     component, followed by best hops, reaches it without coming back
//     (the simulator's loop-free alternatives);
//   - hops: no next hop of any running node leads to a dead node, over a
//     cut link, or to an address its neighbour does not hold.
//
// It also counts pairs where some choice of next hops at every node (the
// kernel spreads flows over all of them) can loop or end nowhere: the
// multipath check, which is not part of ok() (the quiet period does not
// wait for it), and host routes to addresses outside the component (not
// an invariant: old routes age out by rounds).
func (w *world) check() *result {
	r := &result{}
	n := len(w.names)
	for u := range n {
		if !w.running[u] || w.tables[u] == nil {
			continue
		}
		for _, rt := range w.tables[u].Routes {
			for _, h := range rt.Hops {
				r.Hops++
				if _, p := w.hopProblem(u, h); p != "" {
					r.BadHops++
					add(&r.HopFail, fmt.Sprintf("%s: %s %s", w.names[u], rt.Dst, p))
				}
			}
			if rt.Dst.IsSingleIP() && !w.holdsInComponent(u, rt.Dst.Addr()) {
				r.Foreign++
				add(&r.ForeignEx, fmt.Sprintf("%s: %s", w.names[u], rt.Dst))
			}
		}
	}
	sizes := map[int]int{}
	for _, c := range w.comp {
		sizes[c]++
	}
	for y := range n {
		if w.comp[y] < 0 || sizes[w.comp[y]] < 2 {
			continue
		}
		if !w.addr[y].IsValid() {
			r.Unhooked++
			add(&r.DeliveryFail, fmt.Sprintf("%s is not hooked (no mesh address)", w.names[y]))
		}
		for x := range n {
			if x != y && w.comp[x] == w.comp[y] && w.addr[x].IsValid() && w.addr[x] == w.addr[y] && x < y {
				r.DupAddrs++
				add(&r.DeliveryFail, fmt.Sprintf("%s and %s both hold %s", w.names[x], w.names[y], w.addr[y]))
			}
		}
	}
	for y := range n {
		if w.comp[y] < 0 {
			continue
		}
		for x := range n {
			if x == y || w.comp[x] != w.comp[y] {
				continue
			}
			r.Pairs++
			if !w.addr[y].IsValid() {
				continue // counted as unhooked
			}
			out, path, why := w.walk(x, y)
			if out == delivered {
				r.Delivered++
			} else {
				add(&r.DeliveryFail, fmt.Sprintf("%s -> %s (%s): %s: %s", w.names[x], w.names[y], w.addr[y], w.pathString(path), why))
			}
			if bad, path := w.anyPathBad(x, y); bad {
				r.AnyPathBad++
				r.anyBad = append(r.anyBad, [2]int{x, y})
				add(&r.AnyPathFail, fmt.Sprintf("%s -> %s (%s): %s", w.names[x], w.names[y], w.addr[y], path))
			}
			w.checkAlternatives(r, x, y)
		}
	}
	return r
}

// holdsInComponent says whether a running node of u's component holds a.
func (w *world) holdsInComponent(u int, a netip.Addr) bool {
	for v := range w.names {
		if w.comp[v] == w.comp[u] && w.addr[v] == a {
			return true
		}
	}
	return false
}

// checkAlternatives checks every next hop of x's route towards y but the
// best (walk checks that one): stepping there and following best hops must
// reach y without passing x again.
func (w *world) checkAlternatives(r *result, x, y int) {
	rt := w.tables[x].Lookup(w.addr[y])
	if rt == nil || !rt.Unicast() || len(rt.Hops) < 2 {
		return
	}
	r.AltRoutes++
	best, _ := rt.Best()
	for _, h := range rt.Hops {
		if h == best {
			continue
		}
		v, p := w.hopProblem(x, h)
		if p != "" {
			continue // a bad hop, counted as such
		}
		out, path, why := w.walk(v, y)
		if out == delivered && slices.Contains(path, x) {
			out, why = looped, "comes back to "+w.names[x]
		}
		if out != delivered {
			r.AltBad++
			add(&r.AltFail, fmt.Sprintf("%s -> %s: hop %s dev %s: %s > %s: %s", w.names[x], w.names[y], h.Via, h.Dev, w.names[x], w.pathString(path), why))
			return
		}
	}
}

// anyPathBad says whether some choice of next hops, at each node any of
// its route's hops, can take a packet from x round a loop or to a node
// without a usable route instead of to y; the kernel hashes each flow onto
// one of a multipath route's hops at every node, so such a choice is a
// flow that never arrives. It returns one such path.
func (w *world) anyPathBad(x, y int) (bool, string) {
	const (
		white = iota
		grey
		good
	)
	color := make([]int, len(w.names))
	dst := w.addr[y]
	var stack []int
	var bad string
	var visit func(u int) bool // true: bad
	visit = func(u int) bool {
		if u == y {
			return false
		}
		switch color[u] {
		case grey:
			bad = w.pathString(append(stack, u)) + " (loop)"
			return true
		case good:
			return false
		}
		color[u] = grey
		stack = append(stack, u)
		defer func() { stack = stack[:len(stack)-1] }()
		rt := w.tables[u].Lookup(dst)
		if rt == nil || !rt.Unicast() || len(rt.Hops) == 0 || w.addr[u] == dst {
			bad = w.pathString(stack) + " (no route)"
			return true
		}
		for _, h := range rt.Hops {
			v, p := w.hopProblem(u, h)
			if p != "" {
				bad = w.pathString(stack) + ": " + p
				return true
			}
			if visit(v) {
				return true
			}
		}
		color[u] = good
		return false
	}
	return visit(x), bad
}
