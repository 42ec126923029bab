// Package radar finds a node's neighbours (rnodes) and measures its links,
// as a state machine with no I/O: the caller feeds it received hellos,
// probes and replies with the current time, and sends the packets it asks
// for. docs/RADAR.md documents the design and its measured figures.
//
// Steady-state traffic is one broadcast hello per interface every Interval,
// which neighbours do not answer, like babeld's hello/IHU:
//   - each hello is numbered, so a receiver counts the hellos it missed
//     (delivery ratio in), and it lists, per neighbour, how many of that
//     neighbour's last 16 hellos the sender heard (an IHU: the delivery
//     ratio out, as the other side measured it);
//   - a neighbour whose next hello is overdue by ProbeTimeout, or whose hello
//     says it no longer hears ours, is suspect and gets unicast probes every
//     ProbeTimeout, which are answered; DeadAfter unanswered ones in a row
//     and it is dead (an event at once: QSPN drops its routes without
//     waiting);
//   - a new neighbour gets a burst of Burst unicast probes, BurstGap apart,
//     so its cost is known within a fraction of a second; later RTT samples
//     come from a hello that asks for replies, every RefreshEvery intervals.
//
// Link cost (µs-like units; lower is better):
//
//	cost = (RTT + HopCost) × ETX,  ETX = 1 / (d_in × d_out)
//
// RTT is an exponentially weighted mean (1/4 weight to each new sample) of
// the measured round trips; d_in and d_out are the delivery ratios of the
// last 16 hellos each way, so a link that loses half its packets one way
// costs twice as much. A cost change is announced only when it moves by more
// than ChangeRatio, so jitter does not start rounds.
package radar

import (
	"cmp"
	"fmt"
	"math/bits"
	"net/netip"
	"slices"
	"sort"
	"time"
)

// PeerID names a neighbour on an interface; the I/O side chooses it (the
// simulator uses node indexes, the daemon an index of link addresses).
type PeerID uint64

// Broadcast as a destination means the interface's link broadcast.
const Broadcast PeerID = 0

// MaxNeighbours is the number of rnode indexes (one byte, 255 is "none").
const MaxNeighbours = 255

const (
	// HelloWindow is the number of a neighbour's hellos its delivery ratio
	// covers, and the scale of an IHU count.
	HelloWindow = 16
	// MaxIHU bounds the IHU list of one hello (wire.MaxIHU); a node with
	// more neighbours on a link reports them in turns.
	MaxIHU = 32
	// MaxInterval is the longest interval the hello's 16-bit field (units
	// of 10 ms) carries.
	MaxInterval = 65535 * 10 * time.Millisecond
)

type Config struct {
	Interval     time.Duration // hello period per interface
	ProbeTimeout time.Duration // a later reply is a lost probe; retry period; hello lateness allowed
	Burst        int           // probes in the measuring burst for a new neighbour
	BurstGap     time.Duration // spacing of burst probes
	DeadAfter    int           // unanswered probes in a row that kill a suspect neighbour
	Window       int           // probe outcomes kept (<= 64): a new link's loss until hellos tell
	RefreshEvery int           // a hello asks for replies once a neighbour's RTT is this many intervals old
	ChangeRatio  float64       // relative cost change that is announced
	HopCost      time.Duration // per-hop term of the cost
	// VirtualCost is added to the RTT of links over virtual interfaces
	// (tunnels, SetVirtual): a path over physical links wins while one
	// exists, and a route cheaper than VirtualCost crosses no tunnel.
	VirtualCost time.Duration
	// Neighbours bounds the neighbour table, 1..MaxNeighbours (0: the
	// most): a station heard beyond it is not measured.
	Neighbours int
}

// DefaultConfig holds the daemon's defaults (justified in docs/RADAR.md).
func DefaultConfig() Config {
	return Config{
		Interval: 5 * time.Second, ProbeTimeout: 500 * time.Millisecond, Burst: 16,
		BurstGap: 50 * time.Millisecond, DeadAfter: 3, Window: 16, RefreshEvery: 6,
		ChangeRatio: 0.3, HopCost: time.Millisecond, VirtualCost: time.Second,
	}
}

func (c Config) Validate() error {
	switch {
	case c.Interval <= 0 || c.ProbeTimeout <= 0 || c.BurstGap <= 0:
		return fmt.Errorf("radar: intervals must be positive")
	case c.ProbeTimeout >= c.Interval:
		return fmt.Errorf("radar: probe timeout %v must be below the interval %v", c.ProbeTimeout, c.Interval)
	case c.Interval > MaxInterval:
		return fmt.Errorf("radar: interval %v above the %v a hello can announce", c.Interval, MaxInterval)
	case c.Burst < 1 || c.Burst > 64 || c.DeadAfter < 1 || c.Window < 1 || c.Window > 64:
		return fmt.Errorf("radar: burst 1..64, dead_after >= 1, window 1..64")
	case c.Neighbours < 0 || c.Neighbours > MaxNeighbours:
		return fmt.Errorf("radar: neighbours %d, want 0..%d", c.Neighbours, MaxNeighbours)
	case c.RefreshEvery < 1:
		return fmt.Errorf("radar: refresh every %d intervals, want >= 1", c.RefreshEvery)
	case c.ChangeRatio < 0:
		return fmt.Errorf("radar: negative change ratio")
	case c.VirtualCost < 0 || c.VirtualCost > time.Hour:
		return fmt.Errorf("radar: virtual link cost %v, want 0..1h", c.VirtualCost)
	}
	return nil
}

// State of a neighbour.
type State uint8

const (
	Measuring State = iota // heard, not yet announced (burst running, or it never answered)
	Alive
	Suspect // overdue or deaf to us: being probed
)

func (s State) String() string {
	return [...]string{"measuring", "alive", "suspect"}[s]
}

// Neighbour is what the radar knows of one rnode.
type Neighbour struct {
	Index   uint8 // rnode index: the gateway id in the maps
	Iface   int
	Peer    PeerID
	State   State
	Addr    netip.Addr // as the neighbour announces it; invalid while it hooks
	Hooking bool
	Nonce   uint32
	// TopNonce is the nonce of its top-level gnode, from its last echo (0
	// while it hooks): a neighbour inside our top-level gnode by its
	// address but with another nonce belongs to another network that holds
	// the same ids.
	TopNonce uint32
	RTT      time.Duration // smoothed
	Cost     uint32        // announced cost (0 until announced)
	// Penalty multiplies the measured cost by Penalty/1024 (0 means 1.0):
	// the daemon sets it from the wifi driver's figures for the station.
	Penalty uint32
	// DeliveryIn is the share of its hellos we hear, DeliveryOut the share
	// of ours it says it hears, as the last cost computation saw them.
	DeliveryIn, DeliveryOut float64
	// Interval is the hello interval it announces (0 before its first hello).
	Interval time.Duration

	since     time.Duration // first heard
	lastHeard time.Duration // newest packet from it, of any kind

	// Outcomes of our probes to it (burst, retries, hellos asking for
	// replies): until its hellos fill the hello window they stand in for
	// the delivery ratio.
	window     uint64 // bit 0 newest, 1 = answered
	filled     int
	lastOK     time.Duration // send time of the newest answered probe (noAnswer: none yet)
	lastSample time.Duration // arrival of the newest RTT sample
	pending    int           // unicast probes to it still outstanding
	burstLeft  int
	nextBurst  time.Duration

	suspectSince time.Duration
	misses       int // probes sent since suspectSince that went unanswered, in a row
	nextRetry    time.Duration

	// oneWay: its burst got no answer at all although we hear it. It gets
	// no new burst until its hellos show it hears us, and then at most once
	// per holdFor (doubling).
	oneWay    bool
	holdUntil time.Duration
	holdFor   time.Duration

	helloSeq   uint32        // newest hello sequence number heard
	helloWin   uint16        // bit i: hello helloSeq-i heard
	helloKnown int           // slots of helloWin that are known (0..16)
	helloAt    time.Duration // arrival of hello helloSeq (when first heard, before any)
	hearsUs    int           // its last IHU count for us, 0..16; -1 none yet

	announced bool
}

// Loss is the round-trip loss the cost assumes: 1 − d_in × d_out.
func (n *Neighbour) Loss() float64 { return 1 - n.DeliveryIn*n.DeliveryOut }

func mask(k int) uint64 {
	if k >= 64 {
		return ^uint64(0)
	}
	return 1<<k - 1
}

// EventKind says what changed.
type EventKind uint8

const (
	Up EventKind = iota + 1
	Down
	CostChanged
	AddrChanged // the neighbour's address or hooking state changed
)

func (k EventKind) String() string {
	return [...]string{"", "up", "down", "cost", "addr"}[k]
}

type Event struct {
	Kind EventKind
	N    Neighbour // a copy, taken when the event happened
}

// IHU is one entry of a hello's list: how many of the neighbour's last 16
// hellos we heard (those from before we knew it count as heard).
type IHU struct {
	Nonce uint32
	Heard uint8
}

// Probe is an ECHO_ME the caller must send; To is Broadcast or a peer.
type Probe struct {
	Iface int
	To    PeerID
	Burst uint16
	Seq   uint8
	// Hello marks the periodic broadcast: Burst<<8|Seq is the interface's
	// hello sequence number, Interval our hello period and IHU what we hear
	// of each neighbour. ReplyWanted asks receivers to answer it. Anything
	// else is a unicast probe, which is always answered.
	Hello       bool
	ReplyWanted bool
	Interval    time.Duration
	IHU         []IHU
}

// Echo is what the radar reads from a received ECHO_ME or ECHO_REPLY.
type Echo struct {
	Reply bool // ECHO_REPLY
	// Hello: on an ECHO_ME, the sender's hello; on a reply, an answer to
	// one of our hellos (Burst/Seq is then our hello sequence number).
	Hello   bool
	Burst   uint16
	Seq     uint8
	Hooking bool
	Nonce   uint32
	// TopNonce is the nonce of the sender's top-level gnode (0 while it
	// hooks).
	TopNonce uint32
	Addr     netip.Addr
	// A hello's announced interval, and what it says of us: HearsUs of our
	// last 16 hellos heard, when HearsUsKnown (its list names us, or is
	// short enough to name every neighbour it has and does not name us: 0).
	Interval     time.Duration
	HearsUs      uint8
	HearsUsKnown bool
}

// noAnswer is Neighbour.lastOK before any probe was answered.
const noAnswer = time.Duration(-1 << 63)

type key struct {
	iface int
	peer  PeerID
}

// probeKey names an outstanding probe: unicast probe ids are one counter
// for the node, hello sequence numbers one per interface.
type probeKey struct {
	iface int
	hello bool
	id    uint32
}

type outstanding struct {
	to       PeerID
	sentAt   time.Duration
	answered [4]uint64 // rnode indexes that replied
}

type ifaceState struct {
	up        bool
	nextHello time.Duration
	onDemand  bool   // the next hello was asked for (IfaceUp, ProbeNow): it wants replies
	helloSeq  uint32 // next hello sequence number (24 bits used)
	ihuNext   int    // rnode index the next IHU list starts from, when it rotates
}

// Radar is the per-node radar. Not safe for concurrent use: the node's
// event loop owns it.
type Radar struct {
	cfg     Config
	ifaces  map[int]*ifaceState
	order   []int // interface ids, sorted: Tick visits them in this order
	nbs     map[key]*Neighbour
	virtual map[int]bool // interfaces that are tunnels (SetVirtual)
	byIndex [MaxNeighbours]*Neighbour
	probes  map[probeKey]*outstanding
	counter uint32 // next unicast probe id (24 bits used)
	events  []Event
	out     []Probe
	expired []probeKey   // scratch for Tick
	onLink  []*Neighbour // scratch for the IHU list
	// wake caches NextWakeup; every call that changes state clears fresh.
	wake  time.Duration
	fresh bool
}

func New(cfg Config) (*Radar, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Radar{cfg: cfg, ifaces: map[int]*ifaceState{}, nbs: map[key]*Neighbour{}, probes: map[probeKey]*outstanding{}}, nil
}

// IfaceUp starts using an interface at now: a hello that asks for replies
// goes out at once, so the neighbours are known within a round trip.
func (r *Radar) IfaceUp(now time.Duration, iface int) {
	r.fresh = false
	st := r.ifaces[iface]
	if st == nil {
		st = &ifaceState{}
		r.ifaces[iface] = st
		i, _ := slices.BinarySearch(r.order, iface)
		r.order = slices.Insert(r.order, i, iface)
	}
	if !st.up {
		st.up = true
		st.nextHello, st.onDemand = now, true
	}
}

// SetVirtual marks an interface as a tunnel, whose links cost
// Config.VirtualCost more. Set it before the interface's neighbours are
// measured: costs already announced change only as they are re-measured.
func (r *Radar) SetVirtual(iface int, on bool) {
	if on {
		if r.virtual == nil {
			r.virtual = map[int]bool{}
		}
		r.virtual[iface] = true
	} else {
		delete(r.virtual, iface)
	}
}

// IfaceDown kills every neighbour of the interface at once: carrier loss
// needs no timeout.
func (r *Radar) IfaceDown(iface int) {
	r.fresh = false
	if st := r.ifaces[iface]; st != nil {
		st.up = false
	}
	for _, n := range r.byIndex { // in index order: deterministic events
		if n != nil && n.Iface == iface {
			r.remove(n)
		}
	}
}

// ProbeNow makes every interface send a hello that asks for replies at the
// next Tick (the hook's first and second radar scans, and a lower hooking
// nonce to pass on); the hello schedule restarts from there.
func (r *Radar) ProbeNow(now time.Duration) {
	r.fresh = false
	for _, st := range r.ifaces {
		if st.up {
			st.nextHello, st.onDemand = now, true
		}
	}
}

// Neighbours returns the neighbours in rnode-index order.
func (r *Radar) Neighbours() []*Neighbour {
	var out []*Neighbour
	for _, n := range r.byIndex {
		if n != nil {
			out = append(out, n)
		}
	}
	return out
}

// ByIndex returns the neighbour with rnode index i.
func (r *Radar) ByIndex(i uint8) *Neighbour {
	if int(i) >= MaxNeighbours {
		return nil
	}
	return r.byIndex[i]
}

// Lookup returns the neighbour behind a peer of an interface.
func (r *Radar) Lookup(iface int, peer PeerID) *Neighbour { return r.nbs[key{iface, peer}] }

// Events returns what happened since the last call and forgets it.
func (r *Radar) Events() []Event {
	ev := r.events
	r.events = nil
	return ev
}

// Probes returns the packets to send since the last call and forgets them.
func (r *Radar) Probes() []Probe {
	p := r.out
	r.out = r.out[:0:0]
	return p
}

func (r *Radar) emit(k EventKind, n *Neighbour) { r.events = append(r.events, Event{k, *n}) }

// sendProbe sends a unicast probe to a neighbour.
func (r *Radar) sendProbe(now time.Duration, n *Neighbour) {
	id := r.counter & 0xFFFFFF
	r.counter++
	r.probes[probeKey{n.Iface, false, id}] = &outstanding{to: n.Peer, sentAt: now}
	n.pending++
	r.out = append(r.out, Probe{Iface: n.Iface, To: n.Peer, Burst: uint16(id >> 8), Seq: uint8(id)})
}

func (r *Radar) sendHello(now time.Duration, iface int, st *ifaceState) {
	id := st.helloSeq & 0xFFFFFF
	st.helloSeq++
	want := st.onDemand || r.refreshDue(now, iface)
	st.onDemand = false
	if want {
		r.probes[probeKey{iface, true, id}] = &outstanding{to: Broadcast, sentAt: now}
	}
	r.out = append(r.out, Probe{Iface: iface, To: Broadcast, Burst: uint16(id >> 8), Seq: uint8(id),
		Hello: true, ReplyWanted: want, Interval: r.cfg.Interval, IHU: r.ihu(now, iface, st)})
}

// refreshDue says whether some announced neighbour of the interface has an
// RTT sample RefreshEvery intervals old. Half an interval of slack, because
// a sample arrives a round trip after the hello that asked for it.
func (r *Radar) refreshDue(now time.Duration, iface int) bool {
	age := time.Duration(r.cfg.RefreshEvery)*r.cfg.Interval - r.cfg.Interval/2
	for _, n := range r.byIndex {
		if n != nil && n.Iface == iface && n.announced && now-n.lastSample >= age {
			return true
		}
	}
	return false
}

// ihu lists what we hear of the interface's neighbours: all of them, or
// MaxIHU of them in turns, in rnode-index order.
func (r *Radar) ihu(now time.Duration, iface int, st *ifaceState) []IHU {
	on := r.onLink[:0]
	for _, n := range r.byIndex {
		if n != nil && n.Iface == iface {
			on = append(on, n)
		}
	}
	r.onLink = on[:0]
	if len(on) > MaxIHU {
		first := slices.IndexFunc(on, func(n *Neighbour) bool { return int(n.Index) >= st.ihuNext })
		if first < 0 {
			first = 0
		}
		on = append(on[first:], on[:first]...)[:MaxIHU]
		st.ihuNext = int(on[MaxIHU-1].Index) + 1
	}
	if len(on) == 0 {
		return nil
	}
	out := make([]IHU, len(on))
	for i, n := range on {
		heard, known := r.helloCounts(n, now)
		out[i] = IHU{Nonce: n.Nonce, Heard: uint8(heard + HelloWindow - known)}
	}
	return out
}

// peerInterval is the neighbour's hello period: announced, or ours.
func (r *Radar) peerInterval(n *Neighbour) time.Duration {
	if n.Interval > 0 {
		return n.Interval
	}
	return r.cfg.Interval
}

// deadline is when the neighbour's next hello is overdue.
func (r *Radar) deadline(n *Neighbour) time.Duration {
	return n.lastHeard + r.peerInterval(n) + r.cfg.ProbeTimeout
}

// helloCounts returns how many of the neighbour's last HelloWindow hellos
// we heard, and how many of those slots we know about. Hellos overdue by
// more than ProbeTimeout since the newest one count as missed already.
func (r *Radar) helloCounts(n *Neighbour, now time.Duration) (heard, known int) {
	win, known := uint32(n.helloWin), n.helloKnown
	if late := now - n.helloAt - r.cfg.ProbeTimeout; late > 0 {
		k := int(min(late/r.peerInterval(n), HelloWindow))
		win <<= k
		known = min(known+k, HelloWindow)
	}
	return bits.OnesCount32(win & (1<<known - 1)), known
}

// helloHeard records hello number seq (24 bits, wrapping).
func (n *Neighbour) helloHeard(now time.Duration, seq uint32) {
	if n.helloKnown == 0 {
		n.helloSeq, n.helloWin, n.helloKnown, n.helloAt = seq, 1, 1, now
		return
	}
	d := (seq - n.helloSeq) & 0xFFFFFF
	switch back := 1<<24 - d; {
	case d == 0: // a duplicate
	case d < 1<<23: // newer: the gap is hellos we missed
		n.helloWin = uint16(uint32(n.helloWin)<<min(d, 16)) | 1
		n.helloKnown = min(n.helloKnown+int(min(d, 16)), HelloWindow)
		n.helloSeq, n.helloAt = seq, now
	case back < HelloWindow: // late, overtaken by a newer one
		n.helloWin |= 1 << back
	default: // its counter started again
		n.helloSeq, n.helloWin, n.helloKnown, n.helloAt = seq, 1, 1, now
	}
}

// heard records that a neighbour exists and is sending, from any ECHO. It
// returns nil when the neighbour table is full.
func (r *Radar) heard(now time.Duration, iface int, peer PeerID, e *Echo) *Neighbour {
	if st := r.ifaces[iface]; st == nil || !st.up || peer == Broadcast {
		return nil
	}
	k := key{iface, peer}
	n := r.nbs[k]
	if n == nil {
		idx := slices.Index(r.byIndex[:], nil)
		if idx < 0 || (r.cfg.Neighbours > 0 && len(r.nbs) >= r.cfg.Neighbours) {
			return nil
		}
		n = &Neighbour{Index: uint8(idx), Iface: iface, Peer: peer, State: Measuring, Addr: e.Addr, Hooking: e.Hooking, Nonce: e.Nonce,
			DeliveryIn: 1, DeliveryOut: 1, burstLeft: r.cfg.Burst, nextBurst: now, since: now, helloAt: now, lastOK: noAnswer, hearsUs: -1, holdFor: r.cfg.Interval}
		r.nbs[k] = n
		r.byIndex[idx] = n
	}
	n.lastHeard = now
	if n.Nonce != e.Nonce {
		// Another identity behind the same peer (it re-hooked or
		// restarted): its hello counter and its view of us start again.
		n.helloKnown, n.helloAt, n.hearsUs = 0, now, -1
	}
	n.TopNonce = e.TopNonce
	if n.Addr != e.Addr || n.Hooking != e.Hooking || n.Nonce != e.Nonce {
		n.Addr, n.Hooking, n.Nonce = e.Addr, e.Hooking, e.Nonce
		if n.announced {
			r.emit(AddrChanged, n)
		}
	}
	return n
}

// OnEcho handles an ECHO_ME (hello or unicast probe) or an ECHO_REPLY from
// a peer. Answering is the caller's business: it answers every ECHO_ME
// that is not a hello, and hellos that ask for it, even when the radar
// ignores them (a full table). Replies to unknown or expired probes, or
// from another interface or peer than the probe's, are ignored.
func (r *Radar) OnEcho(now time.Duration, iface int, from PeerID, e Echo) {
	r.fresh = false
	if e.Reply {
		r.onReply(now, iface, from, &e)
		return
	}
	n := r.heard(now, iface, from, &e)
	if n == nil {
		return
	}
	if !e.Hello {
		// A unicast probe: it has us in its table, so it hears us.
		r.retryOneWay(now, n)
		return
	}
	n.helloHeard(now, uint32(e.Burst)<<8|uint32(e.Seq))
	if e.Interval > 0 {
		n.Interval = min(e.Interval, MaxInterval)
	}
	// Before it is announced, "not listed" mostly means "has not heard of
	// us yet" (its hello crossed our first packets): only a count counts.
	if e.HearsUsKnown && (e.HearsUs > 0 || n.announced) {
		n.hearsUs = int(min(e.HearsUs, HelloWindow))
		switch {
		case n.hearsUs == 0 && n.State == Alive:
			// It hears none of our hellos: only probes tell whether it
			// can still hear us at all.
			r.suspect(now, n)
		case n.hearsUs > 0:
			r.retryOneWay(now, n)
		}
	}
	r.reprice(now, n)
}

// retryOneWay measures again a neighbour whose burst got no answer, now
// that it shows it hears us, unless its hold-down runs.
func (r *Radar) retryOneWay(now time.Duration, n *Neighbour) {
	if n.oneWay && now >= n.holdUntil {
		n.oneWay = false
		n.burstLeft, n.nextBurst = r.cfg.Burst, now
	}
}

func (r *Radar) onReply(now time.Duration, iface int, from PeerID, e *Echo) {
	k := probeKey{iface, e.Hello, uint32(e.Burst)<<8 | uint32(e.Seq)}
	p, ok := r.probes[k]
	if !ok || (p.to != Broadcast && p.to != from) || now-p.sentAt > r.cfg.ProbeTimeout {
		return
	}
	if n := r.nbs[key{iface, from}]; n != nil && p.answered[n.Index>>6]&(1<<(n.Index&63)) != 0 {
		return // a duplicate: no trace, not even as a sign of life
	}
	n := r.heard(now, iface, from, e)
	if n == nil {
		return // table full
	}
	p.answered[n.Index>>6] |= 1 << (n.Index & 63)
	if p.to != Broadcast {
		delete(r.probes, k) // a unicast probe has exactly one answer
		if n.since <= p.sentAt {
			n.pending--
		}
	}
	rtt := now - p.sentAt
	if n.lastOK == noAnswer { // the first sample starts the mean, even after losses
		n.RTT = rtt
	} else {
		n.RTT += (rtt - n.RTT) / 4
	}
	n.lastOK = max(n.lastOK, p.sentAt)
	n.lastSample = now
	r.record(n, true)
	n.misses = 0
	n.oneWay, n.holdFor = false, r.cfg.Interval
	switch {
	case n.State == Suspect:
		n.State = Alive
	case n.State == Measuring && (n.burstLeft == 0 || n.filled >= 4):
		n.State = Alive
	}
	r.reprice(now, n)
}

func (r *Radar) record(n *Neighbour, ok bool) {
	n.window <<= 1
	if ok {
		n.window |= 1
	}
	if n.filled < r.cfg.Window {
		n.filled++
	}
}

// costOf applies the documented formula:
//
//	(RTT + HopCost) [µs] × 1/(d_in × d_out) × Penalty/1024
//
// d_in is the share of the neighbour's last 16 hellos we heard; slots not
// known yet (a new neighbour) count at the delivery ratio of our probes to
// it. d_out is its latest IHU count for us over 16 (1 until it sent one).
// Each is taken as at least 1/16, so ETX <= 256.
func (r *Radar) costOf(now time.Duration, n *Neighbour) uint32 {
	heard, known := r.helloCounts(n, now)
	a, s := int64(bits.OnesCount64(n.window&mask(n.filled))), int64(n.filled)
	if s == 0 {
		a, s = 1, 1
	}
	in := max(int64(heard)*s+int64(HelloWindow-known)*a, s) // d_in × 16s
	out := int64(HelloWindow)                               // d_out × 16
	if n.hearsUs >= 0 {
		out = max(int64(n.hearsUs), 1)
	}
	n.DeliveryIn = float64(in) / float64(HelloWindow*s)
	n.DeliveryOut = float64(out) / HelloWindow
	base := (n.RTT + r.cfg.HopCost).Microseconds()
	if r.virtual[n.Iface] {
		base += r.cfg.VirtualCost.Microseconds()
	}
	c := base * HelloWindow * HelloWindow * s / (in * out)
	if n.Penalty > 0 {
		c = c * int64(n.Penalty) / 1024
	}
	switch {
	case c < 1:
		return 1
	case c > 1<<30:
		return 1 << 30
	}
	return uint32(c)
}

// SetPenalty sets the cost multiplier of a neighbour's link (1.0 = none,
// clamped to 1..64) from figures the radar cannot see itself, such as the
// wifi driver's bitrate and retries; a change large enough is announced
// like any cost change. It reports whether the neighbour is known. The
// cost is recomputed as of the neighbour's newest packet.
func (r *Radar) SetPenalty(iface int, peer PeerID, mult float64) bool {
	n := r.nbs[key{iface, peer}]
	if n == nil {
		return false
	}
	switch {
	case !(mult > 1): // also NaN
		mult = 1
	case mult > 64:
		mult = 64
	}
	n.Penalty = uint32(mult*1024 + 0.5)
	r.reprice(n.lastHeard, n)
	return true
}

// reprice announces the neighbour (Up) once it is measured, and later cost
// changes larger than ChangeRatio.
func (r *Radar) reprice(now time.Duration, n *Neighbour) {
	if n.State == Measuring {
		return
	}
	c := r.costOf(now, n)
	if !n.announced {
		n.Cost, n.announced = c, true
		r.emit(Up, n)
		return
	}
	diff := float64(c) - float64(n.Cost)
	if diff < 0 {
		diff = -diff
	}
	if diff > r.cfg.ChangeRatio*float64(n.Cost) {
		n.Cost = c
		r.emit(CostChanged, n)
	}
}

func (r *Radar) remove(n *Neighbour) {
	delete(r.nbs, key{n.Iface, n.Peer})
	r.byIndex[n.Index] = nil
	if n.announced {
		r.emit(Down, n)
	}
}

// suspect starts probing an alive neighbour.
func (r *Radar) suspect(now time.Duration, n *Neighbour) {
	n.State = Suspect
	n.suspectSince, n.nextRetry, n.misses = now, now, 0
	r.reprice(now, n)
}

// Tick sends what is due at now and expires probes that timed out.
func (r *Radar) Tick(now time.Duration) {
	r.fresh = false
	// Expire probes, oldest first, and visit interfaces and neighbours in
	// id order below, so that the same inputs give the same probes and
	// events (the simulator is deterministic from its seed).
	r.expired = r.expired[:0]
	for k, p := range r.probes {
		if now-p.sentAt >= r.cfg.ProbeTimeout {
			r.expired = append(r.expired, k)
		}
	}
	// sort.Slice shares its code with the rest of the program (slices.SortFunc
	// would add ~8 KB for this type); the length check keeps the common case
	// of no expired probe free of its reflection.
	if len(r.expired) > 1 {
		sort.Slice(r.expired, func(i, j int) bool {
			a, b := r.expired[i], r.expired[j]
			pa, pb := r.probes[a], r.probes[b]
			return cmp.Or(cmp.Compare(pa.sentAt, pb.sentAt), cmp.Compare(a.iface, b.iface), cmp.Compare(a.id, b.id), boolCmp(a.hello, b.hello)) < 0
		})
	}
	for _, k := range r.expired {
		p := r.probes[k]
		delete(r.probes, k)
		if p.to != Broadcast { // unicast probes leave r.probes when answered
			if n := r.nbs[key{k.iface, p.to}]; n != nil && n.since <= p.sentAt {
				r.miss(now, n, p.sentAt)
			}
			continue
		}
		// A hello that asked for replies: an outcome for every neighbour
		// known when it left, no sign of death (hellos tell that).
		for _, n := range r.byIndex {
			if n != nil && n.Iface == k.iface && n.since <= p.sentAt && p.answered[n.Index>>6]&(1<<(n.Index&63)) == 0 {
				r.record(n, false)
				r.reprice(now, n)
			}
		}
	}
	for _, iface := range r.order {
		if st := r.ifaces[iface]; st.up && now >= st.nextHello {
			r.sendHello(now, iface, st)
			st.nextHello = now + r.cfg.Interval
		}
	}
	for _, n := range r.byIndex {
		if n == nil {
			continue
		}
		if n.burstLeft > 0 && now >= n.nextBurst {
			r.sendProbe(now, n)
			n.burstLeft--
			n.nextBurst = now + r.cfg.BurstGap
		}
		if now >= r.deadline(n) {
			switch {
			case n.State == Alive:
				r.suspect(now, n)
			case !n.announced && n.burstLeft == 0 && n.pending == 0:
				r.remove(n) // never announced and gone quiet: forget it
				continue
			}
		}
		if n.State == Suspect && now >= n.nextRetry {
			r.sendProbe(now, n)
			n.nextRetry = now + r.cfg.ProbeTimeout
		}
	}
}

func boolCmp(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// miss records a unicast probe sent at sentAt that got no answer. A
// suspect neighbour dies after DeadAfter of those sent since it became
// suspect, in a row in send order: a lost probe older than one it answered
// (replies come back within RTT, losses are only known after ProbeTimeout)
// is no sign of death. The end of a burst announces a neighbour that
// answered some of it, and marks one that answered none as one-way.
func (r *Radar) miss(now time.Duration, n *Neighbour, sentAt time.Duration) {
	n.pending--
	r.record(n, false)
	if n.State == Suspect && sentAt >= n.suspectSince && (n.lastOK == noAnswer || n.lastOK < sentAt) {
		n.misses++
		if n.misses >= r.cfg.DeadAfter {
			r.remove(n)
			return
		}
	}
	if n.State == Measuring && n.burstLeft == 0 && n.pending == 0 {
		if n.window&mask(n.filled) != 0 {
			n.State = Alive
		} else {
			n.oneWay = true
			n.holdUntil = now + n.holdFor
			n.holdFor = min(2*n.holdFor, 16*r.cfg.Interval)
		}
	}
	r.reprice(now, n)
}

// NextWakeup is when Tick has something to do.
func (r *Radar) NextWakeup() time.Duration {
	if r.fresh {
		return r.wake
	}
	next := time.Duration(1<<63 - 1)
	for _, st := range r.ifaces {
		if st.up {
			next = min(next, st.nextHello)
		}
	}
	for _, p := range r.probes {
		next = min(next, p.sentAt+r.cfg.ProbeTimeout)
	}
	for _, n := range r.byIndex {
		if n == nil {
			continue
		}
		if n.burstLeft > 0 {
			next = min(next, n.nextBurst)
		}
		switch {
		case n.State == Suspect:
			next = min(next, n.nextRetry)
		case n.State == Alive, !n.announced && n.burstLeft == 0 && n.pending == 0:
			next = min(next, r.deadline(n))
		}
	}
	r.wake, r.fresh = next, true
	return next
}
