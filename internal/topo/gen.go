package topo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// Options sets the link properties and the shape parameters of generators.
// Zero values mean the documented defaults.
type Options struct {
	Latency time.Duration // one-way delay of every link; default 2ms
	Jitter  time.Duration // default 0
	Loss    float64       // default 0

	// LatencyMin and LatencyMax, when LatencyMax > 0, make the random
	// generators give each link a latency in [LatencyMin, LatencyMax] that
	// grows with the link's length (LatencyMax at the radio radius and
	// beyond), so that link costs differ as they do in a real mesh.
	LatencyMin, LatencyMax time.Duration

	Degree  float64 // random generators: target mean degree; default 6, at most MaxDegree
	Islands int     // Generate("islands"): number of islands; default 4
	Bridges int     // Generate("islands"): links per pair of neighbouring islands; default 2, at most MaxBridges
}

// Default link and shape parameters.
const (
	DefaultLatency = 2 * time.Millisecond
	DefaultDegree  = 6
	DefaultIslands = 4
	DefaultBridges = 2

	// MaxDegree and MaxBridges keep a typo from asking for billions of links.
	MaxDegree  = 1000
	MaxBridges = 64
)

// withDefaults fills zero fields and rejects values no generator can honour.
func (o Options) withDefaults() (Options, error) {
	switch {
	case o.Latency < 0 || o.Jitter < 0 || o.LatencyMin < 0 || o.LatencyMax < 0:
		return o, fmt.Errorf("options: negative duration")
	case !(o.Loss >= 0 && o.Loss <= 1):
		return o, fmt.Errorf("options: loss %v outside [0,1]", o.Loss)
	case o.LatencyMax > 0 && o.LatencyMin > o.LatencyMax:
		return o, fmt.Errorf("options: LatencyMin %v > LatencyMax %v", o.LatencyMin, o.LatencyMax)
	case o.Degree < 0 || math.IsNaN(o.Degree) || math.IsInf(o.Degree, 0):
		return o, fmt.Errorf("options: degree %v must be a positive number", o.Degree)
	case o.Degree > MaxDegree:
		return o, fmt.Errorf("options: degree %v above %d", o.Degree, MaxDegree)
	case o.Islands < 0 || o.Bridges < 0:
		return o, fmt.Errorf("options: negative island or bridge count")
	case o.Bridges > MaxBridges:
		return o, fmt.Errorf("options: %d bridges above %d", o.Bridges, MaxBridges)
	}
	if o.Latency == 0 {
		o.Latency = DefaultLatency
	}
	if o.Degree == 0 {
		o.Degree = DefaultDegree
	}
	if o.Islands == 0 {
		o.Islands = DefaultIslands
	}
	if o.Bridges == 0 {
		o.Bridges = DefaultBridges
	}
	return o, nil
}

// link returns a link with the default properties; a and b may come in any order.
func (o Options) link(a, b int) Link {
	if a > b {
		a, b = b, a
	}
	return Link{A: a, B: b, Latency: o.Latency, Jitter: o.Jitter, Loss: o.Loss}
}

// linkAt returns a link whose latency depends on its length relative to the
// radio radius, when a latency range is configured.
func (o Options) linkAt(a, b int, dist, radius float64) Link {
	l := o.link(a, b)
	if o.LatencyMax > 0 {
		f := 1.0
		if radius > 0 && dist < radius {
			f = dist / radius
		}
		span := float64(o.LatencyMax - o.LatencyMin)
		// Rounded to the microsecond so topologies print readably.
		l.Latency = (o.LatencyMin + time.Duration(f*span)).Round(time.Microsecond)
		if l.Latency > o.LatencyMax {
			l.Latency = o.LatencyMax
		}
	}
	return l
}

func checkCount(what string, n int) error {
	if n < 1 || n > MaxIndex+1 {
		return fmt.Errorf("%s: node count %d out of range 1..%d", what, n, MaxIndex+1)
	}
	return nil
}

// Line returns nodes 0-1-2-...-(n-1).
func Line(n int, opt Options) (*Topology, error) {
	opt, err := opt.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("line: %w", err)
	}
	if err := checkCount("line", n); err != nil {
		return nil, err
	}
	t := &Topology{Name: fmt.Sprintf("line-%d", n), Nodes: n, Links: make([]Link, 0, n-1)}
	for i := 0; i+1 < n; i++ {
		t.Links = append(t.Links, opt.link(i, i+1))
	}
	return t, nil
}

// Ring returns a line whose ends are joined. With fewer than three nodes the
// closing link would duplicate an existing one, so the result is a line.
func Ring(n int, opt Options) (*Topology, error) {
	t, err := Line(n, opt)
	if err != nil {
		return nil, fmt.Errorf("ring: %w", err)
	}
	opt, _ = opt.withDefaults() // already validated by Line
	t.Name = fmt.Sprintf("ring-%d", n)
	if n >= 3 {
		t.Links = append(t.Links, opt.link(0, n-1))
	}
	return t, nil
}

// Grid returns a w×h grid with 4-neighbour links; node (x, y) is y*w + x.
func Grid(w, h int, opt Options) (*Topology, error) {
	if w < 1 || h < 1 || w > MaxIndex+1 || h > MaxIndex+1 {
		return nil, fmt.Errorf("grid: bad size %dx%d", w, h)
	}
	t, err := gridPartial(w, w*h, opt)
	if err != nil {
		return nil, err
	}
	t.Name = fmt.Sprintf("grid-%dx%d", w, h)
	return t, nil
}

// GridN returns a near-square grid of exactly n nodes: rows of
// ceil(sqrt(n)) nodes, the last row possibly shorter. Unlike factoring n
// (a prime n would give a line), this keeps the diameter near 2*sqrt(n).
func GridN(n int, opt Options) (*Topology, error) {
	if err := checkCount("grid", n); err != nil {
		return nil, err
	}
	w := int(math.Ceil(math.Sqrt(float64(n))))
	t, err := gridPartial(w, n, opt)
	if err != nil {
		return nil, err
	}
	t.Name = fmt.Sprintf("grid-%d", n)
	return t, nil
}

func gridPartial(w, n int, opt Options) (*Topology, error) {
	opt, err := opt.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("grid: %w", err)
	}
	if err := checkCount("grid", n); err != nil {
		return nil, err
	}
	t := &Topology{Nodes: n, Links: make([]Link, 0, 2*n)}
	for i := range n {
		if (i+1)%w != 0 && i+1 < n {
			t.Links = append(t.Links, opt.link(i, i+1))
		}
		if i+w < n {
			t.Links = append(t.Links, opt.link(i, i+w))
		}
	}
	return t, nil
}

// Diamond names the nodes of the QSPN example of seed 001 §5.1.1.
const (
	DiamondA = iota
	DiamondB
	DiamondC
	DiamondD
	DiamondE
	DiamondF
)

// Diamond returns the 6-node topology of Netsukuku's seed §5.1.1 (the "QSPN
// screenshot"): nodes A..F are 0..5, with links A-B, A-C, A-D, B-D, C-D, E-A,
// E-C, B-F, D-F. A, B, C, D form the rhombus; E hangs off A and C, F off B
// and D.
func Diamond(opt Options) (*Topology, error) {
	opt, err := opt.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("diamond: %w", err)
	}
	pairs := [][2]int{
		{DiamondA, DiamondB}, {DiamondA, DiamondC}, {DiamondA, DiamondD},
		{DiamondB, DiamondD}, {DiamondC, DiamondD},
		{DiamondE, DiamondA}, {DiamondE, DiamondC},
		{DiamondB, DiamondF}, {DiamondD, DiamondF},
	}
	t := &Topology{Name: "diamond", Nodes: 6}
	for _, p := range pairs {
		t.Links = append(t.Links, opt.link(p[0], p[1]))
	}
	sortLinks(t.Links)
	return t, nil
}

// Generate dispatches by kind: "line", "ring", "grid" (near-square, see
// GridN), "random" (RandomGeometric), "islands" (opt.Islands islands
// sharing the n nodes as evenly as possible, opt.Bridges links between
// neighbouring islands) and "diamond" (n must be 6 or 0).
func Generate(kind string, n int, r *rand.Rand, opt Options) (*Topology, error) {
	switch kind {
	case "line":
		return Line(n, opt)
	case "ring":
		return Ring(n, opt)
	case "grid":
		return GridN(n, opt)
	case "random":
		return RandomGeometric(n, r, opt)
	case "islands":
		o, err := opt.withDefaults()
		if err != nil {
			return nil, fmt.Errorf("islands: %w", err)
		}
		if n < o.Islands {
			return nil, fmt.Errorf("islands: %d nodes cannot make %d islands", n, o.Islands)
		}
		sizes := make([]int, o.Islands)
		for i := range sizes {
			sizes[i] = n / o.Islands
			if i < n%o.Islands {
				sizes[i]++
			}
		}
		return islands(sizes, o.Bridges, r, o)
	case "diamond":
		if n != 0 && n != 6 {
			return nil, fmt.Errorf("diamond: has 6 nodes, not %d", n)
		}
		return Diamond(opt)
	}
	return nil, fmt.Errorf("unknown topology kind %q (want line, ring, grid, random, islands or diamond)", kind)
}

// Kinds lists the names Generate accepts.
func Kinds() []string {
	return []string{"line", "ring", "grid", "random", "islands", "diamond"}
}
