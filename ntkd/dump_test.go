//go:build !router

package main

import (
	"bytes"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/ntkd/ntkd/internal/wire"
)

// writeCapture writes a pcap file of UDP datagrams on port 269, one per
// payload, and returns its path.
func writeCapture(t *testing.T, payloads ...[]byte) string {
	t.Helper()
	var buf bytes.Buffer
	w := pcapgo.NewWriter(&buf)
	if err := w.WriteFileHeader(65536, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	ts := time.Unix(1700000000, 0)
	for _, p := range payloads {
		eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv6}
		ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolUDP, SrcIP: net.ParseIP("fe80::1"), DstIP: net.ParseIP("fe80::2")}
		udp := &layers.UDP{SrcPort: 269, DstPort: 269}
		if err := udp.SetNetworkLayerForChecksum(ip); err != nil {
			t.Fatal(err)
		}
		sb := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(sb, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, udp, gopacket.Payload(p)); err != nil {
			t.Fatal(err)
		}
		ts = ts.Add(time.Millisecond)
		b := sb.Bytes()
		if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(b), Length: len(b)}, b); err != nil {
			t.Fatal(err)
		}
	}
	name := filepath.Join(t.TempDir(), "ntk.pcap")
	if err := os.WriteFile(name, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return name
}

func encodeT(t *testing.T, id uint32, p wire.Payload) []byte {
	t.Helper()
	b, err := wire.Encode(id, p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// `ntkd dump FILE` prints every ntk packet with its fields, the packet a
// ROUTED one carries, and the summary.
func TestDumpFile(t *testing.T) {
	echo := encodeT(t, 7, &wire.Echo{Kind: wire.OpEchoMe, Burst: 1, Seq: 3, Nonce: 0xabcdef})
	routed := encodeT(t, 8, &wire.Routed{TTL: 5, Dst: netip.MustParseAddr("10.0.0.1"), Src: netip.MustParseAddr("10.0.0.2"),
		Inner: encodeT(t, 9, &wire.Resolve{Hostname: "alice"})})
	name := writeCapture(t, echo, routed, []byte("XX no ntk packet"))
	code, out, errOut := run(t, "dump", "-x", name)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, s := range []string{
		"udp [fe80::1]:269 > [fe80::2]:269 ECHO_ME id=7 len=13 {Kind=ECHO_ME Burst=1 Seq=3 Flags=0 Nonce=11259375 Lowest=0 Addr=invalid IP Interval=0 IHU=[]}",
		"ROUTED id=8 len=",
		"    inner ANDNA_RESOLVE id=9 len=7 {Flags=0 Hostname=alice}",
		"MALFORMED (16 bytes): wire: header: magic",
		"00000000  4e 4b 01 01",
		"3 frames, 3 ntk packets, 0 other frames",
		"malformed: magic     1",
	} {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %q:\n%s", s, out)
		}
	}
}

func TestDumpUsage(t *testing.T) {
	if code, _, _ := run(t, "dump"); code != exitUsage {
		t.Fatalf("no file: exit %d", code)
	}
	name := filepath.Join(t.TempDir(), "junk")
	if err := os.WriteFile(name, []byte("no capture file"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := run(t, "dump", name); code != exitFail || !strings.Contains(errOut, "pcap") {
		t.Fatalf("not a capture: exit %d %q", code, errOut)
	}
}
