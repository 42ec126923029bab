// Package radar finds a node's neighbours (rnodes) and measures its links,
// as a state machine with no I/O: the caller feeds it received probes and
// replies with the current time, and sends the probes it asks for.
//
// Probing is adaptive so that failures are found fast while steady-state
// traffic stays small (the C daemon sent a 16-probe burst every 5 s):
//   - stable: one broadcast probe per interface every Interval; every
//     neighbour answers it with a unicast reply;
//   - a neighbour that misses a reply becomes suspect and gets unicast
//     retries every ProbeTimeout; DeadAfter missed retries in a row and it
//     is dead (an event at once: QSPN drops its routes without waiting);
//   - a new neighbour gets a burst of Burst unicast probes, BurstGap apart,
//     so its cost is measured within a fraction of a second.
//
// Link cost (µs-like units; lower is better), documented in docs/RADAR.md:
//
//	cost = (RTT + 1 ms) × sent / answered
//
// RTT is an exponentially weighted mean (1/4 weight to each new sample) of
// the measured round trips; sent/answered is the inverse delivery ratio over
// the last Window probes, so a link that loses half its probes costs twice
// as much, like ETX. The 1 ms term is a per-hop cost that keeps very fast
// links from making long paths look free. A cost change is announced only
// when it moves by more than ChangeRatio, so jitter does not start rounds.
package radar

import (
	"cmp"
	"fmt"
	"math/bits"
	"net/netip"
	"slices"
	"time"
)

// PeerID names a neighbour on an interface; the I/O side chooses it (the
// simulator uses node indexes, the daemon an index of link addresses).
type PeerID uint64

// Broadcast as a destination means the interface's link broadcast.
const Broadcast PeerID = 0

// MaxNeighbours is the number of rnode indexes (one byte, 255 is "none").
const MaxNeighbours = 255

type Config struct {
	Interval     time.Duration // stable probing period per interface
	ProbeTimeout time.Duration // a later reply is a lost probe
	Burst        int           // probes in the measuring burst for a new neighbour
	BurstGap     time.Duration // spacing of burst probes
	DeadAfter    int           // missed retries in a row that kill a neighbour
	Window       int           // probes in the delivery-ratio window (<= 64)
	ChangeRatio  float64       // relative cost change that is announced
	HopCost      time.Duration // per-hop term of the cost
}

// DefaultConfig holds the daemon's defaults.
func DefaultConfig() Config {
	return Config{
		Interval: 5 * time.Second, ProbeTimeout: time.Second, Burst: 16,
		BurstGap: 50 * time.Millisecond, DeadAfter: 3, Window: 16,
		ChangeRatio: 0.3, HopCost: time.Millisecond,
	}
}

func (c Config) Validate() error {
	switch {
	case c.Interval <= 0 || c.ProbeTimeout <= 0 || c.BurstGap <= 0:
		return fmt.Errorf("radar: intervals must be positive")
	case c.ProbeTimeout >= c.Interval:
		return fmt.Errorf("radar: probe timeout %v must be below the interval %v", c.ProbeTimeout, c.Interval)
	case c.Burst < 1 || c.Burst > 64 || c.DeadAfter < 1 || c.Window < 1 || c.Window > 64:
		return fmt.Errorf("radar: burst 1..64, dead_after >= 1, window 1..64")
	case c.ChangeRatio < 0:
		return fmt.Errorf("radar: negative change ratio")
	}
	return nil
}

// State of a neighbour.
type State uint8

const (
	Measuring State = iota // heard, burst running, not yet announced
	Alive
	Suspect // missed a reply, being retried
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
	RTT     time.Duration // smoothed
	Cost    uint32        // announced cost (0 until announced)
	// Penalty multiplies the measured cost by Penalty/1024 (0 means 1.0):
	// the daemon sets it from the wifi driver's figures for the station.
	Penalty uint32

	window    uint64 // last Window probe outcomes, 1 = answered (bit 0 newest)
	filled    int
	since     time.Duration // first heard
	lastOK    time.Duration // send time of the newest answered probe (noAnswer: none yet)
	misses    int           // probes missed in a row, in send order
	nextRetry time.Duration
	burstLeft int
	nextBurst time.Duration
	announced bool
}

// Loss is the fraction of the last probes that got no reply.
func (n *Neighbour) Loss() float64 {
	if n.filled == 0 {
		return 0
	}
	return 1 - float64(bits.OnesCount64(n.window&mask(n.filled)))/float64(n.filled)
}

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

// Probe is an ECHO_ME the caller must send; To is Broadcast or a peer.
type Probe struct {
	Iface int
	To    PeerID
	Burst uint16
	Seq   uint8
}

// noAnswer is Neighbour.lastOK before any probe was answered.
const noAnswer = time.Duration(-1 << 63)

type key struct {
	iface int
	peer  PeerID
}

type outstanding struct {
	iface    int
	to       PeerID
	sentAt   time.Duration
	answered [4]uint64 // rnode indexes that replied
}

type ifaceState struct {
	up        bool
	nextProbe time.Duration
}

// Radar is the per-node radar. Not safe for concurrent use: the node's
// event loop owns it.
type Radar struct {
	cfg     Config
	ifaces  map[int]*ifaceState
	order   []int // interface ids, sorted: Tick visits them in this order
	nbs     map[key]*Neighbour
	byIndex [MaxNeighbours]*Neighbour
	probes  map[uint32]*outstanding // by burst<<8|seq
	counter uint32                  // next probe id (24 bits used)
	events  []Event
	out     []Probe
	expired []uint32 // scratch for Tick
	// wake caches NextWakeup; every call that changes state clears fresh.
	wake  time.Duration
	fresh bool
}

func New(cfg Config) (*Radar, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Radar{cfg: cfg, ifaces: map[int]*ifaceState{}, nbs: map[key]*Neighbour{}, probes: map[uint32]*outstanding{}}, nil
}

// IfaceUp starts probing an interface at now.
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
		st.nextProbe = now
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

// ProbeNow makes every interface probe at the next Tick (used while
// hooking, when the first and second radar scans are wanted at once).
func (r *Radar) ProbeNow(now time.Duration) {
	r.fresh = false
	for _, st := range r.ifaces {
		if st.up {
			st.nextProbe = now
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

// Probes returns the probes to send since the last call and forgets them.
func (r *Radar) Probes() []Probe {
	p := r.out
	r.out = r.out[:0:0]
	return p
}

func (r *Radar) emit(k EventKind, n *Neighbour) { r.events = append(r.events, Event{k, *n}) }

func (r *Radar) sendProbe(now time.Duration, iface int, to PeerID) {
	id := r.counter & 0xFFFFFF
	r.counter++
	r.probes[id] = &outstanding{iface: iface, to: to, sentAt: now}
	r.out = append(r.out, Probe{Iface: iface, To: to, Burst: uint16(id >> 8), Seq: uint8(id)})
}

// heard records that a neighbour exists, from its probe or its reply. It
// returns nil when the neighbour table is full.
func (r *Radar) heard(now time.Duration, iface int, peer PeerID, hooking bool, nonce uint32, addr netip.Addr) *Neighbour {
	if st := r.ifaces[iface]; st == nil || !st.up || peer == Broadcast {
		return nil
	}
	k := key{iface, peer}
	n := r.nbs[k]
	if n == nil {
		idx := -1
		for i, x := range r.byIndex {
			if x == nil {
				idx = i
				break
			}
		}
		if idx < 0 {
			return nil
		}
		n = &Neighbour{Index: uint8(idx), Iface: iface, Peer: peer, State: Measuring, burstLeft: r.cfg.Burst, nextBurst: now, since: now, lastOK: noAnswer}
		r.nbs[k] = n
		r.byIndex[idx] = n
	}
	if n.Addr != addr || n.Hooking != hooking || n.Nonce != nonce {
		n.Addr, n.Hooking, n.Nonce = addr, hooking, nonce
		if n.announced {
			r.emit(AddrChanged, n)
		}
	}
	return n
}

// OnProbe handles an ECHO_ME from a peer. The caller answers it with an
// ECHO_REPLY carrying the same burst and seq (it does so even when the
// table is full: answering costs nothing and keeps the peer's radar sane).
func (r *Radar) OnProbe(now time.Duration, iface int, from PeerID, hooking bool, nonce uint32, addr netip.Addr) {
	r.fresh = false
	r.heard(now, iface, from, hooking, nonce, addr)
}

// OnReply handles an ECHO_REPLY. Replies to unknown or expired probes, or
// from another interface than the probe's, are ignored.
func (r *Radar) OnReply(now time.Duration, iface int, from PeerID, burst uint16, seq uint8, hooking bool, nonce uint32, addr netip.Addr) {
	r.fresh = false
	id := uint32(burst)<<8 | uint32(seq)
	p, ok := r.probes[id]
	if !ok || p.iface != iface || (p.to != Broadcast && p.to != from) || now-p.sentAt > r.cfg.ProbeTimeout {
		return
	}
	n := r.heard(now, iface, from, hooking, nonce, addr)
	if n == nil || p.answered[n.Index>>6]&(1<<(n.Index&63)) != 0 {
		return // table full, or a duplicate reply
	}
	p.answered[n.Index>>6] |= 1 << (n.Index & 63)
	if p.to != Broadcast {
		delete(r.probes, id) // a unicast probe has exactly one answer
	}
	rtt := now - p.sentAt
	if n.lastOK == noAnswer { // the first sample starts the mean, even after losses
		n.RTT = rtt
	} else {
		n.RTT += (rtt - n.RTT) / 4
	}
	n.lastOK = max(n.lastOK, p.sentAt)
	r.record(n, true)
	n.misses = 0
	if n.State == Suspect {
		n.State = Alive
	}
	if n.State == Measuring && (n.burstLeft == 0 || n.filled >= 4) {
		n.State = Alive
	}
	r.reprice(n)
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

// costOf applies the documented formula.
func (r *Radar) costOf(n *Neighbour) uint32 {
	ok := bits.OnesCount64(n.window & mask(n.filled))
	if ok == 0 {
		return ^uint32(0)
	}
	base := (n.RTT + r.cfg.HopCost).Microseconds()
	c := base * int64(n.filled) / int64(ok)
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
// like any cost change. It reports whether the neighbour is known.
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
	r.reprice(n)
	return true
}

// reprice announces the neighbour (Up) once it is measured, and later cost
// changes larger than ChangeRatio.
func (r *Radar) reprice(n *Neighbour) {
	if n.State == Measuring {
		return
	}
	c := r.costOf(n)
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

// Tick sends what is due at now and expires probes that timed out.
func (r *Radar) Tick(now time.Duration) {
	r.fresh = false
	// Expire probes: every neighbour a probe was meant for and that did
	// not answer it has missed one. Oldest first, and interfaces in id
	// order below, so that the same inputs give the same probes and events
	// (the simulator is deterministic from its seed).
	r.expired = r.expired[:0]
	for id, p := range r.probes {
		if now-p.sentAt >= r.cfg.ProbeTimeout {
			r.expired = append(r.expired, id)
		}
	}
	slices.SortFunc(r.expired, func(a, b uint32) int {
		return cmp.Or(cmp.Compare(r.probes[a].sentAt, r.probes[b].sentAt), cmp.Compare(a, b))
	})
	for _, id := range r.expired {
		p := r.probes[id]
		delete(r.probes, id)
		for _, n := range r.byIndex {
			if n == nil || n.Iface != p.iface || (p.to != Broadcast && p.to != n.Peer) || n.since > p.sentAt {
				continue
			}
			if p.answered[n.Index>>6]&(1<<(n.Index&63)) == 0 {
				r.miss(now, n, p.sentAt)
			}
		}
	}
	for _, iface := range r.order {
		if st := r.ifaces[iface]; st.up && now >= st.nextProbe {
			r.sendProbe(now, iface, Broadcast)
			st.nextProbe = now + r.cfg.Interval
		}
	}
	for _, n := range r.byIndex {
		if n == nil {
			continue
		}
		if n.burstLeft > 0 && now >= n.nextBurst {
			r.sendProbe(now, n.Iface, n.Peer)
			n.burstLeft--
			n.nextBurst = now + r.cfg.BurstGap
		}
		if n.State == Suspect && now >= n.nextRetry {
			r.sendProbe(now, n.Iface, n.Peer)
			n.nextRetry = now + r.cfg.ProbeTimeout
		}
	}
}

// miss records a lost probe sent at sentAt: an alive neighbour becomes
// suspect and is retried; DeadAfter misses in a row remove it. "In a row"
// is in send order: a lost probe older than one the neighbour answered
// (replies come back within RTT, losses are only known after ProbeTimeout)
// counts against the delivery ratio but is no sign of death.
func (r *Radar) miss(now time.Duration, n *Neighbour, sentAt time.Duration) {
	r.record(n, false)
	if n.lastOK != noAnswer && n.lastOK >= sentAt {
		r.reprice(n)
		return
	}
	n.misses++
	if n.misses > r.cfg.DeadAfter || (n.State == Measuring && n.burstLeft == 0 && n.misses >= r.cfg.DeadAfter) {
		r.remove(n)
		return
	}
	if n.State == Alive {
		n.State = Suspect
		n.nextRetry = now
	}
	r.reprice(n)
}

// NextWakeup is when Tick has something to do.
func (r *Radar) NextWakeup() time.Duration {
	if r.fresh {
		return r.wake
	}
	next := time.Duration(1<<63 - 1)
	for _, st := range r.ifaces {
		if st.up {
			next = min(next, st.nextProbe)
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
		if n.State == Suspect {
			next = min(next, n.nextRetry)
		}
	}
	r.wake, r.fresh = next, true
	return next
}
