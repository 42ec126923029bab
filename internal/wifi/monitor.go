package wifi

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"slices"
	"sort"
	"sync"
	"time"
)

// Metrics describe one station as seen from a local wireless interface.
type Metrics struct {
	MAC       net.HardwareAddr
	TxBitrate int           // bits/s of the last unicast frame sent to it; 0: not reported
	Signal    int           // dBm, the driver's average when it gives one, else the last frame's
	Inactive  time.Duration // since the last frame from or to it

	// RetryRatio is retries per transmitted packet and FailRatio the share
	// of packets dropped after every retry, over the last sample: the
	// packets sent since the previous sample, once they number at least
	// minSamplePackets. Before its first sample a station shows its ratios
	// since it associated.
	RetryRatio float64
	FailRatio  float64
}

// minSamplePackets is the smallest sample a ratio is computed over: two
// retries over three probe packets say little, and a noisy ratio would make
// the link cost (and the routes) flap. Smaller samples keep growing until
// they are large enough; the previous ratios stand meanwhile.
const minSamplePackets = 10

// Monitor keeps per-interface station snapshots and computes deltas between
// polls. It is safe for concurrent use.
type Monitor struct {
	src Source

	mu     sync.Mutex
	ifaces map[string]*ifaceState // by interface name, as of the last Poll
}

type ifaceState struct {
	kind     Kind
	stations map[string]*station // by string(MAC)
}

type station struct {
	metrics Metrics
	base    counters // start of the sample being gathered
}

// counters are nl80211's u32 station counters. They are kept as uint32 so
// that they wrap as the kernel's do: on 32-bit MIPS StationInfo holds them
// as negative ints past 2^31.
type counters struct {
	packets, retries, failed uint32
	connected                time.Duration // since the station (re)associated
}

// NewMonitor returns a Monitor reading src. The caller still owns src.
func NewMonitor(src Source) *Monitor {
	return &Monitor{src: src, ifaces: map[string]*ifaceState{}}
}

// Kind reports how ifname was used at the last Poll; Wired for every
// interface nl80211 did not list (or before the first Poll).
func (m *Monitor) Kind(ifname string) Kind {
	m.mu.Lock()
	defer m.mu.Unlock()
	if st := m.ifaces[ifname]; st != nil {
		return st.kind
	}
	return Wired
}

// Poll reads every wireless interface's stations. If the interface list
// cannot be read the previous snapshot stays. An interface whose stations
// cannot be read loses them until a later Poll succeeds (its kind is kept);
// the others are updated and the errors are returned joined.
func (m *Monitor) Poll() error {
	m.mu.Lock()
	defer m.mu.Unlock()

	ifis, err := m.src.Interfaces()
	if err != nil {
		return fmt.Errorf("wifi: list interfaces: %w", err)
	}
	next := make(map[string]*ifaceState, len(ifis))
	var errs []error
	for _, ifi := range ifis {
		// nl80211 also lists wdevs without a netdev (P2P device, NAN).
		if ifi == nil || ifi.Name == "" || ifi.Index <= 0 {
			continue
		}
		st := &ifaceState{kind: kindOf(ifi.Type)}
		next[ifi.Name] = st
		if !st.kind.hasStations() {
			continue
		}
		infos, err := m.src.StationInfo(ifi)
		if err != nil {
			errs = append(errs, fmt.Errorf("wifi: stations of %s: %w", ifi.Name, err))
			continue
		}
		var before map[string]*station
		if prev := m.ifaces[ifi.Name]; prev != nil {
			before = prev.stations
		}
		st.stations = make(map[string]*station, len(infos))
		for _, info := range infos {
			if info == nil || len(info.HardwareAddr) == 0 {
				continue
			}
			key := string(info.HardwareAddr)
			st.stations[key] = sample(before[key], info)
		}
	}
	m.ifaces = next
	return errors.Join(errs...)
}

// sample builds a station's new snapshot from its previous one (nil if new).
func sample(old *station, info *StationInfo) *station {
	s := &station{metrics: Metrics{
		MAC:       slices.Clone(info.HardwareAddr),
		TxBitrate: info.TransmitBitrate,
		Signal:    info.Signal,
		Inactive:  info.Inactive,
	}}
	if info.SignalAverage != 0 {
		s.metrics.Signal = info.SignalAverage // steadier than one frame's
	}
	cur := counters{
		packets:   uint32(info.TransmittedPackets),
		retries:   uint32(info.TransmitRetries),
		failed:    uint32(info.TransmitFailed),
		connected: info.Connected,
	}
	if old != nil {
		s.base = old.base
		s.metrics.RetryRatio, s.metrics.FailRatio = old.metrics.RetryRatio, old.metrics.FailRatio
	}
	d, reset := cur.since(s.base)
	if reset {
		// The counters restarted (driver reset, station re-added) after the
		// base was taken, so what they hold now all falls in this sample.
		s.base, d = counters{}, cur
	}
	// mac80211 counts failed frames among the transmitted ones; a driver
	// that does not would otherwise yield a fail ratio above 1.
	attempts := max(d.packets, d.failed)
	if attempts >= minSamplePackets {
		s.metrics.RetryRatio = float64(d.retries) / float64(attempts)
		s.metrics.FailRatio = float64(d.failed) / float64(attempts)
		s.base = cur
	}
	return s
}

// since returns c - base, and whether the counters went backwards instead.
// A u32 wrap gives a small modular difference and counts as progress; a
// counter that fell back (a "difference" over 2^31) or a station that
// reassociated means a reset.
func (c counters) since(base counters) (d counters, reset bool) {
	d = counters{
		packets: c.packets - base.packets,
		retries: c.retries - base.retries,
		failed:  c.failed - base.failed,
	}
	const backwards = 1 << 31
	reset = c.connected < base.connected ||
		d.packets >= backwards || d.retries >= backwards || d.failed >= backwards
	return d, reset
}

// Station returns the metrics of the station mac on ifname as of the last Poll.
func (m *Monitor) Station(ifname string, mac net.HardwareAddr) (Metrics, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.ifaces[ifname]
	if st == nil {
		return Metrics{}, false
	}
	s := st.stations[string(mac)]
	if s == nil {
		return Metrics{}, false
	}
	return s.metrics.clone(), true
}

// Stations lists the stations of ifname as of the last Poll, by MAC, for
// status displays.
func (m *Monitor) Stations(ifname string) []Metrics {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.ifaces[ifname]
	if st == nil {
		return nil
	}
	out := make([]Metrics, 0, len(st.stations))
	for _, s := range st.stations {
		out = append(out, s.metrics.clone())
	}
	sort.Slice(out, func(i, j int) bool { return bytes.Compare(out[i].MAC, out[j].MAC) < 0 }) // the binary's shared sort
	return out
}

// clone keeps callers from writing into the Monitor's MAC.
func (m Metrics) clone() Metrics {
	m.MAC = slices.Clone(m.MAC)
	return m
}
