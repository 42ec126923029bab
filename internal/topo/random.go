package topo

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// RandomGeometric places n nodes uniformly in the unit square and links every
// pair closer than a radio radius chosen so that the mean degree is about
// opt.Degree, like wifi routers scattered over a town. Disconnected parts are
// then joined, cheapest first: the link added is always the shortest one
// between two different components (the joins form a minimum spanning forest
// over the components), so the result is connected and deterministic.
//
// Neighbour search uses a grid of cells at least one radius wide, so the cost
// grows linearly with n.
func RandomGeometric(n int, r *rand.Rand, opt Options) (*Topology, error) {
	opt, err := opt.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("random: %w", err)
	}
	if err := checkCount("random", n); err != nil {
		return nil, err
	}
	if r == nil {
		return nil, errors.New("random: nil *rand.Rand")
	}
	t := &Topology{Name: fmt.Sprintf("random-%d", n), Nodes: n, Pos: make([][2]float64, n)}
	for i := range t.Pos {
		t.Pos[i] = [2]float64{r.Float64(), r.Float64()}
	}
	radius := radiusFor(n, opt.Degree)
	uf := newUnionFind(n)
	t.Links = cluster(t.Pos, 0, n, [2]float64{0, 0}, radius, uf, opt)
	sortLinks(t.Links)
	return t, nil
}

// Islands returns k random geometric clusters of each nodes, laid out on a
// near-square grid of islands; every pair of islands adjacent on that grid is
// joined by bridges links between their closest nodes (no node carries two
// bridges towards the same island). Island i holds nodes i*each..(i+1)*each-1.
func Islands(k, each, bridges int, r *rand.Rand, opt Options) (*Topology, error) {
	if k < 1 || each < 1 || k > (MaxIndex+1)/each {
		return nil, fmt.Errorf("islands: bad shape %d islands of %d nodes", k, each)
	}
	if bridges < 1 || bridges > MaxBridges {
		return nil, fmt.Errorf("islands: %d bridges out of range 1..%d", bridges, MaxBridges)
	}
	opt, err := opt.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("islands: %w", err)
	}
	sizes := make([]int, k)
	for i := range sizes {
		sizes[i] = each
	}
	return islands(sizes, bridges, r, opt)
}

// islandGap is the empty space between islands, in island widths: wider than
// any radio radius, so islands only meet through bridges.
const islandGap = 0.5

func islands(sizes []int, bridges int, r *rand.Rand, opt Options) (*Topology, error) {
	if r == nil {
		return nil, errors.New("islands: nil *rand.Rand")
	}
	n := 0
	for _, s := range sizes {
		n += s
	}
	if err := checkCount("islands", n); err != nil {
		return nil, err
	}
	k := len(sizes)
	cols := int(math.Ceil(math.Sqrt(float64(k))))
	t := &Topology{Name: fmt.Sprintf("islands-%dx%d", k, n/k), Nodes: n, Pos: make([][2]float64, n)}
	uf := newUnionFind(n)
	first := make([]int, k+1) // island i holds nodes first[i]..first[i+1]-1
	origin := make([][2]float64, k)
	for i, size := range sizes {
		first[i+1] = first[i] + size
		origin[i] = [2]float64{float64(i%cols) * (1 + islandGap), float64(i/cols) * (1 + islandGap)}
		for j := first[i]; j < first[i+1]; j++ {
			t.Pos[j] = [2]float64{origin[i][0] + r.Float64(), origin[i][1] + r.Float64()}
		}
	}
	var radius float64
	for i, size := range sizes {
		radius = radiusFor(size, opt.Degree)
		t.Links = append(t.Links, cluster(t.Pos, first[i], first[i+1], origin[i], radius, uf, opt)...)
	}
	for i := range k {
		// Neighbours on the island grid: right and below.
		if (i+1)%cols != 0 && i+1 < k {
			t.Links = append(t.Links, bridge(t.Pos, first[i], first[i+1], first[i+1], first[i+2], origin[i+1], origin[i], bridges, radius, opt)...)
		}
		if i+cols < k {
			t.Links = append(t.Links, bridge(t.Pos, first[i], first[i+1], first[i+cols], first[i+cols+1], origin[i+cols], origin[i], bridges, radius, opt)...)
		}
	}
	sortLinks(t.Links)
	return t, nil
}

// radiusFor returns the radius giving n uniform points in the unit square a
// mean degree of deg. Two uniform points of the unit square lie within r of
// each other (r <= 1) with probability pi*r^2 - 8r^3/3 + r^4/2; the border
// terms matter: ignoring them leaves small graphs well below the target.
func radiusFor(n int, deg float64) float64 {
	p := func(r float64) float64 { return math.Pi*r*r - 8*r*r*r/3 + r*r*r*r/2 }
	if n <= 1 {
		return 0
	}
	want := deg / float64(n-1)
	if want >= p(1) {
		return 2 // beyond the diagonal: every pair is linked
	}
	lo, hi := 0.0, 1.0
	for range 64 {
		mid := (lo + hi) / 2
		if p(mid) < want {
			lo = mid
		} else {
			hi = mid
		}
	}
	return hi
}

// cells is a bucket grid over a square of side 1 at origin, holding nodes
// lo..hi-1. Cells are at least radius wide, so neighbours within radius are
// in the same or an adjacent cell.
type cells struct {
	pos    [][2]float64
	origin [2]float64
	size   float64 // cell width
	g      int     // cells per side
	start  []int32 // nodes of cell c are ids[start[c]:start[c+1]]
	ids    []int32
}

func newCells(pos [][2]float64, lo, hi int, origin [2]float64, radius float64) *cells {
	g := 1
	if radius > 0 && radius < 1 {
		g = int(1 / radius) // floor keeps cells at least one radius wide
	}
	// More cells than nodes only costs memory and empty-cell scans.
	if lim := int(math.Sqrt(float64(hi-lo))) + 1; g > lim {
		g = lim
	}
	c := &cells{pos: pos, origin: origin, size: 1 / float64(g), g: g,
		start: make([]int32, g*g+1), ids: make([]int32, hi-lo)}
	for i := lo; i < hi; i++ {
		c.start[c.cellOf(i)+1]++
	}
	for i := 1; i < len(c.start); i++ {
		c.start[i] += c.start[i-1]
	}
	fill := slices.Clone(c.start[:g*g])
	for i := lo; i < hi; i++ { // ascending, so every cell lists its nodes in order
		k := c.cellOf(i)
		c.ids[fill[k]] = int32(i)
		fill[k]++
	}
	return c
}

func (c *cells) coords(i int) (int, int) {
	clamp := func(v float64) int { return min(max(int(v/c.size), 0), c.g-1) }
	return clamp(c.pos[i][0] - c.origin[0]), clamp(c.pos[i][1] - c.origin[1])
}

func (c *cells) cellOf(i int) int {
	x, y := c.coords(i)
	return y*c.g + x
}

// ring calls f for every node in the cells at Chebyshev distance k from
// (x, y).
func (c *cells) ring(x, y, k int, f func(j int)) {
	for cy := y - k; cy <= y+k; cy++ {
		if cy < 0 || cy >= c.g {
			continue
		}
		step := 1
		if cy != y-k && cy != y+k {
			step = 2 * k // inner rows: only the two edge cells
		}
		for cx := x - k; cx <= x+k; cx += max(step, 1) {
			if cx < 0 || cx >= c.g {
				continue
			}
			cell := cy*c.g + cx
			for _, j := range c.ids[c.start[cell]:c.start[cell+1]] {
				f(int(j))
			}
		}
	}
}

func dist2(p, q [2]float64) float64 {
	dx, dy := p[0]-q[0], p[1]-q[1]
	return dx*dx + dy*dy
}

// cluster links nodes lo..hi-1 that are closer than radius, then joins the
// cluster's components, and returns the links.
func cluster(pos [][2]float64, lo, hi int, origin [2]float64, radius float64, uf *unionFind, opt Options) []Link {
	c := newCells(pos, lo, hi, origin, radius)
	r2 := radius * radius
	var links []Link
	var near []int
	for i := lo; i < hi; i++ {
		near = near[:0]
		x, y := c.coords(i)
		c.ring(x, y, 0, func(j int) {
			if j > i && dist2(pos[i], pos[j]) < r2 {
				near = append(near, j)
			}
		})
		c.ring(x, y, 1, func(j int) {
			if j > i && dist2(pos[i], pos[j]) < r2 {
				near = append(near, j)
			}
		})
		slices.Sort(near)
		for _, j := range near {
			uf.union(i, j)
			links = append(links, opt.linkAt(i, j, math.Sqrt(dist2(pos[i], pos[j])), radius))
		}
	}
	return append(links, joinComponents(c, lo, hi, uf, radius, opt)...)
}

// candidate is a possible joining link, ordered by length then indexes so
// that ties are broken the same way on every run.
type candidate struct {
	d2   float64
	a, b int
}

func (x candidate) less(y candidate) bool {
	if x.d2 != y.d2 {
		return x.d2 < y.d2
	}
	if x.a != y.a {
		return x.a < y.a
	}
	return x.b < y.b
}

// joinComponents adds links until nodes lo..hi-1 form one component. Each
// round, every component but the largest finds its shortest link to another
// component (Borůvka's step: by the cut property such a link belongs to the
// minimum spanning forest, so this adds the same links as repeatedly joining
// the globally closest pair). Skipping the largest component avoids searching
// from its many nodes; the others still halve in number every round.
func joinComponents(c *cells, lo, hi int, uf *unionFind, radius float64, opt Options) []Link {
	var links []Link
	for {
		comps := map[int][]int{}
		var roots []int
		for i := lo; i < hi; i++ {
			r := uf.find(i)
			if _, ok := comps[r]; !ok {
				roots = append(roots, r)
			}
			comps[r] = append(comps[r], i)
		}
		if len(roots) <= 1 {
			return links
		}
		largest := roots[0]
		for _, r := range roots {
			if len(comps[r]) > len(comps[largest]) {
				largest = r
			}
		}
		var cands []candidate
		for _, root := range roots {
			if root == largest {
				continue
			}
			if best, ok := nearestOutside(c, comps[root], root, uf); ok {
				cands = append(cands, best)
			}
		}
		slices.SortFunc(cands, func(x, y candidate) int {
			if x.less(y) {
				return -1
			}
			if y.less(x) {
				return 1
			}
			return 0
		})
		for _, k := range cands {
			if uf.union(k.a, k.b) {
				links = append(links, opt.linkAt(k.a, k.b, math.Sqrt(k.d2), radius))
			}
		}
	}
}

// nearestOutside finds the shortest link from a node of comp to a node of
// another component, searching outward ring by ring and stopping once no
// unexplored cell can hold anything closer.
func nearestOutside(c *cells, comp []int, root int, uf *unionFind) (candidate, bool) {
	best := candidate{d2: math.Inf(1)}
	for _, p := range comp {
		x, y := c.coords(p)
		for k := 0; k <= c.g; k++ {
			if k >= 2 {
				// Every node in ring k is at least (k-1) cells away.
				if d := float64(k-1) * c.size; d*d > best.d2 {
					break
				}
			}
			c.ring(x, y, k, func(j int) {
				if uf.find(j) == root {
					return
				}
				cand := candidate{d2: dist2(c.pos[p], c.pos[j]), a: min(p, j), b: max(p, j)}
				if cand.less(best) {
					best = cand
				}
			})
		}
	}
	return best, !math.IsInf(best.d2, 1)
}

// bridge returns up to count links between island [alo,ahi) and island
// [blo,bhi), the closest pairs first, each node used at most once.
func bridge(pos [][2]float64, alo, ahi, blo, bhi int, boxB, boxA [2]float64, count int, radius float64, opt Options) []Link {
	// Only nodes near the facing side can be among the closest pairs; keep a
	// few per bridge instead of comparing every pair of nodes.
	m := 8*count + 8
	near := func(lo, hi int, box [2]float64) []int {
		ids := make([]int, 0, hi-lo)
		for i := lo; i < hi; i++ {
			ids = append(ids, i)
		}
		d := func(i int) float64 { return boxDist2(pos[i], box) }
		slices.SortFunc(ids, func(x, y int) int {
			if c := cmp.Compare(d(x), d(y)); c != 0 {
				return c
			}
			return cmp.Compare(x, y)
		})
		return ids[:min(m, len(ids))]
	}
	as, bs := near(alo, ahi, boxB), near(blo, bhi, boxA)
	var cands []candidate
	for _, a := range as {
		for _, b := range bs {
			cands = append(cands, candidate{d2: dist2(pos[a], pos[b]), a: min(a, b), b: max(a, b)})
		}
	}
	slices.SortFunc(cands, func(x, y candidate) int {
		if x.less(y) {
			return -1
		}
		if y.less(x) {
			return 1
		}
		return 0
	})
	used := map[int]bool{}
	var links []Link
	for _, k := range cands {
		if len(links) == count {
			break
		}
		if used[k.a] || used[k.b] {
			continue
		}
		used[k.a], used[k.b] = true, true
		links = append(links, opt.linkAt(k.a, k.b, math.Sqrt(k.d2), radius))
	}
	return links
}

// boxDist2 is the squared distance from p to the unit square at origin o.
func boxDist2(p, o [2]float64) float64 {
	d := 0.0
	for i := range 2 {
		if v := o[i] - p[i]; v > 0 {
			d += v * v
		} else if v := p[i] - (o[i] + 1); v > 0 {
			d += v * v
		}
	}
	return d
}

// sortLinks orders links by (A, B) so that output does not depend on the
// order generators found them in.
func sortLinks(ls []Link) {
	slices.SortFunc(ls, func(x, y Link) int {
		if c := cmp.Compare(x.A, y.A); c != 0 {
			return c
		}
		return cmp.Compare(x.B, y.B)
	})
}
