package wirelayers

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/ntkd/ntkd/internal/wire"
)

// golden returns wire's golden vector of op: one whole packet.
func golden(tb testing.TB, op wire.Op) []byte {
	tb.Helper()
	name := "../testdata/" + strings.ToLower(op.String()) + ".hex"
	text, err := os.ReadFile(name)
	if err != nil {
		tb.Fatal(err)
	}
	var sb strings.Builder
	for line := range strings.Lines(string(text)) {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			sb.WriteString(strings.Join(strings.Fields(line), ""))
		}
	}
	b, err := hex.DecodeString(sb.String())
	if err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	return b
}

// sample is one golden packet, decoded by wire.
type sample struct {
	b []byte
	h wire.Header
	p wire.Payload
}

func samples(t *testing.T) []sample {
	t.Helper()
	var ss []sample
	for _, op := range wire.Ops() {
		b := golden(t, op)
		h, p, err := wire.Decode(b)
		if err != nil || h.Op != op {
			t.Fatalf("%v golden: %v %+v", op, err, h)
		}
		ss = append(ss, sample{b, h, p})
	}
	return ss
}

func TestSerializeLayers(t *testing.T) {
	for _, s := range samples(t) {
		op := s.h.Op
		buf := gopacket.NewSerializeBuffer()
		hdr := &Header{Header: wire.Header{Op: op, ID: s.h.ID}}
		pl := &Payload{Payload: s.p}
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true}, hdr, pl); err != nil {
			t.Fatalf("%v: %v", op, err)
		}
		if !bytes.Equal(buf.Bytes(), s.b) {
			t.Fatalf("%v: SerializeLayers\n%x\ngolden\n%x", op, buf.Bytes(), s.b)
		}
		if hdr.Length != s.h.Length {
			t.Fatalf("%v: FixLengths set Length %d, want %d", op, hdr.Length, s.h.Length)
		}
		// The header layer knows its payload layer.
		if hdr.NextLayerType() != pl.LayerType() || !pl.CanDecode().Contains(pl.LayerType()) {
			t.Fatalf("%v: layer types: next %v, payload %v", op, hdr.NextLayerType(), pl.LayerType())
		}
	}
	// Without FixLengths the length is written as it is.
	buf := gopacket.NewSerializeBuffer()
	hdr := &Header{Header: wire.Header{Op: wire.OpNack, ID: 1, Length: 99}}
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{}, hdr, &Payload{Payload: &wire.Nack{Code: wire.CodeBusy}}); err != nil {
		t.Fatal(err)
	}
	if b := buf.Bytes(); len(b) != wire.HeaderLen+3 || b[15] != 99 {
		t.Fatalf("crafted frame %x", b)
	}
}

func TestSerializeRejects(t *testing.T) {
	serialize := func(h *Header, p wire.Payload) error {
		buf := gopacket.NewSerializeBuffer()
		return gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true}, h, &Payload{Payload: p})
	}
	// The header layer refuses what the decoder would refuse.
	for _, h := range []wire.Header{{Op: 0}, {Op: 0x80}, {Op: wire.OpAck, Flags: 1}} {
		if err := serialize(&Header{Header: h}, &wire.Empty{Kind: wire.OpAck}); err == nil {
			t.Fatalf("header %+v serialized", h)
		}
	}
	// Header op and payload op must agree.
	err := serialize(&Header{Header: wire.Header{Op: wire.OpGetIntMap}}, &wire.Nack{Code: 1})
	if !errors.Is(err, wire.ErrInconsistent) {
		t.Fatalf("mismatched header and payload ops: %v", err)
	}
	// The payload layer refuses what wire.Encode refuses.
	if err := serialize(&Header{Header: wire.Header{Op: wire.OpNack}}, &wire.Nack{}); !errors.Is(err, wire.ErrInconsistent) {
		t.Fatalf("NACK with code 0: %v", err)
	}
	big := &wire.MapBody{Kind: wire.OpPutIntMap, Body: make([]byte, wire.MaxPayload+1)}
	if err := serialize(&Header{Header: wire.Header{Op: wire.OpPutIntMap}}, big); !errors.Is(err, wire.ErrOversized) {
		t.Fatalf("body over MaxPayload: %v", err)
	}
}

func TestDecodingLayerParser(t *testing.T) {
	ls := DecodingLayers()
	hdr := ls[0].(*Header)
	parser := gopacket.NewDecodingLayerParser(LayerTypeHeader, ls...)
	decoded := make([]gopacket.LayerType, 0, 2)
	for _, s := range samples(t) {
		op := s.h.Op
		if err := parser.DecodeLayers(s.b, &decoded); err != nil {
			t.Fatalf("%v: %v", op, err)
		}
		if hdr.ID != s.h.ID || hdr.Op != op || !bytes.Equal(hdr.LayerContents(), s.b[:wire.HeaderLen]) {
			t.Fatalf("%v: header %+v", op, hdr)
		}
		if len(s.b) == wire.HeaderLen {
			// gopacket stops at an empty payload.
			if !slices.Equal(decoded, []gopacket.LayerType{LayerTypeHeader}) {
				t.Fatalf("%v: decoded %v", op, decoded)
			}
			continue
		}
		if !slices.Equal(decoded, []gopacket.LayerType{LayerTypeHeader, LayerTypeOf(op)}) {
			t.Fatalf("%v: decoded %v", op, decoded)
		}
		var got *Payload
		for _, l := range ls[1:] {
			if l.CanDecode().Contains(LayerTypeOf(op)) {
				got = l.(*Payload)
			}
		}
		if !bytes.Equal(got.LayerContents(), s.b[wire.HeaderLen:]) {
			t.Fatalf("%v: contents", op)
		}
		if !reflect.DeepEqual(got.Payload, s.p) {
			t.Fatalf("%v: parser decoded %#v", op, got.Payload)
		}
	}
	// Errors come back from the parser too.
	b, _ := wire.Encode(1, &wire.Empty{Kind: wire.OpAck})
	b[0] = 'X'
	if err := parser.DecodeLayers(b, &decoded); !errors.Is(err, wire.ErrBadMagic) {
		t.Fatalf("bad magic through parser: %v", err)
	}
}

func TestNewPacket(t *testing.T) {
	for _, s := range samples(t) {
		op := s.h.Op
		pkt := gopacket.NewPacket(s.b, LayerTypeHeader, gopacket.Default)
		if el := pkt.ErrorLayer(); el != nil {
			t.Fatalf("%v: %v", op, el.Error())
		}
		h, ok := pkt.Layer(LayerTypeHeader).(*Header)
		if !ok || h.Header != s.h {
			t.Fatalf("%v: no header layer: %v", op, pkt)
		}
		if len(s.b) == wire.HeaderLen {
			continue
		}
		p, ok := pkt.Layer(LayerTypeOf(op)).(*Payload)
		if !ok {
			t.Fatalf("%v: no payload layer: %v", op, pkt)
		}
		if !reflect.DeepEqual(p.Payload, s.p) {
			t.Fatalf("%v: %#v", op, p.Payload)
		}
	}
	b, _ := wire.Encode(1, &wire.Nack{Code: wire.CodeBusy})
	b[3] = 0x90
	if pkt := gopacket.NewPacket(b, LayerTypeHeader, gopacket.Default); pkt.ErrorLayer() == nil {
		t.Fatal("reserved op decoded without error layer")
	}
	// A cut datagram is reported truncated.
	b, _ = wire.Encode(1, &wire.Nack{Code: wire.CodeBusy})
	pkt := gopacket.NewPacket(b[:len(b)-1], LayerTypeHeader, gopacket.Default)
	if pkt.ErrorLayer() == nil || !pkt.Metadata().Truncated {
		t.Fatalf("cut datagram: error layer %v, truncated %v", pkt.ErrorLayer(), pkt.Metadata().Truncated)
	}
}

type feedback struct{ truncated bool }

func (f *feedback) SetTruncated() { f.truncated = true }

// Only truncation is reported as truncation.
func TestDecodeFeedback(t *testing.T) {
	var df feedback
	p := NewPayload(wire.OpNack)
	if err := p.DecodeFromBytes([]byte{0, 1, 5, 'a'}, &df); !errors.Is(err, wire.ErrTruncated) || !df.truncated {
		t.Fatalf("cut reason: %v, truncated %v", err, df.truncated)
	}
	df = feedback{}
	if err := p.DecodeFromBytes([]byte{0, 0, 0}, &df); !errors.Is(err, wire.ErrInconsistent) || df.truncated {
		t.Fatalf("code 0: %v, truncated %v", err, df.truncated)
	}
	if err := p.DecodeFromBytes([]byte{0, 1, 5, 'a'}, nil); !errors.Is(err, wire.ErrTruncated) {
		t.Fatalf("nil feedback: %v", err)
	}
}

func TestLayerTypes(t *testing.T) {
	if LayerTypeHeader.String() != "NTKHeader" {
		t.Fatalf("header layer type %q", LayerTypeHeader)
	}
	seen := map[gopacket.LayerType]bool{LayerTypeHeader: true}
	for _, op := range wire.Ops() {
		lt := LayerTypeOf(op)
		if lt == gopacket.LayerTypeZero || seen[lt] || lt.String() != "NTK_"+op.String() {
			t.Errorf("op %v: layer type %d %q", op, lt, lt)
		}
		seen[lt] = true
		if back, ok := opOfLayerType(lt); !ok || back != op {
			t.Errorf("op %v: back %v %v", op, back, ok)
		}
		if p := NewPayload(op); p == nil || p.Op() != op || p.LayerType() != lt {
			t.Errorf("NewPayload(%v) = %v", op, p)
		}
	}
	if LayerTypeOf(0x80) != gopacket.LayerTypeZero || NewPayload(0x80) != nil {
		t.Fatal("reserved op has a layer")
	}
	if _, ok := opOfLayerType(LayerTypeHeader); ok {
		t.Fatal("the header layer type maps to an op")
	}
}

// LayerString, which `ntkd dump` prints, shows the wire value's fields as
// if it were the layer itself.
func TestLayerString(t *testing.T) {
	b, err := wire.Encode(7, &wire.Echo{Kind: wire.OpEchoMe, Burst: 1, Seq: 3, Nonce: 0xabcdef})
	if err != nil {
		t.Fatal(err)
	}
	pkt := gopacket.NewPacket(b, LayerTypeHeader, gopacket.Default)
	want := []string{
		"NTKHeader\t{Op=ECHO_ME Flags=0 ID=7 Length=13}",
		"NTK_ECHO_ME\t{Kind=ECHO_ME Burst=1 Seq=3 Flags=0 Nonce=11259375 Lowest=0 Addr=invalid IP Interval=0 IHU=[]}",
	}
	ls := pkt.Layers()
	if len(ls) != len(want) {
		t.Fatalf("layers %v", ls)
	}
	for i, l := range ls {
		if got := gopacket.LayerString(l); got != want[i] {
			t.Errorf("LayerString\n got %q\nwant %q", got, want[i])
		}
	}
}

// FuzzLayers: gopacket decodes any bytes through these layers without a
// panic, and agrees with wire.Decode. (gopacket never decodes an empty
// payload, so it may accept a packet whose op requires payload bytes.)
func FuzzLayers(f *testing.F) {
	for _, op := range wire.Ops() {
		f.Add(golden(f, op))
	}
	parser := gopacket.NewDecodingLayerParser(LayerTypeHeader, DecodingLayers()...)
	parser.IgnoreUnsupported = true
	decoded := make([]gopacket.LayerType, 0, 2)
	f.Fuzz(func(t *testing.T, data []byte) {
		h, p, err := wire.Decode(data)
		pkt := gopacket.NewPacket(data, LayerTypeHeader, gopacket.Default)
		perr := parser.DecodeLayers(data, &decoded)
		if err != nil {
			if len(data) > wire.HeaderLen && (pkt.ErrorLayer() == nil || perr == nil) {
				t.Fatalf("wire: %v, gopacket accepts it", err)
			}
			return
		}
		if el := pkt.ErrorLayer(); el != nil || perr != nil {
			t.Fatalf("wire accepts, gopacket: %v, parser: %v", el, perr)
		}
		if ph, ok := pkt.Layer(LayerTypeHeader).(*Header); !ok || ph.Header != h {
			t.Fatalf("header layer %v, want %+v", pkt.Layer(LayerTypeHeader), h)
		}
		if len(data) > wire.HeaderLen {
			pp, ok := pkt.Layer(LayerTypeOf(h.Op)).(*Payload)
			if !ok || !reflect.DeepEqual(pp.Payload, p) {
				t.Fatalf("payload layer %v, want %#v", pkt.Layer(LayerTypeOf(h.Op)), p)
			}
		}
	})
}
