package kernel

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// fakeSysctl builds a sysctl tree in a temporary directory.
func fakeSysctl(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for key, v := range files {
		p := filepath.Join(root, key)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(v+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func readSysctl(t *testing.T, root, key string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, key))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// openHere opens a Kernel in the test's own namespace: the sysctl tests only
// write files under a temporary root, which needs no privilege.
func openHere(t *testing.T, cfg Config) *Kernel {
	t.Helper()
	k, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close() })
	return k
}

func TestPrepareIfaceFakeSysctl(t *testing.T) {
	cases := []struct {
		name    string
		family  int
		files   map[string]string
		want    map[string]string
		wantErr string
	}{
		{
			name:   "ipv4, strict all becomes loose",
			family: unix.AF_INET,
			files: map[string]string{
				"net/ipv4/conf/all/rp_filter":    "1",
				"net/ipv4/conf/m0/rp_filter":     "1",
				"net/ipv6/conf/m0/disable_ipv6":  "1",
				"net/ipv6/conf/all/disable_ipv6": "0",
			},
			want: map[string]string{
				"net/ipv4/conf/all/rp_filter":   "2",
				"net/ipv4/conf/m0/rp_filter":    "0",
				"net/ipv6/conf/m0/disable_ipv6": "0",
			},
		},
		{
			name:   "ipv4, loose and off stay",
			family: unix.AF_INET,
			files: map[string]string{
				"net/ipv4/conf/all/rp_filter":   "0",
				"net/ipv4/conf/m0/rp_filter":    "2",
				"net/ipv6/conf/m0/disable_ipv6": "0",
			},
			want: map[string]string{
				"net/ipv4/conf/all/rp_filter":   "0",
				"net/ipv4/conf/m0/rp_filter":    "0",
				"net/ipv6/conf/m0/disable_ipv6": "0",
			},
		},
		{
			name:   "ipv4 on a kernel without IPv6",
			family: unix.AF_INET,
			files: map[string]string{
				"net/ipv4/conf/all/rp_filter": "2",
				"net/ipv4/conf/m0/rp_filter":  "1",
			},
			want: map[string]string{
				"net/ipv4/conf/all/rp_filter": "2",
				"net/ipv4/conf/m0/rp_filter":  "0",
			},
		},
		{
			name:   "ipv6 leaves rp_filter alone",
			family: unix.AF_INET6,
			files: map[string]string{
				"net/ipv4/conf/all/rp_filter":   "1",
				"net/ipv4/conf/m0/rp_filter":    "1",
				"net/ipv6/conf/m0/disable_ipv6": "1",
			},
			want: map[string]string{
				"net/ipv4/conf/all/rp_filter":   "1",
				"net/ipv4/conf/m0/rp_filter":    "1",
				"net/ipv6/conf/m0/disable_ipv6": "0",
			},
		},
		{
			name:    "ipv6 on a kernel without IPv6",
			family:  unix.AF_INET6,
			files:   map[string]string{"net/ipv4/conf/m0/rp_filter": "1"},
			wantErr: "net/ipv6/conf/m0/disable_ipv6",
		},
		{
			name:    "no such interface",
			family:  unix.AF_INET,
			files:   map[string]string{"net/ipv4/conf/all/rp_filter": "1"},
			wantErr: "net/ipv4/conf/m0/rp_filter",
			want:    map[string]string{"net/ipv4/conf/all/rp_filter": "2"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			root := fakeSysctl(t, c.files)
			k := openHere(t, Config{Family: c.family, SysctlRoot: root})
			err := k.PrepareIface("m0")
			if c.wantErr == "" && err != nil {
				t.Fatal(err)
			}
			if c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr) || !errors.Is(err, os.ErrNotExist)) {
				t.Fatalf("error %v, want one about %s", err, c.wantErr)
			}
			for key, v := range c.want {
				if got := readSysctl(t, root, key); got != v {
					t.Errorf("%s = %s, want %s", key, got, v)
				}
			}
			if _, err := os.Stat(filepath.Join(root, "net/ipv6/conf/m0")); c.files["net/ipv6/conf/m0/disable_ipv6"] == "" && err == nil {
				t.Error("a sysctl file was created")
			}
		})
	}
}

func TestPrepareIfaceRefusesBadNames(t *testing.T) {
	root := fakeSysctl(t, map[string]string{"net/ipv4/conf/all/rp_filter": "1"})
	k := openHere(t, Config{Family: unix.AF_INET, SysctlRoot: root})
	for _, name := range []string{"", ".", "..", "../all", "a/b", "has space", "abcdefghijklmnop"} {
		if err := k.PrepareIface(name); err == nil || !strings.Contains(err.Error(), "not an interface name") {
			t.Errorf("PrepareIface(%q): %v", name, err)
		}
	}
	if got := readSysctl(t, root, "net/ipv4/conf/all/rp_filter"); got != "1" {
		t.Errorf("all/rp_filter changed to %s", got)
	}
}

func TestEnableForwardingFakeSysctl(t *testing.T) {
	files := map[string]string{"net/ipv4/ip_forward": "0", "net/ipv6/conf/all/forwarding": "0"}

	root := fakeSysctl(t, files)
	if err := openHere(t, Config{Family: unix.AF_INET, SysctlRoot: root}).EnableForwarding(); err != nil {
		t.Fatal(err)
	}
	if readSysctl(t, root, "net/ipv4/ip_forward") != "1" || readSysctl(t, root, "net/ipv6/conf/all/forwarding") != "0" {
		t.Error("IPv4: wrong forwarding sysctls")
	}

	root = fakeSysctl(t, files)
	if err := openHere(t, Config{Family: unix.AF_INET6, SysctlRoot: root}).EnableForwarding(); err != nil {
		t.Fatal(err)
	}
	if readSysctl(t, root, "net/ipv4/ip_forward") != "0" || readSysctl(t, root, "net/ipv6/conf/all/forwarding") != "1" {
		t.Error("IPv6: wrong forwarding sysctls")
	}

	root = fakeSysctl(t, nil)
	if err := openHere(t, Config{Family: unix.AF_INET, SysctlRoot: root}).EnableForwarding(); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing ip_forward: %v", err)
	}
}

// TestSysctlsInNamespace writes the real /proc/sys of a namespace and reads
// them back from inside it; the host's values must not move.
func TestSysctlsInNamespace(t *testing.T) {
	ns := newTestNS(t)
	ns.veth("va", "vb")
	hostRP := readSysctl(t, "/proc/sys", "net/ipv4/conf/all/rp_filter")
	hostFwd := readSysctl(t, "/proc/sys", "net/ipv4/ip_forward")
	hostFwd6 := readSysctl(t, "/proc/sys", "net/ipv6/conf/all/forwarding")

	ns.exec("sh", "-c", "echo 1 > /proc/sys/net/ipv4/conf/all/rp_filter; echo 1 > /proc/sys/net/ipv4/conf/va/rp_filter; "+
		"echo 1 > /proc/sys/net/ipv6/conf/va/disable_ipv6; echo 0 > /proc/sys/net/ipv4/ip_forward; "+
		"echo 0 > /proc/sys/net/ipv6/conf/all/forwarding")

	k4 := ns.open(Config{Family: unix.AF_INET})
	if err := k4.PrepareIface("va"); err != nil {
		t.Fatal(err)
	}
	if err := k4.EnableForwarding(); err != nil {
		t.Fatal(err)
	}
	k6 := ns.open(Config{Family: unix.AF_INET6})
	if err := k6.EnableForwarding(); err != nil {
		t.Fatal(err)
	}
	if err := k6.PrepareIface("nosuchif"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("PrepareIface of a missing interface: %v", err)
	}

	for key, want := range map[string]string{
		"net/ipv4/conf/all/rp_filter":   "2",
		"net/ipv4/conf/va/rp_filter":    "0",
		"net/ipv6/conf/va/disable_ipv6": "0",
		"net/ipv4/ip_forward":           "1",
		"net/ipv6/conf/all/forwarding":  "1",
	} {
		if got := ns.exec("cat", "/proc/sys/"+key); got != want {
			t.Errorf("in the namespace, %s = %s, want %s", key, got, want)
		}
	}
	if readSysctl(t, "/proc/sys", "net/ipv4/conf/all/rp_filter") != hostRP ||
		readSysctl(t, "/proc/sys", "net/ipv4/ip_forward") != hostFwd ||
		readSysctl(t, "/proc/sys", "net/ipv6/conf/all/forwarding") != hostFwd6 {
		t.Error("the host's sysctls changed")
	}
}

func TestAddresses(t *testing.T) {
	ns := newTestNS(t)
	va := ns.veth("va", "vb")
	k4 := ns.open(Config{Family: unix.AF_INET})
	k6 := ns.open(Config{Family: unix.AF_INET6})

	for i := 0; i < 2; i++ { // idempotent
		if err := k4.SetAddr(va, pfx("10.0.0.1/32")); err != nil {
			t.Fatalf("SetAddr #%d: %v", i+1, err)
		}
		if err := k6.SetAddr(va, pfx("fd00:aa::1/128")); err != nil {
			t.Fatalf("SetAddr IPv6 #%d: %v", i+1, err)
		}
	}
	out := ns.ip("addr", "show", "dev", "va")
	if strings.Count(out, "inet 10.0.0.1/32") != 1 || strings.Count(out, "inet6 fd00:aa::1/128") != 1 {
		t.Errorf("addresses after SetAddr:\n%s", out)
	}

	if err := k4.SetAddr(va, pfx("fd00::1/128")); err == nil {
		t.Error("IPv6 address accepted by an IPv4 Kernel")
	}
	if err := k4.SetAddr(0, pfx("10.0.0.1/32")); err == nil {
		t.Error("link index 0 accepted")
	}
	if err := k4.SetAddr(va+100, pfx("10.0.0.1/32")); err == nil {
		t.Error("SetAddr on a missing link succeeded")
	}

	for i := 0; i < 2; i++ {
		if err := k4.DelAddr(va, pfx("10.0.0.1/32")); err != nil {
			t.Fatalf("DelAddr #%d: %v", i+1, err)
		}
		if err := k6.DelAddr(va, pfx("fd00:aa::1/128")); err != nil {
			t.Fatalf("DelAddr IPv6 #%d: %v", i+1, err)
		}
	}
	out = ns.ip("addr", "show", "dev", "va")
	if strings.Contains(out, "10.0.0.1") || strings.Contains(out, "fd00:aa::1") {
		t.Errorf("addresses after DelAddr:\n%s", out)
	}
}

func TestNeighbourMAC(t *testing.T) {
	ns := newTestNS(t)
	va := ns.veth("va", "vb")
	k := ns.open(Config{Family: unix.AF_INET})
	ns.ip("neigh", "add", "10.0.0.2", "lladdr", "02:00:00:00:00:02", "dev", "va", "nud", "permanent")
	ns.ip("neigh", "add", "fe80::2", "lladdr", "02:00:00:00:00:22", "dev", "va", "nud", "reachable")
	ns.ip("neigh", "add", "10.0.0.3", "dev", "va", "nud", "incomplete")

	for _, c := range []struct {
		ip   string
		link int
		mac  string
	}{
		{"10.0.0.2", va, "02:00:00:00:00:02"},
		{"::ffff:10.0.0.2", va, "02:00:00:00:00:02"},
		{"fe80::2%va", va, "02:00:00:00:00:22"},
		{"10.0.0.3", va, ""},     // no address yet
		{"10.0.0.4", va, ""},     // unknown
		{"10.0.0.2", va + 1, ""}, // other link
	} {
		mac, ok := k.NeighbourMAC(c.link, netip.MustParseAddr(c.ip))
		if c.mac == "" {
			if ok {
				t.Errorf("%s on %d: %v, want none", c.ip, c.link, mac)
			}
			continue
		}
		if !ok || mac.String() != c.mac {
			t.Errorf("%s on %d: %v %v, want %s", c.ip, c.link, mac, ok, c.mac)
		}
	}
}

// TestUpWithLinkLocal: a link that is down and has no link-local address
// (a veth with IPv6 address generation off, as a WireGuard device) comes
// up with the given address, usable at once (no DAD: not tentative), in an
// IPv4 mesh too.
func TestUpWithLinkLocal(t *testing.T) {
	ns := newTestNS(t)
	ns.ip("link", "add", "tun0", "type", "veth", "peer", "name", "tun0p")
	ns.ip("link", "set", "tun0", "addrgenmode", "none")
	idx := ns.index("tun0")
	k := ns.open(Config{Family: unix.AF_INET, Protocol: 15})
	ll := pfx("fe80::1234:5678:9abc:def0/64")
	for i := range 2 { // idempotent
		if err := k.UpWithLinkLocal(idx, ll); err != nil {
			t.Fatalf("UpWithLinkLocal #%d: %v", i+1, err)
		}
	}
	out := ns.ip("-6", "addr", "show", "dev", "tun0")
	if !strings.Contains(out, "fe80::1234:5678:9abc:def0/64") || strings.Contains(out, "tentative") || !strings.Contains(out, "nodad") {
		t.Errorf("address on tun0:\n%s", out)
	}
	if link := ns.ip("link", "show", "tun0"); !strings.Contains(link, ",UP") {
		t.Errorf("tun0 not up:\n%s", link)
	}
	for _, bad := range []string{"10.0.0.1/32", "fd00::1/64", "fe80::1%tun0/64"} {
		p, _ := netip.ParsePrefix(bad)
		if err := k.UpWithLinkLocal(idx, p); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	if err := k.UpWithLinkLocal(0, ll); err == nil {
		t.Error("index 0 accepted")
	}
}
