package daemon

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"log/slog"
	"net"
	"net/netip"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ntkd/ntkd/internal/config"
	"github.com/ntkd/ntkd/internal/entry"
	"github.com/ntkd/ntkd/internal/tunnel"
)

// freeTCPPort is a port nobody listens on at the moment, on loopback.
func freeTCPPort(t *testing.T) uint16 {
	t.Helper()
	ln, err := net.Listen("tcp", "[::]:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).AddrPort().Port()
}

type vhookDaemon struct {
	d    *Daemon
	log  *logBuf
	stop func()
}

func startVHookDaemon(t *testing.T, clk Clock, seed byte, setup func(*config.VLayer)) *vhookDaemon {
	t.Helper()
	cfg := config.Default()
	cfg.Interfaces = []config.Interface{{Name: "eth0"}}
	cfg.VLayer.Enabled = true
	cfg.VLayer.EntryCache = filepath.Join(t.TempDir(), "entry.cache")
	setup(&cfg.VLayer)
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
	logs := &logBuf{}
	vl := keyedVLinks{&fakeVLinks{}, tunnel.Key{seed, seed, seed}}
	d, err := New(Options{Config: cfg, Version: "test", Transport: newHub(1).trs[0], Kernel: newFakeKernel(),
		Links: &fakeLinks{down: map[string]bool{}}, Seed: uint64(seed), Timers: fastTimers, VLinks: vl, ANDNAKey: key,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})), EntryClock: clk,
		VHookEvery: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	vd := &vhookDaemon{d: d, log: logs}
	var once sync.Once
	vd.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
			select {
			case <-d.vhook.done:
			default:
				t.Error("virtual hooking's goroutines outlive Run")
			}
		})
	}
	t.Cleanup(vd.stop)
	return vd
}

func (vd *vhookDaemon) manual(t *testing.T) []config.VLink {
	t.Helper()
	var out []config.VLink
	if err := vd.d.Do(context.Background(), func() { out = slices.Clone(vd.d.manualVLinks) }); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestVirtualHook: a vnode with no vlink finds an entry node in the list
// of a real entry server, asks it over TCP (VHOOK), and both make a tunnel
// to the other: the entry node (the anchorage node) to the endpoint the
// vnode gave, the vnode to the one in the signed answer. A vnode that has
// a vlink asks no one; the anchorage node takes the same vnode again
// after a restart in place of the old tunnel.
func TestVirtualHook(t *testing.T) {
	es := startEntryServer(t, 1, false)
	enPort, hPort := freeTCPPort(t), freeTCPPort(t)
	clk := &fakeClock{now: time.Now()}
	en := startVHookDaemon(t, clk, 21, func(v *config.VLayer) {
		v.EntryServers = []config.EntryServer{es.conf()}
		v.Endpoint = netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), enPort).String()
		v.EntryNode, v.EntryAfter = true, time.Minute
		v.Latitude, v.Longitude = coords(41.9, 12.5) // Rome
	})
	enKey := entry.PublicKeyOf(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{21}, ed25519.SeedSize)))
	waitFor(t, "the entry node listed", 20*time.Second, func() (bool, string) {
		clk.Advance(10 * time.Second)
		for _, e := range es.srv.Snapshot() {
			if e.Node == enKey {
				return true, ""
			}
		}
		return false, "not listed"
	})
	// A vnode with a tunnel already asks no one.
	busy := startVHookDaemon(t, clk, 23, func(v *config.VLayer) {
		v.EntryServers = []config.EntryServer{es.conf()}
		v.Endpoint = "127.0.0.3:40000"
		l := config.DefaultVLink()
		l.Name, l.Endpoint, l.ListenPort, l.PublicKey = "ntkv0", "192.0.2.9:27000", 27001, tunnel.Key{9}.String()
		v.Links = []config.VLink{l}
	})
	h := startVHookDaemon(t, clk, 22, func(v *config.VLayer) {
		v.EntryServers = []config.EntryServer{es.conf()}
		v.Endpoint = netip.AddrPortFrom(netip.MustParseAddr("127.0.0.2"), hPort).String()
		v.Latitude, v.Longitude = coords(40.85, 14.27) // Naples
	})
	var hl, enl []config.VLink
	waitFor(t, "a vlink each way", 20*time.Second, func() (bool, string) {
		hl, enl = h.manual(t), en.manual(t)
		return len(hl) == 1 && len(enl) == 1, "not yet"
	})
	if hl[0].PublicKey != (tunnel.Key{21, 21, 21}).String() || hl[0].Endpoint != netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), enPort+1).String() || hl[0].ListenPort != int(hPort)+1 {
		t.Errorf("the vnode's tunnel: %+v", hl[0])
	}
	if enl[0].PublicKey != (tunnel.Key{22, 22, 22}).String() || enl[0].Endpoint != netip.AddrPortFrom(netip.MustParseAddr("127.0.0.2"), hPort+1).String() || enl[0].ListenPort != int(enPort)+1 {
		t.Errorf("the anchorage node's tunnel: %+v", enl[0])
	}
	time.Sleep(300 * time.Millisecond)
	if l := busy.manual(t); len(l) != 0 {
		t.Errorf("a vnode with a vlink asked for another: %+v", l)
	}
	if n := len(en.manual(t)); n != 1 {
		t.Errorf("the anchorage node has %d tunnels, want 1", n)
	}
	// The vnode restarts: it asks again and the anchorage node's tunnel
	// to it is made anew, not doubled.
	h.stop()
	h2 := startVHookDaemon(t, clk, 22, func(v *config.VLayer) {
		v.EntryServers = []config.EntryServer{es.conf()}
		v.Endpoint = netip.AddrPortFrom(netip.MustParseAddr("127.0.0.2"), hPort).String()
	})
	waitFor(t, "the restarted vnode's vlink", 20*time.Second, func() (bool, string) {
		return len(h2.manual(t)) == 1, "not yet"
	})
	if l := en.manual(t); len(l) != 1 || l[0].PublicKey != (tunnel.Key{22, 22, 22}).String() {
		t.Errorf("after the vnode's restart the anchorage node has %+v", l)
	}
}
