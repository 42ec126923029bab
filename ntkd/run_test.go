package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ntkd/ntkd/internal/config"
	"github.com/ntkd/ntkd/internal/logx"
	"github.com/ntkd/ntkd/internal/transport"
)

// --log-split: procd's priorities from the level of each line.
func TestLevelSplit(t *testing.T) {
	var out, errb bytes.Buffer
	log := logx.New(levelSplit{out: &out, err: &errb}, logx.LevelDebug)
	log.Debug("d1")
	log.Info("i1", "text", "level=ERROR inside a value")
	log.Warn("w1")
	log.Error("e1", "err", "x")
	log.Log(logx.LevelError+4, "e2")
	log.Info("i2")
	lines := func(b *bytes.Buffer) (msgs []string) {
		for _, l := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n") {
			_, m, _ := strings.Cut(l, " msg=")
			m, _, _ = strings.Cut(m, " ")
			msgs = append(msgs, m)
		}
		return msgs
	}
	if got := strings.Join(lines(&out), " "); got != "d1 i1 i2" {
		t.Errorf("stdout: %s\n%s", got, out.String())
	}
	if got := strings.Join(lines(&errb), " "); got != "w1 e1 e2" {
		t.Errorf("stderr: %s\n%s", got, errb.String())
	}
}

func TestRunLogSplitFlag(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "ntkd.toml")
	if err := os.WriteFile(cfg, []byte("log_level = \"debug\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Without an interface the daemon stops at once with an error line:
	// on stderr with the flag as without it.
	for _, args := range [][]string{{"run", "-c", cfg}, {"run", "--log-split", "-c", cfg}} {
		code, stdout, stderr := run(t, args...)
		if code != exitNoIface || stdout != "" || !strings.Contains(stderr, "level=ERROR msg=\"no mesh interface configured") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, stdout, stderr)
		}
	}
}

// Every [limits] key reaches the transport, and the result is valid.
func TestTransportConfigFromLimits(t *testing.T) {
	cfg, err := config.Parse("t.toml", []byte("[limits]\nper_source_rate = 50\nper_source_burst = 70\nmax_conns = 9\nmax_conns_per_source = 2\nmax_fresh_conns = 3\nstream_queue = 11\nrecv_queue = 12\nmax_peers = 99\n"))
	if err != nil {
		t.Fatal(err)
	}
	got := transportConfig(cfg)
	want := transport.Config{DatagramPort: 269, StreamPort: 269, PerSourceRate: 50, PerSourceBurst: 70,
		MaxConns: 9, MaxConnsPerSource: 2, MaxFreshConns: 3, QueueLen: 11, RecvQueue: 12, MaxPeers: 99}
	if got != want {
		t.Fatalf("transport config %+v, want %+v", got, want)
	}
}
