package wire

import (
	"github.com/gopacket/gopacket"
)

// Layer type numbers. gopacket reserves 0-999 for itself and serves
// 1000-1999 from an array, so ntkd takes a private block there: the header
// is 1300 and the payload of op X is 1400+X (1401..1655). gopacket/layers
// (linked only by tools, never by the router) stays below 1300.
const (
	LayerTypeHeader  = gopacket.LayerType(1300)
	layerTypePayload = 1400
)

// LayerTypeOf returns the gopacket layer type of op's payload, or
// gopacket.LayerTypeZero for an op version 1 does not define.
func LayerTypeOf(op Op) gopacket.LayerType {
	if !op.Known() {
		return gopacket.LayerTypeZero
	}
	return gopacket.LayerType(layerTypePayload + int(op))
}

func opOfLayerType(t gopacket.LayerType) (Op, bool) {
	n := int64(t) - layerTypePayload
	if n < 0 || n > 255 || !Op(n).Known() {
		return 0, false
	}
	return Op(n), true
}

func init() {
	gopacket.RegisterLayerType(int(LayerTypeHeader), gopacket.LayerTypeMetadata{
		Name:    "NTKHeader",
		Decoder: gopacket.DecodeFunc(decodeHeaderLayer),
	})
	for _, op := range Ops() {
		gopacket.RegisterLayerType(int(LayerTypeOf(op)), gopacket.LayerTypeMetadata{
			Name:    "NTK_" + op.String(),
			Decoder: payloadDecoder(op),
		})
	}
}

// Payload is the body of one packet. Every payload type of this package
// implements it; the unexported methods keep it closed, because Encode
// relies on size() and put() agreeing byte for byte.
//
// The multi-op families (Empty, Echo, MapBody, Broadcast) carry their op in
// a Kind field that must be set before encoding or decoding; the other types
// belong to exactly one op.
type Payload interface {
	gopacket.Layer
	gopacket.DecodingLayer
	gopacket.SerializableLayer
	// Op is the op this payload is sent under.
	Op() Op
	// Decode decodes the payload bytes of one packet (after the header)
	// into the value, which keeps its Kind. Decoded slices alias data.
	Decode(data []byte) error

	// size validates the value and returns its encoded size.
	size() (int, error)
	// put writes exactly size() bytes.
	put(b []byte)
}

// base holds what every payload layer keeps for gopacket: its bytes.
type base struct {
	contents []byte
}

// LayerContents returns the payload bytes the layer was decoded from.
func (b *base) LayerContents() []byte { return b.contents }

// LayerPayload is nil: a payload is the last layer of a packet.
func (b *base) LayerPayload() []byte { return nil }

// NextLayerType is LayerTypeZero: nothing follows a payload.
func (b *base) NextLayerType() gopacket.LayerType { return gopacket.LayerTypeZero }

// serialize is the shared SerializeTo of all payloads.
func serialize(p Payload, b gopacket.SerializeBuffer) error {
	n, err := p.size()
	if err != nil {
		return err
	}
	if n > MaxPayload {
		return encErr(ErrOversized, p.Op().String(), "payload", "%d bytes > %d", n, MaxPayload)
	}
	buf, err := b.PrependBytes(n)
	if err != nil {
		return err
	}
	p.put(buf)
	return nil
}

// NewPayload returns a fresh, zero payload value for op (with Kind set for
// the multi-op families), or nil if version 1 does not define op.
func NewPayload(op Op) Payload {
	switch op {
	case OpGetFreeNodes, OpGetQSPNRound, OpGetIntMap, OpGetExtMap, OpGetBnodeMap, OpAndnaReverse, OpAck:
		return &Empty{Kind: op}
	case OpEchoMe, OpEchoReply:
		return &Echo{Kind: op}
	case OpPutFreeNodes:
		return &PutFreeNodes{}
	case OpPutQSPNRound:
		return &PutQSPNRound{}
	case OpPutIntMap, OpPutExtMap, OpPutBnodeMap:
		return &MapBody{Kind: op}
	case OpTracerPkt, OpQSPNClose, OpQSPNOpen:
		return &Broadcast{Kind: op}
	case OpRouted:
		return &Routed{}
	case OpRouteLoss:
		return &Loss{}
	case OpAndnaRegister:
		return &Register{}
	case OpAndnaCheckCounter:
		return &CheckCounter{}
	case OpAndnaCounterReply:
		return &CounterReply{}
	case OpAndnaResolve:
		return &Resolve{}
	case OpAndnaResolveReply:
		return &ResolveReply{}
	case OpAndnaReverseReply:
		return &ReverseReply{}
	case OpAndnaGetCache:
		return &GetCache{}
	case OpAndnaPutCache:
		return &PutCache{}
	case OpAndnaGetQueue:
		return &GetQueue{}
	case OpAndnaPutQueue:
		return &PutQueue{}
	case OpNack:
		return &Nack{}
	}
	return nil
}

// DecodingLayers returns a fresh Header and one payload layer per op, ready
// for gopacket.NewDecodingLayerParser(LayerTypeHeader, DecodingLayers()...).
//
// Note that DecodingLayerParser stops after a layer whose LayerPayload is
// empty, so for ops with an empty payload (GET_*, ACK, ANDNA_REVERSE, ...)
// only LayerTypeHeader is reported; the header's Op says which it was.
func DecodingLayers() []gopacket.DecodingLayer {
	ls := []gopacket.DecodingLayer{&Header{}}
	for _, op := range Ops() {
		ls = append(ls, NewPayload(op))
	}
	return ls
}

func decodeHeaderLayer(data []byte, pb gopacket.PacketBuilder) error {
	h := &Header{}
	if err := h.DecodeFromBytes(data, pb); err != nil {
		return err
	}
	pb.AddLayer(h)
	return pb.NextDecoder(h.NextLayerType())
}

func payloadDecoder(op Op) gopacket.Decoder {
	return gopacket.DecodeFunc(func(data []byte, pb gopacket.PacketBuilder) error {
		p := NewPayload(op)
		if err := p.DecodeFromBytes(data, pb); err != nil {
			return err
		}
		pb.AddLayer(p)
		return nil
	})
}

// kindError is returned when a multi-op family value has a Kind outside its
// family (typically a zero Kind).
func kindError(family string, kind Op) error {
	return &Error{Layer: family, Field: "Kind", Offset: -1, Detail: "op " + kind.String() + " is not valid for " + family, Err: ErrUnknownOp}
}
