package node

import (
	"net/netip"
	"sort"
	"time"

	"github.com/ntkd/ntkd/internal/addr"
	"github.com/ntkd/ntkd/internal/maps"
	"github.com/ntkd/ntkd/internal/radar"
	"github.com/ntkd/ntkd/internal/reqlimit"
	"github.com/ntkd/ntkd/internal/wire"
)

// The hook of seed 001 §5.2: first radar; alone -> a new random gnode;
// otherwise free ids from the nearest rnode (the next one if its gnode is
// full), an id, the rnode's qspn rounds, ext map and bnode map, the int maps
// of every rnode of the new gnode merged; then a second radar and a tracer.

type hookPhase uint8

const (
	phaseAskFree hookPhase = iota
	phaseFetch
)

type hookState struct {
	deadline   time.Duration
	phase      hookPhase
	candidates []radar.Neighbour // hooked rnodes, nearest first
	next       int               // candidate being asked
	full       int               // candidates whose gnode was full
	reqID      uint32
	waiting    int // replies still expected in phaseFetch
	pos        addr.Position
	rounds     []wire.QSPNRound
	intMaps    []receivedMap
	extMaps    []maps.Snapshot
	extFrom    radar.Neighbour
	waits      int // scans spent waiting for a lower-nonce hooking neighbour
	wantExt    bool
	nonces     [addr.MaxLevels]uint32 // of the gnodes we join (0: create)
	lowest     uint32                 // lowest hooking nonce heard of, ours included
	// After a lost collision at level avoidLevel >= 1 the node must not
	// join its old gnode again: neighbours still in it are no candidates.
	avoid      addr.Position
	avoidLevel int
}

// maxHookWaits bounds the scans a hooking node waits for a lower one to
// create a gnode and for the joins to reach it (a minute by default): a
// mesh after a power cut fills from one gnode instead of one per router
// that happened to be a local minimum.
const maxHookWaits = 30

type receivedMap struct {
	from radar.Neighbour
	snap maps.Snapshot
}

// usable reports whether a neighbour is hooked inside our mesh prefix.
func (n *Node) usable(nb *radar.Neighbour) bool {
	return !nb.Hooking && nb.Addr.IsValid() && n.cfg.Scheme.Contains(nb.Addr)
}

// hookTimeout runs when the scan or a request ran out of time.
func (n *Node) hookTimeout() {
	switch n.state {
	case Scanning:
		n.decide()
	case Joining:
		if n.hook.phase == phaseFetch {
			n.finishHook() // go with whatever maps arrived
			return
		}
		n.hook.next++
		n.askNext()
	}
}

// decide ends the first radar scan.
func (n *Node) decide() {
	var hooked []radar.Neighbour
	lowerHooking := false
	for _, nb := range n.radar.Neighbours() {
		switch {
		case n.usable(nb) && !n.avoided(nb):
			hooked = append(hooked, *nb)
		case nb.Hooking && nb.Nonce < n.nonce:
			lowerHooking = true
		}
	}
	if n.hook.lowest < n.nonce {
		lowerHooking = true // a lower hooking router further away
	}
	// After a lost collision below the top level the flood that told us
	// reaches the whole losing gnode, whose members re-hook about now:
	// wait for the lowest of them to create the new gnode. A top-level
	// collision is seen by a gate alone, in an echo over the link between
	// the two networks; its island learns of it only from the gate's
	// floods once it has hooked again, so the gate must not wait for it.
	followLoser := n.hook.avoidLevel > 0 && n.hook.avoidLevel < n.cfg.Scheme.Levels()-1
	if len(hooked) == 0 {
		if (lowerHooking || followLoser) && n.hook.waits < maxHookWaits {
			// A router hooking at the same time won the tie: let it
			// create the gnode and join the wave of joins it starts.
			n.hook.waits++
			n.hook.deadline = n.now + n.cfg.HookScan
			return
		}
		if len(n.radar.Neighbours()) == 0 && n.hook.waits < 2 {
			// Nobody around at all: after a power cut the neighbours come
			// up within seconds, and a gnode created now is one more to
			// merge later. Listen a little longer first.
			n.hook.waits++
			n.hook.deadline = n.now + n.cfg.HookScan
			return
		}
		n.createGnode()
		return
	}
	sort.SliceStable(hooked, func(i, j int) bool { return costOrMax(hooked[i]) < costOrMax(hooked[j]) })
	n.state = Joining
	n.hook.candidates = hooked
	n.hook.next = 0
	n.hook.full = 0
	n.askNext()
}

// avoided says whether a neighbour is still inside the gnode we lost.
func (n *Node) avoided(nb *radar.Neighbour) bool {
	if n.hook.avoidLevel == 0 {
		return false
	}
	np, err := n.cfg.Scheme.Position(nb.Addr)
	return err == nil && n.cfg.Scheme.SameGnode(np, n.hook.avoid, n.hook.avoidLevel)
}

func costOrMax(nb radar.Neighbour) uint32 {
	if nb.Cost == 0 {
		return ^uint32(0)
	}
	return nb.Cost
}

func (n *Node) newRequest() uint32 {
	n.hook.reqID = n.rng.Uint32()
	return n.hook.reqID
}

// askNext asks the next candidate for free ids, or gives up on joining.
func (n *Node) askNext() {
	if n.hook.next >= len(n.hook.candidates) {
		if n.hook.full > 0 && !n.hook.wantExt {
			// Every gnode around is full: a new gnode at level 0 inside
			// the nearest rnode's gnode of the level above, which needs
			// that rnode's ext map to know the free gnode ids.
			n.hook.wantExt = true
			c := n.hook.candidates[0]
			n.hook.phase = phaseAskFree
			n.hook.deadline = n.now + n.cfg.RequestTimeout
			n.send(c.Iface, c.Peer, true, n.newRequest(), &wire.Empty{Kind: wire.OpGetExtMap})
			return
		}
		n.createGnode()
		return
	}
	c := n.hook.candidates[n.hook.next]
	n.hook.phase = phaseAskFree
	n.hook.deadline = n.now + n.cfg.RequestTimeout
	n.send(c.Iface, c.Peer, true, n.newRequest(), &wire.Empty{Kind: wire.OpGetFreeNodes})
}

// createGnode makes the node the first of a new random gnode.
func (n *Node) createGnode() {
	n.Stats.Created++
	n.hook.pos = n.cfg.Scheme.RandomPosition(n.rng)
	for try := 0; try < 32 && n.hook.avoidLevel > 0 && n.hook.pos[n.hook.avoidLevel] == n.hook.avoid[n.hook.avoidLevel]; try++ {
		// Not the id we just lost a collision for: the winner holds it
		// and would be met again at once.
		n.hook.pos = n.cfg.Scheme.RandomPosition(n.rng)
	}
	if n.cfg.HasFirst && n.Stats.Created == 1 && n.Stats.Rehooks == 0 {
		// Only the first time: after a lost collision the same position
		// would collide again.
		n.hook.pos = n.cfg.First
	}
	n.hook.intMaps, n.hook.extMaps, n.hook.rounds = nil, nil, nil
	n.finishHook()
}

// onHookReply handles the replies the hook is waiting for.
func (n *Node) onHookReply(iface int, from radar.PeerID, h wire.Header, p wire.Payload) {
	if n.state != Joining || h.ID != n.hook.reqID {
		n.Stats.drop("unexpected reply")
		return
	}
	nb := n.radar.Lookup(iface, from)
	if nb == nil {
		n.Stats.drop("reply from a stranger")
		return
	}
	if n.hook.phase == phaseAskFree {
		n.onFreeReply(*nb, p)
		return
	}
	switch p := p.(type) {
	case *wire.PutQSPNRound:
		n.hook.rounds = append([]wire.QSPNRound(nil), p.Rounds...)
		// We join the replier's gnodes from the level above the first one
		// we differ in (a new gnode of our own below that).
		if rp, err := n.cfg.Scheme.Position(nb.Addr); err == nil {
			for l := 1; l < len(p.Rounds) && l < n.cfg.Scheme.Levels(); l++ {
				if n.cfg.Scheme.SameGnode(rp, n.hook.pos, l) {
					n.hook.nonces[l] = p.Rounds[l].Nonce
				}
			}
		}
	case *wire.MapBody:
		switch p.Kind {
		case wire.OpPutIntMap:
			var s maps.Snapshot
			if _, err := s.Unmarshal(p.Body); err == nil && s.Level == 0 {
				n.hook.intMaps = append(n.hook.intMaps, receivedMap{*nb, s})
			} else {
				n.Stats.drop("bad int map")
			}
		case wire.OpPutExtMap:
			if snaps, err := maps.UnmarshalSet(p.Body, nil); err == nil {
				n.hook.extMaps, n.hook.extFrom = snaps, *nb
			} else {
				n.Stats.drop("bad ext map")
			}
		}
	}
	n.hook.waiting--
	if n.hook.waiting <= 0 {
		n.finishHook()
	}
}

func (n *Node) onFreeReply(c radar.Neighbour, p wire.Payload) {
	s := n.cfg.Scheme
	switch p := p.(type) {
	case *wire.Nack:
		if p.Code == wire.CodeGnodeFull {
			n.hook.full++
		}
		n.hook.next++
		n.askNext()
	case *wire.PutFreeNodes:
		cpos, err := s.Position(p.Addr)
		if err != nil || p.Level != 0 || int(p.Bits) != s.Bits(0) {
			n.Stats.drop("bad free nodes")
			n.hook.next++
			n.askNext()
			return
		}
		var taken addr.IDSet
		for id := 0; id < s.Size(0); id++ {
			if !p.IsFree(uint8(id)) {
				taken.Add(uint8(id))
			}
		}
		id, err := s.RandomFreeID(0, &taken, n.rng)
		if err != nil {
			n.hook.full++
			n.hook.next++
			n.askNext()
			return
		}
		cpos[0] = id
		n.fetchMaps(cpos, c)
	case *wire.MapBody: // the ext map asked for when every gnode was full
		snaps, err := maps.UnmarshalSet(p.Body, nil)
		cpos, perr := s.Position(c.Addr)
		if err != nil || perr != nil {
			n.createGnode()
			return
		}
		pos, ok := n.freeGnode(cpos, snaps)
		if !ok {
			n.createGnode()
			return
		}
		n.hook.extMaps, n.hook.extFrom = snaps, c
		n.fetchMaps(pos, c)
	default:
		n.Stats.drop("unexpected hook reply")
	}
}

// freeGnode finds, in the lowest level that has one, a gnode id free in the
// rnode's ext map, and a random position below it.
func (n *Node) freeGnode(rpos addr.Position, snaps []maps.Snapshot) (addr.Position, bool) {
	s := n.cfg.Scheme
	for l := 1; l < s.Levels(); l++ {
		var taken addr.IDSet
		for _, sn := range snaps {
			if int(sn.Level) == l {
				for _, e := range sn.Entries {
					taken.Add(e.ID)
				}
			}
		}
		taken.Add(rpos[l])
		id, err := s.RandomFreeID(l, &taken, n.rng)
		if err != nil {
			continue
		}
		pos := n.cfg.Scheme.RandomPosition(n.rng)
		pos[l] = id
		for k := l + 1; k < s.Levels(); k++ {
			pos[k] = rpos[k]
		}
		return pos, true
	}
	return addr.Position{}, false
}

// fetchMaps asks for the rounds and maps once the position is chosen.
func (n *Node) fetchMaps(pos addr.Position, c radar.Neighbour) {
	n.hook.pos = pos
	n.hook.phase = phaseFetch
	n.hook.deadline = n.now + n.cfg.RequestTimeout
	id := n.newRequest()
	n.hook.waiting = 2
	n.send(c.Iface, c.Peer, true, id, &wire.Empty{Kind: wire.OpGetQSPNRound})
	if n.hook.extMaps == nil {
		n.hook.waiting++
		n.send(c.Iface, c.Peer, true, id, &wire.Empty{Kind: wire.OpGetExtMap})
	}
	// Int maps from every rnode of our new gnode (the rnode itself included).
	n.hook.waiting--
	for _, nb := range n.radar.Neighbours() {
		if !n.usable(nb) {
			continue
		}
		if np, err := n.cfg.Scheme.Position(nb.Addr); err == nil && n.cfg.Scheme.SameGnode(np, pos, 1) {
			n.hook.waiting++
			n.send(nb.Iface, nb.Peer, true, id, &wire.Empty{Kind: wire.OpGetIntMap})
		}
	}
}

// finishHook takes the chosen position and becomes part of the network.
func (n *Node) finishHook() {
	s := n.cfg.Scheme
	ip, err := s.Addr(n.hook.pos)
	if err != nil {
		n.hook.pos = s.RandomPosition(n.rng)
		ip, _ = s.Addr(n.hook.pos)
	}
	set, err := maps.NewSet(s, n.hook.pos, n.cfg.MaxRoutes, n.cfg.MaxBnodeLinks)
	if err != nil {
		panic(err) // the config was validated: cannot fail
	}
	n.pos, n.ip, n.maps = n.hook.pos, ip, set
	clear(n.linkCosts[:])
	n.posGen++
	n.state = Hooked
	n.nonces[0] = n.nonce
	for l := 1; l < s.Levels(); l++ {
		n.nonces[l] = n.hook.nonces[l]
		if n.nonces[l] == 0 {
			n.nonces[l] = n.gnodeNonce() // a gnode we create
		}
	}
	n.lv = make([]levelState, s.Levels())
	for l := range n.lv {
		n.lv[l].roundStart = n.now
		n.lv[l].digest, n.lv[l].members = digestOf(n.maps.Levels[l]), n.maps.Levels[l].Members()
		if l < len(n.hook.rounds) {
			r := n.hook.rounds[l]
			n.lv[l].round = r.ID
			n.lv[l].roundStart = n.now - msDuration(r.ElapsedMs)
		}
	}
	for _, nb := range n.radar.Neighbours() {
		if nb.Cost > 0 {
			n.neighbourChanged(*nb)
		}
	}
	if n.state != Hooked {
		return // a neighbour holds the address we chose: hooking again
	}
	for _, m := range n.hook.intMaps {
		n.mergeFrom(m.from, 0, &m.snap)
	}
	for i := range n.hook.extMaps {
		sn := &n.hook.extMaps[i]
		if int(sn.Level) >= 1 && int(sn.Level) < s.Levels() {
			n.mergeFrom(n.hook.extFrom, int(sn.Level), sn)
		}
	}
	n.hook = hookState{}
	n.radar.ProbeNow(n.now) // second radar: the neighbours learn our address
	n.tracerAt = n.now + n.cfg.Radar.ProbeTimeout/2
	n.routesVersion++
}

// rehook leaves the network and hooks again: our element of level lost an
// id collision (NTK_RFC 0001). A fresh nonce makes us a new identity.
func (n *Node) rehook(level int) {
	n.Stats.Rehooks++
	old := n.pos
	n.state = Scanning
	n.ip = netip.Addr{}
	n.maps = nil
	n.lv = nil
	n.nonce = n.rng.Uint32() | 1
	n.nonceAt = n.now
	n.hook = hookState{deadline: n.now + n.cfg.HookScan, avoid: old, avoidLevel: level, lowest: n.nonce}
	n.tracerAt = 0
	n.routesVersion++
	n.radar.ProbeNow(n.now) // neighbours learn at once that we are hooking
}

// mergeFrom folds a map received from an rnode into the map of level, when
// the rnode shares our gnode of the level above (else the maps differ).
func (n *Node) mergeFrom(nb radar.Neighbour, level int, snap *maps.Snapshot) {
	current := n.radar.ByIndex(nb.Index)
	if current == nil || current.Peer != nb.Peer || current.Cost == 0 {
		return
	}
	np, err := n.cfg.Scheme.Position(current.Addr)
	if err != nil || !n.cfg.Scheme.SameGnode(np, n.pos, level+1) {
		return
	}
	if _, err := n.maps.Levels[level].Merge(snap, nb.Index, n.linkCost(current), n.stamp(level)); err != nil {
		n.Stats.drop("merge: " + err.Error())
	}
}

// onRequest answers hook requests and routes replies to the hook.
func (n *Node) onRequest(iface int, from radar.PeerID, h wire.Header, p wire.Payload) {
	switch p.Op() {
	case wire.OpGetFreeNodes, wire.OpGetQSPNRound, wire.OpGetIntMap, wire.OpGetExtMap, wire.OpGetBnodeMap:
	default:
		n.onHookReply(iface, from, h, p)
		return
	}
	if !n.requests.Allow(n.now, from, uint8(p.Op())) {
		n.Stats.drop("request over its rate")
		return
	}
	if n.state != Hooked {
		n.send(iface, from, true, h.ID, &wire.Nack{Code: wire.CodeBusy})
		return
	}
	var reply wire.Payload
	switch p.Op() {
	case wire.OpGetFreeNodes:
		reply = n.freeNodes()
	case wire.OpGetQSPNRound:
		r := &wire.PutQSPNRound{}
		for l := range n.lv {
			r.Rounds = append(r.Rounds, wire.QSPNRound{ID: n.lv[l].round, ElapsedMs: uint32((n.now - n.lv[l].roundStart).Milliseconds()), Nonce: n.nonces[l]})
		}
		reply = r
	case wire.OpGetIntMap:
		reply = &wire.MapBody{Kind: wire.OpPutIntMap, Body: maps.AppendPacked(nil, n.maps.Levels[0])}
	case wire.OpGetExtMap:
		reply = &wire.MapBody{Kind: wire.OpPutExtMap, Body: maps.AppendPackedSet(nil, n.maps.Levels[1:])}
	case wire.OpGetBnodeMap:
		reply = &wire.MapBody{Kind: wire.OpPutBnodeMap, Body: maps.AppendPackedBnodes(nil, n.maps.Bnodes)}
	}
	n.send(iface, from, true, h.ID, reply)
}

// freeNodes lists the ids of our gnode that nobody holds. Ids present in
// the map are never offered: that is the anti-spoofing rule of seed 001 §9.
func (n *Node) freeNodes() wire.Payload {
	s := n.cfg.Scheme
	var taken addr.IDSet
	m := n.maps.Levels[0]
	for id := 0; id < s.Size(0); id++ {
		if m.Present(uint8(id)) {
			taken.Add(uint8(id))
		}
	}
	free := s.FreeIDs(0, &taken)
	if free.Len() == 0 {
		return &wire.Nack{Code: wire.CodeGnodeFull}
	}
	r := &wire.PutFreeNodes{Level: 0, Bits: uint8(s.Bits(0)), Addr: n.ip}
	for id := 0; id < s.Size(0); id++ {
		r.SetFree(uint8(id), free.Has(uint8(id)))
	}
	return r
}

// hookRequestLimits are the C daemon's (request.c): per source, at most
// Max of each request every Wait. The maps are the dearest answers.
var hookRequestLimits = map[uint8]reqlimit.Limit{
	uint8(wire.OpGetFreeNodes): {Max: 5, Wait: 10 * time.Second},
	uint8(wire.OpGetQSPNRound): {Max: 5, Wait: 10 * time.Second},
	uint8(wire.OpGetIntMap):    {Max: 2, Wait: 10 * time.Second},
	uint8(wire.OpGetExtMap):    {Max: 2, Wait: 10 * time.Second},
	uint8(wire.OpGetBnodeMap):  {Max: 2, Wait: 10 * time.Second},
}

const (
	// requestsGlobal: all sources together get this many sources' share.
	requestsGlobal = 8
	// requestsKeys bounds the (source, op) entries of a request table.
	requestsKeys = 512
)

func msDuration(ms uint32) time.Duration { return time.Duration(ms) * time.Millisecond }

// The nonce of a gnode holds the day it was founded in its top bits and
// random bits below. Every collision gives the id to the lower nonce, so
// the older gnode keeps it and the newcomer re-addresses: seed 000 §6.v's
// stable groups stay passive, and since the nonce is the same everywhere,
// both ends of every link take the same decision (seed 004), even when two
// pairs of gates of the same islands meet at once.
const (
	nonceRandomBits = 19
	nonceDays       = 1 << (32 - nonceRandomBits) // 8192 days: 2025 to 2047
	nonceEpoch      = 1735689600                  // 2025-01-01 UTC
)

// gnodeNonce draws the nonce of a gnode this node founds now. A node that
// does not know the date takes the last day: it gives way to every gnode
// with a date.
func (n *Node) gnodeNonce() uint32 {
	day := uint32(nonceDays - 1)
	if n.cfg.WallStart > 0 {
		if d := (n.cfg.WallStart + int64(n.now/time.Second) - nonceEpoch) / 86400; d >= 0 {
			day = uint32(min(d, nonceDays-2))
		}
	}
	return day<<nonceRandomBits | n.rng.Uint32()>>(32-nonceRandomBits) | 1
}
