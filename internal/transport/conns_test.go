package transport

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"
)

// The accounting of accepted connections (conns.go) without sockets:
// inConns without a net.TCPConn, interfaces that are never bound.

// slots is a Transport with fake bound interfaces 1..n (kernel index =
// number) and a clock.
type slots struct {
	t   *testing.T
	tr  *Transport
	now time.Time
	seq int
}

func newSlots(t *testing.T, cfg Config, ifaces int) *slots {
	tr, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= ifaces; i++ {
		ifc := &ifaceState{t: tr, id: i, name: fmt.Sprintf("if%d", i), ctx: context.Background()}
		tr.ifaces[i] = ifc
		tr.byIndex[i] = ifc
	}
	return &slots{t: t, tr: tr, now: time.Unix(1000, 0)}
}

// accept admits a connection from fe80::src on interface iface, as
// admitConn does, and returns it with the fresh connection it evicted.
func (s *slots) accept(iface int, src string) (ic, victim *inConn) {
	s.now = s.now.Add(time.Millisecond)
	ip := netip.MustParseAddr("fe80::" + src)
	ifc := s.tr.byIndex[iface]
	ic = &inConn{ifc: ifc, src: ip, since: s.now, known: s.tr.peers.byKey[peerKey{ifc.id, ip}] != nil}
	return ic, s.tr.addFresh(ic)
}

// prove proves ic after d, as its first valid frame does.
func (s *slots) prove(ic *inConn, d time.Duration) (*inConn, bool) {
	s.now = s.now.Add(d)
	return s.tr.prove(ic, s.now)
}

// frame notes a valid frame on proven ic after d.
func (s *slots) frame(ic *inConn, d time.Duration) {
	s.now = s.now.Add(d)
	ic.last = s.now
}

// check compares the counts with what is in the lists, and with want.
func (s *slots) check(fresh, proven int, drops map[string]uint64) {
	s.t.Helper()
	tr := s.tr
	n, perIface, perPeer := 0, 0, map[*peer]int{}
	for _, ifc := range tr.byIndex {
		f := 0
		for _, c := range tr.fresh {
			if c.ifc == ifc {
				f++
			}
		}
		if f != ifc.fresh {
			s.t.Errorf("%s: fresh count %d, %d in the pool", ifc.name, ifc.fresh, f)
		}
		perIface += len(ifc.conns)
		for _, c := range ifc.conns {
			if c.state != connProven || c.ifc != ifc {
				s.t.Errorf("%s holds a connection in state %d of %s", ifc.name, c.state, c.ifc.name)
			}
			perPeer[c.p]++
		}
	}
	for p, k := range perPeer {
		if p.inConns != k {
			s.t.Errorf("peer %v: count %d, %d connections", p.key.ip, p.inConns, k)
		}
		n += k
	}
	st := tr.Stats()
	if len(tr.fresh) != fresh || st.FreshStreams != fresh || tr.inConns != proven || perIface != proven || n != proven || st.InStreams != fresh+proven {
		s.t.Errorf("fresh %d (stats %d), proven %d (on interfaces %d, by peer %d), in streams %d; want %d fresh and %d proven",
			len(tr.fresh), st.FreshStreams, tr.inConns, perIface, n, st.InStreams, fresh, proven)
	}
	for k, v := range drops {
		if st.Dropped[k] != v {
			s.t.Errorf("%s: %d, want %d (all: %v)", k, st.Dropped[k], v, st.Dropped)
		}
	}
}

func TestFreshPoolEvictsOldest(t *testing.T) {
	s := newSlots(t, Config{MaxFreshConns: 3}, 1)
	var conns []*inConn
	for i := range 3 {
		ic, v := s.accept(1, fmt.Sprint(i+1))
		if v != nil {
			t.Fatalf("connection %d evicted one from a pool with room", i)
		}
		conns = append(conns, ic)
	}
	for i := range 4 { // each newcomer closes the oldest
		ic, v := s.accept(1, fmt.Sprint(i+10))
		if v != conns[i] || v.state != connGone {
			t.Fatalf("newcomer %d evicted %v, want the oldest, %v", i, v.src, conns[i].src)
		}
		conns = append(conns, ic)
	}
	s.check(3, 0, map[string]uint64{DropFreshEvicted: 4})
	// An evicted connection cannot prove itself later; unlinking it
	// again (its reader ending) changes nothing.
	if _, ok := s.prove(conns[0], 0); ok {
		t.Fatal("an evicted connection was proven")
	}
	s.tr.unlink(conns[0])
	s.tr.unlink(conns[6])
	s.tr.unlink(conns[6])
	s.check(2, 0, map[string]uint64{DropFreshEvicted: 4})
}

func TestFreshPoolSparesKnownSources(t *testing.T) {
	s := newSlots(t, Config{MaxFreshConns: 2}, 1)
	// fe80::1 has sent us datagrams (the radar) before it connects.
	s.tr.peers.get(peerKey{1, netip.MustParseAddr("fe80::1")}, s.now)
	honest, _ := s.accept(1, "1")
	if !honest.known {
		t.Fatal("a source of the peer table is not known")
	}
	var stranger *inConn
	for i := range 50 { // a flood from strangers, faster than the proof
		var v *inConn
		if stranger, v = s.accept(1, fmt.Sprintf("a:%d", i)); v == honest {
			t.Fatalf("stranger %d evicted the known neighbour's connection", i)
		}
	}
	if _, ok := s.prove(honest, time.Millisecond); !ok {
		t.Fatal("the neighbour's connection was not proven")
	}
	s.check(1, 1, map[string]uint64{DropFreshEvicted: 49})
	s.tr.unlink(stranger) // silent: its deadline closes it
	// Unknown sources make no peers until they prove themselves.
	if n := len(s.tr.peers.byKey); n != 1 {
		t.Fatalf("%d peers, want the neighbour alone", n)
	}
	// With only known sources in the pool, the oldest goes.
	s.tr.peers.get(peerKey{1, netip.MustParseAddr("fe80::2")}, s.now)
	a, _ := s.accept(1, "2")
	s.accept(1, "2")
	if _, v := s.accept(1, "1"); v != a {
		t.Fatal("the oldest of two known connections was not the one evicted")
	}
}

func TestFreshPoolEvictsOnTheBusiestInterface(t *testing.T) {
	s := newSlots(t, Config{MaxFreshConns: 4}, 2)
	other, _ := s.accept(2, "1") // the oldest, on the quiet interface
	for i := range 3 {
		s.accept(1, fmt.Sprintf("a:%d", i))
	}
	for i := range 20 { // a flood on interface 1 evicts its own
		if _, v := s.accept(1, fmt.Sprintf("b:%d", i)); v == nil || v.ifc.id != 1 {
			t.Fatalf("newcomer %d on interface 1 evicted %v", i, v)
		}
	}
	// A newcomer on interface 2 too: interface 1 holds the most.
	if _, v := s.accept(2, "2"); v == nil || v.ifc.id != 1 {
		t.Fatalf("newcomer on interface 2 evicted %v", v)
	}
	if other.state != connFresh {
		t.Fatal("the quiet interface lost its connection")
	}
	s.check(4, 0, map[string]uint64{DropFreshEvicted: 21})
}

func TestProvenLimits(t *testing.T) {
	s := newSlots(t, Config{MaxConns: 3, MaxConnsPerSource: 2, MaxFreshConns: 8, IdleTimeout: time.Minute}, 1)
	proven := func(src string) *inConn {
		t.Helper()
		ic, _ := s.accept(1, src)
		v, ok := s.prove(ic, time.Millisecond)
		if !ok || v != nil {
			t.Fatalf("connection from %s: proven %v, evicted %v", src, ok, v)
		}
		return ic
	}
	a1 := proven("1")
	a2 := proven("1")
	s.frame(a1, time.Second) // a2 is now the least active of fe80::1
	// A third connection from fe80::1: its newest wins over its least
	// active one.
	a3, _ := s.accept(1, "1")
	if v, ok := s.prove(a3, time.Millisecond); !ok || v != a2 {
		t.Fatalf("third from the same source: proven %v, evicted %v, want a2", ok, v)
	}
	s.check(0, 2, map[string]uint64{DropConnEvicted: 1})
	b := proven("2")
	// Full (3): a newcomer from another source is refused, however
	// active, and the others stay.
	c, _ := s.accept(1, "3")
	if v, ok := s.prove(c, time.Millisecond); ok || v != nil {
		t.Fatalf("over MaxConns: proven %v, evicted %v", ok, v)
	}
	s.tr.unlink(c) // its reader ends
	s.check(0, 3, map[string]uint64{DropConnEvicted: 1, DropTooManyConns: 1})
	// Silent for longer than IdleTimeout, a connection makes room.
	s.frame(a1, 50*time.Second)
	s.frame(a3, 0)
	s.now = s.now.Add(20 * time.Second) // b silent for 70 s
	d, _ := s.accept(1, "4")
	if v, ok := s.prove(d, 0); !ok || v != b {
		t.Fatalf("with a stale connection: proven %v, evicted %v, want b", ok, v)
	}
	s.check(0, 3, map[string]uint64{DropConnEvicted: 2, DropTooManyConns: 1})
	// Released connections free their slots and unpin their peers.
	for _, ic := range []*inConn{a1, a3, d} {
		s.tr.releaseConn(ic)
	}
	s.check(0, 0, nil)
	for _, p := range s.tr.peers.byKey {
		if p.pinned() {
			t.Errorf("peer %v still pinned", p.key.ip)
		}
	}
}

func TestInterfaceShare(t *testing.T) {
	// Two interfaces: each is sure of 4 of the 8 slots.
	s := newSlots(t, Config{MaxConns: 8, MaxConnsPerSource: 4, MaxFreshConns: 8}, 2)
	var busy []*inConn
	for i := range 8 { // interface 1 takes everything while 2 needs nothing
		ic, _ := s.accept(1, fmt.Sprintf("a:%d", i/4))
		if _, ok := s.prove(ic, time.Millisecond); !ok {
			t.Fatalf("connection %d on the lone busy interface refused", i)
		}
		busy = append(busy, ic)
	}
	s.frame(busy[0], time.Second) // busy[1] is the least active now
	// Interface 2 gets its share back, one least active connection of
	// interface 1 at a time.
	for i := range 4 {
		ic, _ := s.accept(2, fmt.Sprint(i+1))
		v, ok := s.prove(ic, time.Millisecond)
		if !ok || v == nil || v.ifc.id != 1 {
			t.Fatalf("connection %d on interface 2: proven %v, evicted %v", i, ok, v)
		}
		if i == 0 && v != busy[1] {
			t.Fatalf("evicted %v, want the least active", v.src)
		}
	}
	s.check(0, 8, map[string]uint64{DropConnEvicted: 4})
	// Both at their share: newcomers on either side are refused.
	for _, iface := range []int{1, 2} {
		ic, _ := s.accept(iface, "9")
		if v, ok := s.prove(ic, time.Millisecond); ok || v != nil {
			t.Fatalf("interface %d over its share: proven %v, evicted %v", iface, ok, v)
		}
		s.tr.unlink(ic)
	}
	s.check(0, 8, map[string]uint64{DropConnEvicted: 4, DropTooManyConns: 2})
	if n := len(s.tr.byIndex[1].conns); n != 4 {
		t.Fatalf("interface 1 holds %d, want its share 4", n)
	}
}

func TestShareWithManyInterfaces(t *testing.T) {
	// 12 interfaces and the default 32 slots: each is sure of 2, and one
	// link may use all 32 while the others are quiet.
	s := newSlots(t, Config{}, 12)
	if got := s.tr.share(); got != 2 {
		t.Fatalf("share %d, want 2", got)
	}
	for i := range 32 {
		ic, _ := s.accept(1, fmt.Sprintf("a:%d", i/4))
		if _, ok := s.prove(ic, time.Millisecond); !ok {
			t.Fatalf("connection %d refused", i)
		}
	}
	for iface := 2; iface <= 12; iface++ {
		for k := range 2 {
			ic, _ := s.accept(iface, fmt.Sprint(k+1))
			if v, ok := s.prove(ic, time.Millisecond); !ok || v == nil || v.ifc.id != 1 {
				t.Fatalf("interface %d connection %d: proven %v, evicted %v", iface, k, ok, v)
			}
		}
	}
	s.check(0, 32, map[string]uint64{DropConnEvicted: 22})
	if n := len(s.tr.byIndex[1].conns); n != 10 {
		t.Fatalf("the busy interface kept %d, want 32 - 11*2 = 10", n)
	}
	// More interfaces than slots: the share is still one.
	s = newSlots(t, Config{MaxConns: 2}, 3)
	if got := s.tr.share(); got != 1 {
		t.Fatalf("share %d, want 1", got)
	}
}

func TestProveAfterInterfaceRemoved(t *testing.T) {
	s := newSlots(t, Config{}, 1)
	ic, _ := s.accept(1, "1")
	ctx, cancel := context.WithCancel(context.Background())
	ic.ifc.ctx = ctx
	cancel()
	if _, ok := s.prove(ic, 0); ok {
		t.Fatal("proven on a removed interface")
	}
	if len(s.tr.peers.byKey) != 0 {
		t.Fatal("a peer made on a removed interface")
	}
}

func TestConnConfig(t *testing.T) {
	c, err := Config{}.withDefaults()
	if err != nil || c.MaxFreshConns != 8 || c.FreshTimeout != 10*time.Second {
		t.Fatalf("defaults: %d fresh, %v; %v", c.MaxFreshConns, c.FreshTimeout, err)
	}
	for _, bad := range []Config{{MaxFreshConns: -1}, {FreshTimeout: -time.Second}} {
		if _, err := bad.withDefaults(); err == nil {
			t.Errorf("accepted %+v", bad)
		}
	}
}

// A frame on a proven connection costs no allocation.
func TestAllowConnAllocs(t *testing.T) {
	s := newSlots(t, Config{PerSourceRate: 1e9, PerSourceBurst: 1e9}, 1)
	ic, _ := s.accept(1, "1")
	if _, ok := s.prove(ic, 0); !ok {
		t.Fatal("not proven")
	}
	if n := testing.AllocsPerRun(100, func() { s.tr.allowConn(ic) }); n != 0 {
		t.Fatalf("%v allocations per frame", n)
	}
}
