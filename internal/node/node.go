// Package node is one Netsukuku node: the radar, hook and QSPN state
// machines wired to one set of maps, driven by a single event loop that the
// caller owns. Nothing here touches a socket, a clock or the kernel: events
// come in with the current time (virtual in the simulator, monotonic in the
// daemon) and actions go out as packets to send, a route table to install
// and the next time the node wants to be woken up. The same code runs in the
// daemon, the simulator and the unit tests.
package node

import (
	"crypto/ed25519"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/ntkd/ntkd/internal/addr"
	"github.com/ntkd/ntkd/internal/andna"
	"github.com/ntkd/ntkd/internal/maps"
	"github.com/ntkd/ntkd/internal/radar"
	"github.com/ntkd/ntkd/internal/reqlimit"
	"github.com/ntkd/ntkd/internal/wire"
)

// Config is what a node needs to run.
type Config struct {
	Scheme        *addr.Scheme
	MaxRoutes     int
	MaxBnodeLinks int
	Radar         radar.Config
	// HookScan is how long the first radar scan listens before the node
	// decides whether it is alone.
	HookScan time.Duration
	// RequestTimeout bounds each hook request before the next rnode is tried.
	RequestTimeout time.Duration
	// WaitRound is QSPN_WAIT_ROUND: the least time between two rounds of a
	// level (seed 001 §5.1.4).
	WaitRound time.Duration
	// MaxAgeRounds: routes not refreshed for this many rounds age out.
	MaxAgeRounds int
	// RoundSettle is how long after a round starts every element has
	// re-flooded: then routes the round did not refresh (dead nodes,
	// broken paths) are dropped. Must be below WaitRound.
	RoundSettle time.Duration
	// RefreshRounds: a level that had no round for this many WaitRounds
	// gets one anyway (0: never). Rounds otherwise come only from changes;
	// the refresh is the safety net that heals what a quiet network cannot
	// show (a gnode split whose parts stopped flooding), as OSPF refreshes
	// its LSAs every 30 minutes.
	RefreshRounds int
	// First, when HasFirst, is the position the node takes the first time
	// it creates a gnode (it found nobody to join) instead of a random one.
	First    addr.Position
	HasFirst bool
	// Seed makes the node's random choices reproducible.
	Seed uint64
	// WallStart is the wall clock, in Unix seconds, at the node's time
	// zero (0: unknown). It dates the gnodes the node founds, so that of
	// two colliding gnodes the older keeps its id (gnodeNonce).
	WallStart int64
	// ANDNA runs the name system when set, with ANDNAKey as the node's
	// key (ed25519).
	ANDNA    *andna.Config
	ANDNAKey ed25519.PrivateKey
}

// DefaultConfig returns the daemon's defaults for scheme.
func DefaultConfig(s *addr.Scheme) Config {
	return Config{
		Scheme: s, MaxRoutes: maps.DefaultMaxRoutes, MaxBnodeLinks: maps.DefaultMaxBnodeLinks,
		Radar: radar.DefaultConfig(), HookScan: 2 * time.Second, RequestTimeout: 2 * time.Second,
		WaitRound: 60 * time.Second, MaxAgeRounds: 2, RoundSettle: 10 * time.Second,
		RefreshRounds: 30,
	}
}

func (c *Config) validate() error {
	switch {
	case c.Scheme == nil:
		return fmt.Errorf("node: no address scheme")
	case c.HookScan <= 0 || c.RequestTimeout <= 0 || c.WaitRound <= 0:
		return fmt.Errorf("node: hook scan, request timeout and wait round must be positive")
	case c.RoundSettle <= 0 || c.RoundSettle >= c.WaitRound:
		return fmt.Errorf("node: round settle %v must be positive and below the wait round %v", c.RoundSettle, c.WaitRound)
	case c.MaxAgeRounds < 1 || c.MaxAgeRounds > 100:
		return fmt.Errorf("node: max age rounds %d, want 1..100", c.MaxAgeRounds)
	case c.RefreshRounds < 0 || c.RefreshRounds > 1000:
		return fmt.Errorf("node: refresh rounds %d, want 0..1000", c.RefreshRounds)
	}
	if c.HasFirst {
		if _, err := c.Scheme.Addr(c.First); err != nil {
			return fmt.Errorf("node: first position: %w", err)
		}
	}
	return c.Radar.Validate()
}

// State is where the node is in its life.
type State uint8

const (
	Idle     State = iota // not started
	Scanning              // first radar: who is around?
	Joining               // asking an rnode for a free id and its maps
	Hooked                // part of the network
)

func (s State) String() string { return [...]string{"idle", "scanning", "joining", "hooked"}[s] }

// Send is a packet the caller must transmit.
type Send struct {
	Iface int
	To    radar.PeerID // radar.Broadcast: the interface's link broadcast
	// Reliable packets go on the per-rnode stream (TCP in the daemon): the
	// transport retransmits them. Others are datagrams and may be lost.
	Reliable bool
	Op       wire.Op
	Data     []byte
}

// Stats counts what the node did, for the simulator's figures and `ntkd ctl`.
type Stats struct {
	SentPackets  [256]uint64 // by op
	SentBytes    [256]uint64
	Dropped      map[string]uint64 // by reason
	Rehooks      uint64            // id collisions this node lost
	RehookWhy    map[string]uint64 // why, by reason and level
	RoundsWanted map[string]uint64 // changes that asked for a round, by kind
	Created      uint64            // gnodes this node created (found no one to join)
	// LossesSent counts ROUTE_LOSS announcements (each to every neighbour
	// in scope), LossesHeld those left to the round by the budget (maxLosses).
	LossesSent, LossesHeld uint64
	// RoundsDeferred counts floods of a newer round heard too soon after
	// the last round began (minRoundGap): the round was entered later.
	RoundsDeferred uint64
}

func (s *Stats) drop(reason string) {
	if s.Dropped == nil {
		s.Dropped = map[string]uint64{}
	}
	s.Dropped[reason]++
}

// Node is one node's protocol state. It is not safe for concurrent use.
type Node struct {
	cfg   Config
	rng   *rand.Rand
	radar *radar.Radar
	dec   wire.Decoder
	// virtual marks the interfaces that are tunnels (vlinks): by index.
	virtual []bool

	state State
	nonce uint32 // hooking nonce (seed of the "still scanning" tie-break)
	// nonceAt is when nonce was drawn: until our neighbours' hellos have
	// had time to name the new one, not being in them says nothing.
	nonceAt time.Duration
	// nonces are the identities of our element at each level: our own
	// node nonce at level 0, our gnodes' nonces above (drawn by their
	// creators). Two elements with one id are told apart by them.
	nonces [addr.MaxLevels]uint32
	pos    addr.Position
	posGen uint32 // changes with pos: invalidates peers' link levels
	peers  [radar.MaxNeighbours]peerInfo
	ip     netip.Addr
	maps   *maps.Set
	lv     []levelState
	hook   hookState

	// early holds tracers from neighbours our radar has heard but not yet
	// measured: their radar was quicker than ours. Played when ours is
	// done (bounded: maxEarly packets in all).
	early      map[uint8][][]byte
	earlyCount int

	// tracerAt is when the hook's tracer goes out: once the second radar
	// has told the neighbours our address, or they would drop it.
	tracerAt time.Duration

	andna *andna.Engine
	// requests limits the hook requests each peer may make (request.c).
	requests *reqlimit.Table[radar.PeerID]

	// lossBefore is the best route to every element of one level before
	// a loss (losses.go).
	lossBefore [addr.MaxGroupNode]maps.Route

	// linkCosts is, per rnode index, the link cost that the routes through
	// that rnode carry (0: none yet). Every route's cost is the rnode's own
	// cost plus this, also after the link's cost changes (the maps are
	// shifted then), so the rnode's own cost is always known exactly: what
	// the loop-free choice of multipath hops needs (routes.go).
	linkCosts [256]uint32

	// gwBandwidth is ours as an Internet gateway (0: none); gwVersion
	// changes with what we know of gateways, gwChecked is the version
	// checkGateways last saw (igs.go).
	gwBandwidth          uint32
	gwVersion, gwChecked uint64

	// vnode: we are on the Viphilama map at vLat, vLon; vpVersion changes
	// with what we know of vnodes, vpChecked is the version checkVnodes
	// last saw; vinbox holds carried virtual hooks for the daemon
	// (viphilama.go).
	vnode                bool
	vLat, vLon           int32
	vpVersion, vpChecked uint64
	vinbox               []VHookDelivery

	now time.Duration
	out []Send
	// spare is the outbox Outbox handed out before the last one: the
	// caller is done with it, so its array takes the packets after the
	// next batch. A fresh outbox per call grew a new array for every
	// packet handled (1, 2, 4 … sends: the most garbage of a busy node).
	spare []Send
	// passing is the broadcast being passed on, passChunks the array of
	// its chunks (passOn).
	passing       wire.Broadcast
	passChunks    []wire.Chunk
	routesVersion uint64
	Stats         Stats
}

// New makes a node; it does nothing until Start.
func New(cfg Config) (*Node, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	r, err := radar.New(cfg.Radar)
	if err != nil {
		return nil, err
	}
	n := &Node{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x6e746b64)), radar: r,
		requests: reqlimit.New[radar.PeerID](hookRequestLimits, requestsGlobal, requestsKeys)}
	if cfg.ANDNA != nil {
		if n.andna, err = andna.New(*cfg.ANDNA, cfg.Scheme, andnaHost{n}, cfg.ANDNAKey); err != nil {
			return nil, err
		}
	}
	return n, nil
}

// State returns the node's state.
func (n *Node) State() State { return n.state }

// Addr returns the node's address once hooked.
func (n *Node) Addr() netip.Addr { return n.ip }

// Position returns the node's ids once hooked.
func (n *Node) Position() addr.Position { return n.pos }

// Maps returns the node's maps (nil before it hooks). Read only.
func (n *Node) Maps() *maps.Set { return n.maps }

// Radar exposes the neighbour table. Read only.
func (n *Node) Radar() *radar.Radar { return n.radar }

// RoutesVersion changes whenever the route table may have changed.
func (n *Node) RoutesVersion() uint64 { return n.routesVersion }

// Outbox returns the packets to send and forgets them. The slice is the
// caller's until the call after next, which reuses its array: hand the
// packets on before then.
func (n *Node) Outbox() []Send {
	n.syncANDNA()
	o := n.out
	next := n.spare
	clear(next[:cap(next)]) // let the packets it held go
	if cap(next) > maxSpareOutbox {
		next = nil // a burst (a map transfer) is no reason to keep a big array
	}
	n.out, n.spare = next[:0], o
	return o
}

// maxSpareOutbox bounds the outbox array kept from one batch to the next.
const maxSpareOutbox = 64

// Start begins the hook at now: the first radar scan.
func (n *Node) Start(now time.Duration) {
	n.now = now
	n.state = Scanning
	n.nonce = n.rng.Uint32() | 1
	n.nonceAt = now
	n.hook = hookState{deadline: now + n.cfg.HookScan, lowest: n.nonce}
	n.radar.ProbeNow(now)
	n.Tick(now)
}

// IfaceUp starts using an interface.
func (n *Node) IfaceUp(now time.Duration, iface int) {
	n.now = now
	n.radar.IfaceUp(now, iface)
	n.Tick(now)
}

// SetVirtual marks an interface as a virtual link (a tunnel to a vnode
// over the Internet, docs/VLAYER.md) or as a physical one, the default.
// A broadcast that arrived over a virtual link is never passed into
// another one.
func (n *Node) SetVirtual(iface int, on bool) {
	if iface < 0 {
		return
	}
	for len(n.virtual) <= iface {
		n.virtual = append(n.virtual, false)
	}
	n.virtual[iface] = on
	n.radar.SetVirtual(iface, on)
}

// Virtual reports whether an interface is a virtual link.
func (n *Node) Virtual(iface int) bool {
	return iface >= 0 && iface < len(n.virtual) && n.virtual[iface]
}

// IfaceDown stops using an interface; its neighbours die at once.
func (n *Node) IfaceDown(now time.Duration, iface int) {
	n.now = now
	n.radar.IfaceDown(iface)
	n.radarEvents()
}

// SetLinkPenalty multiplies the radar's cost of the link to a neighbour
// (wifi metrics, see radar.Radar.SetPenalty); a large change starts a round
// like any cost change.
func (n *Node) SetLinkPenalty(now time.Duration, iface int, peer radar.PeerID, mult float64) {
	n.now = now
	if n.radar.SetPenalty(iface, peer, mult) {
		n.radarEvents()
	}
}

// NextWakeup is when the node next needs Tick.
func (n *Node) NextWakeup() time.Duration {
	next := n.radar.NextWakeup()
	if n.state == Idle {
		return next
	}
	if n.state != Hooked {
		next = min(next, n.hook.deadline)
		return next
	}
	for i := range n.lv {
		if n.lv[i].pending {
			next = min(next, n.roundDue(i))
		} else if r := n.refreshDue(i); r > 0 {
			next = min(next, r)
		}
		if !n.lv[i].settled {
			next = min(next, n.lv[i].roundStart+n.cfg.RoundSettle)
		}
		if n.lv[i].hasDeferred {
			next = min(next, n.lv[i].roundStart+n.minRoundGap())
		}
	}
	if n.tracerAt > 0 {
		next = min(next, n.tracerAt)
	}
	if n.andna != nil {
		next = min(next, n.andna.NextWakeup())
	}
	return next
}

// Tick runs the timers that are due at now.
func (n *Node) Tick(now time.Duration) {
	n.now = now
	n.radar.Tick(now)
	n.flushProbes()
	n.radarEvents()
	if n.state != Hooked {
		if n.state != Idle && now >= n.hook.deadline {
			n.hookTimeout()
		}
		return
	}
	if n.andna != nil {
		n.andna.Tick(now)
	}
	if n.tracerAt > 0 && now >= n.tracerAt {
		n.tracerAt = 0
		// Our own tracer; the neighbours that see us hooked start the
		// round that refreshes the paths through us (§5.2.1).
		n.originate(0, wire.OpTracerPkt)
	}
	n.checkGateways()
	n.checkVnodes()
	for l := range n.lv {
		if !n.lv[l].settled && now >= n.lv[l].roundStart+n.cfg.RoundSettle {
			n.settle(l)
		}
		if r := n.refreshDue(l); !n.lv[l].pending && r > 0 && now >= r {
			n.want(l, false, "refresh")
		}
		if lv := &n.lv[l]; lv.hasDeferred && now >= lv.roundStart+n.minRoundGap() {
			n.enterRound(l, lv.deferred, now)
			n.originate(l, wire.OpQSPNClose)
		}
		if n.lv[l].pending && now >= n.roundDue(l) {
			n.startRound(l)
		}
	}
}

// refreshDue is when level l gets a round for want of any other (0: never).
func (n *Node) refreshDue(l int) time.Duration {
	if n.cfg.RefreshRounds == 0 {
		return 0
	}
	return n.lv[l].roundStart + time.Duration(n.cfg.RefreshRounds)*n.cfg.WaitRound
}

// flushProbes turns the radar's hellos and probes into ECHO_ME packets.
func (n *Node) flushProbes() {
	for _, p := range n.radar.Probes() {
		e := &wire.Echo{Kind: wire.OpEchoMe, Burst: p.Burst, Seq: p.Seq}
		if p.Hello {
			e.Flags = wire.EchoHello
			if p.ReplyWanted {
				e.Flags |= wire.EchoReplyWanted
			}
			// Rounded up: a neighbour must never expect our hellos sooner
			// than they come. radar.Config.Validate bounds the interval.
			e.Interval = uint16((p.Interval + wire.EchoIntervalUnit - 1) / wire.EchoIntervalUnit)
			e.IHU = make([]wire.IHU, len(p.IHU))
			for i, x := range p.IHU {
				e.IHU[i] = wire.IHU(x)
			}
		}
		n.fillEcho(e)
		n.send(p.Iface, p.To, false, 0, e)
	}
}

func (n *Node) fillEcho(e *wire.Echo) {
	// The nonce goes out always: while hooking it settles who creates the
	// gnode, once hooked it settles which of two neighbours holding the
	// same address keeps it; neighbours also name us by it in their hellos.
	e.Nonce = n.nonce
	if n.state != Hooked {
		e.Flags |= wire.EchoHooking
		e.Lowest = n.hook.lowest
		return
	}
	e.Addr = n.ip
	e.Lowest = n.nonces[n.cfg.Scheme.Levels()-1]
}

// topCollision settles a collision of top-level gnodes seen in a hooked
// neighbour's echo: it shares our top-level gnode id (it is inside our
// network by its address) but not its nonce. As for every collision the
// higher nonce gives way, the same decision on both sides; the losers
// re-hook one after the other, as each sees a neighbour of the winning
// side, and their floods carry the collision to the rest of their island.
func (n *Node) topCollision(e *wire.Echo) {
	if n.state != Hooked || e.Flags&wire.EchoHooking != 0 || !n.cfg.Scheme.Contains(e.Addr) {
		return
	}
	top := n.cfg.Scheme.Levels() - 1
	if !n.otherNetwork(n.cfg.Scheme.ID(e.Addr, top), e.Lowest) {
		return
	}
	if _, err := n.cfg.Scheme.Position(e.Addr); err != nil {
		return // not a node address: nothing to settle with it
	}
	if e.Lowest > n.nonces[top] {
		n.Stats.drop("top-level gnode collision: the other side re-hooks")
		return
	}
	n.why(fmt.Sprintf("nonce collision at level %d seen by a neighbour", top))
	n.rehook(top)
}

// otherNetwork says whether a hooked neighbour whose address holds topID at
// the top level and whose top-level gnode has topNonce (0: unknown) belongs
// to another network that holds our top-level id.
func (n *Node) otherNetwork(topID uint8, topNonce uint32) bool {
	top := n.cfg.Scheme.Levels() - 1
	return topNonce != 0 && topNonce != n.nonces[top] && topID == n.pos[top]
}

// send encodes and queues a packet.
func (n *Node) send(iface int, to radar.PeerID, reliable bool, id uint32, p wire.Payload) {
	if b := n.encode(id, p); b != nil {
		n.sendBytes(iface, to, reliable, p.Op(), b)
	}
}

// encode builds a packet. Our own packets come from validated state: an
// encoding error is a bug, counted rather than sent half-formed.
func (n *Node) encode(id uint32, p wire.Payload) []byte {
	b, err := wire.Encode(id, p)
	if err != nil {
		n.Stats.drop("encode: " + err.Error())
		return nil
	}
	return b
}

// sendBytes queues an encoded packet. The bytes may be shared by several
// sends: nobody writes to them after encoding.
func (n *Node) sendBytes(iface int, to radar.PeerID, reliable bool, op wire.Op, b []byte) {
	n.Stats.SentPackets[op]++
	n.Stats.SentBytes[op] += uint64(len(b))
	n.out = append(n.out, Send{Iface: iface, To: to, Reliable: reliable, Op: op, Data: b})
}

// HandlePacket processes a packet that arrived on iface from peer.
func (n *Node) HandlePacket(now time.Duration, iface int, from radar.PeerID, data []byte) {
	n.now = now
	h, p, err := n.dec.Decode(data)
	if err != nil {
		n.Stats.drop("malformed")
		return
	}
	switch p := p.(type) {
	case *wire.Echo:
		n.onEcho(iface, from, h, p)
	case *wire.Routed:
		n.onRouted(iface, from, p)
	case *wire.Loss:
		n.onLoss(iface, from, p)
	case *wire.Broadcast:
		if nb := n.radar.Lookup(iface, from); nb != nil && n.usable(nb) && nb.Cost == 0 && n.state == Hooked {
			n.holdEarly(nb.Index, data)
			break
		}
		n.onBroadcast(iface, from, h, p)
	default:
		n.onRequest(iface, from, h, p)
	}
	n.radarEvents()
}

func (n *Node) onEcho(iface int, from radar.PeerID, h wire.Header, e *wire.Echo) {
	hooking := e.Flags&wire.EchoHooking != 0
	if hooking && n.state != Hooked && n.state != Idle && e.Lowest != 0 && e.Lowest < n.hook.lowest {
		// A lower hooking nonce somewhere in reach: pass it on at once.
		n.hook.lowest = e.Lowest
		n.radar.ProbeNow(n.now)
	}
	// Only a neighbour that answered our probes may make us re-hook: a
	// single echo from anyone on the link could otherwise (claiming a low
	// top-level nonce) move the node.
	if nb := n.radar.Lookup(iface, from); nb != nil && nb.State == radar.Alive && n.usable(nb) {
		n.topCollision(e)
	}
	hello := e.Flags&wire.EchoHello != 0
	in := radar.Echo{Reply: e.Kind == wire.OpEchoReply, Hello: hello, Burst: e.Burst, Seq: e.Seq,
		Hooking: hooking, Nonce: e.Nonce, Addr: e.Addr}
	if !hooking {
		in.TopNonce = e.Lowest
	}
	if e.Kind == wire.OpEchoReply {
		n.radar.OnEcho(n.now, iface, from, in)
		return
	}
	if hello {
		in.Interval = time.Duration(e.Interval) * wire.EchoIntervalUnit
		// What it hears of us: its entry for our nonce. A list shorter than
		// the maximum names every neighbour it has, so our absence from it
		// means it hears none of our hellos; a full one may rotate.
		for _, x := range e.IHU {
			if x.Nonce == n.nonce {
				in.HearsUs, in.HearsUsKnown = x.Heard, true
				break
			}
		}
		settled := n.now-n.nonceAt > 2*n.cfg.Radar.Interval+n.cfg.Radar.ProbeTimeout
		if !in.HearsUsKnown && len(e.IHU) < wire.MaxIHU && settled {
			in.HearsUsKnown = true
		}
	}
	n.radar.OnEcho(n.now, iface, from, in)
	if hello && e.Flags&wire.EchoReplyWanted == 0 {
		return // a plain hello is not answered: liveness comes from our own
	}
	reply := &wire.Echo{Kind: wire.OpEchoReply, Burst: e.Burst, Seq: e.Seq, Flags: e.Flags & wire.EchoHello}
	n.fillEcho(reply)
	n.send(iface, from, false, h.ID, reply)
}

// radarEvents applies what the radar found: routes to neighbours, fast
// failover on deaths, rounds on changes.
func (n *Node) radarEvents() {
	for _, ev := range n.radar.Events() {
		if n.state != Hooked {
			continue // the hook reads the neighbour table when it decides
		}
		switch ev.Kind {
		case radar.Down:
			delete(n.early, ev.N.Index)
			n.neighbourDown(ev.N)
		case radar.AddrChanged:
			// It hooked, re-hooked or changed gnode: routes through its old
			// place go as if it died, its new place is a new link. (Always
			// both: the floods and the round the "death" starts are also
			// how the collision and split checks see a newcomer's gnodes.)
			n.neighbourDown(ev.N)
			n.neighbourChanged(ev.N)
		case radar.Up:
			n.neighbourChanged(ev.N)
			n.replayEarly(ev.N)
		case radar.CostChanged:
			n.neighbourChanged(ev.N)
		}
	}
}

// maxEarly bounds the tracers held for neighbours not yet measured.
const maxEarly = 4096

func (n *Node) holdEarly(idx uint8, data []byte) {
	if n.earlyCount >= maxEarly {
		n.Stats.drop("early tracer, no room")
		return
	}
	if n.early == nil {
		n.early = map[uint8][][]byte{}
	}
	n.early[idx] = append(n.early[idx], append([]byte(nil), data...))
	n.earlyCount++
}

// replayEarly handles the tracers a neighbour sent before our radar had
// measured it, now that it has.
func (n *Node) replayEarly(nb radar.Neighbour) {
	held := n.early[nb.Index]
	delete(n.early, nb.Index)
	n.earlyCount -= len(held)
	for _, data := range held {
		if n.state != Hooked {
			return
		}
		h, p, err := n.dec.Decode(data)
		if b, ok := p.(*wire.Broadcast); ok && err == nil {
			n.onBroadcast(nb.Iface, nb.Peer, h, b)
		}
	}
}
