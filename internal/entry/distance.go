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
	if !a.HasCoords || !b.HasCoords {
		return math.Inf(1)
	}
	const rad = math.Pi / 180 / 1e6
	la1, la2 := float64(a.Lat)*rad, float64(b.Lat)*rad
	dla, dlo := la2-la1, float64(b.Lon-a.Lon)*rad
	h := math.Sin(dla/2)*math.Sin(dla/2) + math.Cos(la1)*math.Cos(la2)*math.Sin(dlo/2)*math.Sin(dlo/2)
	return 2 * earthRadiusKm * math.Asin(math.Sqrt(math.Min(1, h)))
}

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
		d := DistanceKm(from, p)
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
