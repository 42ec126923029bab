package kernel

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// Internet gateway sharing (docs/IGS.md): clients send Internet traffic to
// their gateways inside VXLAN, through one flow-based ("external") VXLAN
// device; every nexthop of the default route carries its own
// encapsulation (the gateway's mesh address), so relays only route mesh
// addresses and two clients that chose different gateways cannot make a
// loop. IPv4 meshes only.

// GatewayVNI is the VXLAN network id of gateway traffic.
const GatewayVNI = 1

// The attributes of an LWTUNNEL_ENCAP_IP encapsulation (linux/lwtunnel.h).
const (
	lwtunnelIPID  = 1
	lwtunnelIPDst = 2
)

// GatewayHop is one gateway of the IGS default route.
type GatewayHop struct {
	Addr   netip.Addr
	Weight int // 1..256
}

// GatewayMAC is the VXLAN device address of the node at a: the inner
// frames' destination, so a gateway's device takes what its clients send.
// Derived from the mesh address, so unique in the mesh and known to all.
func GatewayMAC(a netip.Addr) net.HardwareAddr {
	b := a.As4()
	return net.HardwareAddr{0x02, 0x6e, b[0], b[1], b[2], b[3]}
}

// EnsureVXLAN makes the flow-based VXLAN device name listening on UDP
// port, with address mac, up, reverse-path filter off; it returns its
// index. An existing device of that name is reused if it is VXLAN.
func (k *Kernel) EnsureVXLAN(name string, port int, mac net.HardwareAddr) (int, error) {
	if err := checkIfName(name); err != nil {
		return 0, err
	}
	if k.cfg.Family != unix.AF_INET {
		return 0, errors.New("kernel: gateway sharing needs an IPv4 mesh")
	}
	idx, err := k.linkIndex(name)
	if err != nil {
		data := nl.NewRtAttr(unix.IFLA_INFO_DATA, nil)
		data.AddRtAttr(unix.IFLA_VXLAN_COLLECT_METADATA, []byte{1})
		data.AddRtAttr(unix.IFLA_VXLAN_LEARNING, []byte{0})
		data.AddRtAttr(unix.IFLA_VXLAN_PORT, binary.BigEndian.AppendUint16(nil, uint16(port)))
		info := nl.NewRtAttr(unix.IFLA_LINKINFO, nil)
		info.AddRtAttr(unix.IFLA_INFO_KIND, []byte("vxlan"))
		info.AddChild(data)
		msg := &nl.IfInfomsg{IfInfomsg: unix.IfInfomsg{Family: unix.AF_UNSPEC}}
		err := k.rt.do(unix.RTM_NEWLINK, unix.NLM_F_CREATE|unix.NLM_F_EXCL|unix.NLM_F_ACK,
			msg, nl.NewRtAttr(unix.IFLA_IFNAME, nl.ZeroTerminated(name)), nl.NewRtAttr(unix.IFLA_ADDRESS, mac), info)
		if err != nil {
			return 0, fmt.Errorf("kernel: add vxlan %s (kernel module vxlan): %w", name, err)
		}
		if idx, err = k.linkIndex(name); err != nil {
			return 0, err
		}
	}
	msg := &nl.IfInfomsg{IfInfomsg: unix.IfInfomsg{Family: unix.AF_UNSPEC, Index: int32(idx), Flags: unix.IFF_UP, Change: unix.IFF_UP}}
	if err := k.rt.do(unix.RTM_NEWLINK, unix.NLM_F_ACK, msg, nl.NewRtAttr(unix.IFLA_ADDRESS, mac)); err != nil {
		return 0, fmt.Errorf("kernel: set %s up: %w", name, err)
	}
	return idx, k.PrepareIface(name)
}

// DeleteLink removes the device name, if there is one.
func (k *Kernel) DeleteLink(name string) error {
	idx, err := k.linkIndex(name)
	if err != nil {
		return nil
	}
	msg := &nl.IfInfomsg{IfInfomsg: unix.IfInfomsg{Family: unix.AF_UNSPEC, Index: int32(idx)}}
	if err := k.rt.do(unix.RTM_DELLINK, unix.NLM_F_ACK, msg); err != nil {
		return fmt.Errorf("kernel: delete %s: %w", name, err)
	}
	return nil
}

func (k *Kernel) linkIndex(name string) (int, error) {
	links, err := k.rt.links()
	if err != nil {
		return 0, fmt.Errorf("kernel: list links: %w", err)
	}
	for _, l := range links {
		if l.Name == name {
			return l.Index, nil
		}
	}
	return 0, fmt.Errorf("kernel: no link %s", name)
}

// SetGatewayNeighbour makes the permanent neighbour entry that gives the
// inner frames to gateway a its device's address.
func (k *Kernel) SetGatewayNeighbour(ifindex int, a netip.Addr, del bool) error {
	typ, flags, state := unix.RTM_NEWNEIGH, unix.NLM_F_CREATE|unix.NLM_F_REPLACE|unix.NLM_F_ACK, uint16(unix.NUD_PERMANENT)
	if del {
		typ, flags = unix.RTM_DELNEIGH, unix.NLM_F_ACK
	}
	ip := a.As4()
	msg := &netlink.Ndmsg{Family: unix.AF_INET, Index: uint32(ifindex), State: state}
	err := k.rt.do(typ, flags, msg, nl.NewRtAttr(unix.NDA_DST, ip[:]), nl.NewRtAttr(unix.NDA_LLADDR, GatewayMAC(a)))
	if err != nil && !(del && errors.Is(err, unix.ENOENT)) {
		return fmt.Errorf("kernel: neighbour %v on %d: %w", a, ifindex, err)
	}
	return nil
}

// SetGatewayRoute makes the default route of table go to hops through the
// VXLAN device ifindex, each with its own encapsulation, from src; no hops
// deletes it.
func (k *Kernel) SetGatewayRoute(table, ifindex int, src netip.Addr, hops []GatewayHop) error {
	hdr := unix.RtMsg{Family: unix.AF_INET, Table: unix.RT_TABLE_UNSPEC, Protocol: uint8(k.cfg.Protocol), Type: unix.RTN_UNICAST}
	attrs := []nl.NetlinkRequestData{nl.NewRtAttr(unix.RTA_TABLE, nl.Uint32Attr(uint32(table)))}
	if len(hops) == 0 {
		hdr.Scope = unix.RT_SCOPE_NOWHERE
		err := k.rt.do(unix.RTM_DELROUTE, unix.NLM_F_ACK, append([]nl.NetlinkRequestData{&nl.RtMsg{RtMsg: hdr}}, attrs...)...)
		if err != nil && !errors.Is(err, unix.ESRCH) {
			return fmt.Errorf("kernel: delete the default route of table %d: %w", table, err)
		}
		return nil
	}
	var mp []byte
	for _, h := range hops {
		gw := h.Addr.As4()
		encap := nl.NewRtAttr(unix.RTA_ENCAP, nil)
		encap.AddRtAttr(lwtunnelIPID, binary.BigEndian.AppendUint64(nil, GatewayVNI))
		encap.AddRtAttr(lwtunnelIPDst, gw[:])
		nh := &nl.RtNexthop{
			RtNexthop: unix.RtNexthop{Hops: uint8(min(max(h.Weight, 1), 256) - 1), Ifindex: int32(ifindex), Flags: unix.RTNH_F_ONLINK},
			Children: []nl.NetlinkRequestData{
				nl.NewRtAttr(unix.RTA_GATEWAY, gw[:]),
				nl.NewRtAttr(unix.RTA_ENCAP_TYPE, nl.Uint16Attr(unix.LWTUNNEL_ENCAP_IP)),
				encap,
			},
		}
		mp = append(mp, nh.Serialize()...)
	}
	s := src.As4()
	attrs = append(attrs, nl.NewRtAttr(unix.RTA_MULTIPATH, mp), nl.NewRtAttr(unix.RTA_PREFSRC, s[:]))
	err := k.rt.do(unix.RTM_NEWROUTE, unix.NLM_F_CREATE|unix.NLM_F_REPLACE|unix.NLM_F_ACK,
		append([]nl.NetlinkRequestData{&nl.RtMsg{RtMsg: hdr}}, attrs...)...)
	if err != nil {
		return fmt.Errorf("kernel: default route of table %d over %d gateways: %w", table, len(hops), err)
	}
	return nil
}

// SetGatewayRule adds (or with del removes) the rule "lookup table" at
// priority, for packets without the virtual layer's firewall mark: the
// tunnels of the virtual layer never go out through a shared uplink
// (seed 002).
func (k *Kernel) SetGatewayRule(table, priority int, vlayerMark uint32, del bool) error {
	hdr := &nl.RtMsg{RtMsg: unix.RtMsg{Family: unix.AF_INET, Protocol: unix.RTPROT_BOOT, Table: uint8(table)}}
	typ, flags := unix.RTM_DELRULE, unix.NLM_F_ACK
	if !del {
		typ, flags = unix.RTM_NEWRULE, unix.NLM_F_ACK|unix.NLM_F_CREATE|unix.NLM_F_EXCL
		hdr.Type = nl.FR_ACT_TO_TBL
	}
	hdr.Flags = unix.FIB_RULE_INVERT
	err := k.rt.do(typ, flags, hdr,
		nl.NewRtAttr(nl.FRA_PRIORITY, nl.Uint32Attr(uint32(priority))),
		nl.NewRtAttr(nl.FRA_FWMARK, nl.Uint32Attr(vlayerMark)),
		nl.NewRtAttr(nl.FRA_FWMASK, nl.Uint32Attr(vlayerMark)),
		nl.NewRtAttr(nl.FRA_PROTOCOL, []byte{uint8(k.cfg.Protocol)}))
	switch {
	case err == nil, !del && errors.Is(err, unix.EEXIST), del && errors.Is(err, unix.ENOENT):
		return nil
	}
	return fmt.Errorf("kernel: ip rule %d lookup %d: %w", priority, table, err)
}

// SetMultipathHash sets the IPv4 multipath hash policy (1: layer 4, so a
// flow keeps its nexthop and its gateway's NAT entry).
func (k *Kernel) SetMultipathHash(policy int) error {
	s := k.sysctls()
	return k.inNetns(func() error { return s.ensure("net/ipv4/fib_multipath_hash_policy", fmt.Sprint(policy)) })
}
