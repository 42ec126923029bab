package transport

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/ntkd/ntkd/internal/node"
	"github.com/ntkd/ntkd/internal/radar"
	"github.com/ntkd/ntkd/internal/wire"
)

// The tests run each Transport in a network namespace of its own: the
// transport's inNetns hook enters the namespace on a locked OS thread
// around every socket creation and interface lookup, so both ends live in
// this one test process and can be inspected directly.

const nsPrefix = "ntkdtr-"

var labSeq atomic.Int32

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates network namespaces and veth links")
	}
}

// lab is two namespaces joined by a veth pair: ifA in nsA, ifB in nsB.
type lab struct {
	nsA, nsB string
	ifA, ifB string
}

// newLab creates the namespaces (removed when the test ends, also on
// failure). With dad false, duplicate address detection is off so that
// link-local addresses are usable at once.
func newLab(t *testing.T, dad bool) *lab {
	t.Helper()
	requireRoot(t)
	removeStaleNamespaces(t)
	n := labSeq.Add(1)
	l := &lab{
		nsA: fmt.Sprintf("%s%d-%d-a", nsPrefix, os.Getpid(), n),
		nsB: fmt.Sprintf("%s%d-%d-b", nsPrefix, os.Getpid(), n),
		ifA: "veth-a", ifB: "veth-b",
	}
	for _, ns := range []string{l.nsA, l.nsB} {
		run(t, "ip", "netns", "add", ns)
		t.Cleanup(func() {
			if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
				t.Errorf("ip netns del %s: %v: %s", ns, err, out)
			}
		})
		run(t, "ip", "-n", ns, "link", "set", "lo", "up")
	}
	run(t, "ip", "link", "add", l.ifA, "netns", l.nsA, "type", "veth", "peer", "name", l.ifB, "netns", l.nsB)
	l.prepare(t, l.nsA, l.ifA, dad)
	l.prepare(t, l.nsB, l.ifB, dad)
	run(t, "ip", "-n", l.nsA, "link", "set", l.ifA, "up")
	run(t, "ip", "-n", l.nsB, "link", "set", l.ifB, "up")
	return l
}

// prepare sets an interface's IPv6 knobs before it goes up. DAD is skipped
// only when both "all" and the interface say so.
func (l *lab) prepare(t *testing.T, ns, ifname string, dad bool) {
	t.Helper()
	conf := map[string]string{
		"all/accept_dad":          "0",
		ifname + "/disable_ipv6":  "0",
		ifname + "/accept_dad":    "0",
		ifname + "/dad_transmits": "1",
	}
	if dad {
		// Three probes a second apart: tentative long enough to be seen.
		conf[ifname+"/accept_dad"], conf[ifname+"/dad_transmits"] = "1", "3"
	}
	err := enterNetns(ns)(func() error {
		for k, v := range conf {
			if err := os.WriteFile("/proc/sys/net/ipv6/conf/"+k, []byte(v), 0o644); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("sysctl in %s: %v", ns, err)
	}
}

// removeStaleNamespaces deletes namespaces left by test processes that
// died before their cleanup ran.
func removeStaleNamespaces(t *testing.T) {
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(out), "\n") {
		name, _, _ := strings.Cut(strings.TrimSpace(line), " ")
		rest, ok := strings.CutPrefix(name, nsPrefix)
		if !ok {
			continue
		}
		pidStr, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidStr)
		if err != nil || pid == os.Getpid() || unix.Kill(pid, 0) == nil {
			continue
		}
		exec.Command("ip", "netns", "del", name).Run()
	}
}

func run(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// enterNetns returns a function that runs fn in namespace ns on a locked
// OS thread, then returns the thread to where it was.
func enterNetns(ns string) func(fn func() error) error {
	return func(fn func() error) error {
		runtime.LockOSThread()
		orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			return err
		}
		defer unix.Close(orig)
		target, err := unix.Open("/run/netns/"+ns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			return err
		}
		defer unix.Close(target)
		if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			return fmt.Errorf("setns %s: %w", ns, err)
		}
		ferr := fn()
		if err := unix.Setns(orig, unix.CLONE_NEWNET); err != nil {
			// Leave the thread locked: it dies with this goroutine
			// instead of running others in the wrong namespace.
			return errors.Join(ferr, err)
		}
		runtime.UnlockOSThread()
		return ferr
	}
}

// newTransport starts a Transport in ns with iface id on ifname (not
// waiting for it to be bound); it is closed when the test ends.
func newTransport(t *testing.T, ns string, cfg Config, id int, ifname string) *Transport {
	t.Helper()
	tr, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	tr.inNetns = enterNetns(ns)
	t.Cleanup(func() { tr.Close() })
	if err := tr.AddIface(id, ifname); err != nil {
		t.Fatal(err)
	}
	return tr
}

// Interface numbers of the two ends: different on purpose, and not the
// kernel's indexes.
const ifaceA, ifaceB = 3, 7

type pair struct {
	*lab
	a, b   *Transport
	aAddr  netip.Addr // A's link-local address
	bAddr  netip.Addr
	pA, pB radar.PeerID // A as B knows it, B as A knows it; 0 until introduced
}

// newPair starts A and B on a lab and waits until both are bound.
func newPair(t *testing.T, cfgA, cfgB Config) *pair {
	t.Helper()
	p := &pair{lab: newLab(t, false)}
	p.a = newTransport(t, p.nsA, cfgA, ifaceA, p.ifA)
	p.b = newTransport(t, p.nsB, cfgB, ifaceB, p.ifB)
	p.aAddr = waitBound(t, p.a, ifaceA)
	p.bAddr = waitBound(t, p.b, ifaceB)
	return p
}

// introduce has A broadcast and B answer, so that each has the other's
// PeerID.
func (p *pair) introduce(t *testing.T) {
	t.Helper()
	send(t, p.a, node.Send{Iface: ifaceA, To: radar.Broadcast, Op: wire.OpEchoMe, Data: frame(wire.OpEchoMe, 1, nil)})
	got := expectPacket(t, p.b)
	p.pA = got.From
	send(t, p.b, node.Send{Iface: ifaceB, To: p.pA, Op: wire.OpEchoReply, Data: frame(wire.OpEchoReply, 1, nil)})
	p.pB = expectPacket(t, p.a).From
}

func waitBound(t *testing.T, tr *Transport, id int) netip.Addr {
	t.Helper()
	var a netip.Addr
	waitFor(t, "interface bound", func() bool {
		var ok bool
		a, ok = tr.LocalAddr(id)
		return ok
	})
	return a
}

// waitFor polls cond; the timeout only keeps a broken test from hanging.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func expectPacket(t *testing.T, tr *Transport) Packet {
	t.Helper()
	select {
	case p := <-tr.Recv():
		return p
	case <-time.After(15 * time.Second):
		t.Fatal("timed out waiting for a packet")
		return Packet{}
	}
}

func send(t *testing.T, tr *Transport, s node.Send) {
	t.Helper()
	if err := tr.Send(s); err != nil {
		t.Fatal(err)
	}
}

// frame builds a wire packet with an arbitrary payload: the transport only
// looks at the framing.
func frame(op wire.Op, id uint32, payload []byte) []byte {
	b := make([]byte, wire.HeaderLen+len(payload))
	b[0], b[1], b[2], b[3] = wire.Magic0, wire.Magic1, wire.Version, byte(op)
	binary.BigEndian.PutUint32(b[8:], id)
	binary.BigEndian.PutUint32(b[12:], uint32(len(payload)))
	copy(b[wire.HeaderLen:], payload)
	return b
}

// rawDial opens a plain TCP connection from ns (source address from, on
// device ifname) to to:port, as a peer that is not a Transport would.
func rawDial(t *testing.T, ns, ifname string, from, to netip.Addr, port int) *net.TCPConn {
	t.Helper()
	var conn net.Conn
	err := enterNetns(ns)(func() error {
		ifi, err := net.InterfaceByName(ifname)
		if err != nil {
			return err
		}
		zone := strconv.Itoa(ifi.Index)
		d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(from.WithZone(zone), 0))}
		conn, err = d.Dial("tcp6", netip.AddrPortFrom(to.WithZone(zone), uint16(port)).String())
		return err
	})
	if err != nil {
		t.Fatalf("raw dial %v -> %v: %v", from, to, err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn.(*net.TCPConn)
}

// rawUDP opens a plain UDP socket in ns connected to to:port.
func rawUDP(t *testing.T, ns, ifname string, to netip.Addr, port int) *net.UDPConn {
	t.Helper()
	var conn *net.UDPConn
	err := enterNetns(ns)(func() error {
		ifi, err := net.InterfaceByName(ifname)
		if err != nil {
			return err
		}
		conn, err = net.DialUDP("udp6", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(to.WithZone(strconv.Itoa(ifi.Index)), uint16(port))))
		return err
	})
	if err != nil {
		t.Fatalf("raw udp to %v: %v", to, err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// expectClosed waits until the peer closes conn (EOF or reset).
func expectClosed(t *testing.T, conn net.Conn) {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(15 * time.Second))
	var b [64]byte
	for {
		_, err := conn.Read(b[:])
		if err == nil {
			continue
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatal("connection still open")
		}
		return
	}
}

// linkLocalOf reads ifname's link-local address in ns and whether it is
// still tentative.
func linkLocalOf(t *testing.T, ns, ifname string) (addr string, tentative bool) {
	t.Helper()
	out := run(t, "ip", "-n", ns, "-6", "addr", "show", "dev", ifname, "scope", "link")
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == "inet6" {
			return f[1], strings.Contains(line, "tentative")
		}
	}
	return "", false
}
