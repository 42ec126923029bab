package tunnel

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"net/netip"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// Netlink integers are in host byte order, so every fixture is written
// twice, little- and big-endian, by hand from linux/wireguard.h and
// linux/rtnetlink.h; hostFixture picks the one for this machine. The
// big-endian ones run under qemu-mips-static (see TestAttrHostOrder).

var hostLittle = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// fixture reads hex with spaces, newlines and '#' comments.
func fixture(t testing.TB, s string) []byte {
	t.Helper()
	var clean strings.Builder
	for line := range strings.SplitSeq(s, "\n") {
		line, _, _ = strings.Cut(line, "#")
		clean.WriteString(strings.Join(strings.Fields(line), ""))
	}
	b, err := hex.DecodeString(clean.String())
	if err != nil {
		t.Fatalf("bad fixture: %v", err)
	}
	return b
}

func hostFixture(t testing.TB, little, big string) []byte {
	if hostLittle {
		return fixture(t, little)
	}
	return fixture(t, big)
}

// TestAttrHostOrder pins down which fixtures run where: the big-endian
// ones on mips (ath79, most of ntkd's routers), under qemu here.
func TestAttrHostOrder(t *testing.T) {
	switch runtime.GOARCH {
	case "mips", "mips64", "ppc64", "s390x":
		if hostLittle {
			t.Fatalf("%s host reported little-endian", runtime.GOARCH)
		}
	case "amd64", "386", "arm", "arm64", "mipsle", "riscv64":
		if !hostLittle {
			t.Fatalf("%s host reported big-endian", runtime.GOARCH)
		}
	}
	t.Logf("%s: little-endian %v", runtime.GOARCH, hostLittle)
}

func seqKey(from byte) Key {
	var k Key
	for i := range k {
		k[i] = from + byte(i)
	}
	return k
}

const (
	keyHex01 = "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20"
	keyHex21 = "2122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f40"
)

func checkBytes(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Errorf("%s:\n got %x\nwant %x", what, got, want)
	}
}

func TestAttrNewLink(t *testing.T) {
	got, err := encodeNewLink("ntkv0")
	if err != nil {
		t.Fatal(err)
	}
	checkBytes(t, "RTM_NEWLINK", got, hostFixture(t, `
		00 00 0000  00000000  00100000 00100000  # ifinfomsg: AF_UNSPEC, index 0, flags and change IFF_MULTICAST
		0a00 0300  6e746b7630 000000             # IFLA_IFNAME "ntkv0\0", padded
		1400 1280                                # IFLA_LINKINFO | NLA_F_NESTED, 20 bytes
		  0e00 0100  77697265677561726400 0000   #   IFLA_INFO_KIND "wireguard\0", padded
	`, `
		00 00 0000  00000000  00001000 00001000
		000a 0003  6e746b7630 000000
		0014 8012
		  000e 0001  77697265677561726400 0000
	`))
}

func TestAttrDelLink(t *testing.T) {
	got, err := encodeDelLink(7, "ntkv0")
	if err != nil {
		t.Fatal(err)
	}
	checkBytes(t, "RTM_DELLINK by index", got, hostFixture(t,
		`00 00 0000 07000000 00000000 00000000`,
		`00 00 0000 00000007 00000000 00000000`))
	got, err = encodeDelLink(0, "ntkv0")
	if err != nil {
		t.Fatal(err)
	}
	checkBytes(t, "RTM_DELLINK by name", got, hostFixture(t,
		`00 00 0000 00000000 00000000 00000000  0a00 0300 6e746b7630 000000`,
		`00 00 0000 00000000 00000000 00000000  000a 0003 6e746b7630 000000`))
}

func TestAttrGetDevice(t *testing.T) {
	got, err := encodeGetDevice(7, "ignored")
	if err != nil {
		t.Fatal(err)
	}
	checkBytes(t, "GET_DEVICE by index", got, hostFixture(t, `0800 0100 07000000`, `0008 0001 00000007`))
	got, err = encodeGetDevice(0, "ntkv0")
	if err != nil {
		t.Fatal(err)
	}
	checkBytes(t, "GET_DEVICE by name", got, hostFixture(t, `0a00 0200 6e746b7630 000000`, `000a 0002 6e746b7630 000000`))
}

func TestAttrSetKey(t *testing.T) {
	got, err := encodeSetKey(7, seqKey(1), 51820)
	if err != nil {
		t.Fatal(err)
	}
	checkBytes(t, "SET_DEVICE key", got, hostFixture(t, `
		0800 0100 07000000        # WGDEVICE_A_IFINDEX 7
		2400 0300 `+keyHex01+`    # WGDEVICE_A_PRIVATE_KEY
		0600 0600 6cca 0000       # WGDEVICE_A_LISTEN_PORT 51820, host order like any netlink u16
		0800 0700 0000746e        # WGDEVICE_A_FWMARK Mark (0x6e740000)
		0800 0500 01000000        # WGDEVICE_A_FLAGS WGDEVICE_F_REPLACE_PEERS
	`, `
		0008 0001 00000007
		0024 0003 `+keyHex01+`
		0006 0006 ca6c 0000
		0008 0007 6e740000
		0008 0005 00000001
	`))
	// Port 0: left to the kernel, no attribute.
	got, err = encodeSetKey(7, seqKey(1), 0)
	if err != nil {
		t.Fatal(err)
	}
	checkBytes(t, "SET_DEVICE key, port 0", got, hostFixture(t,
		`0800 0100 07000000  2400 0300 `+keyHex01+`  0800 0700 0000746e  0800 0500 01000000`,
		`0008 0001 00000007  0024 0003 `+keyHex01+`  0008 0007 6e740000  0008 0005 00000001`))
}

func TestAttrSetPeer(t *testing.T) {
	p := Peer{PublicKey: seqKey(0x21), Endpoint: netip.MustParseAddrPort("192.0.2.2:51820"), Keepalive: 25 * time.Second}
	got, err := encodeSetPeer(7, p, 25, true)
	if err != nil {
		t.Fatal(err)
	}
	checkBytes(t, "SET_DEVICE peer", got, hostFixture(t, `
		0800 0100 07000000                 # WGDEVICE_A_IFINDEX 7
		0800 0500 01000000                 # WGDEVICE_A_FLAGS REPLACE_PEERS
		9800 0880                          # WGDEVICE_A_PEERS | NESTED, 152 bytes
		 9400 0080                         #  peer 0 | NESTED, 148 bytes
		  2400 0100 `+keyHex21+`           #   WGPEER_A_PUBLIC_KEY
		  0800 0300 02000000               #   WGPEER_A_FLAGS REPLACE_ALLOWEDIPS
		  1400 0400                        #   WGPEER_A_ENDPOINT, sockaddr_in:
		    0200 ca6c c0000202 0000000000000000 #  AF_INET (host order), port 51820 and 192.0.2.2 (network order)
		  0600 0500 1900 0000              #   WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL 25
		  4800 0980                        #   WGPEER_A_ALLOWEDIPS | NESTED, 72 bytes
		   1c00 0080                       #    0 | NESTED
		    0600 0100 0200 0000            #     FAMILY AF_INET
		    0800 0200 00000000             #     IPADDR 0.0.0.0
		    0500 0300 00 000000            #     CIDR_MASK 0
		   2800 0180                       #    1 | NESTED
		    0600 0100 0a00 0000            #     FAMILY AF_INET6
		    1400 0200 00000000000000000000000000000000 # IPADDR ::
		    0500 0300 00 000000            #     CIDR_MASK 0
	`, `
		0008 0001 00000007
		0008 0005 00000001
		0098 8008
		 0094 8000
		  0024 0001 `+keyHex21+`
		  0008 0003 00000002
		  0014 0004
		    0002 ca6c c0000202 0000000000000000
		  0006 0005 0019 0000
		  0048 8009
		   001c 8000
		    0006 0001 0002 0000
		    0008 0002 00000000
		    0005 0003 00 000000
		   0028 8001
		    0006 0001 000a 0000
		    0014 0002 00000000000000000000000000000000
		    0005 0003 00 000000
	`))

	// Same peer again: no REPLACE_PEERS (the session survives); no
	// endpoint: none sent; an IPv6 endpoint: a sockaddr_in6.
	p.Endpoint = netip.AddrPort{}
	got, err = encodeSetPeer(7, p, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	attrs, err := netlink.UnmarshalAttributes(got)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range attrs {
		if a.Type == unix.WGDEVICE_A_FLAGS {
			t.Errorf("SET_DEVICE for the same peer has device flags: %x", got)
		}
	}
	var st wgState
	if err := parseDevice(got, &st); err != nil || len(st.peers) != 1 || st.peers[0].Endpoint.IsValid() {
		t.Errorf("SET_DEVICE without endpoint decodes to %+v, %v", st, err)
	}
	p.Endpoint = netip.MustParseAddrPort("[2001:db8::2]:51821")
	if got, err = encodeSetPeer(7, p, 0, false); err != nil {
		t.Fatal(err)
	}
	st = wgState{}
	if err := parseDevice(got, &st); err != nil || len(st.peers) != 1 || st.peers[0].Endpoint != p.Endpoint || st.peers[0].PublicKey != p.PublicKey {
		t.Errorf("SET_DEVICE with IPv6 endpoint decodes to %+v, %v", st, err)
	}
	// An IPv4-mapped endpoint goes as IPv4.
	p.Endpoint = netip.MustParseAddrPort("[::ffff:192.0.2.2]:51820")
	if got, err = encodeSetPeer(7, p, 0, false); err != nil {
		t.Fatal(err)
	}
	st = wgState{}
	if err := parseDevice(got, &st); err != nil || st.peers[0].Endpoint != netip.MustParseAddrPort("192.0.2.2:51820") {
		t.Errorf("SET_DEVICE with mapped endpoint decodes to %+v, %v", st, err)
	}
}

// A WG_CMD_GET_DEVICE answer as the kernel sends it.
const (
	getDeviceLE = `
		0800 0100 07000000                 # WGDEVICE_A_IFINDEX 7
		0a00 0200 6e746b7630 000000        # WGDEVICE_A_IFNAME "ntkv0"
		0600 0600 6cca 0000                # WGDEVICE_A_LISTEN_PORT 51820
		0800 0700 0000746e                 # WGDEVICE_A_FWMARK Mark
		8000 0880                          # WGDEVICE_A_PEERS, 128 bytes
		 7c00 0080                         #  peer 0, 124 bytes
		  2400 0100 ` + keyHex21 + `       #   WGPEER_A_PUBLIC_KEY
		  2000 0400                        #   WGPEER_A_ENDPOINT, sockaddr_in6:
		    0a00 ca6d 00000000             #    AF_INET6, port 51821, flowinfo
		    20010db8000000000000000000000002 # 2001:db8::2
		    00000000                       #    scope id
		  1400 0600                        #   WGPEER_A_LAST_HANDSHAKE_TIME, __kernel_timespec
		    00f1536500000000 0500000000000000 # 1700000000 s, 5 ns
		  0c00 0700 d204000000000000       #   WGPEER_A_RX_BYTES 1234
		  0c00 0800 2e16000000000000       #   WGPEER_A_TX_BYTES 5678
		  0800 0a00 01000000               #   WGPEER_A_PROTOCOL_VERSION 1
	`
	getDeviceBE = `
		0008 0001 00000007
		000a 0002 6e746b7630 000000
		0006 0006 ca6c 0000
		0008 0007 6e740000
		0080 8008
		 007c 8000
		  0024 0001 ` + keyHex21 + `
		  0020 0004
		    000a ca6d 00000000
		    20010db8000000000000000000000002
		    00000000
		  0014 0006
		    000000006553f100 0000000000000005
		  000c 0007 00000000000004d2
		  000c 0008 000000000000162e
		  0008 000a 00000001
	`
)

func TestAttrParseDevice(t *testing.T) {
	var st wgState
	if err := parseDevice(hostFixture(t, getDeviceLE, getDeviceBE), &st); err != nil {
		t.Fatal(err)
	}
	want := Stats{
		PublicKey:     seqKey(0x21),
		Endpoint:      netip.MustParseAddrPort("[2001:db8::2]:51821"),
		LastHandshake: time.Unix(1700000000, 5),
		RxBytes:       1234,
		TxBytes:       5678,
	}
	if st.ifindex != 7 || st.listenPort != 51820 || st.fwmark != Mark || len(st.peers) != 1 {
		t.Fatalf("parsed %+v", st)
	}
	if got := st.peers[0]; got.PublicKey != want.PublicKey || got.Endpoint != want.Endpoint ||
		!got.LastHandshake.Equal(want.LastHandshake) || got.RxBytes != want.RxBytes || got.TxBytes != want.TxBytes {
		t.Errorf("peer = %+v\nwant %+v", got, want)
	}

	// A peer split across answers: the continuation (key and allowed IPs
	// only) keeps the first part's figures.
	cont := hostFixture(t, `
		2c00 0880  2800 0080  2400 0100 `+keyHex21+`
	`, `
		002c 8008  0028 8000  0024 0001 `+keyHex21+`
	`)
	if err := parseDevice(cont, &st); err != nil {
		t.Fatal(err)
	}
	if len(st.peers) != 1 || st.peers[0].RxBytes != 1234 {
		t.Errorf("after a continuation: %+v", st.peers)
	}
	if s := pickPeer(st.peers, Key{}); s.PublicKey != want.PublicKey {
		t.Errorf("pickPeer: %+v", s)
	}
}

func TestAttrParseErrors(t *testing.T) {
	for _, tc := range []struct{ name, le, be, want string }{
		{"truncated attribute", `0800 0100 0700`, `0008 0001 0007`, ""},
		{"short ifindex", `0600 0100 0700 0000`, `0006 0001 0007 0000`, "uint32"},
		{"peer without key", `1000 0880  0c00 0080  0800 0a00 01000000`, `0010 8008  000c 8000  0008 000a 00000001`, "public key"},
		{"short key", `1000 0880  0c00 0080  0800 0100 01020304`, `0010 8008  000c 8000  0008 0001 01020304`, "public key of 4 bytes"},
		{"sockaddr family", `1c00 0880  1800 0080  1400 0400 0700 0000 00000000 0000000000000000`,
			`001c 8008  0018 8000  0014 0004 0007 0000 00000000 0000000000000000`, "family 7"},
		{"short sockaddr_in", `1000 0880  0c00 0080  0800 0400 0200 ca6c`, `0010 8008  000c 8000  0008 0004 0002 ca6c`, "sockaddr_in of 4 bytes"},
		{"timespec size", `1000 0880  0c00 0080  0800 0600 00000000`, `0010 8008  000c 8000  0008 0006 00000000`, "timespec of 4 bytes"},
		{"timespec ns", `1c00 0880  1800 0080  1400 0600 0100000000000000 00ca9a3b00000000`,
			`001c 8008  0018 8000  0014 0006 0000000000000001 000000003b9aca00`, "1000000000 ns"},
	} {
		var st wgState
		err := parseDevice(hostFixture(t, tc.le, tc.be), &st)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: parseDevice = %v, want an error with %q", tc.name, err, tc.want)
		}
	}
}

func TestAttrTimespec32(t *testing.T) {
	// A 32-bit kernel's struct timespec before Linux 5.1: two longs.
	b := make([]byte, 8)
	binary.NativeEndian.PutUint32(b, 1700000000)
	binary.NativeEndian.PutUint32(b[4:], 7)
	if got, err := parseTimespec(b); err != nil || !got.Equal(time.Unix(1700000000, 7)) {
		t.Errorf("parseTimespec(8 bytes) = %v, %v", got, err)
	}
	if got, err := parseTimespec(make([]byte, 16)); err != nil || !got.IsZero() {
		t.Errorf("parseTimespec(0) = %v, %v; want the zero time", got, err)
	}
}

func TestAttrSockaddr(t *testing.T) {
	for _, s := range []string{"192.0.2.1:1", "[2001:db8::1]:65535", "[fe80::1%3]:51820"} {
		ap := netip.MustParseAddrPort(s)
		b := encodeSockaddr(ap)
		if ap.Addr().Zone() != "" {
			// encodeSockaddr drops zones (Peer rejects them); the kernel
			// reports a scope as its number.
			binary.NativeEndian.PutUint32(b[24:28], 3)
		}
		got, err := parseSockaddr(b)
		if err != nil || got != ap {
			t.Errorf("sockaddr round trip of %s: %s, %v", s, got, err)
		}
	}
}

func FuzzParseDevice(f *testing.F) {
	f.Add(fixture(f, getDeviceLE))
	f.Add(fixture(f, getDeviceBE))
	if b, err := encodeSetPeer(7, Peer{PublicKey: seqKey(0x21), Endpoint: netip.MustParseAddrPort("192.0.2.2:51820")}, 25, true); err == nil {
		f.Add(b)
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		var st wgState
		if err := parseDevice(b, &st); err != nil {
			return
		}
		// Twice: the second answer of a split peer merges, never grows.
		n := len(st.peers)
		if err := parseDevice(b, &st); err != nil {
			t.Fatalf("second parse of the same answer failed: %v", err)
		}
		if len(st.peers) != n {
			t.Fatalf("the same peers twice became %d peers, not %d", len(st.peers), n)
		}
	})
}

func FuzzParseSockaddr(f *testing.F) {
	f.Add(encodeSockaddr(netip.MustParseAddrPort("192.0.2.2:51820")))
	f.Add(encodeSockaddr(netip.MustParseAddrPort("[2001:db8::2]:51821")))
	f.Add([]byte{2})
	f.Fuzz(func(t *testing.T, b []byte) {
		ap, err := parseSockaddr(b)
		if err != nil {
			return
		}
		if !ap.IsValid() {
			t.Fatalf("%x parsed to an invalid endpoint", b)
		}
		if ap.Addr().Zone() != "" {
			return // encodeSockaddr does not write scopes
		}
		back, err := parseSockaddr(encodeSockaddr(ap))
		if err != nil || back != ap {
			t.Fatalf("%s: re-encoded as %s, %v", ap, back, err)
		}
	})
}
