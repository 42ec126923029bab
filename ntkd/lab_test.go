//go:build !router

package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestParseLabArgs(t *testing.T) {
	for _, c := range []struct {
		args   []string
		want   []string
		silent bool
	}{
		{[]string{"n1", "n2"}, []string{"n1", "n2"}, false},
		{[]string{"n1", "n2", "--silent"}, []string{"n1", "n2"}, true},
		{[]string{"--silent", "n1", "n2"}, []string{"n1", "n2"}, true},
		{[]string{"n1", "-silent", "n2"}, []string{"n1", "n2"}, true},
		{[]string{"n1", "--", "--silent"}, []string{"n1", "--silent"}, false},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		silent := fs.Bool("silent", false, "")
		got, _, ok := parseLabArgs(fs, c.args, -1, "")
		if !ok || !slices.Equal(got, c.want) || *silent != c.silent {
			t.Errorf("%q: %q silent=%v ok=%v", c.args, got, *silent, ok)
		}
	}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if _, code, ok := parseLabArgs(fs, []string{"n1"}, 2, "lab cut A B"); ok || code != exitUsage {
		t.Errorf("one argument for two: ok=%v code=%d", ok, code)
	}
}

// TestLeadingLabFlags: the hints print `ntkd lab --dir D exec ...`, so the
// flags every command takes may also stand before the command.
func TestLeadingLabFlags(t *testing.T) {
	for _, c := range []struct{ args, lead, rest []string }{
		{[]string{"exec", "n1"}, nil, []string{"exec", "n1"}},
		{[]string{"--dir", "/d", "--prefix", "p-", "exec", "n1", "--", "ip"}, []string{"--dir", "/d", "--prefix", "p-"}, []string{"exec", "n1", "--", "ip"}},
		{[]string{"-dir=/d", "status"}, []string{"-dir=/d"}, []string{"status"}},
		{[]string{"--silent", "cut"}, nil, []string{"--silent", "cut"}},
		{[]string{"--dir"}, []string{"--dir"}, nil},
	} {
		lead, rest := leadingLabFlags(c.args)
		if !slices.Equal(lead, c.lead) || !slices.Equal(rest, c.rest) {
			t.Errorf("%q: lead %q rest %q", c.args, lead, rest)
		}
	}
}

func TestLabUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := runLab(nil, &out, &errb); code != exitUsage || !strings.Contains(errb.String(), "usage: ntkd lab") {
		t.Errorf("no command: %d %q", code, errb.String())
	}
	if code := runLab([]string{"frobnicate"}, &out, &errb); code != exitUsage {
		t.Errorf("unknown command: %d", code)
	}
	if code := runLab([]string{"cut", "n1"}, &out, &errb); code != exitUsage {
		t.Errorf("cut with one node: %d", code)
	}
}

// TestLabCommands drives the command line over a lab of fake daemons: the
// exit codes scripts rely on.
func TestLabCommands(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("not root: the lab needs network namespaces")
	}
	tmp := t.TempDir()
	common := []string{"--dir", filepath.Join(tmp, "lab"), "--prefix", fmt.Sprintf("ntkdc%d-", os.Getpid())}
	fake := filepath.Join(tmp, "fake-ntkd")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\nexec sleep 3600\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	lab := func(args ...string) (int, string) {
		t.Helper()
		var out bytes.Buffer
		// The lab's flags right after the command: after "--" they would
		// belong to the command exec runs.
		code := runLab(slices.Concat(args[:1], common, args[1:]), &out, &out)
		return code, out.String()
	}
	t.Cleanup(func() {
		if code, out := lab("down"); code != exitOK {
			t.Errorf("down: %d %s", code, out)
		}
	})

	if code, out := lab("up", "--topology", "line", "--nodes", "3", "--ntkd", fake, "--wait", "0"); code != exitOK || !strings.Contains(out, "3 nodes, 2 links") {
		t.Fatalf("up: %d %s", code, out)
	}
	// No daemon sets routes: the lab is not full.
	if code, out := lab("status"); code != exitFail || !strings.Contains(out, "0/6 routes: not full") {
		t.Errorf("status: %d %s", code, out)
	}
	if code, out := lab("status", "--json"); code != exitFail || !strings.Contains(out, `"full": false`) {
		t.Errorf("status --json: %d %s", code, out)
	}
	if code, out := lab("cut", "n1", "n2"); code != exitOK {
		t.Errorf("cut: %d %s", code, out)
	}
	if code, out := lab("status"); !strings.Contains(out, "links down: n1-n2") {
		t.Errorf("status after cut: %d %s", code, out)
	}
	if code, out := lab("restore", "n2", "n1"); code != exitOK {
		t.Errorf("restore: %d %s", code, out)
	}
	if code, out := lab("cut", "n1", "n3"); code != exitFail {
		t.Errorf("cut of no link: %d %s", code, out)
	}
	if code, out := lab("exec", "n2", "--", "sh", "-c", "exit 7"); code != 7 {
		t.Errorf("exec exit status: %d %s", code, out)
	}
	if code, out := lab("kill", "n3"); code != exitOK || !strings.Contains(out, "killed pid") {
		t.Errorf("kill: %d %s", code, out)
	}
	if code, out := lab("start", "n3"); code != exitOK || !strings.Contains(out, "started") {
		t.Errorf("start: %d %s", code, out)
	}
	if code, out := lab("up", "--nodes", "3", "--ntkd", fake, "--wait", "0"); code != exitFail || !strings.Contains(out, "lab down") {
		t.Errorf("second up: %d %s", code, out)
	}
	if code, out := lab("down"); code != exitOK || !strings.Contains(out, "removed 3 namespaces") {
		t.Errorf("down: %d %s", code, out)
	}
	if code, out := lab("status"); code != exitFail || !strings.Contains(out, "no lab") {
		t.Errorf("status without a lab: %d %s", code, out)
	}
}

func TestParseGateways(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
		ok   bool
	}{
		{"", nil, true},
		{"n1", []string{"n1"}, true},
		{"n1,n5", []string{"n1", "n5"}, true},
		{" n1 , n5 ", []string{"n1", "n5"}, true},
		{"n1,,n5", nil, false},
		{"n1,", nil, false},
	} {
		got, err := parseGateways(c.in)
		if (err == nil) != c.ok || !slices.Equal(got, c.want) {
			t.Errorf("%q: %q %v", c.in, got, err)
		}
	}
}

// TestLabGatewayCommands: up --gateways, the gateways in status (text and
// JSON), uplink cut and restore, and the errors of bad gateway lists, over
// fake daemons (the echo server is one too).
func TestLabGatewayCommands(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("not root: the lab needs network namespaces")
	}
	tmp := t.TempDir()
	prefix := fmt.Sprintf("ntkdg%d-", os.Getpid())
	common := []string{"--dir", filepath.Join(tmp, "lab"), "--prefix", prefix}
	fake := filepath.Join(tmp, "fake-ntkd")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\nexec sleep 3600\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	lab := func(args ...string) (int, string) {
		t.Helper()
		var out bytes.Buffer
		code := runLab(slices.Concat(args[:1], common, args[1:]), &out, &out)
		return code, out.String()
	}
	t.Cleanup(func() {
		if code, out := lab("down"); code != exitOK {
			t.Errorf("down: %d %s", code, out)
		}
	})
	up := []string{"up", "--topology", "line", "--nodes", "3", "--ntkd", fake, "--wait", "0"}

	for _, c := range []struct{ list, msg string }{
		{"n1,n4", `no node "n4"`},
		{"n2,n2", "listed twice"},
		{"n1,,n2", "empty node name"},
	} {
		if code, out := lab(append(up, "--gateways", c.list)...); code == exitOK || !strings.Contains(out, c.msg) {
			t.Errorf("--gateways %s: %d %s", c.list, code, out)
		}
	}
	if code, out := lab(append(up, "--gateways", "n3,n1")...); code != exitOK || !strings.Contains(out, "gateways    n3 (up0 198.51.100.2/30), n1 (up0 198.51.100.6/30)") {
		t.Fatalf("up: %d %s", code, out)
	}
	if code, out := lab("status"); !strings.Contains(out, "gateways: n3 (up0 198.51.100.2/30, up) n1 (up0 198.51.100.6/30, up); echo server 203.0.113.1:7 in "+prefix+"wan: pid ") {
		t.Errorf("status: %d %s", code, out)
	}
	if code, out := lab("uplink", "cut", "n1"); code != exitOK || !strings.Contains(out, "n1: uplink up0 down") {
		t.Errorf("uplink cut: %d %s", code, out)
	}
	if code, out := lab("status", "--json"); !strings.Contains(out, `"node": "n1"`) || !strings.Contains(out, `"up": false`) || !strings.Contains(out, `"echo": "203.0.113.1:7"`) {
		t.Errorf("status --json after the cut: %d %s", code, out)
	}
	if code, out := lab("uplink", "restore", "n1"); code != exitOK {
		t.Errorf("uplink restore: %d %s", code, out)
	}
	if code, out := lab("status"); strings.Contains(out, "cut)") {
		t.Errorf("status after restore: %d %s", code, out)
	}
	if code, out := lab("uplink", "cut", "n2"); code != exitFail || !strings.Contains(out, "n2 is not a gateway") {
		t.Errorf("uplink of a non-gateway: %d %s", code, out)
	}
	if code, out := lab("uplink", "sever", "n1"); code != exitUsage {
		t.Errorf("uplink sever: %d %s", code, out)
	}
	if code, out := lab("down"); code != exitOK || !strings.Contains(out, "removed 4 namespaces, stopped 4 processes") {
		t.Errorf("down: %d %s", code, out)
	}
}

// TestLabEchoServer runs the hidden echo-server command on the loopback
// and talks to it over TCP and UDP. The server stops only on a signal, so
// it serves on until the test binary exits.
func TestLabEchoServer(t *testing.T) {
	ln, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.LocalAddr().String() // a port free for UDP; TCP's is likely free too
	ln.Close()
	var out syncBuffer
	done := make(chan int, 1)
	go func() { done <- runLab([]string{"echo-server", addr}, &out, &out) }()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(out.String(), "echo server on") {
		select {
		case code := <-done:
			t.Skipf("echo-server exited %d (port taken?): %s", code, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("echo-server not ready: %s", out.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, network := range []string{"tcp", "udp"} {
		c, err := net.DialTimeout(network, addr, 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(2 * time.Second))
		if _, err := c.Write([]byte("hello " + network)); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 64)
		n, err := io.ReadAtLeast(c, buf, len("hello "+network))
		if err != nil || string(buf[:n]) != "hello "+network {
			t.Errorf("%s echo: %q %v", network, buf[:n], err)
		}
		c.Close()
	}
	if code := runLab([]string{"echo-server", "nowhere"}, io.Discard, io.Discard); code != exitUsage {
		t.Errorf("a bad address: %d", code)
	}
}

// syncBuffer is a bytes.Buffer safe for one writer and one reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
