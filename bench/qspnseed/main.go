// Command qspnseed measures the seed's qspn_close/qspn_open exploration
// (seed 001 §5.1) next to "every node floods its own tracer" (what ntkd does
// inside each gnode, docs/QSPN.md) on the simulator's topologies: packets per
// round, and how good the routes are that each leaves behind.
//
//	go run ./bench/qspnseed [-first] [-topologies random:64,grid:64,ring:16,diamond:6] [-seeds 10]
//
// It is a model, not the node: packets travel with the link's latency as
// delay and the link's latency as cost, one level, no loss. That is the most
// favourable case for the seed: the first copy of a flood to reach a node
// came along the shortest path, so "every node floods" is exact here with
// first copies only. What the model asks is whether close/open, with fewer
// packets, still leaves every node a shortest route to every other.
package main

import (
	"container/heap"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ntkd/ntkd/internal/topo"
)

func main() {
	tops := flag.String("topologies", "diamond:6,ring:16,grid:64,random:64,random:256,random:1024", "kind:nodes list")
	seeds := flag.Int("seeds", 10, "random seeds per topology (starter and random graph)")
	firstOnly := flag.Bool("first", false, "nodes pass on only the first close and the first open of each sub_id")
	flag.Parse()
	fmt.Println("| topology | close/open packets per round | every-node-floods packets per round | ratio | pairs with a route | pairs on a shortest route | delivered hop by hop | stretch p50 / p99 / max (delivered) |")
	fmt.Println("| --- | --- | --- | --- | --- | --- | --- | --- |")
	for _, spec := range strings.Split(*tops, ",") {
		kind, ns, _ := strings.Cut(spec, ":")
		n, err := strconv.Atoi(ns)
		if err != nil {
			fmt.Fprintf(os.Stderr, "qspnseed: bad topology %q: want kind:nodes\n", spec)
			os.Exit(2)
		}
		var agg result
		for s := 1; s <= *seeds; s++ {
			r := rand.New(rand.NewPCG(uint64(s), 7))
			t, err := topo.Generate(kind, n, r, topo.Options{LatencyMin: time.Millisecond, LatencyMax: 8 * time.Millisecond})
			if err != nil {
				fmt.Fprintf(os.Stderr, "qspnseed: %s: %v\n", spec, err)
				os.Exit(2)
			}
			g := newGraph(t)
			s, extremes := closeOpen(g, r.IntN(g.n), *firstOnly)
			if extremes < 0 {
				agg.exploded++
				continue
			}
			agg.add(evaluate(s, extremes), flood(g))
		}
		fmt.Printf("| %s %d (%d seeds) | %s |\n", kind, n, *seeds, agg.row())
	}
}

// graph is an undirected weighted graph; cost doubles as delay.
type graph struct {
	n   int
	adj [][]edge
	e   int
}

type edge struct {
	to   int
	cost int64 // microseconds
}

func newGraph(t *topo.Topology) *graph {
	g := &graph{n: t.Nodes, adj: make([][]edge, t.Nodes), e: len(t.Links)}
	for _, l := range t.Links {
		c := l.Latency.Microseconds()
		g.adj[l.A] = append(g.adj[l.A], edge{l.B, c})
		g.adj[l.B] = append(g.adj[l.B], edge{l.A, c})
	}
	return g
}

// routes[v][w] is v's best known cost to w through each first hop (a
// neighbour index into adj[v]); absent means no route.
type routes []map[int]map[int]int64

// packet is a tracer: the nodes it went through, origin first, and the
// cumulative cost from the origin to each.
type packet struct {
	open bool
	sub  int // the extreme node that sent the open
	path []int
	cost []int64
}

type event struct {
	at   int64
	seq  int
	to   int
	from int // index of the link in adj[to]
	p    *packet
}

type queue []event

func (q queue) Len() int { return len(q) }
func (q queue) Less(i, j int) bool {
	if q[i].at != q[j].at {
		return q[i].at < q[j].at
	}
	return q[i].seq < q[j].seq
}
func (q queue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *queue) Push(x any)   { *q = append(*q, x.(event)) }
func (q *queue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}

// sim delivers packets in time order and counts them.
type sim struct {
	g       *graph
	q       queue
	now     int64
	seq     int
	packets int
	rt      routes
}

func newSim(g *graph) *sim {
	s := &sim{g: g, rt: make(routes, g.n)}
	for i := range s.rt {
		s.rt[i] = map[int]map[int]int64{}
	}
	return s
}

// send puts p+self on v's link k.
func (s *sim) send(v, k int, p *packet) {
	e := s.g.adj[v][k]
	back := slices.IndexFunc(s.g.adj[e.to], func(x edge) bool { return x.to == v })
	s.seq++
	s.packets++
	heap.Push(&s.q, event{at: s.now + e.cost, seq: s.seq, to: e.to, from: back, p: p})
}

// extend returns p with v appended (v reached over a link of cost c).
func extend(p *packet, v int, c int64) *packet {
	q := &packet{open: p.open, sub: p.sub, path: append(slices.Clip(p.path), v)}
	last := int64(0)
	if len(p.cost) > 0 {
		last = p.cost[len(p.cost)-1] + c
	}
	q.cost = append(slices.Clip(p.cost), last)
	return q
}

// learn records at v, through its link k, a route to every node on p's path.
func (s *sim) learn(v, k int, p *packet) {
	total := p.cost[len(p.cost)-1] + s.g.adj[v][k].cost
	for i, w := range p.path {
		if w == v {
			continue
		}
		c := total - p.cost[i]
		m := s.rt[v][w]
		if m == nil {
			m = map[int]int64{}
			s.rt[v][w] = m
		}
		if old, ok := m[k]; !ok || c < old {
			m[k] = c
		}
	}
}

// packetCap stops a round that explodes (close/open forwards every copy it
// receives on every link not yet closed).
const packetCap = 20_000_000

// closeOpen runs one round of seed 001 §5.1 from one qspn_starter.
//
// With firstOnly, a node passes on only the first close and the first open of
// each sub_id it receives (it still learns from every copy): the cheapest
// reading of the seed.
func closeOpen(g *graph, starter int, firstOnly bool) (*sim, int) {
	passedClose := make([]bool, g.n)
	passedOpen := make([]map[int]bool, g.n)
	for v := range passedOpen {
		passedOpen[v] = map[int]bool{}
	}
	s := newSim(g)
	closed := make([][]bool, g.n)
	opened := make([]map[int][]bool, g.n)
	sentOpen := make([]bool, g.n)
	for v := range g.n {
		closed[v] = make([]bool, len(g.adj[v]))
		opened[v] = map[int][]bool{}
	}
	allTrue := func(b []bool) bool { return !slices.Contains(b, false) }
	start := &packet{path: []int{starter}, cost: []int64{0}}
	for k := range g.adj[starter] {
		s.send(starter, k, start)
	}
	for s.q.Len() > 0 {
		if s.packets > packetCap {
			return s, -1
		}
		ev := heap.Pop(&s.q).(event)
		s.now = ev.at
		v, k, p := ev.to, ev.from, ev.p
		if slices.Contains(p.path, v) {
			continue // a tracer that came back to a node already on its path
		}
		s.learn(v, k, p)
		out := extend(p, v, g.adj[v][k].cost)
		switch {
		case p.open && p.sub == v:
			// Its own open came back.
		case !p.open && (v == starter || sentOpen[v]):
			// The starter only updates its map from closes, and a node
			// that sent its qspn_open has every link closed already.
		case !p.open:
			closed[v][k] = true
			if allTrue(closed[v]) {
				// An extreme node: the open goes out with what the close
				// gathered, an empty one back on the link that closed it.
				sentOpen[v] = true
				open := &packet{open: true, sub: v, path: out.path, cost: out.cost}
				for j := range g.adj[v] {
					if j == k {
						s.send(v, j, &packet{open: true, sub: v, path: []int{v}, cost: []int64{0}})
					} else {
						s.send(v, j, open)
					}
				}
				continue
			}
			if firstOnly && passedClose[v] {
				continue
			}
			passedClose[v] = true
			for j := range g.adj[v] {
				if !closed[v][j] {
					s.send(v, j, out)
				}
			}
		default:
			o := opened[v][p.sub]
			if o == nil {
				o = make([]bool, len(g.adj[v]))
				opened[v][p.sub] = o
			}
			o[k] = true
			if firstOnly && passedOpen[v][p.sub] {
				continue
			}
			passedOpen[v][p.sub] = true
			for j := range g.adj[v] {
				if !o[j] {
					s.send(v, j, out)
				}
			}
		}
	}
	extremes := 0
	for _, b := range sentOpen {
		if b {
			extremes++
		}
	}
	return s, extremes
}

// flood runs "every node floods its own tracer": each node passes on the
// first copy of each origin's flood to every other link. Returns packets.
func flood(g *graph) int {
	total := 0
	for o := range g.n {
		total += len(g.adj[o])
		d := dijkstra(g, o)
		for v := range g.n {
			if v != o && d[v] < math.MaxInt64 {
				total += len(g.adj[v]) - 1
			}
		}
	}
	return total
}

func dijkstra(g *graph, src int) []int64 {
	d := make([]int64, g.n)
	for i := range d {
		d[i] = math.MaxInt64
	}
	d[src] = 0
	h := &distHeap{{src, 0}}
	for h.Len() > 0 {
		x := heap.Pop(h).(item)
		if x.d > d[x.v] {
			continue
		}
		for _, e := range g.adj[x.v] {
			if nd := x.d + e.cost; nd < d[e.to] {
				d[e.to] = nd
				heap.Push(h, item{e.to, nd})
			}
		}
	}
	return d
}

type item struct {
	v int
	d int64
}
type distHeap []item

func (h distHeap) Len() int           { return len(h) }
func (h distHeap) Less(i, j int) bool { return h[i].d < h[j].d }
func (h distHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *distHeap) Push(x any)        { *h = append(*h, x.(item)) }
func (h *distHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// quality is what close/open left behind.
type quality struct {
	packets, extremes             int
	pairs, routed, exact, deliver int
	stretch                       []float64
}

// evaluate checks every ordered pair: a route at all, a best route as short
// as the true shortest path, and delivery following best next hops.
func evaluate(s *sim, extremes int) quality {
	g := s.g
	q := quality{packets: s.packets, extremes: extremes}
	best := func(v, w int) (int, int64, bool) {
		bk, bc := -1, int64(math.MaxInt64)
		for k, c := range s.rt[v][w] {
			if c < bc || (c == bc && k < bk) {
				bk, bc = k, c
			}
		}
		return bk, bc, bk >= 0
	}
	for v := range g.n {
		d := dijkstra(g, v)
		for w := range g.n {
			if w == v || d[w] == math.MaxInt64 {
				continue
			}
			q.pairs++
			_, c, ok := best(v, w)
			if !ok {
				continue
			}
			q.routed++
			// Routes run towards w, so compare with w's distance to v.
			if c == d[w] {
				q.exact++
			}
			// Walk the best next hops.
			at, cost, hops := v, int64(0), 0
			for at != w && hops <= g.n {
				k, _, ok := best(at, w)
				if !ok {
					break
				}
				cost += g.adj[at][k].cost
				at = g.adj[at][k].to
				hops++
			}
			if at == w {
				q.deliver++
				q.stretch = append(q.stretch, float64(cost)/float64(d[w]))
			}
		}
	}
	return q
}

type result struct {
	q        quality
	flood    int
	exploded int // rounds stopped at packetCap
	runs     int
}

func (r *result) add(q quality, flood int) {
	r.q.packets += q.packets
	r.q.extremes += q.extremes
	r.q.pairs += q.pairs
	r.q.routed += q.routed
	r.q.exact += q.exact
	r.q.deliver += q.deliver
	r.q.stretch = append(r.q.stretch, q.stretch...)
	r.flood += flood
	r.runs++
}

func (r *result) row() string {
	if r.q.pairs == 0 {
		return fmt.Sprintf("> %d per round in %d runs | | | | | |", packetCap, r.exploded)
	}
	pct := func(a int) string { return fmt.Sprintf("%.1f %%", 100*float64(a)/float64(r.q.pairs)) }
	st := "n/a"
	if len(r.q.stretch) > 0 {
		slices.Sort(r.q.stretch)
		at := func(p float64) float64 { return r.q.stretch[int(p*float64(len(r.q.stretch)-1))] }
		st = fmt.Sprintf("%.2f / %.2f / %.2f", at(0.5), at(0.99), r.q.stretch[len(r.q.stretch)-1])
	}
	return fmt.Sprintf("%d | %d | %.2f | %s | %s | %s | %s", r.q.packets/r.runs, r.flood/r.runs,
		float64(r.q.packets)/float64(r.flood), pct(r.q.routed), pct(r.q.exact), pct(r.q.deliver), st)
}
