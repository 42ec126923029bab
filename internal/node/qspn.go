package node

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/ntkd/ntkd/internal/addr"
	"github.com/ntkd/ntkd/internal/maps"
	"github.com/ntkd/ntkd/internal/radar"
	"github.com/ntkd/ntkd/internal/wire"
)

// QSPN in ntkd (docs/QSPN.md): tracer packets are path vectors. Each copy
// carries the elements it crossed at its level (IP2MAP ids: nodes at level
// 0, gnodes above) with the cost of each segment, so a receiver learns a
// route to every element on the way (seed 001 §6.1). A copy is forwarded
// when it is the first of its flood or improves the receiver's cost to the
// flood's origin, so every flood settles on shortest paths whatever order
// the copies arrive in. Above level 0 a gnode behaves as one node (§5.3.1):
// its border nodes start its floods, and while a copy travels inside a
// gnode the internal hops add to that gnode's segment instead of adding
// chunks.

// roundJumpReset is how far ahead a round may be entered before the
// broadcast ids stamped in the maps stop being comparable with the new
// ones (an id keeps 24 bits of the round and compares as a signed 32-bit
// difference): beyond it they are forgotten.
const roundJumpReset = 1 << 20

// minRoundGap is the least time a node stays in a round before it enters
// a newer one it hears of. Honest rounds come at least 2*RoundSettle
// apart; faster ones (a partition healing while a round runs, or a
// neighbour sending rounds far ahead on purpose, RELIABILITY.md B2) are
// entered at this pace, their floods learned from meanwhile, so that no
// one can age routes or make the mesh flood at the pace of the ids it
// sends.
func (n *Node) minRoundGap() time.Duration { return n.cfg.RoundSettle / 4 }

// roundBits keeps the part of a round id that a broadcast id carries.
func roundBits(r uint32) uint32 { return r & 0xffffff }

// maxForwardsPerFlood bounds how many improved copies of one flood a node
// passes on, so no arrival order can make it flood without end.
const maxForwardsPerFlood = 8

const infinity = ^uint32(0)

type levelState struct {
	round uint32
	// epoch counts the rounds this node entered at the level: routes are
	// stamped and aged by it, not by the round id, so a round id far
	// ahead (a partition healed, or a hostile flood) ages routes by one
	// round, not by the distance between the ids.
	epoch      uint8
	roundStart time.Duration
	pending    bool
	urgent     bool                      // the pending round repairs a loss: it need not wait WaitRound
	settled    bool                      // the round's floods are over and stale routes dropped
	flooded    bool                      // a round every element floods in (not the hook\'s)
	seq        uint8                     // floods we originated in this round
	best       [addr.MaxGroupNode]uint32 // best cost to each origin in its current flood
	fwd        [addr.MaxGroupNode]uint8  // copies of that flood passed on
	known      [addr.MaxGroupNode]uint32 // nonce of the element holding each id (0: unknown)
	starters   [addr.MaxGroupNode]uint32 // originHash of the last copy of each flood passed on
	caughtUp   [addr.MaxGroupNode]uint32 // round+1 in which each rnode got our catch-up flood
	knownIn    [addr.MaxGroupNode]uint32 // round+1 in which the known element's own flood came
	blocked    addr.IDSet                // ids whose floods we refused this round (collision losers)
	part       [addr.MaxGroupNode]uint32 // part of each origin's current flood
	altPart    [addr.MaxGroupNode]uint32 // a second part of it, travelling separately
	altBest    [addr.MaxGroupNode]uint32
	altFwd     [addr.MaxGroupNode]uint8
	digest     uint32            // the elements of this level we reach, at the last settle
	members    int               // how many, at the last settle
	suspects   map[uint32]uint32 // starters out of reach, by hash: round first seen
	losses     uint8             // ROUTE_LOSS announcements made since lossesAt
	lossesAt   time.Duration
	// deferred is the newest round seen while the current one is younger
	// than minRoundGap (valid when hasDeferred): entered once it is not.
	deferred    uint32
	hasDeferred bool
	// Internet gateways (igs.go): those inside each element of the level,
	// from its newest flood; and what our own floods of it announce.
	gws           map[uint8][]wire.Gateway
	announced     []wire.Gateway
	announcedOnce bool
	// The Viphilama map (viphilama.go): the multi-barycenter of the
	// vnodes inside each element, and what our own floods announce.
	vps            map[uint8][]wire.VnodePoint
	vAnnounced     []wire.VnodePoint
	vAnnouncedOnce bool
}

func (n *Node) stamp(level int) uint8 { return n.lv[level].epoch }

// scopeID is the id of the gnode a level-l broadcast stays inside.
func (n *Node) scopeID(l int) uint8 {
	if l+1 >= n.cfg.Scheme.Levels() {
		return 0
	}
	return n.pos[l+1]
}

// linkLevel is the level of the link to a neighbour at np: the highest
// level at which the two positions differ; -1 if they are equal.
func (n *Node) linkLevel(np addr.Position) int {
	for l := n.cfg.Scheme.Levels() - 1; l >= 0; l-- {
		if np[l] != n.pos[l] {
			return l
		}
	}
	return -1
}

// neighbourChanged installs the direct route to a neighbour and asks for
// the round the change needs (see want).
func (n *Node) neighbourChanged(nb radar.Neighbour) {
	if n.state != Hooked {
		return // a collision found on the way made us re-hook
	}
	if !n.usable(&nb) || nb.Cost == 0 {
		n.removeGateway(nb.Index)
		return
	}
	np, err := n.cfg.Scheme.Position(nb.Addr)
	if err != nil {
		return
	}
	l := n.linkLevel(np)
	if l < 0 {
		// A neighbour with our own address: the higher nonce re-hooks,
		// the same decision on both sides. No flood can settle it, since
		// neither routes through the other.
		if nb.Nonce != 0 && nb.Nonce < n.nonce {
			n.why("neighbour holds our address")
			n.rehook(0)
			return
		}
		n.Stats.drop("neighbour claims our address")
		return
	}
	// Routes through it keep its own cost plus the link's new one.
	if old := n.linkCosts[nb.Index]; old != 0 && old != nb.Cost {
		for _, m := range n.maps.Levels {
			m.ShiftGateway(nb.Index, int64(nb.Cost)-int64(old))
		}
	}
	n.linkCosts[nb.Index] = nb.Cost
	m := n.maps.Levels[l]
	old, _, had := m.RouteVia(np[l], nb.Index)
	m.Update(np[l], nb.Index, nb.Cost, n.stamp(l))
	n.routesVersion++
	switch {
	case n.tracerAt != 0:
		// Just hooked: our tracer after the second radar announces us.
	case !had:
		n.want(l, false, "new link")
	case nb.Cost < old.Cost:
		n.want(l, false, "link got cheaper")
	case nb.Cost >= 2*old.Cost:
		n.want(l, true, "link got much costlier")
	case nb.Cost > old.Cost:
		// Routes through it were shifted to its new cost and only hops
		// nearer than our feasible distance are used, so nothing loops
		// meanwhile: the paths it is on are only no longer the shortest.
		// Link noise of a few tens of percent waits for the round like a
		// gain; a link that got twice as dear is worth an early one.
		n.want(l, false, "link got costlier")
	}
}

// neighbourDown is the fast failover: routes through the dead rnode go at
// once (the kernel keeps the other nexthops) and a tracer tells the others
// how to reach us now, without waiting for the round.
func (n *Node) neighbourDown(nb radar.Neighbour) {
	if n.state != Hooked {
		return
	}
	n.removeGateway(nb.Index)
	l := 0
	if np, err := n.cfg.Scheme.Position(nb.Addr); err == nil && n.linkLevel(np) > 0 {
		l = n.linkLevel(np)
	}
	// How to reach us now: our own tracer, and our gnodes' floods at the
	// levels where the lost link was a border link.
	for k := 0; k <= l && k < len(n.lv); k++ {
		n.originate(k, wire.OpTracerPkt)
	}
	n.want(l, true, "rnode lost")
}

// want asks for a round at level l, and with upward at every level above,
// soon. A link of level l that went away or got much worse leaves routes
// at the nodes upstream that lead nowhere or a long way round, at its
// level and every level over it, until a round tells them. A new, cheaper
// or a little dearer link leaves routes that still work (the hops in the
// kernel are loop-free whatever the costs do, see Routes), just not the
// shortest until the next round of that level, so only its own level is
// asked for, at its pace.
func (n *Node) want(l int, upward bool, why string) {
	if n.Stats.RoundsWanted == nil {
		n.Stats.RoundsWanted = map[string]uint64{}
	}
	n.Stats.RoundsWanted[why]++
	top := l + 1
	if upward {
		top = len(n.lv)
	}
	for k := l; k < top; k++ {
		n.lv[k].pending = true
		// A loss or a costlier link leaves routes that lead nowhere at
		// the nodes upstream until a round: that round starts as soon as
		// the previous one has settled instead of QSPN_WAIT_ROUND after
		// it. Gains wait: the routes they improve still work meanwhile.
		n.lv[k].urgent = n.lv[k].urgent || upward
	}
}

// roundDue is when the pending round of level l may start.
func (n *Node) roundDue(l int) time.Duration {
	if n.lv[l].urgent {
		return n.lv[l].roundStart + min(2*n.cfg.RoundSettle, n.cfg.WaitRound)
	}
	return n.lv[l].roundStart + n.cfg.WaitRound
}

// startRound begins a new QSPN round at level l (seed 001 §5.1.4).
func (n *Node) startRound(l int) {
	n.enterRound(l, n.lv[l].round+1, n.now)
	n.originate(l, wire.OpQSPNClose)
}

// enterRound moves level l to round r, started at t: routes that were not
// refreshed for MaxAgeRounds rounds age out.
func (n *Node) enterRound(l int, r uint32, t time.Duration) {
	lv := &n.lv[l]
	if r-lv.round >= roundJumpReset {
		n.maps.Levels[l].ResetBroadcasts()
	}
	if lv.hasDeferred && int32(r-lv.deferred) >= 0 {
		lv.hasDeferred = false
	}
	lv.round, lv.roundStart, lv.pending, lv.urgent, lv.seq, lv.settled = r, t, false, false, 0, false
	lv.epoch++
	lv.flooded = true
	lv.blocked = addr.IDSet{}
	m := n.maps.Levels[l]
	if m.Age(lv.epoch, uint8(n.cfg.MaxAgeRounds)) > 0 {
		n.routesVersion++
	}
	// An id whose element is gone may be taken by a new one: forget whose
	// it was.
	for id := range lv.known {
		if id < m.Size() && !m.Present(uint8(id)) {
			lv.known[id] = 0
		}
	}
}

// settle ends the flooding phase of the round at level l: every element
// alive has flooded by now, so a route the round did not refresh leads to
// a node that is gone or through a path that broke.
func (n *Node) settle(l int) {
	lv := &n.lv[l]
	lv.settled = true
	m := n.maps.Levels[l]
	if m.Age(lv.epoch, 0) > 0 {
		n.routesVersion++
	}
	if lv.flooded {
		// Every element floods in every round: one whose own flood of
		// this round did not come is gone, whatever copies of its older
		// floods (patches) still say; and its id may be someone else's
		// now. If we refused that someone's floods meanwhile, the next
		// round lets them in.
		for id := 0; id < m.Size(); id++ {
			if lv.knownIn[id] == lv.round+1 {
				continue
			}
			if m.Len(uint8(id)) > 0 {
				m.Clear(uint8(id))
				n.routesVersion++
			}
			if lv.known[id] != 0 {
				lv.known[id] = 0
				if lv.blocked.Has(uint8(id)) {
					n.want(l, false, "collision winner gone")
				}
			}
		}
	}
	lv.digest, lv.members = digestOf(m), m.Members()
}

// split says whether the member at origin (its position below level l,
// its element of level l-1 having nonce subNonce) is out of reach inside
// our gnode of level l (only a verdict once the levels below settled), and which of
// our gnodes fell apart: the one of the lowest level that should hold both
// of us (a part of our own sub-gnode that we only reach from outside shows
// up here, since the sub-gnode's own floods cannot cross to it).
func (n *Node) split(l int, origin [addr.MaxLevels]uint8, subNonce uint32) (bool, int) {
	k := l - 1
	if origin[k] == n.pos[k] && subNonce != n.nonces[k] {
		return true, l // another element holds our id at l-1
	}
	for k >= 0 && origin[k] == n.pos[k] {
		k--
	}
	if k < 0 {
		return false, 0 // ourselves
	}
	if !n.maps.Levels[k].Present(origin[k]) {
		return true, k + 1
	}
	// We reach an element with that id; at l-1 it must be the same one.
	known := n.lv[k].known[origin[k]]
	return k == l-1 && known != 0 && known != subNonce, l
}

func (n *Node) maybeSplit(l int, b *wire.Broadcast) bool {
	isSplit, _ := n.split(l, b.Origin, b.SubNonce)
	return isSplit
}

// splitConfirmed asks for the same evidence in a later round before a split
// is believed: a member that has just joined may send its first floods of
// the upper levels out of the gnode and back in before its own tracer has
// reached us inside.
func (n *Node) splitConfirmed(l int, b *wire.Broadcast, id uint32, from *radar.Neighbour) bool {
	isSplit, at := n.split(l, b.Origin, b.SubNonce)
	if !isSplit {
		return false
	}
	lv := &n.lv[l]
	key := originHash(b) ^ b.SubNonce
	// The flood's round, not ours: floods of a round we have not entered
	// yet (minRoundGap) are the same evidence once we have.
	if r, ok := lv.suspects[key]; ok && r != b.Round {
		delete(lv.suspects, key)
		n.why(fmt.Sprintf("split at level %d", at))
		n.collision(at, b, id, from, true)
		return true
	}
	if lv.suspects == nil {
		lv.suspects = map[uint32]uint32{}
	}
	if len(lv.suspects) < 16 {
		lv.suspects[key] = b.Round
	}
	n.Stats.drop("split suspected")
	n.want(l, false, "split suspected")
	return false
}

func (n *Node) settledBelow(l int) bool {
	for j := 0; j < l; j++ {
		if !n.lv[j].settled {
			return false
		}
	}
	return true
}

// originOf is our position below level l, as floods we start carry it.
func (n *Node) originOf(l int) [addr.MaxLevels]uint8 {
	var o [addr.MaxLevels]uint8
	copy(o[:l], n.pos[:l])
	return o
}

// originate starts a flood of our element of level l. Above level 0 the
// copies that go inside our own gnode carry the round to all its members
// (a member that is no border node may start a round too); the copies that
// leave it tell the other gnodes how to reach ours.
func (n *Node) originate(l int, kind wire.Op) {
	lv := &n.lv[l]
	var id uint32
	if l == 0 {
		lv.seq++
		id = lv.round<<8 | uint32(lv.seq)
	} else {
		// All border nodes of a gnode send the same flood: one id per round.
		id = lv.round << 8
	}
	n.maps.Levels[l].AcceptBroadcast(n.pos[l], id)
	n.forward(l, n.ownFlood(l, kind), id, nil, false)
}

// ownFlood is the first copy of a flood of our element of level l.
func (n *Node) ownFlood(l int, kind wire.Op) *wire.Broadcast {
	var sub uint32
	if l > 0 {
		sub = n.nonces[l-1]
	}
	var part uint32
	if l > 0 {
		part = n.partDigest(l)
	}
	b := &wire.Broadcast{Kind: kind, Gnode: n.scopeID(l), Level: uint8(l), Origin: n.originOf(l), SubNonce: sub, Part: part, Flags: wire.BcastTracer,
		Round: n.lv[l].round, Nonce: n.nonces[l], TTL: 255, Chunks: []wire.Chunk{{Node: n.pos[l], Cost: 0}}}
	if gws := n.gatewaysIn(l); len(gws) > 0 {
		b.Flags |= wire.BcastGateways
		b.Gateways = gws
	}
	if vps := n.vnodePointsIn(l); len(vps) > 0 {
		b.Flags |= wire.BcastVnodes
		b.Vnodes = vps
	}
	return b
}

// catchUp answers a flood of an older round with our own flood of the
// current one, once per neighbour and round: where floods of the new round
// were all stopped short of a neighbour (a collision, a split), this is how
// it learns the round, and through it its side of the network.
func (n *Node) catchUp(l int, nb *radar.Neighbour) {
	lv := &n.lv[l]
	if lv.caughtUp[nb.Index] == lv.round+1 {
		return
	}
	lv.caughtUp[nb.Index] = lv.round + 1
	id := lv.round << 8
	if l == 0 {
		id |= uint32(lv.seq)
	}
	n.send(nb.Iface, nb.Peer, true, id, n.ownFlood(l, wire.OpQSPNClose))
}

// forward sends a broadcast to every neighbour in scope except the one it
// came from and those whose element is already on its path (a loop).
// originated floods of levels above 0 go only to other gnodes.
func (n *Node) forward(l int, b *wire.Broadcast, id uint32, from *radar.Neighbour, internalOnly bool) {
	var onPath addr.IDSet
	for _, c := range b.Chunks {
		onPath.Add(c.Node)
	}
	n.sendTo(b, id, from, func(np addr.Position, ll int) bool {
		if ll > l {
			return false // outside the gnode this broadcast stays in
		}
		// An element already on the path would only loop the packet. The
		// origin is the exception: a neighbour holding its id may be another
		// element claiming it (a collision), and must see the flood to
		// find out; the true origin just drops its own flood.
		if ll == l && onPath.Has(np[l]) && np[l] != b.Chunks[0].Node {
			return false
		}
		return !internalOnly || ll < l
	})
}

// sendTo sends a broadcast, encoded once, to every measured, hooked
// neighbour but from for which keep says yes, given its position and the
// level of the link to it.
func (n *Node) sendTo(b *wire.Broadcast, id uint32, from *radar.Neighbour, keep func(np addr.Position, ll int) bool) {
	var data []byte
	// Tunnels are links here too: a flood that came over one goes on over
	// the others, inside its scope like any flood (seed 000 §3's "only
	// inside the gnode", the flood's gnode). Seed 002's chains need it: a
	// vnode anchored on one side and anchoring on the other joins the two
	// (docs/VLAYER.md "Tunnels are links").
	for i := 0; i < radar.MaxNeighbours; i++ {
		nb := n.radar.ByIndex(uint8(i))
		if nb == nil || nb.Cost == 0 || (from != nil && nb.Index == from.Index) {
			continue
		}
		np, ll, ok := n.peer(nb)
		if !ok || ll < 0 || !keep(np, ll) {
			continue
		}
		if data == nil {
			if data = n.encode(id, b); data == nil {
				return
			}
		}
		n.sendBytes(nb.Iface, nb.Peer, true, b.Op(), data)
	}
}

// peerInfo caches where a neighbour sits, so that forwarding does not parse
// its address again for every packet.
type peerInfo struct {
	addr netip.Addr
	gen  uint32 // our position's generation the link level was taken at
	pos  addr.Position
	ll   int8
	ok   bool
}

// peer returns a usable neighbour's position and the level of the link to
// it (-1: it claims our address); ok is false for neighbours not hooked in
// our mesh.
func (n *Node) peer(nb *radar.Neighbour) (addr.Position, int, bool) {
	c := &n.peers[nb.Index]
	if c.addr != nb.Addr || c.gen != n.posGen || !c.addr.IsValid() {
		*c = peerInfo{addr: nb.Addr, gen: n.posGen}
		if n.usable(nb) {
			if p, err := n.cfg.Scheme.Position(nb.Addr); err == nil {
				c.pos, c.ll, c.ok = p, int8(n.linkLevel(p)), true
			}
		}
	}
	if nb.Hooking {
		return c.pos, int(c.ll), false
	}
	return c.pos, int(c.ll), c.ok
}

// meshSender returns the measured, hooked neighbour a packet came from and
// the level of the link to it, or drops the packet with the reason given
// (constant strings: a flood of them must not allocate).
func (n *Node) meshSender(iface int, from radar.PeerID, hooking, stranger string) (*radar.Neighbour, int, bool) {
	if n.state != Hooked {
		n.Stats.drop(hooking)
		return nil, 0, false
	}
	nb := n.radar.Lookup(iface, from)
	if nb == nil || nb.Cost == 0 {
		n.Stats.drop(stranger)
		return nil, 0, false
	}
	np, ll, ok := n.peer(nb)
	if !ok {
		n.Stats.drop(stranger)
		return nb, ll, false
	}
	if n.otherNetwork(np[n.cfg.Scheme.Levels()-1], nb.TopNonce) {
		// Another network holding our top-level id: its floods would look
		// like collisions of every level below. The top-level collision
		// (topCollision) settles it first, for its whole island at once.
		n.Stats.drop("packet from a network that holds our top-level id")
		return nb, ll, false
	}
	return nb, ll, true
}

// onBroadcast handles TRACER_PKT, QSPN_CLOSE and QSPN_OPEN.
func (n *Node) onBroadcast(iface int, from radar.PeerID, h wire.Header, b *wire.Broadcast) {
	nb, ll, ok := n.meshSender(iface, from, "broadcast while hooking", "broadcast from a non-neighbour")
	if !ok {
		return
	}
	s := n.cfg.Scheme
	l := int(b.Level)
	if l >= s.Levels() || b.Gnode != n.scopeID(l) || len(b.Chunks) == 0 {
		n.Stats.drop("broadcast out of scope")
		return
	}
	if ll < 0 || ll > l {
		n.Stats.drop("broadcast from outside its gnode")
		return
	}
	for _, c := range b.Chunks {
		if int(c.Node) >= s.Size(l) {
			n.Stats.drop("broadcast with a bad id")
			return
		}
	}
	for _, g := range b.Gateways {
		for k := 0; k < l; k++ {
			if int(g.Position[k]) >= s.Size(k) {
				n.Stats.drop("broadcast with a bad gateway")
				return
			}
		}
	}
	for _, v := range b.Vnodes {
		for k := 0; k < l; k++ {
			if int(v.Position[k]) >= s.Size(k) {
				n.Stats.drop("broadcast with a bad vnode point")
				return
			}
		}
	}
	// Round synchronisation (§5.1.4): a newer round is adopted at once,
	// unless ours began less than minRoundGap ago.
	lv := &n.lv[l]
	switch d := int32(b.Round - lv.round); {
	case d > 0 && n.now-lv.roundStart >= n.minRoundGap():
		n.enterRound(l, b.Round, n.now)
		n.originate(l, wire.OpQSPNClose)
	case d > 0:
		// Too soon after the last round: entered later (Tick); the flood
		// is learned from and passed on meanwhile.
		if !lv.hasDeferred || int32(b.Round-lv.deferred) > 0 {
			lv.deferred, lv.hasDeferred = b.Round, true
		}
		n.Stats.RoundsDeferred++
	case d < 0:
		n.Stats.drop("broadcast of an old round")
		n.catchUp(l, nb)
		return
	}
	me := n.pos[l]
	origin := b.Chunks[0].Node
	if origin == me && b.Nonce != n.nonces[l] {
		// Another element holds our id: the higher nonce gives it up.
		if b.Nonce < n.nonces[l] {
			n.why(fmt.Sprintf("nonce collision at level %d", l))
		}
		n.collision(l, b, h.ID, nb, b.Nonce < n.nonces[l])
		return
	}
	internal := ll < l // the sender is inside our own gnode of level l
	chunks := b.Chunks
	last := len(chunks) - 1
	if internal && chunks[last].Node != me {
		n.Stats.drop("inconsistent internal broadcast")
		return
	}
	if origin == me {
		switch {
		case l > 0 && !n.settledBelow(l) && n.maybeSplit(l, b):
			// Started by a member we do not reach, but too early to tell
			// a split from a member we have not heard of yet: ask for
			// another round, whose floods will tell.
			n.Stats.drop("own gnode flood before settling")
			n.want(l, false, "own gnode flood before settling")
		case l > 0 && n.settledBelow(l) && n.splitConfirmed(l, b, h.ID, nb):
			// Our gnode's flood, started by a member we cannot reach
			// inside it, in two rounds: a gnode of ours fell apart
			// (NTK_RFC 0001). Each part sees the other's floods, so both
			// give the id up and re-hook into the gnodes around them, the
			// same way on every node.
		case l == 0 || !internal:
			n.Stats.drop("looping broadcast") // our own flood came back
		default:
			n.ownGnodeFlood(l, h.ID, b, nb)
		}
		return
	}
	// A copy that already crossed our element (other than as the segment
	// we are in) looped: learn nothing from it and stop it.
	stop := last
	if internal {
		stop = last - 1
	}
	for i := 0; i <= stop; i++ {
		if chunks[i].Node == me {
			n.Stats.drop("looping broadcast")
			return
		}
	}
	m := n.maps.Levels[l]
	newFlood := false
	switch k := lv.known[origin]; {
	case k == 0:
		lv.known[origin] = b.Nonce
	case b.Nonce > k:
		// Two elements hold one id; the lower nonce keeps it and the
		// other re-hooks, so its floods are not followed meanwhile.
		n.Stats.drop("collision loser's flood")
		lv.blocked.Add(origin)
		return
	case b.Nonce < k:
		lv.known[origin] = b.Nonce
		m.Clear(origin)
	}
	if h.ID>>8 == roundBits(b.Round) {
		// Its own flood of this round (or of the one we enter next).
		lv.knownIn[origin] = b.Round + 1
	}
	switch last := m.LastBroadcast(origin); {
	case last == h.ID:
	case last == 0 || int32(h.ID-last) > 0:
		newFlood = true
		if origin != me {
			// The origin's newest flood says how to reach it now: routes
			// from its older floods may cross links that are gone.
			m.Clear(origin)
		}
		m.AcceptBroadcast(origin, h.ID)
		n.learnGateways(l, origin, b.Gateways)
		n.learnVnodes(l, origin, b.Vnodes)
		lv.best[origin], lv.fwd[origin] = infinity, 0
		lv.part[origin], lv.altPart[origin] = b.Part, 0
	default:
		n.Stats.drop("old broadcast")
		return
	}
	// Cost to chunk i: the link cost plus every segment after i.
	link := n.linkCost(nb)
	cost := link
	for i := last; i > 0; i-- {
		cost = addCost(cost, chunks[i].Cost)
	}
	// Copies of one gnode's flood started in parts that cannot reach each
	// other inside it carry different parts: they travel as separate
	// floods (a second one per round at most), so each part hears the
	// other and finds out that the gnode fell apart.
	best, fwd := &lv.best[origin], &lv.fwd[origin]
	changed := newFlood
	if b.Part != lv.part[origin] {
		if lv.altPart[origin] == 0 {
			lv.altPart[origin], lv.altBest[origin], lv.altFwd[origin] = b.Part, infinity, 0
		}
		best, fwd = &lv.altBest[origin], &lv.altFwd[origin]
		if lv.altPart[origin] != b.Part {
			fwd = nil // a third part: it waits for the next round
		}
	}
	// Learn. A copy that improves on its flood teaches the whole path; a
	// worse one only an alternative route to the origin through its sender
	// (the elements on its path were learned from better copies).
	st := n.stamp(l)
	if b.Round != lv.round {
		st++ // a round we enter next (minRoundGap): its routes are of it
	}
	upto := 0
	switch {
	case cost == infinity:
		upto = -1 // a saturated sum: nothing exact to learn from it
	case cost < *best:
		upto = last
	}
	c := cost
	for i := 0; i <= upto; i++ {
		if i > 0 {
			c -= chunks[i].Cost
		}
		if (i < last || !internal) && chunks[i].Node != me {
			if n.learn(m, chunks[i].Node, nb.Index, c, st) {
				changed = true
			}
		}
	}
	if fwd == nil {
		if changed {
			n.routesVersion++
		}
		return
	}
	improved := cost < *best
	starter := originHash(b)
	if newFlood {
		lv.starters[origin] = starter
	}
	if improved {
		*best = cost
	}
	if changed {
		n.routesVersion++
	}
	if *fwd >= maxForwardsPerFlood || origin == me {
		return
	}
	toOrigin := false
	if !improved {
		// Copies of one gnode's flood from border nodes of parts that
		// cannot reach each other inside it merge out here: the best copy
		// near each part is that part's own. A copy started elsewhere than
		// the best one still goes to the origin gnode's nodes next to us,
		// so a fallen-apart gnode finds out (NTK_RFC 0001).
		if l == 0 || starter == lv.starters[origin] {
			return
		}
		lv.starters[origin] = starter
		toOrigin = true
	}
	// Pass it on with our segment.
	out := n.passOn(b)
	if internal {
		out.Chunks[last].Cost = addCost(out.Chunks[last].Cost, link)
	} else {
		if len(out.Chunks) >= wire.MaxChunks {
			n.Stats.drop("tracer full")
			return
		}
		out.Chunks = append(out.Chunks, wire.Chunk{Node: me, Cost: link})
		n.passChunks = out.Chunks[:0]
	}
	*fwd++
	if toOrigin {
		n.forwardTo(l, out, h.ID, nb, origin)
		return
	}
	n.forward(l, out, h.ID, nb, false)
}

// partDigest names the part of our gnode of level l that we reach inside
// it, as all its members see it once the levels below settled: the set of
// elements of level l-1 we reach, and, as long as that set is our own
// element alone, the same one level further down (two parts that both hold
// a sub-gnode with one id differ only there). It stops at the first level
// where the part spans several elements, since members in different ones
// see different sets below.
func (n *Node) partDigest(l int) uint32 {
	h := fnvOffset
	for k := l - 1; k >= 0; k-- {
		h = fnvMix(h, n.lv[k].digest)
		if n.lv[k].members > 1 {
			break
		}
	}
	return h | 1
}

// digestOf names the set of elements present in a map: the members of a
// gnode that one part of it reaches. Never 0 (0 means "no part").
func digestOf(m *maps.Map) uint32 {
	h := fnvOffset
	for id := 0; id < m.Size(); id++ {
		if m.Present(uint8(id)) {
			h = fnvMix(h, uint32(id))
		}
	}
	return h | 1
}

// forwardTo sends a broadcast only to the neighbours inside the element
// target of level l.
func (n *Node) forwardTo(l int, b *wire.Broadcast, id uint32, from *radar.Neighbour, target uint8) {
	n.sendTo(b, id, from, func(np addr.Position, ll int) bool { return ll == l && np[l] == target })
}

// originHash names the node that started a flood (its position below the
// flood's level), compactly.
func originHash(b *wire.Broadcast) uint32 {
	h := fnvOffset
	for _, x := range b.Origin[:b.Level] {
		h = fnvMix(h, uint32(x))
	}
	return h
}

// FNV-1a, one word at a time: small, stable names for sets and positions.
const fnvOffset = uint32(2166136261)

func fnvMix(h, x uint32) uint32 { return (h ^ x) * 16777619 }

func (n *Node) why(reason string) {
	if n.Stats.RehookWhy == nil {
		n.Stats.RehookWhy = map[string]uint64{}
	}
	n.Stats.RehookWhy[reason]++
}

// ownGnodeFlood passes a flood of our own gnode on inside it: it teaches no
// route (we are in that gnode) but carries the round to every member.
func (n *Node) ownGnodeFlood(l int, id uint32, b *wire.Broadcast, from *radar.Neighbour) {
	lv := &n.lv[l]
	m := n.maps.Levels[l]
	me := n.pos[l]
	cost := addCost(b.Chunks[len(b.Chunks)-1].Cost, n.linkCost(from))
	switch last := m.LastBroadcast(me); {
	case last == id:
		if cost >= lv.best[me] || lv.fwd[me] >= maxForwardsPerFlood {
			return
		}
	case last == 0 || int32(id-last) > 0:
		m.AcceptBroadcast(me, id)
		lv.fwd[me] = 0
	default:
		return
	}
	lv.best[me] = cost
	lv.fwd[me]++
	out := n.passOn(b)
	out.Chunks[len(out.Chunks)-1].Cost = cost
	n.forward(l, out, id, from, true)
}

// passOn is the copy of a broadcast that we pass on, in the node's own
// scratch: a copy is encoded (sendTo) before the next one is made, and
// nobody keeps it, so the floods a busy node relays make no garbage here.
func (n *Node) passOn(b *wire.Broadcast) *wire.Broadcast {
	n.passing = *b
	n.passing.Chunks = append(n.passChunks[:0], b.Chunks...)
	n.passChunks = n.passing.Chunks[:0]
	return &n.passing
}

// collision: a flood's origin claims the id of our own element of level l:
// another element with another nonce, or another part of our own gnode
// that became separated. Every node decides the same way, whatever order
// the links came up in (seed 004). The losers pass the flood on inside
// their element first, so that all its nodes learn it, then re-hook.
func (n *Node) collision(l int, b *wire.Broadcast, id uint32, from *radar.Neighbour, lose bool) {
	if !lose {
		n.Stats.drop("collision: the other side re-hooks")
		return
	}
	if l > 0 {
		n.sendTo(b, id, from, func(_ addr.Position, ll int) bool { return ll < l })
	}
	n.rehook(l)
}

// learn offers a route learned from a tracer. Within a round a route via a
// gateway only gets cheaper; a route from an older round is replaced.
func (n *Node) learn(m *maps.Map, id, gw uint8, cost uint32, st uint8) bool {
	if r, rs, ok := m.RouteVia(id, gw); ok && rs == st && r.Cost <= cost {
		m.Update(id, gw, r.Cost, st) // same route, seen again: refreshed
		return false
	}
	ch, _ := m.Update(id, gw, cost, st)
	return ch
}

func addCost(a, b uint32) uint32 {
	if s := a + b; s >= a {
		return s
	}
	return infinity
}
