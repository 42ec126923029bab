package oracle

import (
	"cmp"
	"container/heap"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	"github.com/ntkd/ntkd/internal/topo"
)

// The helpers build correct dumps the slow, obvious way (container/heap
// Dijkstra, full distance matrix), independently of the code under test.

type edge struct {
	a, b   int
	ab, ba int64
}

// addrOf numbers nodes 10.0.x.y, 250 per /24, so that a 1,000-node dump
// spans four /24 groups.
func addrOf(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{10, 0, byte(i / 250), byte(i%250 + 1)})
}

func edgesOf(tp *topo.Topology, r *rand.Rand) []edge {
	var es []edge
	for _, l := range tp.Links {
		e := edge{a: l.A, b: l.B, ab: 100, ba: 100}
		if r != nil {
			e.ab, e.ba = 100+r.Int64N(900), 100+r.Int64N(900)
		}
		es = append(es, e)
	}
	return es
}

// pq holds (node, distance) entries; a node lowered while queued is pushed
// again and its stale entry skipped when popped.
type pq []struct {
	id   int
	dist int64
}

func (q pq) Len() int           { return len(q) }
func (q pq) Less(i, j int) bool { return q[i].dist < q[j].dist }
func (q pq) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *pq) Push(x any) {
	*q = append(*q, x.(struct {
		id   int
		dist int64
	}))
}
func (q *pq) Pop() any {
	x := (*q)[len(*q)-1]
	*q = (*q)[:len(*q)-1]
	return x
}

const unreachable = int64(1) << 62

// distTo returns, for every node, the shortest cost from it to the nearest
// of targets, following forward link costs.
func distTo(n int, es []edge, targets []int) []int64 {
	in := make([][]struct {
		from int
		c    int64
	}, n)
	for _, e := range es {
		in[e.b] = append(in[e.b], struct {
			from int
			c    int64
		}{e.a, e.ab})
		in[e.a] = append(in[e.a], struct {
			from int
			c    int64
		}{e.b, e.ba})
	}
	dist := make([]int64, n)
	for i := range dist {
		dist[i] = unreachable
	}
	type entry = struct {
		id   int
		dist int64
	}
	q := &pq{}
	for _, t := range targets {
		dist[t] = 0
		heap.Push(q, entry{t, 0})
	}
	done := make([]bool, n)
	for q.Len() > 0 {
		x := heap.Pop(q).(entry).id
		if done[x] {
			continue
		}
		done[x] = true
		for _, e := range in[x] {
			if nd := dist[x] + e.c; nd < dist[e.from] {
				dist[e.from] = nd
				heap.Push(q, entry{e.from, nd})
			}
		}
	}
	return dist
}

// routesTowards returns node u's route towards the set whose distances are
// dist: every neighbour strictly closer to the set (so the hop is loop-free),
// by cost, at most maxHops.
func routesTowards(u int, out map[int]int64, dist []int64, maxHops int) []Hop {
	var hops []Hop
	for v, c := range out {
		if dist[v] < dist[u] {
			hops = append(hops, Hop{Via: v, Cost: c + dist[v]})
		}
	}
	slices.SortFunc(hops, func(a, b Hop) int {
		if c := cmp.Compare(a.Cost, b.Cost); c != 0 {
			return c
		}
		return cmp.Compare(a.Via, b.Via)
	})
	return hops[:min(len(hops), maxHops)]
}

// correctDump builds a dump whose /32 routes are exact shortest paths over
// the whole graph, with loop-free alternatives.
func correctDump(n int, es []edge, maxHops int) *Dump {
	d := &Dump{}
	for i := range n {
		d.Nodes = append(d.Nodes, DumpNode{ID: i, Addr: addrOf(i)})
	}
	out := make([]map[int]int64, n)
	for i := range out {
		out[i] = map[int]int64{}
	}
	for _, e := range es {
		d.Links = append(d.Links, DumpLink{A: e.a, B: e.b, CostAB: e.ab, CostBA: e.ba})
		out[e.a][e.b] = e.ab
		out[e.b][e.a] = e.ba
	}
	for dst := range n {
		dist := distTo(n, es, []int{dst})
		for u := range n {
			if u == dst || dist[u] == unreachable {
				continue
			}
			d.Routes = append(d.Routes, DumpRoute{Node: u, Dst: netip.PrefixFrom(addrOf(dst), 32), Hops: routesTowards(u, out[u], dist, maxHops)})
		}
	}
	return d
}

// hierDump builds a two-level dump over groups of 250 consecutive nodes,
// which must each be connected: /32 routes inside each group, shortest over
// the links inside the group, and one /24 route per other group, towards the
// group's nearest node.
func hierDump(n int, es []edge, maxHops int) *Dump {
	d := correctDump(n, nil, maxHops)
	grp := func(i int) int { return i / 250 }
	out := make([]map[int]int64, n)
	in := make([]map[int]int64, n) // out restricted to the node's group
	for i := range out {
		out[i], in[i] = map[int]int64{}, map[int]int64{}
	}
	var inside []edge
	for _, e := range es {
		d.Links = append(d.Links, DumpLink{A: e.a, B: e.b, CostAB: e.ab, CostBA: e.ba})
		out[e.a][e.b], out[e.b][e.a] = e.ab, e.ba
		if grp(e.a) == grp(e.b) {
			inside = append(inside, e)
			in[e.a][e.b], in[e.b][e.a] = e.ab, e.ba
		}
	}
	for dst := range n {
		dist := distTo(n, inside, []int{dst})
		for u := grp(dst) * 250; u < min(n, grp(dst)*250+250); u++ {
			if u != dst && dist[u] != unreachable {
				d.Routes = append(d.Routes, DumpRoute{Node: u, Dst: netip.PrefixFrom(addrOf(dst), 32), Hops: routesTowards(u, in[u], dist, maxHops)})
			}
		}
	}
	for g := 0; g*250 < n; g++ {
		var members []int
		for i := g * 250; i < min(n, (g+1)*250); i++ {
			members = append(members, i)
		}
		dist := distTo(n, es, members)
		pfx := netip.PrefixFrom(addrOf(g*250), 24).Masked()
		for u := range n {
			if grp(u) != g && dist[u] != unreachable {
				d.Routes = append(d.Routes, DumpRoute{Node: u, Dst: pfx, Hops: routesTowards(u, out[u], dist, maxHops)})
			}
		}
	}
	return d
}

// must unwraps a generator's result; generators fail only on bad arguments,
// which would be a bug in the test itself.
func must(tp *topo.Topology, err error) *topo.Topology {
	if err != nil {
		panic(err)
	}
	return tp
}

// route returns a pointer to node's route towards node dst's /32.
func route(t testing.TB, d *Dump, node, dst int) *DumpRoute {
	t.Helper()
	p := netip.PrefixFrom(addrOf(dst), 32)
	for i := range d.Routes {
		if d.Routes[i].Node == node && d.Routes[i].Dst == p {
			return &d.Routes[i]
		}
	}
	t.Fatalf("no route %d -> %d", node, dst)
	return nil
}

func removeRoute(d *Dump, node int, dst netip.Prefix) {
	d.Routes = slices.DeleteFunc(d.Routes, func(r DumpRoute) bool { return r.Node == node && r.Dst == dst })
}
