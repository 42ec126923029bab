package dnsd

import (
	"net/netip"
	"testing"
)

func TestParseReverse(t *testing.T) {
	for _, tc := range []struct {
		name   string
		prefix string
		valid  bool
		ok     bool
	}{
		{"3.2.1.10.in-addr.arpa.", "10.1.2.3/32", true, true},
		{"10.in-addr.arpa.", "10.0.0.0/8", true, true},
		{"in-addr.arpa.", "0.0.0.0/0", true, true},
		{"x.10.in-addr.arpa.", "10.0.0.0/8", false, true},
		{"4.3.2.1.10.in-addr.arpa.", "10.1.2.3/32", false, true}, // one label too many
		{"00.10.in-addr.arpa.", "10.0.0.0/8", false, true},
		{"0.10.in-addr.arpa.", "10.0.0.0/16", true, true},
		{"xin-addr.arpa.", "", false, false},
		{"example.com.", "", false, false},
		{"1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa.", "fd00::1/128", true, true},
		{"d.f.ip6.arpa.", "fd00::/8", true, true},
		{"ab.d.f.ip6.arpa.", "fd00::/8", false, true},
		{"A.d.f.ip6.arpa.", "fd00::/8", false, true}, // callers lowercase first
	} {
		p, valid, ok := parseReverse(tc.name)
		if ok != tc.ok || valid != tc.valid || (ok && p.String() != tc.prefix) {
			t.Errorf("%s: %v %v %v, want %s %v %v", tc.name, p, valid, ok, tc.prefix, tc.valid, tc.ok)
		}
	}
}

func TestReverseNameRoundTrip(t *testing.T) {
	for _, a := range []string{"10.0.0.1", "172.16.5.255", "fd00::1", "fc12:3456::abcd"} {
		addr := netip.MustParseAddr(a)
		p, valid, ok := parseReverse(reverseName(addr, addr.BitLen()))
		if !ok || !valid || p != netip.PrefixFrom(addr, addr.BitLen()) {
			t.Errorf("%s: %s -> %v %v %v", a, reverseName(addr, addr.BitLen()), p, valid, ok)
		}
	}
	if got := reverseApex(netip.MustParsePrefix("172.16.0.0/12")); got != "172.in-addr.arpa." {
		t.Errorf("apex of 172.16/12: %s", got)
	}
	if got := reverseApex(netip.MustParsePrefix("fc00::/7")); got != "f.ip6.arpa." {
		t.Errorf("apex of fc00::/7: %s", got)
	}
}

func TestCheckHostname(t *testing.T) {
	for name, ok := range map[string]bool{
		"myrouter": true, "files.myrouter": true, "a-b.c9": true,
		"": false, "a..b": false, "-a": false, "a-": false, "A": false, "a_b": false, "a b": false,
		string(make([]byte, 64)): false,
	} {
		if got := checkHostname(name) == ""; got != ok {
			t.Errorf("%q: ok %v, want %v", name, got, ok)
		}
	}
}

func TestASCIILower(t *testing.T) {
	for in, want := range map[string]string{"AbC.NTK.": "abc.ntk.", "abc": "abc", "\xff\xc3A": "\xff\xc3a", "É": "É"} {
		if got := asciiLower(in); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}
