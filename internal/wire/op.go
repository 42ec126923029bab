package wire

import "strconv"

// Op says what a packet is and therefore how its payload is laid out.
type Op uint8

// Version 1 ops. The numbering groups them by subsystem (radar 0x0_, hook
// 0x1_, QSPN 0x2_, ANDNA 0x3_, replies 0x4_, virtual hooking carried in
// ROUTED 0x5_) so a hex dump is readable. 0x80-0xBF is reserved for the
// virtual layer and rejected for now.
const (
	OpEchoMe    Op = 0x01 // radar probe
	OpEchoReply Op = 0x02 // radar probe reply

	OpGetFreeNodes Op = 0x10 // hook: which ids are free in your gnode?
	OpPutFreeNodes Op = 0x11
	OpGetQSPNRound Op = 0x12 // hook: where are the QSPN rounds?
	OpPutQSPNRound Op = 0x13
	OpGetIntMap    Op = 0x14
	OpPutIntMap    Op = 0x15
	OpGetExtMap    Op = 0x16
	OpPutExtMap    Op = 0x17
	OpGetBnodeMap  Op = 0x18
	OpPutBnodeMap  Op = 0x19

	OpTracerPkt Op = 0x20
	OpQSPNClose Op = 0x21
	OpQSPNOpen  Op = 0x22
	OpRouted    Op = 0x23 // an inner packet carried hop by hop to a node or gnode
	OpRouteLoss Op = 0x24 // routes got worse: what they cost through the sender now

	OpAndnaRegister     Op = 0x30 // register or update a hostname
	OpAndnaCheckCounter Op = 0x31 // hash gnode -> counter gnode
	OpAndnaCounterReply Op = 0x32
	OpAndnaResolve      Op = 0x33
	OpAndnaResolveReply Op = 0x34
	OpAndnaReverse      Op = 0x35
	OpAndnaReverseReply Op = 0x36
	OpAndnaGetCache     Op = 0x37
	OpAndnaPutCache     Op = 0x38
	OpAndnaGetQueue     Op = 0x39
	OpAndnaPutQueue     Op = 0x3A

	OpAck  Op = 0x40
	OpNack Op = 0x41

	OpVHookRoute Op = 0x50 // a virtual hook request carried to the vnode nearest the asker and back (seed 002)
)

// Virtual-layer op range, reserved: version 1 decoders reject it with
// ErrUnknownOp.
const (
	OpVirtualFirst Op = 0x80
	OpVirtualLast  Op = 0xBF
)

// String returns the op's name as used in docs/PROTOCOL.md.
func (o Op) String() string {
	switch o {
	case OpEchoMe:
		return "ECHO_ME"
	case OpEchoReply:
		return "ECHO_REPLY"
	case OpGetFreeNodes:
		return "GET_FREE_NODES"
	case OpPutFreeNodes:
		return "PUT_FREE_NODES"
	case OpGetQSPNRound:
		return "GET_QSPN_ROUND"
	case OpPutQSPNRound:
		return "PUT_QSPN_ROUND"
	case OpGetIntMap:
		return "GET_INT_MAP"
	case OpPutIntMap:
		return "PUT_INT_MAP"
	case OpGetExtMap:
		return "GET_EXT_MAP"
	case OpPutExtMap:
		return "PUT_EXT_MAP"
	case OpGetBnodeMap:
		return "GET_BNODE_MAP"
	case OpPutBnodeMap:
		return "PUT_BNODE_MAP"
	case OpTracerPkt:
		return "TRACER_PKT"
	case OpQSPNClose:
		return "QSPN_CLOSE"
	case OpQSPNOpen:
		return "QSPN_OPEN"
	case OpRouted:
		return "ROUTED"
	case OpRouteLoss:
		return "ROUTE_LOSS"
	case OpAndnaRegister:
		return "ANDNA_REGISTER"
	case OpAndnaCheckCounter:
		return "ANDNA_CHECK_COUNTER"
	case OpAndnaCounterReply:
		return "ANDNA_COUNTER_REPLY"
	case OpAndnaResolve:
		return "ANDNA_RESOLVE"
	case OpAndnaResolveReply:
		return "ANDNA_RESOLVE_REPLY"
	case OpAndnaReverse:
		return "ANDNA_REVERSE"
	case OpAndnaReverseReply:
		return "ANDNA_REVERSE_REPLY"
	case OpAndnaGetCache:
		return "ANDNA_GET_CACHE"
	case OpAndnaPutCache:
		return "ANDNA_PUT_CACHE"
	case OpAndnaGetQueue:
		return "ANDNA_GET_QUEUE"
	case OpAndnaPutQueue:
		return "ANDNA_PUT_QUEUE"
	case OpAck:
		return "ACK"
	case OpNack:
		return "NACK"
	case OpVHookRoute:
		return "VHOOK_ROUTE"
	}
	return "Op(0x" + strconv.FormatUint(uint64(o), 16) + ")"
}

// Known reports whether o is defined in version 1.
func (o Op) Known() bool {
	switch o {
	case OpEchoMe, OpEchoReply,
		OpGetFreeNodes, OpPutFreeNodes, OpGetQSPNRound, OpPutQSPNRound,
		OpGetIntMap, OpPutIntMap, OpGetExtMap, OpPutExtMap, OpGetBnodeMap, OpPutBnodeMap,
		OpTracerPkt, OpQSPNClose, OpQSPNOpen, OpRouted, OpRouteLoss,
		OpAndnaRegister, OpAndnaCheckCounter, OpAndnaCounterReply,
		OpAndnaResolve, OpAndnaResolveReply, OpAndnaReverse, OpAndnaReverseReply,
		OpAndnaGetCache, OpAndnaPutCache, OpAndnaGetQueue, OpAndnaPutQueue,
		OpAck, OpNack,
		OpVHookRoute:
		return true
	}
	return false
}

// Ops returns every version 1 op in numeric order.
func Ops() []Op {
	var ops []Op
	for i := 0; i < 256; i++ {
		if Op(i).Known() {
			ops = append(ops, Op(i))
		}
	}
	return ops
}

// Code is an error code carried by NACK, and the result of ANDNA_COUNTER_REPLY
// (where CodeOK means accepted). Receivers treat codes they do not know as
// CodeInternal, so new codes can be added without a version bump.
type Code uint16

const (
	CodeOK             Code = 0  // only in ANDNA_COUNTER_REPLY; a NACK never carries it
	CodeBadRequest     Code = 1  // the request decoded but is not acceptable
	CodeUnknownOp      Code = 2  // the receiver does not implement this op
	CodeGnodeFull      Code = 3  // hook: no free id in this gnode
	CodeIDTaken        Code = 4  // hook: the id is already in the maps (anti-spoofing)
	CodeNotResponsible Code = 5  // ANDNA: not in the hash gnode of this name
	CodeRateLimited    Code = 6  // too many requests from this source
	CodeTooEarly       Code = 7  // ANDNA: update sent before the allowed window
	CodeReplay         Code = 8  // ANDNA: update counter not greater than the stored one
	CodeBadSignature   Code = 9  // ANDNA: signature does not verify
	CodeLimitExceeded  Code = 10 // ANDNA: the key already holds 256 names
	CodeQueueFull      Code = 11 // ANDNA: the name's queue already holds 5 entries
	CodeBusy           Code = 12 // the receiver is hooking and cannot answer yet
	CodeInternal       Code = 13 // the receiver failed; retrying elsewhere may work
	CodeNotFound       Code = 14 // ANDNA: no such name / registration
)

func (c Code) String() string {
	switch c {
	case CodeOK:
		return "OK"
	case CodeBadRequest:
		return "BAD_REQUEST"
	case CodeUnknownOp:
		return "UNKNOWN_OP"
	case CodeGnodeFull:
		return "GNODE_FULL"
	case CodeIDTaken:
		return "ID_TAKEN"
	case CodeNotResponsible:
		return "NOT_RESPONSIBLE"
	case CodeRateLimited:
		return "RATE_LIMITED"
	case CodeTooEarly:
		return "TOO_EARLY"
	case CodeReplay:
		return "REPLAY"
	case CodeBadSignature:
		return "BAD_SIGNATURE"
	case CodeLimitExceeded:
		return "LIMIT_EXCEEDED"
	case CodeQueueFull:
		return "QUEUE_FULL"
	case CodeBusy:
		return "BUSY"
	case CodeInternal:
		return "INTERNAL"
	case CodeNotFound:
		return "NOT_FOUND"
	}
	return "Code(" + strconv.FormatUint(uint64(c), 10) + ")"
}
