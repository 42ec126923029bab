package maps

import (
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"testing"

	"github.com/ntkd/ntkd/internal/addr"
)

func newMap(t testing.TB, level, size, maxRoutes int) *Map {
	t.Helper()
	m, err := New(level, size, maxRoutes)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func routes(m *Map, id uint8) []Route { return m.Routes(nil, id) }

func checkInvariants(t *testing.T, m *Map) {
	t.Helper()
	for id := 0; id < m.Size(); id++ {
		rs := routes(m, uint8(id))
		if len(rs) > m.MaxRoutes() {
			t.Fatalf("slot %d: %d routes > %d", id, len(rs), m.MaxRoutes())
		}
		seen := map[uint8]bool{}
		for i, r := range rs {
			if seen[r.Gw] {
				t.Fatalf("slot %d: gateway %d twice: %v", id, r.Gw, rs)
			}
			seen[r.Gw] = true
			if i > 0 && less(r.Cost, r.Gw, rs[i-1].Cost, rs[i-1].Gw) {
				t.Fatalf("slot %d: not sorted: %v", id, rs)
			}
		}
		// The feasible distance never exceeds a route's cost (it only
		// falls while routes are learned) and is unset without routes.
		switch fd := m.Feasible(uint8(id)); {
		case len(rs) == 0 && fd != noRoute:
			t.Fatalf("slot %d: no routes but feasible distance %d", id, fd)
		case len(rs) > 0 && fd > rs[0].Cost:
			t.Fatalf("slot %d: feasible distance %d above the best route %v", id, fd, rs)
		}
	}
}

func TestUpdateKeepsBestPerGateway(t *testing.T) {
	m := newMap(t, 0, 256, 3)
	must := func(id, gw uint8, cost uint32) bool {
		ch, err := m.Update(id, gw, cost, 1)
		if err != nil {
			t.Fatal(err)
		}
		return ch
	}
	must(7, 1, 500)
	must(7, 2, 300)
	must(7, 3, 400)
	if got := routes(m, 7); len(got) != 3 || got[0] != (Route{2, 300}) || got[1] != (Route{3, 400}) || got[2] != (Route{1, 500}) {
		t.Fatalf("sorted routes: %v", got)
	}
	if must(7, 4, 600) {
		t.Fatal("a route worse than all three must not enter a full slot")
	}
	if !must(7, 4, 350) {
		t.Fatal("a better route must evict the worst")
	}
	if got := routes(m, 7); got[1] != (Route{4, 350}) || len(got) != 3 || got[2] != (Route{3, 400}) {
		t.Fatalf("after eviction: %v", got)
	}
	// Same gateway again: its cost moves, it is not added twice.
	must(7, 2, 1000)
	if got := routes(m, 7); got[0] != (Route{4, 350}) || got[2] != (Route{2, 1000}) || len(got) != 3 {
		t.Fatalf("after cost rise: %v", got)
	}
	if must(7, 2, 1000) {
		t.Fatal("same route, same cost: no change")
	}
	// Equal costs order by gateway, so the best route is deterministic.
	must(9, 5, 100)
	must(9, 3, 100)
	if b, _ := m.Best(9); b.Gw != 3 {
		t.Fatalf("tie broken towards gateway %d", b.Gw)
	}
	if _, err := m.Update(9, NoGateway, 1, 1); !errors.Is(err, ErrBadGateway) {
		t.Fatalf("NoGateway accepted: %v", err)
	}
	small := newMap(t, 0, 8, 2)
	if _, err := small.Update(8, 1, 1, 1); !errors.Is(err, ErrBadID) {
		t.Fatalf("id beyond size accepted: %v", err)
	}
	checkInvariants(t, m)
}

func TestMeTakesNoRoutes(t *testing.T) {
	m := newMap(t, 1, 256, 4)
	if err := m.SetMe(5); err != nil {
		t.Fatal(err)
	}
	if ch, _ := m.Update(5, 1, 10, 0); ch || m.Len(5) != 0 {
		t.Fatal("route to ourselves stored")
	}
	if !m.Present(5) || m.Routed() != 0 || m.Members() != 1 {
		t.Fatal("own slot must be present and unrouted")
	}
}

func TestRemoveGatewayAndAge(t *testing.T) {
	m := newMap(t, 0, 16, 4)
	for id := uint8(1); id < 16; id++ {
		for gw := uint8(0); gw < 4; gw++ {
			m.Update(id, gw, uint32(id)*10+uint32(gw), 5)
		}
	}
	if n := m.RemoveGateway(2); n != 15 {
		t.Fatalf("removed %d routes via gateway 2, want 15", n)
	}
	for id := uint8(1); id < 16; id++ {
		for _, r := range routes(m, id) {
			if r.Gw == 2 {
				t.Fatalf("route via dead gateway left in slot %d", id)
			}
		}
	}
	// Refresh half the slots in round 7; age with maxAge 1 in round 7:
	// routes stamped 5 are 2 rounds old and go.
	for id := uint8(1); id < 8; id++ {
		m.Refresh(id, 7)
	}
	if n := m.Age(7, 1); n != 8*3 {
		t.Fatalf("aged %d routes, want 24", n)
	}
	if m.Present(8) || !m.Present(7) {
		t.Fatal("wrong slots aged")
	}
	// Round numbers wrap at 256.
	for id := uint8(1); id < 8; id++ {
		m.Refresh(id, 254)
	}
	if n := m.Age(1, 3); n != 0 || !m.Present(7) {
		t.Fatal("route from round 254 is 3 rounds old in round 1, not 4")
	}
	if n := m.Age(2, 3); n != 7*3 || m.Present(7) {
		t.Fatalf("aged %d across the wrap", n)
	}
	checkInvariants(t, m)
}

func TestFeasibleDistanceAndShift(t *testing.T) {
	m := newMap(t, 0, 16, 4)
	m.Update(5, 1, 100, 1) // via 1: its own cost 90 over a link of 10
	m.Update(5, 2, 150, 1)
	if fd := m.Feasible(5); fd != 100 {
		t.Fatalf("feasible distance %d, want 100", fd)
	}
	// The link to 1 gets dearer by 80: the route via 1 now costs 180 and
	// the one via 2 is best, but the feasible distance stays the least
	// cost learned, 100.
	if n := m.ShiftGateway(1, 80); n != 1 {
		t.Fatalf("shifted %d routes, want 1", n)
	}
	if got := routes(m, 5); got[0] != (Route{2, 150}) || got[1] != (Route{1, 180}) {
		t.Fatalf("after the shift: %v", got)
	}
	if fd := m.Feasible(5); fd != 100 {
		t.Fatalf("feasible distance rose to %d", fd)
	}
	// Cheaper again, below where it was: the distance follows it down.
	m.ShiftGateway(1, -100)
	if fd, got := m.Feasible(5), routes(m, 5); fd != 80 || got[0] != (Route{1, 80}) {
		t.Fatalf("feasible distance %d, routes %v", fd, got)
	}
	// A shift saturates instead of wrapping.
	m.ShiftGateway(1, -1000)
	if got := routes(m, 5); got[0] != (Route{1, 0}) {
		t.Fatalf("under zero: %v", got)
	}
	m.Update(6, 3, ^uint32(0)-5, 1)
	m.ShiftGateway(3, 100)
	if got := routes(m, 6); got[0].Cost != ^uint32(0) {
		t.Fatalf("over the top: %v", got)
	}
	// A new flood clears the slot: the distance starts afresh.
	m.Clear(5)
	if fd := m.Feasible(5); fd != noRoute {
		t.Fatalf("cleared slot keeps feasible distance %d", fd)
	}
	m.Update(5, 2, 300, 2)
	if fd := m.Feasible(5); fd != 300 {
		t.Fatalf("feasible distance %d after the clear, want 300", fd)
	}
	// So does losing every route.
	m.RemoveGateway(2)
	if fd := m.Feasible(5); fd != noRoute {
		t.Fatalf("emptied slot keeps feasible distance %d", fd)
	}
	checkInvariants(t, m)
}

func TestBroadcastCache(t *testing.T) {
	m := newMap(t, 0, 256, 1)
	if !m.AcceptBroadcast(4, 10) || m.AcceptBroadcast(4, 10) || m.AcceptBroadcast(4, 9) {
		t.Fatal("old or repeated broadcast accepted")
	}
	if !m.AcceptBroadcast(4, 11) || !m.AcceptBroadcast(5, 1) {
		t.Fatal("new broadcast refused")
	}
	m.AcceptBroadcast(6, 0xFFFFFFF0)
	if !m.AcceptBroadcast(6, 3) {
		t.Fatal("pkt id wrap refused")
	}
	if m.AcceptBroadcast(6, 0xFFFFFFF5) {
		t.Fatal("pre-wrap id accepted after wrap")
	}
}

func TestRandomOperationsKeepInvariants(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	m := newMap(t, 2, 32, 5)
	m.SetMe(0)
	for i := 0; i < 20000; i++ {
		id, gw := uint8(r.IntN(32)), uint8(r.IntN(12))
		switch r.IntN(10) {
		case 0:
			m.Remove(id, gw)
		case 1:
			m.RemoveGateway(gw)
		case 2:
			m.Age(uint8(i/100), 3)
		case 3:
			m.ShiftGateway(gw, int64(r.IntN(600))-300)
		default:
			cost := uint32(r.IntN(1000) + 1)
			m.Update(id, gw, cost, uint8(i/100))
			found := false
			for _, rt := range routes(m, id) {
				if rt.Gw == gw {
					found = rt.Cost == cost
				}
			}
			full := m.Len(id) == m.MaxRoutes()
			if id != 0 && !found && !full {
				t.Fatalf("update %d of slot %d via %d lost with room left", i, id, gw)
			}
		}
	}
	checkInvariants(t, m)
}

func TestPackGolden(t *testing.T) {
	m := newMap(t, 1, 256, 4)
	m.SetMe(3)
	m.SetCount(3, 17)
	m.Update(9, 0, 0x1234, 0)
	m.Update(9, 1, 0x10, 0)
	m.SetCount(9, 200)
	got := hex.EncodeToString(AppendPacked(nil, m))
	// level 1, 8 bits, me 3, flags COUNTS, 2 entries; id 3 cost 0 count 17; id 9 cost 0x10 count 200.
	want := "010803010002" + "03" + "00000000" + "00000011" + "09" + "00000010" + "000000c8"
	if got != want {
		t.Fatalf("packed body\n got %s\nwant %s", got, want)
	}
}

func TestPackMergeRoundTrip(t *testing.T) {
	// Two rnodes share our gnode; each knows part of it. Merging both
	// maps gives every element through the cheaper rnode first.
	a := newMap(t, 0, 256, 10)
	a.SetMe(10)
	a.Update(20, 0, 100, 0)
	a.Update(30, 0, 500, 0)
	b := newMap(t, 0, 256, 10)
	b.SetMe(11)
	b.Update(30, 3, 50, 0)
	b.Update(40, 3, 70, 0)
	b.Update(99, 3, 70, 0)

	me := newMap(t, 0, 256, 10)
	me.SetMe(99) // b knows a 99: that is us, and it must be skipped
	var sa, sb Snapshot
	if rest, err := sa.Unmarshal(AppendPacked(nil, a)); err != nil || len(rest) != 0 {
		t.Fatal(err, rest)
	}
	if _, err := sb.Unmarshal(AppendPacked(nil, b)); err != nil {
		t.Fatal(err)
	}
	if _, err := me.Merge(&sa, 1, 10, 0); err != nil { // via rnode index 1 at cost 10
		t.Fatal(err)
	}
	if _, err := me.Merge(&sb, 2, 20, 0); err != nil {
		t.Fatal(err)
	}
	want := map[uint8][]Route{
		10: {{1, 10}},
		11: {{2, 20}},
		20: {{1, 110}},
		30: {{2, 70}, {1, 510}},
		40: {{2, 90}},
	}
	for id, w := range want {
		got := routes(me, id)
		if len(got) != len(w) {
			t.Fatalf("element %d: %v, want %v", id, got, w)
		}
		for i := range w {
			if got[i] != w[i] {
				t.Fatalf("element %d: %v, want %v", id, got, w)
			}
		}
	}
	if me.Len(99) != 0 || me.Routed() != 5 {
		t.Fatalf("routed %d, own slot %d routes", me.Routed(), me.Len(99))
	}
	ext := newMap(t, 1, 256, 10)
	if _, err := ext.Merge(&sa, 1, 10, 0); err == nil {
		t.Fatal("level-0 map merged into level 1")
	}
}

func TestSetPackRoundTrip(t *testing.T) {
	s := addr.Default()
	me := addr.Position{5, 6, 7}
	set, err := NewSet(s, me, 10, 256)
	if err != nil {
		t.Fatal(err)
	}
	set.Levels[1].Update(1, 0, 30, 0)
	set.Levels[1].SetCount(1, 42)
	set.Levels[2].Update(200, 1, 90, 0)
	snaps, err := UnmarshalSet(AppendPackedSet(nil, set.Levels[1:]), nil)
	if err != nil || len(snaps) != 2 {
		t.Fatal(err, len(snaps))
	}
	if e := snaps[0].Entries; len(e) != 2 || e[0] != (Entry{1, 30, 42}) || e[1] != (Entry{6, 0, 0}) || snaps[0].Me != 6 {
		t.Fatalf("level 1 snapshot %+v", snaps[0])
	}
	if e := snaps[1].Entries; len(e) != 2 || e[1] != (Entry{200, 90, 0}) {
		t.Fatalf("level 2 snapshot %+v", snaps[1])
	}
	// Reusing the destination slice must not leak old entries.
	snaps, err = UnmarshalSet(AppendPackedSet(nil, set.Levels[2:]), snaps)
	if err != nil || len(snaps) != 1 || len(snaps[0].Entries) != 2 || snaps[0].Level != 2 {
		t.Fatalf("reused: %v %+v", err, snaps)
	}

	set.Bnodes[0].Set(BnodeLink{Bnode: 9, Level: 1, Gnode: 4, Cost: 77})
	set.Bnodes[0].Set(BnodeLink{Bnode: 2, Level: 2, Gnode: 8, Cost: 5})
	set.Bnodes[1].Set(BnodeLink{Bnode: 6, Level: 2, Gnode: 1, Cost: 9})
	bs, err := UnmarshalBnodes(AppendPackedBnodes(nil, set.Bnodes), nil)
	if err != nil || len(bs) != 2 || len(bs[0].Links) != 2 || bs[0].Links[0].Bnode != 2 || bs[1].Links[0] != (BnodeLink{6, 2, 1, 9}) {
		t.Fatalf("bnode round trip: %v %+v", err, bs)
	}
	other, _ := NewBnodeMap(0, 256)
	if err := other.Load(&bs[0]); err != nil || other.Len() != 2 || other.Bnodes() != 2 {
		t.Fatalf("load: %v", err)
	}
}

func TestUnmarshalRejects(t *testing.T) {
	good := func() []byte {
		m := newMap(t, 1, 256, 2)
		m.SetMe(3)
		m.Update(9, 0, 5, 0)
		return AppendPacked(nil, m)
	}
	var s Snapshot
	b := good()
	for i := 0; i < len(b); i++ {
		if _, err := s.Unmarshal(b[:i]); !errors.Is(err, ErrMalformed) {
			t.Fatalf("truncated at %d: %v", i, err)
		}
	}
	bad := map[string]func(b []byte){
		"level 16":          func(b []byte) { b[0] = 16 },
		"0 bits":            func(b []byte) { b[1] = 0 },
		"9 bits":            func(b []byte) { b[1] = 9 },
		"unknown flag":      func(b []byte) { b[3] |= 0x80 },
		"counts on level 0": func(b []byte) { b[0] = 0 },
		"me beyond bits":    func(b []byte) { b[1] = 2 },
		"too many entries":  func(b []byte) { b[4], b[5] = 0x01, 0x01 },
		"ids out of order":  func(b []byte) { b[6+9] = 3 },
		"zero cost":         func(b []byte) { copy(b[6+9+1:], []byte{0, 0, 0, 0}) },
		"own slot not zero": func(b []byte) { b[6+4] = 1 },
	}
	for name, mutate := range bad {
		b := good()
		mutate(b)
		if _, err := s.Unmarshal(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := UnmarshalSet(append([]byte{1}, append(good(), 0)...), nil); !errors.Is(err, ErrMalformed) {
		t.Errorf("trailing byte accepted: %v", err)
	}
	if _, err := UnmarshalSet([]byte{17}, nil); !errors.Is(err, ErrMalformed) {
		t.Errorf("17 maps accepted: %v", err)
	}
	bn := []byte{1, 0, 0, 2, 5, 1, 1, 0, 0, 0, 1, 4, 1, 1, 0, 0, 0, 1}
	if _, err := UnmarshalBnodes(bn, nil); !errors.Is(err, ErrMalformed) {
		t.Errorf("bnode links out of order accepted: %v", err)
	}
	bn = []byte{1, 0, 0, 1, 5, 0, 1, 0, 0, 0, 1}
	if _, err := UnmarshalBnodes(bn, nil); !errors.Is(err, ErrMalformed) {
		t.Errorf("bnode link to its own level accepted: %v", err)
	}
	bn = []byte{1, 0, 0xff, 0xff}
	if _, err := UnmarshalBnodes(bn, nil); !errors.Is(err, ErrMalformed) {
		t.Errorf("huge bnode count accepted: %v", err)
	}
}

func TestBnodeMap(t *testing.T) {
	b, _ := NewBnodeMap(0, 4)
	for _, l := range []BnodeLink{{5, 1, 2, 10}, {3, 1, 2, 10}, {5, 2, 0, 7}, {3, 1, 9, 1}} {
		if ch, err := b.Set(l); err != nil || !ch {
			t.Fatal(err)
		}
	}
	if _, err := b.Set(BnodeLink{6, 1, 1, 1}); !errors.Is(err, ErrBnodeMapFull) {
		t.Fatalf("fifth link in a 4-link map: %v", err)
	}
	if ch, _ := b.Set(BnodeLink{5, 1, 2, 11}); !ch || b.Len() != 4 {
		t.Fatal("cost update")
	}
	if b.Bnodes() != 2 || !b.IsBnode(5) || b.IsBnode(4) {
		t.Fatal("bnode count")
	}
	if ls := b.Links(nil, 5); len(ls) != 2 || ls[0].Cost != 11 {
		t.Fatalf("links of 5: %v", ls)
	}
	if n := b.RemoveBnode(3); n != 2 || b.Bnodes() != 1 {
		t.Fatalf("removed %d", n)
	}
	if !b.Remove(5, 2, 0) || b.Remove(5, 2, 0) || b.Len() != 1 {
		t.Fatal("remove")
	}
}

// fullSet builds every map of a fully populated network: every slot of
// every level routed with MaxRoutes routes, every bnode map at capacity.
func fullSet(tb testing.TB, prefix string) *Set {
	p := netip.MustParsePrefix(prefix)
	s, err := addr.NewScheme(p, addr.DefaultBits(p))
	if err != nil {
		tb.Fatal(err)
	}
	set, err := NewSet(s, addr.Position{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, DefaultMaxRoutes, DefaultMaxBnodeLinks)
	if err != nil {
		tb.Fatal(err)
	}
	for _, m := range set.Levels {
		for id := 0; id < m.Size(); id++ {
			for gw := 0; gw < m.MaxRoutes(); gw++ {
				m.Update(uint8(id), uint8(gw), uint32(1000+id+gw), 0)
			}
			m.SetCount(uint8(id), 256)
		}
	}
	for _, b := range set.Bnodes {
		for i := 0; i < b.MaxLinks(); i++ {
			if _, err := b.Set(BnodeLink{Bnode: uint8(i), Level: uint8(b.Level() + 1), Gnode: uint8(i * 7), Cost: 1}); err != nil {
				tb.Fatal(err)
			}
		}
	}
	return set
}

const (
	budgetIPv4 = 64 << 10
	budgetIPv6 = 512 << 10
)

// The budget is checked on the exact array sizes here, and measured as live
// heap by the benchmarks below.
func TestFullMapsFootprint(t *testing.T) {
	for _, c := range []struct {
		prefix string
		budget int
		routes int
	}{{"10.0.0.0/8", budgetIPv4, 3*256 - 3}, {"fd00::/8", budgetIPv6, 15*256 - 15}} {
		set := fullSet(t, c.prefix)
		if f := set.Footprint(); f > c.budget {
			t.Errorf("%s: full maps take %d bytes, budget %d", c.prefix, f, c.budget)
		}
		if k := set.KernelRoutes(); k != c.routes {
			t.Errorf("%s: %d kernel routes, want %d", c.prefix, k, c.routes)
		}
		for _, m := range set.Levels {
			checkInvariants(t, m)
		}
	}
}

func benchmarkFullMaps(b *testing.B, prefix string, budget int) {
	var heap uint64
	var ms runtime.MemStats
	for i := 0; i < b.N; i++ {
		runtime.GC()
		runtime.ReadMemStats(&ms)
		before := ms.HeapAlloc
		set := fullSet(b, prefix)
		runtime.GC()
		runtime.ReadMemStats(&ms)
		heap = ms.HeapAlloc - before
		runtime.KeepAlive(set)
	}
	b.ReportMetric(float64(heap), "heap-bytes")
	if heap > uint64(budget) {
		b.Errorf("%s maps: %d heap bytes, budget %d", prefix, heap, budget)
	}
}

// BenchmarkFullMapsIPv4 reports the heap held by every map of a full
// 10.0.0.0/8 network (budget 65536 bytes; seed 001 estimated 144 KiB).
func BenchmarkFullMapsIPv4(b *testing.B) { benchmarkFullMaps(b, "10.0.0.0/8", budgetIPv4) }

// BenchmarkFullMapsIPv6 is the same for fd00::/8, 15 levels (budget 524288;
// seed 001 estimated 1996 KiB).
func BenchmarkFullMapsIPv6(b *testing.B) { benchmarkFullMaps(b, "fd00::/8", budgetIPv6) }

func BenchmarkUpdate(b *testing.B) {
	m := newMap(b, 0, 256, DefaultMaxRoutes)
	r := rand.New(rand.NewPCG(1, 1))
	for i := 0; i < b.N; i++ {
		m.Update(uint8(r.IntN(256)), uint8(r.IntN(20)), uint32(r.IntN(5000)+1), uint8(i))
	}
}

func FuzzUnmarshalMap(f *testing.F) {
	m, _ := New(1, 256, 3)
	m.SetMe(2)
	m.Update(4, 1, 9, 0)
	f.Add(AppendPacked(nil, m))
	f.Add([]byte{0, 8, 1, 0, 0, 1, 1, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		var s Snapshot
		rest, err := s.Unmarshal(b)
		if err != nil {
			return
		}
		// A valid body merges into a map of its shape and packs back to
		// the same bytes when loaded as the sender's own view.
		dst, err := New(int(s.Level), 1<<s.Bits, 4)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := dst.Merge(&s, 0, 1, 0); err != nil {
			t.Fatal(err)
		}
		_ = rest
	})
}

func FuzzUnmarshalSet(f *testing.F) {
	m, _ := New(1, 256, 3)
	m.SetMe(2)
	m.Update(4, 1, 9, 0)
	f.Add(AppendPackedSet(nil, []*Map{m, m}))
	f.Add([]byte{0})
	f.Fuzz(func(t *testing.T, b []byte) {
		snaps, err := UnmarshalSet(b, nil)
		if err != nil {
			return
		}
		if len(snaps) > 16 {
			t.Fatalf("%d maps", len(snaps))
		}
	})
}

func FuzzUnmarshalBnodes(f *testing.F) {
	set := fullSet(f, "10.0.0.0/8")
	f.Add(AppendPackedBnodes(nil, set.Bnodes))
	f.Fuzz(func(t *testing.T, b []byte) {
		bs, err := UnmarshalBnodes(b, nil)
		if err != nil {
			return
		}
		// Re-encoding what was accepted gives the same bytes.
		var maps []*BnodeMap
		for i := range bs {
			m, _ := NewBnodeMap(int(bs[i].Level), maxBnodeLinks)
			if err := m.Load(&bs[i]); err != nil {
				t.Fatal(err)
			}
			maps = append(maps, m)
		}
		if got := AppendPackedBnodes(nil, maps); string(got) != string(b) {
			t.Fatalf("re-encoded differently")
		}
	})
}
