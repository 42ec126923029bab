package wire

import (
	"net/netip"
)

// RoutedFlags are the flag bits of ROUTED.
type RoutedFlags uint8

// RoutedNearest: Dst is a hash mapped onto the address space, and the packet
// goes to the existing element nearest to it at each level (seed 001 §7.1:
// the rounded hash gnode), decided hop by hop by the nodes it crosses.
const RoutedNearest RoutedFlags = 0x01

const routedFlagsKnown = uint8(RoutedNearest)

// MaxRoutedTTL bounds how many nodes a ROUTED packet may cross.
const MaxRoutedTTL = 64

// Routed is the payload of ROUTED: a whole inner packet (header and
// payload, e.g. an ANDNA request) that ntkd nodes carry to a node or gnode
// of the mesh hop by hop along their own QSPN routes, over the neighbour
// streams. Rounding to the nearest existing gnode is something kernel
// routing cannot do, and the hop-by-hop carrying works the same in the
// simulator and on routers.
//
//	off    size field
//	0      1    flags (RoutedNearest)
//	1      1    TTL (1..64), decremented by every node that passes it on
//	2      1    level: the packet is for any node of the gnode of this level
//	            that holds Dst (0: the node Dst itself)
//	3      1+a  Dst, the target address (or hash, with RoutedNearest)
//	4+a    1+b  Src, the address of the sender (replies go there)
//	5+a+b  2    length m of the inner packet (>= 16)
//	7+a+b  m    the inner packet, header included
type Routed struct {
	Flags RoutedFlags
	TTL   uint8
	Level uint8
	Dst   netip.Addr
	Src   netip.Addr
	// Inner aliases the decoded bytes; decode it with Decode or a Decoder.
	Inner []byte
}

func (p *Routed) Op() Op { return OpRouted }

// Decode decodes the payload bytes of one packet into p.
func (p *Routed) Decode(data []byte) error {
	*p = Routed{}
	r := start(data, OpRouted)
	p.Flags = RoutedFlags(r.flags("flags", routedFlagsKnown))
	p.TTL = r.u8("ttl")
	if r.err == nil && (p.TTL == 0 || p.TTL > MaxRoutedTTL) {
		r.setErr(ErrInconsistent, "ttl", 1, "%d outside 1..%d", p.TTL, MaxRoutedTTL)
	}
	p.Level = r.level("level")
	p.Dst = r.addr("dst", false)
	p.Src = r.addr("src", false)
	if r.err == nil && p.Dst.Is4() != p.Src.Is4() {
		r.setErr(ErrInconsistent, "src", r.off, "address families of dst and src differ")
	}
	off := r.off
	m := int(r.u16("inner length"))
	if r.err == nil && m < HeaderLen {
		r.setErr(ErrInconsistent, "inner length", off, "%d bytes, an inner packet needs %d", m, HeaderLen)
	}
	if r.err == nil {
		p.Inner = r.take(m, "inner")
	}
	return r.done()
}

func (p *Routed) size() (int, error) {
	op := OpRouted
	if err := checkFlags(op, "flags", uint8(p.Flags), routedFlagsKnown); err != nil {
		return 0, err
	}
	if p.TTL == 0 || p.TTL > MaxRoutedTTL {
		return 0, encErr(ErrInconsistent, op.String(), "ttl", "%d outside 1..%d", p.TTL, MaxRoutedTTL)
	}
	if p.Level >= MaxLevels {
		return 0, encErr(ErrInconsistent, op.String(), "level", "level %d >= %d", p.Level, MaxLevels)
	}
	dn, err := addrLen(op, "dst", p.Dst, false)
	if err != nil {
		return 0, err
	}
	sn, err := addrLen(op, "src", p.Src, false)
	if err != nil {
		return 0, err
	}
	if p.Dst.Is4() != p.Src.Is4() {
		return 0, encErr(ErrInconsistent, op.String(), "src", "address families of dst and src differ")
	}
	if len(p.Inner) < HeaderLen {
		return 0, encErr(ErrTruncated, op.String(), "inner", "%d bytes, an inner packet needs %d", len(p.Inner), HeaderLen)
	}
	if len(p.Inner) > 0xffff {
		return 0, encErr(ErrOversized, op.String(), "inner", "%d bytes > 65535", len(p.Inner))
	}
	return 3 + dn + sn + 2 + len(p.Inner), nil
}

func (p *Routed) put(b []byte) {
	w := writer{b: b}
	w.u8(uint8(p.Flags))
	w.u8(p.TTL)
	w.u8(p.Level)
	w.addr(p.Dst)
	w.addr(p.Src)
	w.u16(uint16(len(p.Inner)))
	w.bytes(p.Inner)
}
