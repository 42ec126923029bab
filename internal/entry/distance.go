package entry

import (
	"bytes"
	"math"
	"net/netip"
)

// Position is where a node is: its Internet address and, when known, its
// coordinates in microdegrees.
type Position struct {
	Addr      netip.Addr
	HasCoords bool
	Lat, Lon  int32
}

// Position returns the record's position.
func (r *Record) Position() Position {
	return Position{Addr: r.Endpoint.Addr(), HasCoords: r.HasCoords, Lat: r.Lat, Lon: r.Lon}
}

const earthRadiusKm = 6371.0

// DistanceKm is the great-circle distance (haversine) between a and b, or
// +Inf when either has no coordinates.
func DistanceKm(a, b Position) float64 {
	h := haversine(a, b)
	if math.IsInf(h, 1) {
		return h
	}
	return 2 * earthRadiusKm * math.Asin(math.Sqrt(h))
}

// haversine is hav(central angle) of a and b, in [0, 1], +Inf without
// coordinates. The distance grows with it, so Nearest compares it and
// needs no arcsine.
func haversine(a, b Position) float64 {
	if !a.HasCoords || !b.HasCoords {
		return math.Inf(1)
	}
	const rad = math.Pi / 180 / 1e6
	la1, la2 := float64(a.Lat)*rad, float64(b.Lat)*rad
	sla, slo := sin((la2-la1)/2), sin(float64(b.Lon-a.Lon)*rad/2)
	h := sla*sla + cos(la1)*cos(la2)*slo*slo
	return max(0, min(1, h))
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

// xorDistance is the XOR of two addresses in their 16-byte form, compared
// as a big-endian number: seed 002's measure when coordinates are missing
// or the same.
func xorDistance(a, b netip.Addr) [16]byte {
	x, y := a.As16(), b.As16()
	for i := range x {
		x[i] ^= y[i]
	}
	return x
}

// Nearest returns the index of the entry nearest to from, or -1 when es is
// empty: the smallest great-circle distance, and where it ties (both
// without coordinates, or the same ones) the smallest XOR distance of the
// Internet addresses, then the oldest uptime. Entries of from's own
// address are skipped.
func Nearest(es []Entry, from Position) int {
	best := -1
	var bestD float64
	var bestX [16]byte
	for i := range es {
		p := es[i].Position()
		if from.Addr.IsValid() && p.Addr == from.Addr {
			continue
		}
		d := haversine(from, p)
		x := xorDistance(from.Addr, p.Addr)
		if best >= 0 {
			if d > bestD || d == bestD && bytes.Compare(x[:], bestX[:]) > 0 {
				continue
			}
			if d == bestD && x == bestX && es[i].Since >= es[best].Since {
				continue
			}
		}
		best, bestD, bestX = i, d, x
	}
	return best
}
