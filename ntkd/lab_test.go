//go:build !router

package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
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
