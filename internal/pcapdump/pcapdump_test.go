package pcapdump

import (
	"bytes"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/ntkd/ntkd/internal/wire"
)

var (
	macA = net.HardwareAddr{2, 0, 0, 0, 0, 1}
	macB = net.HardwareAddr{2, 0, 0, 0, 0, 2}
	ipA  = net.ParseIP("fe80::1")
	ipB  = net.ParseIP("fe80::2")
)

// capture builds a pcap file from frames.
type capture struct {
	t   testing.TB
	buf bytes.Buffer
	w   *pcapgo.Writer
	ts  time.Time
}

func newCapture(t testing.TB) *capture {
	c := &capture{t: t, ts: time.Unix(1700000000, 0)}
	c.w = pcapgo.NewWriter(&c.buf)
	if err := c.w.WriteFileHeader(65536, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	return c
}

func (c *capture) frame(transport gopacket.SerializableLayer, payload []byte) {
	c.t.Helper()
	eth := &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: layers.EthernetTypeIPv6}
	ip := &layers.IPv6{Version: 6, HopLimit: 64, SrcIP: ipA, DstIP: ipB}
	switch l := transport.(type) {
	case *layers.UDP:
		ip.NextHeader = layers.IPProtocolUDP
		l.SetNetworkLayerForChecksum(ip)
	case *layers.TCP:
		ip.NextHeader = layers.IPProtocolTCP
		l.SetNetworkLayerForChecksum(ip)
	}
	sb := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(sb, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
		eth, ip, transport, gopacket.Payload(payload)); err != nil {
		c.t.Fatal(err)
	}
	c.ts = c.ts.Add(time.Millisecond)
	b := sb.Bytes()
	if err := c.w.WritePacket(gopacket.CaptureInfo{Timestamp: c.ts, CaptureLength: len(b), Length: len(b)}, b); err != nil {
		c.t.Fatal(err)
	}
}

func (c *capture) udp(port uint16, payload []byte) {
	c.frame(&layers.UDP{SrcPort: layers.UDPPort(port), DstPort: layers.UDPPort(port)}, payload)
}

func (c *capture) tcp(seq uint32, syn bool, payload []byte) {
	c.frame(&layers.TCP{SrcPort: 40000, DstPort: 269, Seq: seq, SYN: syn, ACK: !syn, Window: 1000}, payload)
}

func encode(t *testing.T, id uint32, p wire.Payload) []byte {
	t.Helper()
	b, err := wire.Encode(id, p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func dissect(t *testing.T, c *capture, o Options) (Stats, string) {
	t.Helper()
	src, lt, err := OpenCapture(bytes.NewReader(c.buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	st, err := Dissect(src, lt, &out, o)
	if err != nil {
		t.Fatal(err)
	}
	return st, out.String()
}

func TestDissect(t *testing.T) {
	c := newCapture(t)
	echo := encode(t, 7, &wire.Echo{Kind: wire.OpEchoMe, Burst: 1, Seq: 3, Nonce: 0xabcdef})
	c.udp(269, echo)
	c.udp(53, []byte("not ours"))
	c.udp(269, []byte("XX garbage that is no ntk packet"))

	// A stream: two frames, the second split over two segments that
	// arrive out of order, then a retransmission, then garbage and a frame
	// found again after it.
	f1 := encode(t, 10, &wire.Empty{Kind: wire.OpGetIntMap})
	f2 := encode(t, 11, &wire.Nack{Code: wire.CodeBusy})
	f3 := encode(t, 12, &wire.Empty{Kind: wire.OpGetExtMap})
	const isn = 1000
	c.tcp(isn, true, nil)
	first := append(append([]byte(nil), f1...), f2[:5]...)
	c.tcp(isn+1+uint32(len(first)), false, f2[5:]) // early
	c.tcp(isn+1, false, first)
	c.tcp(isn+1, false, first) // retransmitted
	next := isn + 1 + uint32(len(f1)+len(f2))
	junk := []byte("NKjunk-bytes-here")
	c.tcp(next, false, append(append([]byte(nil), junk...), f3...))

	st, out := dissect(t, c, Options{Hex: true})
	t.Log("\n" + out + st.Summary())
	// The SYN carries no packet but is on the stream port: only the DNS
	// frame is "other".
	if st.Frames != 8 || st.Other != 1 {
		t.Errorf("frames %d, other %d, want 8 and 1 (the DNS frame)", st.Frames, st.Other)
	}
	want := map[string]int{"ECHO_ME": 1, "GET_INT_MAP": 1, "NACK": 1, "GET_EXT_MAP": 1}
	for op, n := range want {
		if st.ByOp[op] != n {
			t.Errorf("%s: %d packets, want %d (all: %v)", op, st.ByOp[op], n, st.ByOp)
		}
	}
	if st.Malformed["magic"] != 1 || st.Malformed["version"] != 1 {
		t.Errorf("malformed %v, want the bad magic of the UDP garbage and the bad version of the junk", st.Malformed)
	}
	if st.Resyncs != 1 {
		t.Errorf("resyncs %d, want 1", st.Resyncs)
	}
	for _, s := range []string{"udp [fe80::1]:269 > [fe80::2]:269 ECHO_ME id=7", "Nonce=11259375", "tcp [fe80::1]:40000 > [fe80::2]:269 NACK id=11", "MALFORMED"} {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %q", s)
		}
	}
}

func TestDissectCount(t *testing.T) {
	c := newCapture(t)
	for i := range 5 {
		c.udp(269, encode(t, uint32(i), &wire.Echo{Kind: wire.OpEchoReply, Burst: 1}))
	}
	st, _ := dissect(t, c, Options{Count: 2})
	if st.Packets != 2 || st.Frames != 2 {
		t.Fatalf("stats %+v, want 2 packets from 2 frames", st)
	}
}

// A stream picked up in the middle finds the first header.
func TestDissectMidStream(t *testing.T) {
	c := newCapture(t)
	f := encode(t, 5, &wire.Empty{Kind: wire.OpGetQSPNRound})
	c.tcp(5000, false, append([]byte{1, 2, 3}, f...))
	st, _ := dissect(t, c, Options{})
	if st.ByOp["GET_QSPN_ROUND"] != 1 || st.Resyncs != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestOpenCaptureRejects(t *testing.T) {
	for _, b := range [][]byte{nil, []byte("short"), []byte("this is no capture file at all")} {
		if _, _, err := OpenCapture(bytes.NewReader(b)); err == nil {
			t.Errorf("%q: no error", b)
		}
	}
}

// FuzzDissect: any capture file is read without a panic, and the stats
// add up.
func FuzzDissect(f *testing.F) {
	c := newCapture(f)
	c.udp(269, []byte{'N', 'K', 1, 1})
	f.Add(c.buf.Bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		src, lt, err := OpenCapture(bytes.NewReader(b))
		if err != nil {
			return
		}
		st, _ := Dissect(src, lt, &strings.Builder{}, Options{})
		// Every packet printed consumed at least one byte of the file.
		if st.Packets > len(b) || st.Other > st.Frames {
			t.Fatalf("stats %+v from %d bytes", st, len(b))
		}
	})
}
