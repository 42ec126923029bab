package daemon

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/ntkd/ntkd/internal/ctl"
	"github.com/ntkd/ntkd/internal/entry"
	"github.com/ntkd/ntkd/internal/tunnel"
)

// Link swapping (seed 002 "Reordering the virtual layer", I_AM_VHOOKING;
// docs/VLAYER.md). A vnode H that has just vhooked to its anchorage node L
// asks L which of the vnodes L anchors are nearer to H than to L. L offers
// them, signed; H hands the offer to each (SWAP_LINK) and each makes a
// tunnel to H, takes H as its anchorage node in L's place and drops its
// tunnel to L; H tells L which it linked (SWAP_DONE) and L drops its
// tunnels to those. The chain London - Athens becomes London - Rome -
// Athens when Rome hooks to London: the anchorage node's position shifts,
// no vnode is left without one.

// swapTimeout bounds H's whole exchange with L, the links to the offered
// vnodes included (each within vhookTimeout).
const swapTimeout = 60 * time.Second

// beginSwap (event loop): the swap with the vnode L at l (after our hook
// to it, L one of our anchorage nodes; or a gate that is our physical
// neighbour now, with id the one its announcement gave), in a goroutine of
// the hook's. id 0: a fresh one.
func (d *Daemon) beginSwap(l entry.Entry, id uint64) {
	h := d.vhook
	if h.ctx == nil {
		return
	}
	v := d.newVHook(h.endpoint.Port(), true, 1) // no tunnel: the endpoint itself
	if id != 0 {
		v.ID = id
		v.Sign(h.key)
	}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		linked, err := d.swapWith(h.ctx, l, &v)
		if err != nil {
			h.log.Info("link swapping failed", "with", l.Node, "err", err)
			return
		}
		h.log.Info("link swapping done", "with", l.Node, "linked", len(linked))
	}()
}

// swapWith is H's side: ask L, link to what it offers, report.
func (d *Daemon) swapWith(ctx context.Context, anchor entry.Entry, ask *entry.VHook) ([]entry.PublicKey, error) {
	ctx, cancel := context.WithTimeout(ctx, swapTimeout)
	defer cancel()
	var dl net.Dialer
	conn, err := dl.DialTCP(ctx, "tcp", netip.AddrPort{}, anchor.Endpoint)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if err := entry.WriteMsg(conn, entry.MsgVHook, ask.AppendBinary(nil)); err != nil {
		return nil, err
	}
	typ, p, err := entry.ReadMsg(conn, 1)
	switch {
	case err != nil:
		return nil, err
	case typ == entry.MsgResult:
		st, err := entry.DecodeResult(p)
		if err != nil {
			return nil, err
		}
		return nil, &entry.StatusError{Status: st}
	case typ != entry.MsgSwapOffer:
		return nil, errors.New("swap: an answer of another kind")
	}
	offer, err := entry.DecodeSwapOffer(p)
	if err != nil {
		return nil, err
	}
	switch {
	case offer.Anchor != anchor.Node || offer.Asker != ask.Node || offer.ID != ask.ID:
		return nil, errors.New("swap: an offer for another request")
	case offer.Verify() != nil:
		return nil, entry.ErrBadSignature
	}
	var linked []entry.PublicKey
	for _, peer := range offer.Peers {
		if err := d.swapLink(ctx, peer, &offer); err != nil {
			d.vhook.log.Info("link swapping: no vlink to an offered vnode", "vnode", peer.Node, "at", peer.Endpoint, "err", err)
			continue
		}
		linked = append(linked, peer.Node)
	}
	done := entry.SwapDone{ID: ask.ID, Linked: linked}
	done.Sign(d.vhook.key)
	if err := entry.WriteMsg(conn, entry.MsgSwapDone, done.AppendBinary(nil)); err != nil {
		return linked, err
	}
	if typ, p, err = entry.ReadMsg(conn, 1); err != nil {
		return linked, err
	}
	if st, err := entry.DecodeResult(p); typ != entry.MsgResult || err != nil || st != entry.StatusOK {
		return linked, fmt.Errorf("swap: the anchorage node's answer to our report: %v", st)
	}
	return linked, nil
}

// swapLink makes our vlink to one offered vnode: it is asked with the
// offer as proof, makes its end and answers with it, then we make ours.
func (d *Daemon) swapLink(ctx context.Context, peer entry.SwapPeer, offer *entry.SwapOffer) error {
	h := d.vhook
	var link entry.SwapLink
	var port uint16
	var refuse error
	if err := d.Do(ctx, func() {
		switch {
		case d.linkedTo(peer.Node):
			refuse = errors.New("a vlink to it exists already")
		case len(h.anchored) >= MaxAnchored:
			refuse = errors.New("no room for another vlink")
		default:
			port = d.freeVLinkPort(h.endpoint.Port())
			h.reserved[port] = true
			link.Hook = d.newVHook(port, true, 1)
		}
	}); err != nil {
		return err
	}
	if refuse != nil {
		return refuse
	}
	link.Offer = *offer
	acks, err := exchangeVHook(ctx, peer.Endpoint, peer.Node, link.Hook.ID, entry.MsgSwapLink, link.AppendBinary(nil))
	if err == nil && len(acks) != 1 {
		err = errors.New("swap: a chain for an answer")
	}
	var ack entry.VHookAck
	if err == nil {
		ack = acks[0]
	}
	if derr := d.Do(ctx, func() {
		delete(h.reserved, port)
		if err != nil {
			return
		}
		var vl ctl.VLink
		if vl, err = d.addVLink(ack.Endpoint.String(), &ctl.VLinkSpec{PublicKey: tunnel.Key(ack.TunnelKey).String(), ListenPort: int(port)}); err == nil {
			// We are its anchorage node now, in L's place.
			p := ackPeer(&ack)
			p.listen = peer.Endpoint // where the offer says it listens
			h.anchored[vl.Interface] = p
			h.log.Info("link swapping: a vlink to a vnode the anchorage node handed over", "interface", vl.Interface, "key", peer.Node)
		}
	}); derr != nil {
		return derr
	}
	return err
}

// linkedTo (event loop) says whether a tunnel of the hook's links us to
// node already.
func (d *Daemon) linkedTo(node entry.PublicKey) bool {
	d.forgetRemovedHooks()
	return d.vhook.hookedTo(node) != "" || d.vhook.anchoredFor(node) != ""
}

// serveSwapAsk is L's side: an I_AM_VHOOKING from a vnode we anchor.
func (d *Daemon) serveSwapAsk(ctx context.Context, conn net.Conn, v *entry.VHook) {
	result := func(st entry.Status) { entry.WriteMsg(conn, entry.MsgResult, []byte{byte(st)}) }
	var st entry.Status
	var offer entry.SwapOffer
	if d.Do(ctx, func() { st, offer = d.offerSwap(v) }) != nil {
		return
	}
	if st != entry.StatusOK {
		result(st)
		return
	}
	// The asker links to the offered vnodes before it reports.
	conn.SetDeadline(time.Now().Add(swapTimeout))
	if entry.WriteMsg(conn, entry.MsgSwapOffer, offer.AppendBinary(nil)) != nil {
		return
	}
	typ, p, err := entry.ReadMsg(conn, 1)
	if err != nil || typ != entry.MsgSwapDone {
		result(entry.StatusMalformed)
		return
	}
	done, err := entry.DecodeSwapDone(p)
	switch {
	case err != nil:
		result(entry.StatusMalformed)
		return
	case done.Asker != v.Node || done.ID != v.ID:
		result(entry.StatusRefused)
		return
	case done.Verify() != nil:
		result(entry.StatusBadSignature)
		return
	}
	if d.Do(ctx, func() { d.handedOver(&offer, done.Linked) }) != nil {
		return
	}
	result(entry.StatusOK)
}

// offerSwap (event loop): the vnodes we anchor that are nearer to the
// asker than to us (seed 002: d(H,vR) < d(L,vR)), among those that take
// link swaps.
func (d *Daemon) offerSwap(v *entry.VHook) (entry.Status, entry.SwapOffer) {
	h := d.vhook
	d.forgetRemovedHooks()
	if st := h.anchor.Check(time.Now(), v, false); st != entry.StatusOK {
		return st, entry.SwapOffer{}
	}
	if h.anchoredFor(v.Node) == "" && !d.takeGateAsk(v.ID) {
		h.log.Info("link swapping refused: we are not its anchorage node, nor a gate next to it", "from", v.Node)
		return entry.StatusRefused, entry.SwapOffer{}
	}
	asker := requestPeer(v).pos
	var near []vpeer
	for _, a := range h.anchored {
		if a.node != v.Node && a.listen.IsValid() && entry.Nearer(asker, h.pos, a.pos) {
			near = append(near, a)
		}
	}
	// The nearest to the asker first, as many as an offer holds. An
	// insertion sort: at most MaxAnchored, and a generic sort costs the
	// router binary ~11 KB.
	before := func(a, b *vpeer) bool {
		if entry.Nearer(a.pos, b.pos, asker) != entry.Nearer(b.pos, a.pos, asker) {
			return entry.Nearer(a.pos, b.pos, asker)
		}
		return bytes.Compare(a.node[:], b.node[:]) < 0
	}
	for i := 1; i < len(near); i++ {
		for j := i; j > 0 && before(&near[j], &near[j-1]); j-- {
			near[j], near[j-1] = near[j-1], near[j]
		}
	}
	var peers []entry.SwapPeer
	for _, a := range near[:min(len(near), entry.MaxSwapPeers)] {
		peers = append(peers, entry.SwapPeer{Node: a.node, Endpoint: a.listen})
	}
	offer := entry.SwapOffer{Asker: v.Node, ID: v.ID, Stamp: time.Now().UnixNano(), Peers: peers}
	offer.Sign(h.key)
	h.log.Info("link swapping: offering vnodes nearer to the asker", "to", v.Node, "offered", len(peers))
	return entry.StatusOK, offer
}

// handedOver (event loop): L drops its tunnels to the vnodes the asker
// linked, among those it offered.
func (d *Daemon) handedOver(offer *entry.SwapOffer, linked []entry.PublicKey) {
	h := d.vhook
	for _, k := range linked {
		if !offer.Offers(k) {
			continue
		}
		if name := h.anchoredFor(k); name != "" {
			d.delVLink(name)
			delete(h.anchored, name)
			h.log.Info("link swapping: a vnode handed over; our vlink to it goes", "interface", name, "key", k, "to", offer.Asker)
		}
	}
}

// serveSwapLink is vR's side: H brings our anchorage node's offer.
func (d *Daemon) serveSwapLink(ctx context.Context, conn net.Conn, p []byte) {
	result := func(st entry.Status) { entry.WriteMsg(conn, entry.MsgResult, []byte{byte(st)}) }
	link, err := entry.DecodeSwapLink(p)
	if err != nil {
		result(entry.StatusMalformed)
		return
	}
	if link.Offer.Verify() != nil {
		result(entry.StatusBadSignature)
		return
	}
	var st entry.Status
	var ack entry.VHookAck
	if d.Do(ctx, func() { st, ack = d.acceptSwapLink(&link) }) != nil {
		return
	}
	writeAnswer(conn, st, &ack)
}

// acceptSwapLink (event loop): a tunnel to H, who takes our anchorage
// node's place; our tunnel to that node goes.
func (d *Daemon) acceptSwapLink(link *entry.SwapLink) (entry.Status, entry.VHookAck) {
	h := d.vhook
	d.forgetRemovedHooks()
	me := entry.PublicKeyOf(h.key)
	from := h.hookedTo(link.Offer.Anchor)
	now := time.Now()
	if from == "" || !link.Offer.Offers(me) {
		h.log.Info("link swapping refused: not handed over by an anchorage node of ours", "from", link.Hook.Node)
		return entry.StatusRefused, entry.VHookAck{}
	}
	if st := h.anchor.Timely(now, link.Offer.Stamp); st != entry.StatusOK {
		return st, entry.VHookAck{}
	}
	if d.linkedTo(link.Hook.Node) {
		return entry.StatusRefused, entry.VHookAck{}
	}
	if st := h.anchor.Check(now, &link.Hook, false); st != entry.StatusOK {
		return st, entry.VHookAck{}
	}
	port := d.freeVLinkPort(h.endpoint.Port())
	ep := ""
	if link.Hook.Endpoint.IsValid() {
		ep = link.Hook.Endpoint.String()
	}
	vl, err := d.addVLinkTo(ep, &ctl.VLinkSpec{PublicKey: tunnel.Key(link.Hook.TunnelKey).String(), ListenPort: int(port)})
	if err != nil {
		h.log.Warn("link swapping: cannot make the tunnel", "from", link.Hook.Node, "err", err)
		return entry.StatusFull, entry.VHookAck{}
	}
	h.hooked[vl.Interface] = requestPeer(&link.Hook)
	d.delVLink(from)
	delete(h.hooked, from)
	h.log.Info("link swapping: handed over to a nearer anchorage node", "interface", vl.Interface, "anchor", link.Hook.Node, "was", link.Offer.Anchor)
	return entry.StatusOK, d.newAck(port, link.Hook.ID, now)
}
