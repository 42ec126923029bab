package wifi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	mdwifi "github.com/mdlayher/wifi"
)

// A fixture is a recorded nl80211 session: the interface list and, per
// poll, every link interface's station dump (what `iw dev X station dump`
// prints). Field names follow iw; interface types are mdlayher/wifi's
// names for them.
type fixture struct {
	Description string             `json:"description"`
	Interfaces  []fixtureInterface `json:"interfaces"`
	Wired       []string           `json:"wired"` // links nl80211 does not list
	Polls       []fixturePoll      `json:"polls"`
}

type fixtureInterface struct {
	Index        int    `json:"index"`
	Name         string `json:"name"`
	MAC          string `json:"mac"`
	PHY          int    `json:"phy"`
	Type         string `json:"type"` // mdwifi.InterfaceType.String()
	FrequencyMHz int    `json:"frequency_mhz"`
}

type fixturePoll struct {
	Stations map[string][]fixtureStation `json:"stations"`
	Errors   map[string]string           `json:"errors"` // StationInfo failures by interface
}

// The counters are nl80211's widths: u32 packets, u64 bytes, s8 dBm.
type fixtureStation struct {
	MAC           string  `json:"mac"`
	ConnectedS    uint32  `json:"connected_s"`
	InactiveMS    uint32  `json:"inactive_ms"`
	RxBytes       uint64  `json:"rx_bytes"`
	TxBytes       uint64  `json:"tx_bytes"`
	RxPackets     uint32  `json:"rx_packets"`
	TxPackets     uint32  `json:"tx_packets"`
	TxRetries     uint32  `json:"tx_retries"`
	TxFailed      uint32  `json:"tx_failed"`
	BeaconLoss    uint32  `json:"beacon_loss"`
	SignalDBm     int8    `json:"signal_dbm"`
	SignalAvgDBm  int8    `json:"signal_avg_dbm"`
	TxBitrateMbit float64 `json:"tx_bitrate_mbit"`
	RxBitrateMbit float64 `json:"rx_bitrate_mbit"`
}

// fakeSource replays a fixture: each Interfaces call starts the next poll.
type fakeSource struct {
	ifaces  []*Interface
	wired   []string
	polls   []fakePoll
	next    int
	cur     *fakePoll
	listErr error    // returned by Interfaces when set
	calls   []string // interfaces StationInfo was asked about, in order
	closed  bool
}

type fakePoll struct {
	stations map[string][]*StationInfo
	errs     map[string]error
}

var errFixtureDone = errors.New("fake: no more recorded polls")

func (f *fakeSource) Interfaces() ([]*Interface, error) {
	if f.listErr != nil {
		return nil, f.listErr
	}
	if f.next >= len(f.polls) {
		return nil, errFixtureDone
	}
	f.cur = &f.polls[f.next]
	f.next++
	out := make([]*Interface, len(f.ifaces))
	for i, ifi := range f.ifaces {
		c := *ifi
		out[i] = &c
	}
	return out, nil
}

func (f *fakeSource) StationInfo(ifi *Interface) ([]*StationInfo, error) {
	f.calls = append(f.calls, ifi.Name)
	if f.cur == nil {
		return nil, errors.New("fake: StationInfo before Interfaces")
	}
	if ifi.Index <= 0 {
		return nil, fmt.Errorf("fake: StationInfo on %q without an ifindex", ifi.Name)
	}
	if err := f.cur.errs[ifi.Name]; err != nil {
		return nil, err
	}
	var out []*StationInfo
	for _, s := range f.cur.stations[ifi.Name] {
		c := *s
		c.HardwareAddr = slices.Clone(s.HardwareAddr)
		out = append(out, &c)
	}
	return out, nil // like nl80211.StationInfo: no stations is an empty slice
}

func (f *fakeSource) Close() error {
	f.closed = true
	return nil
}

// maxFixtureBitrate keeps a fixture's rates within a 32-bit int, as the
// kernel's u32 in 100 kbit/s units scaled to bits/s is on the router.
const maxFixtureBitrate = math.MaxInt32 / 1e6

// decodeFixture checks a fixture strictly: a typo in a recorded dump must
// fail loudly rather than silently read as zero.
func decodeFixture(data []byte) (*fakeSource, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var fx fixture
	if err := dec.Decode(&fx); err != nil {
		return nil, fmt.Errorf("decode fixture: %w", err)
	}
	if dec.More() {
		return nil, errors.New("decode fixture: trailing data")
	}
	if len(fx.Polls) == 0 {
		return nil, errors.New("fixture: no polls")
	}
	f := &fakeSource{wired: fx.Wired}
	byName := map[string]*Interface{}
	for i, fi := range fx.Interfaces {
		typ, ok := interfaceType(fi.Type)
		if !ok {
			return nil, fmt.Errorf("fixture: interface %d: unknown type %q", i, fi.Type)
		}
		if _, err := net.ParseMAC(fi.MAC); err != nil {
			return nil, fmt.Errorf("fixture: interface %d: %w", i, err)
		}
		if fi.Index < 0 || (fi.Name == "") != (fi.Index == 0) {
			return nil, fmt.Errorf("fixture: interface %d: a netdev has both a name and an ifindex", i)
		}
		ifi := &Interface{Index: fi.Index, Name: fi.Name, Type: typ}
		if fi.Name != "" {
			if byName[fi.Name] != nil {
				return nil, fmt.Errorf("fixture: interface %q listed twice", fi.Name)
			}
			byName[fi.Name] = ifi
		}
		f.ifaces = append(f.ifaces, ifi)
	}
	for _, w := range fx.Wired {
		if byName[w] != nil {
			return nil, fmt.Errorf("fixture: %q is both wired and wireless", w)
		}
	}
	for p, fp := range fx.Polls {
		poll := fakePoll{stations: map[string][]*StationInfo{}, errs: map[string]error{}}
		for name, msg := range fp.Errors {
			if byName[name] == nil {
				return nil, fmt.Errorf("fixture: poll %d: error for unknown interface %q", p, name)
			}
			poll.errs[name] = errors.New(msg)
		}
		for name, sts := range fp.Stations {
			ifi := byName[name]
			if ifi == nil {
				return nil, fmt.Errorf("fixture: poll %d: stations of unknown interface %q", p, name)
			}
			poll.stations[name] = []*StationInfo{}
			for j, s := range sts {
				info, err := s.stationInfo()
				if err != nil {
					return nil, fmt.Errorf("fixture: poll %d: %s station %d: %w", p, name, j, err)
				}
				poll.stations[name] = append(poll.stations[name], info)
			}
		}
		f.polls = append(f.polls, poll)
	}
	return f, nil
}

// stationInfo converts as parseStation does, int(u32) included: on a
// 32-bit router a counter past 2^31 arrives negative. Byte counts, the
// receive rate and beacon losses are checked but not used.
func (s fixtureStation) stationInfo() (*StationInfo, error) {
	mac, err := net.ParseMAC(s.MAC)
	if err != nil {
		return nil, err
	}
	for _, r := range []float64{s.TxBitrateMbit, s.RxBitrateMbit} {
		if !(r >= 0 && r <= maxFixtureBitrate) {
			return nil, fmt.Errorf("bitrate %v Mbit/s out of range", r)
		}
	}
	return &StationInfo{
		HardwareAddr:       mac,
		Connected:          time.Duration(s.ConnectedS) * time.Second,
		Inactive:           time.Duration(s.InactiveMS) * time.Millisecond,
		TransmittedPackets: int(s.TxPackets),
		TransmitRetries:    int(s.TxRetries),
		TransmitFailed:     int(s.TxFailed),
		Signal:             int(s.SignalDBm),
		SignalAverage:      int(s.SignalAvgDBm),
		TransmitBitrate:    int(math.Round(s.TxBitrateMbit * 1e6)),
	}, nil
}

// interfaceType reads mdlayher/wifi's names for the types, which number
// them as nl80211 does.
func interfaceType(name string) (InterfaceType, bool) {
	for t := mdwifi.InterfaceTypeUnspecified; t <= mdwifi.InterfaceTypeNAN; t++ {
		if t.String() == name {
			return InterfaceType(t), true
		}
	}
	return 0, false
}

func loadFixture(t *testing.T, name string) *fakeSource {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	f, err := decodeFixture(data)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return f
}

func mustMAC(t testing.TB, s string) net.HardwareAddr {
	t.Helper()
	mac, err := net.ParseMAC(s)
	if err != nil {
		t.Fatal(err)
	}
	return mac
}

func TestDecodeFixtureRejects(t *testing.T) {
	good := `{"interfaces":[{"index":3,"name":"wlan0","mac":"00:11:22:33:44:55","type":"ad-hoc"}],` +
		`"polls":[{"stations":{"wlan0":[{"mac":"00:11:22:33:44:66","tx_packets":1}]}}]}`
	if _, err := decodeFixture([]byte(good)); err != nil {
		t.Fatalf("good fixture: %v", err)
	}
	for name, bad := range map[string]string{
		"unknown field":   `{"interfaces":[],"polls":[{}],"colour":"blue"}`,
		"no polls":        `{"interfaces":[]}`,
		"unknown type":    `{"interfaces":[{"index":3,"name":"wlan0","mac":"00:11:22:33:44:55","type":"adhoc"}],"polls":[{}]}`,
		"bad mac":         `{"interfaces":[{"index":3,"name":"wlan0","mac":"00:11","type":"ad-hoc"}],"polls":[{}]}`,
		"name no index":   `{"interfaces":[{"name":"wlan0","mac":"00:11:22:33:44:55","type":"ad-hoc"}],"polls":[{}]}`,
		"unknown iface":   `{"interfaces":[],"polls":[{"stations":{"wlan9":[]}}]}`,
		"wired+wireless":  `{"interfaces":[{"index":3,"name":"wlan0","mac":"00:11:22:33:44:55","type":"ad-hoc"}],"wired":["wlan0"],"polls":[{}]}`,
		"u32 overflow":    strings.Replace(good, `"tx_packets":1`, `"tx_packets":4294967296`, 1),
		"negative rate":   strings.Replace(good, `"tx_packets":1`, `"tx_bitrate_mbit":-1`, 1),
		"trailing data":   good + `{}`,
		"station bad mac": strings.Replace(good, `00:11:22:33:44:66`, `zz`, 1),
	} {
		if _, err := decodeFixture([]byte(bad)); err == nil {
			t.Errorf("%s: decoded without error", name)
		}
	}
}

// FuzzDecodeFixture: decoding never panics, and whatever decodes can be
// polled to the end without panics, negative ratios or penalties out of
// bounds.
func FuzzDecodeFixture(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no fixtures: %v", err)
	}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		src, err := decodeFixture(data)
		if err != nil {
			return
		}
		m := NewMonitor(src)
		for range src.polls {
			_ = m.Poll() // recorded errors are fine
			for _, ifi := range src.ifaces {
				for _, st := range m.Stations(ifi.Name) {
					checkMetrics(t, st)
				}
			}
		}
	})
}

func checkMetrics(t *testing.T, st Metrics) {
	t.Helper()
	if !(st.RetryRatio >= 0) || math.IsInf(st.RetryRatio, 0) || !(st.FailRatio >= 0 && st.FailRatio <= 1) {
		t.Fatalf("station %v: ratios retry %v fail %v", st.MAC, st.RetryRatio, st.FailRatio)
	}
	if p := Penalty(st); !(p >= 1 && p <= MaxPenalty) {
		t.Fatalf("station %v: penalty %v out of bounds", st.MAC, p)
	}
}
