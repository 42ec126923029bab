package radar

import (
	"math"
	"math/bits"
	"net/netip"
	"testing"
	"time"
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
		"burst 0":                func(c *Config) { c.Burst = 0 },
		"burst 65":               func(c *Config) { c.Burst = 65 },
		"dead after 0":           func(c *Config) { c.DeadAfter = 0 },
		"window 0":               func(c *Config) { c.Window = 0 },
		"window 65":              func(c *Config) { c.Window = 65 },
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
}

// Discovery: an ECHO_ME creates a Measuring neighbour, the burst measures
// it, and it is announced (Up) once four replies are in.
func TestDiscoveryBurstAndUp(t *testing.T) {
	cfg := DefaultConfig()
	w := newWorld(t, cfg)
	w.r.IfaceUp(0, 1)
	w.runUntil(100 * ms)
	if b := w.probesTo(1, Broadcast, 0, 100*ms); len(b) != 1 || b[0].at != 0 {
		t.Fatalf("IfaceUp: broadcast probes %v, want one at 0", b)
	}

	w.peer(1, 7, 4*ms)
	w.hear(1, 7)
	n := w.mustLookup(1, 7)
	if n.State != Measuring || n.Index != 0 || n.Cost != 0 || n.Addr != peerAddr(1, 7) {
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
		if want := 100*ms + time.Duration(i)*cfg.BurstGap; p.at != want {
			t.Fatalf("burst probe %d at %v, want %v", i, p.at, want)
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
	if len(w.events) != 1 {
		t.Fatalf("more than one event for a perfect link: %v", w.events)
	}
	// Then the stable schedule: no further unicast probes, one broadcast
	// per Interval, no events.
	w.runUntil(60 * time.Second)
	if u := w.probesTo(1, 7, 4*time.Second, 60*time.Second); len(u) != 0 {
		t.Fatalf("unicast probes to a stable neighbour: %d", len(u))
	}
	if b := w.probesTo(1, Broadcast, 0, 60*time.Second); len(b) != 12 {
		t.Fatalf("broadcast probes in 60 s: %d, want 12", len(b))
	}
	if len(w.events) != 1 {
		t.Fatalf("events on a stable link: %v", w.events)
	}
	if n := w.mustLookup(1, 7); n.State != Alive || n.filled != cfg.Window || n.Loss() != 0 {
		t.Fatalf("stable neighbour: %+v", *n)
	}
}

// A reply to our broadcast probe also discovers a neighbour.
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
		w.hear(1, id)
	}
	w.peer(2, 7, 4*ms) // the same peer id on another interface is another rnode
	w.hear(2, 7)
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
	w.hear(1, 10)
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
	// Its reply to our broadcast probe is dropped too, without a panic.
	w.r.Tick(w.now)
	w.flush()
	b := w.probesTo(1, Broadcast, 0, time.Second)
	w.r.OnReply(w.now+ms, 1, MaxNeighbours+1, b[0].Burst, b[0].Seq, false, 0, peerAddr(1, 1))
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

// The cost formula, exactly: (RTT + HopCost) in µs × filled / answered.
func TestCostFormula(t *testing.T) {
	ones := func(k int) uint64 { return mask(k) }
	cases := []struct {
		name   string
		rtt    time.Duration
		hop    time.Duration
		window uint64
		filled int
		want   uint32
	}{
		{"rtt 4ms, no loss", 4 * ms, ms, ones(16), 16, 5000},
		{"rtt 0: the per-hop term alone", 0, ms, ones(16), 16, 1000},
		{"rtt 9ms", 9 * ms, ms, ones(16), 16, 10000},
		{"sub-µs rtt truncates", 4*ms + 999, ms, ones(16), 16, 5000},
		{"half lost -> double", 4 * ms, ms, 0x5555, 16, 10000},
		{"half lost, in a block", 4 * ms, ms, 0x00FF, 16, 10000},
		{"1 in 4 lost", 4 * ms, ms, 0x7777, 16, 6666},
		{"15 of 16 lost", 4 * ms, ms, 1, 16, 80000},
		{"window not yet full", 4 * ms, ms, 0b101, 3, 7500},
		{"bits older than the window do not count", 4 * ms, ms, 0xFF00 | 0xF, 4, 5000},
		{"window of 64", 4 * ms, ms, ^uint64(0) >> 32, 64, 10000},
		{"clamped below at 1", 0, 0, ones(16), 16, 1},
		{"clamped above at 2^30", 30 * time.Second, ms, 1, 64, 1 << 30},
		{"large but not clamped", 2 * time.Second, ms, 1, 64, 2001000 * 64},
	}
	for _, c := range cases {
		cfg := DefaultConfig()
		cfg.HopCost = c.hop
		cfg.Window = max(c.filled, 1)
		r, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		n := &Neighbour{RTT: c.rtt, window: c.window, filled: c.filled}
		if got := r.costOf(n); got != c.want {
			t.Errorf("%s: cost %d, want %d", c.name, got, c.want)
		}
		wantLoss := 1 - float64(bits.OnesCount64(c.window&mask(c.filled)))/float64(c.filled)
		if got := n.Loss(); got != wantLoss {
			t.Errorf("%s: loss %v, want %v", c.name, got, wantLoss)
		}
	}
	// Nothing answered at all is the worst cost there is.
	r, _ := New(DefaultConfig())
	if got := r.costOf(&Neighbour{RTT: 4 * ms, filled: 16}); got < 1<<30 {
		t.Errorf("cost with every probe lost = %d, want >= 2^30", got)
	}
	if (&Neighbour{}).Loss() != 0 {
		t.Error("loss of an unmeasured neighbour")
	}
}

// The same formula through the state machine: a peer that hears no
// broadcast probe (common on wifi: broadcasts get no link-layer retries)
// but answers every unicast retry loses exactly half of the probes.
func TestCostUnderLoss(t *testing.T) {
	cases := []struct {
		name     string
		lose     func(k int, p Probe) bool
		wantCost uint32
		wantLoss float64
	}{
		{"no loss", nil, 5000, 0},
		{"every broadcast lost: half lost, cost doubles",
			func(k int, p Probe) bool { return p.To == Broadcast }, 10000, 0.5},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := DefaultConfig()
			w := newWorld(t, cfg)
			w.r.IfaceUp(0, 1)
			w.peer(1, 7, 4*ms).lose = c.lose
			w.hear(1, 7)
			w.runUntil(10 * time.Minute)
			n := w.mustLookup(1, 7)
			if got := w.r.costOf(n); got != c.wantCost {
				t.Errorf("formula cost %d, want %d", got, c.wantCost)
			}
			if n.Loss() != c.wantLoss {
				t.Errorf("loss %v, want %v", n.Loss(), c.wantLoss)
			}
			// The announced cost follows within ChangeRatio.
			if d := float64(n.Cost)/float64(c.wantCost) - 1; d > cfg.ChangeRatio || d < -cfg.ChangeRatio {
				t.Errorf("announced cost %d too far from %d", n.Cost, c.wantCost)
			}
			if downs := w.eventsOf(Down, 0, 1<<62); len(downs) != 0 {
				t.Errorf("a lossy but working link went down: %v", downs)
			}
			if c.lose != nil && len(w.eventsOf(CostChanged, 0, 1<<62)) == 0 {
				t.Error("loss never announced")
			}
		})
	}
}

// Alternating loss over the measuring burst: in send order no two probes
// in a row are lost, so the neighbour must not be killed, and its cost is
// double that of a clean link.
func TestBurstAlternatingLossIsNotDeath(t *testing.T) {
	cfg := DefaultConfig()
	w := newWorld(t, cfg)
	w.r.IfaceUp(0, 1)
	w.runUntil(100 * ms)
	w.peer(1, 7, 4*ms).lose = func(k int, p Probe) bool { return k%2 == 1 }
	w.hear(1, 7)
	w.runUntil(4 * time.Second) // burst sent by 850 ms, last outcome at 1.85 s
	if downs := w.eventsOf(Down, 0, 1<<62); len(downs) != 0 {
		t.Fatalf("neighbour losing every other probe declared dead at %v (misses counted in arrival order, not send order)", downs[0].at)
	}
	n := w.mustLookup(1, 7)
	if n.Loss() < 0.3 || n.Loss() > 0.7 {
		t.Fatalf("loss %v", n.Loss())
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
	w.hear(1, 7)
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
// before it: it must not be averaged with a zero.
func TestFirstRTTSampleAfterLoss(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Burst = 1
	w := newWorld(t, cfg)
	w.r.IfaceUp(0, 1)
	w.runUntil(100 * ms)
	w.peer(1, 7, 4*ms).lose = func(k int, p Probe) bool { return k == 0 }
	w.hear(1, 7) // its only burst probe is lost; the next broadcast at 5 s is answered
	w.runUntil(6 * time.Second)
	n := w.mustLookup(1, 7)
	if n.RTT != 4*ms {
		t.Fatalf("RTT %v after one 4 ms sample, want 4ms", n.RTT)
	}
	ups := w.eventsOf(Up, 0, 6*time.Second)
	if len(ups) != 1 || ups[0].N.Cost != 10000 {
		t.Fatalf("Up = %v, want cost (4+1) ms × 2/1 = 10000", ups)
	}
}

// A cost change is announced only when it moves by more than ChangeRatio
// from the last announced cost.
func TestCostChangedThreshold(t *testing.T) {
	cfg := DefaultConfig()
	w := newWorld(t, cfg)
	w.r.IfaceUp(0, 1)
	p := w.peer(1, 7, 0)
	p.rtt = func(k int) time.Duration {
		if k < 1+cfg.Burst { // the first broadcast (at 0) and the burst
			return 4 * ms
		}
		return 10 * ms
	}
	w.runUntil(4 * time.Second)
	if n := w.mustLookup(1, 7); n.Cost != 5000 || len(w.events) != 1 {
		t.Fatalf("before the change: %+v, events %v", *n, w.events)
	}
	// Broadcast at 5 s: RTT 4 -> 5.5 ms, cost 6500 = +30%: not more than
	// ChangeRatio, so not announced.
	w.runUntil(5*time.Second + 20*ms)
	if n := w.mustLookup(1, 7); n.RTT != 5500*time.Microsecond || w.r.costOf(n) != 6500 || n.Cost != 5000 {
		t.Fatalf("after one 10 ms sample: rtt %v formula %d announced %d", n.RTT, w.r.costOf(n), n.Cost)
	}
	if len(w.eventsOf(CostChanged, 0, 1<<62)) != 0 {
		t.Fatal("a +30% change was announced")
	}
	// Broadcast at 10 s: RTT 6.625 ms, cost 7625 = +52.5%: announced.
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
	if n := w.mustLookup(1, 7); n.Cost != prev || w.r.costOf(n) < 10900 || w.r.costOf(n) > 11000 {
		t.Fatalf("final: announced %d (last event %d), formula %d", n.Cost, prev, w.r.costOf(n))
	}
}

// RTT jitter and rare loss below the threshold produce no event at all.
func TestJitterProducesNoEvents(t *testing.T) {
	cfg := DefaultConfig()
	w := newWorld(t, cfg)
	w.r.IfaceUp(0, 1)
	p := w.peer(1, 7, 0)
	x := uint32(12345)
	p.rtt = func(k int) time.Duration { // 3.5 .. 4.5 ms, pseudo-random
		x = x*1664525 + 1013904223
		return 3500*time.Microsecond + time.Duration(x>>8)%time.Millisecond
	}
	p.lose = func(k int, _ Probe) bool { return k > cfg.Burst && k%16 == 0 }
	w.hear(1, 7)
	w.runUntil(10 * time.Minute)
	if len(w.events) != 1 || w.events[0].Kind != Up {
		t.Fatalf("events on a jittery stable link: %v", w.events)
	}
}

// Failure detection: the worst case from the last answered probe to Down is
// Interval + ProbeTimeout×(DeadAfter+1), whatever the phase of the failure.
func TestSilentFailureDetection(t *testing.T) {
	configs := map[string]Config{"default": DefaultConfig()}
	for name, c := range recommendedConfigs() {
		configs[name] = c
	}
	for name, cfg := range configs {
		t.Run(name, func(t *testing.T) {
			bound := cfg.Interval + cfg.ProbeTimeout*time.Duration(cfg.DeadAfter+1)
			var worst, worstFromFailure, sumFromFailure time.Duration
			const phases = 25
			for i := range phases {
				w := newWorld(t, cfg)
				w.r.IfaceUp(0, 1)
				p := w.peer(1, 7, 4*ms)
				w.hear(1, 7)
				fail := time.Minute + cfg.Interval*time.Duration(i)/phases
				w.runUntil(fail)
				p.silent = true
				w.runUntil(fail + time.Minute)
				downs := w.eventsOf(Down, 0, 1<<62)
				if len(downs) != 1 {
					t.Fatalf("phase %d: Down events %v", i, downs)
				}
				down := downs[0].at
				last := w.lastAnswered(key{1, 7}, down)
				if d := down - last; d > bound {
					t.Fatalf("phase %d: Down %v after the last answered probe, bound %v", i, d, bound)
				} else {
					worst = max(worst, d)
				}
				worstFromFailure = max(worstFromFailure, down-fail)
				sumFromFailure += down - fail
				if ev := w.eventsOf(0, fail, 1<<62); len(ev) != 1 {
					t.Fatalf("phase %d: events after the failure: %v", i, ev)
				}
			}
			t.Logf("%s: worst Down %v after the last answered probe; after the failure: worst %v, mean %v; bound %v",
				name, worst, worstFromFailure, sumFromFailure/phases, bound)
			// The bound is reached: a failure right after an answered
			// probe is found only when the next stable probe times out.
			if worst < bound-cfg.Interval/phases-10*ms {
				t.Errorf("worst %v far below the bound %v: the test misses the worst phase", worst, bound)
			}
		})
	}
}

// The detail of the failure sequence with the defaults: suspect at the first
// missed stable probe, DeadAfter unicast retries ProbeTimeout apart, Down
// when the last one times out.
func TestFailureSequence(t *testing.T) {
	cfg := DefaultConfig()
	w := newWorld(t, cfg)
	w.r.IfaceUp(0, 1)
	p := w.peer(1, 7, 4*ms)
	w.hear(1, 7)
	w.runUntil(30*time.Second + 500*ms) // broadcasts at 0, 5, ... 30 s answered
	p.silent = true
	b := 35 * time.Second // first stable probe that goes unanswered
	w.runUntil(b + cfg.ProbeTimeout - 1)
	if n := w.mustLookup(1, 7); n.State != Alive {
		t.Fatalf("suspect before the probe timed out: %v", n.State)
	}
	w.runUntil(b + cfg.ProbeTimeout)
	if n := w.mustLookup(1, 7); n.State != Suspect || n.misses != 1 {
		t.Fatalf("after the missed stable probe: %v misses %d", n.State, n.misses)
	}
	w.runUntil(b + time.Minute)
	retries := w.probesTo(1, 7, b, b+time.Minute)
	if len(retries) != cfg.DeadAfter {
		t.Fatalf("%d unicast retries, want DeadAfter=%d", len(retries), cfg.DeadAfter)
	}
	for i, r := range retries {
		if want := b + cfg.ProbeTimeout*time.Duration(i+1); r.at != want {
			t.Fatalf("retry %d at %v, want %v", i, r.at, want)
		}
	}
	downs := w.eventsOf(Down, 0, 1<<62)
	if len(downs) != 1 || downs[0].at != b+cfg.ProbeTimeout*time.Duration(cfg.DeadAfter+1) {
		t.Fatalf("Down: %v", downs)
	}
	if d := downs[0].at - w.lastAnswered(key{1, 7}, downs[0].at); d != 9*time.Second {
		t.Fatalf("default detection from the last answered probe: %v, want 9s", d)
	}
	if w.r.Lookup(1, 7) != nil || w.r.NextWakeup() < downs[0].at {
		t.Fatal("dead neighbour still in the table")
	}
	// After Down nothing is sent to it any more.
	if late := w.probesTo(1, 7, downs[0].at, 1<<62); len(late) != 0 {
		t.Fatalf("probes to a dead neighbour: %v", late)
	}
}

// A suspect neighbour that answers again is alive again: no Down, no more
// retries.
func TestSuspectRecovers(t *testing.T) {
	cfg := DefaultConfig()
	w := newWorld(t, cfg)
	w.r.IfaceUp(0, 1)
	p := w.peer(1, 7, 4*ms)
	w.hear(1, 7)
	w.runUntil(30*time.Second + 500*ms)
	k0 := p.got
	p.lose = func(k int, _ Probe) bool { return k == k0 || k == k0+1 } // broadcast at 35 s and the first retry
	w.runUntil(37*time.Second + 2*ms)
	if n := w.mustLookup(1, 7); n.State != Suspect || n.misses != 2 {
		t.Fatalf("after two misses: %v misses %d", n.State, n.misses)
	}
	w.runUntil(37*time.Second + 5*ms) // second retry answered at 37.004 s
	if n := w.mustLookup(1, 7); n.State != Alive || n.misses != 0 {
		t.Fatalf("after the answered retry: %v misses %d", n.State, n.misses)
	}
	w.runUntil(5 * time.Minute)
	if d := w.eventsOf(Down, 0, 1<<62); len(d) != 0 {
		t.Fatalf("Down for a neighbour that answered: %v", d)
	}
	if r := w.probesTo(1, 7, 37*time.Second+5*ms, 1<<62); len(r) != 0 {
		t.Fatalf("retries after recovery: %v", r)
	}
	if len(w.eventsOf(CostChanged, 0, 1<<62)) != 0 {
		t.Fatal("two lost probes out of 16 announced a cost change")
	}
}

func TestIfaceDown(t *testing.T) {
	w := newWorld(t, DefaultConfig())
	w.r.IfaceUp(0, 1)
	w.r.IfaceUp(0, 2)
	for _, k := range []key{{1, 7}, {1, 8}, {2, 7}, {2, 9}} {
		w.peer(k.iface, k.peer, 4*ms)
		w.hear(k.iface, k.peer)
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
	for _, k := range []key{{2, 7}, {2, 9}} {
		if n := w.mustLookup(k.iface, k.peer); n.State != Alive {
			t.Fatalf("%v on the other interface: %v", k, n.State)
		}
	}
	// A down interface neither probes nor hears.
	w.runUntil(time.Minute)
	if b := w.probesTo(1, Broadcast, 3*time.Second+100*ms, 1<<62); len(b) != 0 {
		t.Fatalf("broadcasts on a down interface: %d", len(b))
	}
	w.hear(1, 7)
	if w.r.Lookup(1, 7) != nil {
		t.Fatal("a probe on a down interface created a neighbour")
	}
	if len(w.events) != before+2 {
		t.Fatalf("events after IfaceDown: %v", w.events[before+2:])
	}
	// IfaceDown of an unknown or already down interface is harmless.
	w.r.IfaceDown(1)
	w.r.IfaceDown(42)
	w.flush()
	// Back up: probes at once and finds its neighbours again.
	w.r.IfaceUp(w.now, 1)
	if w.r.NextWakeup() != w.now {
		t.Fatal("IfaceUp does not probe at once")
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
	if len(ps) != 1 || ps[0].Iface != 3 || ps[0].To != Broadcast {
		t.Fatalf("probes after IfaceUp(3): %v", ps)
	}
	// IfaceUp of an interface already up does not reset its schedule.
	w.r.IfaceUp(w.now+ms, 3)
	w.r.Tick(w.now + ms)
	if ps := w.r.Probes(); len(ps) != 0 {
		t.Fatalf("IfaceUp twice probes again: %v", ps)
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
			if p.To != Broadcast || p.Iface == 3 {
				t.Fatalf("ProbeNow sent %v", p)
			}
		}
	}
	if bs != 2 {
		t.Fatalf("ProbeNow sent %d broadcasts, want 2", bs)
	}
	// The schedule restarts from now.
	w.runUntil(7*time.Second + 1)
	if b := w.probesTo(1, Broadcast, 2*time.Second+1, 7*time.Second); len(b) != 0 {
		t.Fatalf("broadcast before now+Interval: %v", b)
	}
	if b := w.probesTo(1, Broadcast, 7*time.Second, 7*time.Second+1); len(b) != 1 {
		t.Fatalf("no broadcast at now+Interval")
	}
}

// snapshot is the measurement state a bogus reply must not touch.
type snapshot struct {
	window            uint64
	filled, misses    int
	rtt               time.Duration
	state             State
	addr              netip.Addr
	hooking           bool
	nonce             uint32
	nextRetry         time.Duration
	cost              uint32
	announced         bool
	burstLeft, nbsLen int
}

func snap(r *Radar, n *Neighbour) snapshot {
	return snapshot{n.window, n.filled, n.misses, n.RTT, n.State, n.Addr, n.Hooking, n.Nonce,
		n.nextRetry, n.Cost, n.announced, n.burstLeft, len(r.nbs)}
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

	// Unknown burst/seq, from a known and from an unknown peer.
	s := all()
	w.r.OnReply(w.now, 1, 7, 0xFFFF, 0xFF, false, 0, peerAddr(1, 7))
	w.r.OnReply(w.now, 1, 99, 0xFFFF, 0xFE, false, 0, peerAddr(1, 99))
	unchanged("unknown burst/seq", s)
	if w.r.Lookup(1, 99) != nil {
		t.Fatal("a reply to no probe created a neighbour")
	}

	// A stable probe on each interface, answered by hand.
	w.r.ProbeNow(w.now)
	w.runUntil(w.now)
	t0 := w.now
	b1 := w.probesTo(1, Broadcast, t0, t0+1)
	b2 := w.probesTo(2, Broadcast, t0, t0+1)
	if len(b1) != 1 || len(b2) != 1 {
		t.Fatalf("ProbeNow: %v %v", b1, b2)
	}

	// From the wrong interface: R answers iface 1's probe on iface 2.
	s = all()
	w.r.OnReply(t0+ms, 2, 9, b1[0].Burst, b1[0].Seq, false, 0, peerAddr(2, 9))
	unchanged("reply on the wrong interface", s)

	// A good reply counts once; its duplicate not at all.
	fill := nP.filled
	w.r.OnReply(t0+2*ms, 1, 7, b1[0].Burst, b1[0].Seq, false, 0, peerAddr(1, 7))
	w.flush()
	if nP.window&1 != 1 || nP.RTT == 0 || nP.filled != min(fill+1, cfg.Window) {
		t.Fatalf("a good reply was not counted: %+v", *nP)
	}
	s = all()
	w.r.OnReply(t0+3*ms, 1, 7, b1[0].Burst, b1[0].Seq, false, 0, peerAddr(1, 7))
	unchanged("duplicate broadcast reply", s)

	// Late: R's reply after ProbeTimeout (before any Tick) is a lost probe.
	s = all()
	w.r.OnReply(t0+cfg.ProbeTimeout+1, 2, 9, b2[0].Burst, b2[0].Seq, false, 0, peerAddr(2, 9))
	unchanged("late reply", s)

	// The probes time out: Q and R missed them, P did not.
	w.runUntil(t0 + cfg.ProbeTimeout)
	if nP.State != Alive || nQ.State != Suspect || nR.State != Suspect {
		t.Fatalf("after the timeout: P %v Q %v R %v", nP.State, nQ.State, nR.State)
	}
	// Q now gets a unicast retry; P answering it is not Q answering it.
	rq := w.probesTo(1, 8, t0, 1<<62)
	if len(rq) != 1 {
		t.Fatalf("retries to Q: %v", rq)
	}
	s = all()
	w.r.OnReply(w.now+ms, 1, 7, rq[0].Burst, rq[0].Seq, false, 0, peerAddr(1, 7))
	unchanged("reply to a unicast probe from another peer", s)
	// Q's own answer counts, once; a duplicate of it (the unicast probe is
	// closed) does not.
	w.r.OnReply(w.now+2*ms, 1, 8, rq[0].Burst, rq[0].Seq, false, 0, peerAddr(1, 8))
	w.flush()
	if nQ.State != Alive || nQ.misses != 0 {
		t.Fatalf("Q answered its retry: %v misses %d", nQ.State, nQ.misses)
	}
	s = all()
	w.r.OnReply(w.now+3*ms, 1, 8, rq[0].Burst, rq[0].Seq, false, 0, peerAddr(1, 8))
	unchanged("duplicate unicast reply", s)
	// A duplicate-sending peer over a whole run counts each probe once.
	w2 := newWorld(t, cfg)
	w2.r.IfaceUp(0, 1)
	w2.peer(1, 7, 4*ms).dup = true
	w2.hear(1, 7)
	w2.runUntil(time.Minute)
	if n := w2.mustLookup(1, 7); n.Loss() != 0 || n.Cost != 5000 || n.filled != cfg.Window {
		t.Fatalf("duplicating peer: %+v", *n)
	}
}

func TestAddrChanged(t *testing.T) {
	w := newWorld(t, DefaultConfig())
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
	w.hear(1, 7)
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
		// Via a reply to the next stable probe.
		at += DefaultConfig().Interval
		w.runUntil(at)
		ev := w.eventsOf(AddrChanged, at-DefaultConfig().Interval, at)
		if len(ev) != 1 || ev[0].N.Addr != p.addr || ev[0].N.Hooking != p.hooking || ev[0].N.Nonce != p.nonce {
			t.Fatalf("%s: AddrChanged events %v", s.name, ev)
		}
	}
	// Unchanged values: nothing.
	w.runUntil(at + time.Minute)
	if ev := w.eventsOf(AddrChanged, at, 1<<62); len(ev) != 0 {
		t.Fatalf("AddrChanged without a change: %v", ev)
	}
	// Via its own ECHO_ME: at once.
	p.addr = netip.MustParseAddr("10.9.9.9")
	before := len(w.events)
	w.hear(1, 7)
	if len(w.events) != before+1 || w.events[before].Kind != AddrChanged || w.events[before].N.Addr != p.addr {
		t.Fatalf("AddrChanged from a probe: %v", w.events[before:])
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
	w.peer(2, 9, 4*ms).silent = true
	w.hear(1, 7)
	w.hear(1, 8)
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

// Only announced neighbours get events; a neighbour we hear but that never
// hears us (one-way link) is never announced. This measures what it costs.
func TestOneWayNeighbour(t *testing.T) {
	cfg := DefaultConfig()
	m := newMesh(t, cfg, 2)
	l := m.link(0, 1, 1, 1, ms)
	l.dropAB = true // every packet from node 0 to node 1 is lost
	m.ifaceUp(0, 1)
	m.ifaceUp(1, 1)
	m.countFrom, m.countUntil = time.Minute, 11*time.Minute
	m.runUntil(11 * time.Minute)
	for i := range 2 {
		if len(m.events[i]) != 0 {
			t.Fatalf("node %d: events on a one-way link: %v", i, m.events[i])
		}
	}
	// Node 0 hears node 1's ECHO_ME every Interval, thinks it has a new
	// neighbour and bursts at it; nobody answers.
	st := m.stats[0]
	perInterval := float64(st.bcastProbes+st.ucastProbes) / float64(10*time.Minute/cfg.Interval)
	t.Logf("one-way link, node that hears: %d broadcast + %d unicast probes in 10 min = %.1f probes per interval (a two-way link: 1)",
		st.bcastProbes, st.ucastProbes, perInterval)
}

// A penalty (wifi figures) multiplies the measured cost; a large one is
// announced as a cost change, unknown neighbours and nonsense are refused.
func TestPenalty(t *testing.T) {
	cfg := DefaultConfig()
	w := newWorld(t, cfg)
	w.r.IfaceUp(0, 1)
	w.peer(1, 7, 0).rtt = func(int) time.Duration { return 4 * ms }
	w.runUntil(4 * time.Second)
	n := w.mustLookup(1, 7)
	if n.Cost != 5000 {
		t.Fatalf("cost before the penalty %d", n.Cost)
	}
	if w.r.SetPenalty(1, 99, 3) {
		t.Fatal("penalty accepted for an unknown neighbour")
	}
	w.r.Events()
	if !w.r.SetPenalty(1, 7, 1.2) || w.r.costOf(n) != 6000 || n.Cost != 5000 {
		t.Fatalf("x1.2: formula %d announced %d (below the change ratio: not announced)", w.r.costOf(n), n.Cost)
	}
	w.r.SetPenalty(1, 7, 3)
	ev := w.r.Events()
	if w.r.costOf(n) != 15000 || n.Cost != 15000 || len(ev) != 1 || ev[0].Kind != CostChanged {
		t.Fatalf("x3: formula %d announced %d events %v", w.r.costOf(n), n.Cost, ev)
	}
	for _, bad := range []float64{0, -5, math.NaN()} {
		w.r.SetPenalty(1, 7, bad)
		if w.r.costOf(n) != 5000 {
			t.Fatalf("penalty %v: cost %d, want the plain 5000", bad, w.r.costOf(n))
		}
	}
	w.r.SetPenalty(1, 7, math.Inf(1))
	if w.r.costOf(n) != 5000*64 {
		t.Fatalf("infinite penalty: cost %d, want clamped to x64", w.r.costOf(n))
	}
}
