package kernel

import (
	"encoding/binary"
	"net"
	"reflect"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// linkMsg builds an RTM_NEWLINK body from a LinkState, the inverse of
// parseLink for the fields it reads.
func linkMsg(family uint8, st LinkState) []byte {
	msg := nl.NewIfInfomsg(int(family))
	msg.Index = int32(st.Index)
	for _, c := range [...]struct {
		iff  uint32
		flag net.Flags
	}{
		{unix.IFF_UP, net.FlagUp}, {unix.IFF_BROADCAST, net.FlagBroadcast}, {unix.IFF_LOOPBACK, net.FlagLoopback},
		{unix.IFF_POINTOPOINT, net.FlagPointToPoint}, {unix.IFF_MULTICAST, net.FlagMulticast}, {unix.IFF_RUNNING, net.FlagRunning},
	} {
		if st.Flags&c.flag != 0 {
			msg.Flags |= c.iff
		}
	}
	if st.Carrier {
		msg.Flags |= unix.IFF_LOWER_UP
	}
	b := msg.Serialize()
	if st.Name != "" {
		b = append(b, nl.NewRtAttr(unix.IFLA_IFNAME, nl.ZeroTerminated(st.Name)).Serialize()...)
	}
	if st.MTU != 0 {
		b = append(b, nl.NewRtAttr(unix.IFLA_MTU, nl.Uint32Attr(uint32(st.MTU))).Serialize()...)
	}
	for v := range 256 {
		if netlink.LinkOperState(v).String() == st.OperState {
			b = append(b, nl.NewRtAttr(unix.IFLA_OPERSTATE, []byte{byte(v)}).Serialize()...)
			break
		}
	}
	if st.HardwareAddr != nil {
		b = append(b, nl.NewRtAttr(unix.IFLA_ADDRESS, st.HardwareAddr).Serialize()...)
	}
	return b
}

// FuzzParseLink: any link message parses without a panic, and what
// parses comes back the same after linkMsg and parseLink again.
func FuzzParseLink(f *testing.F) {
	f.Add(linkMsg(unix.AF_UNSPEC, LinkState{Index: 3, Name: "wlan0", Flags: net.FlagUp | net.FlagMulticast, Carrier: true,
		OperState: "up", MTU: 1500, HardwareAddr: net.HardwareAddr{2, 0, 0, 0, 0, 1}}))
	f.Add(linkMsg(unix.AF_BRIDGE, LinkState{Index: 9, Name: "br-lan", OperState: "lower-layer-down"}))
	f.Add(make([]byte, unix.SizeofIfInfomsg))
	f.Add(append(make([]byte, unix.SizeofIfInfomsg), 4, 0, 3, 0))
	f.Fuzz(func(t *testing.T, m []byte) {
		fam, st, err := parseLink(m)
		if err != nil {
			return
		}
		fam2, st2, err := parseLink(linkMsg(fam, st))
		if err != nil || fam2 != fam || !reflect.DeepEqual(st, st2) {
			t.Fatalf("round trip: %d %+v -> %d %+v, %v", fam, st, fam2, st2, err)
		}
	})
}

// FuzzParseRoute: any route message parses without a panic; nexthops
// and addresses lie inside the message.
func FuzzParseRoute(f *testing.F) {
	rt := nl.NewRtMsg()
	rt.Family, rt.Dst_len, rt.Table, rt.Protocol = unix.AF_INET, 24, 254, 199
	b := rt.Serialize()
	b = append(b, nl.NewRtAttr(unix.RTA_DST, []byte{10, 1, 2, 0}).Serialize()...)
	b = append(b, nl.NewRtAttr(unix.RTA_OIF, nl.Uint32Attr(4)).Serialize()...)
	b = append(b, nl.NewRtAttr(unix.RTA_PRIORITY, nl.Uint32Attr(20)).Serialize()...)
	f.Add(b)
	nh := make([]byte, unix.SizeofRtNexthop)
	gw := nl.NewRtAttr(unix.RTA_GATEWAY, []byte{10, 0, 0, 1}).Serialize()
	binary.NativeEndian.PutUint16(nh, uint16(len(nh)+len(gw)))
	binary.NativeEndian.PutUint32(nh[4:], 5)
	mp := append(append(nh, gw...), nh[:4]...)
	f.Add(append(append([]byte(nil), b...), nl.NewRtAttr(unix.RTA_MULTIPATH, mp).Serialize()...))
	f.Add(b[:unix.SizeofRtMsg])
	f.Fuzz(func(t *testing.T, m []byte) {
		r, err := parseRoute(m)
		if err != nil {
			return
		}
		if len(r.MultiPath)*unix.SizeofRtNexthop > len(m) {
			t.Fatalf("%d nexthops from %d bytes", len(r.MultiPath), len(m))
		}
		if r.Dst != nil && len(r.Dst.IP) > len(m) {
			t.Fatal("destination longer than the message")
		}
		r2, err := parseRoute(m)
		if err != nil || !reflect.DeepEqual(r, r2) {
			t.Fatal("parseRoute is not deterministic")
		}
	})
}
