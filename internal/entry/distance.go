package entry

import (
	"bytes"
	"math"
	"net/netip"
	"sort"

	"github.com/ntkd/ntkd/internal/geo"
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

// DistanceKm is the great-circle distance (haversine) between a and b, or
// +Inf when either has no coordinates.
func DistanceKm(a, b Position) float64 {
	h := haversine(a, b)
	if math.IsInf(h, 1) {
		return h
	}
	return geo.Km(h)
}

// haversine is hav(central angle) of a and b, in [0, 1], +Inf without
// coordinates. The distance grows with it, so Nearest compares it and
// needs no arcsine.
func haversine(a, b Position) float64 {
	if !a.HasCoords || !b.HasCoords {
		return math.Inf(1)
	}
	return geo.Hav(a.Lat, a.Lon, b.Lat, b.Lon)
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
