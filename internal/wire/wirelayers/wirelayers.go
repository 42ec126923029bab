// Package wirelayers makes ntk packets gopacket layers, for the tools that
// dissect captures (`ntkd dump`, internal/pcapdump) and for tests.
//
// The daemon encodes and decodes with package wire alone, which depends on
// the standard library only, so the router binary links no gopacket: no
// package the router build links may import this one. It uses the core
// github.com/gopacket/gopacket package only (no gopacket/layers).
//
// The layers wrap wire's values: Header embeds a wire.Header, Payload a
// wire.Payload, and wire does the decoding and encoding. LayerTypeHeader
// decodes the header and its NextLayerType names the payload layer of the
// op, so both gopacket.NewPacket and a gopacket.DecodingLayerParser fed
// with DecodingLayers() dissect whole packets.
package wirelayers

import (
	"errors"
	"fmt"

	"github.com/gopacket/gopacket"
	"github.com/ntkd/ntkd/internal/wire"
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
func LayerTypeOf(op wire.Op) gopacket.LayerType {
	if !op.Known() {
		return gopacket.LayerTypeZero
	}
	return gopacket.LayerType(layerTypePayload + int(op))
}

func opOfLayerType(t gopacket.LayerType) (wire.Op, bool) {
	n := int64(t) - layerTypePayload
	if n < 0 || n > 255 || !wire.Op(n).Known() {
		return 0, false
	}
	return wire.Op(n), true
}

func init() {
	gopacket.RegisterLayerType(int(LayerTypeHeader), gopacket.LayerTypeMetadata{
		Name:    "NTKHeader",
		Decoder: gopacket.DecodeFunc(decodeHeaderLayer),
	})
	for _, op := range wire.Ops() {
		gopacket.RegisterLayerType(int(LayerTypeOf(op)), gopacket.LayerTypeMetadata{
			Name:    "NTK_" + op.String(),
			Decoder: payloadDecoder(op),
		})
	}
}

// Header is the 16-byte header as a gopacket layer (LayerTypeHeader) whose
// NextLayerType is the payload layer of its op.
type Header struct {
	wire.Header
	contents, payload []byte
}

// LayerType implements gopacket.Layer.
func (h *Header) LayerType() gopacket.LayerType { return LayerTypeHeader }

// CanDecode implements gopacket.DecodingLayer.
func (h *Header) CanDecode() gopacket.LayerClass { return LayerTypeHeader }

// NextLayerType returns the payload layer type of the op.
func (h *Header) NextLayerType() gopacket.LayerType { return LayerTypeOf(h.Op) }

// LayerContents returns the 16 header bytes.
func (h *Header) LayerContents() []byte { return h.contents }

// LayerPayload returns the payload bytes.
func (h *Header) LayerPayload() []byte { return h.payload }

// DecodeFromBytes decodes a whole datagram's header with wire.Header.Decode
// (same contract: data is exactly one packet).
func (h *Header) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	h.contents, h.payload = nil, nil
	if err := h.Header.Decode(data); err != nil {
		return truncated(df, err)
	}
	h.contents = data[:wire.HeaderLen:wire.HeaderLen]
	h.payload = data[wire.HeaderLen:]
	return nil
}

// SerializeTo prepends the header to the payload already in b. With
// opts.FixLengths it sets Length to the payload size; without, Length is
// written as it is (gopacket's convention, handy for crafting bad frames).
// If the payload layer serialized just before is one of ours, its op must
// match h.Op.
func (h *Header) SerializeTo(b gopacket.SerializeBuffer, opts gopacket.SerializeOptions) error {
	var hdr [wire.HeaderLen]byte
	if _, err := wire.AppendHeader(hdr[:0], h.Header); err != nil {
		return err // an unknown op or flag bits
	}
	if ls := b.Layers(); len(ls) > 0 {
		if op, ok := opOfLayerType(ls[len(ls)-1]); ok && op != h.Op {
			return encErr(wire.ErrInconsistent, "op", "header op %v, payload layer %v", h.Op, op)
		}
	}
	n := len(b.Bytes())
	if n > wire.MaxPayload {
		return encErr(wire.ErrOversized, "length", "payload %d bytes > %d", n, wire.MaxPayload)
	}
	if opts.FixLengths {
		h.Length = uint32(n)
	}
	out, err := b.PrependBytes(wire.HeaderLen)
	if err != nil {
		return err
	}
	_, err = wire.AppendHeader(out[:0], h.Header)
	return err
}

// Payload is the payload of one packet as a gopacket layer, of type
// LayerTypeOf its op; the embedded wire.Payload (typically a *wire.Echo,
// *wire.Broadcast, ...) holds the fields. Set it before decoding, with the
// Kind of the multi-op families set: NewPayload does both.
type Payload struct {
	wire.Payload
	contents []byte
}

// NewPayload returns a layer holding wire.NewPayload(op), or nil for an op
// version 1 does not define.
func NewPayload(op wire.Op) *Payload {
	p := wire.NewPayload(op)
	if p == nil {
		return nil
	}
	return &Payload{Payload: p}
}

// LayerType implements gopacket.Layer.
func (p *Payload) LayerType() gopacket.LayerType { return LayerTypeOf(p.Op()) }

// CanDecode implements gopacket.DecodingLayer.
func (p *Payload) CanDecode() gopacket.LayerClass { return p.LayerType() }

// NextLayerType is LayerTypeZero: nothing follows a payload.
func (p *Payload) NextLayerType() gopacket.LayerType { return gopacket.LayerTypeZero }

// LayerContents returns the payload bytes the layer was decoded from.
func (p *Payload) LayerContents() []byte { return p.contents }

// LayerPayload is nil: a payload is the last layer of a packet.
func (p *Payload) LayerPayload() []byte { return nil }

// DecodeFromBytes decodes the payload bytes with the wrapped value's Decode.
func (p *Payload) DecodeFromBytes(data []byte, df gopacket.DecodeFeedback) error {
	p.contents = data
	return truncated(df, p.Payload.Decode(data))
}

// SerializeTo prepends the payload to b, refusing what wire.Encode refuses.
func (p *Payload) SerializeTo(b gopacket.SerializeBuffer, _ gopacket.SerializeOptions) error {
	enc, err := wire.AppendPayload(nil, p.Payload)
	if err != nil {
		return err
	}
	out, err := b.PrependBytes(len(enc))
	if err != nil {
		return err
	}
	copy(out, enc)
	return nil
}

// DecodingLayers returns a fresh Header and one Payload layer per op, ready
// for gopacket.NewDecodingLayerParser(LayerTypeHeader, DecodingLayers()...).
//
// Note that DecodingLayerParser stops after a layer whose LayerPayload is
// empty, so for ops with an empty payload (GET_*, ACK, ANDNA_REVERSE, ...)
// only LayerTypeHeader is reported; the header's Op says which it was.
func DecodingLayers() []gopacket.DecodingLayer {
	ls := []gopacket.DecodingLayer{&Header{}}
	for _, op := range wire.Ops() {
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

func payloadDecoder(op wire.Op) gopacket.Decoder {
	return gopacket.DecodeFunc(func(data []byte, pb gopacket.PacketBuilder) error {
		p := NewPayload(op)
		if err := p.DecodeFromBytes(data, pb); err != nil {
			return err
		}
		pb.AddLayer(p)
		return nil
	})
}

// truncated reports truncation to gopacket's feedback, as gopacket layers
// are expected to, and passes the error through.
func truncated(df gopacket.DecodeFeedback, err error) error {
	if err != nil && df != nil && errors.Is(err, wire.ErrTruncated) {
		df.SetTruncated()
	}
	return err
}

// encErr builds a header encoding error like wire's own.
func encErr(sentinel error, field, format string, args ...any) error {
	return &wire.Error{Layer: "header", Field: field, Offset: -1, Detail: fmt.Sprintf(format, args...), Err: sentinel}
}
