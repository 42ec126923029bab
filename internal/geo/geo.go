// Package geo measures distances between points given in microdegrees:
// the great circle of the virtual layer's "nearest" (seed 002), shared by
// the entry node lists and the Viphilama map of the protocol core.
package geo

import "math"

// EarthRadiusKm is the mean radius the distances use.
const EarthRadiusKm = 6371.0

// Hav is hav(central angle) between (lat1, lon1) and (lat2, lon2), in
// microdegrees, in [0, 1]. The distance grows with it, so callers that
// only compare distances need no arcsine.
func Hav(lat1, lon1, lat2, lon2 int32) float64 {
	const rad = math.Pi / 180 / 1e6
	la1, la2 := float64(lat1)*rad, float64(lat2)*rad
	sla, slo := sin((la2-la1)/2), sin(float64(lon2-lon1)*rad/2)
	h := sla*sla + cos(la1)*cos(la2)*slo*slo
	return max(0, min(1, h))
}

// Km turns Hav's value into kilometres of great circle.
func Km(hav float64) float64 { return 2 * EarthRadiusKm * math.Asin(math.Sqrt(hav)) }

// HavOfKm is the Hav value of a distance of km kilometres: thresholds in
// km compare with Hav's values without an arcsine per pair.
func HavOfKm(km float64) float64 {
	s := sin(min(km/EarthRadiusKm, math.Pi) / 2)
	return s * s
}

// sin and cos for |x| <= 2π, the range of our coordinates: a Taylor
// polynomial on [-π/2, π/2] (error < 1e-7), not math.Sin and math.Cos,
// whose general range reduction costs ~9 KB of softfloat mips code.
func sin(x float64) float64 {
	for x > math.Pi {
		x -= 2 * math.Pi
	}
	for x < -math.Pi {
		x += 2 * math.Pi
	}
	switch { // sin(x) = sin(π - x)
	case x > math.Pi/2:
		x = math.Pi - x
	case x < -math.Pi/2:
		x = -math.Pi - x
	}
	x2 := x * x
	return x * (1 - x2/6*(1-x2/20*(1-x2/42*(1-x2/72*(1-x2/110*(1-x2/156))))))
}

func cos(x float64) float64 { return sin(x + math.Pi/2) }
