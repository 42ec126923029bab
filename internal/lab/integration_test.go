package lab

// Integration tests: the real ntkd binary in network namespaces joined by
// veth pairs. They build the binary once, run each scenario in a lab of its
// own (own directory and namespace prefix, removed also on failure) and
// check the kernel's routes and real traffic.

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Faster timers than the defaults so that the scenarios take seconds:
// QSPN rounds every 5 s, probes every second.
const fastConfig = `[radar]
interval = "1s"
probe_timeout = "250ms"

[qspn]
wait_round = "5s"
`

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// ntkdBinary builds ./ntkd once per test process.
func ntkdBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ntkd-integration-")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "ntkd")
		out, err := exec.Command("go", "build", "-o", builtBin, "github.com/ntkd/ntkd/ntkd").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

// upTestLab brings up a lab of the real daemon (opt.Ntkd is set here)
// under a prefix of its own (tag keeps it apart from other tests'), and
// takes it down when the test ends, with the daemons' logs on failure.
func upTestLab(t *testing.T, tag string, opt UpOptions) Lab {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: the test creates network namespaces")
	}
	opt.Ntkd = ntkdBinary(t)
	l := Lab{Dir: t.TempDir(), Prefix: fmt.Sprintf("ntkdi%d%s-", os.Getpid()%100000, tag)}
	t.Cleanup(func() {
		if t.Failed() {
			dumpLogs(t, l)
		}
		if _, err := l.Down(); err != nil {
			t.Errorf("down: %v", err)
		}
	})
	if _, err := l.Up(context.Background(), opt); err != nil {
		t.Fatal(err)
	}
	return l
}

// startLab brings up a lab of the real daemon and waits for full routes.
func startLab(t *testing.T, kind string, nodes int) (Lab, *Status) {
	t.Helper()
	tp, err := NewTopology(kind, nodes, 1)
	if err != nil {
		t.Fatal(err)
	}
	l := upTestLab(t, kind[:1], UpOptions{Topology: tp, ExtraConfig: fastConfig})
	return l, waitFull(t, l, 60*time.Second)
}

func dumpLogs(t *testing.T, l Lab) {
	s, err := l.Load()
	if err != nil {
		return
	}
	for _, n := range s.Nodes {
		b, _ := os.ReadFile(n.Log)
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		t.Logf("%s log (last lines):\n%s", n.Name, strings.Join(lines[max(0, len(lines)-15):], "\n"))
	}
}

func waitFull(t *testing.T, l Lab, limit time.Duration) *Status {
	t.Helper()
	return waitStatus(t, l, "every node routes to every other", limit, func(s *Status) bool { return s.Full })
}

func waitStatus(t *testing.T, l Lab, what string, limit time.Duration, ok func(*Status) bool) *Status {
	t.Helper()
	deadline := time.Now().Add(limit)
	var last *Status
	for {
		s, err := l.Status()
		if err != nil {
			t.Fatal(err)
		}
		if ok(s) {
			return s
		}
		last = s
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	for _, n := range last.Nodes {
		t.Logf("%s running=%v addr=%v routes=%d unreached=%v %s", n.Name, n.Running, n.Address, n.Routes, n.Unreached, n.Error)
	}
	t.Fatalf("%s: not within %v", what, limit)
	return nil
}

func addrOf(t *testing.T, s *Status, name string) netip.Addr {
	t.Helper()
	for _, n := range s.Nodes {
		if n.Name == name {
			if !n.Address.IsValid() {
				t.Fatalf("%s has no address", name)
			}
			return n.Address
		}
	}
	t.Fatalf("no node %s", name)
	return netip.Addr{}
}

// ping sends a few packets from node to dst inside the lab until one
// comes back, within limit.
func ping(t *testing.T, l Lab, from string, dst netip.Addr, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		out, err := l.Exec(ctx, from, "ping", "-c", "1", "-W", "1", dst.String())
		cancel()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("ping %s -> %s: %v\n%s", from, dst, err, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func ntkRoutes(t *testing.T, l Lab, node string) string {
	t.Helper()
	out, err := l.Exec(context.Background(), node, "ip", "route", "show", "proto", "15")
	if err != nil {
		t.Fatalf("ip route in %s: %v", node, err)
	}
	return strings.TrimSpace(string(out))
}

// A ring of 8: full routes, traffic across the ring; a link on the path
// goes down and traffic goes the other way round; a crashed node's routes
// go everywhere; a stopped daemon leaves no route; a restarted one rejoins.
func TestIntegrationRing8(t *testing.T) {
	l, st := startLab(t, "ring", 8)
	n5 := addrOf(t, st, "n5")
	n2 := addrOf(t, st, "n2")
	ping(t, l, "n1", n5, 10*time.Second)

	// Fail over: n1-n2 goes down, n1 reaches n2 the long way round.
	if err := l.Cut("n1", "n2", false); err != nil {
		t.Fatal(err)
	}
	ping(t, l, "n1", n2, 20*time.Second)
	if r := ntkRoutes(t, l, "n1"); strings.Contains(r, "dev n2") {
		t.Fatalf("n1 still routes through the cut link:\n%s", r)
	}
	if err := l.Restore("n1", "n2"); err != nil {
		t.Fatal(err)
	}
	waitFull(t, l, 30*time.Second)

	// A crash: every other node drops its routes to n5.
	if _, err := l.Kill("n5", false); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, l, "no route to the crashed n5", 60*time.Second, func(s *Status) bool {
		for _, n := range s.Nodes {
			if n.Name != "n5" && !slices.Contains(n.Unreached, "n5") {
				return false
			}
		}
		return true
	})
	// It comes back and rejoins.
	if _, err := l.Start("n5"); err != nil {
		t.Fatal(err)
	}
	st = waitFull(t, l, 60*time.Second)
	ping(t, l, "n1", addrOf(t, st, "n5"), 10*time.Second)

	// A clean stop leaves no proto ntk route and no mesh address behind.
	if _, err := l.Kill("n3", true); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, l, "n3 stopped", 10*time.Second, func(s *Status) bool {
		for _, n := range s.Nodes {
			if n.Name == "n3" {
				return !n.Running
			}
		}
		return false
	})
	if r := ntkRoutes(t, l, "n3"); r != "" {
		t.Fatalf("a stopped daemon left routes:\n%s", r)
	}
	out, _ := l.Exec(context.Background(), "n3", "ip", "-4", "addr", "show", "scope", "global")
	if strings.Contains(string(out), "inet ") {
		t.Fatalf("a stopped daemon left its address:\n%s", out)
	}
}

// A line of 8 and a grid of 16 converge with traffic end to end, and a
// node that starts late hooks into the gnode the others already made.
func TestIntegrationLine8(t *testing.T) {
	l, st := startLab(t, "line", 8)
	n1 := addrOf(t, st, "n1")
	ping(t, l, "n1", addrOf(t, st, "n8"), 10*time.Second)
	ping(t, l, "n8", n1, 10*time.Second)

	// ANDNA and the DNS wrapper: n1's name, from the far end of the line,
	// with dig as any program would ask; and back from the address.
	dig(t, l, "n8", n1.String(), 45*time.Second, "+short", "n1.ntk")
	dig(t, l, "n8", "n1.ntk.", 30*time.Second, "+short", "-x", n1.String())
	dig(t, l, "n8", "NXDOMAIN", 10*time.Second, "nobody.ntk")

	// A restart keeps n1's key (the same file, the same bytes) and its
	// name, which points at wherever n1 hooked this time: its first
	// update is news to the hash gnode, not a replay.
	lst, err := l.Load()
	if err != nil {
		t.Fatal(err)
	}
	n1node, err := lst.Node("n1")
	if err != nil {
		t.Fatal(err)
	}
	keyBefore, err := os.ReadFile(filepath.Join(n1node.Dir, "andna.key"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Kill("n1", true); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, l, "n1 stopped", 10*time.Second, func(s *Status) bool { return !s.Nodes[0].Running })
	if _, err := l.Start("n1"); err != nil {
		t.Fatal(err)
	}
	st = waitFull(t, l, 60*time.Second)
	if keyAfter, err := os.ReadFile(filepath.Join(n1node.Dir, "andna.key")); err != nil || !bytes.Equal(keyAfter, keyBefore) {
		t.Fatalf("n1's key changed across its restart (%v)", err)
	}
	n1 = addrOf(t, st, "n1")
	// Once the hash gnode took n1's first update of this run (10 s after
	// the hook, andna Settle, or a retry 30 s later), a node that never
	// asked gets the new address (n8 may answer from its resolved cache,
	// kept 5 minutes, andna ResolvedTTL).
	deadline := time.Now().Add(90 * time.Second)
	for {
		out, err := l.Exec(context.Background(), "n1", ntkdBinary(t), "ctl", "-s", n1node.Socket, "andna", "list")
		if err == nil && strings.Contains(string(out), " registered ") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("n1's name not registered again within 90 s of its restart: %v\n%s", err, out)
		}
		time.Sleep(time.Second)
	}
	dig(t, l, "n5", n1.String(), 10*time.Second, "+short", "n1.ntk")

	// ntkd dump dissects what crosses a link, live: radar probes every
	// few seconds at least.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := l.Exec(ctx, "n2", ntkdBinary(t), "dump", "-i", "n1", "-c", "3")
	if err != nil || !strings.Contains(string(out), "ECHO_ME id=") || !strings.Contains(string(out), "3 ntk packets") {
		t.Fatalf("ntkd dump -i n1 on n2: %v\n%s", err, out)
	}
}

// dig asks node's DNS wrapper until the answer contains want.
func dig(t *testing.T, l Lab, node, want string, limit time.Duration, args ...string) {
	t.Helper()
	if _, err := exec.LookPath("dig"); err != nil {
		t.Fatal("dig is needed (Debian package dnsutils): ", err)
	}
	deadline := time.Now().Add(limit)
	var out []byte
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		cmd := append([]string{"dig", "@127.0.0.1", "-p", fmt.Sprint(DNSPort), "+time=2", "+tries=1"}, args...)
		out, _ = l.Exec(ctx, node, cmd...)
		cancel()
		if strings.Contains(string(out), want) {
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("dig %v from %s: no %q within %v; last answer:\n%s", args, node, want, limit, out)
}

func TestIntegrationGrid16(t *testing.T) {
	l, st := startLab(t, "grid", 16)
	ping(t, l, "n1", addrOf(t, st, "n16"), 10*time.Second)
	gnode := func(a netip.Addr) netip.Prefix { p, _ := a.Prefix(24); return p }
	want := gnode(addrOf(t, st, "n1"))
	for _, n := range st.Nodes {
		if gnode(n.Address) != want {
			t.Logf("%s is in gnode %v, n1 in %v (several gnodes formed at start)", n.Name, gnode(n.Address), want)
		}
	}
	// A late joiner: n16 stops, the mesh forgets it, it starts again and
	// takes a free id in the gnode of its neighbours.
	if _, err := l.Kill("n16", true); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, l, "n16 stopped", 10*time.Second, func(s *Status) bool { return !s.Nodes[15].Running })
	if _, err := l.Start("n16"); err != nil {
		t.Fatal(err)
	}
	st = waitFull(t, l, 60*time.Second)
	n16 := addrOf(t, st, "n16")
	var neighbourGnodes []netip.Prefix
	for _, lk := range st.Links {
		if lk.A == "n16" || lk.B == "n16" {
			other := lk.A
			if other == "n16" {
				other = lk.B
			}
			neighbourGnodes = append(neighbourGnodes, gnode(addrOf(t, st, other)))
		}
	}
	if !slices.Contains(neighbourGnodes, gnode(n16)) {
		t.Fatalf("late n16 (%v) is in none of its neighbours' gnodes %v", n16, neighbourGnodes)
	}
	ping(t, l, "n16", addrOf(t, st, "n1"), 10*time.Second)
}
