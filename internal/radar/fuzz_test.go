package radar

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

// drive runs a random sequence of probes, replies, ticks and interface
// changes against one radar, checking the invariants after every step, and
// returns a transcript of everything the radar did (for the determinism
// test). pick(n) returns a choice in [0, n).
func drive(t testing.TB, cfg Config, steps int, pick func(n int) int) string {
	r, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tr := newTracker(t)
	var log strings.Builder
	var now time.Duration
	var sent []sentProbe
	addrs := []netip.Addr{{}, netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2"), netip.MustParseAddr("fd00::1")}
	take := func(what string) {
		t.Helper()
		for _, p := range r.Probes() {
			sent = append(sent, sentProbe{now, p})
			fmt.Fprintf(&log, "%v probe %+v\n", now, p)
		}
		if len(sent) > 512 {
			sent = sent[len(sent)-256:]
		}
		evs := r.Events()
		for _, e := range evs {
			fmt.Fprintf(&log, "%v %v %d %d/%d cost %d\n", now, e.Kind, e.N.Index, e.N.Iface, e.N.Peer, e.N.Cost)
		}
		tr.observe(evs)
		tr.check(r)
	}
	// advance moves the clock to until, ticking on time on the way.
	advance := func(until time.Duration) {
		t.Helper()
		for {
			nw := r.NextWakeup()
			if nw > until {
				break
			}
			now = max(now, nw)
			r.Tick(now)
			take("tick")
			if r.NextWakeup() <= now {
				t.Fatalf("busy loop at %v", now)
			}
		}
		now = until
	}
	iface := func() int { return pick(4) }
	peer := func() PeerID { return PeerID(pick(9)) } // 0 is the broadcast id: must be ignored
	for range steps {
		switch op := pick(16); {
		case op < 4: // time passes; the radar is ticked on time
			advance(now + time.Duration(pick(3000))*ms)
		case op == 4: // a Tick at an arbitrary time (late or early)
			if pick(2) == 0 {
				before := r.NextWakeup()
				if before > now {
					r.Tick(now)
					if len(r.out) != 0 || len(r.events) != 0 || r.NextWakeup() != before {
						t.Fatalf("Tick(%v) before NextWakeup %v did work", now, before)
					}
				}
			} else { // late: everything overdue is done in one Tick
				now += time.Duration(pick(20000)) * ms
				r.Tick(now)
				if r.NextWakeup() <= now {
					t.Fatalf("late Tick(%v) left work due: NextWakeup %v", now, r.NextWakeup())
				}
			}
			take("odd tick")
		case op == 5:
			r.IfaceUp(now, iface())
			take("iface up")
		case op == 6:
			if pick(3) == 0 {
				r.IfaceDown(iface())
			}
			take("iface down")
		case op == 7:
			r.ProbeNow(now)
			take("probe now")
		case op < 11: // a hello or a unicast probe from someone
			e := Echo{Hooking: pick(2) == 0, Nonce: uint32(pick(3)), Addr: addrs[pick(len(addrs))]}
			if pick(3) != 0 {
				seq := pick(40)
				e.Hello, e.Burst, e.Seq = true, uint16(seq>>8), uint8(seq)
				e.Interval = []time.Duration{cfg.Interval, 2 * cfg.Interval, cfg.Interval / 2}[pick(3)]
				e.HearsUs, e.HearsUsKnown = uint8(pick(HelloWindow+1)), pick(3) != 0
			}
			r.OnEcho(now, iface(), peer(), e)
			take("probe")
		case op < 15: // a reply to one of our recent packets, mostly plausible
			if len(sent) == 0 {
				continue
			}
			p := sent[len(sent)-1-pick(min(len(sent), 16))]
			from, ifc := p.To, p.Iface
			if from == Broadcast || pick(8) == 0 {
				from = peer()
			}
			if pick(16) == 0 {
				ifc = iface()
			}
			hello := p.Hello
			if pick(16) == 0 {
				hello = !hello
			}
			advance(now + time.Duration(pick(30))*ms)
			for range 1 + pick(2) { // sometimes a duplicate
				r.OnEcho(now, ifc, from, Echo{Reply: true, Hello: hello, Burst: p.Burst, Seq: p.Seq, Nonce: uint32(pick(3)), Addr: addrs[1+pick(2)]})
			}
			take("reply")
		default: // garbage burst/seq
			r.OnEcho(now, iface(), peer(), Echo{Reply: true, Hello: pick(2) == 0, Burst: uint16(pick(1 << 16)), Seq: uint8(pick(256)),
				Hooking: pick(2) == 0, Nonce: uint32(pick(3)), Addr: addrs[pick(len(addrs))]})
			take("garbage reply")
		}
	}
	return log.String()
}

func fuzzConfigs() []Config {
	small := DefaultConfig()
	small.Burst, small.Window, small.DeadAfter, small.ChangeRatio, small.RefreshEvery = 3, 4, 1, 0, 1
	odd := DefaultConfig()
	odd.Interval, odd.ProbeTimeout, odd.BurstGap, odd.Window, odd.DeadAfter = 700*ms, 600*ms, 200*ms, 64, 6
	return []Config{DefaultConfig(), small, odd}
}

func TestRandomized(t *testing.T) {
	kinds := map[string]int{}
	for seed := range uint64(40) {
		for _, cfg := range fuzzConfigs() {
			rng := rand.New(rand.NewPCG(seed, 0x7261646172))
			for _, line := range strings.Split(drive(t, cfg, 600, rng.IntN), "\n") {
				if f := strings.Fields(line); len(f) > 1 {
					kinds[f[1]]++
				}
			}
		}
	}
	// The random runs must reach every part of the state machine.
	for _, k := range []string{"probe", "up", "down", "cost", "addr"} {
		if kinds[k] == 0 {
			t.Errorf("no %q in the random runs: %v", k, kinds)
		}
	}
	t.Logf("random runs: %v", kinds)
}

// The radar is deterministic: the same inputs give the same probes (ids
// included) and events in the same order. The simulator depends on it.
func TestDeterministic(t *testing.T) {
	for seed := range uint64(8) {
		var first string
		for run := range 6 {
			rng := rand.New(rand.NewPCG(seed, 1))
			got := drive(t, DefaultConfig(), 400, rng.IntN)
			if run == 0 {
				first = got
				continue
			}
			if got != first {
				a, b := strings.Split(first, "\n"), strings.Split(got, "\n")
				for i := range min(len(a), len(b)) {
					if a[i] != b[i] {
						t.Fatalf("seed %d run %d differs at line %d:\n%s\nvs\n%s", seed, run, i, a[i], b[i])
					}
				}
				t.Fatalf("seed %d run %d: transcripts differ in length", seed, run)
			}
		}
	}
}

// FuzzRadar is the same driver fed by the fuzzer: go test -fuzz FuzzRadar.
func FuzzRadar(f *testing.F) {
	for _, s := range []string{"", "\x05\x01\x08\x02\x00\x00\x0b\x00", "radar radar radar radar radar", strings.Repeat("\x00\x05\x09\x0c\x02", 40)} {
		f.Add(uint8(0), []byte(s))
	}
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		cfgs := fuzzConfigs()
		cfg := cfgs[int(which)%len(cfgs)]
		pos := 0
		pick := func(n int) int {
			if n <= 1 {
				return 0
			}
			var b [4]byte
			copy(b[:], data[min(pos, len(data)):])
			pos += 2
			return int(binary.BigEndian.Uint32(b[:])>>16) % n
		}
		drive(t, cfg, min(len(data)/2+1, 3000), pick)
	})
}

// Unicast probes are ids: two outstanding ones never share burst/seq.
func TestProbeIDsUnique(t *testing.T) {
	r, _ := New(DefaultConfig())
	for i := range 8 {
		r.IfaceUp(0, i)
	}
	for i := range 8 {
		r.OnEcho(0, i, PeerID(i+1), Echo{Hello: true, Interval: time.Second})
	}
	var ids []uint32
	for now := time.Duration(0); now < 3*time.Second; now = r.NextWakeup() {
		r.Tick(now)
		for _, p := range r.Probes() {
			if !p.Hello { // hello numbers are per interface
				ids = append(ids, uint32(p.Burst)<<8|uint32(p.Seq))
			}
		}
	}
	slices.Sort(ids)
	if len(slices.Compact(slices.Clone(ids))) != len(ids) {
		t.Fatal("duplicate probe ids")
	}
}
