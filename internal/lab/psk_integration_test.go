package lab

// A closed mesh with real daemons (docs/PROTOCOL.md, "Closed mesh:
// network key"): a line of nodes with one network key converges; a node
// with another key, or none, does not hook, and its neighbour counts its
// packets as drops; a key change goes without a flag day.

import (
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ntkd/ntkd/internal/ctl"
)

const (
	pskOld     = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	pskNew     = "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
	pskForeign = "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff00112233445566778899aabbccddeeff"
)

func meshConfig(send, accept string) string {
	s := "\n[mesh]\n"
	if send != "" {
		s += "network_key = \"" + send + "\"\n"
	}
	if accept != "" {
		s += "network_key_accept = \"" + accept + "\"\n"
	}
	return s
}

// startPSKLab brings up a line of n nodes, every one with the network key
// pskOld, without waiting.
func startPSKLab(t *testing.T, tag string, n int) Lab {
	t.Helper()
	tp, err := NewTopology("line", n, 1)
	if err != nil {
		t.Fatal(err)
	}
	return upTestLab(t, "k"+tag, UpOptions{Topology: tp, ExtraConfig: fastConfig + meshConfig(pskOld, "")})
}

// setMesh rewrites node's [mesh] keys in its configuration file (the
// lab's ExtraConfig part); reload sends the daemon SIGHUP.
func setMesh(t *testing.T, l Lab, node, send, accept string, reload bool) {
	t.Helper()
	s, err := l.Load()
	if err != nil {
		t.Fatal(err)
	}
	n, err := s.Node(node)
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(n.Config)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	i := strings.Index(text, "\n[mesh]\n")
	if i < 0 {
		t.Fatalf("%s: no [mesh] in its config", node)
	}
	end := i + len("\n[mesh]\n")
	for end < len(text) && strings.HasPrefix(text[end:], "network_key") {
		end += strings.IndexByte(text[end:], '\n') + 1
	}
	text = text[:i] + meshConfig(send, accept) + text[end:]
	if err := os.WriteFile(n.Config, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	if !reload {
		return
	}
	pidText, err := os.ReadFile(n.PIDFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(pidText)))
	if err := syscall.Kill(pid, syscall.SIGHUP); err != nil {
		t.Fatalf("%s: SIGHUP: %v", node, err)
	}
}

// drops are node's transport drop counters.
func drops(t *testing.T, l Lab, node string) map[string]uint64 {
	t.Helper()
	return ctlJSON[ctl.Counters](t, l, node, "counters").Dropped
}

// isolated: the nodes of in reach each other, and none of them reaches
// out or is reached by out.
func isolated(s *Status, in []string, out string) bool {
	for _, n := range s.Nodes {
		if !n.Running || !n.Hooked {
			return false
		}
		if n.Name == out {
			if n.Reaches != 0 {
				return false
			}
			continue
		}
		if !slices.Equal(n.Unreached, []string{out}) {
			return false
		}
	}
	return true
}

func TestIntegrationClosedMesh(t *testing.T) {
	l := startPSKLab(t, "c", 4)
	// n4 is restarted at once with another key, before it could hook.
	if _, err := l.Kill("n4", true); err != nil {
		t.Fatal(err)
	}
	setMesh(t, l, "n4", pskForeign, "", false)
	if _, err := l.Start("n4"); err != nil {
		t.Fatal(err)
	}
	in := []string{"n1", "n2", "n3"}
	waitStatus(t, l, "n1..n3 route to each other, n4 (foreign key) alone", 60*time.Second,
		func(s *Status) bool { return isolated(s, in, "n4") })
	// It stays so over a few QSPN rounds (5 s here).
	time.Sleep(12 * time.Second)
	waitStatus(t, l, "still so after 12 s", time.Second, func(s *Status) bool { return isolated(s, in, "n4") })
	if d := drops(t, l, "n3"); d["transport: bad_tag"] == 0 {
		t.Errorf("n3 counted no bad_tag drops from n4: %v", d)
	}
	if d := drops(t, l, "n4"); d["transport: bad_tag"] == 0 {
		t.Errorf("n4 counted no bad_tag drops from n3: %v", d)
	}
	if d := drops(t, l, "n2"); d["transport: bad_tag"]+d["transport: unauthenticated"] != 0 {
		t.Errorf("n2 dropped packets of its own mesh: %v", d)
	}

	// Without a key n4 is no better off.
	if _, err := l.Kill("n4", true); err != nil {
		t.Fatal(err)
	}
	setMesh(t, l, "n4", "", "", false)
	if _, err := l.Start("n4"); err != nil {
		t.Fatal(err)
	}
	before := drops(t, l, "n3")["transport: unauthenticated"]
	waitStatus(t, l, "n4 (no key) alone, its packets dropped at n3", 60*time.Second, func(s *Status) bool {
		return isolated(s, in, "n4") && drops(t, l, "n3")["transport: unauthenticated"] > before
	})
	time.Sleep(12 * time.Second)
	waitStatus(t, l, "still so after 12 s", time.Second, func(s *Status) bool { return isolated(s, in, "n4") })
	if d := drops(t, l, "n4"); d["transport: unauthenticated"] == 0 {
		t.Errorf("n4 counted no unauthenticated drops from n3: %v", d)
	}

	// Given the key (SIGHUP), n4 joins.
	setMesh(t, l, "n4", pskOld, "", true)
	waitFull(t, l, 60*time.Second)
}

// A key change without a flag day: the three steps, node by node with
// SIGHUP, the routes full all along (every mix of neighbours that the
// steps make talks).
func TestIntegrationKeyRotation(t *testing.T) {
	l := startPSKLab(t, "r", 4)
	waitFull(t, l, 60*time.Second)
	nodes := []string{"n1", "n2", "n3", "n4"}
	steps := []struct{ what, send, accept string }{
		{"1: the new key accepted", pskOld, pskNew},
		{"2: the new key sent, the old accepted", pskNew, pskOld},
		{"3: the old key dropped", pskNew, ""},
	}
	for _, st := range steps {
		for _, n := range nodes {
			setMesh(t, l, n, st.send, st.accept, true)
			// Neighbours in two steps of the change side by side for a
			// while: every route stays.
			time.Sleep(2 * time.Second)
			waitStatus(t, l, "routes full during step "+st.what+" after "+n, 3*time.Second, func(s *Status) bool { return s.Full })
		}
	}
	time.Sleep(5 * time.Second)
	waitStatus(t, l, "routes full after the change", time.Second, func(s *Status) bool { return s.Full })
	for _, n := range nodes {
		if d := drops(t, l, n); d["transport: bad_tag"]+d["transport: unauthenticated"] != 0 {
			t.Errorf("%s dropped packets during the change: %v", n, d)
		}
	}
}
