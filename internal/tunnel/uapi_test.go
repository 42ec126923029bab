//go:build !router

package tunnel

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestUAPICreate(t *testing.T) {
	want := "private_key=" + keyHex01 + "\nlisten_port=51820\nfwmark=1853095936\nreplace_peers=true\n"
	if got := uapiCreate(seqKey(1), 51820); got != want {
		t.Errorf("uapiCreate =\n%s\nwant\n%s", got, want)
	}
	want = "private_key=" + keyHex01 + "\nfwmark=1853095936\nreplace_peers=true\n"
	if got := uapiCreate(seqKey(1), 0); got != want {
		t.Errorf("uapiCreate, port 0 =\n%s\nwant\n%s", got, want)
	}
}

func TestUAPIPeer(t *testing.T) {
	p := Peer{PublicKey: seqKey(0x21), Endpoint: netip.MustParseAddrPort("192.0.2.2:51820"), Keepalive: 25 * time.Second}
	want := `replace_peers=true
public_key=` + keyHex21 + `
endpoint=192.0.2.2:51820
persistent_keepalive_interval=25
replace_allowed_ips=true
allowed_ip=0.0.0.0/0
allowed_ip=::/0
`
	if got := uapiPeer(p, 25, true); got != want {
		t.Errorf("uapiPeer =\n%s\nwant\n%s", got, want)
	}

	// The same peer again (no replace_peers), IPv6 and IPv4-mapped
	// endpoints, no endpoint, no keepalive.
	for _, tc := range []struct {
		endpoint string
		line     string
	}{
		{"[2001:db8::2]:51821", "endpoint=[2001:db8::2]:51821\n"},
		{"[::ffff:192.0.2.2]:51820", "endpoint=192.0.2.2:51820\n"},
		{"", ""},
	} {
		p.Endpoint = netip.AddrPort{}
		if tc.endpoint != "" {
			p.Endpoint = netip.MustParseAddrPort(tc.endpoint)
		}
		want := "public_key=" + keyHex21 + "\n" + tc.line +
			"persistent_keepalive_interval=0\nreplace_allowed_ips=true\nallowed_ip=0.0.0.0/0\nallowed_ip=::/0\n"
		if got := uapiPeer(p, 0, false); got != want {
			t.Errorf("uapiPeer with endpoint %q =\n%s\nwant\n%s", tc.endpoint, got, want)
		}
	}
}

// uapiGet is what wireguard-go's IpcGet answers for a device with one peer.
const uapiGet = `private_key=` + keyHex01 + `
listen_port=51820
fwmark=1853095936
public_key=` + keyHex21 + `
preshared_key=0000000000000000000000000000000000000000000000000000000000000000
protocol_version=1
endpoint=[2001:db8::2]:51821
last_handshake_time_sec=1700000000
last_handshake_time_nsec=5
tx_bytes=5678
rx_bytes=1234
persistent_keepalive_interval=25
allowed_ip=0.0.0.0/0
allowed_ip=::/0
`

func TestUAPIParse(t *testing.T) {
	st, err := parseUAPI(uapiGet)
	if err != nil {
		t.Fatal(err)
	}
	if st.listenPort != 51820 || st.fwmark != Mark || len(st.peers) != 1 {
		t.Fatalf("parsed %+v", st)
	}
	p := st.peers[0]
	if p.PublicKey != seqKey(0x21) || p.Endpoint != netip.MustParseAddrPort("[2001:db8::2]:51821") ||
		!p.LastHandshake.Equal(time.Unix(1700000000, 5)) || p.RxBytes != 1234 || p.TxBytes != 5678 {
		t.Errorf("peer %+v", p)
	}

	// Two peers, the second without handshake or endpoint; the socket
	// protocol's errno=0 at the end.
	two := uapiGet + "public_key=" + keyHex01 + "\nlast_handshake_time_sec=0\nlast_handshake_time_nsec=0\nrx_bytes=0\nerrno=0\n\n"
	st, err = parseUAPI(two)
	if err != nil || len(st.peers) != 2 {
		t.Fatalf("two peers: %+v, %v", st, err)
	}
	if q := st.peers[1]; q.PublicKey != seqKey(1) || !q.LastHandshake.IsZero() || q.Endpoint.IsValid() {
		t.Errorf("second peer %+v", q)
	}
	if got := pickPeer(st.peers, seqKey(1)); got.PublicKey != seqKey(1) {
		t.Errorf("pickPeer chose %x", got.PublicKey)
	}

	// No peers.
	if st, err := parseUAPI("private_key=" + keyHex01 + "\nlisten_port=1\n"); err != nil || len(st.peers) != 0 || st.listenPort != 1 {
		t.Errorf("no peers: %+v, %v", st, err)
	}
}

func TestUAPIParseErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"listen_port\n", "without '='"},
		{"listen_port=65536\n", "listen_port"},
		{"fwmark=4294967296\n", "fwmark"},
		{"public_key=00\n", "64 hex digits"},
		{"public_key=" + strings.Repeat("zz", 32) + "\n", "public_key"},
		{"public_key=" + keyHex21 + "\nendpoint=nowhere\n", "endpoint"},
		{"public_key=" + keyHex21 + "\nrx_bytes=-1\n", "rx_bytes"},
		{"public_key=" + keyHex21 + "\nlast_handshake_time_nsec=1000000000\n", "last handshake"},
		{"public_key=" + keyHex21 + "\nlast_handshake_time_sec=-5\npublic_key=" + keyHex01 + "\n", "last handshake"},
		{"errno=22\n", "errno=22"},
	} {
		if _, err := parseUAPI(tc.in); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("parseUAPI(%q) = %v, want an error with %q", tc.in, err, tc.want)
		}
	}
}

func FuzzParseUAPI(f *testing.F) {
	f.Add(uapiGet)
	f.Add("public_key=" + keyHex21 + "\nlast_handshake_time_sec=1\n")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		st, err := parseUAPI(s)
		if err != nil {
			return
		}
		for _, p := range st.peers {
			if !p.LastHandshake.IsZero() && p.LastHandshake.Before(time.Unix(0, 0)) {
				t.Fatalf("handshake before 1970: %v", p.LastHandshake)
			}
		}
	})
}
