//go:build !router

package main

import (
	"bytes"
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ntkd/ntkd/internal/entry"
	"github.com/ntkd/ntkd/internal/logx"
)

const entryConfigExample = `# an entry server
listen = "127.0.0.1:0"
key_file = "KEYFILE"
expiry = "20m"
max_records = 100

[[peer]]
address = "127.0.0.1:27101"
public_key = "A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg="

[[peer]]
public_key = "eW4Yy+wRTnVe5m4QqrqGWKOhwBwTqFYR1q2ReLYb9ak="
mirror = true
`

func TestEntryServerConfig(t *testing.T) {
	s, err := parseEntryServerConfig("es.toml", entryConfigExample)
	if err != nil {
		t.Fatal(err)
	}
	if s.listen.String() != "127.0.0.1:0" || s.server.List.Expiry != 20*time.Minute || s.server.List.MaxRecords != 100 ||
		len(s.server.Peers) != 2 || !s.server.Peers[0].Addr.IsValid() || s.server.Peers[1].Addr.IsValid() || !s.server.Peers[1].Mirror {
		t.Errorf("parsed %+v", s)
	}

	for _, c := range []struct{ text, want string }{
		{"key_file = \"k\"\nlisten_on = \"x\"\n", "es.toml:2:1: listen_on: unknown key"},
		{"key_file = \"k\"\n[[peer]]\npublic_key = \"A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=\"\n  port = 1\n", "es.toml:4:3: peer.port: unknown key"},
		{"key_file = \"k\"\nlisten = \"example.org:1\"\n", "es.toml:2:1: listen: want a literal IP:port"},
		{"listen = \"[::]:1\"\n", "es.toml: key_file: required"},
		{"key_file = \"k\"\nexpiry = \"1s\"\n", "es.toml:2:1: expiry: 1s is below 1m0s"},
		{"key_file = \"k\"\nexpiry = \"soon\"\n", "es.toml:2"},
		{"key_file = \"k\"\n[[peer]]\npublic_key = \"short\"\n", "es.toml:3:1: peer.public_key: peer 1"},
		{"key_file = \"k\"\nmirror = true\n[[peer]]\naddress = \"192.0.2.1:1\"\npublic_key = \"A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=\"\n",
			"es.toml:4:1: peer.address: peer 1: a mirror never sends to a full server"},
		{"key_file = \"k\"\nmax_hops = 99\n", "es.toml:2:1: max_hops: 99 out of 1..16"},
	} {
		_, err := parseEntryServerConfig("es.toml", c.text)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.text, err, c.want)
		}
	}
}

// TestEntryServerRuns starts the command's server on loopback, checks the
// key file is made 0600, sends an update and reads it back, then stops it.
func TestEntryServerRuns(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "sub", "entry.key")
	s, err := parseEntryServerConfig("es.toml", strings.Replace(entryConfigExample, "KEYFILE", keyFile, 1))
	if err != nil {
		t.Fatal(err)
	}
	s.server.Peers = nil // nobody listens on the example's peer
	ctx, cancel := context.WithCancel(t.Context())
	var logs bytes.Buffer
	ready := make(chan netip.AddrPort, 1)
	done := make(chan error, 1)
	go func() { done <- serveEntry(ctx, s, logx.New(&logs, nil), ready) }()
	var addr netip.AddrPort
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatal(err)
	}
	st, err := os.Stat(keyFile)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, %v", st, err)
	}
	key, err := entry.LoadOrCreateKey(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	server := entry.Peer{Addr: addr, Key: entry.PublicKeyOf(key)}
	node, err := entry.LoadOrCreateKey(filepath.Join(dir, "node.key"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	u, err := entry.NewUpdate(node, [32]byte{7}, netip.MustParseAddrPort("192.0.2.7:27000"), entry.Position{}, now.Add(-time.Hour), now)
	if err != nil {
		t.Fatal(err)
	}
	c := &entry.Client{Timeout: 5 * time.Second}
	if err := c.Send(ctx, server, u); err != nil {
		t.Fatal(err)
	}
	es, err := c.Fetch(ctx, server)
	if err != nil || len(es) != 1 || es[0].Endpoint != u.Endpoint {
		t.Fatalf("fetched %+v, %v", es, err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "entry server up") || !strings.Contains(logs.String(), "accepted=1") {
		t.Errorf("logs:\n%s", logs.String())
	}
}

// TestEntryServerDocExample: the configuration docs/VLAYER.md shows parses.
func TestEntryServerDocExample(t *testing.T) {
	doc, err := os.ReadFile("../docs/VLAYER.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(doc)
	i := strings.Index(text, "```toml\nlisten = ")
	if i < 0 {
		t.Fatal("no entry-server example in docs/VLAYER.md")
	}
	text = text[i+len("```toml\n"):]
	text = text[:strings.Index(text, "```")]
	text = strings.Replace(text, "...base64...", "A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=", 1)
	s, err := parseEntryServerConfig("VLAYER.md", text)
	if err != nil {
		t.Fatal(err)
	}
	if s.server.List.MaxRecords != 4096 || s.server.List.Expiry != 30*time.Minute || len(s.server.Peers) != 1 {
		t.Errorf("parsed %+v", s)
	}
}
