package tunnel

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netns"
)

// The namespace tests: two namespaces the test makes, a veth pair between
// them on 192.0.2.0/24 (.201 and .202: test machines may use the range
// themselves, and a socket in the wrong namespace must not find a peer), a WireGuard device in each with the other as peer,
// traffic across the tunnel. Nothing is sent anywhere else, and every
// namespace and link goes away when the test ends, also when it fails.

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespaces)")
	}
}

type testNS struct {
	name string
	h    netns.NsHandle
}

// newNS makes a namespace ntkdtun-<role>-<random>, removed at cleanup.
func newNS(t *testing.T, role string) *testNS {
	t.Helper()
	var r [4]byte
	rand.Read(r[:])
	name := "ntkdtun-" + role + "-" + hex.EncodeToString(r[:])
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v: %s", name, err, out)
	}
	ns := &testNS{name: name, h: netns.None()}
	t.Cleanup(func() {
		if ns.h.IsOpen() {
			ns.h.Close()
		}
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", name, err, out)
		}
	})
	h, err := netns.GetFromName(name)
	if err != nil {
		t.Fatalf("open netns %s: %v", name, err)
	}
	ns.h = h
	return ns
}

// run runs a command in the namespace.
func (ns *testNS) run(args ...string) (string, error) {
	out, err := exec.Command("ip", append([]string{"netns", "exec", ns.name}, args...)...).CombinedOutput()
	return string(out), err
}

// ip runs ip in the namespace and fails the test if it fails.
func (ns *testNS) ip(t *testing.T, args ...string) string {
	t.Helper()
	out, err := ns.run(append([]string{"ip"}, args...)...)
	if err != nil {
		t.Fatalf("%s: ip %s: %v: %s", ns.name, strings.Join(args, " "), err, out)
	}
	return out
}

var linkIndexRE = regexp.MustCompile(`^(\d+): `)

// linkIndex is the index of link name in the namespace, 0 if there is none.
func (ns *testNS) linkIndex(name string) int {
	out, err := ns.run("ip", "-o", "link", "show", "dev", name)
	if err != nil {
		return 0
	}
	m := linkIndexRE.FindStringSubmatch(out)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// waitGone waits until link name has left the namespace.
func (ns *testNS) waitGone(t *testing.T, name string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ns.linkIndex(name) != 0; {
		if time.Now().After(deadline) {
			t.Fatalf("%s: link %s still there", ns.name, name)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// newDevice creates a device and closes it at cleanup (before the
// namespaces go, as cleanups run last-in first-out).
func newDevice(t *testing.T, b Backend, name string, k Key, port int) Device {
	t.Helper()
	d, err := b.Create(name, k, port)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil && !errors.Is(err, ErrClosed) {
			t.Errorf("close %s: %v", name, err)
		}
	})
	return d
}

// tunnelTest runs two devices of the backend mk makes against each other.
func tunnelTest(t *testing.T, mk func(ns netns.NsHandle) Backend) {
	a, b := newNS(t, "a"), newNS(t, "b")
	a.ip(t, "link", "add", "ntkdva", "type", "veth", "peer", "name", "ntkdvb", "netns", b.name)
	a.ip(t, "addr", "add", "192.0.2.201/24", "dev", "ntkdva")
	b.ip(t, "addr", "add", "192.0.2.202/24", "dev", "ntkdvb")
	a.ip(t, "link", "set", "ntkdva", "up")
	b.ip(t, "link", "set", "ntkdvb", "up")

	ka, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	kb, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	ba, bb := mk(a.h), mk(b.h)
	da := newDevice(t, ba, "ntkv0", ka, 51820)
	db := newDevice(t, bb, "ntkv0", kb, 51820)
	if da.Name() != "ntkv0" {
		t.Errorf("Name() = %q", da.Name())
	}
	if got, want := da.Index(), a.linkIndex("ntkv0"); got != want || got == 0 {
		t.Errorf("Index() = %d, ip link says %d", got, want)
	}

	// A keeps the connection (endpoint and keepalive), B waits for it.
	endpointA := netip.MustParseAddrPort("192.0.2.201:51820")
	endpointB := netip.MustParseAddrPort("192.0.2.202:51820")
	// B first: A's keepalive starts a handshake at once, which B would
	// drop without knowing A, and WireGuard retries only 5 s later.
	if err := db.SetPeer(Peer{PublicKey: ka.Public()}); err != nil {
		t.Fatal(err)
	}
	if err := da.SetPeer(Peer{PublicKey: kb.Public(), Endpoint: endpointB, Keepalive: 25 * time.Second}); err != nil {
		t.Fatal(err)
	}
	for i, ns := range []*testNS{a, b} {
		n := strconv.Itoa(i + 1)
		// Only our addresses: the kernel's own link-local would make the
		// multicast check below ambiguous.
		ns.ip(t, "link", "set", "ntkv0", "addrgenmode", "none")
		ns.ip(t, "addr", "add", "fe80::"+n+"/64", "dev", "ntkv0", "nodad")
		ns.ip(t, "addr", "add", "fd00:0:0:7e57::"+n+"/64", "dev", "ntkv0", "nodad")
		ns.ip(t, "addr", "add", "198.51.100."+n+"/24", "dev", "ntkv0")
		ns.ip(t, "link", "set", "ntkv0", "up")
	}

	for _, dst := range []string{"fd00:0:0:7e57::2", "fe80::2%ntkv0", "198.51.100.2"} {
		// -w: a loaded machine may lose the first handshake (retried 5 s on).
		if out, err := a.run("ping", "-c", "3", "-W", "2", "-w", "15", dst); err != nil {
			t.Fatalf("ping %s across the tunnel: %v\n%s", dst, err, out)
		}
	}
	// Radar probes ff02::1: with everything allowed, the peer answers.
	// (Our own answer comes back too, so look for the peer's.)
	if out, err := a.run("ping", "-c", "2", "-W", "2", "ff02::1%ntkv0"); err != nil || !strings.Contains(out, "from fe80::2") {
		t.Errorf("ping ff02::1 across the tunnel: %v\n%s", err, out)
	}

	// Down and up: wireguard-go keeps its sockets in the namespace (it
	// would reopen them in the namespace of whichever thread its event
	// goroutine runs on). Down long enough for tun's once-a-second probe.
	a.ip(t, "link", "set", "ntkv0", "down")
	time.Sleep(1500 * time.Millisecond)
	a.ip(t, "link", "set", "ntkv0", "up")
	time.Sleep(1500 * time.Millisecond)
	if out, _ := a.run("ss", "-Hnul", "sport = :51820"); !strings.Contains(out, ":51820") {
		t.Errorf("after down and up, nothing listens on port 51820 in %s:\n%s", a.name, out)
	}
	if out, _ := exec.Command("ss", "-Hnulp", "sport = :51820").CombinedOutput(); strings.Contains(string(out), "pid="+strconv.Itoa(os.Getpid())+",") {
		t.Errorf("after down and up, the test listens on port 51820 outside its namespaces:\n%s", out)
	}
	a.ip(t, "addr", "replace", "fd00:0:0:7e57::1/64", "dev", "ntkv0", "nodad") // IPv6 addresses may go with the link
	if out, err := a.run("ping", "-c", "3", "-W", "2", "-w", "15", "fd00:0:0:7e57::2"); err != nil {
		t.Fatalf("ping after down and up: %v\n%s", err, out)
	}

	sa, err := da.Stats()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("A: %+v", sa)
	if sa.PublicKey != kb.Public() || sa.Endpoint != endpointB || sa.ListenPort != 51820 || sa.FwMark != Mark {
		t.Errorf("A's stats: %+v", sa)
	}
	if sa.RxBytes == 0 || sa.TxBytes == 0 || sa.LastHandshake.IsZero() || time.Since(sa.LastHandshake) > time.Minute {
		t.Errorf("A's stats show no traffic or handshake: %+v", sa)
	}
	sb, err := db.Stats()
	if err != nil {
		t.Fatal(err)
	}
	// B had no endpoint: it learnt A's from the handshake.
	if sb.PublicKey != ka.Public() || sb.Endpoint != endpointA || sb.RxBytes == 0 || sb.LastHandshake.IsZero() {
		t.Errorf("B's stats: %+v", sb)
	}

	// The same peer again keeps the session; another key replaces it.
	if err := da.SetPeer(Peer{PublicKey: kb.Public(), Endpoint: endpointB}); err != nil {
		t.Fatal(err)
	}
	if s, err := da.Stats(); err != nil || !s.LastHandshake.Equal(sa.LastHandshake) || s.RxBytes < sa.RxBytes {
		t.Errorf("after setting the same peer: %+v, %v; before %+v", s, err, sa)
	}
	other, _ := GenerateKey()
	if err := db.SetPeer(Peer{PublicKey: other.Public()}); err != nil {
		t.Fatal(err)
	}
	if s, err := db.Stats(); err != nil || s.PublicKey != other.Public() || !s.LastHandshake.IsZero() || s.RxBytes != 0 {
		t.Errorf("after replacing the peer: %+v, %v", s, err)
	}
	if _, err := a.run("ping", "-c", "1", "-W", "1", "fd00:0:0:7e57::2"); err == nil {
		t.Error("ping still crosses the tunnel after B dropped A as its peer")
	}

	// A second device on a taken port fails and leaves nothing behind;
	// port 0 gets a free one.
	if d, err := ba.Create("ntkv1", ka, 51820); err == nil {
		d.Close()
		t.Error("a second device on port 51820 was created")
	} else if !strings.HasPrefix(err.Error(), "tunnel: create ntkv1: ") {
		t.Errorf("error %q lacks its context", err)
	}
	a.waitGone(t, "ntkv1")
	d1 := newDevice(t, ba, "ntkv1", ka, 0)
	if s, err := d1.Stats(); err != nil || s.ListenPort == 0 || s.ListenPort == 51820 || s.PublicKey != (Key{}) {
		t.Errorf("port 0 device: %+v, %v", s, err)
	}
	if _, err := ba.Create("ntkv1", ka, 0); err == nil {
		t.Error("a second device named ntkv1 was created")
	}

	// Close removes the link.
	if err := da.Close(); err != nil {
		t.Fatal(err)
	}
	a.waitGone(t, "ntkv0")
	if err := da.Close(); !errors.Is(err, ErrClosed) {
		t.Errorf("second Close = %v, want ErrClosed", err)
	}
	if _, err := da.Stats(); !errors.Is(err, ErrClosed) {
		t.Errorf("Stats after Close = %v, want ErrClosed", err)
	}
	if err := da.SetPeer(Peer{PublicKey: kb.Public()}); !errors.Is(err, ErrClosed) {
		t.Errorf("SetPeer after Close = %v, want ErrClosed", err)
	}
	if b.linkIndex("ntkv0") == 0 {
		t.Error("closing A's device removed B's")
	}
}

// TestCheckArgs: both backends refuse the same bad input before making anything.
func TestCheckArgs(t *testing.T) {
	for _, tc := range []struct {
		name string
		port int
		want string
	}{
		{"", 0, "invalid interface name"},
		{"ntkv0123456789ab", 0, "invalid interface name"},
		{"ntk/0", 0, "invalid interface name"},
		{"ntk v0", 0, "invalid interface name"},
		{"..", 0, "invalid interface name"},
		{"ntkv0", -1, "listen port -1"},
		{"ntkv0", 65536, "listen port 65536"},
	} {
		for _, b := range testBackends() {
			_, err := b.Create(tc.name, Key{}, tc.port)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "tunnel: create ") {
				t.Errorf("%T.Create(%q, %d) = %v, want an error with %q", b, tc.name, tc.port, err, tc.want)
			}
		}
	}
	if err := checkCreate("ntkv0123456789", 65535); err != nil {
		t.Errorf("15-character name: %v", err)
	}
}

func TestCheckPeer(t *testing.T) {
	self := seqKey(1)
	peer := seqKey(0x21)
	for _, tc := range []struct {
		p    Peer
		want uint16
		err  string
	}{
		{Peer{PublicKey: peer}, 0, ""},
		{Peer{PublicKey: peer, Keepalive: 25 * time.Second}, 25, ""},
		{Peer{PublicKey: peer, Keepalive: time.Millisecond}, 1, ""}, // rounded up, not to "off"
		{Peer{PublicKey: peer, Keepalive: 65535 * time.Second}, 65535, ""},
		{Peer{PublicKey: peer, Endpoint: netip.MustParseAddrPort("[2001:db8::1]:1")}, 0, ""},
		{Peer{}, 0, "no public key"},
		{Peer{PublicKey: self}, 0, "own public key"},
		{Peer{PublicKey: peer, Keepalive: -time.Second}, 0, "keepalive"},
		{Peer{PublicKey: peer, Keepalive: 65536 * time.Second}, 0, "keepalive"},
		{Peer{PublicKey: peer, Endpoint: netip.MustParseAddrPort("192.0.2.1:0")}, 0, "no address or port"},
		{Peer{PublicKey: peer, Endpoint: netip.MustParseAddrPort("0.0.0.0:1")}, 0, "no address or port"},
		{Peer{PublicKey: peer, Endpoint: netip.MustParseAddrPort("[::ffff:0.0.0.0]:1")}, 0, "no address or port"},
		{Peer{PublicKey: peer, Endpoint: netip.MustParseAddrPort("[fe80::1%eth0]:1")}, 0, "zoned"},
	} {
		got, err := checkPeer(tc.p, self)
		if tc.err == "" && (err != nil || got != tc.want) {
			t.Errorf("checkPeer(%+v) = %d, %v; want %d", tc.p, got, err, tc.want)
		}
		if tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("checkPeer(%+v) = %v, want an error with %q", tc.p, err, tc.err)
		}
	}
}

// TestKernelBackend runs the tunnel test on kernel WireGuard where the
// kernel has it; where not, Create must say so and leave no link.
func TestKernelBackend(t *testing.T) {
	needRoot(t)
	ns := newNS(t, "k")
	k := NewKernel(ns.h)
	if err := k.Available(); err != nil {
		if !errors.Is(err, ErrNoKernelWireGuard) {
			t.Fatalf("Available: %v", err)
		}
		_, err := k.Create("ntkv0", seqKey(1), 0)
		if !errors.Is(err, ErrNoKernelWireGuard) || !strings.HasPrefix(err.Error(), "tunnel: create ntkv0: ") {
			t.Errorf("Create without kernel WireGuard = %v", err)
		}
		if ns.linkIndex("ntkv0") != 0 {
			t.Error("a failed Create left a link behind")
		}
		t.Skipf("the rest needs kernel WireGuard: %v", err)
	}
	tunnelTest(t, func(ns netns.NsHandle) Backend { return NewKernel(ns) })
}
