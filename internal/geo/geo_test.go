package geo

import (
	"math"
	"testing"
)

// TestSinCos checks the small sine against the math package's over the
// range coordinates give.
func TestSinCos(t *testing.T) {
	for x := -2 * math.Pi; x <= 2*math.Pi; x += 0.001 {
		if d := math.Abs(sin(x) - math.Sin(x)); d > 1e-7 {
			t.Fatalf("sin(%v) off by %g", x, d)
		}
		if d := math.Abs(cos(x) - math.Cos(x)); d > 1e-7 {
			t.Fatalf("cos(%v) off by %g", x, d)
		}
	}
}

// TestKm: Rome to London is about 1,434 km; HavOfKm inverts Km.
func TestKm(t *testing.T) {
	h := Hav(41_902_800, 12_496_400, 51_507_400, -127_800)
	if km := Km(h); math.Abs(km-1434) > 5 {
		t.Errorf("Rome-London %.0f km, want about 1434", km)
	}
	for _, km := range []float64{0, 1, 200, 5000, 20000} {
		if got := Km(HavOfKm(km)); math.Abs(got-km) > 1e-3*km+1e-6 {
			t.Errorf("Km(HavOfKm(%v)) = %v", km, got)
		}
	}
}
