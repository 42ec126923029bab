package wire

import (
	"bytes"
	"errors"
	"io"
	"net/netip"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestSamplesCoverEveryOp(t *testing.T) {
	seen := map[Op]bool{}
	for _, s := range samples() {
		if seen[s.p.Op()] {
			t.Errorf("two samples for %v", s.p.Op())
		}
		seen[s.p.Op()] = true
	}
	for _, op := range Ops() {
		if !seen[op] {
			t.Errorf("no sample for %v", op)
		}
	}
	if len(Ops()) != 31 {
		t.Errorf("%d ops, want 31", len(Ops()))
	}
}

func TestRoundTrip(t *testing.T) {
	var d Decoder
	for _, s := range samples() {
		t.Run(s.p.Op().String(), func(t *testing.T) {
			b, err := Encode(s.id, s.p)
			if err != nil {
				t.Fatal(err)
			}
			h, p, err := Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			if h.Op != s.p.Op() || h.ID != s.id || int(h.Length) != len(b)-HeaderLen || h.Flags != 0 {
				t.Fatalf("header %+v", h)
			}
			if !reflect.DeepEqual(p, s.p) {
				t.Fatalf("decoded\n%#v\nwant\n%#v", p, s.p)
			}
			// The reusing decoder gives the same value.
			h2, p2, err := d.Decode(b)
			if err != nil || h2.ID != s.id || h2.Op != h.Op {
				t.Fatalf("Decoder: %v %+v", err, h2)
			}
			b2, err := Encode(s.id, p2)
			if err != nil || !bytes.Equal(b, b2) {
				t.Fatalf("Decoder value re-encodes differently: %v\n%x\n%x", err, b, b2)
			}
			// Append after existing bytes leaves them alone.
			b3, err := Append([]byte("xyz"), s.id, s.p)
			if err != nil || string(b3[:3]) != "xyz" || !bytes.Equal(b3[3:], b) {
				t.Fatalf("Append: %v %x", err, b3)
			}
			// Header and payload appended piece by piece give the same bytes.
			pb, err := AppendHeader([]byte("xyz"), h)
			if err != nil {
				t.Fatal(err)
			}
			if pb, err = AppendPayload(pb, s.p); err != nil || string(pb[:3]) != "xyz" || !bytes.Equal(pb[3:], b) {
				t.Fatalf("AppendHeader + AppendPayload: %v\n%x\nEncode\n%x", err, pb, b)
			}
		})
	}
}

func TestGolden(t *testing.T) {
	for _, s := range samples() {
		op := s.p.Op()
		t.Run(op.String(), func(t *testing.T) {
			b, err := Encode(s.id, s.p)
			if err != nil {
				t.Fatal(err)
			}
			if *update {
				if err := os.WriteFile(goldenName(op), []byte(formatHex(op, s.id, b)), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want := readGolden(t, op)
			if !bytes.Equal(b, want) {
				t.Fatalf("encoded\n%x\ngolden\n%x", b, want)
			}
			h, p, err := Decode(want)
			if err != nil {
				t.Fatal(err)
			}
			if h.ID != s.id || !reflect.DeepEqual(p, s.p) {
				t.Fatalf("golden decodes to %+v %#v", h, p)
			}
		})
	}
}

// A hand-written vector pins the header layout independently of the encoder.
func TestHeaderLayout(t *testing.T) {
	b, err := Encode(0xa1b2c3d4, &Nack{Code: CodeBusy, Reason: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{
		'N', 'K', 1, 0x41, 0, 0, 0, 0, 0xa1, 0xb2, 0xc3, 0xd4, 0, 0, 0, 5,
		0, 12, 2, 'h', 'i',
	}
	if !bytes.Equal(b, want) {
		t.Fatalf("got %x want %x", b, want)
	}
	n, err := PayloadLen(b)
	if err != nil || n != 5 {
		t.Fatalf("PayloadLen = %d, %v", n, err)
	}
}

func TestTruncatedEverywhere(t *testing.T) {
	var d Decoder
	for _, s := range samples() {
		op := s.p.Op()
		b, err := Encode(s.id, s.p)
		if err != nil {
			t.Fatal(err)
		}
		for cut := 0; cut < len(b); cut++ {
			_, _, err := Decode(b[:cut])
			wantErr(t, err, ErrTruncated, op.String()+" Decode cut")
			_, _, err = d.Decode(b[:cut])
			wantErr(t, err, ErrTruncated, op.String()+" Decoder cut")
		}
		// The payload layer alone, cut short: every layout with counts or
		// fixed fields notices. MapBody (opaque) and GetCache (optional
		// level) accept shorter payloads by design.
		payload := b[HeaderLen:]
		for cut := 0; cut < len(payload); cut++ {
			p := NewPayload(op)
			err := p.Decode(payload[:cut])
			switch op {
			case OpPutIntMap, OpPutExtMap, OpPutBnodeMap, OpAndnaGetCache:
				if err != nil {
					t.Fatalf("%v cut at %d: %v", op, cut, err)
				}
			default:
				wantErr(t, err, ErrTruncated, op.String()+" payload cut")
			}
		}
	}
}

func TestTrailingBytesRejected(t *testing.T) {
	for _, s := range samples() {
		op := s.p.Op()
		b, err := Encode(s.id, s.p)
		if err != nil {
			t.Fatal(err)
		}
		// Datagram longer than its length field.
		_, _, err = Decode(append(slices.Clone(b), 0))
		wantErr(t, err, ErrInconsistent, op.String()+" datagram trailing")
		// Payload with one more byte, length field adjusted.
		if op == OpPutIntMap || op == OpPutExtMap || op == OpPutBnodeMap {
			continue // opaque: any length is a body
		}
		long := append(slices.Clone(b), 0)
		long[15]++
		_, _, err = Decode(long)
		wantErr(t, err, ErrInconsistent, op.String()+" payload trailing")
	}
}

func TestHeaderRejects(t *testing.T) {
	good, err := Encode(9, &Nack{Code: CodeInternal})
	if err != nil {
		t.Fatal(err)
	}
	mod := func(f func(b []byte) []byte) []byte { return f(slices.Clone(good)) }
	cases := []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, ErrTruncated},
		{"short header", good[:15], ErrTruncated},
		{"bad magic 0", mod(func(b []byte) []byte { b[0] = 'n'; return b }), ErrBadMagic},
		{"bad magic 1", mod(func(b []byte) []byte { b[1] = 'X'; return b }), ErrBadMagic},
		{"version 0", mod(func(b []byte) []byte { b[2] = 0; return b }), ErrBadVersion},
		{"version 2", mod(func(b []byte) []byte { b[2] = 2; return b }), ErrBadVersion},
		{"oversized length", mod(func(b []byte) []byte { b[12], b[13], b[14], b[15] = 0, 4, 0, 1; return b }), ErrOversized},
		{"huge length", mod(func(b []byte) []byte { b[12], b[13], b[14], b[15] = 0xff, 0xff, 0xff, 0xff; return b }), ErrOversized},
		{"length too long", mod(func(b []byte) []byte { b[15]++; return b }), ErrTruncated},
		{"length too short", mod(func(b []byte) []byte { b[15]--; return b }), ErrInconsistent},
		{"op 0", mod(func(b []byte) []byte { b[3] = 0; return b }), ErrUnknownOp},
		{"op 0x03", mod(func(b []byte) []byte { b[3] = 0x03; return b }), ErrUnknownOp},
		{"op 0x1a", mod(func(b []byte) []byte { b[3] = 0x1a; return b }), ErrUnknownOp},
		{"op 0x42", mod(func(b []byte) []byte { b[3] = 0x42; return b }), ErrUnknownOp},
		{"virtual op 0x80", mod(func(b []byte) []byte { b[3] = 0x80; return b }), ErrUnknownOp},
		{"virtual op 0xbf", mod(func(b []byte) []byte { b[3] = 0xbf; return b }), ErrUnknownOp},
		{"op 0xff", mod(func(b []byte) []byte { b[3] = 0xff; return b }), ErrUnknownOp},
		{"flag bit 0 (authenticated, reserved)", mod(func(b []byte) []byte { b[5] = 1; return b }), ErrInconsistent},
		{"flag bit 15", mod(func(b []byte) []byte { b[4] = 0x80; return b }), ErrInconsistent},
		{"reserved", mod(func(b []byte) []byte { b[7] = 1; return b }), ErrInconsistent},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, _, err := Decode(c.b)
			wantErr(t, err, c.want, "Decode")
			// Intact frames with an unacceptable header still say op and
			// id, so the receiver can NACK them.
			if errors.Is(err, ErrUnknownOp) || strings.Contains(c.name, "flag") || c.name == "reserved" {
				if h.ID != 9 {
					t.Fatalf("header not kept for a NACK: %+v", h)
				}
			} else if !reflect.DeepEqual(h, Header{}) {
				t.Fatalf("header not zero after a framing error: %+v", h)
			}
		})
	}
}

func TestPayloadLenAndReadFrame(t *testing.T) {
	var stream []byte
	var err error
	ss := samples()
	for _, s := range ss {
		if stream, err = Append(stream, s.id, s.p); err != nil {
			t.Fatal(err)
		}
	}
	r := bytes.NewReader(stream)
	var buf []byte
	for i, s := range ss {
		frame, err := ReadFrame(r, buf)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		buf = frame
		h, p, err := Decode(frame)
		if err != nil || h.ID != s.id || !reflect.DeepEqual(p, s.p) {
			t.Fatalf("frame %d: %v %+v", i, err, h)
		}
	}
	if _, err := ReadFrame(r, buf); err != io.EOF {
		t.Fatalf("end of stream: %v, want io.EOF", err)
	}
	// A stream cut inside a frame is an unexpected EOF, header or payload.
	one, _ := Encode(1, &Nack{Code: CodeBusy, Reason: "x"})
	for cut := 1; cut < len(one); cut++ {
		if _, err := ReadFrame(bytes.NewReader(one[:cut]), nil); err != io.ErrUnexpectedEOF {
			t.Fatalf("cut %d: %v", cut, err)
		}
	}
	// Framing errors stop the stream.
	bad := slices.Clone(one)
	bad[2] = 9
	if _, err := ReadFrame(bytes.NewReader(bad), nil); !errors.Is(err, ErrBadVersion) {
		t.Fatalf("bad version: %v", err)
	}
	if _, err := PayloadLen(one[:10]); !errors.Is(err, ErrTruncated) {
		t.Fatalf("short: %v", err)
	}
	// PayloadLen checks framing only: an unknown op still frames, so a
	// stream reader can skip it and NACK.
	unk := slices.Clone(one)
	unk[3] = 0x99
	if n, err := PayloadLen(unk); err != nil || n != len(one)-HeaderLen {
		t.Fatalf("unknown op: %d %v", n, err)
	}
}

// A Decoder reused across different packets of the same family must not
// leak fields, slices or strings from one packet into the next.
func TestDecoderReuse(t *testing.T) {
	var d Decoder
	big, _ := Encode(1, sampleTracer(OpTracerPkt, 40, 6, 5))
	small, _ := Encode(2, &Broadcast{Kind: OpQSPNClose, Level: 3, Chunks: []Chunk{{Node: 1, Cost: 2}}})
	for i := 0; i < 3; i++ {
		_, p, err := d.Decode(big)
		if err != nil || len(p.(*Broadcast).Blocks) != 6 {
			t.Fatal(err)
		}
		_, p, err = d.Decode(small)
		if err != nil {
			t.Fatal(err)
		}
		got := p.(*Broadcast)
		if got.Kind != OpQSPNClose || got.Level != 3 || len(got.Chunks) != 1 || len(got.Blocks) != 0 || got.Flags != 0 {
			t.Fatalf("stale state: %+v", got)
		}
	}
	for _, name := range []string{"a", "bb", "bb", "a.b"} {
		b, _ := Encode(3, &Resolve{Hostname: name})
		_, p, err := d.Decode(b)
		if err != nil || p.(*Resolve).Hostname != name {
			t.Fatalf("%q: %v %+v", name, err, p)
		}
	}
	r1, _ := Encode(4, &ReverseReply{Names: []ReverseName{{1, "x"}, {2, "y"}, {3, "z"}}})
	r2, _ := Encode(5, &ReverseReply{Names: []ReverseName{{4, "y"}}})
	for _, b := range [][]byte{r1, r2, r1} {
		_, p, err := d.Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		_, fresh, _ := Decode(b)
		if !reflect.DeepEqual(p.(*ReverseReply).Names, fresh.(*ReverseReply).Names) {
			t.Fatalf("reuse %+v fresh %+v", p, fresh)
		}
	}
}

func TestDecodeDoesNotAlias(t *testing.T) {
	b, _ := Encode(1, &MapBody{Kind: OpPutIntMap, Body: []byte("abc")})
	_, p, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] = 0
	}
	if string(p.(*MapBody).Body) != "abc" {
		t.Fatalf("Decode result aliases its input: %q", p.(*MapBody).Body)
	}
}

func TestZeroAllocDecodeTracer(t *testing.T) {
	b, err := Encode(1, sampleTracer(OpTracerPkt, 64, 8, 4))
	if err != nil {
		t.Fatal(err)
	}
	var d Decoder
	if _, _, err := d.Decode(b); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(20, func() {
		if _, _, err := d.Decode(b); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocs per tracer decode with a reused Decoder, want 0", allocs)
	}
	buf := make([]byte, 0, len(b))
	p := sampleTracer(OpTracerPkt, 64, 8, 4)
	allocs = testing.AllocsPerRun(20, func() {
		if _, err := Append(buf[:0], 1, p); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocs per tracer Append into a big enough buffer, want 0", allocs)
	}
}

func TestSignedBytes(t *testing.T) {
	reg := sampleRegister()
	signed, err := reg.SignedBytes()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Encode(1, &reg)
	payload := b[HeaderLen:]
	if !bytes.Equal(signed, append([]byte(SignContext), payload[:len(payload)-SignatureSize]...)) {
		t.Fatalf("signed bytes %x are not the payload before the signature %x", signed, payload)
	}
	if !bytes.Equal(payload[len(payload)-SignatureSize:], reg.Signature[:]) {
		t.Fatal("signature is not last")
	}
	// Changing any signed field changes the signed bytes; the signature
	// field does not.
	reg2 := reg
	reg2.Signature[0] ^= 1
	s2, _ := reg2.SignedBytes()
	if !bytes.Equal(signed, s2) {
		t.Fatal("signature is inside the signed bytes")
	}
	reg2.Flags = 0
	s3, _ := reg2.SignedBytes()
	if bytes.Equal(signed, s3) {
		t.Fatal("flags are outside the signed bytes")
	}
	out, err := reg.AppendSigned([]byte{1, 2})
	if err != nil || !bytes.Equal(out[2:], signed) || out[0] != 1 {
		t.Fatalf("AppendSigned: %v %x", err, out)
	}
	bad := reg
	bad.Hostname = "Bad"
	if _, err := bad.SignedBytes(); !errors.Is(err, ErrInconsistent) {
		t.Fatalf("SignedBytes of bad hostname: %v", err)
	}
}

func TestValidHostname(t *testing.T) {
	good := []string{"a", "alice", "alice.mesh", "a-b.c-d", "0", "123.456", "x1-2-3", strings.Repeat("a", 63), strings.Repeat(strings.Repeat("a", 63)+".", 3) + strings.Repeat("a", 61)}
	if n := len(good[len(good)-1]); n != 253 {
		t.Fatalf("longest good name is %d bytes", n)
	}
	for _, s := range good {
		if err := ValidHostname(s); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
	bad := []string{"", "A", "Alice", "a_b", "a b", "a..b", ".a", "a.", "-a", "a-", "a.-b", "a-.b", "é", "a\x00", strings.Repeat("a", 64), strings.Repeat("a.", 127), strings.Repeat(strings.Repeat("a", 63)+".", 3) + strings.Repeat("a", 62)}
	for _, s := range bad {
		if err := ValidHostname(s); !errors.Is(err, ErrInconsistent) {
			t.Errorf("%q: %v, want ErrInconsistent", s, err)
		}
	}
}

func TestFreeNodesBitmap(t *testing.T) {
	var p PutFreeNodes
	p.SetFree(0, true)
	p.SetFree(9, true)
	p.SetFree(255, true)
	if p.Free[0] != 0x80 || p.Free[1] != 0x40 || p.Free[31] != 0x01 {
		t.Fatalf("bit order: %x", p.Free)
	}
	if !p.IsFree(9) || p.IsFree(10) {
		t.Fatal("IsFree")
	}
	p.SetFree(9, false)
	if p.IsFree(9) {
		t.Fatal("SetFree false")
	}
}

func TestStrings(t *testing.T) {
	if OpQSPNOpen.String() != "QSPN_OPEN" || Op(0x99).String() != "Op(0x99)" {
		t.Fatal(OpQSPNOpen.String(), Op(0x99).String())
	}
	if CodeLimitExceeded.String() != "LIMIT_EXCEEDED" || Code(999).String() != "Code(999)" {
		t.Fatal("Code.String")
	}
	for _, op := range Ops() {
		if strings.HasPrefix(op.String(), "Op(") {
			t.Errorf("op 0x%02x has no name", uint8(op))
		}
		if NewPayload(op) == nil || NewPayload(op).Op() != op {
			t.Errorf("NewPayload(%v)", op)
		}
	}
	if NewPayload(0x80) != nil {
		t.Fatal("reserved op has a payload")
	}
	_, _, err := Decode([]byte("NK\x02"))
	if err == nil || !strings.Contains(err.Error(), "header") {
		t.Fatalf("error text %v", err)
	}
}

func TestAddressForms(t *testing.T) {
	for _, a := range []netip.Addr{{}, v4a, v6a, netip.MustParseAddr("::ffff:10.0.0.1"), netip.MustParseAddr("fe80::1")} {
		b, err := Encode(1, &Echo{Kind: OpEchoMe, Addr: a})
		if err != nil {
			t.Fatalf("%v: %v", a, err)
		}
		_, p, err := Decode(b)
		if err != nil || p.(*Echo).Addr != a {
			t.Fatalf("%v: %v %v", a, err, p)
		}
	}
}

// A hand-written hello pins the layout of the hello part independently of
// the encoder: it follows the address, and only hellos carry it.
func TestHelloLayout(t *testing.T) {
	payload := []byte{
		0x00, 0x2a, 0x07, 0x06, // hello 42, flags HELLO|REPLY_WANTED
		0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, // nonce 5, lowest 0
		4, 10, 0, 0, 1, // address 10.0.0.1
		0x01, 0xf4, // interval 500 × 10 ms
		2,                          // two IHU entries
		0x00, 0x00, 0x00, 0x09, 16, // nonce 9: 16 of 16
		0x00, 0x00, 0x01, 0x00, 3, // nonce 256: 3 of 16
	}
	want := &Echo{Kind: OpEchoMe, Burst: 0x2a, Seq: 7, Flags: EchoHello | EchoReplyWanted, Nonce: 5,
		Addr: netip.MustParseAddr("10.0.0.1"), Interval: 500, IHU: []IHU{{Nonce: 9, Heard: 16}, {Nonce: 256, Heard: 3}}}
	checkLayout(t, OpEchoMe, payload, want)
	// The same hello part on a reply, or on an ECHO_ME without HELLO, is
	// trailing garbage.
	for _, c := range []struct {
		op    Op
		flags byte
	}{{OpEchoReply, 0x02}, {OpEchoMe, 0x00}} {
		q := bytes.Clone(payload)
		q[3] = c.flags
		if _, _, err := Decode(frame(c.op, q)); !errors.Is(err, ErrInconsistent) {
			t.Fatalf("%v flags %#x with a hello part: %v", c.op, c.flags, err)
		}
	}
}

// checkLayout checks that payload, framed as op, decodes to want and that
// want encodes to the same bytes.
func checkLayout(t *testing.T, op Op, payload []byte, want Payload) {
	t.Helper()
	b := frame(op, payload)
	_, p, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(p, want) {
		t.Fatalf("decoded %#v", p)
	}
	enc, err := Encode(77, want)
	if err != nil || !bytes.Equal(enc, b) {
		t.Fatalf("encoded %x (%v), want %x", enc, err, b)
	}
}
