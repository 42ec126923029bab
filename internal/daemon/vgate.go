package daemon

import (
	"net/netip"
	"slices"
	"time"

	"github.com/ntkd/ntkd/internal/entry"
	"github.com/ntkd/ntkd/internal/wire"
)

// Gate hooking (seed 002: "When a gate node is linked physically to
// another gate node, they use the v-linking procedure to reorder their
// links"; docs/VLAYER.md). A vnode that anchors others tells each new
// physical neighbour, through the mesh (one hop, a VHOOK_ROUTE sent to
// its address), where it takes link swaps: a signed swap request of ours.
// A neighbour that is a vnode runs the link swap with us as it would with
// an anchorage node, its I_AM_VHOOKING bearing our announcement's random
// id: that id, sent over one physical hop only, is what lets us take its
// request though we do not anchor it. We offer it the vnodes we anchor
// that are nearer to it than to us; it links them and we drop ours. Both
// ends announce, so each takes from the other the vnodes nearer to it.

const (
	// gateAskWait is how long an announcement's id is honoured, and when
	// one nobody answered goes again (gateTries in all).
	gateAskWait = time.Minute
	gateTries   = 2
	// maxGateSwaps bounds the gates we swap with at once.
	maxGateSwaps = 16
)

// gateSent is our announcement to one physical neighbour.
type gateSent struct {
	id       uint64
	at       time.Time
	tries    int
	answered bool
}

// gateHook (event loop) announces us to the physical neighbours we have
// not told yet, while we anchor vnodes that could move to them.
func (d *Daemon) gateHook() {
	h := d.vhook
	if !h.on || h.anchor == nil {
		return
	}
	now := time.Now()
	nbs := d.node.PhysicalNeighbours(nil)
	for a := range h.gates {
		if !slices.Contains(nbs, a) {
			delete(h.gates, a) // gone: told again if it comes back
		}
	}
	for k, at := range h.gateSwaps {
		if now.Sub(at) > gateAskWait {
			delete(h.gateSwaps, k)
		}
	}
	d.forgetRemovedHooks()
	if len(h.anchored) == 0 {
		return // nothing to hand over
	}
	for _, a := range nbs {
		g := h.gates[a]
		if g.answered || g.tries >= gateTries || g.tries > 0 && now.Before(g.at.Add(gateAskWait)) {
			continue
		}
		v := d.newVHook(h.endpoint.Port(), true, 1)
		body := entry.ChainBody{Request: v}
		rt := &wire.VHookRoute{Flags: wire.VRouteBack | wire.VRouteCoords, Lat: v.Lat, Lon: v.Lon, Origin: a, Body: body.AppendBinary(nil)}
		if !d.node.SendVHookRoute(d.now(), rt) {
			continue
		}
		h.gates[a] = gateSent{id: v.ID, at: now, tries: g.tries + 1}
		h.log.Debug("gate hooking: telling a physical neighbour where we take link swaps", "neighbour", a)
	}
}

// takeGateAsk (event loop) says whether id is the one an announcement of
// ours gave a physical neighbour lately, and marks it answered.
func (d *Daemon) takeGateAsk(id uint64) bool {
	h := d.vhook
	now := time.Now()
	for a, g := range h.gates {
		if g.id == id && now.Sub(g.at) <= gateAskWait {
			g.answered = true
			h.gates[a] = g
			return true
		}
	}
	return false
}

// gateAnnounced (event loop): a physical neighbour (from) told us where it
// takes link swaps; when we can take vnodes, we swap with it.
func (d *Daemon) gateAnnounced(v *entry.VHook, from netip.Addr) {
	h := d.vhook
	l := requestPeer(v).listen
	switch {
	case !h.on || h.anchor == nil || v.Node == entry.PublicKeyOf(h.key) || !l.IsValid():
		return
	case !slices.Contains(d.node.PhysicalNeighbours(nil), from):
		h.log.Debug("gate hooking: an announcement from no physical neighbour", "from", from)
		return
	case v.Verify() != nil:
		return
	}
	if _, busy := h.gateSwaps[v.Node]; busy || len(h.gateSwaps) >= maxGateSwaps {
		return
	}
	h.gateSwaps[v.Node] = time.Now()
	h.log.Info("gate hooking: a gate is our physical neighbour; link swapping with it", "gate", from, "key", v.Node)
	d.beginSwap(entry.Entry{Record: entry.Record{Node: v.Node, Endpoint: l}}, v.ID)
}
