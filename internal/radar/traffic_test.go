package radar

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"testing"
	"time"
)

// The budget of issue 4: steady-state radar traffic per link, Ethernet,
// IPv6 and UDP headers included (FrameOverhead), at or below babeld's
// (48-62 B/s per link in the same namespace lab; docs/BENCHMARKS.md).
const budgetPerLink = 55.0 // B/s

// otherConfigs are the settings docs/RADAR.md compares with the defaults;
// the tests measure their traffic and detection time too.
func otherConfigs() map[string]Config {
	with := func(interval, timeout time.Duration, dead int) Config {
		c := DefaultConfig()
		c.Interval, c.ProbeTimeout, c.DeadAfter = interval, timeout, dead
		return c
	}
	return map[string]Config{
		"I=5s T=1s D=3 (old defaults)": with(5*time.Second, time.Second, 3),
		"I=4s T=250ms D=3":             with(4*time.Second, 250*ms, 3),
		"I=6.5s T=300ms D=2":           with(6500*ms, 300*ms, 2),
		"I=2s T=250ms D=3":             with(2*time.Second, 250*ms, 3),
	}
}

// v6Addrs gives the mesh IPv6 addresses (a 16-byte address in every ECHO).
func v6Addrs(m *mesh) {
	for i := range m.addrs {
		m.addrs[i] = netip.AddrFrom16([16]byte{0xfd, 15: byte(i + 1)})
	}
}

const (
	warmUp = time.Minute
	span   = 10 * time.Minute
)

// linkTraffic runs two radars on one link for a minute of warm-up and then
// span, and returns what each sent during span.
func linkTraffic(t *testing.T, cfg Config, v6 bool) [2]meshStats {
	m := newMesh(t, cfg, 2)
	if v6 {
		v6Addrs(m)
	}
	m.link(0, 1, 1, 1, 2*ms)
	m.ifaceUp(0, 1)
	m.runUntil(1234 * ms) // the two schedules are out of phase
	m.ifaceUp(1, 1)
	m.countFrom, m.countUntil = warmUp, warmUp+span
	m.runUntil(warmUp + span)
	for i := range 2 {
		if len(m.events[i]) != 1 || m.events[i][0].Kind != Up {
			t.Fatalf("node %d events on a perfect link: %v", i, m.events[i])
		}
	}
	return [2]meshStats{m.stats[0], m.stats[1]}
}

// Steady-state control traffic of one stable link, both directions, from
// the encoder's packet sizes plus FrameOverhead.
func TestSteadyStateTraffic(t *testing.T) {
	configs := map[string]Config{"defaults (I=5s T=500ms D=3)": DefaultConfig()}
	for n, c := range otherConfigs() {
		configs[n] = c
	}
	names := make([]string, 0, len(configs))
	for n := range configs {
		names = append(names, n)
	}
	sort.Strings(names)
	var report strings.Builder
	fmt.Fprintf(&report, "\n| config | packets/s/link | B/s/link, IPv4 mesh | B/s/link, IPv6 mesh | silent failure worst / mean (one end) |\n|---|---|---|---|---|\n")
	for _, name := range names {
		cfg := configs[name]
		intervals := int(span / cfg.Interval)
		var perLink [2]float64
		var packets int
		for f, v6 := range []bool{false, true} {
			st := linkTraffic(t, cfg, v6)
			for i, s := range st {
				if s.ucastProbes != 0 {
					t.Errorf("%s: node %d sent %d unicast probes on a stable link", name, i, s.ucastProbes)
				}
				if s.hellos < intervals || s.hellos > intervals+1 {
					t.Errorf("%s: node %d sent %d hellos in %v, want %d (one per Interval)", name, i, s.hellos, span, intervals)
				}
				// Replies only to the hellos that ask, one in RefreshEvery.
				if s.wanting > intervals/cfg.RefreshEvery+1 || s.wanting < intervals/cfg.RefreshEvery-1 {
					t.Errorf("%s: node %d asked for replies in %d of %d hellos, want one in %d", name, i, s.wanting, s.hellos, cfg.RefreshEvery)
				}
				if s.replies != st[1-i].wanting {
					t.Errorf("%s: node %d sent %d replies to %d hellos asking for them", name, i, s.replies, st[1-i].wanting)
				}
			}
			packets = st[0].packets() + st[1].packets()
			perLink[f] = float64(st[0].bytes+st[1].bytes) / span.Seconds()
		}
		worst := cfg.Interval + cfg.ProbeTimeout*time.Duration(cfg.DeadAfter+1)
		mean := cfg.Interval/2 + cfg.ProbeTimeout*time.Duration(cfg.DeadAfter+1)
		fmt.Fprintf(&report, "| %s | %.3f | %.1f | %.1f | %v / %v |\n", name, float64(packets)/span.Seconds(), perLink[0], perLink[1], worst, mean)
		if strings.HasPrefix(name, "defaults") {
			for f, b := range perLink {
				if b > budgetPerLink {
					t.Errorf("defaults: %.1f B/s per link (%s mesh addresses), budget %.0f", b, []string{"IPv4", "IPv6"}[f], budgetPerLink)
				}
			}
		}
	}
	t.Logf("steady state, one stable link (2 nodes), %v after %v, %d B of Ethernet+IPv6+UDP per packet:%s",
		span, warmUp, FrameOverhead, report.String())
}

// Nine nodes on one shared medium (each hears 8 neighbours): one hello
// serves all of them, so the per-link share is far below a point-to-point
// link's, although each hello lists 8 neighbours.
func TestSharedMediumTraffic(t *testing.T) {
	cfg := DefaultConfig()
	const nodes = 9
	for _, v6 := range []bool{false, true} {
		m := newMesh(t, cfg, nodes)
		if v6 {
			v6Addrs(m)
		}
		links := 0
		for a := range nodes {
			for b := a + 1; b < nodes; b++ {
				m.link(a, 1, b, 1, ms)
				links++
			}
		}
		for i := range nodes {
			m.ifaceUp(i, 1)
			m.runUntil(m.now + 317*ms)
		}
		m.countFrom, m.countUntil = warmUp, warmUp+span
		m.runUntil(warmUp + span)
		bytes, packets, wanting := 0, 0, 0
		for _, s := range m.stats {
			wanting += s.wanting
		}
		for i, s := range m.stats {
			if s.ucastProbes != 0 || s.hellos != 120 || s.replies != wanting-s.wanting {
				t.Errorf("node %d: %+v, want 120 hellos, no unicast probe, a reply to each of the others' %d hellos asking", i, s, wanting-s.wanting)
			}
			if len(m.events[i]) != nodes-1 {
				t.Errorf("node %d: events %v, want %d Up", i, m.events[i], nodes-1)
			}
			bytes += s.bytes
			packets += s.packets()
		}
		perLink := float64(bytes) / span.Seconds() / float64(links)
		if perLink > budgetPerLink {
			t.Errorf("%.1f B/s per link on a shared medium, budget %.0f", perLink, budgetPerLink)
		}
		t.Logf("%d nodes on one medium (%d links, 8 neighbours each), defaults, %s mesh addresses: %d packets in %v = %.2f packets/s, %.1f B/s per link",
			nodes, links, map[bool]string{false: "IPv4", true: "IPv6"}[v6], packets, span, float64(packets)/span.Seconds(), perLink)
	}
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
// dropped): both ends see Down within Interval + ProbeTimeout ×
// (DeadAfter+1) of the newest packet they heard, which left the other end
// at most one link delay before the failure.
func TestSilentFailureTwoRadars(t *testing.T) {
	const delay = 2 * ms
	configs := map[string]Config{"defaults": DefaultConfig()}
	for name, c := range otherConfigs() {
		configs[name] = c
	}
	names := make([]string, 0, len(configs))
	for n := range configs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		cfg := configs[name]
		bound := cfg.Interval + cfg.ProbeTimeout*time.Duration(cfg.DeadAfter+1)
		const runs = 20
		var worst, sum, sumFirst time.Duration
		for i := range runs {
			m := newMesh(t, cfg, 2)
			l := m.link(0, 1, 1, 1, delay)
			m.ifaceUp(0, 1)
			m.runUntil(time.Duration(i) * 317 * ms)
			m.ifaceUp(1, 1)
			fail := time.Minute + time.Duration(i)*cfg.Interval/runs
			m.runUntil(fail)
			l.cut = true
			m.runUntil(fail + time.Minute)
			first := time.Duration(1<<63 - 1)
			for n := range 2 {
				evs := m.events[n]
				last := evs[len(evs)-1]
				if last.Kind != Down || last.at < fail {
					t.Fatalf("%s run %d node %d: events %v", name, i, n, evs)
				}
				d := last.at - fail
				if d > bound+delay {
					t.Fatalf("%s run %d node %d: Down %v after the failure, bound %v", name, i, n, d, bound+delay)
				}
				worst = max(worst, d)
				sum += d
				first = min(first, d)
			}
			sumFirst += first
		}
		t.Logf("%s: silent failure to Down, two radars, %d phases: worst %v, mean %v per end, mean %v for the first end (bound %v)",
			name, runs, worst, sum/(2*runs), sumFirst/runs, bound)
	}
}

// A neighbour we hear but that cannot hear us (an asymmetric wifi link,
// common at the edge of range) is never announced and, after one burst,
// costs nothing: its hellos do not list us, so it gets no new burst until
// they do. Once the link works both ways, both ends announce it.
func TestOneWayNeighbour(t *testing.T) {
	cfg := DefaultConfig()
	m := newMesh(t, cfg, 2)
	l := m.link(0, 1, 1, 1, ms)
	l.dropAB = true // every packet from node 0 to node 1 is lost
	m.ifaceUp(0, 1)
	m.ifaceUp(1, 1)
	m.countFrom, m.countUntil = warmUp, warmUp+span
	m.runUntil(warmUp + span)
	for i := range 2 {
		if len(m.events[i]) != 0 {
			t.Fatalf("node %d: events on a one-way link: %v", i, m.events[i])
		}
	}
	// Node 0 hears node 1's hellos: one burst at first contact, then
	// nothing but its own hellos.
	burst := 0
	for _, p := range m.sent[0] {
		if !p.Hello {
			burst++
		}
	}
	st := m.stats[0]
	if burst != cfg.Burst || st.ucastProbes != 0 || st.hellos != int(span/cfg.Interval) {
		t.Fatalf("node 0 sent %d unicast probes in all, %+v in %v: want one burst, then one hello per Interval", burst, st, span)
	}
	if n := m.rs[0].Lookup(1, nodePeer(1)); n == nil || !n.oneWay || n.State != Measuring {
		t.Fatalf("node 0's view of node 1: %+v", n)
	}
	t.Logf("one-way link, node that hears: %d hellos + %d unicast probes in %v (one burst of %d at first contact)",
		st.hellos, st.ucastProbes, span, cfg.Burst)
	// The link heals: node 1 hears node 0's next hello and measures it;
	// node 0 sees itself in node 1's hellos and measures node 1.
	healed := m.now
	l.dropAB = false
	m.runUntil(healed + 3*cfg.Interval)
	for i := range 2 {
		if len(m.events[i]) != 1 || m.events[i][0].Kind != Up {
			t.Fatalf("node %d after the link healed: %v", i, m.events[i])
		}
		t.Logf("node %d: Up %v after the link healed", i, m.events[i][0].at-healed)
	}
}

// A link that fails one way (0 -> 1 dropped, 1 -> 0 working): node 1
// finds node 0 overdue; node 0 still hears node 1, but its hellos stop
// listing node 0 once node 1 dropped it, so node 0 probes it and finds it
// dead too.
func TestOneWayFailure(t *testing.T) {
	cfg := DefaultConfig()
	bound := cfg.Interval + cfg.ProbeTimeout*time.Duration(cfg.DeadAfter+1)
	for i := range 10 {
		m := newMesh(t, cfg, 2)
		l := m.link(0, 1, 1, 1, ms)
		m.ifaceUp(0, 1)
		m.runUntil(time.Duration(i) * 411 * ms)
		m.ifaceUp(1, 1)
		fail := time.Minute + time.Duration(i)*cfg.Interval/10
		m.runUntil(fail)
		l.dropAB = true
		m.runUntil(fail + time.Minute)
		var down [2]time.Duration
		for n := range 2 {
			// Up, maybe a cost change as its view of us fades, Down.
			evs := m.events[n]
			if last := evs[len(evs)-1]; last.Kind != Down || evs[0].Kind != Up || len(evs) > 3 {
				t.Fatalf("run %d node %d: events %v", i, n, evs)
			}
			down[n] = evs[len(evs)-1].at - fail
		}
		// Node 1 as for a silent failure; node 0 at node 1's next hello
		// (within an Interval), then DeadAfter probes.
		if down[1] > bound+ms || down[0] > down[1]+cfg.Interval+cfg.ProbeTimeout*time.Duration(cfg.DeadAfter)+ms {
			t.Fatalf("run %d: Down after %v (node 0, which still hears) and %v (node 1)", i, down[0], down[1])
		}
		if i == 0 {
			t.Logf("one-way failure: node 1 (deaf side) Down after %v, node 0 after %v", down[1], down[0])
		}
	}
}
