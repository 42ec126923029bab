package oracle

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/ntkd/ntkd/internal/topo"
)

func rng(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 77)) }

// lineJSON is a hand-written dump of the line 0-1-2 with asymmetric costs.
const lineJSON = `{
 "version": 1, "comment": "unknown keys are ignored",
 "nodes": [{"id":0,"addr":"10.0.0.1","name":"a"},{"id":1,"addr":"10.0.0.2"},{"id":2,"addr":"10.0.0.3"}],
 "links": [{"a":0,"b":1,"cost_ab":10,"cost_ba":11,"rtt_us":5},{"a":2,"b":1,"cost_ab":20,"cost_ba":21}],
 "routes": [
  {"node":0,"dst":"10.0.0.2/32","hops":[{"via":1,"cost":10}]},
  {"node":0,"dst":"10.0.0.3/32","hops":[{"via":1,"cost":31}]},
  {"node":1,"dst":"10.0.0.1/32","hops":[{"via":0,"cost":11}]},
  {"node":1,"dst":"10.0.0.3/32","hops":[{"via":2,"cost":21}]},
  {"node":2,"dst":"10.0.0.2/32","hops":[{"via":1,"cost":20}]},
  {"node":2,"dst":"10.0.0.1/32","hops":[{"via":1,"cost":31}]}
 ]}`

func load(t *testing.T, s string) *Dump {
	t.Helper()
	d, err := Load(strings.NewReader(s))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func wantPass(t *testing.T, r Report) {
	t.Helper()
	if !r.Passed() || r.Total == 0 || r.OK+r.Skipped != r.Total {
		t.Errorf("want pass:\n%s", r.String())
	}
}

// wantFail checks that r failed with kind k, and returns the first example.
func wantFail(t *testing.T, r Report, k Kind) Failure {
	t.Helper()
	if r.Err != nil || r.Failed == 0 || r.ByKind[k] == 0 {
		t.Fatalf("want %s failure:\n%s", k, r.String())
	}
	if r.OK+r.Failed+r.Skipped != r.Total {
		t.Errorf("counts do not add up: %+v", r)
	}
	for _, f := range r.Examples {
		if f.Kind == k {
			return f
		}
	}
	t.Fatalf("no %s example:\n%s", k, r.String())
	return Failure{}
}

func TestLineJSON(t *testing.T) {
	d := load(t, lineJSON)
	r := CheckDelivery(d)
	wantPass(t, r)
	if r.Total != 6 || r.Stretch.Count != 6 || r.Stretch.Optimal != 6 || r.Stretch.Max != 1 {
		t.Errorf("delivery %+v stretch %+v", r, r.Stretch)
	}
	wantPass(t, CheckAlternatives(d))
	wantPass(t, CheckShortestInsideGroup(d, d.GroupByPrefix(24)))
	k := KernelRoutes(d)
	if k.Total != 6 || k.Max != 2 || k.Mean != 2 || !slices.Equal(k.PerNode, []int{2, 2, 2}) {
		t.Errorf("kernel routes %+v", k)
	}
	// The report survives JSON, for ntkd sim --json.
	if _, err := json.Marshal(r); err != nil {
		t.Error(err)
	}
}

func TestCorrectDumps(t *testing.T) {
	cases := []struct {
		name string
		tp   *topo.Topology
		r    *rand.Rand
	}{
		{"line", must(topo.Line(7, topo.Options{})), nil},
		{"ring", must(topo.Ring(9, topo.Options{})), rng(1)},
		{"diamond", must(topo.Diamond(topo.Options{})), rng(2)},
		{"grid", must(topo.GridN(300, topo.Options{})), rng(3)},
		{"random", must(topo.RandomGeometric(600, rng(4), topo.Options{})), rng(5)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := correctDump(c.tp.Nodes, edgesOf(c.tp, c.r), 3)
			if err := d.Validate(); err != nil {
				t.Fatal(err)
			}
			r := CheckDelivery(d)
			wantPass(t, r)
			n := c.tp.Nodes
			if r.Total != n*(n-1) || r.Stretch.Optimal != r.Total || r.Stretch.P99 != 1 {
				t.Errorf("delivery %s", r.String())
			}
			wantPass(t, CheckAlternatives(d))
			wantPass(t, CheckMultipath(d))
			if n <= 250 { // one /24: larger dumps' groups are not connected inside
				wantPass(t, CheckShortestInsideGroup(d, d.GroupByPrefix(24)))
			}
			// Routes are shortest over the whole graph, hence inside one
			// group holding every node.
			wantPass(t, CheckShortestInsideGroup(d, func(int) string { return "all" }))
		})
	}
}

func TestHierarchical(t *testing.T) {
	// Groups of 250 consecutive nodes are blocks of 10 rows: connected.
	tp := must(topo.Grid(25, 28, topo.Options{}))
	d := hierDump(700, edgesOf(tp, rng(10)), 4)
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	if k := KernelRoutes(d); k.Max != 249+2 {
		t.Errorf("kernel routes: max %d, want 251", k.Max)
	}
	r := CheckDelivery(d)
	wantPass(t, r)
	// Routing to the nearest node of a gnode is not always shortest.
	if s := r.Stretch; s.Max <= 1.05 || s.Optimal == s.Count || s.Min != 1 || s.P50 < 1 || s.P50 > s.P90 || s.P90 > s.P99 || s.P99 > s.Max {
		t.Errorf("hierarchical stretch %s", s)
	}
	wantPass(t, CheckAlternatives(d))
	wantPass(t, CheckMultipath(d))
	g := CheckShortestInsideGroup(d, d.GroupByPrefix(24))
	wantPass(t, g)
	if g.Total != 250*249*2+200*199 {
		t.Errorf("group pairs %d", g.Total)
	}
	// Packets between groups follow /24 routes: remove one on the way and
	// the packets that needed it are lost there.
	var victim DumpRoute
	for _, rt := range d.Routes {
		if rt.Dst.Bits() == 24 && rt.Node == 260 && rt.Dst.Contains(addrOf(0)) {
			victim = rt
		}
	}
	removeRoute(d, victim.Node, victim.Dst)
	r = CheckDelivery(d)
	f := wantFail(t, r, NoRoute)
	if f.Node != 260 || f.Dst >= 250 || r.ByKind[NoRoute] < 250 {
		t.Errorf("example %+v\n%s", f, r.String())
	}
}

// TestLongestPrefix builds tables by hand where the shorter prefix would
// loop: only a longest-prefix match delivers.
func TestLongestPrefix(t *testing.T) {
	// Line 0-1-2; node 0 and 1 hold a /24 that bounces between them, and a
	// /32 for 2 that is right.
	d := load(t, lineJSON)
	pfx := netip.MustParsePrefix("10.0.0.0/24")
	d.Routes = append(d.Routes,
		DumpRoute{Node: 0, Dst: pfx, Hops: []Hop{{Via: 1, Cost: 5}}},
		DumpRoute{Node: 1, Dst: pfx, Hops: []Hop{{Via: 0, Cost: 5}}})
	if r := CheckDelivery(d); !r.Passed() {
		t.Fatalf("longest prefix not preferred:\n%s", r.String())
	}
	removeRoute(d, 1, netip.MustParsePrefix("10.0.0.3/32"))
	f := wantFail(t, CheckDelivery(d), Loop)
	if f.Src != 0 && f.Src != 1 || f.Dst != 2 {
		t.Errorf("loop example %+v", f)
	}
	if !slices.Equal(f.Path, []int{0, 1, 0}) && !slices.Equal(f.Path, []int{1, 0, 1}) {
		t.Errorf("loop path %v", f.Path)
	}
	// The /24 routes contain their own node: skipped. Node 0's route to 2
	// goes to 1, which now bounces it back with its /24.
	a := CheckAlternatives(d)
	f = wantFail(t, a, AlternativeReturns)
	if a.ByKind[AlternativeReturns] != 1 || a.Skipped != 2 || f.Src != 0 || !slices.Equal(f.Path, []int{0, 1, 0}) {
		t.Errorf("alternatives:\n%s", a.String())
	}
}

func TestLoop(t *testing.T) {
	tp := must(topo.Ring(6, topo.Options{}))
	d := correctDump(6, edgesOf(tp, nil), 2)
	// 1 and 2 both send packets for 4 to each other.
	route(t, d, 1, 4).Hops = []Hop{{Via: 2, Cost: 300}}
	route(t, d, 2, 4).Hops = []Hop{{Via: 1, Cost: 300}}
	r := CheckDelivery(d)
	f := wantFail(t, r, Loop)
	// Only 1 and 2 fall into it: 0 reaches 4 through 5.
	if r.ByKind[Loop] != 2 || r.OK != 30-2 || f.Dst != 4 {
		t.Errorf("%s", r.String())
	}
	if p := f.Path; p[0] != f.Src || p[len(p)-1] != f.Node || (f.Node != 1 && f.Node != 2) {
		t.Errorf("loop example %+v", f)
	}
	wantFail(t, CheckAlternatives(d), AlternativeReturns)
}

func TestMissingRoute(t *testing.T) {
	tp := must(topo.GridN(16, topo.Options{}))
	d := correctDump(16, edgesOf(tp, rng(3)), 3)
	// Node 5 forgets 15: 5 itself and everyone forwarding through 5 fail.
	removeRoute(d, 5, netip.PrefixFrom(addrOf(15), 32))
	r := CheckDelivery(d)
	f := wantFail(t, r, NoRoute)
	if f.Node != 5 || f.Dst != 15 || f.Path[len(f.Path)-1] != 5 || f.Path[0] != f.Src {
		t.Errorf("example %+v", f)
	}
	if r.ByKind[Loop] != 0 || r.Failed != r.ByKind[NoRoute] {
		t.Errorf("%s", r.String())
	}
	// An alternative through 5 now dead-ends.
	a := CheckAlternatives(d)
	if a.ByKind[AlternativeNoRoute] == 0 {
		t.Errorf("alternatives:\n%s", a.String())
	}
	g := CheckShortestInsideGroup(d, d.GroupByPrefix(24))
	if g.ByKind[NoRoute] != 1 || g.Failed != 1 {
		t.Errorf("group:\n%s", g.String())
	}
}

func TestUnsortedAndDuplicateHops(t *testing.T) {
	tp := must(topo.GridN(9, topo.Options{}))
	d := correctDump(9, edgesOf(tp, rng(4)), 4)
	wantPass(t, CheckAlternatives(d))
	r4 := route(t, d, 4, 0)
	if len(r4.Hops) < 2 {
		t.Fatalf("need two hops, have %v", r4.Hops)
	}
	slices.Reverse(r4.Hops)
	a := CheckAlternatives(d)
	f := wantFail(t, a, UnsortedHops)
	if f.Src != 4 || f.Prefix != netip.PrefixFrom(addrOf(0), 32) || f.Hop != 1 || a.Failed != 1 {
		t.Errorf("unsorted example %+v\n%s", f, a.String())
	}
	slices.Reverse(r4.Hops)
	r4.Hops = append(r4.Hops, r4.Hops[0])
	r4.Hops[len(r4.Hops)-1].Cost = r4.Hops[len(r4.Hops)-2].Cost
	f = wantFail(t, CheckAlternatives(d), DuplicateVia)
	if f.Src != 4 || f.Hop != len(r4.Hops)-1 {
		t.Errorf("duplicate example %+v", f)
	}
}

func TestLoopingAlternative(t *testing.T) {
	// Line 0-1-2: node 1's route to 0 offers 2 as an alternative, but 2
	// forwards to 0 through 1.
	d := load(t, lineJSON)
	rt := route(t, d, 1, 0)
	rt.Hops = append(rt.Hops, Hop{Via: 2, Cost: 1000})
	wantPass(t, CheckDelivery(d)) // best hops are still fine
	a := CheckAlternatives(d)
	f := wantFail(t, a, AlternativeReturns)
	if f.Src != 1 || f.Hop != 1 || !slices.Equal(f.Path, []int{1, 2, 1}) || a.Failed != 1 || a.Total != 6 {
		t.Errorf("example %+v\n%s", f, a.String())
	}

	// On a ring, an alternative that goes the other way round is fine...
	tp := must(topo.Ring(9, topo.Options{}))
	d = correctDump(9, edgesOf(tp, nil), 1)
	route(t, d, 0, 4).Hops = append(route(t, d, 0, 4).Hops, Hop{Via: 8, Cost: 500})
	wantPass(t, CheckAlternatives(d))
	// ...unless 8 sends packets for 4 back through 0.
	route(t, d, 8, 4).Hops = []Hop{{Via: 0, Cost: 500}}
	f = wantFail(t, CheckAlternatives(d), AlternativeReturns)
	if f.Src != 0 || f.Hop != 1 || !slices.Equal(f.Path, []int{0, 8, 0}) {
		t.Errorf("example %+v", f)
	}
	// A loop further away (7 and 8 bounce) is AlternativeLoop for 0's hop.
	route(t, d, 8, 4).Hops = []Hop{{Via: 7, Cost: 400}}
	route(t, d, 7, 4).Hops = []Hop{{Via: 8, Cost: 400}}
	a = CheckAlternatives(d)
	f = wantFail(t, a, AlternativeLoop)
	if a.ByKind[AlternativeReturns] != 2 || a.ByKind[AlternativeLoop] != 1 { // 7's and 8's own best hops
		t.Errorf("%s", a.String())
	}
	if f.Src != 0 || f.Hop != 1 || !slices.Equal(f.Path, []int{0, 8, 7, 8}) {
		t.Errorf("example %+v", f)
	}
}

func TestMultipathLoop(t *testing.T) {
	// Ring of 9: 0 and 8 each keep the other as an alternative towards 4.
	// Each alternative followed by best hops delivers, so CheckAlternatives
	// passes; a flow hashed 0->8 at 0 and 8->0 at 8 loops.
	tp := must(topo.Ring(9, topo.Options{}))
	d := correctDump(9, edgesOf(tp, nil), 1)
	route(t, d, 0, 4).Hops = append(route(t, d, 0, 4).Hops, Hop{Via: 8, Cost: 500})
	wantPass(t, CheckMultipath(d))
	route(t, d, 8, 4).Hops = append(route(t, d, 8, 4).Hops, Hop{Via: 0, Cost: 500})
	wantPass(t, CheckAlternatives(d))
	wantPass(t, CheckDelivery(d))
	m := CheckMultipath(d)
	f := wantFail(t, m, MultipathLoop)
	// Every source whose paths can reach 0 or 8 fails: 0, 8, and on the
	// side of 4 none (their hops lead straight to 4).
	if m.Failed != 2 || m.Total != 72 || f.Dst != 4 || !slices.Equal(f.Path, []int{0, 8, 0}) && !slices.Equal(f.Path, []int{8, 0, 8}) {
		t.Errorf("example %+v\n%s", f, m.String())
	}
	// A hop to a node without a route is a dead end for the flows hashed
	// onto it.
	d = correctDump(9, edgesOf(tp, nil), 1)
	route(t, d, 0, 4).Hops = append(route(t, d, 0, 4).Hops, Hop{Via: 8, Cost: 500})
	removeRoute(d, 8, route(t, d, 8, 4).Dst)
	m = CheckMultipath(d)
	f = wantFail(t, m, MultipathNoRoute)
	if f.Src != 0 && f.Src != 7 || f.Node != 8 {
		t.Errorf("example %+v\n%s", f, m.String())
	}
}

func TestNotShortestInsideGroup(t *testing.T) {
	// Square 0-1-2-3-0 with a cheap path 0-1-2 and an expensive 0-3-2.
	es := []edge{{0, 1, 10, 10}, {1, 2, 10, 10}, {2, 3, 50, 50}, {0, 3, 50, 50}}
	d := correctDump(4, es, 2)
	wantPass(t, CheckShortestInsideGroup(d, d.GroupByPrefix(24)))
	// Node 0 routes to 2 the long way, with the honest cost of that way.
	route(t, d, 0, 2).Hops = []Hop{{Via: 3, Cost: 100}}
	wantPass(t, CheckDelivery(d)) // delivered, just not shortest...
	r := CheckDelivery(d)
	if r.Stretch.Max != 5 || r.Stretch.Optimal != r.Total-1 {
		t.Errorf("stretch %s", r.Stretch)
	}
	g := CheckShortestInsideGroup(d, d.GroupByPrefix(24))
	f := wantFail(t, g, NotShortest)
	if f.Src != 0 || f.Dst != 2 || f.Got != 100 || f.Want != 20 || g.Failed != 1 {
		t.Errorf("example %+v\n%s", f, g.String())
	}
	if !strings.Contains(g.String(), "route cost 100, shortest 20") {
		t.Errorf("report does not show both costs:\n%s", g.String())
	}
	// A cost below anything possible is reported too.
	route(t, d, 0, 2).Hops = []Hop{{Via: 1, Cost: 5}}
	f = wantFail(t, CheckShortestInsideGroup(d, d.GroupByPrefix(24)), BelowShortest)
	if f.Got != 5 || f.Want != 20 {
		t.Errorf("example %+v", f)
	}
}

func TestGroupRestriction(t *testing.T) {
	// 0 and 2 are in group "a", joined only through 1 in group "b", and
	// also by a direct expensive link: inside the group the shortest is the
	// direct link, although the route through 1 is globally shorter.
	es := []edge{{0, 1, 1, 1}, {1, 2, 1, 1}, {0, 2, 10, 10}}
	d := correctDump(3, es, 2)
	grp := func(x int) string { return map[int]string{0: "a", 1: "b", 2: "a"}[x] }
	g := CheckShortestInsideGroup(d, grp)
	f := wantFail(t, g, BelowShortest)
	if f.Got != 2 || f.Want != 10 || g.Total != 2 {
		t.Errorf("example %+v\n%s", f, g.String())
	}
	// Without the direct link the group is split: skipped, not failed.
	d = correctDump(3, es[:2], 2)
	g = CheckShortestInsideGroup(d, grp)
	if !g.Passed() || g.Skipped != 2 || g.Total != 2 {
		t.Errorf("split group:\n%s", g.String())
	}
	// Nodes without a group are left out.
	g = CheckShortestInsideGroup(d, func(x int) string { return map[int]string{0: "a", 1: "a"}[x] })
	if !g.Passed() || g.Total != 2 {
		t.Errorf("partial grouping:\n%s", g.String())
	}
}

func TestGroupByPrefix(t *testing.T) {
	d := &Dump{Nodes: []DumpNode{
		{ID: 1, Addr: netip.MustParseAddr("10.0.1.7")},
		{ID: 0, Addr: netip.MustParseAddr("10.0.1.9")},
		{ID: 2, Addr: netip.MustParseAddr("10.0.2.9")},
		{ID: 3, Addr: netip.MustParseAddr("fd00::1:2")},
	}}
	g := d.GroupByPrefix(24)
	if g(0) != "10.0.1.0/24" || g(1) != g(0) || g(2) == g(0) || g(3) != "fd00::/24" || g(4) != "" || g(-1) != "" {
		t.Errorf("groups %q %q %q %q", g(0), g(1), g(2), g(3))
	}
	if g := d.GroupByPrefix(200); g(0) != "10.0.1.9/32" || g(3) != "fd00::1:2/128" {
		t.Errorf("groups %q %q", g(0), g(3))
	}
}

func TestIPv6(t *testing.T) {
	tp := must(topo.Diamond(topo.Options{}))
	d := correctDump(6, edgesOf(tp, rng(8)), 3)
	v6 := func(a netip.Addr) netip.Addr {
		b := a.As4()
		return netip.AddrFrom16([16]byte{0: 0xfd, 12: b[0], 13: b[1], 14: b[2], 15: b[3]})
	}
	for i := range d.Nodes {
		d.Nodes[i].Addr = v6(d.Nodes[i].Addr)
	}
	for i := range d.Routes {
		d.Routes[i].Dst = netip.PrefixFrom(v6(d.Routes[i].Dst.Addr()), 128)
	}
	wantPass(t, CheckDelivery(d))
	wantPass(t, CheckAlternatives(d))
	wantPass(t, CheckShortestInsideGroup(d, d.GroupByPrefix(120)))
	// An IPv4 route never matches an IPv6 destination.
	removeRoute(d, 4, netip.PrefixFrom(d.Nodes[5].Addr, 128))
	d.Routes = append(d.Routes, DumpRoute{Node: 4, Dst: netip.MustParsePrefix("0.0.0.0/0"), Hops: []Hop{{Via: 0, Cost: 1}}})
	wantFail(t, CheckDelivery(d), NoRoute)
}

func TestSample(t *testing.T) {
	tp := must(topo.GridN(100, topo.Options{}))
	d := correctDump(100, edgesOf(tp, rng(5)), 3)
	r := CheckDeliverySample(d, 500, rng(1))
	wantPass(t, r)
	if r.Total != 500 || r.Check != "delivery-sample" {
		t.Errorf("%s", r.String())
	}
	if full := CheckDeliverySample(d, 99*99, rng(1)); full.Total != 9900 {
		t.Errorf("pairs >= (N-1)^2 should check all: %d", full.Total)
	}
	// Node 42 loses its table: pairs from it or through it fail.
	d.Routes = slices.DeleteFunc(d.Routes, func(r DumpRoute) bool { return r.Node == 42 })
	r1 := CheckDeliverySample(d, 5000, rng(2))
	r2 := CheckDeliverySample(d, 5000, rng(2))
	if r1.Total != 5000 || r1.Failed != r1.ByKind[NoRoute] || r1.Failed < 20 || r1.Failed > 1000 {
		t.Errorf("%s", r1.String())
	}
	if r1.Failed != r2.Failed || !slices.EqualFunc(r1.Examples, r2.Examples, func(a, b Failure) bool { return a.Src == b.Src && a.Dst == b.Dst }) {
		t.Error("same seed, different sample")
	}
	// The sample: exact size, distinct pairs, no src == dst, destinations
	// spread out.
	for _, c := range []struct{ n, pairs int }{{12, 100}, {2, 0}, {3, 3}, {1000, 50000}, {50, 2400}} {
		seen := map[[2]int32]bool{}
		dsts := map[int32]bool{}
		samplePairs(c.n, c.pairs, rng(uint64(c.n)), func(dst int32, srcs []int32) {
			dsts[dst] = true
			for _, s := range srcs {
				if s == dst || seen[[2]int32{s, dst}] || s < 0 || int(s) >= c.n {
					t.Fatalf("n=%d: bad pair %d->%d", c.n, s, dst)
				}
				seen[[2]int32{s, dst}] = true
			}
		})
		if len(seen) != c.pairs || len(dsts) != int(math.Ceil(math.Sqrt(float64(c.pairs)))) {
			t.Errorf("n=%d: %d pairs over %d destinations, want %d", c.n, len(seen), len(dsts), c.pairs)
		}
	}
	if r := CheckDeliverySample(d, 10, nil); r.Err == nil {
		t.Error("nil rand accepted")
	}
	if r := CheckDeliverySample(d, 0, rng(1)); r.Total != 0 || r.Err != nil {
		t.Errorf("zero pairs: %+v", r)
	}
}

func TestStretchAcc(t *testing.T) {
	a := newStretchAcc()
	for i := 1; i <= 1000; i++ {
		a.add(int64(1000+i-1), 1000) // 1.000 .. 1.999
	}
	d := a.result()
	near := func(got, want float64) bool { return got <= want && got >= want/(1+fineStep) }
	if d.Count != 1000 || d.Optimal != 1 || d.Min != 1 || d.Max != 1.999 ||
		!near(d.P50, 1.499) || !near(d.P90, 1.899) || !near(d.P99, 1.989) || math.Abs(d.Mean-1.4995) > 1e-9 {
		t.Errorf("%s", d)
	}
	want := []int{10, 40, 50, 150, 250, 500, 0, 0, 0}
	for i, b := range d.Buckets {
		if b.Count != want[i] {
			t.Errorf("bucket %v: %d, want %d", b.Lo, b.Count, want[i])
		}
	}
	if e := newStretchAcc().result(); e.Count != 0 || e.Min != 0 {
		t.Errorf("empty %+v", e)
	}
	a = newStretchAcc()
	a.add(1e9, 1)
	if d := a.result(); d.Max != 1e9 || d.P50 != 1e9 {
		t.Errorf("huge stretch %s", d)
	}
}

func TestLoadErrors(t *testing.T) {
	base := func() map[string]any {
		var m map[string]any
		if err := json.Unmarshal([]byte(lineJSON), &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	enc := func(m map[string]any) string {
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	set := func(path string, v any) string {
		m := base()
		parts := strings.Split(path, ".")
		var cur any = m
		for i, p := range parts {
			last := i == len(parts)-1
			switch c := cur.(type) {
			case map[string]any:
				if last {
					c[p] = v
				} else {
					cur = c[p]
				}
			case []any:
				var k int
				for _, ch := range p {
					k = k*10 + int(ch-'0')
				}
				if last {
					c[k] = v
				} else {
					cur = c[k]
				}
			}
		}
		return enc(m)
	}
	for _, c := range []struct{ in, want string }{
		{"{", "decode dump"},
		{lineJSON + "{}", "data after"},
		{`{"nodes":"x"}`, "decode dump"},
		{set("nodes.0.id", 3), "id 3 outside 0..2"},
		{set("nodes.0.id", 1), "id 1 appears twice"},
		{set("nodes.0.addr", "10.0.0.2"), "node 1: addr 10.0.0.2 already belongs to node 0"},
		{set("nodes.0.addr", "banana"), "decode dump"},
		{set("nodes.0", map[string]any{"id": 0}), "node 0: missing or invalid addr"},
		{set("links.0.b", 0), "self-link"},
		{set("links.0.b", 9), "node outside"},
		{set("links.1", map[string]any{"a": 1, "b": 0, "cost_ab": 1, "cost_ba": 1}), "duplicates links[0]"},
		{set("links.0.cost_ab", 0), "costs 0/11 outside"},
		{set("links.0.cost_ba", -3), "outside 1.."},
		{set("routes.0.node", 7), "node 7 outside"},
		{set("routes.0.dst", "10.0.0.2/24"), "host bits set (want 10.0.0.0/24)"},
		{set("routes.0.dst", "10.0.0.3/32"), "already has a route to 10.0.0.3/32"},
		{set("routes.0.dst", ""), "missing or invalid dst"},
		{set("routes.0.dst", "10.0.0.2"), "decode dump"},
		{set("routes.0.hops", []any{}), "no hops"},
		{set("routes.1.hops.0.via", 2), "via 2 is not a neighbour of 0"},
		{set("routes.1.hops.0.via", 5), "via 5 outside"},
		{set("routes.1.hops.0.cost", -1), "negative cost"},
	} {
		_, err := Load(strings.NewReader(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("want error %q, got %v\n%s", c.want, err, c.in)
		}
	}
	// Many problems: the error lists some and counts the rest.
	d := load(t, lineJSON)
	for i := range 30 {
		d.Routes = append(d.Routes, DumpRoute{Node: 0, Dst: netip.PrefixFrom(addrOf(i+3), 32), Hops: []Hop{{Via: 2, Cost: 1}}})
	}
	err := d.Validate()
	if err == nil || !strings.Contains(err.Error(), "and 10 more problems") {
		t.Errorf("many problems: %v", err)
	}
	// Checks on an invalid dump say so instead of counting.
	for _, r := range []Report{CheckDelivery(d), CheckAlternatives(d), CheckShortestInsideGroup(d, d.GroupByPrefix(24)), CheckDeliverySample(d, 3, rng(1))} {
		if r.Err == nil || r.Passed() || !strings.Contains(r.String(), "not checked") {
			t.Errorf("%s: invalid dump checked", r.Check)
		}
	}
}

func TestKernelRoutes(t *testing.T) {
	tp := must(topo.GridN(600, topo.Options{}))
	d := hierDump(600, edgesOf(tp, nil), 2)
	k := KernelRoutes(d)
	// 250-node groups (the last has 100): 249 host routes + 2 gnode routes,
	// or 99 + 2.
	if k.Max != 251 || k.MaxNode != 0 || k.PerNode[599] != 101 || k.Total != 500*251+100*101 {
		t.Errorf("kernel %+v", k)
	}
	if math.Abs(k.Mean-float64(k.Total)/600) > 1e-9 {
		t.Errorf("mean %v", k.Mean)
	}
}

func BenchmarkCheckDelivery1000(b *testing.B) {
	tp := must(topo.Grid(40, 25, topo.Options{}))
	d := correctDump(1000, edgesOf(tp, rng(1)), 3)
	if err := d.Validate(); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if r := CheckDelivery(d); !r.Passed() || r.Total != 999000 {
			b.Fatal(r.String())
		}
	}
}

func BenchmarkCheckAlternatives1000(b *testing.B) {
	tp := must(topo.Grid(40, 25, topo.Options{}))
	d := correctDump(1000, edgesOf(tp, rng(1)), 3)
	for b.Loop() {
		if r := CheckAlternatives(d); !r.Passed() {
			b.Fatal(r.String())
		}
	}
}

// TestDijkstra compares the oracle's Dijkstra with the helpers' reference
// one, over the whole graph and restricted to groups.
func TestDijkstra(t *testing.T) {
	tp := must(topo.RandomGeometric(3000, rng(11), topo.Options{}))
	es := edgesOf(tp, rng(12))
	d := correctDump(3000, nil, 1)
	for _, e := range es {
		d.Links = append(d.Links, DumpLink{A: e.a, B: e.b, CostAB: e.ab, CostBA: e.ba})
	}
	g, err := d.index()
	if err != nil {
		t.Fatal(err)
	}
	gid := make([]int32, 3000)
	for i := range gid {
		gid[i] = int32(i % 3)
	}
	var inside []edge
	for _, e := range es {
		if gid[e.a] == gid[e.b] {
			inside = append(inside, e)
		}
	}
	dj := newDijkstra(g)
	for _, dst := range []int{0, 1, 2, 1500, 2999} {
		want := distTo(3000, es, []int{dst})
		got := slices.Clone(dj.run(int32(dst), true, nil, 0))
		wantIn := distTo(3000, inside, []int{dst})
		gotIn := slices.Clone(dj.run(int32(dst), true, gid, gid[dst]))
		for x := range 3000 {
			if got[x] != want[x] && !(got[x] == inf && want[x] == unreachable) {
				t.Fatalf("%d->%d: %d, reference %d", x, dst, got[x], want[x])
			}
			if gid[x] == gid[dst] && gotIn[x] != wantIn[x] && !(gotIn[x] == inf && wantIn[x] == unreachable) {
				t.Fatalf("%d->%d inside group: %d, reference %d", x, dst, gotIn[x], wantIn[x])
			}
		}
	}
}
