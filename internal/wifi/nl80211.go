package wifi

import (
	"encoding/binary"
	"errors"
	"net"
	"os"
	"time"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
	"github.com/mdlayher/netlink/nlenc"
	"golang.org/x/sys/unix"
)

// The two nl80211 dumps ntkd reads, over generic netlink, parsed as
// mdlayher/wifi parses them (the tests compare the two on the same
// messages). Not mdlayher/wifi itself: besides what ntkd reads, its import
// brings WPA key derivation (crypto/sha1, pbkdf2, crypto/sha3's
// registrations) and rate-info formatting, ~38 KB of mips code and ~28 KB
// of tables, which the router build's 5 MiB needed for the tunnels; the
// tunnel package reads WireGuard's family the same way.

// InterfaceType is nl80211's interface type (enum nl80211_iftype).
type InterfaceType int

// The types Kind tells apart.
const (
	InterfaceTypeAdHoc     InterfaceType = unix.NL80211_IFTYPE_ADHOC
	InterfaceTypeStation   InterfaceType = unix.NL80211_IFTYPE_STATION
	InterfaceTypeAP        InterfaceType = unix.NL80211_IFTYPE_AP
	InterfaceTypeAPVLAN    InterfaceType = unix.NL80211_IFTYPE_AP_VLAN
	InterfaceTypeMeshPoint InterfaceType = unix.NL80211_IFTYPE_MESH_POINT
)

// Interface is one wireless interface (or a wdev without a netdev, which
// has no name or index).
type Interface struct {
	Index int
	Name  string
	Type  InterfaceType
}

// StationInfo is what the driver reports of one station, in
// mdlayher/wifi's units and types: int(u32) counters, which on a 32-bit
// router go negative past 2^31.
type StationInfo struct {
	HardwareAddr       net.HardwareAddr
	Connected          time.Duration // since it (re)associated
	Inactive           time.Duration // since the last frame from or to it
	TransmittedPackets int
	TransmitRetries    int
	TransmitFailed     int
	Signal             int // dBm, last frame
	SignalAverage      int // dBm; 0: not reported
	TransmitBitrate    int // bits/s of the last frame sent; 0: not reported
}

// nl80211 is the kernel Source.
type nl80211 struct {
	c       *genetlink.Conn
	family  uint16
	version uint8
}

// dialNL80211 connects to the nl80211 family. A kernel without it fails
// with an error wrapping os.ErrNotExist (genetlink's ENOENT).
func dialNL80211() (*nl80211, error) {
	c, err := genetlink.Dial(nil)
	if err != nil {
		return nil, err
	}
	// Better errors where the kernel offers them; best effort, as
	// mdlayher/wifi does, since older kernels lack them.
	_ = c.SetOption(netlink.ExtendedAcknowledge, true)
	_ = c.SetOption(netlink.GetStrictCheck, true)
	f, err := c.GetFamily(unix.NL80211_GENL_NAME)
	if err != nil {
		c.Close()
		return nil, err
	}
	return &nl80211{c: c, family: f.ID, version: f.Version}, nil
}

func (n *nl80211) Close() error { return n.c.Close() }

func (n *nl80211) dump(cmd uint8, attrs []byte) ([]genetlink.Message, error) {
	return n.c.Execute(genetlink.Message{Header: genetlink.Header{Command: cmd, Version: n.version}, Data: attrs},
		n.family, netlink.Request|netlink.Dump)
}

// Interfaces lists every wireless interface.
func (n *nl80211) Interfaces() ([]*Interface, error) {
	msgs, err := n.dump(unix.NL80211_CMD_GET_INTERFACE, nil)
	if err != nil {
		return nil, err
	}
	out := make([]*Interface, 0, len(msgs))
	for _, m := range msgs {
		ifi, err := parseInterface(m.Data)
		if err != nil {
			return nil, err
		}
		out = append(out, ifi)
	}
	return out, nil
}

// StationInfo lists the stations of ifi. A station without its statistics
// fails the whole dump with os.ErrNotExist, as in mdlayher/wifi.
func (n *nl80211) StationInfo(ifi *Interface) ([]*StationInfo, error) {
	ae := netlink.NewAttributeEncoder()
	ae.Uint32(unix.NL80211_ATTR_IFINDEX, uint32(ifi.Index))
	b, err := ae.Encode()
	if err != nil {
		return nil, err
	}
	msgs, err := n.dump(unix.NL80211_CMD_GET_STATION, b)
	if err != nil {
		return nil, err
	}
	out := make([]*StationInfo, len(msgs))
	for i, m := range msgs {
		if out[i], err = parseStation(m.Data); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// The parsers read attributes as mdlayher/wifi reads them: the same type
// matching (with or without the nested flag), native byte order, the
// first bytes of a longer attribute; a shorter one, where it would panic,
// is an error here.

var errShortAttr = errors.New("nl80211: attribute too short")

func u32(b []byte) (uint32, error) {
	if len(b) < 4 {
		return 0, errShortAttr
	}
	return binary.NativeEndian.Uint32(b), nil
}

func parseInterface(b []byte) (*Interface, error) {
	attrs, err := netlink.UnmarshalAttributes(b)
	if err != nil {
		return nil, err
	}
	var ifi Interface
	for _, a := range attrs {
		var v uint32
		switch a.Type {
		case unix.NL80211_ATTR_IFINDEX:
			v, err = u32(a.Data)
			ifi.Index = int(v)
		case unix.NL80211_ATTR_IFNAME:
			ifi.Name = nlenc.String(a.Data)
		case unix.NL80211_ATTR_IFTYPE:
			v, err = u32(a.Data)
			ifi.Type = InterfaceType(v)
		}
		if err != nil {
			return nil, err
		}
	}
	return &ifi, nil
}

// parseStation reads one station message: its MAC, then the nested
// statistics, where it stops.
func parseStation(b []byte) (*StationInfo, error) {
	attrs, err := netlink.UnmarshalAttributes(b)
	if err != nil {
		return nil, err
	}
	var info StationInfo
	for _, a := range attrs {
		switch a.Type &^ netlink.Nested {
		case unix.NL80211_ATTR_MAC:
			info.HardwareAddr = net.HardwareAddr(a.Data)
		case unix.NL80211_ATTR_STA_INFO:
			if err := info.parse(a.Data); err != nil {
				return nil, err
			}
			return &info, nil
		}
	}
	return nil, os.ErrNotExist
}

func (info *StationInfo) parse(b []byte) error {
	attrs, err := netlink.UnmarshalAttributes(b)
	if err != nil {
		return err
	}
	for _, a := range attrs {
		var v uint32
		switch a.Type &^ netlink.Nested {
		case unix.NL80211_STA_INFO_CONNECTED_TIME:
			v, err = u32(a.Data)
			info.Connected = time.Duration(v) * time.Second
		case unix.NL80211_STA_INFO_INACTIVE_TIME:
			v, err = u32(a.Data)
			info.Inactive = time.Duration(v) * time.Millisecond
		case unix.NL80211_STA_INFO_SIGNAL, unix.NL80211_STA_INFO_SIGNAL_AVG:
			if len(a.Data) == 0 {
				return errShortAttr
			}
			if a.Type&^netlink.Nested == unix.NL80211_STA_INFO_SIGNAL {
				info.Signal = int(int8(a.Data[0]))
			} else {
				info.SignalAverage = int(int8(a.Data[0]))
			}
		case unix.NL80211_STA_INFO_TX_PACKETS:
			v, err = u32(a.Data)
			info.TransmittedPackets = int(v)
		case unix.NL80211_STA_INFO_TX_RETRIES:
			v, err = u32(a.Data)
			info.TransmitRetries = int(v)
		case unix.NL80211_STA_INFO_TX_FAILED:
			v, err = u32(a.Data)
			info.TransmitFailed = int(v)
		case unix.NL80211_STA_INFO_RX_BITRATE:
			_, err = bitrate(a.Data) // unused, but a bad one fails the station there too
		case unix.NL80211_STA_INFO_TX_BITRATE:
			info.TransmitBitrate, err = bitrate(a.Data)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// bitrate reads a rate info: the u32 rate in 100 kbit/s, or the older u16
// one when no u32 came before it, scaled to bit/s in int as mdlayher/wifi
// scales it.
func bitrate(b []byte) (int, error) {
	attrs, err := netlink.UnmarshalAttributes(b)
	if err != nil {
		return 0, err
	}
	rate := 0
	for _, a := range attrs {
		switch a.Type {
		case unix.NL80211_RATE_INFO_BITRATE32:
			v, err := u32(a.Data)
			if err != nil {
				return 0, err
			}
			rate = int(v)
		case unix.NL80211_RATE_INFO_BITRATE:
			if rate != 0 {
				continue
			}
			if len(a.Data) < 2 {
				return 0, errShortAttr
			}
			rate = int(binary.NativeEndian.Uint16(a.Data))
		}
	}
	return rate * 100 * 1000, nil
}
