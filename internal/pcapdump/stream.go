package pcapdump

import (
	"bytes"
	"net/netip"

	"github.com/gopacket/gopacket/layers"
	"github.com/ntkd/ntkd/internal/wire"
)

// flowKey is one direction of a TCP connection.
type flowKey struct{ from, to netip.AddrPort }

// flow reassembles one direction of a stream.
type flow struct {
	next    uint32            // next expected sequence number
	synced  bool              // next is known
	lost    bool              // bytes are missing before buf: look for a header
	buf     []byte            // in-order bytes not yet cut into frames
	pending map[uint32][]byte // segments that arrived ahead of next
}

// Bounds on what one flow holds, so a hostile capture cannot grow memory:
// a frame is at most HeaderLen+MaxPayload bytes, and out-of-order segments
// beyond these limits count as lost.
const (
	maxPending = 64
	maxAhead   = 1 << 20
)

var magic = []byte("NK")

func (d *dissector) segment(rel float64, k flowKey, tcp *layers.TCP) {
	if tcp.RST {
		delete(d.flows, k)
		return
	}
	f := d.flows[k]
	if f == nil {
		if len(d.flows) >= maxFlows {
			clear(d.flows)
		}
		f = &flow{pending: map[uint32][]byte{}}
		d.flows[k] = f
	}
	if tcp.SYN {
		*f = flow{next: tcp.Seq + 1, synced: true, pending: map[uint32][]byte{}}
		return
	}
	if p := tcp.Payload; len(p) > 0 {
		if !f.synced {
			// The capture started inside the stream: frame boundaries are
			// unknown until a header turns up.
			f.next, f.synced, f.lost = tcp.Seq, true, true
		}
		d.add(f, tcp.Seq, p)
		d.cut(rel, k, f)
	}
	if tcp.FIN {
		delete(d.flows, k)
	}
}

// add puts the bytes at seq in order, keeping segments that came early.
func (d *dissector) add(f *flow, seq uint32, p []byte) {
	switch ahead := int32(seq - f.next); {
	case ahead > 0 && ahead < maxAhead && len(f.pending) < maxPending:
		f.pending[seq] = bytes.Clone(p)
		return
	case ahead > 0:
		// Too far ahead or too many gaps: give the missing bytes up.
		f.buf, f.lost, f.next = f.buf[:0], true, seq
		clear(f.pending)
	case ahead < 0:
		behind := -int64(ahead)
		if behind >= int64(len(p)) {
			return // a retransmission of what we have
		}
		p = p[behind:]
	}
	f.buf = append(f.buf, p...)
	f.next += uint32(len(p))
	for again := true; again; {
		again = false
		for s, q := range f.pending {
			behind := int32(f.next - s)
			if behind < 0 {
				continue
			}
			delete(f.pending, s)
			if int(behind) < len(q) {
				f.buf = append(f.buf, q[behind:]...)
				f.next += uint32(len(q) - int(behind))
			}
			again = true
		}
	}
}

// cut prints every whole frame at the start of f.buf.
func (d *dissector) cut(rel float64, k flowKey, f *flow) {
	off := 0
	defer func() { f.buf = append(f.buf[:0], f.buf[off:]...) }()
	for {
		rest := f.buf[off:]
		if f.lost {
			i := bytes.Index(rest, magic)
			if i < 0 {
				// Keep a last 'N': it may start the magic.
				off += max(len(rest)-1, 0)
				return
			}
			if len(rest)-i < wire.HeaderLen {
				off += i
				return
			}
			if _, err := wire.PayloadLen(rest[i : i+wire.HeaderLen]); err != nil {
				off += i + 1
				continue
			}
			if i > 0 {
				d.st.Resyncs++
			}
			off += i
			f.lost = false
			continue
		}
		if len(rest) < wire.HeaderLen {
			return
		}
		n, err := wire.PayloadLen(rest[:wire.HeaderLen])
		if err != nil {
			// Not a header where one must be: print it and look for the
			// next one.
			d.packet(rel, "tcp", k.from, k.to, rest[:wire.HeaderLen])
			f.lost = true
			off++
			continue
		}
		if len(rest) < wire.HeaderLen+n {
			return
		}
		d.packet(rel, "tcp", k.from, k.to, rest[:wire.HeaderLen+n])
		off += wire.HeaderLen + n
	}
}
