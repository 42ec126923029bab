package wifi

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

type ratios struct{ retry, fail float64 }

func stationRatios(t *testing.T, m *Monitor, ifname, mac string) ratios {
	t.Helper()
	st, ok := m.Station(ifname, mustMAC(t, mac))
	if !ok {
		t.Fatalf("%s: no station %s", ifname, mac)
	}
	checkMetrics(t, st)
	return ratios{st.RetryRatio, st.FailRatio}
}

func wantRatios(t *testing.T, what string, got, want ratios) {
	t.Helper()
	if !near(got.retry, want.retry) || !near(got.fail, want.fail) {
		t.Errorf("%s: ratios retry %v fail %v, want %v %v", what, got.retry, got.fail, want.retry, want.fail)
	}
}

func mustPoll(t *testing.T, m *Monitor) {
	t.Helper()
	if err := m.Poll(); err != nil {
		t.Fatalf("Poll: %v", err)
	}
}

func TestMonitorAdHocDeltas(t *testing.T) {
	src := loadFixture(t, "adhoc_ath9k.json")
	m := NewMonitor(src)
	const good, edge = "e8:de:27:aa:20:02", "c4:6e:1f:bb:30:03"

	mustPoll(t, m) // first sight: ratios since association
	wantRatios(t, "poll 1 good", stationRatios(t, m, "wlan0", good), ratios{61234.0 / 398211, 312.0 / 398211})
	wantRatios(t, "poll 1 edge", stationRatios(t, m, "wlan0", edge), ratios{40210.0 / 90112, 1830.0 / 90112})

	mustPoll(t, m) // 5 s later: deltas
	wantRatios(t, "poll 2 good", stationRatios(t, m, "wlan0", good), ratios{150.0 / 1200, 2.0 / 1200})
	wantRatios(t, "poll 2 edge", stationRatios(t, m, "wlan0", edge), ratios{180.0 / 300, 12.0 / 300})
	st, _ := m.Station("wlan0", mustMAC(t, edge))
	if st.TxBitrate != 13*mbit || st.Signal != -75 || st.Inactive != 120*time.Millisecond {
		t.Errorf("poll 2 edge: %+v, want 13 Mbit/s, the average -75 dBm, 120 ms", st)
	}

	// Poll 3: good sent only 4 packets (too few: ratios stand, the sample
	// keeps growing); edge was re-added and its counters restarted.
	mustPoll(t, m)
	wantRatios(t, "poll 3 good", stationRatios(t, m, "wlan0", good), ratios{150.0 / 1200, 2.0 / 1200})
	wantRatios(t, "poll 3 edge after reset", stationRatios(t, m, "wlan0", edge), ratios{22.0 / 40, 2.0 / 40})

	// Poll 4: good's sample spans polls 2 to 4; edge counts from poll 3.
	mustPoll(t, m)
	wantRatios(t, "poll 4 good", stationRatios(t, m, "wlan0", good), ratios{4.0 / 20, 0})
	wantRatios(t, "poll 4 edge", stationRatios(t, m, "wlan0", edge), ratios{75.0 / 150, 6.0 / 150})
	if st, _ := m.Station("wlan0", mustMAC(t, good)); st.TxBitrate != 72_200_000 {
		t.Errorf("poll 4 good: tx bitrate %d, want 72.2 Mbit/s", st.TxBitrate)
	}

	if got := m.Kind("wlan0"); got != AdHoc {
		t.Errorf("Kind(wlan0) = %v, want adhoc", got)
	}
	if err := m.Poll(); !errors.Is(err, errFixtureDone) {
		t.Errorf("Poll past the recording: %v", err)
	}
}

func TestMonitorMeshWeakNeighbour(t *testing.T) {
	m := NewMonitor(loadFixture(t, "mesh_weak.json"))
	const strong, weak = "94:83:c4:01:02:03", "94:83:c4:0a:0b:0c"
	mustPoll(t, m)
	mustPoll(t, m)
	if got := m.Kind("mesh0"); got != MeshPoint {
		t.Errorf("Kind(mesh0) = %v, want mesh", got)
	}
	// strong's tx_packets wrapped past 2^32: 5000 packets, not a reset.
	wantRatios(t, "strong", stationRatios(t, m, "mesh0", strong), ratios{250.0 / 5000, 0})
	wantRatios(t, "weak", stationRatios(t, m, "mesh0", weak), ratios{190.0 / 80, 9.0 / 80})

	s, _ := m.Station("mesh0", mustMAC(t, strong))
	w, _ := m.Station("mesh0", mustMAC(t, weak))
	ps, pw := Penalty(s), Penalty(w)
	if ps > 1.1 {
		t.Errorf("strong neighbour: penalty %v, want about 1", ps)
	}
	// -85 dBm (4) x (1 + 2.375 + 4 x 0.1125): 15.3.
	if !near(pw, 4*(1+190.0/80+4*9.0/80)) {
		t.Errorf("weak neighbour: penalty %v", pw)
	}
	if got := m.Stations("mesh0"); len(got) != 2 || !slices.Equal(got[0].MAC, s.MAC) || !slices.Equal(got[1].MAC, w.MAC) {
		t.Errorf("Stations(mesh0) = %v, want strong then weak", got)
	}
}

func TestMonitorStationAndAP(t *testing.T) {
	m := NewMonitor(loadFixture(t, "sta_ap.json"))
	const laptop, phone, uplink = "3c:22:fb:11:22:33", "a4:83:e7:44:55:66", "60:38:e0:77:88:99"
	mustPoll(t, m)
	mustPoll(t, m)
	if k0, k1 := m.Kind("wlan0"), m.Kind("wlan1"); k0 != AP || k1 != Station {
		t.Errorf("kinds %v %v, want ap sta", k0, k1)
	}
	wantRatios(t, "laptop", stationRatios(t, m, "wlan0", laptop), ratios{1000.0 / 5000, 5.0 / 5000})
	wantRatios(t, "uplink", stationRatios(t, m, "wlan1", uplink), ratios{400.0 / 4000, 4.0 / 4000})
	// The phone sent nothing: its ratios since association stand.
	wantRatios(t, "phone", stationRatios(t, m, "wlan0", phone), ratios{9100.0 / 25001, 420.0 / 25001})

	// Its 1 Mbit/s and -78 dBm are 42 s old: no penalty rests on them...
	st, _ := m.Station("wlan0", mustMAC(t, phone))
	if p := Penalty(st); p != 1 {
		t.Errorf("dozing phone: penalty %v, want 1", p)
	}
	// ...though they would weigh heavily were they fresh.
	st.Inactive = 0
	if p := Penalty(st); p < 8 {
		t.Errorf("phone, fresh: penalty %v, want >= 8", p)
	}
	if _, ok := m.Station("wlan1", mustMAC(t, laptop)); ok {
		t.Error("laptop found on wlan1")
	}
}

func TestKindDetection(t *testing.T) {
	src := loadFixture(t, "interfaces.json")
	m := NewMonitor(src)
	if got := m.Kind("wlan0"); got != Wired {
		t.Errorf("before any Poll: Kind(wlan0) = %v, want wired", got)
	}
	mustPoll(t, m)
	want := map[string]Kind{
		"wlan0": AP, "wlan0.sta1": AP, "mesh0": MeshPoint, "wlan1": Station, "adhoc0": AdHoc,
		"mon0": Other, "": Wired, "nonexistent": Wired,
	}
	for _, w := range src.wired {
		want[w] = Wired
	}
	for name, k := range want {
		if got := m.Kind(name); got != k {
			t.Errorf("Kind(%q) = %v, want %v", name, got, k)
		}
	}
	// Stations are read on link interfaces only: not on the monitor, not on
	// the netdev-less P2P device.
	slices.Sort(src.calls)
	if want := []string{"adhoc0", "mesh0", "wlan0", "wlan0.sta1", "wlan1"}; !slices.Equal(src.calls, want) {
		t.Errorf("StationInfo asked about %q, want %q", src.calls, want)
	}
	if got := m.Stations("wlan0.sta1"); len(got) != 1 || got[0].TxBitrate != 130*mbit {
		t.Errorf("Stations(wlan0.sta1) = %+v", got)
	}
	if got := m.Stations("eth0"); got != nil {
		t.Errorf("Stations(eth0) = %+v", got)
	}
}

func TestKindText(t *testing.T) {
	for k := Wired; k <= Other; k++ {
		b, err := k.MarshalText()
		if err != nil || string(b) != k.String() {
			t.Fatalf("%d: MarshalText = %q, %v", k, b, err)
		}
		var back Kind
		if err := back.UnmarshalText(b); err != nil || back != k {
			t.Fatalf("%q: UnmarshalText = %v, %v", b, back, err)
		}
	}
	if _, err := Kind(99).MarshalText(); err == nil {
		t.Error("MarshalText(99) succeeded")
	}
	if Kind(99).String() != "kind(99)" {
		t.Errorf("String(99) = %q", Kind(99).String())
	}
	var k Kind
	if err := k.UnmarshalText([]byte("mesh point")); err == nil {
		t.Error("UnmarshalText accepted an unknown name")
	}
}

func TestPollErrors(t *testing.T) {
	src := loadFixture(t, "sta_ap.json")
	m := NewMonitor(src)
	mustPoll(t, m)

	// The interface list fails: the last snapshot stays.
	src.listErr = errors.New("netlink: timeout")
	if err := m.Poll(); err == nil || !strings.Contains(err.Error(), "timeout") {
		t.Fatalf("Poll with a failing list: %v", err)
	}
	if _, ok := m.Station("wlan0", mustMAC(t, "3c:22:fb:11:22:33")); !ok || m.Kind("wlan0") != AP {
		t.Error("a failed Poll dropped the snapshot")
	}
	src.listErr = nil

	// One interface's dump fails: the other is still updated.
	gone := errors.New("no such device")
	src.polls[1].errs["wlan1"] = gone
	err := m.Poll()
	if !errors.Is(err, gone) || !strings.Contains(err.Error(), "wlan1") {
		t.Fatalf("Poll = %v, want wlan1's error", err)
	}
	if m.Kind("wlan1") != Station {
		t.Error("wlan1 lost its kind")
	}
	if _, ok := m.Station("wlan1", mustMAC(t, "60:38:e0:77:88:99")); ok {
		t.Error("wlan1 kept stations it could not read")
	}
	wantRatios(t, "laptop", stationRatios(t, m, "wlan0", "3c:22:fb:11:22:33"), ratios{1000.0 / 5000, 5.0 / 5000})
}

func TestPollInterfaceGone(t *testing.T) {
	src := loadFixture(t, "sta_ap.json")
	m := NewMonitor(src)
	mustPoll(t, m)
	src.ifaces = src.ifaces[:1] // wlan1 is deleted (wifi down on its radio)
	mustPoll(t, m)
	if got := m.Kind("wlan1"); got != Wired {
		t.Errorf("Kind of a vanished interface = %v, want wired", got)
	}
	if got := m.Stations("wlan1"); got != nil {
		t.Errorf("vanished interface still has stations: %v", got)
	}
}

func TestStationIsACopy(t *testing.T) {
	m := NewMonitor(loadFixture(t, "mesh_weak.json"))
	mustPoll(t, m)
	mac := mustMAC(t, "94:83:c4:01:02:03")
	st, _ := m.Station("mesh0", mac)
	st.MAC[0] ^= 0xff
	m.Stations("mesh0")[0].MAC[0] ^= 0xff
	if _, ok := m.Station("mesh0", mac); !ok {
		t.Error("writing a returned MAC changed the Monitor")
	}
}

// TestCountersNeverNegative feeds random counter walks, going backwards
// (driver resets, re-added stations) and past 2^31 (negative ints on a
// 32-bit router) at random, and wants sane ratios every time.
func TestCountersNeverNegative(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	ifi := &Interface{Index: 5, Name: "wlan0", Type: InterfaceTypeAdHoc}
	mac := mustMAC(t, "02:00:00:00:00:01")
	for walk := range 200 {
		src := &fakeSource{ifaces: []*Interface{ifi}}
		var pk, rt, fl, conn int64
		for range 50 {
			switch r.IntN(6) {
			case 0: // reset
				pk, rt, fl = r.Int64N(100), r.Int64N(100), r.Int64N(50)
				if r.IntN(2) == 0 {
					conn = 0
				}
			case 1: // near or past 2^31 and 2^32
				pk = math.MaxInt32 + r.Int64N(math.MaxInt32+2)
			default:
				pk += r.Int64N(500)
				rt += r.Int64N(1000)
				fl += r.Int64N(100)
				conn += 5
			}
			info := &StationInfo{
				HardwareAddr: mac, Connected: time.Duration(conn) * time.Second,
				TransmittedPackets: int(int32(uint32(pk))), // as int(u32) on a 32-bit router
				TransmitRetries:    int(uint32(rt)),
				TransmitFailed:     int(uint32(fl)),
			}
			src.polls = append(src.polls, fakePoll{stations: map[string][]*StationInfo{"wlan0": {info}}})
		}
		m := NewMonitor(src)
		for p := range src.polls {
			mustPoll(t, m)
			st, ok := m.Station("wlan0", mac)
			if !ok {
				t.Fatalf("walk %d poll %d: station missing", walk, p)
			}
			checkMetrics(t, st)
		}
	}
}

// TestMonitorReassociation: a station that left and came back has new
// counters even when they happen to exceed the old ones; its shorter
// connected time gives it away.
func TestMonitorReassociation(t *testing.T) {
	ifi := &Interface{Index: 7, Name: "mesh0", Type: InterfaceTypeMeshPoint}
	mac := mustMAC(t, "02:00:00:00:00:07")
	poll := func(connected time.Duration, packets, retries, failed int) fakePoll {
		return fakePoll{stations: map[string][]*StationInfo{"mesh0": {{
			HardwareAddr: mac, Connected: connected,
			TransmittedPackets: packets, TransmitRetries: retries, TransmitFailed: failed,
		}}}}
	}
	src := &fakeSource{ifaces: []*Interface{ifi}, polls: []fakePoll{
		poll(100*time.Second, 50, 10, 0),
		poll(3*time.Second, 200, 100, 20), // re-added: all 200 packets are new
	}}
	m := NewMonitor(src)
	mustPoll(t, m)
	mustPoll(t, m)
	wantRatios(t, "after reassociation", stationRatios(t, m, "mesh0", mac.String()), ratios{100.0 / 200, 20.0 / 200})
}

// TestMonitorCountersRestart: a driver or firmware restart can zero some
// counters while the station stays associated. Whichever counter went back,
// the new sample is what the counters hold now, never a negative or
// wrapped-around difference.
func TestMonitorCountersRestart(t *testing.T) {
	ifi := &Interface{Index: 7, Name: "wlan0", Type: InterfaceTypeAdHoc}
	mac := mustMAC(t, "02:00:00:00:00:08")
	type sample struct{ packets, retries, failed int }
	poll := func(connected time.Duration, s sample) fakePoll {
		return fakePoll{stations: map[string][]*StationInfo{"wlan0": {{
			HardwareAddr: mac, Connected: connected,
			TransmittedPackets: s.packets, TransmitRetries: s.retries, TransmitFailed: s.failed,
		}}}}
	}
	before := sample{5000, 900, 30}
	for _, c := range []struct {
		name  string
		after sample
		want  ratios
	}{
		{"all counters", sample{120, 30, 6}, ratios{30.0 / 120, 6.0 / 120}},
		{"packets only", sample{120, 960, 36}, ratios{960.0 / 120, 36.0 / 120}},
		{"retries only", sample{5200, 30, 36}, ratios{30.0 / 5200, 36.0 / 5200}},
		{"failures only", sample{5200, 1000, 2}, ratios{1000.0 / 5200, 2.0 / 5200}},
	} {
		src := &fakeSource{ifaces: []*Interface{ifi}, polls: []fakePoll{
			poll(100*time.Second, before), poll(105*time.Second, c.after),
		}}
		m := NewMonitor(src)
		mustPoll(t, m)
		mustPoll(t, m)
		wantRatios(t, c.name, stationRatios(t, m, "wlan0", mac.String()), c.want)
	}
}
