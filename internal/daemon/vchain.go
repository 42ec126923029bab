package daemon

import (
	"context"
	"net"
	"net/netip"
	"time"

	"github.com/ntkd/ntkd/internal/entry"
	"github.com/ntkd/ntkd/internal/wire"
)

// Virtual hooks carried through the mesh (seed 002 "Searching for the
// nearest vrnode" and "Linking to other anchorage nodes"; docs/VLAYER.md).
// The entry node V that takes a VHOOK does not anchor the asker H itself
// when the Viphilama map knows vnodes: it hands the request to the
// protocol core, which carries it to the vnode I nearest H. I makes its
// tunnel to H, adds its signed ack, and hands the request on to the
// nearest vnode not in the chain yet, until H has the anchorage nodes it
// wants (VHook.Want, seed 002's anchor_links) or none is left; the last
// one sends the chain back to V, which answers H with every ack, signed
// (VHOOK_CHAIN). The acks carry H's random id: each anchorage node proves
// it got H's own request. A chain that does not come back in time, or
// comes back empty, and V anchors H itself, as without a map.

// chainWait bounds how long V waits for a carried request's chain: the
// asker's exchange has vhookTimeout in all.
const chainWait = 6 * time.Second

// vnodeOnMap (event loop) puts us on the Viphilama map when we can anchor
// others: we listen on an endpoint and know our coordinates.
func (d *Daemon) vnodeOnMap() {
	h := d.vhook
	on := h.on && h.anchor != nil && h.pos.HasCoords
	d.node.SetVnode(d.now(), on, h.pos.Lat, h.pos.Lon)
}

// carryVHook (event loop) hands a checked request to the mesh (not to us
// with notUs). It returns the channel the chain will come back on, or nil
// when the map knows no vnode to carry it to (we anchor it ourselves
// then).
func (d *Daemon) carryVHook(v *entry.VHook, notUs bool) chan []entry.VHookAck {
	h := d.vhook
	if !v.HasCoords || h.chains[v.ID] != nil {
		return nil
	}
	ch := make(chan []entry.VHookAck, 1)
	h.chains[v.ID] = ch
	var exclude []netip.Addr
	if notUs {
		exclude = append(exclude, d.node.Addr())
	}
	if !d.sendCarried(v, exclude) {
		delete(h.chains, v.ID)
		return nil
	}
	return ch
}

// sendCarried (event loop) hands the core a request of ours to carry,
// from us, to the vnode nearest v's coordinates that is not in exclude.
func (d *Daemon) sendCarried(v *entry.VHook, exclude []netip.Addr) bool {
	body := entry.ChainBody{Request: *v}
	rt := &wire.VHookRoute{Flags: wire.VRouteCoords, Lat: v.Lat, Lon: v.Lon, Origin: d.node.Addr(), Exclude: exclude, Body: body.AppendBinary(nil)}
	return d.node.SendVHookRoute(d.now(), rt)
}

// awaitChain is the entry node's wait for a carried request's chain; it
// writes the answer to conn: the signed chain, or our own anchoring when
// the chain brought none.
func (d *Daemon) awaitChain(ctx context.Context, conn net.Conn, v *entry.VHook, ch chan []entry.VHookAck) {
	h := d.vhook
	var acks []entry.VHookAck
	t := time.NewTimer(chainWait)
	defer t.Stop()
	select {
	case acks = <-ch:
	case <-t.C:
	case <-ctx.Done():
		return
	}
	var st entry.Status
	var ack entry.VHookAck
	var chain entry.VHookChain
	if d.Do(ctx, func() {
		delete(h.chains, v.ID)
		if len(acks) == 0 {
			if d.anchorsAlready(v) {
				st = entry.StatusRefused // we anchor it already, and found no other
				return
			}
			h.log.Info("virtual hook: the mesh brought no anchorage node, we anchor the vnode", "from", v.Node)
			st, ack = d.anchorFor(v, 0)
			return
		}
		chain = entry.VHookChain{ID: v.ID, Anchors: acks, Stamp: time.Now().UnixNano()}
		chain.Sign(h.key)
		st = entry.StatusOK
	}) != nil {
		return
	}
	if len(chain.Anchors) == 0 {
		writeAnswer(conn, st, &ack)
		return
	}
	h.log.Info("virtual hook carried through the mesh", "from", v.Node, "anchors", len(chain.Anchors))
	entry.WriteMsg(conn, entry.MsgVHookChain, chain.AppendBinary(nil))
}

// vhookRoutes (event loop) takes the carried requests the core stopped
// here.
func (d *Daemon) vhookRoutes() {
	for _, dv := range d.node.VHookRoutes() {
		d.onVHookRoute(&dv.Route, dv.From)
	}
}

// onVHookRoute: a chain back at its entry node goes to the waiting
// exchange; a gate's announcement (sent to us, not a chain) to the gate
// hooking; a request at the vnode nearest the asker is anchored here when
// we can, and goes on along the chain or back. from sent it last.
func (d *Daemon) onVHookRoute(rt *wire.VHookRoute, from netip.Addr) {
	h := d.vhook
	body, err := entry.DecodeChainBody(rt.Body)
	if err != nil {
		d.log.Debug("carried virtual hook: malformed", "err", err)
		return
	}
	v := &body.Request
	if rt.Flags&wire.VRouteBack != 0 {
		if ch := h.chains[v.ID]; ch != nil {
			select {
			case ch <- body.Anchors:
			default:
			}
		} else if h.near.id == v.ID && h.near.id != 0 {
			d.nearLinked(body.Anchors)
		} else if v.Swap && len(body.Anchors) == 0 {
			d.gateAnnounced(v, from)
		}
		return
	}
	if ack, ok := d.anchorCarried(rt, &body); ok {
		body.Anchors = append(body.Anchors, ack)
	}
	rt.Body = body.AppendBinary(nil)
	me := d.node.Addr()
	if len(body.Anchors) < int(max(v.Want, 1)) && len(rt.Exclude) < wire.MaxVRouteExclude {
		rt.Exclude = append(rt.Exclude, me)
		if d.node.SendVHookRoute(d.now(), rt) {
			return
		}
	}
	rt.Flags |= wire.VRouteBack
	if !d.node.SendVHookRoute(d.now(), rt) {
		d.log.Debug("carried virtual hook: no way back to its entry node", "origin", rt.Origin)
	}
}

// anchorCarried (event loop): our tunnel to the asker of a carried request
// and our ack, when we can anchor it: we listen, we are not in the chain
// yet, it is not ourselves nor our own anchorage node, and the request
// passes the checks of a direct one (the entry node that took it checked
// it already).
func (d *Daemon) anchorCarried(rt *wire.VHookRoute, body *entry.ChainBody) (entry.VHookAck, bool) {
	h := d.vhook
	if !h.on || h.anchor == nil {
		return entry.VHookAck{}, false
	}
	v := &body.Request
	me := entry.PublicKeyOf(h.key)
	if v.Node == me || h.hookedTo(v.Node) != "" || d.anchorsAlready(v) || len(body.Anchors) >= int(max(v.Want, 1)) {
		return entry.VHookAck{}, false
	}
	for _, a := range body.Anchors {
		if a.Node == me {
			return entry.VHookAck{}, false
		}
	}
	d.forgetRemovedHooks()
	full := len(h.anchored) >= MaxAnchored
	if rt.Origin == d.node.Addr() && h.chains[v.ID] != nil {
		// Ours: checked when it came (a second Check would call it a replay).
		if full {
			return entry.VHookAck{}, false
		}
	} else if st := h.anchor.Check(time.Now(), v, full); st != entry.StatusOK {
		h.log.Info("carried virtual hook refused", "from", v.Node, "status", st.String())
		return entry.VHookAck{}, false
	}
	st, ack := d.anchorFor(v, len(body.Anchors))
	return ack, st == entry.StatusOK
}

// nearLink is our request for a vlink to a near vnode, while it travels.
type nearLink struct {
	id       uint64 // its id; 0: none
	port     uint16 // our end's, reserved
	deadline time.Time
}

// nearLinkWait is how long after a try (made or not) the rule for near
// vnodes is looked at again: the tunnel needs a few rounds to show.
const nearLinkWait = time.Minute

// linkNearVnode (event loop): seed 002's near vnodes that vhooked at
// once. When the map shows a vnode that is our nearest and we are its,
// reached only through tunnels, the one with the smaller address sends
// it, through the mesh, a request for a tunnel of its own: a carried
// VHOOK for our own coordinates with ourselves excluded, so it stops at
// that vnode, which anchors us as the chain's nodes do and sends the ack
// back here.
func (d *Daemon) linkNearVnode() {
	h := d.vhook
	now := time.Now()
	if h.near.id != 0 {
		if now.Before(h.near.deadline) {
			return
		}
		delete(h.reserved, h.near.port)
		h.near = nearLink{}
	}
	if !h.on || h.anchor == nil || !h.pos.HasCoords || now.Before(h.nearAt) {
		return
	}
	g, ok := d.node.NearVnodeToLink()
	if !ok {
		return
	}
	h.nearAt = now.Add(nearLinkWait)
	port := d.freeVLinkPort(h.endpoint.Port())
	v := d.newVHook(port, false, 1)
	if !d.sendCarried(&v, []netip.Addr{d.node.Addr()}) {
		return
	}
	h.reserved[port] = true
	h.near = nearLink{id: v.ID, port: port, deadline: now.Add(chainWait)}
	h.log.Info("a near vnode reached only through tunnels: asking it for a vlink", "vnode", g)
}

// nearLinked (event loop): the answer to our request for a vlink to a
// near vnode; its ack names the node that made its end.
func (d *Daemon) nearLinked(acks []entry.VHookAck) {
	h := d.vhook
	id, port := h.near.id, h.near.port
	delete(h.reserved, port)
	h.near = nearLink{}
	if len(acks) != 1 || acks[0].Verify(acks[0].Node, id) != nil {
		h.log.Info("no vlink to the near vnode", "answers", len(acks))
		return
	}
	// It anchors us now, as a chain's node would: the same upkeep.
	d.linkToAnchor(&acks[0], port)
}
