package radar

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"
)

// recommendedConfigs are the settings docs/RADAR.md discusses next to the
// defaults; the tests measure their traffic and detection time too.
func recommendedConfigs() map[string]Config {
	with := func(interval, timeout time.Duration, dead int) Config {
		c := DefaultConfig()
		c.Interval, c.ProbeTimeout, c.DeadAfter = interval, timeout, dead
		return c
	}
	return map[string]Config{
		"I=6.5s T=250ms D=3": with(6500*ms, 250*ms, 3),
		"I=6.5s T=300ms D=2": with(6500*ms, 300*ms, 2),
		"I=2s T=250ms D=3":   with(2*time.Second, 250*ms, 3),
	}
}

// linkTraffic runs two radars on one link for 10 virtual minutes after a
// minute of warm-up and returns what each sent in those 10 minutes.
func linkTraffic(t *testing.T, cfg Config) [2]meshStats {
	m := newMesh(t, cfg, 2)
	m.link(0, 1, 1, 1, 2*ms)
	m.ifaceUp(0, 1)
	m.runUntil(1234 * ms) // the two schedules are out of phase
	m.ifaceUp(1, 1)
	m.countFrom, m.countUntil = time.Minute, 11*time.Minute
	m.runUntil(11 * time.Minute)
	for i := range 2 {
		if len(m.events[i]) != 1 || m.events[i][0].Kind != Up {
			t.Fatalf("node %d events on a perfect link: %v", i, m.events[i])
		}
	}
	return [2]meshStats{m.stats[0], m.stats[1]}
}

// Steady-state control traffic of one stable link, both directions.
func TestSteadyStateTraffic(t *testing.T) {
	configs := map[string]Config{"default (I=5s T=1s D=3)": DefaultConfig()}
	for n, c := range recommendedConfigs() {
		configs[n] = c
	}
	names := make([]string, 0, len(configs))
	for n := range configs {
		names = append(names, n)
	}
	sort.Strings(names)
	const span = 10 * time.Minute
	var report strings.Builder
	fmt.Fprintf(&report, "\n| config | probes/node/interval | packets/s/link | B/s/link IPv4 | B/s/link IPv6 | silent failure worst case |\n|---|---|---|---|---|---|\n")
	for _, name := range names {
		cfg := configs[name]
		st := linkTraffic(t, cfg)
		intervals := int(span / cfg.Interval)
		for i, s := range st {
			if s.ucastProbes != 0 {
				t.Errorf("%s: node %d sent %d unicast probes on a stable link", name, i, s.ucastProbes)
			}
			if s.bcastProbes < intervals || s.bcastProbes > intervals+1 {
				t.Errorf("%s: node %d sent %d broadcast probes in %v, want %d (one per Interval)", name, i, s.bcastProbes, span, intervals)
			}
			if s.replies != st[1-i].bcastProbes {
				t.Errorf("%s: node %d sent %d replies to %d probes", name, i, s.replies, st[1-i].bcastProbes)
			}
		}
		packets := st[0].bcastProbes + st[1].bcastProbes + st[0].replies + st[1].replies
		secs := span.Seconds()
		b4 := float64(packets*echoIPv4Frame) / secs
		b6 := float64(packets*echoIPv6Frame) / secs
		perNode := float64(st[0].bcastProbes+st[1].bcastProbes) / 2 / float64(intervals)
		detect := cfg.Interval + cfg.ProbeTimeout*time.Duration(cfg.DeadAfter+1)
		fmt.Fprintf(&report, "| %s | %.2f | %.3f | %.1f | %.1f | %v |\n", name, perNode, float64(packets)/secs, b4, b6, detect)
		if name == "default (I=5s T=1s D=3)" {
			// 4 packets per 5 s (61 bytes each on IPv4: 48.8 B/s).
			if packets != 480 {
				t.Errorf("default: %d packets in 10 minutes, want 480", packets)
			}
		}
	}
	t.Logf("steady state, one stable link, 10 virtual minutes, ECHO = %d B (IPv4) / %d B (IPv6) on the IP layer:%s",
		echoIPv4Frame, echoIPv6Frame, report.String())
}

// Three nodes on one shared medium: each broadcast probe serves two
// neighbours, so the per-link share is smaller than on a point-to-point link.
func TestSharedMediumTraffic(t *testing.T) {
	cfg := DefaultConfig()
	m := newMesh(t, cfg, 3)
	// One interface per node, every pair in range.
	m.link(0, 1, 1, 1, ms)
	m.link(0, 1, 2, 1, ms)
	m.link(1, 1, 2, 1, ms)
	m.ifaceUp(0, 1)
	m.runUntil(700 * ms)
	m.ifaceUp(1, 1)
	m.runUntil(1900 * ms)
	m.ifaceUp(2, 1)
	m.countFrom, m.countUntil = time.Minute, 11*time.Minute
	m.runUntil(11 * time.Minute)
	packets := 0
	for i, s := range m.stats {
		if s.ucastProbes != 0 || s.bcastProbes != 120 || s.replies != 240 {
			t.Errorf("node %d: %+v, want 120 broadcasts, 240 replies", i, s)
		}
		packets += s.bcastProbes + s.replies
	}
	t.Logf("3 nodes on one medium (3 links), defaults: %d packets in 10 min = %.1f B/s per link (IPv4)",
		packets, float64(packets*echoIPv4Frame)/600/3)
}

// A burst for a new neighbour costs Burst probes and Burst replies once.
func TestStartupTraffic(t *testing.T) {
	cfg := DefaultConfig()
	m := newMesh(t, cfg, 2)
	m.link(0, 1, 1, 1, 2*ms)
	m.countFrom, m.countUntil = 0, 10*time.Second
	m.ifaceUp(0, 1)
	m.ifaceUp(1, 1)
	m.runUntil(10 * time.Second)
	for i, s := range m.stats {
		if s.ucastProbes != cfg.Burst {
			t.Errorf("node %d: %d burst probes, want %d", i, s.ucastProbes, cfg.Burst)
		}
	}
	for i := range 2 {
		if len(m.events[i]) != 1 || m.events[i][0].at > 300*ms {
			t.Errorf("node %d: events %v, want one Up within 300 ms", i, m.events[i])
		}
	}
}

// Two real radars, the link goes silent (carrier up, every packet
// dropped): both ends see Down within the bound, counted from the failure.
func TestSilentFailureTwoRadars(t *testing.T) {
	for name, cfg := range map[string]Config{"default": DefaultConfig(), "I=6.5s T=250ms D=3": recommendedConfigs()["I=6.5s T=250ms D=3"]} {
		bound := cfg.Interval + cfg.ProbeTimeout*time.Duration(cfg.DeadAfter+1)
		var worst time.Duration
		for i := range 10 {
			m := newMesh(t, cfg, 2)
			l := m.link(0, 1, 1, 1, 2*ms)
			m.ifaceUp(0, 1)
			m.runUntil(time.Duration(i) * 317 * ms)
			m.ifaceUp(1, 1)
			fail := time.Minute + time.Duration(i)*cfg.Interval/10
			m.runUntil(fail)
			l.cut = true
			m.runUntil(fail + time.Minute)
			for n := range 2 {
				evs := m.events[n]
				last := evs[len(evs)-1]
				if last.Kind != Down || last.at < fail {
					t.Fatalf("%s run %d node %d: events %v", name, i, n, evs)
				}
				// From the failure, not the last answered probe: the
				// reply to the last probe may still be in flight, so
				// allow one round trip.
				if d := last.at - fail; d > bound+4*ms {
					t.Fatalf("%s run %d node %d: Down %v after the failure, bound %v", name, i, n, d, bound)
				} else {
					worst = max(worst, d)
				}
			}
		}
		t.Logf("%s: two radars, worst Down %v after a silent failure (bound %v)", name, worst, bound)
	}
}
