package daemon

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ntkd/ntkd/internal/tunnel"
)

// TestGateHooking: seed 002's gate hooking. London, the one entry node,
// anchors Athens while Rome is out of radio range; then a physical link
// joins London and Rome, two gates. London tells Rome where it takes link
// swaps, Rome asks, and London hands Athens over: Athens, nearer to Rome,
// ends linked to Rome with Rome as its anchorage node, and London keeps no
// tunnel. Rome's own announcement to London then offers nothing back.
func TestGateHooking(t *testing.T) {
	es := startEntryServer(t, 1, false)
	clk := &fakeClock{now: time.Now()}
	hub := newHub(2)
	hub.link(0, 0, 1, 0) // London - Rome, cut until Athens has hooked
	hub.setCut(0, 0, true)
	const londonSeed, romeSeed, athensSeed = 111, 112, 113
	london := startMeshVNode(t, hub, 0, londonSeed, es, clk, true, 51.51, -0.13)
	rome := startMeshVNode(t, hub, 1, romeSeed, es, clk, false, 41.90, 12.50)
	waitFor(t, "London listed", 30*time.Second, func() (bool, string) {
		clk.Advance(10 * time.Second)
		return len(es.srv.Snapshot()) == 1, "not yet"
	})
	athens := startAsker(t, es, clk, athensSeed, 37.98, 23.73, 1)
	key := func(seed byte) string { return tunnel.Key{seed, seed, seed}.String() }
	peers := func(d *vhookDaemon) []string { return vlinkPeers(t, d) }
	waitFor(t, "Athens hooked to London", 20*time.Second, func() (bool, string) {
		got := peers(athens)
		return slices.Equal(got, []string{key(londonSeed)}), fmt.Sprint(got)
	})
	hub.setCut(0, 0, false)
	waitFor(t, "Athens handed over to Rome", 60*time.Second, func() (bool, string) {
		a, r, l := peers(athens), peers(rome), peers(london)
		return slices.Equal(a, []string{key(romeSeed)}) && slices.Equal(r, []string{key(athensSeed)}) && len(l) == 0,
			fmt.Sprint("Athens ", a, " Rome ", r, " London ", l)
	})
	checkTunnelPair(t, athens, rome)
	if anchors := anchorsOf(athens); len(anchors) != 1 || anchors[0] != rome.nodeKey() {
		t.Errorf("Athens's anchorage nodes %v, want Rome", anchors)
	}
	var anchorage string
	rome.d.Do(context.Background(), func() {
		for _, l := range rome.d.vlinks().Links {
			anchorage = l.Anchorage
		}
	})
	if anchorage != "us" {
		t.Errorf("Rome's vlink to Athens: anchorage %q, want us", anchorage)
	}
}
