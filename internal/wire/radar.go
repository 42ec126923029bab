package wire

import (
	"net/netip"

	"github.com/gopacket/gopacket"
)

// EchoFlags are the flag bits of ECHO_ME / ECHO_REPLY.
type EchoFlags uint8

// EchoHooking: the sender is still hooking (the C daemon's "still scanning").
// A hooking node that hears only hooking neighbours must not assume it is
// alone, so two nodes hooking at once do not both create a gnode.
const EchoHooking EchoFlags = 0x01

const echoFlagsKnown = uint8(EchoHooking)

// Echo is the payload of ECHO_ME (radar probe) and ECHO_REPLY (its answer).
// A reply copies Burst and Seq from the probe; the prober measures the RTT
// on its own clock, so no time travels on the wire.
//
//	off size field
//	0   2    burst id
//	2   1    probe sequence number inside the burst
//	3   1    flags (EchoHooking)
//	4   4    nonce: the sender's node nonce (lowest hooking one creates the gnode)
//	8   4    lowest: while hooking, the lowest hooking nonce heard (0 once hooked)
//	12  1+a  sender (probe) / replier (reply) address; family 0 while hooking
type Echo struct {
	base
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
	// once only the lowest of a whole connected group creates a gnode (0
	// once hooked).
	Lowest uint32
	Addr   netip.Addr // the zero Addr while the node has none
}

func (p *Echo) Op() Op { return p.Kind }

func (p *Echo) LayerType() gopacket.LayerType  { return LayerTypeOf(p.Kind) }
func (p *Echo) CanDecode() gopacket.LayerClass { return p.LayerType() }

func (p *Echo) checkKind() error {
	if p.Kind != OpEchoMe && p.Kind != OpEchoReply {
		return kindError("Echo", p.Kind)
	}
	return nil
}

func (p *Echo) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	*p = Echo{Kind: p.Kind, base: base{contents: data}}
	if err := p.checkKind(); err != nil {
		return err
	}
	r := start(data, p.Kind)
	p.Burst = r.u16("burst")
	p.Seq = r.u8("seq")
	p.Flags = EchoFlags(r.flags("flags", echoFlagsKnown))
	p.Nonce = r.u32("nonce")
	p.Lowest = r.u32("lowest")
	p.Addr = r.addr("address", true)
	return finish(df, r.done())
}

func (p *Echo) size() (int, error) {
	if err := p.checkKind(); err != nil {
		return 0, err
	}
	if err := checkFlags(p.Kind, "flags", uint8(p.Flags), echoFlagsKnown); err != nil {
		return 0, err
	}
	n, err := addrLen(p.Kind, "address", p.Addr, true)
	return 12 + n, err
}

func (p *Echo) put(b []byte) {
	w := writer{b: b}
	w.u16(p.Burst)
	w.u8(p.Seq)
	w.u8(uint8(p.Flags))
	w.u32(p.Nonce)
	w.u32(p.Lowest)
	w.addr(p.Addr)
}

func (p *Echo) SerializeTo(b gopacket.SerializeBuffer, _ gopacket.SerializeOptions) error {
	return serialize(p, b)
}
