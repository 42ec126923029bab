package oracle

import (
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strings"
)

// Kind names a kind of failure.
type Kind string

// Failure kinds.
const (
	// Delivery (and the group check, for NoRoute).
	NoRoute Kind = "no-route" // a node on the way has no route covering the destination
	Loop    Kind = "loop"     // forwarding visits a node twice
	// TooManyHops is kept for completeness: forwarding here is a function
	// of the current node, so a walk longer than N hops must revisit a node
	// and is reported as Loop first.
	TooManyHops Kind = "too-many-hops"

	// Alternatives.
	DuplicateVia       Kind = "duplicate-via"        // two hops of a route share a next hop
	UnsortedHops       Kind = "unsorted-hops"        // a hop is cheaper than the one before it
	AlternativeReturns Kind = "alternative-returns"  // forwarding after the hop comes back to the node
	AlternativeLoop    Kind = "alternative-loop"     // ... loops elsewhere
	AlternativeNoRoute Kind = "alternative-no-route" // ... reaches a node without a route

	// Multipath: every choice of hops at every node.
	MultipathLoop    Kind = "multipath-loop"     // some choice of hops comes back to a node
	MultipathNoRoute Kind = "multipath-no-route" // some choice of hops reaches a node without a route

	// Shortest inside a group.
	NotShortest   Kind = "not-shortest"   // best route costs more than the shortest path inside the group
	BelowShortest Kind = "below-shortest" // best route claims less than any path inside the group
)

// MaxExamples is how many example failures a report keeps per kind.
const MaxExamples = 10

// Report is the result of one check. Total = OK + Failed + Skipped.
type Report struct {
	Check string `json:"check"`
	Unit  string `json:"unit"` // what was counted: "pairs" or "routes"

	Total   int `json:"total"`
	OK      int `json:"ok"`
	Failed  int `json:"failed"`
	Skipped int `json:"skipped"` // not judged; see each check for why

	ByKind   map[Kind]int `json:"by_kind,omitempty"` // a failed route can count under several kinds
	Examples []Failure    `json:"examples,omitempty"`

	// Stretch is travelled cost / shortest cost over delivered pairs
	// (delivery checks only).
	Stretch *Distribution `json:"stretch,omitempty"`

	// Err is set when the dump is invalid; nothing was checked then.
	Err error `json:"-"`
}

// Passed reports whether the check ran and found no failure.
func (r Report) Passed() bool { return r.Err == nil && r.Failed == 0 }

// Failure is one example of a failure. Fields that do not apply are -1 or zero.
type Failure struct {
	Kind   Kind         `json:"kind"`
	Src    int          `json:"src"`            // source node of a pair, or the route's node
	Dst    int          `json:"dst"`            // destination node, -1 for a gnode prefix
	Prefix netip.Prefix `json:"prefix"`         // destination prefix looked up
	Node   int          `json:"node"`           // where it went wrong
	Hop    int          `json:"hop"`            // index of the hop concerned, -1 if none
	Path   []int        `json:"path,omitempty"` // nodes travelled, first to last
	Got    int64        `json:"got,omitempty"`  // cost found (group check)
	Want   int64        `json:"want,omitempty"` // shortest cost (group check)
}

func (f Failure) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: ", f.Kind)
	if f.Dst >= 0 {
		fmt.Fprintf(&b, "%d -> %d (%v)", f.Src, f.Dst, f.Prefix)
	} else {
		fmt.Fprintf(&b, "node %d -> %v", f.Src, f.Prefix)
	}
	if f.Hop >= 0 {
		fmt.Fprintf(&b, " hop %d", f.Hop)
	}
	if f.Node >= 0 && f.Node != f.Src {
		fmt.Fprintf(&b, " at node %d", f.Node)
	}
	if f.Got != 0 || f.Want != 0 {
		fmt.Fprintf(&b, " route cost %d, shortest %d", f.Got, f.Want)
	}
	if len(f.Path) > 0 {
		fmt.Fprintf(&b, " path %v", f.Path)
	}
	return b.String()
}

// String summarises the report on a few lines.
func (r Report) String() string {
	var b strings.Builder
	if r.Err != nil {
		fmt.Fprintf(&b, "%s: not checked: %v", r.Check, r.Err)
		return b.String()
	}
	fmt.Fprintf(&b, "%s: %d/%d %s ok, %d failed", r.Check, r.OK, r.Total, r.Unit, r.Failed)
	if r.Skipped > 0 {
		fmt.Fprintf(&b, ", %d skipped", r.Skipped)
	}
	kinds := make([]Kind, 0, len(r.ByKind))
	for k := range r.ByKind {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	for _, k := range kinds {
		fmt.Fprintf(&b, "; %s %d", k, r.ByKind[k])
	}
	if s := r.Stretch; s != nil && s.Count > 0 {
		fmt.Fprintf(&b, "\n  stretch: %s", s)
	}
	for _, f := range r.Examples {
		fmt.Fprintf(&b, "\n  %s", f)
	}
	return b.String()
}

func newReport(check, unit string) Report {
	return Report{Check: check, Unit: unit, ByKind: map[Kind]int{}}
}

// note counts a failure of kind k and keeps it as an example if there are
// fewer than MaxExamples of that kind; mk builds the example only then,
// since paths cost something to compute.
func (r *Report) note(k Kind, mk func() Failure) {
	r.ByKind[k]++
	if r.ByKind[k] <= MaxExamples {
		f := mk()
		f.Kind = k
		r.Examples = append(r.Examples, f)
	}
}

// Distribution summarises stretch values (all >= 1).
type Distribution struct {
	Count   int     `json:"count"`
	Optimal int     `json:"optimal"` // values exactly 1: the path taken is a shortest one
	Min     float64 `json:"min"`
	P50     float64 `json:"p50"`
	P90     float64 `json:"p90"`
	P99     float64 `json:"p99"`
	Max     float64 `json:"max"`
	Mean    float64 `json:"mean"`
	// Buckets counts values in [Lo, next bucket's Lo); the last one is open.
	Buckets []Bucket `json:"buckets"`
}

// Bucket is one bar of a histogram.
type Bucket struct {
	Lo    float64 `json:"lo"`
	Count int     `json:"count"`
}

// bucketEdges returns the lower bounds of Distribution.Buckets.
func bucketEdges() []float64 { return []float64{1, 1.01, 1.05, 1.1, 1.25, 1.5, 2, 3, 5} }

func (s *Distribution) String() string {
	return fmt.Sprintf("n=%d optimal=%d min=%.3f p50=%.3f p90=%.3f p99=%.3f max=%.3f mean=%.4f",
		s.Count, s.Optimal, s.Min, s.P50, s.P90, s.P99, s.Max, s.Mean)
}

// stretchAcc accumulates a distribution without keeping every value (a full
// check of 1,000 nodes has a million): percentiles come from log-spaced
// buckets 0.1% wide, each remembering its smallest value, so a percentile is
// an observed value at most 0.1% below the exact one.
type stretchAcc struct {
	d      Distribution
	sum    float64
	counts []int
	mins   []float64
}

const (
	fineStep    = 0.001
	fineBuckets = 7000 // covers stretch up to e^(7000*ln 1.001), about 1100
)

func newStretchAcc() *stretchAcc {
	a := &stretchAcc{counts: make([]int, fineBuckets+1), mins: make([]float64, fineBuckets+1)}
	a.d.Min = math.Inf(1)
	for _, lo := range bucketEdges() {
		a.d.Buckets = append(a.d.Buckets, Bucket{Lo: lo})
	}
	return a
}

func (a *stretchAcc) add(travelled, shortest int64) {
	v := float64(travelled) / float64(shortest)
	if travelled == shortest {
		a.d.Optimal++
		v = 1 // exact, whatever the division rounded to
	}
	a.d.Count++
	a.sum += v
	a.d.Min = min(a.d.Min, v)
	a.d.Max = max(a.d.Max, v)
	i := int(math.Log(v) / math.Log1p(fineStep))
	i = min(max(i, 0), fineBuckets)
	if a.counts[i] == 0 || v < a.mins[i] {
		a.mins[i] = v
	}
	a.counts[i]++
	for j := len(a.d.Buckets) - 1; j >= 0; j-- {
		if v >= a.d.Buckets[j].Lo {
			a.d.Buckets[j].Count++
			break
		}
	}
}

func (a *stretchAcc) result() *Distribution {
	d := a.d
	d.Buckets = slices.Clone(a.d.Buckets)
	if d.Count == 0 {
		d.Min = 0
		return &d
	}
	d.Mean = a.sum / float64(d.Count)
	pct := func(q float64) float64 {
		rank := int(math.Ceil(q * float64(d.Count)))
		seen := 0
		for i, c := range a.counts {
			seen += c
			if c > 0 && seen >= rank {
				return a.mins[i]
			}
		}
		return d.Max
	}
	d.P50, d.P90, d.P99 = pct(0.50), pct(0.90), pct(0.99)
	return &d
}
