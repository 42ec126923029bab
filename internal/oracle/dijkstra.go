package oracle

import "math"

// inf marks a node not reached by Dijkstra.
const inf = math.MaxInt64

// dijkstra computes shortest path costs with an indexed binary heap. Its
// arrays are reused across runs and only touched entries are reset, so many
// runs on small groups of a big graph stay cheap.
type dijkstra struct {
	g       *graph
	dist    []int64
	pos     []int32 // index in heap, -1 when not queued
	heap    []int32
	touched []int32
}

func newDijkstra(g *graph) *dijkstra {
	d := &dijkstra{g: g, dist: make([]int64, g.n), pos: make([]int32, g.n)}
	for i := range d.dist {
		d.dist[i] = inf
		d.pos[i] = -1
	}
	return d
}

// run computes the cost from src to every node (or, with towards, from
// every node to src, following links backwards with their forward costs).
// With gid non-nil only nodes x with gid[x] == group are used. The result
// is the dijkstra's own array, overwritten by the next run.
func (d *dijkstra) run(src int32, towards bool, gid []int32, group int32) []int64 {
	for _, x := range d.touched {
		d.dist[x] = inf
		d.pos[x] = -1
	}
	d.touched = d.touched[:0]
	d.heap = d.heap[:0]
	g := d.g
	cost := g.out
	if towards {
		cost = g.in
	}
	d.set(src, 0)
	for len(d.heap) > 0 {
		x := d.pop()
		dx := d.dist[x]
		for k := g.start[x]; k < g.start[x+1]; k++ {
			y := g.to[k]
			if gid != nil && gid[y] != group {
				continue
			}
			if nd := dx + cost[k]; nd < d.dist[y] {
				d.set(y, nd)
			}
		}
	}
	return d.dist
}

// set lowers y's distance, queueing it if needed.
func (d *dijkstra) set(y int32, dist int64) {
	if d.dist[y] == inf {
		d.touched = append(d.touched, y)
	}
	d.dist[y] = dist
	i := d.pos[y]
	if i < 0 {
		i = int32(len(d.heap))
		d.heap = append(d.heap, y)
		d.pos[y] = i
	}
	d.up(i)
}

func (d *dijkstra) pop() int32 {
	h := d.heap
	x := h[0]
	last := len(h) - 1
	d.swap(0, int32(last))
	d.heap = h[:last]
	d.pos[x] = -1 // settled; costs are positive, so it is never lowered again
	if last > 0 {
		d.down(0)
	}
	return x
}

func (d *dijkstra) up(i int32) {
	for i > 0 {
		p := (i - 1) / 2
		if d.dist[d.heap[p]] <= d.dist[d.heap[i]] {
			return
		}
		d.swap(i, p)
		i = p
	}
}

func (d *dijkstra) down(i int32) {
	n := int32(len(d.heap))
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		m := l
		if r := l + 1; r < n && d.dist[d.heap[r]] < d.dist[d.heap[l]] {
			m = r
		}
		if d.dist[d.heap[i]] <= d.dist[d.heap[m]] {
			return
		}
		d.swap(i, m)
		i = m
	}
}

func (d *dijkstra) swap(i, j int32) {
	h := d.heap
	h[i], h[j] = h[j], h[i]
	d.pos[h[i]] = i
	d.pos[h[j]] = j
}
