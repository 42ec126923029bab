package wire

import "testing"

// A tracer packet of a busy gnode: 32 hops and 4 border nodes with 3 links.
func benchTracer() *Broadcast { return sampleTracer(OpTracerPkt, 32, 4, 3) }

func BenchmarkDecodeTracer(b *testing.B) {
	pkt, err := Encode(1, benchTracer())
	if err != nil {
		b.Fatal(err)
	}
	var d Decoder
	if _, _, err := d.Decode(pkt); err != nil { // grow the reused slices once
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(pkt)))
	for b.Loop() {
		if _, _, err := d.Decode(pkt); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeTracerFresh(b *testing.B) {
	pkt, err := Encode(1, benchTracer())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(pkt)))
	for b.Loop() {
		if _, _, err := Decode(pkt); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeTracer(b *testing.B) {
	p := benchTracer()
	buf := make([]byte, 0, 512)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = Append(buf[:0], 1, p); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(buf)))
}
