// Package topo builds the network topologies the discrete-event simulator runs
// on: simple shapes (line, ring, grid, the seed's diamond), random geometric
// graphs that look like wifi meshes, islands joined by a few links, and a small
// text format for hand-written topologies.
//
// Every generator is deterministic: the same arguments and the same
// *rand.Rand state give the same topology, so a simulation is reproducible
// from its seed.
package topo

import (
	"fmt"
	"slices"
	"time"
)

// MaxIndex is the largest node index accepted anywhere in this package. It
// bounds memory when a topology comes from untrusted text.
const MaxIndex = 1_000_000

// Link is an undirected link between two nodes.
type Link struct {
	A, B    int           // node indexes, A < B
	Latency time.Duration // one-way propagation delay
	Jitter  time.Duration // max extra random delay per packet (uniform 0..Jitter)
	Loss    float64       // per-packet drop probability 0..1
	// Virtual marks a tunnel between two vnodes over the Internet (a
	// vlink, docs/VLAYER.md) rather than a radio or cable link.
	Virtual bool
}

// Topology is an undirected graph of Nodes nodes, indexed 0..Nodes-1.
type Topology struct {
	Name  string
	Nodes int
	Links []Link
	Pos   [][2]float64 // coordinates of random geometric topologies, nil otherwise
}

// Validate checks that every link joins two distinct nodes in range with
// A < B, that no link appears twice, and that link properties are sane.
func (t *Topology) Validate() error {
	if t.Nodes < 0 || t.Nodes > MaxIndex+1 {
		return fmt.Errorf("topology %q: node count %d out of range 0..%d", t.Name, t.Nodes, MaxIndex+1)
	}
	if t.Pos != nil && len(t.Pos) != t.Nodes {
		return fmt.Errorf("topology %q: %d positions for %d nodes", t.Name, len(t.Pos), t.Nodes)
	}
	// A tunnel may join two nodes a radio link joins too: that is when the
	// virtual layer removes the tunnel.
	type pair struct {
		a, b    int
		virtual bool
	}
	seen := make(map[pair]int, len(t.Links))
	for i, l := range t.Links {
		if err := l.check(t.Nodes); err != nil {
			return fmt.Errorf("topology %q: link %d: %w", t.Name, i, err)
		}
		k := pair{l.A, l.B, l.Virtual}
		if j, dup := seen[k]; dup {
			return fmt.Errorf("topology %q: link %d: %d-%d duplicates link %d", t.Name, i, l.A, l.B, j)
		}
		seen[k] = i
	}
	return nil
}

func (l Link) check(nodes int) error {
	switch {
	case l.A < 0 || l.B < 0 || l.A >= nodes || l.B >= nodes:
		return fmt.Errorf("%d-%d: index out of range 0..%d", l.A, l.B, nodes-1)
	case l.A == l.B:
		return fmt.Errorf("%d-%d: self-link", l.A, l.B)
	case l.A > l.B:
		return fmt.Errorf("%d-%d: A must be less than B", l.A, l.B)
	case l.Latency < 0:
		return fmt.Errorf("%d-%d: negative latency %v", l.A, l.B, l.Latency)
	case l.Jitter < 0:
		return fmt.Errorf("%d-%d: negative jitter %v", l.A, l.B, l.Jitter)
	case !(l.Loss >= 0 && l.Loss <= 1): // also rejects NaN
		return fmt.Errorf("%d-%d: loss %v outside [0,1]", l.A, l.B, l.Loss)
	}
	return nil
}

// Neighbours returns, for every node, its neighbours in ascending order.
func (t *Topology) Neighbours() [][]int {
	deg := make([]int, t.Nodes)
	for _, l := range t.Links {
		deg[l.A]++
		deg[l.B]++
	}
	// One backing array for all lists: one allocation instead of Nodes.
	flat := make([]int, 2*len(t.Links))
	nb := make([][]int, t.Nodes)
	off := 0
	for i, d := range deg {
		nb[i] = flat[off : off : off+d]
		off += d
	}
	for _, l := range t.Links {
		nb[l.A] = append(nb[l.A], l.B)
		nb[l.B] = append(nb[l.B], l.A)
	}
	for _, s := range nb {
		slices.Sort(s)
	}
	return nb
}

// Components returns the connected components, each sorted ascending, ordered
// by their smallest node.
func (t *Topology) Components() [][]int {
	u := newUnionFind(t.Nodes)
	for _, l := range t.Links {
		u.union(l.A, l.B)
	}
	return u.components()
}

// Connected reports whether every node can reach every other one. A topology
// with zero or one node is connected.
func (t *Topology) Connected() bool {
	if t.Nodes <= 1 {
		return true
	}
	u := newUnionFind(t.Nodes)
	n := t.Nodes
	for _, l := range t.Links {
		if u.union(l.A, l.B) {
			n--
		}
	}
	return n == 1
}

// unionFind tracks components while links are added.
type unionFind struct{ parent, size []int32 }

func newUnionFind(n int) *unionFind {
	u := &unionFind{parent: make([]int32, n), size: make([]int32, n)}
	for i := range u.parent {
		u.parent[i] = int32(i)
		u.size[i] = 1
	}
	return u
}

func (u *unionFind) find(x int) int {
	for int(u.parent[x]) != x {
		u.parent[x] = u.parent[u.parent[x]] // path halving
		x = int(u.parent[x])
	}
	return x
}

// union merges the components of a and b and reports whether they differed.
func (u *unionFind) union(a, b int) bool {
	ra, rb := u.find(a), u.find(b)
	if ra == rb {
		return false
	}
	if u.size[ra] < u.size[rb] {
		ra, rb = rb, ra
	}
	u.parent[rb] = int32(ra)
	u.size[ra] += u.size[rb]
	return true
}

func (u *unionFind) components() [][]int {
	idx := make(map[int]int)
	var out [][]int
	for i := range u.parent {
		r := u.find(i)
		k, ok := idx[r]
		if !ok {
			k = len(out)
			idx[r] = k
			out = append(out, nil)
		}
		// Nodes are visited in ascending order, so each component comes out
		// sorted and components are ordered by their smallest node.
		out[k] = append(out[k], i)
	}
	return out
}
