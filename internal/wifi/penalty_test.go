package wifi

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

const mbit = 1_000_000

// good is a healthy 802.11g-or-better link: it costs nothing extra.
var good = Metrics{TxBitrate: 54 * mbit, Signal: -60, Inactive: 100 * time.Millisecond}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestPenaltyTable(t *testing.T) {
	with := func(f func(*Metrics)) Metrics { m := good; f(&m); return m }
	for _, c := range []struct {
		name string
		m    Metrics
		want float64
	}{
		{"healthy", good, 1},
		{"zero value", Metrics{}, 1},
		{"300 Mbit/s", with(func(m *Metrics) { m.TxBitrate = 300 * mbit }), 1},
		{"24 Mbit/s", with(func(m *Metrics) { m.TxBitrate = 24 * mbit }), 1.5},
		{"6 Mbit/s", with(func(m *Metrics) { m.TxBitrate = 6 * mbit }), 3},
		{"1 Mbit/s", with(func(m *Metrics) { m.TxBitrate = 1 * mbit }), math.Sqrt(54)},
		{"100 kbit/s: rate cap", with(func(m *Metrics) { m.TxBitrate = 100_000 }), 8},
		{"rate not reported", with(func(m *Metrics) { m.TxBitrate = 0 }), 1},
		{"-70 dBm", with(func(m *Metrics) { m.Signal = -70 }), 1},
		{"-77 dBm", with(func(m *Metrics) { m.Signal = -77 }), math.Exp2(7.0 / 7.5)},
		{"-85 dBm", with(func(m *Metrics) { m.Signal = -85 }), 4},
		{"-100 dBm: signal cap", with(func(m *Metrics) { m.Signal = -100 }), 8},
		{"weak signal and slow rate: the worse counts", with(func(m *Metrics) { m.Signal = -85; m.TxBitrate = 6 * mbit }), 4},
		{"retry ratio 0.5", with(func(m *Metrics) { m.RetryRatio = 0.5 }), 1.5},
		{"retry ratio 9: capped at 3", with(func(m *Metrics) { m.RetryRatio = 9 }), 4},
		{"fail ratio 0.125", with(func(m *Metrics) { m.FailRatio = 0.125 }), 1.5},
		{"fail ratio 1", with(func(m *Metrics) { m.FailRatio = 1 }), 5},
		{"fail ratio 3: capped at 1", with(func(m *Metrics) { m.FailRatio = 3 }), 5},
		{"6 Mbit/s, retries 1, fails 0.25", with(func(m *Metrics) { m.TxBitrate = 6 * mbit; m.RetryRatio = 1; m.FailRatio = 0.25 }), 9},
		{"everything bad: bounded", Metrics{TxBitrate: 1, Signal: -110, RetryRatio: 3, FailRatio: 1}, MaxPenalty},
		{"5 s inactive: still trusted", with(func(m *Metrics) { m.Signal = -85; m.Inactive = 5 * time.Second }), 4},
		{"17.5 s inactive: half trusted", with(func(m *Metrics) { m.Signal = -85; m.Inactive = 17500 * time.Millisecond }), 2.5},
		{"30 s inactive: not trusted", with(func(m *Metrics) { m.Signal = -85; m.Inactive = 30 * time.Second }), 1},
	} {
		if got := Penalty(c.m); !near(got, c.want) {
			t.Errorf("%s: Penalty = %v, want %v", c.name, got, c.want)
		}
	}
}

// TestPenaltyMonotonicTable walks each input from good to bad and wants a
// non-decreasing penalty that really rises somewhere along the way.
func TestPenaltyMonotonicTable(t *testing.T) {
	base := Metrics{TxBitrate: 54 * mbit, Signal: -65, RetryRatio: 0.1, FailRatio: 0.01, Inactive: time.Second}
	walks := map[string]func(i int) Metrics{
		"bitrate falls": func(i int) Metrics { m := base; m.TxBitrate = 600*mbit - i*mbit; return m }, // 600 .. 1 Mbit/s
		"signal falls":  func(i int) Metrics { m := base; m.Signal = -30 - i/8; return m },            // -30 .. -104 dBm
		"retries rise":  func(i int) Metrics { m := base; m.RetryRatio = float64(i) / 100; return m },
		"fails rise":    func(i int) Metrics { m := base; m.FailRatio = float64(i) / 599; return m },
		"silence grows, on a bad link": func(i int) Metrics {
			m := Metrics{TxBitrate: 6 * mbit, Signal: -85, RetryRatio: 1, FailRatio: 0.2}
			m.Inactive = -time.Duration(i) * 100 * time.Millisecond // reversed: from 60 s down to 0
			m.Inactive += 60 * time.Second
			return m
		},
	}
	for name, walk := range walks {
		first, prev := Penalty(walk(0)), Penalty(walk(0))
		for i := 1; i < 600; i++ {
			p := Penalty(walk(i))
			if p < prev {
				t.Fatalf("%s: step %d: penalty fell from %v to %v (%+v)", name, i, prev, p, walk(i))
			}
			prev = p
		}
		if prev <= first*1.5 {
			t.Errorf("%s: penalty only went from %v to %v", name, first, prev)
		}
	}
}

// randomMetrics spans and overshoots the realistic range.
func randomMetrics(r *rand.Rand) Metrics {
	return Metrics{
		TxBitrate:  1 + r.IntN(2000*mbit),
		Signal:     -120 + r.IntN(121),
		Inactive:   time.Duration(r.Int64N(int64(60 * time.Second))),
		RetryRatio: r.Float64() * 5,
		FailRatio:  r.Float64() * 1.2,
	}
}

func TestPenaltyMonotonicProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	worse := []struct {
		name string
		f    func(*Metrics)
	}{
		{"lower bitrate", func(m *Metrics) { m.TxBitrate = 1 + r.IntN(m.TxBitrate) }},
		{"weaker signal", func(m *Metrics) { m.Signal -= r.IntN(40) }},
		{"more retries", func(m *Metrics) { m.RetryRatio += r.Float64() * 3 }},
		{"more failures", func(m *Metrics) { m.FailRatio += r.Float64() }},
	}
	for i := range 100_000 {
		m := randomMetrics(r)
		p := Penalty(m)
		if !(p >= 1 && p <= MaxPenalty) {
			t.Fatalf("%+v: penalty %v out of [1, %v]", m, p, MaxPenalty)
		}
		w := worse[i%len(worse)]
		bad := m
		w.f(&bad)
		if q := Penalty(bad); q < p {
			t.Fatalf("%s: %+v -> %v but %+v -> %v", w.name, m, p, bad, q)
		}
		staler := m
		staler.Inactive += time.Duration(r.Int64N(int64(30 * time.Second)))
		if q := Penalty(staler); q > p {
			t.Fatalf("staler: %+v -> %v but %+v -> %v", m, p, staler, q)
		}
	}
}

func TestPenaltyBounds(t *testing.T) {
	odd := []float64{math.NaN(), math.Inf(1), math.Inf(-1), -1, 0, 1e300, -1e300, math.SmallestNonzeroFloat64}
	ints := []int{math.MinInt, -1, 0, 1, math.MaxInt}
	durs := []time.Duration{math.MinInt64, -1, 0, math.MaxInt64}
	for _, r := range odd {
		for _, f := range odd {
			for _, b := range ints {
				for _, s := range ints {
					for _, d := range durs {
						m := Metrics{TxBitrate: b, Signal: s, Inactive: d, RetryRatio: r, FailRatio: f}
						if p := Penalty(m); !(p >= 1 && p <= MaxPenalty) {
							t.Fatalf("%+v: penalty %v", m, p)
						}
					}
				}
			}
		}
	}
}

func TestPenaltyStaleFallback(t *testing.T) {
	bad := Metrics{TxBitrate: 6 * mbit, Signal: -88, RetryRatio: 2, FailRatio: 0.3}
	raw := Penalty(bad)
	if raw < 8 {
		t.Fatalf("test link not bad enough: %v", raw)
	}
	prev := raw
	for d := time.Duration(0); d <= 60*time.Second; d += 250 * time.Millisecond {
		bad.Inactive = d
		p := Penalty(bad)
		switch {
		case d <= freshFor && p != raw:
			t.Fatalf("inactive %v: penalty %v, want the fresh %v", d, p, raw)
		case d >= staleAfter && p != 1:
			t.Fatalf("inactive %v: penalty %v, want 1", d, p)
		case d > freshFor && d < staleAfter && !(p > 1 && p < prev):
			t.Fatalf("inactive %v: penalty %v, want between 1 and %v", d, p, prev)
		}
		prev = p
	}
}

// FuzzPenalty: any input gives a penalty in bounds, and making one input
// worse never lowers it.
func FuzzPenalty(f *testing.F) {
	f.Add(54*mbit, -60, int64(0), 0.1, 0.01)
	f.Add(6*mbit, -85, int64(2*time.Second), 2.0, 0.5)
	f.Add(0, 0, int64(-1), math.NaN(), math.Inf(1))
	f.Fuzz(func(t *testing.T, rate, signal int, inactive int64, retry, fail float64) {
		m := Metrics{TxBitrate: rate, Signal: signal, Inactive: time.Duration(inactive), RetryRatio: retry, FailRatio: fail}
		p := Penalty(m)
		if !(p >= 1 && p <= MaxPenalty) {
			t.Fatalf("%+v: penalty %v", m, p)
		}
		if signal > math.MinInt+10 {
			w := m
			w.Signal -= 10
			if q := Penalty(w); q < p {
				t.Fatalf("weaker signal lowered the penalty: %v -> %v", p, q)
			}
		}
		if rate > 1 {
			w := m
			w.TxBitrate /= 2
			if q := Penalty(w); q < p {
				t.Fatalf("lower rate lowered the penalty: %v -> %v", p, q)
			}
		}
		if !math.IsNaN(fail) {
			w := m
			w.FailRatio = fail + 0.1
			if q := Penalty(w); q < p {
				t.Fatalf("more failures lowered the penalty: %v -> %v", p, q)
			}
		}
	})
}
