package daemon

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/ntkd/ntkd/internal/config"
	"github.com/ntkd/ntkd/internal/ctl"
	"github.com/ntkd/ntkd/internal/entry"
	"github.com/ntkd/ntkd/internal/tunnel"
)

// TestLinkSwapping: seed 002's "Reordering the virtual layer". London is
// the one entry node; Athens and Dublin vhook to it first. Then Rome
// vhooks to London and asks it (I_AM_VHOOKING) for the vnodes nearer to
// Rome than to London: Athens, not Dublin. Rome links to Athens, which
// takes Rome as its anchorage node and drops London; London drops Athens.
// The chain London - Athens becomes London - Rome - Athens.
func TestLinkSwapping(t *testing.T) {
	es := startEntryServer(t, 1, false)
	clk := &fakeClock{now: time.Now()}
	vnode := func(seed byte, entryNode bool, lat, lon float64) *vhookDaemon {
		return startVHookDaemon(t, clk, seed, func(v *config.VLayer) {
			v.EntryServers = []config.EntryServer{es.conf()}
			v.Endpoint = fmt.Sprintf("127.0.0.%d:%d", seed, freeTCPPort(t))
			v.EntryNode, v.EntryAfter = entryNode, time.Minute
			v.Latitude, v.Longitude = coords(lat, lon)
		})
	}
	key := func(seed byte) string { return tunnel.Key{seed, seed, seed}.String() }
	peers := func(d *vhookDaemon) []string {
		var out []string
		for _, l := range d.manual(t) {
			out = append(out, l.PublicKey)
		}
		slices.Sort(out)
		return out
	}
	want := func(seeds ...byte) []string {
		var out []string
		for _, s := range seeds {
			out = append(out, key(s))
		}
		slices.Sort(out)
		return out
	}
	const londonSeed, athensSeed, dublinSeed, romeSeed = 81, 82, 83, 84
	london := vnode(londonSeed, true, 51.5, -0.13)
	london.d.Do(context.Background(), func() { london.d.vhook.inFlight = true }) // it only anchors
	waitFor(t, "London listed", 20*time.Second, func() (bool, string) {
		clk.Advance(10 * time.Second)
		return len(es.srv.Snapshot()) == 1, "not yet"
	})
	athens := vnode(athensSeed, false, 37.98, 23.73)
	dublin := vnode(dublinSeed, false, 53.35, -6.26)
	waitFor(t, "Athens and Dublin hooked to London", 20*time.Second, func() (bool, string) {
		got := peers(london)
		return slices.Equal(got, want(athensSeed, dublinSeed)), fmt.Sprint(got)
	})
	rome := vnode(romeSeed, false, 41.9, 12.5)
	waitFor(t, "Rome linked to London and Athens", 20*time.Second, func() (bool, string) {
		got := peers(rome)
		return slices.Equal(got, want(londonSeed, athensSeed)), fmt.Sprint(got)
	})
	waitFor(t, "London's vlinks: Dublin and Rome", 10*time.Second, func() (bool, string) {
		got := peers(london)
		return slices.Equal(got, want(dublinSeed, romeSeed)), fmt.Sprint(got)
	})
	if got := peers(athens); !slices.Equal(got, want(romeSeed)) {
		t.Errorf("Athens's vlinks %v, want Rome's only", got)
	}
	if got := peers(dublin); !slices.Equal(got, want(londonSeed)) {
		t.Errorf("Dublin's vlinks %v, want London's only", got)
	}
	// Athens's anchorage node is Rome now: were Rome's tunnel to die,
	// Athens would hook again, as with any anchorage node.
	if anchorOfAthens := anchorsOf(athens); len(anchorOfAthens) != 1 || anchorOfAthens[0] != rome.nodeKey() {
		t.Errorf("Athens's anchorage nodes %v, want Rome", anchorOfAthens)
	}
	// A hand-over Dublin's anchorage node did not sign, or that does not
	// name Dublin, is refused and changes nothing.
	stranger := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{99}, ed25519.SeedSize))
	dublinAt := netip.AddrPortFrom(dublin.d.vhook.endpoint.Addr(), dublin.d.vhook.endpoint.Port())
	other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{98}, ed25519.SeedSize))
	for name, signer := range map[string]ed25519.PrivateKey{"signed by a stranger": other, "not naming Dublin": london.d.vhook.key} {
		link := entry.SwapLink{Hook: entry.VHook{Swap: true, TunnelKey: [32]byte{99}, ID: 1, Stamp: time.Now().UnixNano()}}
		link.Hook.Sign(stranger)
		link.Offer = entry.SwapOffer{Asker: link.Hook.Node, ID: 2, Stamp: time.Now().UnixNano(), Peers: []entry.SwapPeer{{Node: dublin.nodeKey(), Endpoint: dublinAt}}}
		if name == "not naming Dublin" {
			link.Offer.Peers[0].Node = athens.nodeKey()
		}
		link.Offer.Sign(signer)
		_, err := exchangeVHook(context.Background(), dublinAt, dublin.nodeKey(), link.Hook.ID, entry.MsgSwapLink, link.AppendBinary(nil))
		var se *entry.StatusError
		if !errors.As(err, &se) || se.Status != entry.StatusRefused {
			t.Errorf("a hand-over %s: %v, want refused", name, err)
		}
	}
	if got := peers(dublin); !slices.Equal(got, want(londonSeed)) {
		t.Errorf("after the forged hand-overs Dublin's vlinks are %v", got)
	}
	// The tunnels match end to end: each listens where the other sends.
	for _, pair := range [][2]*vhookDaemon{{rome, athens}, {rome, london}, {london, dublin}} {
		checkTunnelPair(t, pair[0], pair[1])
	}
}

// checkTunnelPair checks that a's tunnel to b sends to the port b's
// tunnel to a listens on, and the other way.
func checkTunnelPair(t *testing.T, a, b *vhookDaemon) {
	t.Helper()
	find := func(from, to *vhookDaemon) config.VLink {
		for _, l := range from.manual(t) {
			if l.PublicKey == to.tunnelKey().String() {
				return l
			}
		}
		t.Fatalf("no tunnel to %s", to.tunnelKey())
		return config.VLink{}
	}
	ab, ba := find(a, b), find(b, a)
	if ab.Endpoint != fmt.Sprintf("%s:%d", b.endpointAddr(), ba.ListenPort) {
		t.Errorf("a tunnel sends to %s, the other end listens on %d", ab.Endpoint, ba.ListenPort)
	}
	if ba.Endpoint != fmt.Sprintf("%s:%d", a.endpointAddr(), ab.ListenPort) {
		t.Errorf("a tunnel sends to %s, the other end listens on %d", ba.Endpoint, ab.ListenPort)
	}
}

// anchorsOf lists the keys of vd's anchorage nodes.
func anchorsOf(vd *vhookDaemon) []entry.PublicKey {
	var out []entry.PublicKey
	vd.d.Do(context.Background(), func() {
		for _, a := range vd.d.vhook.hooked {
			out = append(out, a.node)
		}
	})
	return out
}

func (vd *vhookDaemon) nodeKey() entry.PublicKey { return entry.PublicKeyOf(vd.d.vhook.key) }

func (vd *vhookDaemon) tunnelKey() tunnel.Key { return tunnel.Key(vd.d.opt.VLinks.PublicKey()) }

func (vd *vhookDaemon) endpointAddr() string { return vd.d.vhook.endpoint.Addr().String() }

// TestSwapOfferOrder: the anchorage node offers the vnodes nearer to the
// asker than to itself, nearest to the asker first, and never the asker
// or a vnode that takes no swaps (behind NAT).
func TestSwapOfferOrder(t *testing.T) {
	clk := &fakeClock{now: time.Now()}
	london := startVHookDaemon(t, clk, 101, func(v *config.VLayer) {
		v.EntryServers = []config.EntryServer{{Address: "127.0.0.1:9", PublicKey: entry.PublicKey{1}.String()}}
		v.Endpoint = "127.0.0.101:27000"
		v.Latitude, v.Longitude = coords(51.5, -0.13)
	})
	london.d.Do(context.Background(), func() { london.d.vhook.inFlight = true })
	at := func(ip string, lat, lon float64) entry.Position {
		return entry.Position{Addr: netip.MustParseAddr(ip), HasCoords: true, Lat: int32(lat * 1e6), Lon: int32(lon * 1e6)}
	}
	rome := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{102}, ed25519.SeedSize))
	vnodes := []struct {
		seed   byte
		pos    entry.Position
		listen bool
	}{
		{103, at("192.0.2.3", 37.98, 23.73), true},  // Athens: nearer to Rome
		{104, at("192.0.2.4", 53.35, -6.26), true},  // Dublin: nearer to London
		{105, at("192.0.2.5", 43.77, 11.25), true},  // Florence: nearest to Rome
		{106, at("192.0.2.6", 40.85, 14.27), false}, // Naples: behind NAT
		{102, at("192.0.2.2", 41.9, 12.5), true},    // Rome itself
	}
	london.d.Do(context.Background(), func() {
		for i, v := range vnodes {
			k := entry.PublicKeyOf(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{v.seed}, ed25519.SeedSize)))
			a := vpeer{node: k, pos: v.pos}
			if v.listen {
				a.listen = netip.AddrPortFrom(v.pos.Addr, 27000)
			}
			vl, err := london.d.addVLinkTo("", &ctl.VLinkSpec{PublicKey: tunnel.Key{v.seed}.String(), ListenPort: 27001 + i})
			if err != nil {
				t.Error(err)
				return
			}
			london.d.vhook.anchored[vl.Interface] = a
		}
	})
	ask := entry.VHook{Swap: true, TunnelKey: [32]byte{102}, Endpoint: netip.MustParseAddrPort("192.0.2.2:27000"), Listen: 27000,
		HasCoords: true, ID: 7, Stamp: time.Now().UnixNano()}
	ask.Lat, ask.Lon = vnodes[4].pos.Lat, vnodes[4].pos.Lon
	ask.Sign(rome)
	var st entry.Status
	var offer entry.SwapOffer
	london.d.Do(context.Background(), func() { st, offer = london.d.offerSwap(&ask) })
	if st != entry.StatusOK {
		t.Fatal(st)
	}
	var got []string
	for _, p := range offer.Peers {
		got = append(got, p.Endpoint.Addr().String())
	}
	if want := []string{"192.0.2.5", "192.0.2.3"}; !slices.Equal(got, want) {
		t.Errorf("offered %v, want Florence then Athens %v", got, want)
	}
	if err := offer.Verify(); err != nil || offer.Asker != ask.Node || offer.ID != 7 {
		t.Errorf("the offer: %v %+v", err, offer)
	}
}
