// Package oracle checks route tables from outside, the way a referee would:
// it reads the dump the simulator writes (ntkd sim --dump FILE: nodes, links
// with directional costs, and every node's routes) and verifies, using only
// that dump, that packets forwarded hop by hop reach their destination, how
// much longer their path is than the shortest one, that alternative next hops
// are loop-free, and that routes inside a group are shortest.
//
// The oracle deliberately shares no code with the routing implementation: it
// recomputes everything from the dump with textbook algorithms.
package oracle

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
)

// Dump is the simulator's JSON dump. Unknown keys are ignored.
type Dump struct {
	Nodes  []DumpNode  `json:"nodes"`
	Links  []DumpLink  `json:"links"`
	Routes []DumpRoute `json:"routes"`
}

// DumpNode is a node; ID is its index, 0..len(Nodes)-1.
type DumpNode struct {
	ID   int        `json:"id"`
	Addr netip.Addr `json:"addr"`
	// SimID is the simulator's index of the node when the dump holds only
	// part of the network (a component after a partition); else equal to ID.
	SimID int `json:"sim_id"`
}

// DumpLink is an undirected link with one cost per direction: CostAB is what
// A's radar measured towards B.
type DumpLink struct {
	A      int   `json:"a"`
	B      int   `json:"b"`
	CostAB int64 `json:"cost_ab"`
	CostBA int64 `json:"cost_ba"`
}

// DumpRoute is one route of a node's table: next hops towards Dst, best
// first. Dst is a host prefix (/32, /128) for a node, shorter for a gnode.
type DumpRoute struct {
	Node int          `json:"node"`
	Dst  netip.Prefix `json:"dst"`
	Hops []Hop        `json:"hops"`
}

// Hop is a next hop with the cost of the whole route through it.
type Hop struct {
	Via  int   `json:"via"`
	Cost int64 `json:"cost"`
}

// MaxCost bounds link costs so that sums over any path fit in an int64.
const MaxCost = 1 << 40

// maxProblems bounds how many validation problems one error lists.
const maxProblems = 20

// Load decodes a dump and validates it (see Dump.Validate).
func Load(r io.Reader) (*Dump, error) {
	dec := json.NewDecoder(r)
	var d Dump
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("oracle: decode dump: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("oracle: decode dump: data after the JSON object")
	}
	if err := d.Validate(); err != nil {
		return nil, err
	}
	return &d, nil
}

// Validate checks that node ids are exactly 0..N-1 with distinct valid
// addresses; that links join two distinct existing nodes at most once with
// costs in 1..MaxCost; and that every route belongs to an existing node, has
// a masked prefix not repeated in that node's table, at least one hop, hop
// costs >= 0, and only neighbours of the node as next hops. The error lists
// up to 20 problems.
func (d *Dump) Validate() error {
	_, err := d.index()
	return err
}

// problems collects validation errors, keeping the first few.
type problems struct {
	errs  []error
	extra int
}

func (p *problems) add(format string, args ...any) {
	if len(p.errs) < maxProblems {
		p.errs = append(p.errs, fmt.Errorf(format, args...))
	} else {
		p.extra++
	}
}

func (p *problems) err() error {
	if len(p.errs) == 0 {
		return nil
	}
	errs := p.errs
	if p.extra > 0 {
		errs = append(slices.Clip(errs), fmt.Errorf("and %d more problems", p.extra))
	}
	return fmt.Errorf("oracle: invalid dump: %w", errors.Join(errs...))
}

// graph is the dump indexed for the checks.
type graph struct {
	n      int
	addr   []netip.Addr
	byAddr map[netip.Addr]int

	// Adjacency in compressed rows: node x's neighbours are
	// to[start[x]:start[x+1]], out the cost x->neighbour, in the cost
	// neighbour->x (for Dijkstra towards a destination).
	start   []int32
	to      []int32
	out, in []int64

	routes []DumpRoute
	// Per route: its best next hop and the cost of the link towards it, so
	// that forwarding needs no adjacency search.
	bestVia  []int32
	bestLink []int64

	// Routes indexed by destination prefix rather than by node: the checks
	// go destination by destination, and for one destination the routes of
	// every node covering it are a few contiguous lists (one per prefix
	// length) instead of one hash probe per node and hop, which was the
	// bulk of a check's time.
	lens4, lens6 []uint8 // distinct prefix lengths in the dump, descending
	v4           map[uint64]int32
	v6           map[netip.Prefix]int32
	lists        [][]nodeRoute
}

// nodeRoute is one node's route (index into routes) for some prefix.
type nodeRoute struct{ node, route int32 }

// key4 packs an IPv4 prefix, cheaper to hash than a netip.Prefix: address
// bits masked to bits, then the length.
func key4(a netip.Addr, bits int) uint64 {
	b := a.As4()
	v := binary.BigEndian.Uint32(b[:])
	if bits < 32 {
		v &^= ^uint32(0) >> bits
	}
	return uint64(v)<<8 | uint64(bits)
}

// routesTo returns the routes whose destination is exactly p.
func (g *graph) routesTo(p netip.Prefix) []nodeRoute {
	var i int32
	var ok bool
	if p.Addr().Is4() {
		i, ok = g.v4[key4(p.Addr(), p.Bits())]
	} else {
		i, ok = g.v6[p]
	}
	if !ok {
		return nil
	}
	return g.lists[i]
}

func (g *graph) add(p netip.Prefix, nr nodeRoute) {
	var i int32
	var ok bool
	bits := uint8(p.Bits())
	if p.Addr().Is4() {
		k := key4(p.Addr(), p.Bits())
		if i, ok = g.v4[k]; !ok {
			i = int32(len(g.lists))
			g.v4[k] = i
			if !slices.Contains(g.lens4, bits) {
				g.lens4 = append(g.lens4, bits)
			}
		}
	} else {
		if i, ok = g.v6[p]; !ok {
			i = int32(len(g.lists))
			g.v6[p] = i
			if !slices.Contains(g.lens6, bits) {
				g.lens6 = append(g.lens6, bits)
			}
		}
	}
	if !ok {
		g.lists = append(g.lists, nil)
	}
	g.lists[i] = append(g.lists[i], nr)
}

func (d *Dump) index() (*graph, error) {
	var p problems
	n := len(d.Nodes)
	g := &graph{n: n, addr: make([]netip.Addr, n), routes: d.Routes}
	have := make([]bool, n)
	owner := make(map[netip.Addr]int, n)
	g.byAddr = owner
	for i, nd := range d.Nodes {
		switch {
		case nd.ID < 0 || nd.ID >= n:
			p.add("nodes[%d]: id %d outside 0..%d", i, nd.ID, n-1)
			continue
		case have[nd.ID]:
			p.add("nodes[%d]: id %d appears twice", i, nd.ID)
			continue
		case !nd.Addr.IsValid():
			p.add("node %d: missing or invalid addr", nd.ID)
		case nd.Addr.Zone() != "":
			p.add("node %d: addr %v has a zone", nd.ID, nd.Addr)
		}
		have[nd.ID] = true
		g.addr[nd.ID] = nd.Addr
		if o, dup := owner[nd.Addr]; dup && nd.Addr.IsValid() {
			p.add("node %d: addr %v already belongs to node %d", nd.ID, nd.Addr, o)
		}
		owner[nd.Addr] = nd.ID
	}

	deg := make([]int32, n+1)
	pairs := make(map[[2]int]int, len(d.Links))
	for i, l := range d.Links {
		switch {
		case l.A < 0 || l.A >= n || l.B < 0 || l.B >= n:
			p.add("links[%d]: %d-%d: node outside 0..%d", i, l.A, l.B, n-1)
			continue
		case l.A == l.B:
			p.add("links[%d]: self-link at node %d", i, l.A)
			continue
		case l.CostAB < 1 || l.CostAB > MaxCost || l.CostBA < 1 || l.CostBA > MaxCost:
			p.add("links[%d]: %d-%d: costs %d/%d outside 1..%d", i, l.A, l.B, l.CostAB, l.CostBA, int64(MaxCost))
		}
		key := [2]int{min(l.A, l.B), max(l.A, l.B)}
		if j, dup := pairs[key]; dup {
			p.add("links[%d]: %d-%d duplicates links[%d]", i, l.A, l.B, j)
			continue
		}
		pairs[key] = i
		deg[l.A+1]++
		deg[l.B+1]++
	}
	if err := p.err(); err != nil {
		return nil, err // routes cannot be checked against a broken graph
	}
	for i := 1; i <= n; i++ {
		deg[i] += deg[i-1]
	}
	g.start = deg
	m := 2 * len(d.Links)
	g.to, g.out, g.in = make([]int32, m), make([]int64, m), make([]int64, m)
	fill := slices.Clone(deg[:n])
	for _, l := range d.Links {
		put := func(x, y int, out, in int64) {
			k := fill[x]
			g.to[k], g.out[k], g.in[k] = int32(y), out, in
			fill[x]++
		}
		put(l.A, l.B, l.CostAB, l.CostBA)
		put(l.B, l.A, l.CostBA, l.CostAB)
	}
	// linkCost finds x->y by scanning x's row: rows are short (mesh degree).
	linkCost := func(x, y int) (int64, bool) {
		for k := g.start[x]; k < g.start[x+1]; k++ {
			if int(g.to[k]) == y {
				return g.out[k], true
			}
		}
		return 0, false
	}

	g.bestVia = make([]int32, len(d.Routes))
	g.bestLink = make([]int64, len(d.Routes))
	g.v4, g.v6 = map[uint64]int32{}, map[netip.Prefix]int32{}
	for i, r := range d.Routes {
		if r.Node < 0 || r.Node >= n {
			p.add("routes[%d]: node %d outside 0..%d", i, r.Node, n-1)
			continue
		}
		// Formatted only for problems: a dump has millions of routes.
		where := func() string { return fmt.Sprintf("routes[%d] (node %d dst %v)", i, r.Node, r.Dst) }
		if !r.Dst.IsValid() {
			p.add("%s: missing or invalid dst", where())
			continue
		}
		if r.Dst != r.Dst.Masked() {
			p.add("%s: dst has host bits set (want %v)", where(), r.Dst.Masked())
			continue
		}
		if len(r.Hops) == 0 {
			p.add("%s: no hops", where())
			continue
		}
		ok := true
		for j, h := range r.Hops {
			if h.Cost < 0 {
				p.add("%s: hop %d: negative cost %d", where(), j, h.Cost)
				ok = false
			}
			if h.Via < 0 || h.Via >= n {
				p.add("%s: hop %d: via %d outside 0..%d", where(), j, h.Via, n-1)
				ok = false
				continue
			}
			c, nb := linkCost(r.Node, h.Via)
			if !nb {
				p.add("%s: hop %d: via %d is not a neighbour of %d", where(), j, h.Via, r.Node)
				ok = false
				continue
			}
			if j == 0 {
				g.bestVia[i], g.bestLink[i] = int32(h.Via), c
			}
		}
		if ok {
			g.add(r.Dst, nodeRoute{int32(r.Node), int32(i)})
		}
	}
	// A node may hold one route per prefix.
	last := make([]int32, n)  // last[x] == list index + 1: x seen in this list
	first := make([]int32, n) // ... in route first[x]
	for li, list := range g.lists {
		for _, nr := range list {
			if last[nr.node] == int32(li+1) {
				r := d.Routes[nr.route]
				p.add("routes[%d] (node %d dst %v): node already has a route to %v (routes[%d])", nr.route, r.Node, r.Dst, r.Dst, first[nr.node])
				continue
			}
			last[nr.node], first[nr.node] = int32(li+1), nr.route
		}
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	for _, l := range [][]uint8{g.lens4, g.lens6} {
		slices.Sort(l)
		slices.Reverse(l)
	}
	return g, nil
}

// nodeOf returns the node whose host prefix p is, or -1.
func (g *graph) nodeOf(p netip.Prefix) int {
	if x, ok := g.byAddr[p.Addr()]; ok && p.Bits() == p.Addr().BitLen() {
		return x
	}
	return -1
}

// host returns the host prefix (/32 or /128) of node x.
func (g *graph) host(x int) netip.Prefix {
	a := g.addr[x]
	return netip.PrefixFrom(a, a.BitLen())
}
