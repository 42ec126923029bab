package daemon

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"slices"
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

// vhookDaemon is a daemon of these tests: its node key and tunnel key
// are made of seed, and it looks for an entry node to ask every 100 ms.
type vhookDaemon = entryDaemon

func startVHookDaemon(t *testing.T, clk Clock, seed byte, setup func(*config.VLayer)) *vhookDaemon {
	t.Helper()
	return startVHookDaemonConfig(t, clk, seed, func(c *config.Config) { setup(&c.VLayer) })
}

// startVHookDaemonConfig is startVHookDaemon with setup over the whole
// configuration.
func startVHookDaemonConfig(t *testing.T, clk Clock, seed byte, setup func(*config.Config)) *vhookDaemon {
	t.Helper()
	cfg := func(c *config.Config) {
		c.VLayer.EntryCache = filepath.Join(t.TempDir(), "entry.cache")
		setup(c)
	}
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
	return startVLayerDaemon(t, clk, key, tunnel.Key{seed, seed, seed}, 100*time.Millisecond, cfg)
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

// TestVirtualHookRace: two entry nodes without vlinks find each other in
// the list and ask each other (seed 004: two vnodes that connect at the
// same moment). Whatever the order, they end with one tunnel between them,
// its two ends matching: each listens where the other sends.
func TestVirtualHookRace(t *testing.T) {
	for round := range 3 {
		es := startEntryServer(t, 1, false)
		clk := &fakeClock{now: time.Now()}
		var ds [2]*vhookDaemon
		var ports [2]uint16
		for i, seed := range []byte{31, 32} {
			ports[i] = freeTCPPort(t)
			addr := netip.AddrFrom4([4]byte{127, 0, 0, byte(10 + i)})
			ds[i] = startVHookDaemon(t, clk, seed, func(v *config.VLayer) {
				v.EntryServers = []config.EntryServer{es.conf()}
				v.Endpoint = netip.AddrPortFrom(addr, ports[i]).String()
				v.EntryNode, v.EntryAfter = true, time.Minute
			})
		}
		waitFor(t, "both listed", 20*time.Second, func() (bool, string) {
			clk.Advance(10 * time.Second)
			return len(es.srv.Snapshot()) == 2, "not yet"
		})
		clk.Advance(6 * time.Hour) // the next fetch: each sees the other
		var a, b []config.VLink
		waitFor(t, "a tunnel between them", 20*time.Second, func() (bool, string) {
			clk.Advance(time.Second)
			a, b = ds[0].manual(t), ds[1].manual(t)
			return len(a) == 1 && len(b) == 1, "not yet"
		})
		time.Sleep(500 * time.Millisecond) // a late second request would show now
		a, b = ds[0].manual(t), ds[1].manual(t)
		if len(a) != 1 || len(b) != 1 {
			t.Fatalf("round %d: tunnels %+v and %+v, want one each", round, a, b)
		}
		ea, eb := netip.MustParseAddrPort(a[0].Endpoint), netip.MustParseAddrPort(b[0].Endpoint)
		if int(ea.Port()) != b[0].ListenPort || int(eb.Port()) != a[0].ListenPort ||
			a[0].PublicKey != (tunnel.Key{32, 32, 32}).String() || b[0].PublicKey != (tunnel.Key{31, 31, 31}).String() {
			t.Fatalf("round %d: the two ends do not match: %+v and %+v", round, a[0], b[0])
		}
		ds[0].stop()
		ds[1].stop()
		es.stop()
	}
}

// TestVirtualHookTieBreak: an entry node that is asking X, or holds a
// tunnel its own hook made to X, anchors X's request only when X's key is
// the smaller; else it refuses, and X anchors ours. Both ends decide the
// same way, so a race leaves one tunnel.
func TestVirtualHookTieBreak(t *testing.T) {
	es := startEntryServer(t, 1, false)
	d := startVHookDaemon(t, &fakeClock{now: time.Now()}, 40, func(v *config.VLayer) {
		v.EntryServers = []config.EntryServer{es.conf()}
		v.Endpoint = "127.0.0.40:" + fmt.Sprint(freeTCPPort(t))
		v.EntryNode, v.EntryAfter = true, time.Hour
	})
	me := entry.PublicKeyOf(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{40}, ed25519.SeedSize)))
	ask := func(seed byte, id uint64) *entry.VHook {
		v := &entry.VHook{TunnelKey: [32]byte{seed}, Endpoint: netip.MustParseAddrPort("127.0.0.9:28000"), ID: id, Stamp: time.Now().UnixNano()}
		v.Sign(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize)))
		return v
	}
	var smaller, larger byte
	for s := byte(1); s < 255 && (smaller == 0 || larger == 0); s++ {
		k := entry.PublicKeyOf(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{s}, ed25519.SeedSize)))
		if bytes.Compare(k[:], me[:]) < 0 && smaller == 0 {
			smaller = s
		} else if bytes.Compare(k[:], me[:]) > 0 && s != 40 && larger == 0 {
			larger = s
		}
	}
	for _, c := range []struct {
		seed byte
		want entry.Status
	}{{larger, entry.StatusRefused}, {smaller, entry.StatusOK}} {
		v := ask(c.seed, uint64(c.seed))
		var st entry.Status
		d.d.Do(context.Background(), func() {
			h := d.d.vhook
			h.inFlight, h.asking = true, v.Node // we are asking it right now
			st, _, _ = d.d.anchorVHook(v)
			h.inFlight = false
		})
		if st != c.want {
			t.Errorf("asked by a node whose key is %s than ours while asking it: %v, want %v",
				map[bool]string{true: "smaller", false: "larger"}[c.seed == smaller], st, c.want)
		}
	}
	// Not asking it: anchored whatever the keys.
	var st entry.Status
	d.d.Do(context.Background(), func() { st, _, _ = d.d.anchorVHook(ask(larger, 99)) })
	if st != entry.StatusOK {
		t.Errorf("asked while not asking: %v", st)
	}
}

// TestVirtualHookAgainWhenTheAnchorDies: the vnode's only tunnel, made by
// its hook, dies (nobody answers over it): the tunnel goes and the vnode
// hooks again through the next nearest entry node (seed 002: re-vhooking
// when every anchorage node died); the dead anchorage node, for its
// part, drops the tunnel it had made for the vnode.
func TestVirtualHookAgainWhenTheAnchorDies(t *testing.T) {
	es := startEntryServer(t, 1, false)
	clk := &fakeClock{now: time.Now()}
	entryNode := func(seed byte, ip string, lat, lon float64) *vhookDaemon {
		return startVHookDaemon(t, clk, seed, func(v *config.VLayer) {
			v.EntryServers = []config.EntryServer{es.conf()}
			v.Endpoint = ip + ":" + fmt.Sprint(freeTCPPort(t))
			v.EntryNode, v.EntryAfter = true, time.Minute
			v.Latitude, v.Longitude = coords(lat, lon)
		})
	}
	// Two entry nodes that ask no one themselves (marked as asking
	// already), only anchor.
	rome := entryNode(51, "127.0.0.51", 41.9, 12.5)
	milan := entryNode(52, "127.0.0.52", 45.46, 9.19)
	for _, d := range []*vhookDaemon{rome, milan} {
		d.d.Do(context.Background(), func() { d.d.vhook.inFlight = true }) // they ask no one
	}
	waitFor(t, "both listed", 20*time.Second, func() (bool, string) {
		clk.Advance(10 * time.Second)
		return len(es.srv.Snapshot()) == 2, "not yet"
	})
	h := startVHookDaemon(t, clk, 53, func(v *config.VLayer) {
		v.EntryServers = []config.EntryServer{es.conf()}
		v.Endpoint = "127.0.0.53:" + fmt.Sprint(freeTCPPort(t))
		v.Latitude, v.Longitude = coords(40.85, 14.27) // Naples: Rome is nearer
	})
	var hl []config.VLink
	waitFor(t, "hooked to Rome", 20*time.Second, func() (bool, string) {
		hl = h.manual(t)
		return len(hl) == 1, "not yet"
	})
	if hl[0].PublicKey != (tunnel.Key{51, 51, 51}).String() {
		t.Fatalf("hooked to %s, want Rome's key", hl[0].PublicKey)
	}
	if l := rome.manual(t); len(l) != 1 {
		t.Fatalf("Rome's tunnels: %+v", l)
	}
	// Rome goes silent: both ends find the tunnel dead.
	h.d.opt.VLinks.(keyedVLinks).setStandby(hl[0].Name, "dead: no answer over it")
	rome.d.opt.VLinks.(keyedVLinks).setStandby(rome.manual(t)[0].Name, "dead: no answer over it")
	waitFor(t, "hooked to Milan", 20*time.Second, func() (bool, string) {
		hl = h.manual(t)
		return len(hl) == 1 && hl[0].PublicKey == (tunnel.Key{52, 52, 52}).String(), fmt.Sprintf("%+v", hl)
	})
	waitFor(t, "Rome dropping the dead tunnel it made for the vnode", 10*time.Second, func() (bool, string) {
		l := rome.manual(t)
		return len(l) == 0, fmt.Sprintf("%+v", l)
	})
	if l := milan.manual(t); len(l) != 1 || l[0].PublicKey != (tunnel.Key{53, 53, 53}).String() {
		t.Errorf("Milan's tunnels: %+v", l)
	}
}

// TestVirtualHookBehindNAT: a vnode without a public endpoint (behind a
// NAT) still hooks: the anchorage node makes its tunnel without the
// peer's endpoint, to learn it from the vnode's first packets, and the
// vnode's tunnel sends to the anchorage node.
func TestVirtualHookBehindNAT(t *testing.T) {
	es := startEntryServer(t, 1, false)
	clk := &fakeClock{now: time.Now()}
	enPort := freeTCPPort(t)
	en := startVHookDaemon(t, clk, 61, func(v *config.VLayer) {
		v.EntryServers = []config.EntryServer{es.conf()}
		v.Endpoint = "127.0.0.61:" + fmt.Sprint(enPort)
		v.EntryNode, v.EntryAfter = true, time.Minute
	})
	en.d.Do(context.Background(), func() { en.d.vhook.inFlight = true }) // it only anchors
	waitFor(t, "the entry node listed", 20*time.Second, func() (bool, string) {
		clk.Advance(10 * time.Second)
		return len(es.srv.Snapshot()) == 1, "not yet"
	})
	h := startVHookDaemon(t, clk, 62, func(v *config.VLayer) {
		v.EntryServers = []config.EntryServer{es.conf()} // no endpoint of its own
	})
	var hl, enl []config.VLink
	waitFor(t, "a vlink each way", 20*time.Second, func() (bool, string) {
		hl, enl = h.manual(t), en.manual(t)
		return len(hl) == 1 && len(enl) == 1, "not yet"
	})
	if enl[0].Endpoint != "" || enl[0].PublicKey != (tunnel.Key{62, 62, 62}).String() || enl[0].ListenPort != int(enPort)+1 {
		t.Errorf("the anchorage node's tunnel to a vnode behind NAT: %+v", enl[0])
	}
	if hl[0].Endpoint != "127.0.0.61:"+fmt.Sprint(enPort+1) || hl[0].ListenPort != 27001 {
		t.Errorf("the vnode's tunnel: %+v", hl[0])
	}
}

// TestVirtualHookAnchors: a vnode with a 20 Mbit/s uplink ([igs]
// bandwidth) wants two anchorage nodes (seed 002: anchor_links, one per
// 10 Mbit/s): it hooks to the two nearest entry nodes, never twice to the
// same one.
func TestVirtualHookAnchors(t *testing.T) {
	es := startEntryServer(t, 1, false)
	clk := &fakeClock{now: time.Now()}
	var anchors []*vhookDaemon
	for i, c := range [][2]float64{{41.9, 12.5}, {45.46, 9.19}, {52.52, 13.4}} { // Rome, Milan, Berlin
		seed := byte(71 + i)
		d := startVHookDaemon(t, clk, seed, func(v *config.VLayer) {
			v.EntryServers = []config.EntryServer{es.conf()}
			v.Endpoint = fmt.Sprintf("127.0.0.%d:%d", seed, freeTCPPort(t))
			v.EntryNode, v.EntryAfter = true, time.Minute
			v.Latitude, v.Longitude = coords(c[0], c[1])
		})
		d.d.Do(context.Background(), func() { d.d.vhook.inFlight = true }) // they only anchor
		anchors = append(anchors, d)
	}
	waitFor(t, "the entry nodes listed", 20*time.Second, func() (bool, string) {
		clk.Advance(10 * time.Second)
		return len(es.srv.Snapshot()) == 3, "not yet"
	})
	h := startVHookDaemonConfig(t, clk, 79, func(c *config.Config) {
		c.VLayer.EntryServers = []config.EntryServer{es.conf()}
		c.VLayer.Latitude, c.VLayer.Longitude = coords(40.85, 14.27) // Naples
		c.IGS.Bandwidth = 20000
	})
	var hl []config.VLink
	waitFor(t, "two anchorage nodes", 20*time.Second, func() (bool, string) {
		hl = h.manual(t)
		return len(hl) == 2, fmt.Sprintf("%+v", hl)
	})
	time.Sleep(300 * time.Millisecond) // a third would come now
	hl = h.manual(t)
	keys := []string{}
	for _, l := range hl {
		keys = append(keys, l.PublicKey)
	}
	slices.Sort(keys)
	want := []string{(tunnel.Key{71, 71, 71}).String(), (tunnel.Key{72, 72, 72}).String()}
	slices.Sort(want)
	if !slices.Equal(keys, want) {
		t.Errorf("anchorage nodes %v, want Rome's and Milan's %v", keys, want)
	}
	if n := len(anchors[2].manual(t)); n != 0 {
		t.Errorf("Berlin, the farthest, made %d tunnels", n)
	}
}
