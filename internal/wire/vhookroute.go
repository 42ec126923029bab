package wire

import (
	"net/netip"
	"slices"
)

// VRouteFlags are the flag bits of VHOOK_ROUTE.
type VRouteFlags uint8

const (
	VRouteBack   VRouteFlags = 0x01 // going back to Origin with the chain
	VRouteCoords VRouteFlags = 0x02 // Lat and Lon hold the asker's coordinates

	vrouteFlagsKnown = uint8(VRouteBack | VRouteCoords)
)

// Limits of VHOOK_ROUTE.
const (
	MaxVRouteHops    = 32   // times a request may be sent on
	MaxVRouteExclude = 8    // addresses in Exclude
	MaxVRouteBody    = 2048 // bytes of Body
)

// vrouteFixedLen is the size of a VHOOK_ROUTE without its addresses and
// body: flags, hops, lat, lon, exclude count, body length.
const vrouteFixedLen = 1 + 1 + 4 + 4 + 1 + 2

// VHookRoute is the payload of VHOOK_ROUTE: a virtual hook request (seed
// 002) carried inside ROUTED through the mesh to the vnode nearest the
// asker and along the anchor chain, then back to the entry node that took
// it. Body is the daemon's (opaque here).
//
//	off          size     field
//	0            1        flags (VRouteBack, VRouteCoords)
//	1            1        hops (0..MaxVRouteHops): times it was sent on by a node
//	2            4        lat, microdegrees (i32, -90e6..90e6; 0 without COORDS)
//	6            4        lon, microdegrees (i32, -180e6..180e6; 0 without COORDS)
//	10           1+a      origin: the entry node that took the request
//	11+a         1        exclude count k (0..MaxVRouteExclude)
//	12+a         k(1+a)   exclude: addresses already in the chain, same family as origin
//	12+a+k(1+a)  2        body length m (0..MaxVRouteBody)
//	14+a+k(1+a)  m        body
//
// The largest payload is 2214 bytes (IPv6, 8 excludes, a 2048-byte body).
type VHookRoute struct {
	Flags    VRouteFlags
	Hops     uint8 // 0..MaxVRouteHops: times it was sent on by a node
	Lat, Lon int32 // microdegrees, ranges as in VnodePoint (0 when VRouteCoords is clear)
	// Origin is the mesh address of the entry node that took the request
	// (replies go there).
	Origin netip.Addr
	// Exclude holds 0..MaxVRouteExclude mesh addresses already in the
	// chain, of Origin's family.
	Exclude []netip.Addr
	// Body is 0..MaxVRouteBody bytes; it aliases the decoded bytes (nil
	// when empty).
	Body []byte
}

func (p *VHookRoute) Op() Op { return OpVHookRoute }

// Decode decodes the payload bytes of one packet into p. It reuses
// Exclude's backing array.
func (p *VHookRoute) Decode(data []byte) error {
	exclude := p.Exclude[:0]
	*p = VHookRoute{}
	r := start(data, OpVHookRoute)
	p.Flags = VRouteFlags(r.flags("flags", vrouteFlagsKnown))
	off := r.off
	p.Hops = r.u8("hops")
	if r.err == nil && p.Hops > MaxVRouteHops {
		r.setErr(ErrInconsistent, "hops", off, "%d hops > %d", p.Hops, MaxVRouteHops)
	}
	off = r.off
	p.Lat = int32(r.u32("lat"))
	p.Lon = int32(r.u32("lon"))
	if r.err == nil {
		if msg := coordsProblem(p.Lat, p.Lon); msg != "" {
			r.setErr(ErrInconsistent, "coordinates", off, "%s (%d, %d)", msg, p.Lat, p.Lon)
		} else if p.Flags&VRouteCoords == 0 && (p.Lat != 0 || p.Lon != 0) {
			r.setErr(ErrInconsistent, "coordinates", off, "(%d, %d) without COORDS", p.Lat, p.Lon)
		}
	}
	p.Origin = r.addr("origin", false)
	off = r.off
	n := int(r.u8("exclude count"))
	if r.err == nil && n > MaxVRouteExclude {
		r.setErr(ErrInconsistent, "exclude count", off, "%d addresses > %d", n, MaxVRouteExclude)
	}
	alen := 1 + 16
	if p.Origin.Is4() {
		alen = 1 + 4
	}
	if r.need(n*alen, "exclude") {
		exclude = slices.Grow(exclude, n)
		for i := 0; i < n && r.err == nil; i++ {
			off := r.off
			a := r.addr("exclude", false)
			if r.err == nil && a.Is4() != p.Origin.Is4() {
				r.setErr(ErrInconsistent, "exclude", off, "address %d: families of origin and exclude differ", i)
			}
			exclude = append(exclude, a)
		}
	}
	p.Exclude = exclude
	off = r.off
	m := int(r.u16("body length"))
	if r.err == nil && m > MaxVRouteBody {
		r.setErr(ErrInconsistent, "body length", off, "%d bytes > %d", m, MaxVRouteBody)
	}
	if b := r.take(m, "body"); len(b) > 0 {
		p.Body = b
	}
	return r.done()
}

func (p *VHookRoute) size() (int, error) {
	op := OpVHookRoute
	if err := checkFlags(op, "flags", uint8(p.Flags), vrouteFlagsKnown); err != nil {
		return 0, err
	}
	if p.Hops > MaxVRouteHops {
		return 0, encErr(ErrInconsistent, op.String(), "hops", "%d hops > %d", p.Hops, MaxVRouteHops)
	}
	if msg := coordsProblem(p.Lat, p.Lon); msg != "" {
		return 0, encErr(ErrInconsistent, op.String(), "coordinates", "%s (%d, %d)", msg, p.Lat, p.Lon)
	}
	if p.Flags&VRouteCoords == 0 && (p.Lat != 0 || p.Lon != 0) {
		return 0, encErr(ErrInconsistent, op.String(), "coordinates", "(%d, %d) without COORDS", p.Lat, p.Lon)
	}
	on, err := addrLen(op, "origin", p.Origin, false)
	if err != nil {
		return 0, err
	}
	if len(p.Exclude) > MaxVRouteExclude {
		return 0, encErr(ErrInconsistent, op.String(), "exclude", "%d addresses > %d", len(p.Exclude), MaxVRouteExclude)
	}
	n := vrouteFixedLen + on
	for i, a := range p.Exclude {
		an, err := addrLen(op, "exclude", a, false)
		if err != nil {
			return 0, err
		}
		if a.Is4() != p.Origin.Is4() {
			return 0, encErr(ErrInconsistent, op.String(), "exclude", "address %d: families of origin and exclude differ", i)
		}
		n += an
	}
	if len(p.Body) > MaxVRouteBody {
		return 0, encErr(ErrInconsistent, op.String(), "body", "%d bytes > %d", len(p.Body), MaxVRouteBody)
	}
	return n + len(p.Body), nil
}

func (p *VHookRoute) put(b []byte) {
	w := writer{b: b}
	w.u8(uint8(p.Flags))
	w.u8(p.Hops)
	w.u32(uint32(p.Lat))
	w.u32(uint32(p.Lon))
	w.addr(p.Origin)
	w.u8(uint8(len(p.Exclude)))
	for _, a := range p.Exclude {
		w.addr(a)
	}
	w.u16(uint16(len(p.Body)))
	w.bytes(p.Body)
}
