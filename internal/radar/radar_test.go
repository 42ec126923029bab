package radar

import (
	"math"
	"net/netip"
	"testing"
	"time"

	"github.com/ntkd/ntkd/internal/wire"
)

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("default config: %v", err)
	}
	bad := map[string]func(*Config){
		"zero interval":          func(c *Config) { c.Interval = 0 },
		"zero timeout":           func(c *Config) { c.ProbeTimeout = 0 },
		"zero burst gap":         func(c *Config) { c.BurstGap = 0 },
		"timeout >= interval":    func(c *Config) { c.ProbeTimeout = c.Interval },
		"interval too long":      func(c *Config) { c.Interval = MaxInterval + 1 },
		"burst 0":                func(c *Config) { c.Burst = 0 },
		"burst 65":               func(c *Config) { c.Burst = 65 },
		"dead after 0":           func(c *Config) { c.DeadAfter = 0 },
		"window 0":               func(c *Config) { c.Window = 0 },
		"window 65":              func(c *Config) { c.Window = 65 },
		"refresh 0":              func(c *Config) { c.RefreshEvery = 0 },
		"negative change ratio":  func(c *Config) { c.ChangeRatio = -0.1 },
		"negative interval":      func(c *Config) { c.Interval = -time.Second },
		"negative probe timeout": func(c *Config) { c.ProbeTimeout = -1 },
	}
	for name, mut := range bad {
		c := DefaultConfig()
		mut(&c)
		if c.Validate() == nil {
			t.Errorf("%s: accepted", name)
		}
		if _, err := New(c); err == nil {
			t.Errorf("%s: New accepted", name)
		}
	}
	c := DefaultConfig()
	c.Interval = MaxInterval
	if err := c.Validate(); err != nil {
		t.Errorf("longest interval: %v", err)
	}
	// The radar's bounds are the wire's.
	if MaxIHU != wire.MaxIHU || HelloWindow != wire.MaxIHUHeard || MaxInterval != 65535*wire.EchoIntervalUnit {
		t.Error("radar and wire limits differ")
	}
}

// Discovery: a hello creates a Measuring neighbour, the burst measures it,
// and it is announced (Up) once four replies are in. Then nothing but
// hellos.
func TestDiscoveryBurstAndUp(t *testing.T) {
	cfg := DefaultConfig()
	w := newWorld(t, cfg)
	w.r.IfaceUp(0, 1)
	w.runUntil(100 * ms)
	if b := w.probesTo(1, Broadcast, 0, 100*ms); len(b) != 1 || b[0].at != 0 || !b[0].Hello || !b[0].ReplyWanted || b[0].Interval != cfg.Interval {
		t.Fatalf("IfaceUp: broadcasts %v, want one hello asking for replies at 0", b)
	}

	w.peer(1, 7, 4*ms)
	w.hellos(1, 7) // at 100 ms, then every Interval
	n := w.mustLookup(1, 7)
	if n.State != Measuring || n.Index != 0 || n.Cost != 0 || n.Addr != peerAddr(1, 7) || n.Nonce != 1007 || n.Interval != cfg.Interval {
		t.Fatalf("new neighbour: %+v", *n)
	}
	if len(w.events) != 0 {
		t.Fatalf("events before measuring: %v", w.events)
	}
	if got := w.r.NextWakeup(); got != 100*ms {
		t.Fatalf("NextWakeup after discovery = %v, want 100ms (burst starts now)", got)
	}

	w.runUntil(4 * time.Second)
	burst := w.probesTo(1, 7, 0, 4*time.Second)
	if len(burst) != cfg.Burst {
		t.Fatalf("burst sent %d unicast probes, want %d", len(burst), cfg.Burst)
	}
	for i, p := range burst {
		if want := 100*ms + time.Duration(i)*cfg.BurstGap; p.at != want || p.Hello || p.ReplyWanted || p.IHU != nil {
			t.Fatalf("burst probe %d at %v (%+v), want a plain unicast probe at %v", i, p.at, p.Probe, want)
		}
	}
	ups := w.eventsOf(Up, 0, 4*time.Second)
	if len(ups) != 1 {
		t.Fatalf("Up events: %v", ups)
	}
	up := ups[0]
	// The 4th burst probe goes out at 100+3*50 ms and is answered 4 ms later.
	if up.at != 254*ms || up.N.Cost != 5000 || up.N.RTT != 4*ms || up.N.State != Alive || up.N.Index != 0 || up.N.Peer != 7 {
		t.Fatalf("Up = %v at %v, want cost 5000 rtt 4ms at 254ms", up.N, up.at)
	}
	// Then the stable schedule: no unicast probe, one hello per Interval,
	// replies asked for on the first and every RefreshEvery-th after the
	// burst's samples, no events.
	w.runUntil(80 * time.Second)
	if u := w.probesTo(1, 7, 4*time.Second, 80*time.Second); len(u) != 0 {
		t.Fatalf("unicast probes to a stable neighbour: %d", len(u))
	}
	hellos := w.probesTo(1, Broadcast, 0, 80*time.Second)
	if len(hellos) != 16 {
		t.Fatalf("hellos in 80 s: %d, want 16", len(hellos))
	}
	for i, h := range hellos {
		want := i == 0 || i == 6 || i == 12
		if h.at != time.Duration(i)*cfg.Interval || !h.Hello || h.ReplyWanted != want || int(h.Burst)<<8|int(h.Seq) != i {
			t.Fatalf("hello %d: %+v at %v, want number %d at %v, reply wanted %v", i, h.Probe, h.at, i, time.Duration(i)*cfg.Interval, want)
		}
		if i > 0 && (len(h.IHU) != 1 || h.IHU[0] != (IHU{Nonce: 1007, Heard: HelloWindow})) {
			t.Fatalf("hello %d lists %v, want peer 7's nonce with 16", i, h.IHU)
		}
	}
	if len(w.events) != 1 {
		t.Fatalf("events on a stable link: %v", w.events)
	}
	if n := w.mustLookup(1, 7); n.State != Alive || n.helloKnown != HelloWindow || n.hearsUs != HelloWindow || n.Loss() != 0 || n.Cost != 5000 {
		t.Fatalf("stable neighbour: %+v", *n)
	}
}

// A reply to our hello also discovers a neighbour.
func TestDiscoveryByReply(t *testing.T) {
	w := newWorld(t, DefaultConfig())
	w.peer(1, 3, 2*ms)
	w.r.IfaceUp(0, 1)
	w.runUntil(time.Second)
	n := w.mustLookup(1, 3)
	if n.State != Alive || n.Cost != 3000 {
		t.Fatalf("neighbour found by its reply: %+v", *n)
	}
	if u := w.probesTo(1, 3, 0, time.Second); len(u) != DefaultConfig().Burst {
		t.Fatalf("burst after a discovering reply: %d probes", len(u))
	}
}

func TestRnodeIndexesUniqueAndReused(t *testing.T) {
	w := newWorld(t, DefaultConfig())
	w.r.IfaceUp(0, 1)
	w.r.IfaceUp(0, 2)
	for _, id := range []PeerID{7, 8, 9} {
		w.peer(1, id, 4*ms)
		w.hellos(1, id)
	}
	w.peer(2, 7, 4*ms) // the same peer id on another interface is another rnode
	w.hellos(2, 7)
	w.runUntil(3 * time.Second)
	seen := map[uint8]bool{}
	for i, k := range []key{{1, 7}, {1, 8}, {1, 9}, {2, 7}} {
		n := w.mustLookup(k.iface, k.peer)
		if int(n.Index) != i || seen[n.Index] {
			t.Fatalf("%v has index %d, want %d", k, n.Index, i)
		}
		seen[n.Index] = true
		if w.r.ByIndex(n.Index) != n {
			t.Fatalf("ByIndex(%d) disagrees with Lookup", n.Index)
		}
	}
	if got := len(w.r.Neighbours()); got != 4 {
		t.Fatalf("Neighbours() = %d", got)
	}
	if w.r.ByIndex(255) != nil || w.r.ByIndex(200) != nil {
		t.Fatal("ByIndex of a free or invalid index")
	}
	w.peers[key{1, 8}].silent = true
	w.runUntil(30 * time.Second)
	if w.r.Lookup(1, 8) != nil {
		t.Fatal("silent neighbour still there")
	}
	downs := w.eventsOf(Down, 0, 30*time.Second)
	if len(downs) != 1 || downs[0].N.Index != 1 {
		t.Fatalf("Down events: %v", downs)
	}
	w.peer(1, 10, 4*ms)
	w.hellos(1, 10)
	if n := w.mustLookup(1, 10); n.Index != 1 {
		t.Fatalf("new neighbour got index %d, want the freed index 1", n.Index)
	}
	w.runUntil(35 * time.Second)
	if ups := w.eventsOf(Up, 30*time.Second, 35*time.Second); len(ups) != 1 || ups[0].N.Index != 1 || ups[0].N.Peer != 10 {
		t.Fatalf("Up for the reused index: %v", ups)
	}
}

func TestTableFull(t *testing.T) {
	w := newWorld(t, DefaultConfig())
	w.r.IfaceUp(0, 1)
	for id := PeerID(1); id <= MaxNeighbours+1; id++ {
		w.peer(1, id, 4*ms).silent = true
		w.hear(1, id)
	}
	if len(w.r.nbs) != MaxNeighbours {
		t.Fatalf("table holds %d neighbours, want %d", len(w.r.nbs), MaxNeighbours)
	}
	for id := PeerID(1); id <= MaxNeighbours; id++ {
		if n := w.mustLookup(1, id); n.Index != uint8(id-1) {
			t.Fatalf("peer %d index %d", id, n.Index)
		}
	}
	if w.r.Lookup(1, MaxNeighbours+1) != nil {
		t.Fatal("the 256th neighbour got a slot")
	}
	// Its reply to our hello is dropped too, without a panic.
	w.r.Tick(w.now)
	w.flush()
	b := w.probesTo(1, Broadcast, 0, time.Second)
	if len(b) != 1 || !b[0].ReplyWanted || len(b[0].IHU) != MaxIHU {
		t.Fatalf("hello of a full table: %+v", b)
	}
	w.r.OnEcho(w.now+ms, 1, MaxNeighbours+1, Echo{Reply: true, Hello: true, Burst: b[0].Burst, Seq: b[0].Seq, Addr: peerAddr(1, 1)})
	w.flush()
	if w.r.Lookup(1, MaxNeighbours+1) != nil {
		t.Fatal("a reply found room in a full table")
	}
	w.r.IfaceDown(1)
	w.flush()
	if len(w.r.nbs) != 0 || len(w.r.Neighbours()) != 0 {
		t.Fatal("IfaceDown left neighbours")
	}
	if len(w.events) != 0 {
		t.Fatalf("events for neighbours never announced: %v", w.events)
	}
	w.r.IfaceUp(w.now, 1)
	w.hear(1, MaxNeighbours+1)
	if n := w.mustLookup(1, MaxNeighbours+1); n.Index != 0 {
		t.Fatalf("index after the table emptied: %d", n.Index)
	}
}

// Config.Neighbours bounds the table below MaxNeighbours ([limits]
// max_neighbours).
func TestTableLimit(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Neighbours = 3
	w := newWorld(t, cfg)
	w.r.IfaceUp(0, 1)
	for id := PeerID(1); id <= 10; id++ {
		w.peer(1, id, 4*ms).silent = true
		w.hear(1, id)
	}
	if len(w.r.nbs) != 3 || w.r.Lookup(1, 4) != nil {
		t.Fatalf("table holds %d neighbours, want 3", len(w.r.nbs))
	}
	cfg.Neighbours = MaxNeighbours + 1
	if cfg.Validate() == nil {
		t.Fatal("a limit above MaxNeighbours was accepted")
	}
}

// The cost formula, exactly: (RTT + HopCost) in µs × 1/(d_in × d_out).
func TestCostFormula(t *testing.T) {
	const now = time.Hour
	cases := []struct {
		name       string
		rtt, hop   time.Duration
		win        uint16 // its hellos we heard, bit 0 newest
		known      int    // slots of win known
		late       time.Duration
		hearsUs    int    // its count for us, -1 none yet
		probes     uint64 // our probe outcomes
		filled     int
		penalty    float64
		want       uint32
		wantIn     float64
		wantOut    float64
		wantLossAt float64
	}{
		{name: "rtt 4ms, no loss", rtt: 4 * ms, hop: ms, win: 0xFFFF, known: 16, hearsUs: 16, want: 5000, wantIn: 1, wantOut: 1},
		{name: "rtt 0: the per-hop term alone", hop: ms, win: 0xFFFF, known: 16, hearsUs: 16, want: 1000, wantIn: 1, wantOut: 1},
		{name: "rtt 9ms", rtt: 9 * ms, hop: ms, win: 0xFFFF, known: 16, hearsUs: 16, want: 10000, wantIn: 1, wantOut: 1},
		{name: "sub-µs rtt truncates", rtt: 4*ms + 999, hop: ms, win: 0xFFFF, known: 16, hearsUs: 16, want: 5000, wantIn: 1, wantOut: 1},
		{name: "we hear half its hellos -> double", rtt: 4 * ms, hop: ms, win: 0x5555, known: 16, hearsUs: 16, want: 10000, wantIn: 0.5, wantOut: 1},
		{name: "half, in a block", rtt: 4 * ms, hop: ms, win: 0x00FF, known: 16, hearsUs: 16, want: 10000, wantIn: 0.5, wantOut: 1},
		{name: "it hears half of ours -> double", rtt: 4 * ms, hop: ms, win: 0xFFFF, known: 16, hearsUs: 8, want: 10000, wantIn: 1, wantOut: 0.5},
		{name: "half each way -> x4", rtt: 4 * ms, hop: ms, win: 0x5555, known: 16, hearsUs: 8, want: 20000, wantIn: 0.5, wantOut: 0.5},
		{name: "1 in 4 lost in", rtt: 4 * ms, hop: ms, win: 0x7777, known: 16, hearsUs: 16, want: 6666, wantIn: 0.75, wantOut: 1},
		{name: "1 in 4 lost each way", rtt: 4 * ms, hop: ms, win: 0x7777, known: 16, hearsUs: 12, want: 8888, wantIn: 0.75, wantOut: 0.75},
		{name: "no IHU from it yet: d_out 1", rtt: 4 * ms, hop: ms, win: 0xFFFF, known: 16, hearsUs: -1, want: 5000, wantIn: 1, wantOut: 1},
		{name: "it hears none of ours: clamped to 1/16", rtt: 4 * ms, hop: ms, win: 0xFFFF, known: 16, hearsUs: 0, want: 80000, wantIn: 1, wantOut: 1.0 / 16},
		{name: "we hear none of its: clamped to 1/16", rtt: 4 * ms, hop: ms, win: 0, known: 16, hearsUs: 16, want: 80000, wantIn: 1.0 / 16, wantOut: 1},
		{name: "nothing either way: ETX 256", rtt: 4 * ms, hop: ms, win: 0, known: 16, hearsUs: 0, want: 1280000, wantIn: 1.0 / 16, wantOut: 1.0 / 16},
		{name: "bits older than the known slots do not count", rtt: 4 * ms, hop: ms, win: 0xFF0F, known: 4, hearsUs: 16, want: 5000, wantIn: 1, wantOut: 1},
		{name: "unknown slots count as heard without probe outcomes", rtt: 4 * ms, hop: ms, win: 0x1, known: 1, hearsUs: -1, want: 5000, wantIn: 1, wantOut: 1},
		{name: "unknown slots count at the probes' delivery ratio", rtt: 4 * ms, hop: ms, win: 0xF, known: 4, hearsUs: -1, probes: 0b0101, filled: 4, want: 8000, wantIn: 0.625, wantOut: 1},
		{name: "probe outcomes do not matter once 16 hellos are known", rtt: 4 * ms, hop: ms, win: 0xFFFF, known: 16, hearsUs: 16, probes: 0, filled: 16, want: 5000, wantIn: 1, wantOut: 1},
		{name: "hellos overdue count as missed", rtt: 4 * ms, hop: ms, win: 0xFFFF, known: 16, late: 2*5*time.Second + 500*ms, hearsUs: 16, want: 5714, wantIn: 14.0 / 16, wantOut: 1},
		{name: "a hello not yet overdue does not", rtt: 4 * ms, hop: ms, win: 0xFFFF, known: 16, late: 5*time.Second + 500*ms - 1, hearsUs: 16, want: 5000, wantIn: 1, wantOut: 1},
		{name: "penalty x3", rtt: 4 * ms, hop: ms, win: 0xFFFF, known: 16, hearsUs: 16, penalty: 3, want: 15000, wantIn: 1, wantOut: 1},
		{name: "clamped below at 1", win: 0xFFFF, known: 16, hearsUs: 16, want: 1, wantIn: 1, wantOut: 1},
		{name: "clamped above at 2^30", rtt: 30 * time.Second, hop: ms, win: 0, known: 16, hearsUs: 0, want: 1 << 30, wantIn: 1.0 / 16, wantOut: 1.0 / 16},
		{name: "large but not clamped", rtt: 2 * time.Second, hop: ms, win: 1, known: 16, hearsUs: 16, want: 2001000 * 16, wantIn: 1.0 / 16, wantOut: 1},
	}
	for _, c := range cases {
		cfg := DefaultConfig()
		cfg.HopCost = c.hop
		r, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		n := &Neighbour{RTT: c.rtt, helloWin: c.win, helloKnown: c.known, helloAt: now - c.late, hearsUs: c.hearsUs, window: c.probes, filled: c.filled}
		if c.penalty > 0 {
			n.Penalty = uint32(c.penalty * 1024)
		}
		if got := r.costOf(now, n); got != c.want {
			t.Errorf("%s: cost %d, want %d", c.name, got, c.want)
		}
		if n.DeliveryIn != c.wantIn || n.DeliveryOut != c.wantOut || n.Loss() != 1-c.wantIn*c.wantOut {
			t.Errorf("%s: delivery in %v out %v loss %v, want %v %v", c.name, n.DeliveryIn, n.DeliveryOut, n.Loss(), c.wantIn, c.wantOut)
		}
	}
}

// The same formula through the state machine: hellos lost one way or the
// other, and a link that carries no broadcast one way but unicast both.
func TestCostUnderLoss(t *testing.T) {
	odd := func(seq int) bool { return seq%2 == 1 }
	cases := []struct {
		name      string
		ours      func(k int, p Probe) bool // our packets lost on the way to it
		theirs    func(seq int) bool        // its hellos lost on the way to us
		wantCost  uint32
		wantLoss  float64
		wantEvent bool
	}{
		{"no loss", nil, nil, 5000, 0, false},
		{"it hears every other hello of ours", func(k int, p Probe) bool { return p.Hello && p.Seq%2 == 1 }, nil, 10000, 0.5, true},
		{"we hear every other hello of its", nil, odd, 10000, 0.5, true},
		{"every other hello lost each way", func(k int, p Probe) bool { return p.Hello && p.Seq%2 == 1 }, odd, 20000, 0.75, true},
		{"it hears no broadcast of ours, unicast works", func(k int, p Probe) bool { return p.To == Broadcast }, nil, 80000, 1 - 1.0/16, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := DefaultConfig()
			w := newWorld(t, cfg)
			w.r.IfaceUp(0, 1)
			p := w.peer(1, 7, 4*ms)
			p.lose, p.loseHello = c.ours, c.theirs
			w.at(100*ms, func() { w.hellos(1, 7) })
			w.runUntil(10 * time.Minute)
			n := w.mustLookup(1, 7)
			if got := w.r.costOf(w.now, n); got != c.wantCost {
				t.Errorf("formula cost %d, want %d", got, c.wantCost)
			}
			if math.Abs(n.Loss()-c.wantLoss) > 1e-9 {
				t.Errorf("loss %v, want %v", n.Loss(), c.wantLoss)
			}
			// The announced cost follows within ChangeRatio.
			if d := float64(n.Cost)/float64(c.wantCost) - 1; d > cfg.ChangeRatio || d < -cfg.ChangeRatio {
				t.Errorf("announced cost %d too far from %d", n.Cost, c.wantCost)
			}
			if downs := w.eventsOf(Down, 0, 1<<62); len(downs) != 0 {
				t.Errorf("a lossy but working link went down: %v", downs)
			}
			if got := len(w.eventsOf(CostChanged, 0, 1<<62)) > 0; got != c.wantEvent {
				t.Errorf("cost changes announced: %v, want %v", got, c.wantEvent)
			}
		})
	}
}

// Alternating loss over the measuring burst: no two probes in a row are
// lost, so the neighbour must not be killed, and until its hellos are
// known its d_in is the burst's delivery ratio.
func TestBurstAlternatingLossIsNotDeath(t *testing.T) {
	cfg := DefaultConfig()
	w := newWorld(t, cfg)
	w.r.IfaceUp(0, 1)
	w.runUntil(100 * ms)
	w.peer(1, 7, 4*ms).lose = func(k int, p Probe) bool { return k%2 == 1 }
	w.hellos(1, 7)
	w.runUntil(4 * time.Second) // burst sent by 850 ms, last outcome at 1.35 s
	if downs := w.eventsOf(Down, 0, 1<<62); len(downs) != 0 {
		t.Fatalf("neighbour losing every other probe declared dead at %v", downs[0].at)
	}
	n := w.mustLookup(1, 7)
	// One hello heard, 15 slots at 8/16: d_in = (16 + 15×8)/256.
	if n.State != Alive || n.DeliveryIn != 136.0/256 || n.Loss() < 0.4 || n.Loss() > 0.5 {
		t.Fatalf("%v, delivery in %v, loss %v", n.State, n.DeliveryIn, n.Loss())
	}
	if c := w.r.costOf(w.now, n); c != 9411 || float64(n.Cost) < float64(c)*(1-cfg.ChangeRatio) || len(w.eventsOf(CostChanged, 0, 1<<62)) == 0 {
		t.Fatalf("cost %d announced %d, want 9411 once the burst's losses are known", c, n.Cost)
	}
}

// The RTT is an EWMA with weight 1/4 for each new sample; the first sample
// is taken as is.
func TestRTTEWMA(t *testing.T) {
	cfg := DefaultConfig()
	w := newWorld(t, cfg)
	w.r.IfaceUp(0, 1)
	w.runUntil(100 * ms)
	p := w.peer(1, 7, 0)
	p.rtt = func(k int) time.Duration {
		if k == 0 {
			return 8 * ms
		}
		return 4 * ms
	}
	w.hellos(1, 7)
	want := []time.Duration{8 * ms, 7 * ms, 6250 * time.Microsecond, 5687500 * time.Nanosecond}
	for i, rtt := range want {
		w.runUntil(100*ms + time.Duration(i)*cfg.BurstGap + 10*ms)
		if got := w.mustLookup(1, 7).RTT; got != rtt {
			t.Fatalf("after sample %d RTT = %v, want %v", i, got, rtt)
		}
	}
	ups := w.eventsOf(Up, 0, time.Second)
	if len(ups) != 1 || ups[0].N.Cost != 6687 {
		t.Fatalf("Up after four samples: %v, want cost 6687 ((5.6875+1) ms)", ups)
	}
	w.runUntil(time.Second)
	// Twelve more 4 ms samples: the mean converges on 4 ms.
	// 1.6875 ms × (3/4)^12 = 53.5 µs above it.
	if got := w.mustLookup(1, 7).RTT; got < 4*ms+50*time.Microsecond || got > 4*ms+55*time.Microsecond {
		t.Fatalf("RTT after the burst: %v", got)
	}
}

// The first RTT sample is the mean's start even when probes were lost
// before it: it must not be averaged with a zero. Here the whole burst
// (one probe) is lost, so the neighbour waits as one-way until its hellos
// say it hears us, and is then measured by a new burst.
func TestFirstRTTSampleAfterLoss(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Burst = 1
	w := newWorld(t, cfg)
	w.r.IfaceUp(0, 1)
	w.runUntil(100 * ms)
	w.peer(1, 7, 4*ms).lose = func(k int, p Probe) bool { return k == 0 }
	w.hellos(1, 7)
	w.runUntil(time.Second)
	if n := w.mustLookup(1, 7); !n.oneWay || n.State != Measuring {
		t.Fatalf("after a burst with no answer: %+v", *n)
	}
	// It gets our hello at 5 s and says so at 5.1 s, but the hold-down
	// (one Interval after the failed burst, 5.6 s) is not over; at 10.1 s
	// it is: a new burst, answered.
	w.runUntil(11 * time.Second)
	if b := w.probesTo(1, 7, time.Second, 11*time.Second); len(b) != 1 || b[0].at != 10100*ms {
		t.Fatalf("second burst %v, want one probe at 10.1 s", b)
	}
	n := w.mustLookup(1, 7)
	if n.RTT != 4*ms {
		t.Fatalf("RTT %v after one 4 ms sample, want 4ms", n.RTT)
	}
	// 3 hellos heard, 13 unknown slots at the probes' 1/2: d_in = 19/32.
	ups := w.eventsOf(Up, 0, 11*time.Second)
	if len(ups) != 1 || ups[0].N.Cost != 8421 || ups[0].at != 10104*ms {
		t.Fatalf("Up = %v, want cost 5000 × 32/19 = 8421 at 10.104 s", ups)
	}
}

// A cost change is announced only when it moves by more than ChangeRatio
// from the last announced cost.
func TestCostChangedThreshold(t *testing.T) {
	cfg := DefaultConfig()
	cfg.RefreshEvery = 1 // an RTT sample with every hello
	w := newWorld(t, cfg)
	w.r.IfaceUp(0, 1)
	p := w.peer(1, 7, 0)
	p.rtt = func(k int) time.Duration {
		if k < 1+cfg.Burst { // the first hello (at 0) and the burst
			return 4 * ms
		}
		return 10 * ms
	}
	w.at(time.Second, func() { w.hellos(1, 7) })
	w.runUntil(4 * time.Second)
	if n := w.mustLookup(1, 7); n.Cost != 5000 || len(w.events) != 1 {
		t.Fatalf("before the change: %+v, events %v", *n, w.events)
	}
	// Hello at 5 s: RTT 4 -> 5.5 ms, cost 6500 = +30%: not more than
	// ChangeRatio, so not announced.
	w.runUntil(5*time.Second + 20*ms)
	if n := w.mustLookup(1, 7); n.RTT != 5500*time.Microsecond || w.r.costOf(w.now, n) != 6500 || n.Cost != 5000 {
		t.Fatalf("after one 10 ms sample: rtt %v formula %d announced %d", n.RTT, w.r.costOf(w.now, n), n.Cost)
	}
	if len(w.eventsOf(CostChanged, 0, 1<<62)) != 0 {
		t.Fatal("a +30% change was announced")
	}
	// Hello at 10 s: RTT 6.625 ms, cost 7625 = +52.5%: announced.
	w.runUntil(10*time.Second + 20*ms)
	cc := w.eventsOf(CostChanged, 0, 1<<62)
	if len(cc) != 1 || cc[0].N.Cost != 7625 || cc[0].at != 10*time.Second+10*ms {
		t.Fatalf("CostChanged: %v", cc)
	}
	// Further changes compare with the announced cost, each announced one
	// being more than 30% away from the previous announcement.
	w.runUntil(5 * time.Minute)
	prev := uint32(7625)
	for _, e := range w.eventsOf(CostChanged, 10*time.Second+20*ms, 1<<62) {
		if d := float64(e.N.Cost)/float64(prev) - 1; d <= cfg.ChangeRatio && d >= -cfg.ChangeRatio {
			t.Fatalf("announced %d after %d: change %.3f", e.N.Cost, prev, d)
		}
		prev = e.N.Cost
	}
	if n := w.mustLookup(1, 7); n.Cost != prev || w.r.costOf(w.now, n) < 10900 || w.r.costOf(w.now, n) > 11000 {
		t.Fatalf("final: announced %d (last event %d), formula %d", n.Cost, prev, w.r.costOf(w.now, n))
	}
}

// RTT jitter and rare loss below the threshold produce no event at all.
func TestJitterProducesNoEvents(t *testing.T) {
	cfg := DefaultConfig()
	cfg.RefreshEvery = 1
	w := newWorld(t, cfg)
	w.r.IfaceUp(0, 1)
	p := w.peer(1, 7, 0)
	x := uint32(12345)
	p.rtt = func(k int) time.Duration { // 3.5 .. 4.5 ms, pseudo-random
		x = x*1664525 + 1013904223
		return 3500*time.Microsecond + time.Duration(x>>8)%time.Millisecond
	}
	p.lose = func(k int, _ Probe) bool { return k > cfg.Burst && k%16 == 0 }
	w.at(time.Second, func() { w.hellos(1, 7) })
	w.runUntil(10 * time.Minute)
	if len(w.events) != 1 || w.events[0].Kind != Up {
		t.Fatalf("events on a jittery stable link: %v", w.events)
	}
}

// Failure detection: from the newest packet heard from the neighbour to
// Down takes exactly Interval + ProbeTimeout×(DeadAfter+1) (its next hello
// overdue by ProbeTimeout, then DeadAfter unanswered probes), whatever the
// phase of the failure.
func TestSilentFailureDetection(t *testing.T) {
	configs := map[string]Config{"default": DefaultConfig()}
	for name, c := range otherConfigs() {
		configs[name] = c
	}
	for name, cfg := range configs {
		t.Run(name, func(t *testing.T) {
			bound := cfg.Interval + cfg.ProbeTimeout*time.Duration(cfg.DeadAfter+1)
			var worstFromFailure, sumFromFailure time.Duration
			const phases = 25
			for i := range phases {
				w := newWorld(t, cfg)
				w.r.IfaceUp(0, 1)
				p := w.peer(1, 7, 4*ms)
				w.at(100*ms, func() { w.hellos(1, 7) })
				fail := time.Minute + cfg.Interval*time.Duration(i)/phases
				w.runUntil(fail)
				p.silent = true
				w.runUntil(fail + time.Minute)
				downs := w.eventsOf(Down, 0, 1<<62)
				if len(downs) != 1 {
					t.Fatalf("phase %d: Down events %v", i, downs)
				}
				down := downs[0].at
				if d := down - w.lastHeard(key{1, 7}, down); d != bound {
					t.Fatalf("phase %d: Down %v after the last packet heard, want exactly %v", i, d, bound)
				}
				worstFromFailure = max(worstFromFailure, down-fail)
				sumFromFailure += down - fail
				if ev := w.eventsOf(0, fail, 1<<62); len(ev) != 1 {
					t.Fatalf("phase %d: events after the failure: %v", i, ev)
				}
			}
			t.Logf("%s: Down %v after the last packet heard; after the failure: worst %v, mean %v",
				name, bound, worstFromFailure, sumFromFailure/phases)
			// A reply in flight at the failure still arrives: one RTT more.
			if worstFromFailure > bound+4*ms || worstFromFailure < bound-cfg.Interval/phases-10*ms {
				t.Errorf("worst %v after the failure: the bound is %v and a failure right after a hello must reach it", worstFromFailure, bound)
			}
		})
	}
}

// The detail of the failure sequence with the defaults: suspect when the
// next hello is ProbeTimeout late, DeadAfter unicast probes ProbeTimeout
// apart, Down when the last one times out.
func TestFailureSequence(t *testing.T) {
	cfg := DefaultConfig()
	w := newWorld(t, cfg)
	w.r.IfaceUp(0, 1)
	p := w.peer(1, 7, 4*ms)
	w.at(100*ms, func() { w.hellos(1, 7) })
	w.runUntil(30*time.Second + 500*ms) // hellos at 0.1, 5.1, ... 30.1 s heard
	p.silent = true
	suspect := 30100*ms + cfg.Interval + cfg.ProbeTimeout // its hello of 35.1 s is that late
	w.runUntil(suspect - 1)
	if n := w.mustLookup(1, 7); n.State != Alive {
		t.Fatalf("suspect before its hello was overdue: %v", n.State)
	}
	w.runUntil(suspect)
	if n := w.mustLookup(1, 7); n.State != Suspect || n.misses != 0 {
		t.Fatalf("once its hello is overdue: %v misses %d", n.State, n.misses)
	}
	w.runUntil(suspect + time.Minute)
	retries := w.probesTo(1, 7, suspect, suspect+time.Minute)
	if len(retries) != cfg.DeadAfter {
		t.Fatalf("%d unicast probes, want DeadAfter=%d", len(retries), cfg.DeadAfter)
	}
	for i, r := range retries {
		if want := suspect + cfg.ProbeTimeout*time.Duration(i); r.at != want {
			t.Fatalf("probe %d at %v, want %v", i, r.at, want)
		}
	}
	downs := w.eventsOf(Down, 0, 1<<62)
	if len(downs) != 1 || downs[0].at != suspect+cfg.ProbeTimeout*time.Duration(cfg.DeadAfter) {
		t.Fatalf("Down: %v", downs)
	}
	if d := downs[0].at - w.lastHeard(key{1, 7}, downs[0].at); d != 7*time.Second {
		t.Fatalf("default detection from the last packet heard: %v, want 7s", d)
	}
	if w.r.Lookup(1, 7) != nil || w.r.NextWakeup() < downs[0].at {
		t.Fatal("dead neighbour still in the table")
	}
	// After Down nothing is sent to it any more, and it is off the lists.
	if late := w.probesTo(1, 7, downs[0].at, 1<<62); len(late) != 0 {
		t.Fatalf("probes to a dead neighbour: %v", late)
	}
	for _, h := range w.probesTo(1, Broadcast, downs[0].at, 1<<62) {
		if len(h.IHU) != 0 {
			t.Fatalf("hello after Down lists %v", h.IHU)
		}
	}
}

// A suspect neighbour that answers again is alive again: no Down, no more
// probes.
func TestSuspectRecovers(t *testing.T) {
	cfg := DefaultConfig()
	w := newWorld(t, cfg)
	w.r.IfaceUp(0, 1)
	p := w.peer(1, 7, 4*ms)
	w.at(100*ms, func() { w.hellos(1, 7) })
	p.loseHello = func(seq int) bool { return seq == 7 } // its hello of 35.1 s
	suspect := 30100*ms + cfg.Interval + cfg.ProbeTimeout
	p.lose = func(k int, pr Probe) bool { return pr.To == 7 && w.now == suspect } // and our first probe
	w.runUntil(suspect + cfg.ProbeTimeout + 2*ms)
	if n := w.mustLookup(1, 7); n.State != Suspect || n.misses != 1 {
		t.Fatalf("after a lost hello and a lost probe: %v misses %d", n.State, n.misses)
	}
	w.runUntil(suspect + cfg.ProbeTimeout + 5*ms) // second probe answered 4 ms later
	if n := w.mustLookup(1, 7); n.State != Alive || n.misses != 0 {
		t.Fatalf("after the answered probe: %v misses %d", n.State, n.misses)
	}
	w.runUntil(5 * time.Minute)
	if d := w.eventsOf(Down, 0, 1<<62); len(d) != 0 {
		t.Fatalf("Down for a neighbour that answered: %v", d)
	}
	if r := w.probesTo(1, 7, suspect+cfg.ProbeTimeout+5*ms, 1<<62); len(r) != 0 {
		t.Fatalf("probes after recovery: %v", r)
	}
	if len(w.eventsOf(CostChanged, 0, 1<<62)) != 0 {
		t.Fatal("one lost hello announced a cost change")
	}
}

// A neighbour whose hello no longer lists us (or lists us with 0) cannot
// hear us: it is probed like an overdue one, and dies if it does not
// answer, although its hellos still arrive.
func TestDeafNeighbour(t *testing.T) {
	for _, answers := range []bool{false, true} {
		cfg := DefaultConfig()
		w := newWorld(t, cfg)
		w.r.IfaceUp(0, 1)
		p := w.peer(1, 7, 4*ms)
		w.at(100*ms, func() { w.hellos(1, 7) })
		w.runUntil(time.Minute)
		deaf := false
		p.hears = func() (uint8, bool) {
			if deaf {
				return 0, true
			}
			return HelloWindow, true
		}
		p.lose = func(k int, pr Probe) bool { return !answers }
		deaf = true
		w.runUntil(60100*ms + ms) // its hello at 60.1 s says it hears nothing
		if n := w.mustLookup(1, 7); n.State != Suspect {
			t.Fatalf("answers %v: deaf neighbour is %v", answers, n.State)
		}
		w.runUntil(2 * time.Minute)
		downs := w.eventsOf(Down, 0, 1<<62)
		if !answers {
			want := 60100*ms + cfg.ProbeTimeout*time.Duration(cfg.DeadAfter)
			if len(downs) != 1 || downs[0].at != want {
				t.Fatalf("deaf neighbour that does not answer: Down %v, want at %v", downs, want)
			}
			continue
		}
		// It answers unicast probes: alive, but each hello saying it hears
		// nothing costs a probe, and its cost is ETX 16.
		if len(downs) != 0 || w.mustLookup(1, 7).Cost != 80000 {
			t.Fatalf("deaf neighbour that answers: downs %v, %+v", downs, *w.mustLookup(1, 7))
		}
		if u := w.probesTo(1, 7, time.Minute, 2*time.Minute); len(u) != 12 {
			t.Fatalf("%d probes in a minute to a deaf neighbour that answers, want one per hello", len(u))
		}
	}
}

func TestIfaceDown(t *testing.T) {
	w := newWorld(t, DefaultConfig())
	w.r.IfaceUp(0, 1)
	w.r.IfaceUp(0, 2)
	for _, k := range []key{{1, 7}, {1, 8}, {2, 7}, {2, 9}} {
		w.peer(k.iface, k.peer, 4*ms)
		w.hellos(k.iface, k.peer)
	}
	w.runUntil(3 * time.Second)
	w.peer(1, 11, 4*ms).silent = true // still measuring when the link goes
	w.hear(1, 11)
	w.runUntil(3*time.Second + 100*ms)
	before := len(w.events)
	w.r.IfaceDown(1)
	w.flush()
	evs := w.events[before:]
	if len(evs) != 2 {
		t.Fatalf("IfaceDown(1) events: %v", evs)
	}
	got := map[PeerID]bool{}
	for _, e := range evs {
		if e.Kind != Down || e.N.Iface != 1 || e.at != w.now {
			t.Fatalf("event %v", e)
		}
		got[e.N.Peer] = true
	}
	if !got[7] || !got[8] {
		t.Fatalf("Down for %v, want peers 7 and 8", got)
	}
	for _, k := range []key{{1, 7}, {1, 8}, {1, 11}} {
		if w.r.Lookup(k.iface, k.peer) != nil {
			t.Fatalf("%v survived IfaceDown", k)
		}
	}
	// A down interface neither sends nor hears.
	w.runUntil(time.Minute)
	for _, k := range []key{{2, 7}, {2, 9}} {
		if n := w.mustLookup(k.iface, k.peer); n.State != Alive {
			t.Fatalf("%v on the other interface: %v", k, n.State)
		}
	}
	if b := w.probesTo(1, Broadcast, 3*time.Second+100*ms, 1<<62); len(b) != 0 {
		t.Fatalf("hellos on a down interface: %d", len(b))
	}
	if w.r.Lookup(1, 7) != nil {
		t.Fatal("a hello on a down interface created a neighbour")
	}
	if len(w.events) != before+2 {
		t.Fatalf("events after IfaceDown: %v", w.events[before+2:])
	}
	// IfaceDown of an unknown or already down interface is harmless.
	w.r.IfaceDown(1)
	w.r.IfaceDown(42)
	w.flush()
	// Back up: a hello asking for replies at once finds its neighbours.
	w.r.IfaceUp(w.now, 1)
	if w.r.NextWakeup() != w.now {
		t.Fatal("IfaceUp does not send a hello at once")
	}
	w.runUntil(w.now + 2*time.Second)
	if n := w.mustLookup(1, 7); n.State != Alive {
		t.Fatalf("after IfaceUp: %v", n.State)
	}
}

func TestIfaceUpProbesAtOnce(t *testing.T) {
	w := newWorld(t, DefaultConfig())
	w.r.IfaceUp(0, 1)
	w.runUntil(2 * time.Second)
	w.r.IfaceUp(w.now, 3)
	if got := w.r.NextWakeup(); got != 2*time.Second {
		t.Fatalf("NextWakeup after IfaceUp = %v", got)
	}
	w.r.Tick(w.now)
	ps := w.r.Probes()
	if len(ps) != 1 || ps[0].Iface != 3 || ps[0].To != Broadcast || !ps[0].Hello || !ps[0].ReplyWanted {
		t.Fatalf("packets after IfaceUp(3): %v", ps)
	}
	// IfaceUp of an interface already up does not reset its schedule.
	w.r.IfaceUp(w.now+ms, 3)
	w.r.Tick(w.now + ms)
	if ps := w.r.Probes(); len(ps) != 0 {
		t.Fatalf("IfaceUp twice sends again: %v", ps)
	}
}

func TestProbeNow(t *testing.T) {
	w := newWorld(t, DefaultConfig())
	w.r.IfaceUp(0, 1)
	w.r.IfaceUp(0, 2)
	w.r.IfaceUp(0, 3)
	w.r.IfaceDown(3)
	w.runUntil(2 * time.Second)
	w.r.ProbeNow(w.now)
	if w.r.NextWakeup() != w.now {
		t.Fatal("ProbeNow: no wakeup now")
	}
	w.runUntil(w.now)
	bs := 0
	for _, p := range w.sent {
		if p.at == 2*time.Second {
			bs++
			if p.To != Broadcast || p.Iface == 3 || !p.Hello || !p.ReplyWanted {
				t.Fatalf("ProbeNow sent %v", p)
			}
		}
	}
	if bs != 2 {
		t.Fatalf("ProbeNow sent %d hellos, want 2", bs)
	}
	// The schedule restarts from now, and the next hello is a plain one.
	w.runUntil(7*time.Second + 1)
	if b := w.probesTo(1, Broadcast, 2*time.Second+1, 7*time.Second); len(b) != 0 {
		t.Fatalf("hello before now+Interval: %v", b)
	}
	if b := w.probesTo(1, Broadcast, 7*time.Second, 7*time.Second+1); len(b) != 1 || b[0].ReplyWanted {
		t.Fatalf("at now+Interval: %v, want one plain hello", b)
	}
}

// A hello asks for replies when it is asked for (IfaceUp, ProbeNow) and
// when a neighbour's newest RTT sample is RefreshEvery intervals old; the
// replies it gets are RTT samples and probe outcomes, and a missing one is
// no sign of death.
func TestReplyWanted(t *testing.T) {
	cfg := DefaultConfig()
	w := newWorld(t, cfg)
	w.r.IfaceUp(0, 1)
	p := w.peer(1, 7, 4*ms)
	p.mute = func(pr Probe) bool { return pr.Hello && w.now >= time.Minute }
	w.at(100*ms, func() { w.hellos(1, 7) })
	w.runUntil(5 * time.Minute)
	var want []time.Duration
	for _, h := range w.probesTo(1, Broadcast, 0, 1<<62) {
		if h.ReplyWanted {
			want = append(want, h.at)
		}
	}
	// 0 (IfaceUp), then 30 s after the burst's samples, 60 s, then every
	// hello: the replies are lost from 60 s on.
	if len(want) < 4 || want[0] != 0 || want[1] != 30*time.Second || want[2] != 60*time.Second || want[3] != 65*time.Second {
		t.Fatalf("hellos wanting replies at %v", want)
	}
	if d := w.eventsOf(Down, 0, 1<<62); len(d) != 0 || w.mustLookup(1, 7).State != Alive {
		t.Fatalf("unanswered requests for replies killed it: %v", d)
	}
	n := w.mustLookup(1, 7)
	if n.filled != cfg.Window || n.window&mask(n.filled) != 0 || n.Cost != 5000 {
		t.Fatalf("the lost replies are outcomes, but its hellos give its cost: %+v", *n)
	}
}

// What a hello lists: every neighbour of the link with how many of its last
// 16 hellos we heard (unknown ones counted as heard, overdue ones as
// missed), or MaxIHU of them in turns.
func TestIHUList(t *testing.T) {
	cfg := DefaultConfig()
	w := newWorld(t, cfg)
	w.r.IfaceUp(0, 1)
	w.r.IfaceUp(0, 2)
	w.runUntil(100 * ms)
	a := w.peer(1, 7, 4*ms)
	a.loseHello = func(seq int) bool { return seq%4 == 1 }
	w.hellos(1, 7)
	w.peer(1, 8, 4*ms)
	w.hellos(1, 8)
	w.peer(2, 9, 4*ms)
	w.hellos(2, 9)
	w.runUntil(2*time.Minute + 1)
	hellos := w.probesTo(1, Broadcast, 2*time.Minute, 2*time.Minute+1)
	if len(hellos) != 1 {
		t.Fatalf("hellos at 2 min: %v", hellos)
	}
	if got := hellos[0].IHU; len(got) != 2 || got[0] != (IHU{1007, 12}) || got[1] != (IHU{1008, 16}) {
		t.Fatalf("IHU on iface 1: %v, want 1007 with 12 (one in four lost), 1008 with 16", got)
	}
	// Peer 8 goes silent: its overdue hello counts as missed in a list
	// sent before it is declared dead.
	w.peers[key{1, 8}].silent = true
	w.runUntil(121 * time.Second)
	w.r.ProbeNow(w.now)
	w.runUntil(w.now)
	h := w.probesTo(1, Broadcast, 121*time.Second, 1<<62)
	if len(h) != 1 || len(h[0].IHU) != 2 || h[0].IHU[1] != (IHU{1008, 15}) {
		t.Fatalf("hello after a missed hello of peer 8: %v", h)
	}

	// 40 neighbours on one link: 32 per hello, in turns, every one listed
	// within two hellos.
	w2 := newWorld(t, cfg)
	w2.r.IfaceUp(0, 1)
	for id := PeerID(1); id <= 40; id++ {
		w2.peer(1, id, ms)
		w2.hellos(1, id)
	}
	w2.runUntil(time.Minute)
	hs := w2.probesTo(1, Broadcast, 30*time.Second, 45*time.Second)
	if len(hs) != 3 {
		t.Fatalf("%d hellos", len(hs))
	}
	for i := 0; i < 2; i++ {
		seen := map[uint32]bool{}
		for _, h := range hs[i : i+2] {
			if len(h.IHU) != MaxIHU {
				t.Fatalf("hello lists %d of 40 neighbours, want %d", len(h.IHU), MaxIHU)
			}
			for _, e := range h.IHU {
				seen[e.Nonce] = true
				if e.Heard != HelloWindow {
					t.Fatalf("entry %v", e)
				}
			}
		}
		if len(seen) != 40 {
			t.Fatalf("two hellos in a row list %d of the 40 neighbours", len(seen))
		}
	}
	if len(w2.eventsOf(0, 0, 1<<62)) != 40 {
		t.Fatalf("events with 40 neighbours: %d, want 40 Up", len(w2.events))
	}
}

// Hello numbers: gaps are losses, a late one fills its slot, duplicates do
// nothing, the 24-bit counter wraps, a counter that went back restarts.
func TestHelloNumbers(t *testing.T) {
	steps := []struct {
		seq   uint32
		win   uint16
		known int
	}{
		{0xFFFFFD, 0b1, 1},
		{0xFFFFFE, 0b11, 2},
		{0x000001, 0b11001, 5}, // wrapped; 0xFFFFFF and 0 missed
		{0x000001, 0b11001, 5}, // duplicate
		{0x000000, 0b11011, 5}, // late
		{0x000013, 0b1, 16},    // 17 missed: everything known is a loss
		{0x000002, 0b1, 1},     // 17 back: its counter restarted
		{0x000003, 0b11, 2},
	}
	n := &Neighbour{}
	for i, s := range steps {
		n.helloHeard(time.Duration(i), s.seq)
		if n.helloWin != s.win || n.helloKnown != s.known {
			t.Fatalf("step %d (seq %#x): window %b known %d, want %b %d", i, s.seq, n.helloWin, n.helloKnown, s.win, s.known)
		}
	}
}

// snapshot is the measurement state a bogus reply must not touch.
type snapshot struct {
	window               uint64
	filled, misses       int
	rtt                  time.Duration
	state                State
	addr                 netip.Addr
	hooking              bool
	nonce                uint32
	nextRetry, lastHeard time.Duration
	cost                 uint32
	announced            bool
	burstLeft, pending   int
	nbsLen               int
}

func snap(r *Radar, n *Neighbour) snapshot {
	return snapshot{n.window, n.filled, n.misses, n.RTT, n.State, n.Addr, n.Hooking, n.Nonce,
		n.nextRetry, n.lastHeard, n.Cost, n.announced, n.burstLeft, n.pending, len(r.nbs)}
}

func reply(k key, p Probe) Echo {
	return Echo{Reply: true, Hello: p.Hello, Burst: p.Burst, Seq: p.Seq, Nonce: uint32(1000 + k.peer), Addr: peerAddr(k.iface, k.peer)}
}

func TestIgnoredReplies(t *testing.T) {
	cfg := DefaultConfig()
	w := newWorld(t, cfg)
	w.r.IfaceUp(0, 1)
	w.r.IfaceUp(0, 2)
	P, Q, R := key{1, 7}, key{1, 8}, key{2, 9}
	for _, k := range []key{P, Q, R} {
		w.peer(k.iface, k.peer, 4*ms)
		w.hear(k.iface, k.peer)
	}
	w.runUntil(3 * time.Second)
	for _, k := range []key{P, Q, R} {
		w.peers[k].silent = true // from here on the test answers by hand
	}
	nP, nQ, nR := w.mustLookup(1, 7), w.mustLookup(1, 8), w.mustLookup(2, 9)
	unchanged := func(what string, want map[*Neighbour]snapshot) {
		t.Helper()
		w.flush()
		for n, s := range want {
			if got := snap(w.r, n); got != s {
				t.Fatalf("%s changed neighbour %d:\n got %+v\nwant %+v", what, n.Index, got, s)
			}
		}
		if len(w.events) != 3 {
			t.Fatalf("%s: events %v", what, w.events[3:])
		}
	}
	all := func() map[*Neighbour]snapshot {
		return map[*Neighbour]snapshot{nP: snap(w.r, nP), nQ: snap(w.r, nQ), nR: snap(w.r, nR)}
	}

	// Unknown burst/seq, from a known and from an unknown peer, as a reply
	// to a hello and to a probe.
	s := all()
	for _, hello := range []bool{false, true} {
		w.r.OnEcho(w.now, 1, 7, Echo{Reply: true, Hello: hello, Burst: 0xFFFF, Seq: 0xFF, Nonce: 1007, Addr: peerAddr(1, 7)})
		w.r.OnEcho(w.now, 1, 99, Echo{Reply: true, Hello: hello, Burst: 0xFFFF, Seq: 0xFE, Addr: peerAddr(1, 99)})
	}
	unchanged("unknown burst/seq", s)
	if w.r.Lookup(1, 99) != nil {
		t.Fatal("a reply to no probe created a neighbour")
	}

	// A hello asking for replies on each interface, answered by hand.
	w.r.ProbeNow(w.now)
	w.runUntil(w.now)
	t0 := w.now
	b1 := w.probesTo(1, Broadcast, t0, t0+1)
	b2 := w.probesTo(2, Broadcast, t0, t0+1)
	if len(b1) != 1 || len(b2) != 1 || !b1[0].ReplyWanted {
		t.Fatalf("ProbeNow: %v %v", b1, b2)
	}

	// A reply to the hello that does not say so is a reply to a probe
	// with that id: there is none.
	bad := reply(P, b1[0].Probe)
	bad.Hello = false
	w.r.OnEcho(w.now, 1, 7, bad)
	unchanged("reply to a hello without the hello flag", s)

	// A good reply counts once; its duplicate not at all.
	fill := nP.filled
	w.now = t0 + 2*ms
	w.r.OnEcho(w.now, 1, 7, reply(P, b1[0].Probe))
	w.flush()
	if nP.window&1 != 1 || nP.RTT == 0 || nP.filled != min(fill+1, cfg.Window) || nP.lastHeard != w.now {
		t.Fatalf("a good reply was not counted: %+v", *nP)
	}
	s = all()
	w.now = t0 + 3*ms
	w.r.OnEcho(w.now, 1, 7, reply(P, b1[0].Probe))
	unchanged("duplicate reply to a hello", s)

	// Late: R's reply after ProbeTimeout (before any Tick) is a lost probe.
	s = all()
	w.now = t0 + cfg.ProbeTimeout + 1
	w.r.OnEcho(w.now, 2, 9, reply(R, b2[0].Probe))
	unchanged("late reply", s)
	w.r.Tick(w.now) // a Tick a nanosecond late expires the hellos
	w.flush()

	// The silent neighbours become suspect when their next hello is late
	// and get unicast probes; P answering Q's is not Q answering it.
	late := w.r.deadline(nQ)
	w.runUntil(late)
	if nQ.State != Suspect || nR.State != Suspect {
		t.Fatalf("overdue: Q %v R %v", nQ.State, nR.State)
	}
	rq := w.probesTo(1, 8, late, 1<<62)
	if len(rq) != 1 {
		t.Fatalf("probes to Q: %v", rq)
	}
	s = all()
	w.now = late + ms
	w.r.OnEcho(w.now, 1, 7, reply(P, rq[0].Probe))
	unchanged("reply to a unicast probe from another peer", s)
	w.r.OnEcho(w.now, 2, 9, reply(R, rq[0].Probe))
	unchanged("reply to a unicast probe on another interface", s)
	w.r.OnEcho(w.now, 1, 8, Echo{Reply: true, Hello: true, Burst: rq[0].Burst, Seq: rq[0].Seq, Nonce: 1008, Addr: peerAddr(1, 8)})
	unchanged("reply to a probe that says it answers a hello", s)
	// Q's own answer counts, once; a duplicate of it (the unicast probe is
	// closed) does not.
	w.now = late + 2*ms
	w.r.OnEcho(w.now, 1, 8, reply(Q, rq[0].Probe))
	w.flush()
	if nQ.State != Alive || nQ.misses != 0 || nQ.pending != 0 {
		t.Fatalf("Q answered its probe: %v misses %d pending %d", nQ.State, nQ.misses, nQ.pending)
	}
	s = all()
	w.now = late + 3*ms
	w.r.OnEcho(w.now, 1, 8, reply(Q, rq[0].Probe))
	unchanged("duplicate unicast reply", s)
	// A duplicate-sending peer over a whole run counts each probe once.
	w2 := newWorld(t, cfg)
	w2.r.IfaceUp(0, 1)
	w2.peer(1, 7, 4*ms).dup = true
	w2.hellos(1, 7)
	w2.runUntil(time.Minute)
	if n := w2.mustLookup(1, 7); n.Loss() != 0 || n.Cost != 5000 || n.filled != cfg.Window || n.window&mask(n.filled) != mask(n.filled) {
		t.Fatalf("duplicating peer: %+v", *n)
	}
}

func TestAddrChanged(t *testing.T) {
	cfg := DefaultConfig()
	w := newWorld(t, cfg)
	w.r.IfaceUp(0, 1)
	p := w.peer(1, 7, 4*ms)
	p.addr, p.hooking, p.nonce = netip.Addr{}, true, 5
	w.hear(1, 7)
	if n := w.mustLookup(1, 7); !n.Hooking || n.Nonce != 5 || n.Addr.IsValid() {
		t.Fatalf("hooking neighbour: %+v", *n)
	}
	// It hooks while we measure: no event, Up carries the new state.
	a := netip.MustParseAddr("10.1.2.3")
	p.addr, p.hooking, p.nonce = a, false, 0
	w.hellos(1, 7)
	w.runUntil(3 * time.Second)
	if len(w.events) != 1 || w.events[0].Kind != Up || w.events[0].N.Addr != a || w.events[0].N.Hooking {
		t.Fatalf("events: %v", w.events)
	}
	steps := []struct {
		name string
		mut  func()
	}{
		{"address", func() { p.addr = netip.MustParseAddr("10.1.2.4") }},
		{"hooking flag", func() { p.hooking = true }},
		{"nonce", func() { p.nonce = 77 }},
		{"IPv6 address", func() { p.addr = netip.MustParseAddr("fd00::1") }},
	}
	at := 3 * time.Second
	for _, s := range steps {
		s.mut()
		// Via its next hello.
		at += cfg.Interval
		w.runUntil(at)
		ev := w.eventsOf(AddrChanged, at-cfg.Interval, at)
		if len(ev) != 1 || ev[0].N.Addr != p.addr || ev[0].N.Hooking != p.hooking || ev[0].N.Nonce != p.nonce {
			t.Fatalf("%s: AddrChanged events %v", s.name, ev)
		}
	}
	// A new nonce is a new identity: its hello count starts again.
	if n := w.mustLookup(1, 7); n.helloKnown > 3 {
		t.Fatalf("hello slots known %d after the nonce changed", n.helloKnown)
	}
	// Unchanged values: nothing, not even a cost change.
	w.runUntil(at + time.Minute)
	if ev := w.eventsOf(0, at, 1<<62); len(ev) != 0 {
		t.Fatalf("events without a change: %v", ev)
	}
	// Via a reply: at once.
	p.addr = netip.MustParseAddr("10.9.9.9")
	before := len(w.events)
	w.r.ProbeNow(w.now)
	w.runUntil(w.now + 10*ms)
	if len(w.events) != before+1 || w.events[before].Kind != AddrChanged || w.events[before].N.Addr != p.addr {
		t.Fatalf("AddrChanged from a reply: %v", w.events[before:])
	}
}

// NextWakeup is never in the past, Tick at NextWakeup always moves it
// forward, and a Tick before NextWakeup does nothing.
func TestNextWakeupProgress(t *testing.T) {
	r, _ := New(DefaultConfig())
	if r.NextWakeup() != 1<<63-1 {
		t.Fatal("idle radar wants a wakeup")
	}
	w := newWorld(t, DefaultConfig())
	w.r.IfaceUp(0, 1)
	w.r.IfaceUp(0, 2)
	w.peer(1, 7, 4*ms)
	w.peer(1, 8, 4*ms).lose = func(k int, _ Probe) bool { return k%3 == 2 }
	w.peers[key{1, 8}].loseHello = func(seq int) bool { return seq%3 == 1 }
	w.peer(2, 9, 4*ms).silent = true
	w.hellos(1, 7)
	w.hellos(1, 8)
	w.hear(2, 9)
	prev := time.Duration(-1)
	for i := range 2000 {
		next := w.r.NextWakeup()
		if next <= prev {
			t.Fatalf("step %d: NextWakeup %v did not advance past %v", i, next, prev)
		}
		if next > w.now+w.cfg.Interval {
			t.Fatalf("step %d: NextWakeup %v more than an Interval after %v", i, next, w.now)
		}
		// Halfway to it nothing is due.
		if mid := w.now + (next-w.now)/2; mid < next && mid > w.now {
			w.r.Tick(mid)
			if ps, evs := w.r.Probes(), w.r.Events(); len(ps)+len(evs) != 0 || w.r.NextWakeup() != next {
				t.Fatalf("Tick(%v) before NextWakeup %v did work: %v %v", mid, next, ps, evs)
			}
		}
		w.runUntil(next)
		prev = next
		if i == 1000 {
			w.hear(2, 9) // rediscovered (its burst is due now) and dropped again
			prev = w.now - 1
		}
	}
}

// A penalty (wifi figures) multiplies the measured cost; a large one is
// announced as a cost change, unknown neighbours and nonsense are refused.
func TestPenalty(t *testing.T) {
	cfg := DefaultConfig()
	w := newWorld(t, cfg)
	w.r.IfaceUp(0, 1)
	w.peer(1, 7, 4*ms)
	w.hellos(1, 7)
	w.runUntil(4 * time.Second)
	n := w.mustLookup(1, 7)
	if n.Cost != 5000 {
		t.Fatalf("cost before the penalty %d", n.Cost)
	}
	if w.r.SetPenalty(1, 99, 3) {
		t.Fatal("penalty accepted for an unknown neighbour")
	}
	w.r.Events()
	if !w.r.SetPenalty(1, 7, 1.2) || w.r.costOf(w.now, n) != 6000 || n.Cost != 5000 {
		t.Fatalf("x1.2: formula %d announced %d (below the change ratio: not announced)", w.r.costOf(w.now, n), n.Cost)
	}
	w.r.SetPenalty(1, 7, 3)
	ev := w.r.Events()
	if w.r.costOf(w.now, n) != 15000 || n.Cost != 15000 || len(ev) != 1 || ev[0].Kind != CostChanged {
		t.Fatalf("x3: formula %d announced %d events %v", w.r.costOf(w.now, n), n.Cost, ev)
	}
	for _, bad := range []float64{0, -5, math.NaN()} {
		w.r.SetPenalty(1, 7, bad)
		if w.r.costOf(w.now, n) != 5000 {
			t.Fatalf("penalty %v: cost %d, want the plain 5000", bad, w.r.costOf(w.now, n))
		}
	}
	w.r.SetPenalty(1, 7, math.Inf(1))
	if w.r.costOf(w.now, n) != 5000*64 {
		t.Fatalf("infinite penalty: cost %d, want clamped to x64", w.r.costOf(w.now, n))
	}
}
