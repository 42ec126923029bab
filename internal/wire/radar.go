package wire

import (
	"net/netip"
	"time"
)

// EchoFlags are the flag bits of ECHO_ME / ECHO_REPLY.
type EchoFlags uint8

const (
	// EchoHooking: the sender is still hooking (the C daemon's "still
	// scanning"). A hooking node that hears only hooking neighbours must not
	// assume it is alone, so two nodes hooking at once do not both create a
	// gnode.
	EchoHooking EchoFlags = 0x01
	// EchoHello on an ECHO_ME: the sender's periodic hello on this link.
	// burst:seq is its hello sequence number on the link (a receiver counts
	// the gaps as hellos it missed) and the hello part (interval, IHU list)
	// follows the address. On an ECHO_REPLY: the reply answers a hello (its
	// burst:seq is a hello sequence number, not a probe id).
	EchoHello EchoFlags = 0x02
	// EchoReplyWanted on a hello: receivers answer it with an ECHO_REPLY
	// (the sender wants RTT samples or is discovering its neighbours). A
	// plain hello is not answered; an ECHO_ME that is not a hello (a unicast
	// probe) is always answered, so the flag is only valid on hellos.
	EchoReplyWanted EchoFlags = 0x04
)

const (
	echoMeFlags    = uint8(EchoHooking | EchoHello | EchoReplyWanted)
	echoReplyFlags = uint8(EchoHooking | EchoHello)
)

// Limits of the hello part.
const (
	MaxIHU           = 32                    // IHU entries in one hello
	MaxIHUHeard      = 16                    // an IHU entry counts hellos out of the last 16
	EchoIntervalUnit = 10 * time.Millisecond // unit of the hello interval field
)

// IHU ("I hear you") is one entry of a hello's list: how many of the named
// neighbour's last 16 hellos the sender heard.
type IHU struct {
	Nonce uint32 // the neighbour's node nonce
	Heard uint8  // 0..16
}

// Echo is the payload of ECHO_ME (radar hello or probe) and ECHO_REPLY (its
// answer). A reply copies Burst and Seq from the probe; the prober measures
// the RTT on its own clock, so no time travels on the wire.
//
//	off size field
//	0   2    burst id
//	2   1    probe sequence number inside the burst
//	3   1    flags (EchoHooking, EchoHello, EchoReplyWanted)
//	4   4    nonce: the sender's node nonce (lowest hooking one creates the gnode)
//	8   4    lowest: while hooking, the lowest hooking nonce heard; once
//	         hooked, the nonce of the sender's top-level gnode
//	12  1+a  sender (probe) / replier (reply) address; family 0 while hooking
//
// and only on an ECHO_ME with EchoHello, the hello part:
//
//	+0  2    interval: the sender's hello interval in units of 10 ms, >= 1
//	+2  1    IHU count k, <= 32
//	+3  5k   k × { neighbour nonce u32, hellos heard of its last 16 u8 (<= 16) }
type Echo struct {
	Kind  Op // OpEchoMe or OpEchoReply
	Burst uint16
	Seq   uint8
	Flags EchoFlags
	// Nonce is the sender's node nonce, drawn when it starts hooking: among
	// neighbours that are all still hooking the lowest creates the gnode
	// and the others join it; two neighbours holding one address keep it
	// for the lower.
	Nonce uint32
	// Lowest is, while the sender hooks, the lowest hooking nonce it has
	// heard of (its own included), so that among routers that all start at
	// once only the lowest of a whole connected group creates a gnode.
	// Once the sender is hooked it is the nonce of its top-level gnode: two
	// networks grown apart with the same top-level id (islands started from
	// the same first address, joined by a tunnel) meet over links of a
	// lower level, where no flood of the top level shows the collision.
	Lowest uint32
	Addr   netip.Addr // the zero Addr while the node has none
	// Interval (units of 10 ms) and IHU are the hello part: set on a hello,
	// zero and empty on anything else. A list of fewer than MaxIHU entries
	// names every neighbour the sender has on the link; a full one may be a
	// rotating part of a longer table.
	Interval uint16
	IHU      []IHU
}

func (p *Echo) Op() Op { return p.Kind }

func (p *Echo) checkKind() error {
	if p.Kind != OpEchoMe && p.Kind != OpEchoReply {
		return kindError("Echo", p.Kind)
	}
	return nil
}

// isHello says whether the hello part is on the wire.
func (p *Echo) isHello() bool { return p.Kind == OpEchoMe && p.Flags&EchoHello != 0 }

func (p *Echo) knownFlags() uint8 {
	if p.Kind == OpEchoMe {
		return echoMeFlags
	}
	return echoReplyFlags
}

// Decode decodes the payload bytes of one packet into p.
func (p *Echo) Decode(data []byte) error {
	*p = Echo{Kind: p.Kind, IHU: p.IHU[:0]}
	if err := p.checkKind(); err != nil {
		return err
	}
	r := start(data, p.Kind)
	p.Burst = r.u16("burst")
	p.Seq = r.u8("seq")
	off := r.off
	p.Flags = EchoFlags(r.flags("flags", p.knownFlags()))
	if r.err == nil && p.Flags&EchoReplyWanted != 0 && p.Flags&EchoHello == 0 {
		r.setErr(ErrInconsistent, "flags", off, "REPLY_WANTED without HELLO")
	}
	p.Nonce = r.u32("nonce")
	p.Lowest = r.u32("lowest")
	p.Addr = r.addr("address", true)
	if r.err == nil && p.isHello() {
		off = r.off
		p.Interval = r.u16("interval")
		if r.err == nil && p.Interval == 0 {
			r.setErr(ErrInconsistent, "interval", off, "hello interval 0")
		}
		off = r.off
		n := int(r.u8("ihu count"))
		if r.err == nil && n > MaxIHU {
			r.setErr(ErrInconsistent, "ihu count", off, "%d entries > %d", n, MaxIHU)
		}
		if r.need(5*n, "ihu") {
			for i := 0; i < n; i++ {
				e := IHU{Nonce: r.u32("ihu nonce")}
				off = r.off
				e.Heard = r.u8("ihu heard")
				if e.Heard > MaxIHUHeard {
					r.setErr(ErrInconsistent, "ihu heard", off, "%d hellos heard of the last %d", e.Heard, MaxIHUHeard)
				}
				p.IHU = append(p.IHU, e)
			}
		}
	}
	return r.done()
}

func (p *Echo) size() (int, error) {
	if err := p.checkKind(); err != nil {
		return 0, err
	}
	op := p.Kind.String()
	if err := checkFlags(p.Kind, "flags", uint8(p.Flags), p.knownFlags()); err != nil {
		return 0, err
	}
	if p.Flags&EchoReplyWanted != 0 && p.Flags&EchoHello == 0 {
		return 0, encErr(ErrInconsistent, op, "flags", "REPLY_WANTED without HELLO")
	}
	n, err := addrLen(p.Kind, "address", p.Addr, true)
	if err != nil {
		return 0, err
	}
	if !p.isHello() {
		if p.Interval != 0 || len(p.IHU) != 0 {
			return 0, encErr(ErrInconsistent, op, "interval", "hello fields on a packet that is not a hello")
		}
		return 12 + n, nil
	}
	switch {
	case p.Interval == 0:
		return 0, encErr(ErrInconsistent, op, "interval", "hello interval 0")
	case len(p.IHU) > MaxIHU:
		return 0, encErr(ErrInconsistent, op, "ihu count", "%d entries > %d", len(p.IHU), MaxIHU)
	}
	for _, e := range p.IHU {
		if e.Heard > MaxIHUHeard {
			return 0, encErr(ErrInconsistent, op, "ihu heard", "%d hellos heard of the last %d", e.Heard, MaxIHUHeard)
		}
	}
	return 12 + n + 3 + 5*len(p.IHU), nil
}

func (p *Echo) put(b []byte) {
	w := writer{b: b}
	w.u16(p.Burst)
	w.u8(p.Seq)
	w.u8(uint8(p.Flags))
	w.u32(p.Nonce)
	w.u32(p.Lowest)
	w.addr(p.Addr)
	if p.isHello() {
		w.u16(p.Interval)
		w.u8(uint8(len(p.IHU)))
		for _, e := range p.IHU {
			w.u32(e.Nonce)
			w.u8(e.Heard)
		}
	}
}
