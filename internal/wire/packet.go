package wire

import (
	"bytes"
	"slices"
)

// Encode returns a whole packet: header (with id and the computed length)
// followed by p. It refuses any value a decoder would reject.
func Encode(id uint32, p Payload) ([]byte, error) {
	return Append(nil, id, p)
}

// Append appends a whole packet to dst, like Encode. With a dst of enough
// capacity it does not allocate, which is what senders of frequent packets
// (radar, tracer packets) should use.
func Append(dst []byte, id uint32, p Payload) ([]byte, error) {
	n, err := payloadSize(p)
	if err != nil {
		return dst, err
	}
	off := len(dst)
	dst = slices.Grow(dst, HeaderLen+n)[:off+HeaderLen+n]
	putHeader(dst[off:], p.Op(), id, uint32(n))
	p.put(dst[off+HeaderLen:])
	return dst, nil
}

// AppendPayload appends the payload p alone, without a header, to dst. It
// refuses what Append refuses. Daemon code sends whole packets with Append;
// this is for tools that build frames piece by piece (wire/wirelayers).
func AppendPayload(dst []byte, p Payload) ([]byte, error) {
	n, err := payloadSize(p)
	if err != nil {
		return dst, err
	}
	off := len(dst)
	dst = slices.Grow(dst, n)[:off+n]
	p.put(dst[off:])
	return dst, nil
}

// payloadSize validates p and returns its encoded size.
func payloadSize(p Payload) (int, error) {
	if p == nil {
		return 0, encErr(ErrUnknownOp, "header", "payload", "nil payload")
	}
	n, err := p.size()
	if err != nil {
		return 0, err
	}
	if n > MaxPayload {
		return 0, encErr(ErrOversized, p.Op().String(), "payload", "%d bytes > %d", n, MaxPayload)
	}
	return n, nil
}

// Decode parses one whole packet (a datagram, or a frame cut with
// PayloadLen / ReadFrame). The returned values do not alias b.
//
// On error the Header is still filled in when the frame was sound (unknown
// op, bad header flags, or a payload that does not decode), so the receiver
// can answer with a NACK carrying the same id; otherwise it is zero.
func Decode(b []byte) (Header, Payload, error) {
	b = bytes.Clone(b)
	var h Header
	if err := h.Decode(b); err != nil {
		return h, nil, err
	}
	p := NewPayload(h.Op)
	if err := p.Decode(b[HeaderLen:]); err != nil {
		return h, nil, err
	}
	return h, p, nil
}

// Decoder decodes packets into payload values it owns and reuses, so that a
// receive loop does not allocate once its slices have grown to the sizes it
// sees. The Payload returned by Decode (and any slice inside it) is valid
// until the next call to Decode and aliases b: copy what must outlive it.
// A Decoder is not safe for concurrent use; the zero value is ready.
type Decoder struct {
	empty        Empty
	echo         Echo
	putFreeNodes PutFreeNodes
	putQSPNRound PutQSPNRound
	mapBody      MapBody
	broadcast    Broadcast
	routed       Routed
	loss         Loss
	register     Register
	checkCounter CheckCounter
	counterReply CounterReply
	resolve      Resolve
	resolveReply ResolveReply
	reverseReply ReverseReply
	getCache     GetCache
	putCache     PutCache
	getQueue     GetQueue
	putQueue     PutQueue
	nack         Nack
	vhookRoute   VHookRoute
}

// Decode parses one whole packet, like the package-level Decode (same
// error contract) but without copying.
func (d *Decoder) Decode(b []byte) (Header, Payload, error) {
	var h Header
	if err := h.Decode(b); err != nil {
		return h, nil, err
	}
	p := d.payload(h.Op)
	if err := p.Decode(b[HeaderLen:]); err != nil {
		return h, nil, err
	}
	return h, p, nil
}

// payload returns the reused value for a known op, with Kind set.
func (d *Decoder) payload(op Op) Payload {
	switch op {
	case OpGetFreeNodes, OpGetQSPNRound, OpGetIntMap, OpGetExtMap, OpGetBnodeMap, OpAndnaReverse, OpAck:
		d.empty.Kind = op
		return &d.empty
	case OpEchoMe, OpEchoReply:
		d.echo.Kind = op
		return &d.echo
	case OpPutFreeNodes:
		return &d.putFreeNodes
	case OpPutQSPNRound:
		return &d.putQSPNRound
	case OpPutIntMap, OpPutExtMap, OpPutBnodeMap:
		d.mapBody.Kind = op
		return &d.mapBody
	case OpTracerPkt, OpQSPNClose, OpQSPNOpen:
		d.broadcast.Kind = op
		return &d.broadcast
	case OpRouted:
		return &d.routed
	case OpRouteLoss:
		return &d.loss
	case OpAndnaRegister:
		return &d.register
	case OpAndnaCheckCounter:
		return &d.checkCounter
	case OpAndnaCounterReply:
		return &d.counterReply
	case OpAndnaResolve:
		return &d.resolve
	case OpAndnaResolveReply:
		return &d.resolveReply
	case OpAndnaReverseReply:
		return &d.reverseReply
	case OpAndnaGetCache:
		return &d.getCache
	case OpAndnaPutCache:
		return &d.putCache
	case OpAndnaGetQueue:
		return &d.getQueue
	case OpAndnaPutQueue:
		return &d.putQueue
	case OpNack:
		return &d.nack
	case OpVHookRoute:
		return &d.vhookRoute
	}
	// Unreachable: Header.Decode rejects unknown ops. Keep the
	// decoder total anyway.
	d.empty.Kind = op
	return &d.empty
}
