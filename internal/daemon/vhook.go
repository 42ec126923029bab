package daemon

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ntkd/ntkd/internal/config"
	"github.com/ntkd/ntkd/internal/ctl"
	"github.com/ntkd/ntkd/internal/entry"
	"github.com/ntkd/ntkd/internal/logx"
	"github.com/ntkd/ntkd/internal/reqlimit"
	"github.com/ntkd/ntkd/internal/tunnel"
)

// Virtual hooking, the daemon's side (seed 002; docs/VLAYER.md "Virtual
// hooking"; the messages and the anchorage node's checks are
// internal/entry's). A vnode with entry servers and no vlink asks the
// entry node nearest to it for one (VHOOK over TCP to the entry node's
// listed endpoint); an entry node answers as the anchorage node: it makes
// the tunnel to the asker and tells it where to send (VHOOK_ACK). Both
// tunnels are hand-made vlinks (vlink_manual.go), so every rule of
// tunnels holds for them. Link swapping (seed 002's I_AM_VHOOKING) is
// vswap.go's; requests carried through the mesh to the vnodes nearest the
// asker, and their anchor chains, vchain.go's.

const (
	// vhookEvery is how often a vnode without vlinks looks for an entry
	// node to ask.
	vhookEvery = 10 * time.Second
	// vhookRetryFirst is the wait before asking an entry node again after
	// it failed or refused; it doubles up to vhookRetryMax.
	vhookRetryFirst = time.Minute
	vhookRetryMax   = 30 * time.Minute
	// vhookTimeout bounds one exchange, either side.
	vhookTimeout = 10 * time.Second
	// MaxAnchored bounds the vnodes an anchorage node makes tunnels for:
	// with the hook's own, tunnels on the ports just above the endpoint's
	// (the firewall opens that many, ntkd uci-render).
	MaxAnchored = 16
	// maxAnchors bounds a vnode's anchorage nodes (seed 002: anchor_links).
	maxAnchors = 8
	// maxVHookConns bounds the requests an anchorage node serves at once.
	maxVHookConns = 16
	// vhookSourceRate bounds the requests of one source address a minute.
	vhookSourceRate = 10
)

// vhooker holds both sides. The fields from inFlight on are the event
// loop's.
type vhooker struct {
	on        bool // the virtual layer and entry servers are on
	log       *logx.Logger
	key       ed25519.PrivateKey          // our node key: the ANDNA key
	endpoint  netip.AddrPort              // vlayer.endpoint; invalid when none is configured
	pos       entry.Position              // ours: coordinates and the endpoint's address
	entryNode bool                        // we anchor vnodes that vhook (entry_node)
	anchor    *entry.Anchor               // request checks; non-nil when we listen (an endpoint)
	limiter   *reqlimit.Table[netip.Addr] // requests per source, in the event loop
	done      chan struct{}               // closed when the goroutines are gone
	wg        sync.WaitGroup              // every goroutine of the hook, the exchanges' too
	ctx       context.Context             // the hook's, for exchanges the event loop starts

	every   time.Duration
	anchors int // anchorage nodes wanted (seed 002's anchor_links)

	inFlight bool
	asking   entry.PublicKey // the entry node asked, while inFlight
	retry    map[entry.PublicKey]vhookRetry
	anchored map[string]vpeer // names of the vlinks made for askers (we are their anchorage node)
	hooked   map[string]vpeer // names of the vlinks to our anchorage nodes
	// hookedOnce: we have had anchorage nodes, so we keep anchor_links of
	// them (seed 002); a vnode that never hooked (the first of the layer)
	// counts every vlink it has.
	hookedOnce bool
	reserved   map[uint16]bool // tunnel ports promised in a request whose answer is awaited
	// aliveSince: per vrnode (its tunnel key), since when its tunnel has
	// been up without a death (entry clock); vrnodeAge: how long before
	// we list it to others (seed 000 §6: 3 days).
	aliveSince map[string]time.Time
	vrnodeAge  time.Duration
	// chains: the requests we carry through the mesh, by the asker's id:
	// where their chain goes when it comes back (vchain.go).
	chains map[uint64]chan []entry.VHookAck
	// near: our request for a vlink to a near vnode (vchain.go), nearAt
	// when the rule is looked at again.
	near   nearLink
	nearAt time.Time
	// gates: our announcements to physical neighbours, by address;
	// gateSwaps: the gates we swap with after theirs (vgate.go).
	gates     map[netip.Addr]gateSent
	gateSwaps map[entry.PublicKey]time.Time
}

// vpeer is the vnode at the other end of a hook's tunnel (one we anchor,
// or our anchorage node): what link swapping needs of it.
type vpeer struct {
	node   entry.PublicKey
	pos    entry.Position // where it says it is: its request, or its ack
	listen netip.AddrPort // where it takes link swaps (TCP); invalid: nowhere
}

type vhookRetry struct {
	at   time.Time
	wait time.Duration
}

func newVHooker(o Options, l *entryList, log *logx.Logger) (*vhooker, error) {
	h := &vhooker{on: l.on && o.VLinks != nil && o.VHookEvery >= 0, log: log.With("part", "vhook"), endpoint: l.endpoint,
		pos: l.pos, entryNode: l.key != nil, done: make(chan struct{}), retry: map[entry.PublicKey]vhookRetry{},
		anchored: map[string]vpeer{}, hooked: map[string]vpeer{}, reserved: map[uint16]bool{}, every: o.VHookEvery,
		aliveSince: map[string]time.Time{}, vrnodeAge: vrnodeAge, chains: map[uint64]chan []entry.VHookAck{},
		gates: map[netip.Addr]gateSent{}, gateSwaps: map[entry.PublicKey]time.Time{}}
	if h.every <= 0 {
		h.every = vhookEvery
	}
	// anchor_links: 1 per 10 Mbit/s of uplink, 1..8 (seed 002), from the
	// uplink bandwidth the config gives ([igs] bandwidth, kbit/s).
	h.anchors = min(max(o.Config.IGS.Bandwidth/10000, 1), maxAnchors)
	if !h.on {
		return h, nil
	}
	var err error
	if h.key, err = nodeKey(o); err != nil {
		return nil, fmt.Errorf("daemon: the virtual hook's key: %w", err)
	}
	if h.endpoint.IsValid() { // entry nodes' hooks, and any vnode's link swaps
		h.anchor = entry.NewAnchor(entry.AnchorConfig{})
		h.limiter = reqlimit.New[netip.Addr](map[uint8]reqlimit.Limit{0: {Max: vhookSourceRate, Wait: time.Minute}}, 8, 1024)
	}
	return h, nil
}

// begin starts the goroutines (the anchorage node's listener, the asking
// side's timer); the function it returns stops them and waits.
func (d *Daemon) beginVHook(ctx context.Context) (stop func()) {
	h := d.vhook
	if !h.on {
		close(h.done)
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	h.ctx = ctx
	if h.anchor != nil {
		// Every address: behind a port forward the public one is not ours.
		// A TCPAddr, not a string: a string would link Go's DNS resolver
		// into the router binary.
		ln, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(netip.AddrPortFrom(netip.IPv6Unspecified(), h.endpoint.Port())))
		if err != nil {
			h.log.Warn("cannot listen for virtual hooks and link swaps", "port", h.endpoint.Port(), "err", err)
		} else {
			h.log.Info("listening for virtual hooks and link swaps", "port", h.endpoint.Port(), "entry_node", h.entryNode)
			h.wg.Add(1)
			go func() {
				defer h.wg.Done()
				d.serveVHooks(ctx, ln)
			}()
		}
	}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		t := time.NewTicker(h.every)
		defer t.Stop()
		for {
			// A first look soon after the start: the cached list is there.
			if d.Do(ctx, func() { d.vhookStep(ctx) }) != nil {
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return func() {
		cancel()
		h.wg.Wait()
		close(h.done)
	}
}

// vhookStep (event loop): a vnode without vlinks, or with fewer
// anchorage nodes than it wants, asks for them: through one of its
// anchorage nodes while it has any left (seed 002: dead anchorage nodes
// are replaced through the remaining ones), else the nearest entry node
// it has not given up on for now.
func (d *Daemon) vhookStep(ctx context.Context) {
	h := d.vhook
	d.dropDeadHooks()
	d.trackVRNodes()
	d.linkNearVnode()
	d.gateHook()
	links := d.withManualVLinks(d.cfg).VLayer.Links
	have := len(links)
	if h.hookedOnce {
		// Anchorage nodes are kept at anchor_links whatever else links us.
		have = len(h.hooked)
	}
	if h.inFlight || len(d.cfg.VLayer.Links) > 0 || have >= h.anchors {
		return
	}
	target, ok := d.whomToAsk(links)
	if !ok {
		d.entries.refresh() // none to ask: perhaps a newer list has one
		return
	}
	// One tunnel port per anchorage node still wanted, in a row: the
	// nth of a chain sends to our endpoint's port + n.
	want := h.anchors - have
	port := d.freeVLinkPorts(h.endpoint.Port(), want)
	for i := range want {
		h.reserved[port+uint16(i)] = true
	}
	v := d.newVHook(port, false, want)
	if len(links) > 0 {
		// Our tunnels stay: those who anchor us already are not asked
		// to make theirs again.
		v.Keep = true
		v.Sign(h.key)
	}
	h.inFlight, h.asking = true, target.Node
	h.log.Info("asking for a vlink", "to", target.Endpoint, "key", target.Node, "want", want)
	// Added in the loop, waited for after it (beginVHook's stop, deferred
	// in Run): no exchange outlives the daemon.
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		acks, err := exchangeVHook(ctx, target.Endpoint, target.Node, v.ID, entry.MsgVHook, v.AppendBinary(nil))
		d.Do(ctx, func() { d.vhookDone(target, port, want, acks, err) })
	}()
}

// whomToAsk (event loop) picks who we send our VHOOK to: a live anchorage
// node of ours that takes requests, or else the entry node of the list
// nearest to us that is not ourselves, nor a node we have a tunnel with
// already, nor one at our own address (behind the same NAT), nor one we
// wait for.
func (d *Daemon) whomToAsk(links []config.VLink) (entry.Entry, bool) {
	h := d.vhook
	now := time.Now()
	waiting := func(k entry.PublicKey) bool {
		rt, ok := h.retry[k]
		return ok && now.Before(rt.at)
	}
	var best string
	for name, a := range h.hooked {
		if a.listen.IsValid() && !waiting(a.node) && (best == "" || name < best) {
			best = name
		}
	}
	if best != "" {
		a := h.hooked[best]
		return entry.Entry{Record: entry.Record{Node: a.node, Endpoint: a.listen}}, true
	}
	l := d.entries
	list := l.entries()
	me := entry.PublicKeyOf(h.key)
	for _, i := range entry.ByDistance(list, l.pos) {
		e := &list[i]
		tk := tunnel.Key(e.TunnelKey).String()
		linked := slices.ContainsFunc(links, func(l config.VLink) bool { return l.PublicKey == tk })
		if e.Node != me && !linked && (!l.pos.Addr.IsValid() || e.Endpoint.Addr() != l.pos.Addr) && !waiting(e.Node) {
			return *e, true
		}
	}
	return entry.Entry{}, false
}

// dropDeadHooks (event loop): dead tunnels (nobody answers over them:
// upkeepVLinks) that virtual hooking made go, those made for askers and
// those to our anchorage nodes, which are put aside for a while, so that
// the node hooks again through others (seed 002: dead anchorage nodes are
// replaced, re-vhooking when all died). Configured tunnels and live ones
// are never touched.
func (d *Daemon) dropDeadHooks() {
	h := d.vhook
	if len(h.hooked)+len(h.anchored) == 0 {
		return
	}
	dead := map[string]bool{}
	for _, in := range d.opt.VLinks.List() {
		dead[in.Name] = strings.HasPrefix(in.Standby, "dead")
	}
	// A tunnel made for an asker that died goes at once, freeing its slot:
	// the asker, back, asks again.
	for name := range h.anchored {
		if dead[name] {
			d.delVLink(name)
			delete(h.anchored, name)
			h.log.Info("a vhooked vnode's tunnel is dead: it goes", "interface", name)
		}
	}
	// A dead tunnel to an anchorage node goes too, and that node is put
	// aside: the next step asks another in its place.
	now := time.Now()
	for name, anchor := range h.hooked {
		if !dead[name] {
			continue
		}
		if _, err := d.delVLink(name); err == nil {
			h.log.Info("the tunnel to an anchorage node is dead: it goes, to hook again elsewhere", "interface", name, "anchor", anchor.node)
		}
		delete(h.hooked, name)
		h.retry[anchor.node] = vhookRetry{at: now.Add(vhookRetryMax), wait: vhookRetryMax}
	}
}

// vhookDone (event loop): the answer of the entry node asked, with the
// tunnel ports reserved for it (want from port).
func (d *Daemon) vhookDone(target entry.Entry, port uint16, want int, acks []entry.VHookAck, err error) {
	h := d.vhook
	h.inFlight = false
	for i := range want {
		delete(h.reserved, port+uint16(i))
	}
	if err == nil && len(acks) > want {
		err = fmt.Errorf("vhook: %d anchorage nodes in the answer, we asked for %d", len(acks), want)
	}
	linked := 0
	for i := 0; err == nil && i < len(acks); i++ {
		ack := &acks[i]
		if !d.linkToAnchor(ack, port+uint16(i)) {
			continue
		}
		linked++
		if l := ackPeer(ack).listen; l.IsValid() {
			// Link swapping with each new anchorage node (seed 002:
			// "repeated for each vrnode of H").
			d.beginSwap(entry.Entry{Record: entry.Record{Node: ack.Node, Endpoint: l}}, 0)
		}
	}
	if linked > 0 {
		delete(h.retry, target.Node)
		return
	}
	if err == nil {
		err = errors.New("vhook: no tunnel made")
	}
	r := h.retry[target.Node]
	r.wait = min(max(2*r.wait, vhookRetryFirst), vhookRetryMax)
	r.at = time.Now().Add(r.wait)
	h.retry[target.Node] = r
	h.log.Warn("virtual hook failed", "entry_node", target.Endpoint, "err", err, "retry_in", r.wait)
}

// linkToAnchor (event loop) makes our end of the tunnel an anchorage
// node made for us (its ack), listening on port, and keeps it as one.
func (d *Daemon) linkToAnchor(ack *entry.VHookAck, port uint16) bool {
	h := d.vhook
	vl, err := d.addVLink(ack.Endpoint.String(), &ctl.VLinkSpec{PublicKey: tunnel.Key(ack.TunnelKey).String(), ListenPort: int(port)})
	if err != nil {
		h.log.Warn("vhook: cannot make the tunnel to an anchorage node", "endpoint", ack.Endpoint, "key", ack.Node, "err", err)
		return false
	}
	h.hooked[vl.Interface] = ackPeer(ack)
	h.hookedOnce = true
	h.log.Info("vhooked: a vlink to an anchorage node", "interface", vl.Interface, "endpoint", ack.Endpoint, "key", ack.Node)
	return true
}

// ackPeer is what an ack tells of the node that made it.
func ackPeer(a *entry.VHookAck) vpeer {
	p := vpeer{node: a.Node, pos: entry.Position{Addr: a.Endpoint.Addr(), HasCoords: a.HasCoords, Lat: a.Lat, Lon: a.Lon}}
	if a.Listen != 0 {
		p.listen = netip.AddrPortFrom(a.Endpoint.Addr(), a.Listen)
	}
	return p
}

// requestPeer is what a request tells of its sender.
func requestPeer(v *entry.VHook) vpeer {
	p := vpeer{node: v.Node, pos: entry.Position{Addr: v.Endpoint.Addr(), HasCoords: v.HasCoords, Lat: v.Lat, Lon: v.Lon}}
	if v.Endpoint.IsValid() && v.Listen != 0 {
		p.listen = netip.AddrPortFrom(v.Endpoint.Addr(), v.Listen)
	}
	return p
}

// newAck (event loop) is our signed answer to request id: the tunnel we
// made for it listens on port; we take link swaps on our endpoint's.
func (d *Daemon) newAck(port uint16, id uint64, now time.Time) entry.VHookAck {
	h := d.vhook
	a := entry.VHookAck{TunnelKey: d.opt.VLinks.PublicKey(), Endpoint: netip.AddrPortFrom(h.endpoint.Addr(), port),
		Listen: h.endpoint.Port(), HasCoords: h.pos.HasCoords, Lat: h.pos.Lat, Lon: h.pos.Lon, ID: id, Stamp: now.UnixNano()}
	a.Sign(h.key)
	return a
}

// newVHook (event loop) is a signed request of ours whose tunnel would
// listen on port; swap marks an I_AM_VHOOKING or a SWAP_LINK's request;
// want is how many anchorage nodes a VHOOK asks for.
func (d *Daemon) newVHook(port uint16, swap bool, want int) entry.VHook {
	h := d.vhook
	v := entry.VHook{TunnelKey: d.opt.VLinks.PublicKey(), ID: randomID(), Stamp: time.Now().UnixNano(), Swap: swap, Want: uint8(want)}
	if h.endpoint.IsValid() {
		v.Endpoint, v.Listen = netip.AddrPortFrom(h.endpoint.Addr(), port), h.endpoint.Port()
	}
	v.HasCoords, v.Lat, v.Lon = h.pos.HasCoords, h.pos.Lat, h.pos.Lon
	v.Sign(h.key)
	return v
}

// exchangeVHook sends a request of type typ (a VHOOK or a SWAP_LINK) to
// the vnode at ep and reads its answer: one ack, or an entry node's chain
// of them (a VHOOK carried through the mesh), checked to be node's and
// for id.
func exchangeVHook(ctx context.Context, ep netip.AddrPort, node entry.PublicKey, id uint64, typ byte, payload []byte) ([]entry.VHookAck, error) {
	ctx, cancel := context.WithTimeout(ctx, vhookTimeout)
	defer cancel()
	var dl net.Dialer
	conn, err := dl.DialTCP(ctx, "tcp", netip.AddrPort{}, ep)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(vhookTimeout))
	if err := entry.WriteMsg(conn, typ, payload); err != nil {
		return nil, err
	}
	typ, p, err := entry.ReadMsg(conn, 1)
	if err != nil {
		return nil, err
	}
	switch typ {
	case entry.MsgResult:
		st, err := entry.DecodeResult(p)
		if err != nil {
			return nil, err
		}
		return nil, &entry.StatusError{Status: st}
	case entry.MsgVHookAck:
		ack, err := entry.DecodeVHookAck(p)
		if err == nil {
			err = ack.Verify(node, id)
		}
		return []entry.VHookAck{ack}, err
	case entry.MsgVHookChain:
		c, err := entry.DecodeVHookChain(p)
		if err == nil {
			err = c.Verify(node, id)
		}
		return c.Anchors, err
	}
	return nil, errors.New("vhook: an answer of another kind")
}

// serveVHooks is the anchorage node's listener.
func (d *Daemon) serveVHooks(ctx context.Context, ln net.Listener) {
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	sem := make(chan struct{}, maxVHookConns)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		select {
		case sem <- struct{}{}:
		default:
			conn.Close() // busy: the asker tries again later
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			d.serveVHook(ctx, conn)
		}()
	}
}

func (d *Daemon) serveVHook(ctx context.Context, conn net.Conn) {
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	conn.SetDeadline(time.Now().Add(vhookTimeout))
	h := d.vhook
	src := netip.Addr{}
	if a, ok := conn.RemoteAddr().(*net.TCPAddr); ok {
		src = a.AddrPort().Addr().Unmap()
	}
	result := func(st entry.Status) { entry.WriteMsg(conn, entry.MsgResult, []byte{byte(st)}) }
	typ, p, err := entry.ReadMsg(conn, 1)
	if err != nil {
		result(entry.StatusMalformed)
		return
	}
	allowed := false
	if d.Do(ctx, func() { allowed = h.limiter.Allow(d.now(), src, 0) }) != nil {
		return
	}
	if !allowed {
		result(entry.StatusRate)
		return
	}
	switch typ {
	case entry.MsgSwapLink:
		d.serveSwapLink(ctx, conn, p)
		return
	case entry.MsgListRequest:
		d.serveVRNodes(ctx, conn, p)
		return
	}
	if typ != entry.MsgVHook {
		result(entry.StatusMalformed)
		return
	}
	v, err := entry.DecodeVHook(p)
	if err != nil {
		result(entry.StatusMalformed)
		return
	}
	if v.Swap {
		d.serveSwapAsk(ctx, conn, &v)
		return
	}
	var st entry.Status
	var ack entry.VHookAck
	var carried chan []entry.VHookAck
	if d.Do(ctx, func() { st, ack, carried = d.anchorVHook(&v) }) != nil {
		return
	}
	if carried != nil {
		d.awaitChain(ctx, conn, &v, carried)
		return
	}
	writeAnswer(conn, st, &ack)
}

// writeAnswer sends the answer to a request for a tunnel: the ack, or
// the refusal's status.
func writeAnswer(conn net.Conn, st entry.Status, ack *entry.VHookAck) {
	if st != entry.StatusOK {
		entry.WriteMsg(conn, entry.MsgResult, []byte{byte(st)})
		return
	}
	entry.WriteMsg(conn, entry.MsgVHookAck, ack.AppendBinary(nil))
}

// anchorVHook (event loop): the entry node's decision on a request. A
// request it takes is carried through the mesh to the vnodes nearest the
// asker (carried: the chain comes back on it, vchain.go), or anchored
// here when the map knows none.
func (d *Daemon) anchorVHook(v *entry.VHook) (st entry.Status, ack entry.VHookAck, carried chan []entry.VHookAck) {
	h := d.vhook
	d.forgetRemovedHooks()
	// A vnode we anchor that lost another anchorage node asks us for more
	// (seed 002: replaced through the remaining ones); any vnode may,
	// whether we are an entry node or not.
	more := d.anchorsAlready(v)
	if !h.entryNode && !more {
		return entry.StatusRefused, ack, nil
	}
	linked := h.inFlight && h.asking == v.Node || h.hookedTo(v.Node) != ""
	// Two entry nodes that asked each other at once (both without a
	// vlink): the one with the smaller key is the vnode, the other the
	// anchorage node, the same decision on both ends (seed 002's
	// smallest-address rule for near nodes that vhooked at once, and
	// seed 004: one tunnel, not two half-made ones).
	me := entry.PublicKeyOf(h.key)
	if linked && bytes.Compare(v.Node[:], me[:]) > 0 {
		h.log.Info("virtual hook refused: we asked it too, and our key is the smaller", "from", v.Node)
		return entry.StatusRefused, ack, nil
	}
	if st := h.anchor.Check(time.Now(), v, len(h.anchored) >= MaxAnchored); st != entry.StatusOK {
		h.log.Info("virtual hook refused", "from", v.Node, "status", st.String())
		return st, ack, nil
	}
	if !linked {
		if ch := d.carryVHook(v, more); ch != nil {
			return entry.StatusOK, ack, ch
		}
	}
	if more {
		return entry.StatusRefused, ack, nil // no other vnode the map knows
	}
	st, ack = d.anchorFor(v, 0)
	return st, ack, nil
}

// anchorsAlready (event loop) says whether we anchor v's sender already
// and it keeps that tunnel (VHook.Keep): it asks for anchorage nodes
// besides us.
func (d *Daemon) anchorsAlready(v *entry.VHook) bool {
	return v.Keep && d.vhook.anchoredFor(v.Node) != ""
}

// anchorFor (event loop) makes our tunnel to a checked request's sender
// and signs our ack. nth is our place in its anchor chain: the sender
// listens for its nth anchorage node on its endpoint's port + nth.
func (d *Daemon) anchorFor(v *entry.VHook, nth int) (entry.Status, entry.VHookAck) {
	h := d.vhook
	key := tunnel.Key(v.TunnelKey).String()
	// The asker again (it restarted, or lost our answer): its new request
	// replaces the tunnel made before (one per vnode: there is one at most).
	if i := slices.IndexFunc(d.manualVLinks, func(l config.VLink) bool { return l.PublicKey == key }); i >= 0 {
		name := d.manualVLinks[i].Name
		d.delVLink(name)
		delete(h.anchored, name)
	}
	port := d.freeVLinkPort(h.endpoint.Port())
	// A vnode that gave no endpoint (behind NAT) sends first: the tunnel
	// learns where from (WireGuard's roaming), its keepalives keep the
	// NAT's mapping.
	ep := ""
	if v.Endpoint.IsValid() {
		ep = netip.AddrPortFrom(v.Endpoint.Addr(), v.Endpoint.Port()+uint16(nth)).String()
	}
	vl, err := d.addVLinkTo(ep, &ctl.VLinkSpec{PublicKey: key, ListenPort: int(port)})
	if err != nil {
		h.log.Warn("virtual hook: cannot make the tunnel", "from", v.Node, "err", err)
		return entry.StatusFull, entry.VHookAck{}
	}
	h.anchored[vl.Interface] = requestPeer(v)
	ack := d.newAck(port, v.ID, time.Now())
	h.log.Info("anchorage node: a vlink for a vhooking vnode", "interface", vl.Interface, "endpoint", ep, "key", v.Node)
	return entry.StatusOK, ack
}

// hookedTo is the name of our tunnel to our anchorage node node, "" when
// there is none.
func (h *vhooker) hookedTo(node entry.PublicKey) string {
	for name, a := range h.hooked {
		if a.node == node {
			return name
		}
	}
	return ""
}

// anchoredFor is the name of the tunnel we made for the vnode node, ""
// when there is none.
func (h *vhooker) anchoredFor(node entry.PublicKey) string {
	for name, a := range h.anchored {
		if a.node == node {
			return name
		}
	}
	return ""
}

// forgetRemovedHooks (event loop) forgets the tunnels of virtual hooking
// that were removed by hand meanwhile (`ntkd ctl vlink del`).
func (d *Daemon) forgetRemovedHooks() {
	h := d.vhook
	for name := range h.anchored {
		if !d.isManualVLink(name) {
			delete(h.anchored, name)
		}
	}
	for name := range h.hooked {
		if !d.isManualVLink(name) {
			delete(h.hooked, name)
		}
	}
}

// freeVLinkPort is the first port above base that no tunnel listens on.
func (d *Daemon) freeVLinkPort(base uint16) uint16 { return d.freeVLinkPorts(base, 1) }

// freeVLinkPorts is the first of n ports in a row above base that no
// tunnel listens on.
func (d *Daemon) freeVLinkPorts(base uint16, n int) uint16 {
	if base == 0 {
		base = 27000
	}
	links := d.withManualVLinks(d.cfg).VLayer.Links
	used := func(p uint16) bool {
		return d.vhook.reserved[p] || slices.ContainsFunc(links, func(l config.VLink) bool { return l.ListenPort == int(p) })
	}
	for p := int(base) + 1; p+n-1 <= 0xffff; p++ {
		free := true
		for i := range n {
			if used(uint16(p + i)) {
				free = false
				p += i // the next run starts after the used port
				break
			}
		}
		if free {
			return uint16(p)
		}
	}
	return 0
}

func randomID() uint64 {
	var b [8]byte
	rand.Read(b[:])
	return binary.BigEndian.Uint64(b[:])
}
