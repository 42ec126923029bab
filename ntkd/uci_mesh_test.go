package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ntkd/ntkd/internal/config"
)

const uciTestKey = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

// The network key: UCI options of the main section, into [mesh]; the
// TOML that holds it is readable by root only.
func TestUCIRenderNetworkKey(t *testing.T) {
	code, _, stderr, toml, _ := renderUCI(t, "config ntkd 'main'\n\toption network_key '"+uciTestKey+"'\n\toption network_key_accept '/etc/ntkd/network.key'\n")
	if code != exitOK || stderr != "" {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	want := "mesh.network_key = \"" + uciTestKey + "\"\nmesh.network_key_accept = \"/etc/ntkd/network.key\"\n"
	if !strings.Contains(toml, want) {
		t.Errorf("toml:\n%s\nwant:\n%s", toml, want)
	}
	cfg, err := config.Parse("t", []byte(toml))
	if err != nil || cfg.Mesh.NetworkKey != uciTestKey {
		t.Errorf("parse: %v %+v", err, cfg.Mesh)
	}

	dir := t.TempDir()
	in, out := filepath.Join(dir, "ntkd"), filepath.Join(dir, "ntkd.toml")
	os.WriteFile(in, []byte("config ntkd 'main'\n\toption network_key '"+uciTestKey+"'\n"), 0o644)
	os.WriteFile(out, []byte("old"), 0o644)
	if code, _, stderr := run(t, "uci-render", "-c", in, "-o", out); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if st, err := os.Stat(out); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("rendered TOML: %v %v, want mode 0600", st.Mode(), err)
	}
}

func TestUCIRenderNetworkKeyErrors(t *testing.T) {
	for _, tc := range []struct{ uci, want string }{
		{"config ntkd 'main'\n\toption network_key 'secret'\n",
			"F:2:21: ntkd.main.network_key: want 64 hex digits (32 random bytes, e.g. from `openssl rand -hex 32`) or an absolute file path; have 6 characters\n"},
		{"config ntkd 'main'\n\toption network_key '" + strings.Repeat("z", 64) + "'\n",
			"F:2:21: ntkd.main.network_key: want 64 hex digits (0-9, a-f) or an absolute file path\n"},
		{"config ntkd 'main'\n\toption network_key_accept '" + uciTestKey + "'\n",
			"F:2:28: ntkd.main.network_key_accept: a key accepted during a key change needs network_key, the key sent with\n"},
		{"config ntkd 'main'\n\tlist network_key '" + uciTestKey + "'\n",
			"F:2:7: ntkd.main.network_key: one value: option, not list\n"},
	} {
		dir := t.TempDir()
		in, out := filepath.Join(dir, "F"), filepath.Join(dir, "ntkd.toml")
		os.WriteFile(in, []byte(tc.uci), 0o644)
		code, stdout, stderr := run(t, "uci-render", "-c", in, "-o", out)
		if got := strings.ReplaceAll(stderr, in, "F"); code != exitFail || got != tc.want || stdout != "" {
			t.Errorf("%q: exit %d, stderr:\n%s\nwant:\n%s", tc.uci, code, got, tc.want)
		}
		if strings.Contains(stderr, "zzzz") {
			t.Errorf("the error shows the key: %s", stderr)
		}
	}
}
