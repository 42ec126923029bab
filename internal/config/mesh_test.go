package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	testKeyHex  = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	testKey2Hex = "ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
)

func TestMeshKeys(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "network.key")
	if err := os.WriteFile(file, []byte(testKey2Hex+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Parse("t.toml", []byte("[mesh]\nnetwork_key = \""+testKeyHex+"\"\nnetwork_key_accept = \""+file+"\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	keys, err := c.Mesh.NetworkKeys()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || keys[0][0] != 0x00 || keys[0][31] != 0x1f || keys[1][0] != 0xff {
		t.Fatalf("keys %x, want the inline key then the file's", keys)
	}
	if keys, err := Default().Mesh.NetworkKeys(); err != nil || len(keys) != 0 {
		t.Fatalf("default: %v %v, want an open mesh", keys, err)
	}

	// A file others may read is refused, and so is one without a key; the
	// messages never show the key.
	os.Chmod(file, 0o644)
	if _, err := c.Mesh.NetworkKeys(); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("a 0644 key file: %v", err)
	}
	os.WriteFile(file, []byte("not a key"), 0o600)
	os.Chmod(file, 0o600)
	if _, err := c.Mesh.NetworkKeys(); err == nil || !strings.Contains(err.Error(), "hex digits") || strings.Contains(err.Error(), "not a key") {
		t.Errorf("a bad key file: %v", err)
	}
	if _, err := (Mesh{NetworkKey: filepath.Join(dir, "missing")}).NetworkKeys(); err == nil {
		t.Error("a missing key file is accepted")
	}
}

func TestMeshErrors(t *testing.T) {
	for _, c := range []struct{ in, key, msg string }{
		{"[mesh]\n@@network_key = \"abc\"\n", "mesh.network_key", "64 hex digits"},
		{"[mesh]\n@@network_key = \"" + strings.Repeat("g", 64) + "\"\n", "mesh.network_key", "hex digits (0-9, a-f)"},
		{"[mesh]\n@@network_key_accept = \"" + testKeyHex + "\"\n", "mesh.network_key_accept", "needs network_key"},
		{"[mesh]\nnetwork_key = \"" + testKeyHex + "\"\n@@network_key_accept = \"x/y\"\n", "mesh.network_key_accept", "64 hex digits"},
	} {
		text, line, col := unmark(t, c.in)
		_, err := Parse("t.toml", []byte(text))
		errs, ok := err.(Errors)
		if !ok || len(errs) != 1 {
			t.Errorf("%q: %v, want one error", text, err)
			continue
		}
		e := errs[0]
		if e.Key != c.key || e.Line != line || e.Col != col || !strings.Contains(e.Msg, c.msg) {
			t.Errorf("%q: %s:%d:%d %s, want %s at %d:%d (%s)", text, e.Key, e.Line, e.Col, e.Msg, c.key, line, col, c.msg)
		}
		if strings.Contains(e.Error(), "ggg") {
			t.Errorf("the message shows the key: %v", e)
		}
	}
}
