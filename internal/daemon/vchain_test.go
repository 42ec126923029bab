package daemon

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ntkd/ntkd/internal/config"
	"github.com/ntkd/ntkd/internal/node"
	"github.com/ntkd/ntkd/internal/tunnel"
)

// startMeshVNode starts daemon i of hub as a vnode with two mesh
// interfaces, an endpoint on loopback and coordinates, listing es as its
// entry server; it asks no entry node (in the mesh already).
func startMeshVNode(t *testing.T, hub *hub, i int, seed byte, es *entryServer, clk *fakeClock, entryNode bool, lat, lon float64) *vhookDaemon {
	t.Helper()
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
	d := startVLayerDaemonOn(t, hub.trs[i], uint64(seed), clk, key, tunnel.Key{seed, seed, seed}, 100*time.Millisecond, func(c *config.Config) {
		c.Interfaces = []config.Interface{{Name: "eth0"}, {Name: "eth1"}}
		v := &c.VLayer
		v.EntryCache = t.TempDir() + "/entry.cache"
		v.EntryServers = []config.EntryServer{es.conf()}
		v.Endpoint = fmt.Sprintf("127.0.0.%d:%d", seed, freeTCPPort(t))
		v.EntryNode, v.EntryAfter = entryNode, time.Minute
		v.Latitude, v.Longitude = coords(lat, lon)
	})
	d.d.Do(context.Background(), func() { d.d.vhook.inFlight = true })
	return d
}

// city is a vnode of these tests: its seed and where it is.
type city struct {
	seed     byte
	lat, lon float64
}

// startMeshLine starts a mesh vnode per city, on a line of physical
// links in their order; the first is the entry node.
func startMeshLine(t *testing.T, es *entryServer, clk *fakeClock, cities ...city) []*vhookDaemon {
	t.Helper()
	hub := newHub(len(cities))
	for i := 1; i < len(cities); i++ {
		hub.link(i-1, 1, i, 0)
	}
	var ds []*vhookDaemon
	for i, c := range cities {
		ds = append(ds, startMeshVNode(t, hub, i, c.seed, es, clk, i == 0, c.lat, c.lon))
	}
	return ds
}

// startAsker starts a vnode out of the mesh, at lat, lon, that hooks
// through es's entry nodes and wants anchors anchorage nodes.
func startAsker(t *testing.T, es *entryServer, clk *fakeClock, seed byte, lat, lon float64, anchors int) *vhookDaemon {
	t.Helper()
	return startVHookDaemonConfig(t, clk, seed, func(c *config.Config) {
		v := &c.VLayer
		v.EntryServers = []config.EntryServer{es.conf()}
		v.Endpoint = fmt.Sprintf("127.0.0.%d:%d", seed, freeTCPPort(t))
		v.Latitude, v.Longitude = coords(lat, lon)
		c.IGS.Bandwidth = 10000 * anchors
	})
}

// vlinkPeers lists the tunnel keys of d's hand-made vlinks, sorted.
func vlinkPeers(t *testing.T, d *vhookDaemon) []string {
	t.Helper()
	var out []string
	for _, l := range d.manual(t) {
		out = append(out, l.PublicKey)
	}
	slices.Sort(out)
	return out
}

// TestVirtualHookThroughTheMesh: seed 002's search for the nearest vrnode
// and its anchor chain. Milan (the one entry node), Rome and Naples are
// one island (a line of physical links); a vnode near Rome that wants two
// anchorage nodes asks Milan. Milan carries the request through the mesh
// to Rome, the vnode nearest the asker, which makes its tunnel and hands
// the request on to Naples, the nearest after it; the chain comes back to
// Milan, which answers with both acks. The asker ends with tunnels to Rome
// and Naples, their ends matching, and none to Milan.
func TestVirtualHookThroughTheMesh(t *testing.T) {
	es := startEntryServer(t, 1, false)
	clk := &fakeClock{now: time.Now()}
	const milanSeed, romeSeed, naplesSeed, askerSeed = 91, 92, 93, 94
	ds := startMeshLine(t, es, clk, city{milanSeed, 45.46, 9.19}, city{romeSeed, 41.90, 12.50}, city{naplesSeed, 40.85, 14.27})
	milan, rome, naples := ds[0], ds[1], ds[2]
	waitFor(t, "Milan listed and its map holding Rome and Naples", 30*time.Second, func() (bool, string) {
		clk.Advance(10 * time.Second)
		var pts []node.VnodePoint
		milan.d.Do(context.Background(), func() { pts = milan.d.node.VnodeMap(nil) })
		return len(es.srv.Snapshot()) == 1 && len(pts) == 2, fmt.Sprintf("%d listed, map %+v", len(es.srv.Snapshot()), pts)
	})
	asker := startAsker(t, es, clk, askerSeed, 41.8, 12.6, 2)
	key := func(seed byte) string { return tunnel.Key{seed, seed, seed}.String() }
	peers := func(d *vhookDaemon) []string { return vlinkPeers(t, d) }
	want := []string{key(romeSeed), key(naplesSeed)}
	slices.Sort(want)
	waitFor(t, "the asker linked to Rome and Naples", 20*time.Second, func() (bool, string) {
		got := peers(asker)
		return slices.Equal(got, want), fmt.Sprint(got)
	})
	for _, d := range []*vhookDaemon{rome, naples} {
		if got := peers(d); !slices.Equal(got, []string{key(askerSeed)}) {
			t.Errorf("an anchorage node's vlinks %v, want the asker's only", got)
		}
		checkTunnelPair(t, asker, d)
	}
	if got := peers(milan); len(got) != 0 {
		t.Errorf("Milan made vlinks %v: the mesh had nearer vnodes", got)
	}
	// The asker knows both as its anchorage nodes.
	var anchors int
	asker.d.Do(context.Background(), func() { anchors = len(asker.d.vhook.hooked) })
	if anchors != 2 {
		t.Errorf("the asker has %d anchorage nodes, want 2", anchors)
	}
}

// TestNearVnodesLink: seed 002's near vnodes that vhooked at once. London
// - Rome and Berlin - Florence are two islands joined by a tunnel between
// London and Berlin (a link marked virtual). Rome and Florence are each
// other's nearest vnode and reach each other only through that tunnel:
// the one with the smaller address asks the other, through the mesh, for
// a vlink, and both make their end. London and Berlin, linked already,
// make none.
func TestNearVnodesLink(t *testing.T) {
	es := startEntryServer(t, 1, false)
	clk := &fakeClock{now: time.Now()}
	hub := newHub(4)
	hub.link(0, 1, 1, 0) // London - Rome
	hub.link(2, 1, 3, 0) // Berlin - Florence
	hub.link(0, 0, 2, 0) // London - Berlin: the tunnel
	const londonSeed, romeSeed, berlinSeed, florenceSeed = 101, 102, 103, 104
	vnode := func(i int, seed byte, lat, lon float64) *vhookDaemon {
		d := startMeshVNode(t, hub, i, seed, es, clk, false, lat, lon)
		if i == 0 || i == 2 {
			d.d.Do(context.Background(), func() { d.d.node.SetVirtual(0, true) })
		}
		return d
	}
	london := vnode(0, londonSeed, 51.51, -0.13)
	rome := vnode(1, romeSeed, 41.90, 12.50)
	berlin := vnode(2, berlinSeed, 52.52, 13.40)
	florence := vnode(3, florenceSeed, 43.77, 11.26)
	key := func(seed byte) string { return tunnel.Key{seed, seed, seed}.String() }
	peers := func(d *vhookDaemon) []string { return vlinkPeers(t, d) }
	waitFor(t, "Rome and Florence linked", 40*time.Second, func() (bool, string) {
		r, f := peers(rome), peers(florence)
		return slices.Equal(r, []string{key(florenceSeed)}) && slices.Equal(f, []string{key(romeSeed)}), fmt.Sprint(r, f)
	})
	checkTunnelPair(t, rome, florence)
	for _, d := range []*vhookDaemon{london, berlin} {
		if got := peers(d); len(got) != 0 {
			t.Errorf("a gate made vlinks %v", got)
		}
	}
}

// TestAnchorReplacedThroughTheOthers: seed 002's death of an anchorage
// node. Milan (the entry node), Florence, Rome and Naples are one island
// (a line); a vnode near Rome wants two anchorage nodes and gets Rome and
// Naples. Its tunnel to Naples dies while Milan is out of reach for it:
// it asks Rome, its remaining anchorage node, which carries the request
// through the mesh to the nearest vnode that does not anchor it yet,
// Florence. The vnode keeps Rome, Rome keeps one tunnel to it, and
// Florence takes Naples's place.
func TestAnchorReplacedThroughTheOthers(t *testing.T) {
	es := startEntryServer(t, 1, false)
	clk := &fakeClock{now: time.Now()}
	const milanSeed, florenceSeed, romeSeed, naplesSeed, askerSeed = 121, 122, 123, 124, 125
	ds := startMeshLine(t, es, clk, city{milanSeed, 45.46, 9.19}, city{florenceSeed, 43.77, 11.26},
		city{romeSeed, 41.90, 12.50}, city{naplesSeed, 40.85, 14.27})
	milan, florence, rome, naples := ds[0], ds[1], ds[2], ds[3]
	waitFor(t, "Milan listed and every map holding the three others", 40*time.Second, func() (bool, string) {
		clk.Advance(10 * time.Second)
		full := true
		for _, d := range []*vhookDaemon{milan, florence, rome, naples} {
			var pts []node.VnodePoint
			d.d.Do(context.Background(), func() { pts = d.d.node.VnodeMap(nil) })
			full = full && len(pts) == 3
		}
		return len(es.srv.Snapshot()) == 1 && full, fmt.Sprintf("%d listed", len(es.srv.Snapshot()))
	})
	asker := startAsker(t, es, clk, askerSeed, 41.5, 13.5, 2) // between Rome and Naples
	key := func(seed byte) string { return tunnel.Key{seed, seed, seed}.String() }
	sorted := func(s ...string) []string { slices.Sort(s); return s }
	peers := func(d *vhookDaemon) []string { return vlinkPeers(t, d) }
	waitFor(t, "the asker linked to Rome and Naples", 20*time.Second, func() (bool, string) {
		got := peers(asker)
		return slices.Equal(got, sorted(key(romeSeed), key(naplesSeed))), fmt.Sprint(got)
	})
	romeTunnel := rome.manual(t)
	// Milan is out of reach for the asker from now on (put aside).
	milanKey := milan.nodeKey()
	asker.d.Do(context.Background(), func() {
		asker.d.vhook.retry[milanKey] = vhookRetry{at: time.Now().Add(time.Hour), wait: vhookRetryMax}
	})
	for _, l := range asker.manual(t) {
		if l.PublicKey == key(naplesSeed) {
			asker.d.opt.VLinks.(keyedVLinks).setStandby(l.Name, "dead: no answer over it")
		}
	}
	waitFor(t, "the asker linked to Rome and Florence", 20*time.Second, func() (bool, string) {
		got := peers(asker)
		return slices.Equal(got, sorted(key(romeSeed), key(florenceSeed))), fmt.Sprint(got)
	})
	checkTunnelPair(t, asker, rome)
	checkTunnelPair(t, asker, florence)
	if got := rome.manual(t); len(got) != 1 || got[0] != romeTunnel[0] {
		t.Errorf("Rome's tunnels %+v, want the first one kept: %+v", got, romeTunnel)
	}
	if got := peers(milan); len(got) != 0 {
		t.Errorf("Milan made vlinks %v", got)
	}
	if got := peers(naples); !slices.Equal(got, []string{key(askerSeed)}) {
		t.Errorf("Naples's vlinks %v: its end stays until it finds it dead", got)
	}
}
