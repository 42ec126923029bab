package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := dispatch(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestVersion(t *testing.T) {
	for _, a := range []string{"--version", "version", "-v"} {
		code, out, _ := run(t, a)
		if code != exitOK || out != "ntkd "+version+"\n" {
			t.Errorf("%s: %d %q", a, code, out)
		}
	}
}

func TestHelpListsOnlyRealCommands(t *testing.T) {
	code, out, _ := run(t, "help")
	if code != exitOK {
		t.Fatal(code)
	}
	for name := range commands() {
		if !strings.Contains(out, "  "+name+" ") {
			t.Errorf("help does not list %s:\n%s", name, out)
		}
	}
	// Every listed command must dispatch (no placeholders).
	for _, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, "  ") {
			continue
		}
		name := strings.Fields(line)[0]
		if _, ok := commands()[name]; !ok {
			t.Errorf("help lists unknown command %q", name)
		}
	}
	if code, _, _ := run(t); code != exitUsage {
		t.Errorf("no arguments: exit %d", code)
	}
	if code, _, errs := run(t, "frobnicate"); code != exitUsage || !strings.Contains(errs, "unknown command") {
		t.Errorf("unknown command: %d %q", code, errs)
	}
}

func TestCheckConfig(t *testing.T) {
	example := filepath.Join("..", "files", "etc", "ntkd.example.toml")
	code, out, errs := run(t, "check-config", "-c", example)
	if code != exitOK || !strings.Contains(out, ": ok") || errs != "" {
		t.Fatalf("example config: %d %q %q", code, out, errs)
	}
	if code, out, _ := run(t, "check-config", "-q", "-c", example); code != exitOK || out != "" {
		t.Fatalf("-q: %d %q", code, out)
	}

	bad := filepath.Join(t.TempDir(), "bad.toml")
	os.WriteFile(bad, []byte("log_level = \"info\"\n[qspn]\nmax_routes = 99\n"), 0o600)
	code, out, errs = run(t, "check-config", "-c", bad)
	if code != exitFail || out != "" || !strings.Contains(errs, bad+":3:1: qspn.max_routes") {
		t.Fatalf("bad config: %d %q %q", code, out, errs)
	}
	if code, _, errs := run(t, "check-config", "-c", filepath.Join(t.TempDir(), "missing.toml")); code != exitFail || errs == "" {
		t.Fatalf("missing file: %d %q", code, errs)
	}
	if code, _, _ := run(t, "check-config", "-x"); code != exitUsage {
		t.Fatalf("bad flag: %d", code)
	}
	if code, _, _ := run(t, "check-config", "-c", example, "extra"); code != exitUsage {
		t.Fatalf("extra argument: %d", code)
	}
}

func TestCtlRequest(t *testing.T) {
	for _, c := range []struct {
		args []string
		cmd  string
		arg  string
		ok   bool
	}{
		{[]string{"status"}, "status", "", true},
		{[]string{"andna", "resolve", "myrouter"}, "andna-resolve", "myrouter", true},
		{[]string{"andna", "reverse", "10.1.2.3"}, "andna-reverse", "10.1.2.3", true},
		{[]string{"andna", "list"}, "andna-list", "", true},
		{[]string{"andna", "list", "x"}, "", "", false},
		{[]string{"andna", "resolve"}, "", "", false},
		{[]string{"andna", "steal", "x"}, "", "", false},
		{[]string{"status", "x"}, "", "", false},
		{nil, "", "", false},
		{[]string{"vlink", "add", "198.51.100.7:27000", "KEY"}, "vlink-add", "198.51.100.7:27000", true},
		{[]string{"vlink", "add", "198.51.100.7:27000", "KEY", "--port", "27001", "--name", "vx"}, "vlink-add", "198.51.100.7:27000", true},
		{[]string{"vlink", "add", "198.51.100.7:27000"}, "", "", false},
		{[]string{"vlink", "add", "198.51.100.7:27000", "KEY", "--port", "x"}, "", "", false},
		{[]string{"vlink", "add", "198.51.100.7:27000", "KEY", "extra"}, "", "", false},
		{[]string{"vlink", "del", "ntkm0"}, "vlink-del", "ntkm0", true},
		{[]string{"vlink", "del"}, "", "", false},
		{[]string{"vlink", "list"}, "", "", false},
	} {
		req, ok := ctlRequest(c.args)
		if ok != c.ok || req.Cmd != c.cmd || req.Arg != c.arg {
			t.Errorf("%q: %+v %v, want %s %q %v", c.args, req, ok, c.cmd, c.arg, c.ok)
		}
	}
}
