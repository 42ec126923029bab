package wire

// Payload is the body of one packet. Every payload type of this package
// implements it; the unexported methods keep it closed, because Encode
// relies on size() and put() agreeing byte for byte.
//
// The multi-op families (Empty, Echo, MapBody, Broadcast) carry their op in
// a Kind field that must be set before encoding or decoding; the other types
// belong to exactly one op.
type Payload interface {
	// Op is the op this payload is sent under.
	Op() Op
	// Decode decodes the payload bytes of one packet (after the header)
	// into the value, which keeps its Kind. Byte slices in the result
	// (MapBody.Body, Routed.Inner, VHookRoute.Body) alias data.
	Decode(data []byte) error

	// size validates the value and returns its encoded size.
	size() (int, error)
	// put writes exactly size() bytes.
	put(b []byte)
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
	case OpVHookRoute:
		return &VHookRoute{}
	}
	return nil
}

// kindError is returned when a multi-op family value has a Kind outside its
// family (typically a zero Kind).
func kindError(family string, kind Op) error {
	return &Error{Layer: family, Field: "Kind", Offset: -1, Detail: "op " + kind.String() + " is not valid for " + family, Err: ErrUnknownOp}
}
