// Package pcapdump dissects captures of ntkd traffic: pcap or pcapng files
// (from tcpdump or Wireshark) and live captures read through a
// gopacket.PacketDataSource. Datagrams on the radar port are ntk packets
// one by one; the streams on the stream port are reassembled per TCP flow
// and cut into frames by their headers.
//
// It links gopacket/layers and pcapgo, so only developer builds carry it
// (`ntkd dump`); router builds leave it out.
package pcapdump

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/ntkd/ntkd/internal/wire"
	"github.com/ntkd/ntkd/internal/wire/wirelayers"
)

// Options say what to dissect and how to print it.
type Options struct {
	DatagramPort uint16 // UDP port of radar probes and small requests; default 269
	StreamPort   uint16 // TCP port of the per-neighbour streams; default 269
	// Count stops after this many ntk packets; 0 reads to the end.
	Count int
	// Hex adds a hex dump of each ntk packet.
	Hex bool
}

func (o *Options) defaults() {
	if o.DatagramPort == 0 {
		o.DatagramPort = 269
	}
	if o.StreamPort == 0 {
		o.StreamPort = 269
	}
}

// Stats count what a dissection saw.
type Stats struct {
	Frames    int            // link-layer frames read
	Other     int            // frames that carry no ntk traffic
	Packets   int            // ntk packets dissected
	ByOp      map[string]int // ntk packets by op
	Malformed map[string]int // ntk packets that did not decode, by reason
	Resyncs   int            // stream bytes skipped to find the next header
}

func newStats() Stats {
	return Stats{ByOp: map[string]int{}, Malformed: map[string]int{}}
}

// Summary is Stats for people, one line per figure.
func (s Stats) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d frames, %d ntk packets, %d other frames", s.Frames, s.Packets, s.Other)
	if s.Resyncs > 0 {
		fmt.Fprintf(&b, ", %d stream resyncs", s.Resyncs)
	}
	b.WriteByte('\n')
	for _, k := range sortedKeys(s.ByOp) {
		fmt.Fprintf(&b, "  %-20s %d\n", k, s.ByOp[k])
	}
	for _, k := range sortedKeys(s.Malformed) {
		fmt.Fprintf(&b, "  malformed: %-9s %d\n", k, s.Malformed[k])
	}
	return b.String()
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// OpenCapture reads the header of a pcap or pcapng stream (told apart by
// their magic numbers) and returns its packets and link type.
func OpenCapture(r io.Reader) (gopacket.PacketDataSource, layers.LinkType, error) {
	br := bufio.NewReader(r)
	magic, err := br.Peek(4)
	if err != nil {
		return nil, 0, fmt.Errorf("pcapdump: read capture header: %w", err)
	}
	if bytes.Equal(magic, []byte{0x0a, 0x0d, 0x0d, 0x0a}) {
		ng, err := pcapgo.NewNgReader(br, pcapgo.DefaultNgReaderOptions)
		if err != nil {
			return nil, 0, fmt.Errorf("pcapdump: pcapng: %w", err)
		}
		return ng, ng.LinkType(), nil
	}
	pr, err := pcapgo.NewReader(br)
	if err != nil {
		return nil, 0, fmt.Errorf("pcapdump: pcap: %w", err)
	}
	return pr, pr.LinkType(), nil
}

// Dissect reads every frame of src (of link type lt), prints one line per
// ntk packet to w and returns what it saw. A frame or packet that does not
// decode is printed and counted, never fatal; only a read error that is
// not the end of the capture is returned.
func Dissect(src gopacket.PacketDataSource, lt layers.LinkType, w io.Writer, o Options) (Stats, error) {
	o.defaults()
	d := &dissector{o: o, w: w, st: newStats(), flows: map[flowKey]*flow{}}
	var first gopacket.Decoder = lt
	if lt == layers.LinkTypeRaw || lt == 228 /* LINKTYPE_IPV4 */ || lt == 229 /* LINKTYPE_IPV6 */ {
		first = decodeRawIP
	}
	for o.Count == 0 || d.st.Packets < o.Count {
		data, ci, err := src.ReadPacketData()
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				break
			}
			return d.st, fmt.Errorf("pcapdump: frame %d: %w", d.st.Frames+1, err)
		}
		d.st.Frames++
		d.frame(gopacket.NewPacket(data, first, gopacket.DecodeOptions{NoCopy: true, Lazy: true}), ci.Timestamp)
	}
	return d.st, nil
}

// decodeRawIP decodes a frame without link header by its IP version.
var decodeRawIP = gopacket.DecodeFunc(func(data []byte, p gopacket.PacketBuilder) error {
	if len(data) > 0 && data[0]>>4 == 6 {
		return p.NextDecoder(layers.LayerTypeIPv6)
	}
	return p.NextDecoder(layers.LayerTypeIPv4)
})

type dissector struct {
	o     Options
	w     io.Writer
	st    Stats
	t0    time.Time
	flows map[flowKey]*flow
}

// maxFlows bounds the streams followed at once; a capture with more drops
// the oldest-looking (any) to stay bounded.
const maxFlows = 4096

func (d *dissector) frame(p gopacket.Packet, ts time.Time) {
	if d.t0.IsZero() {
		d.t0 = ts
	}
	var src, dst netip.Addr
	switch ip := p.NetworkLayer().(type) {
	case *layers.IPv4:
		src, _ = netip.AddrFromSlice(ip.SrcIP.To4())
		dst, _ = netip.AddrFromSlice(ip.DstIP.To4())
	case *layers.IPv6:
		src, _ = netip.AddrFromSlice(ip.SrcIP)
		dst, _ = netip.AddrFromSlice(ip.DstIP)
	default:
		d.st.Other++
		return
	}
	rel := ts.Sub(d.t0).Seconds()
	switch l := p.TransportLayer().(type) {
	case *layers.UDP:
		if uint16(l.DstPort) != d.o.DatagramPort && uint16(l.SrcPort) != d.o.DatagramPort {
			d.st.Other++
			return
		}
		from := netip.AddrPortFrom(src, uint16(l.SrcPort))
		to := netip.AddrPortFrom(dst, uint16(l.DstPort))
		d.packet(rel, "udp", from, to, l.Payload)
	case *layers.TCP:
		if uint16(l.DstPort) != d.o.StreamPort && uint16(l.SrcPort) != d.o.StreamPort {
			d.st.Other++
			return
		}
		k := flowKey{netip.AddrPortFrom(src, uint16(l.SrcPort)), netip.AddrPortFrom(dst, uint16(l.DstPort))}
		d.segment(rel, k, l)
	default:
		d.st.Other++
	}
}

// packet prints one ntk packet.
func (d *dissector) packet(rel float64, proto string, from, to netip.AddrPort, b []byte) {
	if d.o.Count > 0 && d.st.Packets >= d.o.Count {
		return
	}
	d.st.Packets++
	fmt.Fprintf(d.w, "%10.6f %s %s > %s ", rel, proto, from, to)
	h, pl, err := wire.Decode(b)
	if err != nil {
		d.st.Malformed[reason(err)]++
		if h.Op != 0 {
			fmt.Fprintf(d.w, "%v id=%d len=%d MALFORMED: %v\n", h.Op, h.ID, h.Length, err)
		} else {
			fmt.Fprintf(d.w, "MALFORMED (%d bytes): %v\n", len(b), err)
		}
		d.hex(b)
		return
	}
	d.st.ByOp[h.Op.String()]++
	fmt.Fprintf(d.w, "%v id=%d len=%d %s\n", h.Op, h.ID, h.Length, fields(pl))
	// A routed packet carries another one: show what it is.
	for depth := 0; depth < 4; depth++ {
		r, ok := pl.(*wire.Routed)
		if !ok {
			break
		}
		var ih wire.Header
		if ih, pl, err = wire.Decode(r.Inner); err != nil {
			fmt.Fprintf(d.w, "    inner MALFORMED: %v\n", err)
			break
		}
		fmt.Fprintf(d.w, "    inner %v id=%d len=%d %s\n", ih.Op, ih.ID, ih.Length, fields(pl))
	}
	d.hex(b)
}

// fields prints a payload's fields as gopacket does, without the layer
// name (it repeats the op).
func fields(pl wire.Payload) string {
	s := gopacket.LayerString(&wirelayers.Payload{Payload: pl})
	if i := strings.IndexByte(s, '\t'); i >= 0 {
		s = s[i+1:]
	}
	return s
}

func (d *dissector) hex(b []byte) {
	if !d.o.Hex {
		return
	}
	for line := range strings.Lines(hex.Dump(b)) {
		fmt.Fprintf(d.w, "    %s", line)
	}
}

// reason names the sentinel a wire error wraps.
func reason(err error) string {
	for _, s := range []struct {
		err  error
		name string
	}{
		{wire.ErrTruncated, "truncated"}, {wire.ErrOversized, "oversized"},
		{wire.ErrBadMagic, "magic"}, {wire.ErrBadVersion, "version"},
		{wire.ErrUnknownOp, "op"}, {wire.ErrInconsistent, "inconsistent"},
	} {
		if errors.Is(err, s.err) {
			return s.name
		}
	}
	return "other"
}
