package wifi

import (
	"errors"
	"math/rand/v2"
	"net"
	"os"
	"reflect"
	"testing"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
	mdwifi "github.com/mdlayher/wifi"
	"golang.org/x/sys/unix"
)

// The parsers are compared with mdlayher/wifi's, which ntkd used before, on
// the same messages: random subsets of what the kernel sends, in random
// order, with the attributes ntkd ignores mixed in.

func fromMD(ifi *mdwifi.Interface) *Interface {
	return &Interface{Index: ifi.Index, Name: ifi.Name, Type: InterfaceType(ifi.Type)}
}

func stationFromMD(s *mdwifi.StationInfo) *StationInfo {
	return &StationInfo{HardwareAddr: s.HardwareAddr, Connected: s.Connected, Inactive: s.Inactive,
		TransmittedPackets: s.TransmittedPackets, TransmitRetries: s.TransmitRetries, TransmitFailed: s.TransmitFailed,
		Signal: s.Signal, SignalAverage: s.SignalAverage, TransmitBitrate: s.TransmitBitrate}
}

// encodeShuffled encodes some of the attribute writers, each with
// probability 3/4, in a random order.
func encodeShuffled(r *rand.Rand, ae *netlink.AttributeEncoder, attrs []func(*netlink.AttributeEncoder)) {
	r.Shuffle(len(attrs), func(i, j int) { attrs[i], attrs[j] = attrs[j], attrs[i] })
	for _, a := range attrs {
		if r.IntN(4) > 0 {
			a(ae)
		}
	}
}

func randomRate(r *rand.Rand) func(*netlink.AttributeEncoder) error {
	return func(ae *netlink.AttributeEncoder) error {
		encodeShuffled(r, ae, []func(*netlink.AttributeEncoder){
			func(ae *netlink.AttributeEncoder) {
				ae.Uint32(unix.NL80211_RATE_INFO_BITRATE32, r.Uint32()>>r.IntN(32))
			},
			func(ae *netlink.AttributeEncoder) {
				ae.Uint16(unix.NL80211_RATE_INFO_BITRATE, uint16(r.Uint32()>>r.IntN(16)))
			},
			func(ae *netlink.AttributeEncoder) { ae.Uint8(unix.NL80211_RATE_INFO_MCS, uint8(r.IntN(32))) },
			func(ae *netlink.AttributeEncoder) { ae.Flag(unix.NL80211_RATE_INFO_SHORT_GI, true) },
			func(ae *netlink.AttributeEncoder) { ae.Flag(unix.NL80211_RATE_INFO_40_MHZ_WIDTH, true) },
			func(ae *netlink.AttributeEncoder) { ae.Uint8(unix.NL80211_RATE_INFO_VHT_MCS, uint8(r.IntN(10))) },
			func(ae *netlink.AttributeEncoder) { ae.Uint8(unix.NL80211_RATE_INFO_VHT_NSS, uint8(r.IntN(4))) },
			func(ae *netlink.AttributeEncoder) { ae.Uint8(unix.NL80211_RATE_INFO_HE_MCS, uint8(r.IntN(12))) },
		})
		return nil
	}
}

func randomStation(t testing.TB, r *rand.Rand) []byte {
	mac := make([]byte, 6)
	for i := range mac {
		mac[i] = byte(r.Uint32())
	}
	ae := netlink.NewAttributeEncoder()
	top := []func(*netlink.AttributeEncoder){
		func(ae *netlink.AttributeEncoder) { ae.Uint32(unix.NL80211_ATTR_IFINDEX, r.Uint32()) },
		func(ae *netlink.AttributeEncoder) { ae.Bytes(unix.NL80211_ATTR_MAC, mac) },
		func(ae *netlink.AttributeEncoder) { ae.Uint32(unix.NL80211_ATTR_GENERATION, r.Uint32()) },
	}
	u32 := func(typ uint16) func(*netlink.AttributeEncoder) {
		return func(ae *netlink.AttributeEncoder) { ae.Uint32(typ, r.Uint32()>>r.IntN(32)) }
	}
	info := []func(*netlink.AttributeEncoder){
		u32(unix.NL80211_STA_INFO_CONNECTED_TIME), u32(unix.NL80211_STA_INFO_INACTIVE_TIME),
		u32(unix.NL80211_STA_INFO_TX_PACKETS), u32(unix.NL80211_STA_INFO_TX_RETRIES), u32(unix.NL80211_STA_INFO_TX_FAILED),
		u32(unix.NL80211_STA_INFO_RX_PACKETS), u32(unix.NL80211_STA_INFO_RX_BYTES), u32(unix.NL80211_STA_INFO_TX_BYTES),
		u32(unix.NL80211_STA_INFO_BEACON_LOSS),
		func(ae *netlink.AttributeEncoder) { ae.Uint64(unix.NL80211_STA_INFO_RX_BYTES64, r.Uint64()) },
		func(ae *netlink.AttributeEncoder) { ae.Uint8(unix.NL80211_STA_INFO_SIGNAL, uint8(r.Uint32())) },
		func(ae *netlink.AttributeEncoder) { ae.Uint8(unix.NL80211_STA_INFO_SIGNAL_AVG, uint8(r.Uint32())) },
		func(ae *netlink.AttributeEncoder) { ae.Nested(unix.NL80211_STA_INFO_TX_BITRATE, randomRate(r)) },
		func(ae *netlink.AttributeEncoder) { ae.Nested(unix.NL80211_STA_INFO_RX_BITRATE, randomRate(r)) },
	}
	if r.IntN(10) > 0 { // else a station without statistics
		top = append(top, func(ae *netlink.AttributeEncoder) {
			ae.Nested(unix.NL80211_ATTR_STA_INFO, func(nae *netlink.AttributeEncoder) error {
				encodeShuffled(r, nae, info)
				return nil
			})
		})
	}
	encodeShuffled(r, ae, top)
	b, err := ae.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func randomInterface(t testing.TB, r *rand.Rand) []byte {
	ae := netlink.NewAttributeEncoder()
	encodeShuffled(r, ae, []func(*netlink.AttributeEncoder){
		func(ae *netlink.AttributeEncoder) { ae.Uint32(unix.NL80211_ATTR_IFINDEX, r.Uint32()>>r.IntN(32)) },
		func(ae *netlink.AttributeEncoder) {
			ae.String(unix.NL80211_ATTR_IFNAME, "wlan"+string(rune('0'+r.IntN(10))))
		},
		func(ae *netlink.AttributeEncoder) { ae.Uint32(unix.NL80211_ATTR_IFTYPE, uint32(r.IntN(13))) },
		func(ae *netlink.AttributeEncoder) {
			ae.Bytes(unix.NL80211_ATTR_MAC, []byte{2, 0, 0, 0, 0, byte(r.Uint32())})
		},
		func(ae *netlink.AttributeEncoder) { ae.Uint32(unix.NL80211_ATTR_WIPHY, r.Uint32()) },
		func(ae *netlink.AttributeEncoder) { ae.Uint64(unix.NL80211_ATTR_WDEV, r.Uint64()) },
		func(ae *netlink.AttributeEncoder) { ae.Uint32(unix.NL80211_ATTR_WIPHY_FREQ, 2412) },
		func(ae *netlink.AttributeEncoder) { ae.Bytes(unix.NL80211_ATTR_SSID, []byte("mesh")) },
	})
	b, err := ae.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseStationLikeMdlayher(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 5000 {
		b := randomStation(t, r)
		want, werr := mdwifi.ParseStationInfo(b)
		got, gerr := parseStation(b)
		if (werr != nil) != (gerr != nil) || errors.Is(werr, os.ErrNotExist) != errors.Is(gerr, os.ErrNotExist) {
			t.Fatalf("message %d %x: parseStation error %v, mdlayher/wifi %v", i, b, gerr, werr)
		}
		if werr == nil && !reflect.DeepEqual(got, stationFromMD(want)) {
			t.Fatalf("message %d %x:\n parseStation   %+v\n mdlayher/wifi  %+v", i, b, got, stationFromMD(want))
		}
	}
}

func TestParseInterfaceLikeMdlayher(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for i := range 2000 {
		b := randomInterface(t, r)
		want, werr := mdwifi.ParseInterfaces([]genetlink.Message{{Data: b}})
		got, gerr := parseInterface(b)
		if werr != nil || gerr != nil {
			t.Fatalf("message %d %x: parseInterface error %v, mdlayher/wifi %v", i, b, gerr, werr)
		}
		if !reflect.DeepEqual(got, fromMD(want[0])) {
			t.Fatalf("message %d %x:\n parseInterface %+v\n mdlayher/wifi  %+v", i, b, got, fromMD(want[0]))
		}
	}
}

// TestParseStationKernelLayout decodes a station as the kernel lays it out
// (nl80211_send_station), with figures worked out by hand.
func TestParseStationKernelLayout(t *testing.T) {
	mac := net.HardwareAddr{0x3c, 0x22, 0xfb, 0x11, 0x22, 0x33}
	ae := netlink.NewAttributeEncoder()
	ae.Uint32(unix.NL80211_ATTR_IFINDEX, 10)
	ae.Bytes(unix.NL80211_ATTR_MAC, mac)
	ae.Uint32(unix.NL80211_ATTR_GENERATION, 7)
	ae.Nested(unix.NL80211_ATTR_STA_INFO, func(ae *netlink.AttributeEncoder) error {
		ae.Uint32(unix.NL80211_STA_INFO_INACTIVE_TIME, 30)
		ae.Uint32(unix.NL80211_STA_INFO_TX_PACKETS, 4294967295) // int(u32): -1 on a 32-bit router
		ae.Uint8(unix.NL80211_STA_INFO_SIGNAL, 0xc2)            // -62 dBm
		ae.Uint8(unix.NL80211_STA_INFO_SIGNAL_AVG, 0xc3)        // -61 dBm
		ae.Nested(unix.NL80211_STA_INFO_TX_BITRATE, func(ae *netlink.AttributeEncoder) error {
			ae.Uint16(unix.NL80211_RATE_INFO_BITRATE, 1444)
			ae.Uint32(unix.NL80211_RATE_INFO_BITRATE32, 1444)
			ae.Uint8(unix.NL80211_RATE_INFO_MCS, 15)
			return nil
		})
		ae.Uint32(unix.NL80211_STA_INFO_TX_RETRIES, 120433)
		ae.Uint32(unix.NL80211_STA_INFO_TX_FAILED, 611)
		ae.Uint32(unix.NL80211_STA_INFO_CONNECTED_TIME, 5400)
		return nil
	})
	b, err := ae.Encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := parseStation(b)
	if err != nil {
		t.Fatal(err)
	}
	packets := uint32(4294967295)
	want := &StationInfo{HardwareAddr: mac, Connected: 5400e9, Inactive: 30e6, TransmittedPackets: int(packets),
		TransmitRetries: 120433, TransmitFailed: 611, Signal: -62, SignalAverage: -61, TransmitBitrate: 144_400_000}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parseStation = %+v, want %+v", got, want)
	}
}

// FuzzParseStation: any bytes decode without a panic, and the same way as
// mdlayher/wifi (value or failure) whenever it does not panic.
func FuzzParseStation(f *testing.F) {
	r := rand.New(rand.NewPCG(7, 8))
	for range 20 {
		f.Add(randomStation(f, r))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, gerr := parseStation(b)
		var want *mdwifi.StationInfo
		var werr error
		panicked := func() (p bool) {
			defer func() { p = recover() != nil }()
			want, werr = mdwifi.ParseStationInfo(b)
			return false
		}()
		switch {
		case panicked:
			return // a short attribute: ours returns an error instead
		case (werr != nil) != (gerr != nil) || errors.Is(werr, os.ErrNotExist) != errors.Is(gerr, os.ErrNotExist):
			t.Fatalf("%x: parseStation error %v, mdlayher/wifi %v", b, gerr, werr)
		case werr != nil:
			return
		}
		if !reflect.DeepEqual(got, stationFromMD(want)) {
			t.Fatalf("%x:\n parseStation   %+v\n mdlayher/wifi  %+v", b, got, stationFromMD(want))
		}
	})
}

// FuzzParseInterface is FuzzParseStation for interface messages.
func FuzzParseInterface(f *testing.F) {
	r := rand.New(rand.NewPCG(9, 10))
	for range 20 {
		f.Add(randomInterface(f, r))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, gerr := parseInterface(b)
		var want []*mdwifi.Interface
		var werr error
		panicked := func() (p bool) {
			defer func() { p = recover() != nil }()
			want, werr = mdwifi.ParseInterfaces([]genetlink.Message{{Data: b}})
			return false
		}()
		switch {
		case panicked:
			return
		case (werr != nil) != (gerr != nil):
			t.Fatalf("%x: parseInterface error %v, mdlayher/wifi %v", b, gerr, werr)
		case werr != nil:
			return
		}
		if !reflect.DeepEqual(got, fromMD(want[0])) {
			t.Fatalf("%x:\n parseInterface %+v\n mdlayher/wifi  %+v", b, got, fromMD(want[0]))
		}
	})
}
