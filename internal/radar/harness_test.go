package radar

import (
	"net/netip"
	"sort"
	"testing"
	"time"

	"github.com/ntkd/ntkd/internal/wire"
)

// This file holds the test harnesses: a virtual clock (plain
// time.Duration values), a fake "other side" that sends hellos and answers
// probes with chosen delays and losses, a network of real radars that talk
// through the real wire encoding, and the invariant checks every harness
// runs after each step.

const ms = time.Millisecond

// FrameOverhead is what a radar packet costs on the wire besides the ntkd
// packet itself: Ethernet 14 + IPv6 40 + UDP 8 (the daemon runs over IPv6
// link-local UDP).
const FrameOverhead = 14 + 40 + 8

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
		if (n.State == Alive || n.State == Suspect) != n.announced {
			tr.t.Fatalf("neighbour %v is %v, announced %v", k, n.State, n.announced)
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
		if n.filled > r.cfg.Window || n.filled < 0 || n.pending < 0 || n.helloKnown < 0 || n.helloKnown > HelloWindow {
			tr.t.Fatalf("neighbour %v: filled %d pending %d hello slots %d", k, n.filled, n.pending, n.helloKnown)
		}
		if n.hearsUs < -1 || n.hearsUs > HelloWindow || n.misses < 0 || n.misses >= r.cfg.DeadAfter {
			tr.t.Fatalf("neighbour %v: hears us %d, misses %d", k, n.hearsUs, n.misses)
		}
		if n.oneWay && (n.State != Measuring || n.burstLeft != 0) {
			tr.t.Fatalf("one-way neighbour %v is %v with %d burst probes left", k, n.State, n.burstLeft)
		}
	}
	if announced != len(tr.up) {
		tr.t.Fatalf("%d announced neighbours, %d up by the events", announced, len(tr.up))
	}
}

// ---- one radar and fake peers ----

// selfNonce is the nonce of the radar under test in the fake peers' hellos.
const selfNonce = 0x5e1f

// fakePeer is the other side of a link as the tests choose it. Its
// packets are delivered straight to the radar (no encoding).
type fakePeer struct {
	rtt    func(k int) time.Duration // round trip for the k-th packet of ours it gets (k from 0)
	lose   func(k int, p Probe) bool // the k-th packet of ours (hello or probe) does not reach it
	mute   func(p Probe) bool        // it gets the packet but its reply is lost
	silent bool                      // sends and answers nothing
	dup    bool                      // every reply arrives twice

	addr    netip.Addr
	hooking bool
	nonce   uint32
	got     int // packets of ours it received

	// Its own hellos: every interval (0: the radar's) while running;
	// loseHello drops some on the way to the radar.
	interval  time.Duration
	running   bool
	helloSeq  int
	loseHello func(seq int) bool
	// What its hellos say of us: by default what it really heard of our
	// hellos since it first got anything from us; hears overrides it.
	hears     func() (uint8, bool)
	knowsUs   bool
	ourHellos []bool // from knowsUs on: did it get each of our hellos?
}

func constRTT(d time.Duration) func(int) time.Duration { return func(int) time.Duration { return d } }

// report is what its hello says of us, as a node would read its IHU list.
func (fp *fakePeer) report() (uint8, bool) {
	if fp.hears != nil {
		return fp.hears()
	}
	if !fp.knowsUs {
		return 0, true // a short list without us
	}
	last := fp.ourHellos[max(0, len(fp.ourHellos)-HelloWindow):]
	heard := HelloWindow - len(last)
	for _, ok := range last {
		if ok {
			heard++
		}
	}
	return uint8(heard), true
}

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
	heardAt   map[key][]time.Duration // arrival of every packet of a peer
}

// deliveredReply is a reply a fake peer got through to the radar.
type deliveredReply struct {
	from       key
	sentAt, at time.Duration // of the probe it answers, of its arrival
}

// lastHeard is the arrival of the newest packet from a peer before t.
func (w *world) lastHeard(k key, t time.Duration) time.Duration {
	last := time.Duration(-1)
	for _, at := range w.heardAt[k] {
		if at <= t {
			last = max(last, at)
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
	return &world{t: t, r: r, cfg: cfg, peers: map[key]*fakePeer{}, tr: newTracker(t), heardAt: map[key][]time.Duration{}}
}

func peerAddr(iface int, id PeerID) netip.Addr {
	return netip.AddrFrom4([4]byte{10, byte(iface), byte(id >> 8), byte(id)})
}

// peer adds a fake peer that answers every probe after rtt. It sends no
// hellos until hellos() or hear() is called.
func (w *world) peer(iface int, id PeerID, rtt time.Duration) *fakePeer {
	p := &fakePeer{rtt: constRTT(rtt), addr: peerAddr(iface, id), nonce: uint32(1000 + id)}
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

// flush takes the radar's packets (the fake peers get and answer them) and
// events.
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
				if p.Hello && fp.knowsUs {
					fp.ourHellos = append(fp.ourHellos, false)
				}
				continue
			}
			if !fp.knowsUs {
				fp.knowsUs = true
			}
			if p.Hello {
				fp.ourHellos = append(fp.ourHellos, true)
				if !p.ReplyWanted {
					continue
				}
			}
			if fp.mute != nil && fp.mute(p) {
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
					w.heardAt[k] = append(w.heardAt[k], w.now)
					w.r.OnEcho(w.now, k.iface, k.peer, Echo{Reply: true, Hello: p.Hello, Burst: p.Burst, Seq: p.Seq, Hooking: hooking, Nonce: nonce, Addr: addr})
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
// NextWakeup says so and delivering packets on time. It fails on a
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

// hear delivers a hello from a fake peer now (silent or not).
func (w *world) hear(iface int, id PeerID) {
	w.t.Helper()
	k := key{iface, id}
	fp := w.peers[k]
	seq := fp.helloSeq
	fp.helloSeq++
	if fp.loseHello != nil && fp.loseHello(seq) {
		return
	}
	iv := fp.interval
	if iv == 0 {
		iv = w.cfg.Interval
	}
	hears, known := fp.report()
	w.heardAt[k] = append(w.heardAt[k], w.now)
	w.r.OnEcho(w.now, iface, id, Echo{Hello: true, Burst: uint16(seq >> 8), Seq: uint8(seq), Hooking: fp.hooking, Nonce: fp.nonce, Addr: fp.addr,
		Interval: iv, HearsUs: hears, HearsUsKnown: known})
	w.flush()
}

// hellos makes a fake peer send a hello now and then every interval, for
// as long as it is the peer of (iface, id).
func (w *world) hellos(iface int, id PeerID) *fakePeer {
	k := key{iface, id}
	fp := w.peers[k]
	iv := fp.interval
	if iv == 0 {
		iv = w.cfg.Interval
	}
	fp.running = true
	var tick func()
	tick = func() {
		if w.peers[k] != fp || !fp.running {
			return
		}
		if fp.silent {
			fp.helloSeq++ // sent, but nobody hears it
		} else {
			w.hear(iface, id)
		}
		w.at(w.now+iv, tick)
	}
	tick()
	return fp
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

// ---- several real radars on links, talking through the wire format ----

type meshLink struct {
	a, ia, b, ib int
	delay        time.Duration // one way
	cut          bool          // silent failure: every packet is dropped
	dropAB       bool          // only a -> b dropped (one-way link)
}

// meshStats counts what a node transmitted; bytes include FrameOverhead.
type meshStats struct {
	hellos, wanting, ucastProbes, replies int
	bytes                                 int
}

func (s meshStats) packets() int { return s.hellos + s.ucastProbes + s.replies }

// mesh runs real radars against each other. The harness plays the node's
// part (internal/node's flushProbes and onEcho): it encodes every packet
// with the wire encoder, decodes it at the receiver, reads the IHU list
// with the receiver's nonce, and answers every ECHO_ME that is not a plain
// hello.
type mesh struct {
	t      testing.TB
	now    time.Duration
	rs     []*Radar
	addrs  []netip.Addr
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
	for i := range n {
		r, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		m.rs = append(m.rs, r)
		m.addrs = append(m.addrs, peerAddr(0, nodePeer(i)))
		m.trs = append(m.trs, newTracker(t))
	}
	return m
}

func nodePeer(i int) PeerID { return PeerID(i + 1) }

func nodeNonce(i int) uint32 { return uint32(0x1000 + i) }

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

// transmit sends encoded bytes from node a on iface ia (to a peer or the
// link broadcast): one transmission, counted once, delivered after each
// matching link's delay unless the link drops it.
func (m *mesh) transmit(a, ia int, to PeerID, b []byte, fn func(b, ib int, data []byte)) {
	if m.counting() {
		m.stats[a].bytes += len(b) + FrameOverhead
	}
	for _, l := range m.links {
		var dst, idst int
		var dropped bool
		switch {
		case l.a == a && l.ia == ia:
			dst, idst, dropped = l.b, l.ib, l.dropAB
		case l.b == a && l.ib == ia:
			dst, idst = l.a, l.ia
		default:
			continue
		}
		if to != Broadcast && to != nodePeer(dst) {
			continue
		}
		if l.cut || dropped {
			continue
		}
		m.at(m.now+l.delay, func() { fn(dst, idst, b) })
	}
}

// wireEcho is the ECHO_ME node i sends for p (internal/node's flushProbes
// and fillEcho, for a hooked node).
func wireEcho(p Probe, nonce uint32, addr netip.Addr) *wire.Echo {
	e := &wire.Echo{Kind: wire.OpEchoMe, Burst: p.Burst, Seq: p.Seq, Nonce: nonce, Addr: addr}
	if p.Hello {
		e.Flags = wire.EchoHello
		if p.ReplyWanted {
			e.Flags |= wire.EchoReplyWanted
		}
		e.Interval = uint16((p.Interval + wire.EchoIntervalUnit - 1) / wire.EchoIntervalUnit)
		for _, x := range p.IHU {
			e.IHU = append(e.IHU, wire.IHU(x))
		}
	}
	return e
}

// radarEcho is what a node with nonce self tells its radar about e
// (internal/node's onEcho).
func radarEcho(e *wire.Echo, self uint32) Echo {
	in := Echo{Reply: e.Kind == wire.OpEchoReply, Hello: e.Flags&wire.EchoHello != 0, Burst: e.Burst, Seq: e.Seq,
		Hooking: e.Flags&wire.EchoHooking != 0, Nonce: e.Nonce, Addr: e.Addr}
	if in.Hello && !in.Reply {
		in.Interval = time.Duration(e.Interval) * wire.EchoIntervalUnit
		for _, x := range e.IHU {
			if x.Nonce == self {
				in.HearsUs, in.HearsUsKnown = x.Heard, true
				break
			}
		}
		if !in.HearsUsKnown && len(e.IHU) < wire.MaxIHU {
			in.HearsUsKnown = true
		}
	}
	return in
}

func (m *mesh) encode(p wire.Payload) []byte {
	b, err := wire.Encode(1, p)
	if err != nil {
		m.t.Fatalf("encode: %v", err)
	}
	return b
}

func (m *mesh) decode(b []byte) *wire.Echo {
	_, p, err := wire.Decode(b)
	if err != nil {
		m.t.Fatalf("decode: %v", err)
	}
	return p.(*wire.Echo)
}

func (m *mesh) flush(i int) {
	m.t.Helper()
	r := m.rs[i]
	for _, p := range r.Probes() {
		m.sent[i] = append(m.sent[i], sentProbe{m.now, p})
		if m.counting() {
			switch {
			case p.Hello:
				m.stats[i].hellos++
				if p.ReplyWanted {
					m.stats[i].wanting++
				}
			default:
				m.stats[i].ucastProbes++
			}
		}
		m.transmit(i, p.Iface, p.To, m.encode(wireEcho(p, nodeNonce(i), m.addrs[i])), func(b, ib int, data []byte) {
			if st := m.rs[b].ifaces[ib]; st == nil || !st.up {
				return // node b does not run on that interface (yet)
			}
			e := m.decode(data)
			m.rs[b].OnEcho(m.now, ib, nodePeer(i), radarEcho(e, nodeNonce(b)))
			m.flush(b)
			if e.Flags&wire.EchoHello != 0 && e.Flags&wire.EchoReplyWanted == 0 {
				return // a plain hello is not answered
			}
			if m.counting() {
				m.stats[b].replies++
			}
			reply := &wire.Echo{Kind: wire.OpEchoReply, Burst: e.Burst, Seq: e.Seq, Flags: e.Flags & wire.EchoHello, Nonce: nodeNonce(b), Addr: m.addrs[b]}
			m.transmit(b, ib, nodePeer(i), m.encode(reply), func(c, ic int, data []byte) {
				m.rs[c].OnEcho(m.now, ic, nodePeer(b), radarEcho(m.decode(data), nodeNonce(c)))
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
