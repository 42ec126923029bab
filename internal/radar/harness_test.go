package radar

import (
	"github.com/ntkd/ntkd/internal/wire"
	"net/netip"
	"sort"
	"testing"
	"time"
)

// This file holds the test harnesses: a virtual clock (plain
// time.Duration values), a fake "other side" that answers probes with
// chosen delays and losses, a two-or-more-radar network, and the invariant
// checks every harness runs after each step.

const ms = time.Millisecond

// Wire sizes of the radar packets (docs/PROTOCOL.md §6.2), taken from the
// encoder so that they follow the format, plus the IP and UDP headers.
var (
	echoIPv4Frame = echoSize(netip.MustParseAddr("10.1.2.3")) + 28
	echoIPv6Frame = echoSize(netip.MustParseAddr("fd00::1")) + 48
)

func echoSize(a netip.Addr) int {
	b, err := wire.Encode(1, &wire.Echo{Kind: wire.OpEchoReply, Addr: a})
	if err != nil {
		panic(err)
	}
	return len(b)
}

// ---- invariants shared by every harness ----

// tracker follows the events a radar emits and checks that they tell a
// consistent story: no event for a neighbour that was never Up except Up
// itself, no double Up, Down only for what is up.
type tracker struct {
	t  testing.TB
	up map[uint8]key
}

func newTracker(t testing.TB) *tracker { return &tracker{t: t, up: map[uint8]key{}} }

func (tr *tracker) observe(evs []Event) {
	tr.t.Helper()
	for _, e := range evs {
		k := key{e.N.Iface, e.N.Peer}
		got, isUp := tr.up[e.N.Index]
		switch e.Kind {
		case Up:
			if isUp {
				tr.t.Fatalf("Up for rnode %d (%v) that is already up as %v", e.N.Index, k, got)
			}
			if e.N.State == Measuring || e.N.Cost == 0 {
				tr.t.Fatalf("Up with state %v cost %d", e.N.State, e.N.Cost)
			}
			tr.up[e.N.Index] = k
		case Down:
			if !isUp || got != k {
				tr.t.Fatalf("Down for rnode %d %v that is not up (up: %v %v)", e.N.Index, k, isUp, got)
			}
			delete(tr.up, e.N.Index)
		case CostChanged, AddrChanged:
			if !isUp || got != k {
				tr.t.Fatalf("%v for rnode %d %v that was never up", e.Kind, e.N.Index, k)
			}
			if e.N.Cost == 0 {
				tr.t.Fatalf("%v with cost 0", e.Kind)
			}
		default:
			tr.t.Fatalf("unknown event kind %d", e.Kind)
		}
	}
}

// check verifies the radar's tables against each other and the events.
func (tr *tracker) check(r *Radar) {
	tr.t.Helper()
	count := 0
	for i, n := range r.byIndex {
		if n == nil {
			continue
		}
		count++
		if int(n.Index) != i {
			tr.t.Fatalf("byIndex[%d] holds rnode %d", i, n.Index)
		}
		if r.nbs[key{n.Iface, n.Peer}] != n {
			tr.t.Fatalf("rnode %d (%d,%d) is in byIndex but not in nbs", i, n.Iface, n.Peer)
		}
	}
	if count != len(r.nbs) {
		tr.t.Fatalf("byIndex has %d neighbours, nbs %d", count, len(r.nbs))
	}
	announced := 0
	for k, n := range r.nbs {
		if k != (key{n.Iface, n.Peer}) {
			tr.t.Fatalf("nbs key %v holds neighbour (%d,%d)", k, n.Iface, n.Peer)
		}
		if r.byIndex[n.Index] != n {
			tr.t.Fatalf("neighbour %v is in nbs but not at byIndex[%d]", k, n.Index)
		}
		if st := r.ifaces[k.iface]; st == nil || !st.up {
			tr.t.Fatalf("neighbour %v on an interface that is down", k)
		}
		if n.Peer == Broadcast {
			tr.t.Fatalf("neighbour with the broadcast peer id")
		}
		if (n.State == Alive || n.State == Suspect) && !n.announced {
			tr.t.Fatalf("neighbour %v is %v but was never announced", k, n.State)
		}
		if n.announced {
			announced++
			if tr.up[n.Index] != k {
				tr.t.Fatalf("neighbour %v announced but no Up event seen for it", k)
			}
			if n.Cost == 0 {
				tr.t.Fatalf("announced neighbour %v with cost 0", k)
			}
		}
		if n.filled > r.cfg.Window || n.filled < 0 {
			tr.t.Fatalf("window filled %d", n.filled)
		}
	}
	if announced != len(tr.up) {
		tr.t.Fatalf("%d announced neighbours, %d up by the events", announced, len(tr.up))
	}
}

// ---- one radar and fake peers ----

// fakePeer is the other side of a link as the tests choose it.
type fakePeer struct {
	rtt     func(k int) time.Duration // round trip for the k-th probe it gets (k from 0)
	lose    func(k int, p Probe) bool // the k-th probe or its reply is lost
	silent  bool                      // answers nothing
	dup     bool                      // every reply arrives twice
	addr    netip.Addr
	hooking bool
	nonce   uint32
	got     int // probes it received
}

func constRTT(d time.Duration) func(int) time.Duration { return func(int) time.Duration { return d } }

type sentProbe struct {
	at time.Duration
	Probe
}

type timedEvent struct {
	at time.Duration
	Event
}

type pendingFn struct {
	at    time.Duration
	order int
	fn    func()
}

// world runs one radar on a virtual clock against fake peers.
type world struct {
	t      testing.TB
	r      *Radar
	cfg    Config
	now    time.Duration
	keys   []key // fake peers in creation order (determinism)
	peers  map[key]*fakePeer
	q      []pendingFn
	order  int
	sent   []sentProbe
	events []timedEvent
	tr     *tracker

	delivered []deliveredReply
}

// deliveredReply is a reply a fake peer got through to the radar.
type deliveredReply struct {
	from       key
	sentAt, at time.Duration // of the probe it answers, of its arrival
}

// lastAnswered is the send time of the newest probe of the radar that the
// peer answered (and whose reply arrived) before t.
func (w *world) lastAnswered(k key, t time.Duration) time.Duration {
	last := time.Duration(-1)
	for _, d := range w.delivered {
		if d.from == k && d.at <= t {
			last = max(last, d.sentAt)
		}
	}
	return last
}

func newWorld(t testing.TB, cfg Config) *world {
	t.Helper()
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &world{t: t, r: r, cfg: cfg, peers: map[key]*fakePeer{}, tr: newTracker(t)}
}

func peerAddr(iface int, id PeerID) netip.Addr {
	return netip.AddrFrom4([4]byte{10, byte(iface), byte(id >> 8), byte(id)})
}

// peer adds a fake peer that answers every probe after rtt.
func (w *world) peer(iface int, id PeerID, rtt time.Duration) *fakePeer {
	p := &fakePeer{rtt: constRTT(rtt), addr: peerAddr(iface, id)}
	k := key{iface, id}
	if _, ok := w.peers[k]; !ok {
		w.keys = append(w.keys, k)
	}
	w.peers[k] = p
	return p
}

func (w *world) at(t time.Duration, fn func()) {
	w.order++
	w.q = append(w.q, pendingFn{t, w.order, fn})
	sort.Slice(w.q, func(i, j int) bool {
		if w.q[i].at != w.q[j].at {
			return w.q[i].at < w.q[j].at
		}
		return w.q[i].order < w.q[j].order
	})
}

// flush takes the radar's probes (the fake peers answer them) and events.
func (w *world) flush() {
	w.t.Helper()
	for _, p := range w.r.Probes() {
		w.sent = append(w.sent, sentProbe{w.now, p})
		for _, k := range w.keys {
			fp := w.peers[k]
			if k.iface != p.Iface || (p.To != Broadcast && p.To != k.peer) {
				continue
			}
			n := fp.got
			fp.got++
			if fp.silent || (fp.lose != nil && fp.lose(n, p)) {
				continue
			}
			addr, hooking, nonce := fp.addr, fp.hooking, fp.nonce
			p, k, sentAt := p, k, w.now
			copies := 1
			if fp.dup {
				copies = 2
			}
			for range copies {
				w.at(w.now+fp.rtt(n), func() {
					w.delivered = append(w.delivered, deliveredReply{k, sentAt, w.now})
					w.r.OnReply(w.now, k.iface, k.peer, p.Burst, p.Seq, hooking, nonce, addr)
				})
			}
		}
	}
	for _, e := range w.r.Events() {
		w.events = append(w.events, timedEvent{w.now, e})
		w.tr.observe([]Event{e})
	}
	w.tr.check(w.r)
}

// runUntil advances the clock to until, ticking the radar whenever
// NextWakeup says so and delivering replies on time. It fails on a
// NextWakeup in the past or a Tick that leaves work due now (busy loop).
func (w *world) runUntil(until time.Duration) {
	w.t.Helper()
	for steps := 0; ; steps++ {
		if steps > 1_000_000 {
			w.t.Fatalf("no progress at %v", w.now)
		}
		next := w.r.NextWakeup()
		if next < w.now {
			w.t.Fatalf("NextWakeup %v is before now %v", next, w.now)
		}
		if len(w.q) > 0 && w.q[0].at < next {
			next = w.q[0].at
		}
		if next > until {
			break
		}
		w.now = next
		for len(w.q) > 0 && w.q[0].at <= w.now {
			f := w.q[0]
			w.q = w.q[1:]
			f.fn()
			w.flush()
		}
		if w.r.NextWakeup() <= w.now {
			w.r.Tick(w.now)
			w.flush()
			if nw := w.r.NextWakeup(); nw <= w.now {
				w.t.Fatalf("busy loop: after Tick(%v) NextWakeup is %v", w.now, nw)
			}
		}
	}
	w.now = until
}

// hear delivers an ECHO_ME from a fake peer now.
func (w *world) hear(iface int, id PeerID) {
	w.t.Helper()
	fp := w.peers[key{iface, id}]
	w.r.OnProbe(w.now, iface, id, fp.hooking, fp.nonce, fp.addr)
	w.flush()
}

// probesTo returns the probes sent on iface to `to` in [from, until).
func (w *world) probesTo(iface int, to PeerID, from, until time.Duration) []sentProbe {
	var out []sentProbe
	for _, p := range w.sent {
		if p.Iface == iface && p.To == to && p.at >= from && p.at < until {
			out = append(out, p)
		}
	}
	return out
}

// eventsOf returns the events of one kind (0 = all) in [from, until).
func (w *world) eventsOf(kind EventKind, from, until time.Duration) []timedEvent {
	var out []timedEvent
	for _, e := range w.events {
		if (kind == 0 || e.Kind == kind) && e.at >= from && e.at < until {
			out = append(out, e)
		}
	}
	return out
}

// mustLookup returns the neighbour behind (iface, peer) or fails.
func (w *world) mustLookup(iface int, peer PeerID) *Neighbour {
	w.t.Helper()
	n := w.r.Lookup(iface, peer)
	if n == nil {
		w.t.Fatalf("at %v: no neighbour (%d,%d)", w.now, iface, peer)
	}
	return n
}

// ---- several real radars on links ----

type meshLink struct {
	a, ia, b, ib int
	delay        time.Duration // one way
	cut          bool          // silent failure: every packet is dropped
	dropAB       bool          // only a -> b dropped (one-way link)
}

type meshStats struct {
	bcastProbes, ucastProbes, replies int
}

// mesh runs real radars against each other; the harness plays the node's
// part of answering every ECHO_ME with an ECHO_REPLY.
type mesh struct {
	t      testing.TB
	now    time.Duration
	rs     []*Radar
	trs    []*tracker
	links  []*meshLink
	q      []pendingFn
	order  int
	stats  []meshStats // counted only inside [countFrom, countUntil)
	events [][]timedEvent
	sent   [][]sentProbe

	countFrom, countUntil time.Duration
}

func newMesh(t testing.TB, cfg Config, n int) *mesh {
	m := &mesh{t: t, stats: make([]meshStats, n), events: make([][]timedEvent, n), sent: make([][]sentProbe, n), countFrom: 1<<63 - 1}
	for range n {
		r, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		m.rs = append(m.rs, r)
		m.trs = append(m.trs, newTracker(t))
	}
	return m
}

func nodePeer(i int) PeerID { return PeerID(i + 1) }

func (m *mesh) link(a, ia, b, ib int, delay time.Duration) *meshLink {
	l := &meshLink{a: a, ia: ia, b: b, ib: ib, delay: delay}
	m.links = append(m.links, l)
	return l
}

func (m *mesh) at(t time.Duration, fn func()) {
	m.order++
	m.q = append(m.q, pendingFn{t, m.order, fn})
	sort.Slice(m.q, func(i, j int) bool {
		if m.q[i].at != m.q[j].at {
			return m.q[i].at < m.q[j].at
		}
		return m.q[i].order < m.q[j].order
	})
}

func (m *mesh) counting() bool { return m.now >= m.countFrom && m.now < m.countUntil }

// transmit delivers a packet leaving node a on iface ia (to a peer or the
// link broadcast) after each matching link's delay, unless the link drops it.
func (m *mesh) transmit(a, ia int, to PeerID, fn func(b, ib int)) {
	for _, l := range m.links {
		var b, ib int
		var dropped bool
		switch {
		case l.a == a && l.ia == ia:
			b, ib, dropped = l.b, l.ib, l.dropAB
		case l.b == a && l.ib == ia:
			b, ib = l.a, l.ia
		default:
			continue
		}
		if to != Broadcast && to != nodePeer(b) {
			continue
		}
		if l.cut || dropped {
			continue
		}
		m.at(m.now+l.delay, func() { fn(b, ib) })
	}
}

func (m *mesh) flush(i int) {
	m.t.Helper()
	r := m.rs[i]
	for _, p := range r.Probes() {
		m.sent[i] = append(m.sent[i], sentProbe{m.now, p})
		if m.counting() {
			if p.To == Broadcast {
				m.stats[i].bcastProbes++
			} else {
				m.stats[i].ucastProbes++
			}
		}
		p := p
		m.transmit(i, p.Iface, p.To, func(b, ib int) {
			if st := m.rs[b].ifaces[ib]; st == nil || !st.up {
				return // node b does not run on that interface (yet)
			}
			m.rs[b].OnProbe(m.now, ib, nodePeer(i), false, 0, peerAddr(0, nodePeer(i)))
			m.flush(b)
			// node b answers with an ECHO_REPLY (unicast back to i)
			if m.counting() {
				m.stats[b].replies++
			}
			m.transmit(b, ib, nodePeer(i), func(c, ic int) {
				m.rs[c].OnReply(m.now, ic, nodePeer(b), p.Burst, p.Seq, false, 0, peerAddr(0, nodePeer(b)))
				m.flush(c)
			})
		})
	}
	evs := r.Events()
	for _, e := range evs {
		m.events[i] = append(m.events[i], timedEvent{m.now, e})
	}
	m.trs[i].observe(evs)
	m.trs[i].check(r)
}

func (m *mesh) runUntil(until time.Duration) {
	m.t.Helper()
	for steps := 0; ; steps++ {
		if steps > 10_000_000 {
			m.t.Fatalf("no progress at %v", m.now)
		}
		next := m.q0()
		for _, r := range m.rs {
			next = min(next, r.NextWakeup())
		}
		if next < m.now {
			m.t.Fatalf("wakeup %v before now %v", next, m.now)
		}
		if next > until {
			break
		}
		m.now = next
		for len(m.q) > 0 && m.q[0].at <= m.now {
			f := m.q[0]
			m.q = m.q[1:]
			f.fn()
		}
		for i, r := range m.rs {
			if r.NextWakeup() <= m.now {
				r.Tick(m.now)
				m.flush(i)
				if nw := r.NextWakeup(); nw <= m.now {
					m.t.Fatalf("busy loop: node %d NextWakeup %v after Tick(%v)", i, nw, m.now)
				}
			}
		}
	}
	m.now = until
}

func (m *mesh) q0() time.Duration {
	if len(m.q) == 0 {
		return 1<<63 - 1
	}
	return m.q[0].at
}

func (m *mesh) ifaceUp(i, iface int) {
	m.rs[i].IfaceUp(m.now, iface)
	m.flush(i)
}
