package wire

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

// Every fuzz target checks the same properties of its decoder:
//   - it never panics (the fuzzer reports panics itself);
//   - a rejection is an *Error wrapping one sentinel;
//   - an accepted input re-encodes to the very same bytes (the format is
//     canonical), and those decode to an equal value.

// seedPayloads adds the golden payloads of ops, each tagged with its index
// in ops (the selector byte of the fuzz function).
func seedPayloads(f *testing.F, ops ...Op) {
	for i, op := range ops {
		b := readGolden(f, op)
		f.Add(uint8(i), b[HeaderLen:])
	}
}

func checkRejection(t *testing.T, err error) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T %v is not *Error", err, err)
	}
	n := 0
	for _, s := range []error{ErrTruncated, ErrOversized, ErrBadMagic, ErrBadVersion, ErrUnknownOp, ErrInconsistent} {
		if errors.Is(err, s) {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("error %v wraps %d sentinels", err, n)
	}
}

// fuzzPayload decodes data as the payload of one of ops.
func fuzzPayload(f *testing.F, ops ...Op) {
	seedPayloads(f, ops...)
	f.Fuzz(func(t *testing.T, sel uint8, data []byte) {
		op := ops[int(sel)%len(ops)]
		p := NewPayload(op)
		if err := p.Decode(data); err != nil {
			checkRejection(t, err)
			return
		}
		b, err := Encode(1, p)
		if err != nil {
			t.Fatalf("decoded value does not encode: %v\n%#v", err, p)
		}
		if !bytes.Equal(b[HeaderLen:], data) {
			t.Fatalf("not canonical:\nin  %x\nout %x", data, b[HeaderLen:])
		}
		_, p2, err := Decode(b)
		if err != nil {
			t.Fatalf("re-encoded bytes do not decode: %v", err)
		}
		if !reflect.DeepEqual(p, p2) {
			t.Fatalf("round trip changed the value:\n%#v\n%#v", p, p2)
		}
	})
}

func FuzzHeader(f *testing.F) {
	for _, op := range Ops() {
		f.Add(readGolden(f, op))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var h Header
		err := h.Decode(data)
		n, perr := PayloadLen(data)
		if err != nil {
			checkRejection(t, err)
			// Framing errors and PayloadLen agree.
			if perr == nil && len(data) == HeaderLen+n && !errors.Is(err, ErrUnknownOp) && !errors.Is(err, ErrInconsistent) {
				t.Fatalf("PayloadLen accepts a frame the header rejects: %v", err)
			}
			return
		}
		if perr != nil || n != int(h.Length) || len(data) != HeaderLen+n || !h.Op.Known() {
			t.Fatalf("PayloadLen %d %v, header %+v", n, perr, h)
		}
		// An accepted header re-encodes to the same bytes.
		if b, err := AppendHeader(nil, h); err != nil || !bytes.Equal(b, data[:HeaderLen]) {
			t.Fatalf("AppendHeader: %v\nin  %x\nout %x", err, data[:HeaderLen], b)
		}
	})
}

// FuzzDecode runs whole packets through Decode and a reused Decoder, which
// must agree.
func FuzzDecode(f *testing.F) {
	for _, op := range Ops() {
		f.Add(readGolden(f, op))
	}
	var d Decoder
	f.Fuzz(func(t *testing.T, data []byte) {
		h, p, err := Decode(data)
		h2, p2, err2 := d.Decode(data)
		if (err == nil) != (err2 == nil) {
			t.Fatalf("Decode %v, Decoder %v", err, err2)
		}
		if err != nil {
			checkRejection(t, err)
			return
		}
		if h.ID != h2.ID || h.Op != h2.Op || p.Op() != h.Op {
			t.Fatalf("headers differ: %+v %+v", h, h2)
		}
		b, err := Encode(h.ID, p)
		if err != nil || !bytes.Equal(b, data) {
			t.Fatalf("re-encode: %v\nin  %x\nout %x", err, data, b)
		}
		b2, err := Encode(h2.ID, p2)
		if err != nil || !bytes.Equal(b2, data) {
			t.Fatalf("Decoder value re-encode: %v", err)
		}
	})
}

func FuzzEmpty(f *testing.F) {
	fuzzPayload(f, OpGetFreeNodes, OpGetQSPNRound, OpGetIntMap, OpGetExtMap, OpGetBnodeMap, OpAndnaReverse, OpAck)
}
func FuzzEcho(f *testing.F)         { fuzzPayload(f, OpEchoMe, OpEchoReply) }
func FuzzPutFreeNodes(f *testing.F) { fuzzPayload(f, OpPutFreeNodes) }
func FuzzPutQSPNRound(f *testing.F) { fuzzPayload(f, OpPutQSPNRound) }
func FuzzMapBody(f *testing.F)      { fuzzPayload(f, OpPutIntMap, OpPutExtMap, OpPutBnodeMap) }
func FuzzBroadcast(f *testing.F)    { fuzzPayload(f, OpTracerPkt, OpQSPNClose, OpQSPNOpen) }
func FuzzRouted(f *testing.F)       { fuzzPayload(f, OpRouted) }
func FuzzRouteLoss(f *testing.F)    { fuzzPayload(f, OpRouteLoss) }
func FuzzRegister(f *testing.F)     { fuzzPayload(f, OpAndnaRegister) }
func FuzzCheckCounter(f *testing.F) { fuzzPayload(f, OpAndnaCheckCounter) }
func FuzzCounterReply(f *testing.F) { fuzzPayload(f, OpAndnaCounterReply) }
func FuzzResolve(f *testing.F)      { fuzzPayload(f, OpAndnaResolve) }
func FuzzResolveReply(f *testing.F) { fuzzPayload(f, OpAndnaResolveReply) }
func FuzzReverseReply(f *testing.F) { fuzzPayload(f, OpAndnaReverseReply) }
func FuzzGetCache(f *testing.F)     { fuzzPayload(f, OpAndnaGetCache) }
func FuzzPutCache(f *testing.F)     { fuzzPayload(f, OpAndnaPutCache) }
func FuzzGetQueue(f *testing.F)     { fuzzPayload(f, OpAndnaGetQueue) }
func FuzzPutQueue(f *testing.F)     { fuzzPayload(f, OpAndnaPutQueue) }
func FuzzNack(f *testing.F)         { fuzzPayload(f, OpNack) }
