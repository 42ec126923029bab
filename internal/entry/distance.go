package entry

import (
	"bytes"
	"math"
	"net/netip"
	"sort"
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

// ByDistance returns the indexes of es nearest first from from: the
// smallest great-circle distance, and where it ties (both without
// coordinates, or the same ones) the smallest XOR distance of the Internet
// addresses, then the oldest uptime, then the list's order. It is the one
// order of the list: `ntkd ctl entry-nodes` shows it, Nearest and
// virtual hooking pick from it.
func ByDistance(es []Entry, from Position) []int {
	type key struct {
		d float64
		x [16]byte
	}
	keys := make([]key, len(es))
	idx := make([]int, len(es))
	for i := range es {
		p := es[i].Position()
		keys[i], idx[i] = key{haversine(from, p), xorDistance(from.Addr, p.Addr)}, i
	}
	// sort.Slice, as elsewhere: one shared sort in the router binary.
	sort.Slice(idx, func(a, b int) bool {
		i, j := idx[a], idx[b]
		ki, kj := &keys[i], &keys[j]
		switch {
		case ki.d != kj.d:
			return ki.d < kj.d
		case ki.x != kj.x:
			return bytes.Compare(ki.x[:], kj.x[:]) < 0
		case es[i].Since != es[j].Since:
			return es[i].Since < es[j].Since
		}
		return i < j
	})
	return idx
}

// Nearest returns the index of the entry nearest to from (ByDistance's
// first), or -1 when there is none. Entries of from's own address are
// skipped.
func Nearest(es []Entry, from Position) int {
	for _, i := range ByDistance(es, from) {
		if !from.Addr.IsValid() || es[i].Endpoint.Addr() != from.Addr {
			return i
		}
	}
	return -1
}

// Nearer says whether a is nearer to to than b is, in ByDistance's
// measure: the great-circle distance, and where it ties (coordinates
// missing, or the same) the XOR of the Internet addresses (seed 002).
// Equal positions are not nearer.
func Nearer(a, b, to Position) bool {
	if da, db := haversine(a, to), haversine(b, to); da != db {
		return da < db
	}
	xa, xb := xorDistance(a.Addr, to.Addr), xorDistance(b.Addr, to.Addr)
	return bytes.Compare(xa[:], xb[:]) < 0
}
