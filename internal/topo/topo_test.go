package topo

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func rng(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)) }

func mustValid(t *testing.T, tp *Topology) {
	t.Helper()
	if err := tp.Validate(); err != nil {
		t.Fatal(err)
	}
}

func pairs(tp *Topology) [][2]int {
	var out [][2]int
	for _, l := range tp.Links {
		out = append(out, [2]int{l.A, l.B})
	}
	return out
}

func TestLineRing(t *testing.T) {
	for _, n := range []int{1, 2, 3, 10} {
		l, err := Line(n, Options{})
		if err != nil {
			t.Fatal(err)
		}
		mustValid(t, l)
		if len(l.Links) != n-1 || !l.Connected() || l.Nodes != n {
			t.Errorf("line %d: %d links, connected %v", n, len(l.Links), l.Connected())
		}
		r, err := Ring(n, Options{})
		if err != nil {
			t.Fatal(err)
		}
		mustValid(t, r)
		want := n
		if n < 3 {
			want = n - 1
		}
		if len(r.Links) != want {
			t.Errorf("ring %d: %d links, want %d", n, len(r.Links), want)
		}
		if n >= 3 {
			for i, nb := range r.Neighbours() {
				if len(nb) != 2 {
					t.Errorf("ring %d: node %d has neighbours %v", n, i, nb)
				}
			}
		}
	}
	if _, err := Line(0, Options{}); err == nil {
		t.Error("line of 0 nodes accepted")
	}
	l, _ := Line(3, Options{})
	for _, k := range l.Links {
		if k.Latency != 2*time.Millisecond || k.Jitter != 0 || k.Loss != 0 {
			t.Errorf("default link properties: %+v", k)
		}
	}
	l, _ = Line(3, Options{Latency: time.Second, Jitter: time.Millisecond, Loss: 0.5})
	if k := l.Links[0]; k.Latency != time.Second || k.Jitter != time.Millisecond || k.Loss != 0.5 {
		t.Errorf("options ignored: %+v", k)
	}
}

func TestGrid(t *testing.T) {
	g, err := Grid(3, 2, Options{})
	if err != nil {
		t.Fatal(err)
	}
	mustValid(t, g)
	want := [][2]int{{0, 1}, {0, 3}, {1, 2}, {1, 4}, {2, 5}, {3, 4}, {4, 5}}
	got := pairs(g)
	slices.SortFunc(got, func(a, b [2]int) int { return a[0]*100 + a[1] - b[0]*100 - b[1] })
	if !reflect.DeepEqual(got, want) {
		t.Errorf("grid 3x2 links %v, want %v", got, want)
	}
	for _, n := range []int{1, 2, 5, 7, 16, 17, 1000} {
		g, err := GridN(n, Options{})
		if err != nil {
			t.Fatal(err)
		}
		mustValid(t, g)
		if g.Nodes != n || !g.Connected() {
			t.Errorf("gridN %d: %d nodes, connected %v", n, g.Nodes, g.Connected())
		}
		w := int(math.Ceil(math.Sqrt(float64(n))))
		for i, nb := range g.Neighbours() {
			if len(nb) > 4 {
				t.Errorf("gridN %d: node %d degree %d", n, i, len(nb))
			}
			for _, j := range nb {
				if d := j - i; d != 1 && d != -1 && d != w && d != -w {
					t.Errorf("gridN %d: link %d-%d is not a grid link", n, i, j)
				}
			}
		}
	}
	// A prime count still gives a near-square, not a line.
	g, _ = GridN(1009, Options{})
	if d := diameter(g); d > 2*32 {
		t.Errorf("gridN 1009 diameter %d", d)
	}
}

// diameter by BFS from every node; only for small graphs.
func diameter(tp *Topology) int {
	nb := tp.Neighbours()
	best := 0
	for s := range tp.Nodes {
		dist := make([]int, tp.Nodes)
		for i := range dist {
			dist[i] = -1
		}
		dist[s] = 0
		q := []int{s}
		for len(q) > 0 {
			x := q[0]
			q = q[1:]
			for _, y := range nb[x] {
				if dist[y] < 0 {
					dist[y] = dist[x] + 1
					best = max(best, dist[y])
					q = append(q, y)
				}
			}
		}
	}
	return best
}

func TestDiamond(t *testing.T) {
	d, err := Diamond(Options{})
	if err != nil {
		t.Fatal(err)
	}
	mustValid(t, d)
	// A-B, A-C, A-D, B-D, C-D, E-A, E-C, B-F, D-F with A..F = 0..5.
	want := [][2]int{{0, 1}, {0, 2}, {0, 3}, {0, 4}, {1, 3}, {1, 5}, {2, 3}, {2, 4}, {3, 5}}
	if got := pairs(d); !reflect.DeepEqual(got, want) || d.Nodes != 6 {
		t.Errorf("diamond links %v, want %v", got, want)
	}
}

func TestRandomGeometric(t *testing.T) {
	opt := Options{LatencyMin: time.Millisecond, LatencyMax: 10 * time.Millisecond}
	a, err := RandomGeometric(2000, rng(1), opt)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := RandomGeometric(2000, rng(1), opt)
	c, _ := RandomGeometric(2000, rng(2), opt)
	mustValid(t, a)
	if !reflect.DeepEqual(a, b) {
		t.Error("same seed, different topology")
	}
	if reflect.DeepEqual(a.Links, c.Links) {
		t.Error("different seeds, same topology")
	}
	if !a.Connected() || len(a.Pos) != 2000 {
		t.Fatalf("connected %v, %d positions", a.Connected(), len(a.Pos))
	}
	if deg := 2 * float64(len(a.Links)) / 2000; deg < 5.4 || deg > 6.6 {
		t.Errorf("mean degree %.2f, want about 6", deg)
	}
	// Latency grows with length and stays in range.
	type lenLat struct {
		d   float64
		lat time.Duration
	}
	var ls []lenLat
	distinct := map[time.Duration]bool{}
	for _, l := range a.Links {
		if l.Latency < opt.LatencyMin || l.Latency > opt.LatencyMax {
			t.Fatalf("latency %v out of range", l.Latency)
		}
		distinct[l.Latency] = true
		ls = append(ls, lenLat{math.Sqrt(dist2(a.Pos[l.A], a.Pos[l.B])), l.Latency})
	}
	slices.SortFunc(ls, func(x, y lenLat) int { return int(x.lat - y.lat) })
	for i := 1; i < len(ls); i++ {
		if ls[i].lat > ls[i-1].lat+time.Microsecond && ls[i].d < ls[i-1].d {
			t.Fatalf("longer link with lower latency: %+v vs %+v", ls[i-1], ls[i])
		}
	}
	if len(distinct) < 100 {
		t.Errorf("only %d distinct latencies", len(distinct))
	}
	// Every link within the radius is present: compare with brute force.
	rad := radiusFor(2000, 6)
	want := 0
	for i := range 2000 {
		for j := i + 1; j < 2000; j++ {
			if dist2(a.Pos[i], a.Pos[j]) < rad*rad {
				want++
			}
		}
	}
	short := 0
	for _, l := range a.Links {
		if dist2(a.Pos[l.A], a.Pos[l.B]) < rad*rad {
			short++
		}
	}
	if short != want {
		t.Errorf("%d links within radius, brute force finds %d", short, want)
	}
}

// TestMeanDegreeSmall checks the radius on small graphs, where the square's
// border removes about 8% of the neighbours a naive pi*r^2 radius expects.
func TestMeanDegreeSmall(t *testing.T) {
	total := 0
	for seed := range uint64(50) {
		tp, err := RandomGeometric(200, rng(seed), Options{})
		if err != nil {
			t.Fatal(err)
		}
		// Count only radius links: joins would inflate the degree.
		rad := radiusFor(200, 6)
		for _, l := range tp.Links {
			if dist2(tp.Pos[l.A], tp.Pos[l.B]) < rad*rad {
				total++
			}
		}
	}
	if deg := 2 * float64(total) / (50 * 200); deg < 5.82 || deg > 6.18 {
		t.Errorf("mean degree %.3f over 50 graphs of 200, want 6 +- 3%%", deg)
	}
}

// TestJoinIsMinimal checks, on sparse graphs with many components, that the
// joining links are exactly those Kruskal's algorithm picks over all pairs:
// the globally closest pair of different components, repeatedly.
func TestJoinIsMinimal(t *testing.T) {
	for seed := range uint64(20) {
		n := 50 + int(seed)*20
		tp, err := RandomGeometric(n, rng(seed), Options{Degree: 1.5})
		if err != nil {
			t.Fatal(err)
		}
		mustValid(t, tp)
		if !tp.Connected() {
			t.Fatalf("seed %d: not connected", seed)
		}
		rad := radiusFor(n, 1.5)
		uf := newUnionFind(n)
		got := map[[2]int]bool{}
		for _, l := range tp.Links {
			if dist2(tp.Pos[l.A], tp.Pos[l.B]) < rad*rad {
				uf.union(l.A, l.B)
			} else {
				got[[2]int{l.A, l.B}] = true
			}
		}
		var all []candidate
		for i := range n {
			for j := i + 1; j < n; j++ {
				all = append(all, candidate{dist2(tp.Pos[i], tp.Pos[j]), i, j})
			}
		}
		slices.SortFunc(all, func(x, y candidate) int {
			if x.less(y) {
				return -1
			}
			return 1
		})
		want := map[[2]int]bool{}
		for _, c := range all {
			if uf.union(c.a, c.b) {
				want[[2]int{c.a, c.b}] = true
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("seed %d: joins %v, Kruskal %v", seed, got, want)
		}
		if seed == 0 && len(want) < 5 {
			t.Errorf("test too easy: only %d joins", len(want))
		}
	}
}

func TestRandomSmall(t *testing.T) {
	for n := 1; n <= 8; n++ {
		tp, err := RandomGeometric(n, rng(uint64(n)), Options{})
		if err != nil {
			t.Fatal(err)
		}
		mustValid(t, tp)
		if !tp.Connected() {
			t.Errorf("n=%d not connected", n)
		}
	}
	// Degree above n-1: a complete graph.
	tp, _ := RandomGeometric(5, rng(1), Options{Degree: 10})
	if len(tp.Links) != 10 {
		t.Errorf("complete graph of 5: %d links", len(tp.Links))
	}
	if _, err := RandomGeometric(5, nil, Options{}); err == nil {
		t.Error("nil rand accepted")
	}
	if _, err := RandomGeometric(5, rng(1), Options{Degree: -1}); err == nil {
		t.Error("negative degree accepted")
	}
}

func TestIslands(t *testing.T) {
	tp, err := Islands(5, 100, 3, rng(7), Options{})
	if err != nil {
		t.Fatal(err)
	}
	mustValid(t, tp)
	if tp.Nodes != 500 || !tp.Connected() {
		t.Fatalf("%d nodes, connected %v", tp.Nodes, tp.Connected())
	}
	// Islands on a 3-column grid: 0-1, 1-2, 3-4 across, 0-3, 1-4 down.
	bridges := map[[2]int]int{}
	used := map[[2]int]bool{}
	for _, l := range tp.Links {
		ia, ib := l.A/100, l.B/100
		if ia != ib {
			bridges[[2]int{ia, ib}]++
			if used[[2]int{l.A, ib}] || used[[2]int{l.B, ia}] {
				t.Errorf("node reused for a bridge: %d-%d", l.A, l.B)
			}
			used[[2]int{l.A, ib}], used[[2]int{l.B, ia}] = true, true
		}
	}
	want := map[[2]int]int{{0, 1}: 3, {1, 2}: 3, {3, 4}: 3, {0, 3}: 3, {1, 4}: 3}
	if !reflect.DeepEqual(bridges, want) {
		t.Errorf("bridges %v, want %v", bridges, want)
	}
	// Each island is connected on its own.
	for i := range 5 {
		sub := &Topology{Nodes: 500}
		for _, l := range tp.Links {
			if l.A/100 == i && l.B/100 == i {
				sub.Links = append(sub.Links, l)
			}
		}
		if comps := sub.Components(); len(comps) != 500-100+1 {
			t.Errorf("island %d: %d components", i, len(comps)-400)
		}
	}
	// Uneven sizes through Generate.
	g, err := Generate("islands", 103, rng(1), Options{Islands: 4, Bridges: 1})
	if err != nil {
		t.Fatal(err)
	}
	mustValid(t, g)
	if g.Nodes != 103 || !g.Connected() {
		t.Errorf("islands 103: %d nodes, connected %v", g.Nodes, g.Connected())
	}
	if _, err := Generate("islands", 3, rng(1), Options{Islands: 4}); err == nil {
		t.Error("3 nodes in 4 islands accepted")
	}
}

func TestGenerate(t *testing.T) {
	for _, k := range Kinds() {
		n := 30
		if k == "diamond" {
			n = 6
		}
		tp, err := Generate(k, n, rng(3), Options{})
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		mustValid(t, tp)
		if tp.Nodes != n || !tp.Connected() {
			t.Errorf("%s: %d nodes, connected %v", k, tp.Nodes, tp.Connected())
		}
	}
	for _, bad := range []struct {
		kind string
		n    int
		opt  Options
	}{
		{"star", 5, Options{}},
		{"line", -1, Options{}},
		{"line", MaxIndex + 2, Options{}},
		{"diamond", 7, Options{}},
		{"ring", 5, Options{Loss: 2}},
		{"ring", 5, Options{Latency: -1}},
		{"random", 5, Options{LatencyMin: 5, LatencyMax: 4}},
		{"random", 5, Options{Degree: math.NaN()}},
		{"random", 5, Options{Degree: MaxDegree + 1}},
		{"islands", 50, Options{Bridges: MaxBridges + 1}},
	} {
		if _, err := Generate(bad.kind, bad.n, rng(1), bad.opt); err == nil {
			t.Errorf("Generate(%q, %d, %+v) accepted", bad.kind, bad.n, bad.opt)
		}
	}
}

func TestHelpers(t *testing.T) {
	tp := &Topology{Nodes: 6, Links: []Link{{A: 0, B: 1}, {A: 3, B: 4}, {A: 1, B: 2}}}
	mustValid(t, tp)
	if tp.Connected() {
		t.Error("disconnected topology reported connected")
	}
	want := [][]int{{0, 1, 2}, {3, 4}, {5}}
	if got := tp.Components(); !reflect.DeepEqual(got, want) {
		t.Errorf("components %v, want %v", got, want)
	}
	wantNb := [][]int{{1}, {0, 2}, {1}, {4}, {3}, {}}
	if got := tp.Neighbours(); !reflect.DeepEqual(got, wantNb) {
		t.Errorf("neighbours %v, want %v", got, wantNb)
	}
	if !(&Topology{Nodes: 1}).Connected() || !(&Topology{}).Connected() {
		t.Error("trivial topologies not connected")
	}
	for _, bad := range []*Topology{
		{Nodes: 2, Links: []Link{{A: 0, B: 2}}},
		{Nodes: 2, Links: []Link{{A: -1, B: 1}}},
		{Nodes: 2, Links: []Link{{A: 1, B: 0}}},
		{Nodes: 2, Links: []Link{{A: 1, B: 1}}},
		{Nodes: 2, Links: []Link{{A: 0, B: 1}, {A: 0, B: 1}}},
		{Nodes: 2, Links: []Link{{A: 0, B: 1, Latency: -1}}},
		{Nodes: 2, Links: []Link{{A: 0, B: 1, Jitter: -1}}},
		{Nodes: 2, Links: []Link{{A: 0, B: 1, Loss: math.NaN()}}},
		{Nodes: 2, Links: []Link{{A: 0, B: 1, Loss: 1.5}}},
		{Nodes: 2, Pos: make([][2]float64, 1)},
		{Nodes: -1},
	} {
		if err := bad.Validate(); err == nil {
			t.Errorf("Validate accepted %+v", bad)
		}
	}
}

func TestParse(t *testing.T) {
	in := `# a small test
nodes 5
0 1
2 1 latency=5ms   jitter=1ms loss=0.25 # trailing comment

3 1 loss=1 latency=0s
`
	tp, err := Parse("t.topo", strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	mustValid(t, tp)
	want := &Topology{Name: "t.topo", Nodes: 5, Links: []Link{
		{A: 0, B: 1, Latency: 2 * time.Millisecond},
		{A: 1, B: 2, Latency: 5 * time.Millisecond, Jitter: time.Millisecond, Loss: 0.25},
		{A: 1, B: 3, Latency: 0, Loss: 1},
	}}
	if !reflect.DeepEqual(tp, want) {
		t.Errorf("got %+v\nwant %+v", tp, want)
	}
	// Without a nodes line the count is max index + 1.
	tp, err = Parse("x", strings.NewReader("0 7\n"))
	if err != nil || tp.Nodes != 8 {
		t.Errorf("nodes from links: %v %v", tp, err)
	}
	tp, err = Parse("x", strings.NewReader("nodes 1\n"))
	if err != nil || tp.Nodes != 1 || len(tp.Links) != 0 {
		t.Errorf("single node: %v %v", tp, err)
	}
	tp, err = Parse("x", strings.NewReader(fmt.Sprintf("nodes %d\n0 %d\n", MaxIndex+1, MaxIndex)))
	if err != nil || tp.Nodes != MaxIndex+1 {
		t.Errorf("largest topology: %v", err)
	}
}

func TestParseErrors(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", "f: no links"},
		{"# only a comment\n\n", "f: no links"},
		{"0 0\n", "f:1: self-link"},
		{"0 1\n1 0\n", "f:2: link 0-1 already defined on line 1"},
		{"0 1\n0 1 latency=1ms\n", "f:2: link 0-1 already"},
		{"0 -1\n", "f:1: negative"},
		{"0 x\n", "f:1: bad number"},
		{"0\n", "f:1: want"},
		{"0 1000001\n", "f:1: 1000001 above 1000000"},
		{"0 1 latency=-1ms\n", "f:1: latency: negative"},
		{"0 1 jitter=-1ms\n", "f:1: jitter: negative"},
		{"0 1 latency=fast\n", "f:1: latency:"},
		{"0 1 loss=1.5\n", "f:1: loss: 1.5 outside"},
		{"0 1 loss=-0.1\n", "f:1: loss"},
		{"0 1 loss=NaN\n", "f:1: loss"},
		{"0 1 loss=x\n", "f:1: loss: bad number"},
		{"0 1 loss=0.1 loss=0.2\n", "f:1: loss given twice"},
		{"0 1 cost=3\n", "f:1: unknown key"},
		{"0 1 latency\n", "f:1: want key=value"},
		{"nodes 2\n0 2\n", "uses node 2"},
		{"nodes 0\n", "f:1: nodes: need at least one"},
		{"nodes\n", "f:1: want \"nodes N\""},
		{"nodes 2\nnodes 3\n", "f:2: second nodes line"},
		{"nodes 1000002\n", "f:1: nodes:"},
		{"0 1\n" + strings.Repeat("x", maxLine+1) + "\n", "f:2: line longer"},
	} {
		_, err := Parse("f", strings.NewReader(c.in))
		if err == nil {
			t.Errorf("%q: accepted", c.in)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %q, want %q", c.in, err, c.want)
		}
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Name != "f" {
			t.Errorf("%q: not a *ParseError: %T", c.in, err)
		}
	}
}

func TestWriteTextRoundTrip(t *testing.T) {
	for _, k := range Kinds() {
		tp, err := Generate(k, 6, rng(4), Options{LatencyMin: time.Millisecond, LatencyMax: 3 * time.Millisecond, Jitter: 1500 * time.Microsecond, Loss: 0.125})
		if err != nil {
			t.Fatal(err)
		}
		var sb strings.Builder
		if err := tp.WriteText(&sb); err != nil {
			t.Fatal(err)
		}
		back, err := Parse(tp.Name, strings.NewReader(sb.String()))
		if err != nil {
			t.Fatalf("%s: %v\n%s", k, err, sb.String())
		}
		tp.Pos = nil
		if !reflect.DeepEqual(back, tp) {
			t.Errorf("%s: round trip\n%+v\n%+v", k, back, tp)
		}
	}
}

func BenchmarkRandomGeometric10000(b *testing.B) { benchRandom(b, 10000) }
func BenchmarkRandomGeometric65536(b *testing.B) { benchRandom(b, 65536) }

func benchRandom(b *testing.B, n int) {
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		tp, err := RandomGeometric(n, rng(uint64(i)), Options{})
		if err != nil || len(tp.Links) == 0 {
			b.Fatal(err)
		}
	}
}
