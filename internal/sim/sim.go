// Package sim is the discrete-event simulator: thousands of nodes running
// the real protocol core (internal/node) on a virtual clock, over links with
// latency, jitter and loss, deterministic from one seed.
package sim

import (
	"crypto/ed25519"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/ntkd/ntkd/internal/andna"
	"github.com/ntkd/ntkd/internal/node"
	"github.com/ntkd/ntkd/internal/radar"
	"github.com/ntkd/ntkd/internal/topo"
	"github.com/ntkd/ntkd/internal/wire"
)

// Options shape a run.
type Options struct {
	Topology *topo.Topology
	Node     node.Config // template; Seed is derived per node
	Seed     uint64
	// StartSpread: nodes start at random times in [0, StartSpread), as
	// after a power cut.
	StartSpread time.Duration
	// StartWave, when not 0, starts the nodes one after the other in
	// breadth-first order from node 0, StartWave apart: a mesh that grows
	// as people add routers next to working ones. It overrides StartSpread.
	StartWave time.Duration
	// ANDNAKey gives node i its ANDNA key when Node.ANDNA is set; nil
	// derives one from the node's seed (a restarted node keeps its key).
	ANDNAKey func(i int) ed25519.PrivateKey
	// WallStart gives node i the wall clock at the simulation's start
	// (node.Config.WallStart); nil starts every node on 2026-01-01.
	WallStart func(i int) int64
}

// DefaultWallStart is the date every simulated node starts on, unless
// Options.WallStart says otherwise: 2026-01-01 UTC.
const DefaultWallStart = 1767225600

type eventKind uint8

const (
	evDeliver eventKind = iota
	evWake
	evStart
	evScript
)

type event struct {
	at    time.Duration
	seq   uint64
	kind  eventKind
	node  int
	iface int
	from  int
	data  []byte
	op    wire.Op
	fn    func()
}

// eventQueue is a binary min-heap on (at, seq): seq breaks ties in the
// order events were scheduled, which keeps runs deterministic. Written out
// rather than through container/heap: the queue is the simulator's hot path.
type eventQueue []*event

func (q eventQueue) Len() int { return len(q) }

func before(a, b *event) bool { return a.at < b.at || (a.at == b.at && a.seq < b.seq) }

func (q *eventQueue) push(e *event) {
	h := append(*q, e)
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !before(e, h[p]) {
			break
		}
		h[i] = h[p]
		i = p
	}
	h[i] = e
	*q = h
}

func (q *eventQueue) pop() *event {
	h := *q
	top := h[0]
	n := len(h) - 1
	last := h[n]
	h[n] = nil
	h = h[:n]
	i := 0
	for {
		c := 2*i + 1
		if c >= n {
			break
		}
		if c+1 < n && before(h[c+1], h[c]) {
			c++
		}
		if !before(h[c], last) {
			break
		}
		h[i] = h[c]
		i = c
	}
	if n > 0 {
		h[i] = last
	}
	*q = h
	return top
}

// port is one end of a link: node's interface iface reaches peer.
type port struct {
	link int
	peer int
	// peerIface is the interface index of this link at the peer.
	peerIface int
}

type link struct {
	topo.Link
	up bool
	// lastReliable keeps stream packets in order per direction (a->b, b->a).
	lastReliable [2]time.Duration
}

type simNode struct {
	n       *node.Node
	ports   []port
	wakeAt  time.Duration
	alive   bool
	version uint64
}

// Counters of what travelled.
type Counters struct {
	Packets   [256]uint64 // delivered or lost, by op, counted at send
	Bytes     [256]uint64
	Lost      uint64
	Delivered uint64
	Events    uint64
}

// Sim is one simulated network.
type Sim struct {
	opt   Options
	rng   *rand.Rand
	now   time.Duration
	seq   uint64
	queue eventQueue
	nodes []*simNode
	// counterFloor is, per node, the ANDNA counter its next run starts at
	// (the reservation the daemon keeps in andna.key_dir).
	counterFloor []uint32
	links        []link

	C Counters
	// LastChange is the virtual time of the last route change anywhere.
	LastChange time.Duration
	// LastQSPN is the virtual time of the last tracer/QSPN packet sent.
	LastQSPN time.Duration
	// LastScript is the virtual time of the last scripted event.
	LastScript time.Duration
	// OnStep, if set, is called after every step of RunUntilQuiet.
	OnStep Progress
	// Drop lists ops every link loses (counted in C.Lost): a test holds
	// back one mechanism to see what the others do alone.
	Drop [256]bool
}

const never = time.Duration(1<<63 - 1)

// New builds the network; nothing runs until Run.
func New(opt Options) (*Sim, error) {
	t := opt.Topology
	if t == nil {
		return nil, fmt.Errorf("sim: no topology")
	}
	if err := t.Validate(); err != nil {
		return nil, fmt.Errorf("sim: %w", err)
	}
	s := &Sim{opt: opt, rng: rand.New(rand.NewPCG(opt.Seed, 0x73696d))}
	s.nodes = make([]*simNode, t.Nodes)
	s.counterFloor = make([]uint32, t.Nodes)
	for i := range s.nodes {
		s.nodes[i] = &simNode{wakeAt: never}
	}
	for li, l := range t.Links {
		s.links = append(s.links, link{Link: l, up: true})
		a, b := s.nodes[l.A], s.nodes[l.B]
		a.ports = append(a.ports, port{link: li, peer: l.B, peerIface: len(b.ports)})
		b.ports = append(b.ports, port{link: li, peer: l.A, peerIface: len(a.ports) - 1})
	}
	var wave []time.Duration
	if opt.StartWave > 0 {
		wave = bfsStarts(t, opt.StartWave)
	}
	for i := range s.nodes {
		if err := s.makeNode(i); err != nil {
			return nil, err
		}
		at := time.Duration(0)
		switch {
		case wave != nil:
			at = wave[i]
		case opt.StartSpread > 0:
			at = time.Duration(s.rng.Int64N(int64(opt.StartSpread)))
		}
		s.push(&event{at: at, kind: evStart, node: i})
	}
	return s, nil
}

// bfsStarts gives each node its start time in breadth-first order from
// node 0 (other components follow), gap apart.
func bfsStarts(t *topo.Topology, gap time.Duration) []time.Duration {
	at := make([]time.Duration, t.Nodes)
	seen := make([]bool, t.Nodes)
	nbs := t.Neighbours()
	k := 0
	for root := 0; root < t.Nodes; root++ {
		if seen[root] {
			continue
		}
		seen[root] = true
		queue := []int{root}
		for len(queue) > 0 {
			x := queue[0]
			queue = queue[1:]
			at[x] = time.Duration(k) * gap
			k++
			for _, y := range nbs[x] {
				if !seen[y] {
					seen[y] = true
					queue = append(queue, y)
				}
			}
		}
	}
	return at
}

func (s *Sim) makeNode(i int) error {
	cfg := s.opt.Node
	cfg.Seed = s.opt.Seed*1000003 + uint64(i)*7919 + 1
	cfg.WallStart = DefaultWallStart
	if s.opt.WallStart != nil {
		cfg.WallStart = s.opt.WallStart(i)
	}
	if cfg.ANDNA != nil {
		// What the daemon keeps on disk: the counters reserved by the
		// node's last run, so a restart updates its names afresh.
		ac := *cfg.ANDNA
		ac.CounterBase = andna.CounterBase(s.counterFloor[i], uint32(s.now/time.Minute))
		s.counterFloor[i] = ac.CounterBase + andna.CounterReserve
		cfg.ANDNA = &ac
		if s.opt.ANDNAKey != nil {
			cfg.ANDNAKey = s.opt.ANDNAKey(i)
		} else {
			var seed [ed25519.SeedSize]byte
			binary.BigEndian.PutUint64(seed[:], cfg.Seed)
			cfg.ANDNAKey = ed25519.NewKeyFromSeed(seed[:])
		}
	}
	nd, err := node.New(cfg)
	if err != nil {
		return fmt.Errorf("sim: node %d: %w", i, err)
	}
	sn := s.nodes[i]
	for iface, p := range sn.ports {
		if s.links[p.link].Virtual {
			nd.SetVirtual(iface, true)
		}
	}
	sn.n, sn.alive, sn.version = nd, false, 0
	return nil
}

func (s *Sim) push(e *event) {
	s.seq++
	e.seq = s.seq
	s.queue.push(e)
}

// Now is the virtual time.
func (s *Sim) Now() time.Duration { return s.now }

// Nodes is the number of nodes.
func (s *Sim) Nodes() int { return len(s.nodes) }

// Node returns node i's protocol state (nil while it is dead).
func (s *Sim) Node(i int) *node.Node {
	if !s.nodes[i].alive {
		return nil
	}
	return s.nodes[i].n
}

// WithANDNA runs fn on node i's ANDNA (Register, Resolve...) now, as an
// event of that node: what it sends goes out. It reports false when the
// node is dead or has no ANDNA.
func (s *Sim) WithANDNA(i int, fn func(e *andna.Engine, now time.Duration)) bool {
	sn := s.nodes[i]
	if !sn.alive || sn.n.ANDNA() == nil {
		return false
	}
	fn(sn.n.ANDNA(), s.now)
	s.after(i)
	return true
}

// WithNode runs fn on node i now, as an event of that node: what it sends
// goes out. It reports false when the node is dead.
func (s *Sim) WithNode(i int, fn func(n *node.Node, now time.Duration)) bool {
	sn := s.nodes[i]
	if !sn.alive {
		return false
	}
	fn(sn.n, s.now)
	s.after(i)
	return true
}

// At schedules fn (a scripted event: cut a link, kill a node...) at t.
func (s *Sim) At(t time.Duration, fn func()) { s.push(&event{at: t, kind: evScript, fn: fn}) }

// Run processes events until virtual time until (or the queue empties).
func (s *Sim) Run(until time.Duration) {
	for s.queue.Len() > 0 {
		e := s.queue[0]
		if e.at > until {
			break
		}
		s.queue.pop()
		s.now = e.at
		s.C.Events++
		s.handle(e)
	}
	if s.now < until {
		s.now = until
	}
}

// Progress, when set, is called between steps of RunUntilQuiet so long runs
// can report how far they are.
type Progress func(s *Sim)

// RunUntilQuiet runs until no route changed and no script step ran for
// quiet, once every node that runs is hooked, or until limit. It returns
// whether the network went quiet.
func (s *Sim) RunUntilQuiet(quiet, limit time.Duration) bool {
	step := quiet / 4
	if step <= 0 {
		step = time.Second
	}
	for t := s.now + step; t <= limit; t += step {
		s.Run(t)
		if s.OnStep != nil {
			s.OnStep(s)
		}
		if s.now-max(s.LastChange, s.LastScript) >= quiet && s.allHooked() && !s.scriptPending() {
			return true
		}
	}
	return false
}

// Hooked counts the running nodes that are hooked.
func (s *Sim) Hooked() int {
	k := 0
	for _, sn := range s.nodes {
		if sn.alive && sn.n.State() == node.Hooked {
			k++
		}
	}
	return k
}

// allHooked also requires that no node waits to start a round: a network
// with a round to come has not converged.
func (s *Sim) allHooked() bool {
	for _, sn := range s.nodes {
		if sn.alive && (sn.n.State() != node.Hooked || sn.n.RoundPending()) {
			return false
		}
	}
	return true
}

func (s *Sim) scriptPending() bool {
	for _, e := range s.queue {
		if e.kind == evScript || e.kind == evStart {
			return true
		}
	}
	return false
}

func (s *Sim) handle(e *event) {
	switch e.kind {
	case evScript:
		e.fn()
		return
	case evStart:
		sn := s.nodes[e.node]
		sn.alive = true
		for iface, p := range sn.ports {
			if s.links[p.link].up {
				sn.n.IfaceUp(s.now, iface)
			}
		}
		sn.n.Start(s.now)
	case evWake:
		sn := s.nodes[e.node]
		if !sn.alive || e.at != sn.wakeAt {
			return // superseded
		}
		sn.wakeAt = never
		sn.n.Tick(s.now)
	case evDeliver:
		sn := s.nodes[e.node]
		if !sn.alive {
			return
		}
		p := sn.ports[e.iface]
		if !s.links[p.link].up {
			s.C.Lost++
			return
		}
		s.C.Delivered++
		sn.n.HandlePacket(s.now, e.iface, radarPeer(e.from), e.data)
	}
	s.after(e.node)
}

// after collects what a node did: packets, route changes, its next wakeup.
func (s *Sim) after(i int) {
	sn := s.nodes[i]
	if !sn.alive {
		return
	}
	for _, out := range sn.n.Outbox() {
		s.transmit(i, out)
	}
	if v := sn.n.RoutesVersion(); v != sn.version {
		sn.version = v
		s.LastChange = s.now
	}
	if w := sn.n.NextWakeup(); w < sn.wakeAt {
		if w < s.now {
			w = s.now
		}
		sn.wakeAt = w
		s.push(&event{at: w, kind: evWake, node: i})
	}
}

func (s *Sim) transmit(from int, out node.Send) {
	sn := s.nodes[from]
	if out.Iface < 0 || out.Iface >= len(sn.ports) {
		return
	}
	p := sn.ports[out.Iface]
	if out.To != radar.Broadcast && int(out.To)-1 != p.peer {
		return // addressed to someone not on this link
	}
	s.C.Packets[out.Op]++
	s.C.Bytes[out.Op] += uint64(len(out.Data))
	switch out.Op {
	case wire.OpTracerPkt, wire.OpQSPNClose, wire.OpQSPNOpen:
		s.LastQSPN = s.now
	}
	l := &s.links[p.link]
	if !l.up || s.Drop[out.Op] {
		s.C.Lost++
		return
	}
	if !out.Reliable && l.Loss > 0 && s.rng.Float64() < l.Loss {
		s.C.Lost++
		return
	}
	delay := l.Latency
	if l.Jitter > 0 {
		delay += time.Duration(s.rng.Int64N(int64(l.Jitter) + 1))
	}
	at := s.now + delay
	if out.Reliable {
		dir := 0
		if from == l.B {
			dir = 1
		}
		if at < l.lastReliable[dir] {
			at = l.lastReliable[dir]
		}
		l.lastReliable[dir] = at
	}
	s.push(&event{at: at, kind: evDeliver, node: p.peer, iface: p.peerIface, from: from, data: out.Data, op: out.Op})
}

// SetLink cuts (up=false) or restores a link. A cut link drops packets
// silently, as a radio link that fades; both ends find out by their radar.
func (s *Sim) SetLink(li int, up bool) { s.links[li].up = up }

// SetLinkLatency changes a link's one-way delay: the ends' radars see
// its cost move, as the RTT of a radio link does with load and noise.
func (s *Sim) SetLinkLatency(li int, d time.Duration) { s.links[li].Latency = d }

// Links is the number of links of the topology.
func (s *Sim) Links() int { return len(s.links) }

// SetLinkCarrier cuts or restores a link with carrier sense: both ends see
// their interface go down or up at once.
func (s *Sim) SetLinkCarrier(li int, up bool) {
	l := &s.links[li]
	l.up = up
	for _, end := range []int{l.A, l.B} {
		sn := s.nodes[end]
		if !sn.alive {
			continue
		}
		for iface, p := range sn.ports {
			if p.link == li {
				if up {
					sn.n.IfaceUp(s.now, iface)
				} else {
					sn.n.IfaceDown(s.now, iface)
				}
			}
		}
		s.after(end)
	}
}

// Kill stops a node: it sends nothing more and its neighbours notice by radar.
func (s *Sim) Kill(i int) {
	sn := s.nodes[i]
	sn.alive = false
	sn.wakeAt = never
}

// Restart starts a killed node afresh (new protocol state) at now.
func (s *Sim) Restart(i int) error {
	if err := s.makeNode(i); err != nil {
		return err
	}
	s.nodes[i].wakeAt = never
	s.push(&event{at: s.now, kind: evStart, node: i})
	return nil
}

// Ports returns, for node i, the peer node behind each interface.
func (s *Sim) Peer(i, iface int) int { return s.nodes[i].ports[iface].peer }

// radarPeer is how a node names the neighbour with simulator index i
// (PeerID 0 is the broadcast address).
func radarPeer(i int) radar.PeerID { return radar.PeerID(i + 1) }
