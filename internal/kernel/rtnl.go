package kernel

// The rtnetlink requests ntkd makes, and the decoding of the kernel's
// answers and notifications. They send what vishvananda/netlink's Handle
// methods send (its nl package carries them) and read the fields ntkd uses;
// the Handle itself would link the decoders of every kind of link (bond,
// vxlan, can...) and route encapsulation (seg6, bpf, mpls...).

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"syscall"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

var errShortMsg = errors.New("kernel: short rtnetlink message")

// rtnl is a NETLINK_ROUTE socket for the requests whose answers we decode.
type rtnl struct {
	s *nlSocket
}

// openRtnl opens it in ns (None: the current namespace).
func openRtnl(ns netns.NsHandle) (*rtnl, error) {
	s, err := openNlSocket(ns)
	if err != nil {
		return nil, fmt.Errorf("kernel: open rtnetlink: %w", err)
	}
	return &rtnl{s: s}, nil
}

func (r *rtnl) close() { r.s.close() }

// request is the message of a request of type typ: the header, flags
// with NLM_F_REQUEST, then data.
func request(typ, flags int, data ...nl.NetlinkRequestData) []byte {
	req := &nl.NetlinkRequest{
		NlMsghdr: unix.NlMsghdr{Len: unix.SizeofNlMsghdr, Type: uint16(typ), Flags: unix.NLM_F_REQUEST | uint16(flags)},
	}
	for _, d := range data {
		req.AddData(d)
	}
	return req.Serialize()
}

// do sends a request that changes something (flags with NLM_F_ACK) and
// waits for the kernel's answer.
func (r *rtnl) do(typ, flags int, data ...nl.NetlinkRequestData) error {
	return r.s.exec(request(typ, flags, data...), nil)
}

// dump sends a dump request and hands each answer to f; a dump the kernel
// interrupted (the table changed meanwhile) is an error.
func (r *rtnl) dump(typ int, f func(m []byte) error, data ...nl.NetlinkRequestData) error {
	return r.s.exec(request(typ, unix.NLM_F_DUMP, data...), func(_ uint16, m []byte) error { return f(m) })
}

// links lists every link, as ip link show.
func (r *rtnl) links() ([]LinkState, error) {
	var out []LinkState
	err := r.dump(unix.RTM_GETLINK, func(m []byte) error {
		_, st, err := parseLink(m)
		if err != nil {
			return err
		}
		out = append(out, st)
		return nil
	}, nl.NewIfInfomsg(unix.AF_UNSPEC))
	return out, err
}

// routes lists the routes of family in table with protocol, the filter of
// netlink's RouteListFiltered with RT_FILTER_TABLE|RT_FILTER_PROTOCOL.
func (r *rtnl) routes(family, table, protocol int) ([]netlink.Route, error) {
	msg := &nl.RtMsg{RtMsg: unix.RtMsg{Family: uint8(family), Protocol: uint8(protocol)}}
	data := []nl.NetlinkRequestData{msg}
	if table < 256 {
		msg.Table = uint8(table)
	} else {
		data = append(data, nl.NewRtAttr(unix.RTA_TABLE, nl.Uint32Attr(uint32(table))))
	}
	var out []netlink.Route
	err := r.dump(unix.RTM_GETROUTE, func(m []byte) error {
		if len(m) < unix.SizeofRtMsg {
			return errShortMsg
		}
		if h := nl.DeserializeRtMsg(m); int(h.Family) != family || h.Flags&unix.RTM_F_CLONED != 0 {
			return nil
		}
		rt, err := parseRoute(m)
		if err == nil && rt.Table == table && int(rt.Protocol) == protocol {
			out = append(out, rt)
		}
		return err
	}, data...)
	return out, err
}

// neighbours lists the neighbour table of family on link ifindex.
func (r *rtnl) neighbours(ifindex, family int) ([]netlink.Neigh, error) {
	var out []netlink.Neigh
	err := r.dump(unix.RTM_GETNEIGH, func(m []byte) error {
		if len(m) < unix.SizeofNdMsg {
			return nil
		}
		n := netlink.Neigh{
			Family:    int(m[0]),
			LinkIndex: int(binary.NativeEndian.Uint32(m[4:8])),
			State:     int(binary.NativeEndian.Uint16(m[8:10])),
		}
		attrs, err := parseAttrs(m[unix.SizeofNdMsg:])
		if err != nil || (ifindex != 0 && n.LinkIndex != ifindex) || n.Family != family {
			return nil // netlink's NeighList skips what it cannot decode, too
		}
		for _, a := range attrs {
			switch a.Attr.Type {
			case unix.NDA_DST:
				n.IP = net.IP(a.Value)
			case unix.NDA_LLADDR:
				// 4 bytes are an IPv4 tunnel's remote end. (netlink also asks
				// whether 16 bytes are an IPv6 tunnel's; mesh links are not.)
				if len(a.Value) != 4 {
					n.HardwareAddr = net.HardwareAddr(a.Value)
				}
			}
		}
		out = append(out, n)
		return nil
	}, &netlink.Ndmsg{Family: uint8(family), Index: uint32(ifindex)})
	return out, err
}

// addr adds or replaces (RTM_NEWADDR) or deletes (RTM_DELADDR) a's
// address on its link, with the attributes netlink's AddrReplace and
// AddrDel send for an address without peer, label or lifetimes. a.Flags
// (IFA_F_*, only those that fit the header's 8 bits) go in the header.
func (r *rtnl) addr(typ int, a *netlink.Addr) error {
	ip := ipBytes(a.IP)
	family := unix.AF_INET
	if len(ip) != net.IPv4len {
		family = unix.AF_INET6
	}
	ones, bits := a.Mask.Size()
	msg := nl.NewIfAddrmsg(family)
	msg.Index = uint32(a.LinkIndex)
	msg.Prefixlen = uint8(ones)
	msg.Flags = uint8(a.Flags)
	data := []nl.NetlinkRequestData{msg, nl.NewRtAttr(unix.IFA_LOCAL, ip), nl.NewRtAttr(unix.IFA_ADDRESS, ip)}
	// IPv4 subnets of /30 and wider get their broadcast address (RFC 3021).
	if family == unix.AF_INET && ones < 31 {
		brd := make(net.IP, bits/8)
		for i := range brd {
			brd[i] = ip[i] | ^a.Mask[i]
		}
		if !brd.Equal(net.IPv4zero) {
			data = append(data, nl.NewRtAttr(unix.IFA_BROADCAST, brd))
		}
	}
	flags := unix.NLM_F_ACK
	if typ == unix.RTM_NEWADDR {
		flags |= unix.NLM_F_CREATE | unix.NLM_F_REPLACE
	}
	return r.do(typ, flags, data...)
}

// ipBytes is ip in its family's length, as netlink sends addresses.
func ipBytes(ip net.IP) []byte {
	if ip4 := ip.To4(); ip4 != nil {
		return ip4
	}
	return ip.To16()
}

// route sends rt in a request of type typ (RTM_NEWROUTE, RTM_DELROUTE)
// whose header starts as hdr: the attributes netlink's prepareRouteReq
// sends for the fields ntkd sets (destination, gateway or multipath
// nexthops, table, metric, tos, protocol, type, flags, scope, link).
func (r *rtnl) route(typ, flags int, hdr unix.RtMsg, rt *netlink.Route) error {
	dst := ipBytes(rt.Dst.IP)
	ones, _ := rt.Dst.Mask.Size()
	hdr.Dst_len = uint8(ones)
	hdr.Family = unix.AF_INET6
	if len(dst) == net.IPv4len {
		hdr.Family = unix.AF_INET
	}
	msg := &nl.RtMsg{RtMsg: hdr}
	data := []nl.NetlinkRequestData{msg, nl.NewRtAttr(unix.RTA_DST, dst)}
	if rt.Gw != nil {
		data = append(data, nl.NewRtAttr(unix.RTA_GATEWAY, ipBytes(rt.Gw)))
	}
	if len(rt.MultiPath) > 0 {
		var b []byte
		for _, nh := range rt.MultiPath {
			h := &nl.RtNexthop{
				RtNexthop: unix.RtNexthop{Hops: uint8(nh.Hops), Ifindex: int32(nh.LinkIndex), Flags: uint8(nh.Flags)},
				Children:  []nl.NetlinkRequestData{nl.NewRtAttr(unix.RTA_GATEWAY, ipBytes(nh.Gw))},
			}
			b = append(b, h.Serialize()...)
		}
		data = append(data, nl.NewRtAttr(unix.RTA_MULTIPATH, b))
	}
	switch {
	case rt.Table >= 256:
		msg.Table = unix.RT_TABLE_UNSPEC
		data = append(data, nl.NewRtAttr(unix.RTA_TABLE, nl.Uint32Attr(uint32(rt.Table))))
	case rt.Table > 0:
		msg.Table = uint8(rt.Table)
	}
	if rt.Priority > 0 {
		data = append(data, nl.NewRtAttr(unix.RTA_PRIORITY, nl.Uint32Attr(uint32(rt.Priority))))
	}
	if rt.Tos > 0 {
		msg.Tos = uint8(rt.Tos)
	}
	if rt.Protocol > 0 {
		msg.Protocol = uint8(rt.Protocol)
	}
	if rt.Type > 0 {
		msg.Type = uint8(rt.Type)
	}
	msg.Flags = uint32(rt.Flags)
	msg.Scope = uint8(rt.Scope)
	data = append(data, nl.NewRtAttr(unix.RTA_OIF, nl.Uint32Attr(uint32(rt.LinkIndex))))
	return r.do(typ, flags, data...)
}

// replaceRoute installs rt, or replaces the route to its destination, as
// netlink's RouteReplace.
func (r *rtnl) replaceRoute(rt *netlink.Route) error {
	hdr := unix.RtMsg{Table: unix.RT_TABLE_MAIN, Protocol: unix.RTPROT_BOOT, Type: unix.RTN_UNICAST}
	return r.route(unix.RTM_NEWROUTE, unix.NLM_F_CREATE|unix.NLM_F_REPLACE|unix.NLM_F_ACK, hdr, rt)
}

// delRoute deletes the route rt describes, as netlink's RouteDel.
func (r *rtnl) delRoute(rt *netlink.Route) error {
	hdr := unix.RtMsg{Table: unix.RT_TABLE_MAIN, Scope: unix.RT_SCOPE_NOWHERE}
	return r.route(unix.RTM_DELROUTE, unix.NLM_F_ACK, hdr, rt)
}

// ipRule is what ntkd reads of an ip rule.
type ipRule struct {
	table, priority int
	protocol        uint8
	// selector: the rule matches more than every packet (from, to, iif,
	// oif, fwmark, tos, ipproto, sport, dport, uidrange or not).
	selector bool
}

// rules lists the ip rules of family.
func (r *rtnl) rules(family int) ([]ipRule, error) {
	var out []ipRule
	err := r.dump(unix.RTM_GETRULE, func(m []byte) error {
		if len(m) < unix.SizeofRtMsg {
			return errShortMsg
		}
		hdr := nl.DeserializeRtMsg(m) // a struct fib_rule_hdr has the same layout
		attrs, err := parseAttrs(m[unix.SizeofRtMsg:])
		if err != nil {
			return fmt.Errorf("kernel: rule message: %w", err)
		}
		ru := ipRule{selector: hdr.Tos != 0 || hdr.Flags&netlink.FibRuleInvert != 0}
		for _, a := range attrs {
			switch a.Attr.Type {
			case nl.FRA_TABLE:
				ru.table = int(u32(a.Value))
			case nl.FRA_PRIORITY:
				ru.priority = int(u32(a.Value))
			case nl.FRA_PROTOCOL:
				if len(a.Value) > 0 {
					ru.protocol = a.Value[0]
				}
			case nl.FRA_FWMARK:
				ru.selector = ru.selector || u32(a.Value) != 0
			case nl.FRA_SRC, nl.FRA_DST, nl.FRA_IIFNAME, nl.FRA_OIFNAME, nl.FRA_FWMASK,
				nl.FRA_IP_PROTO, nl.FRA_SPORT_RANGE, nl.FRA_DPORT_RANGE, nl.FRA_UID_RANGE:
				// The kernel sends these only when the rule has them.
				ru.selector = true
			}
		}
		out = append(out, ru)
		return nil
	}, nl.NewIfInfomsg(family))
	return out, err
}

// rule adds (RTM_NEWRULE) or deletes (RTM_DELRULE) the rule "from all
// lookup table" of family at priority, as netlink's RuleAdd and RuleDel
// with such a rule from netlink.NewRule; protocol 0 sends none.
func (r *rtnl) rule(typ, family, table, priority int, protocol uint8) error {
	// The header is a struct fib_rule_hdr laid over a struct rtmsg: Protocol
	// and Scope are reserved bytes there, Type is the action.
	hdr := &nl.RtMsg{RtMsg: unix.RtMsg{Family: uint8(family), Protocol: unix.RTPROT_BOOT}}
	flags := unix.NLM_F_ACK
	if typ == unix.RTM_NEWRULE {
		hdr.Type = nl.FR_ACT_TO_TBL
		flags |= unix.NLM_F_CREATE | unix.NLM_F_EXCL
	}
	data := []nl.NetlinkRequestData{hdr, nl.NewRtAttr(nl.FRA_PRIORITY, nl.Uint32Attr(uint32(priority)))}
	if table < 256 {
		hdr.Table = uint8(table)
	} else {
		data = append(data, nl.NewRtAttr(nl.FRA_TABLE, nl.Uint32Attr(uint32(table))))
	}
	if protocol > 0 {
		data = append(data, nl.NewRtAttr(nl.FRA_PROTOCOL, []byte{protocol}))
	}
	return r.do(typ, flags, data...)
}

// parseLink decodes an RTM_NEWLINK or RTM_DELLINK message: the message's
// family and the link's state, as netlink's LinkDeserialize reads them.
func parseLink(m []byte) (family uint8, st LinkState, err error) {
	if len(m) < unix.SizeofIfInfomsg {
		return 0, st, errShortMsg
	}
	msg := nl.DeserializeIfInfomsg(m)
	attrs, err := parseAttrs(m[unix.SizeofIfInfomsg:])
	if err != nil {
		return 0, st, fmt.Errorf("kernel: link message: %w", err)
	}
	st = LinkState{
		Index:     int(msg.Index),
		Flags:     linkFlags(msg.Flags),
		Carrier:   msg.Flags&unix.IFF_LOWER_UP != 0,
		OperState: netlink.LinkOperState(netlink.OperUnknown).String(),
	}
	for _, a := range attrs {
		switch a.Attr.Type {
		case unix.IFLA_IFNAME:
			st.Name = unix.ByteSliceToString(a.Value)
		case unix.IFLA_MTU:
			st.MTU = int(u32(a.Value))
		case unix.IFLA_OPERSTATE:
			if len(a.Value) > 0 {
				st.OperState = netlink.LinkOperState(a.Value[0]).String()
			}
		case unix.IFLA_ADDRESS:
			// All zeroes (a tunnel, lo) is no address.
			for _, b := range a.Value {
				if b != 0 {
					st.HardwareAddr = append(net.HardwareAddr(nil), a.Value...)
					break
				}
			}
		}
	}
	return msg.Family, st, nil
}

// linkFlags converts IFF_* flags as the net package and netlink do.
func linkFlags(raw uint32) net.Flags {
	var f net.Flags
	for _, c := range [...]struct {
		iff  uint32
		flag net.Flags
	}{
		{unix.IFF_UP, net.FlagUp},
		{unix.IFF_BROADCAST, net.FlagBroadcast},
		{unix.IFF_LOOPBACK, net.FlagLoopback},
		{unix.IFF_POINTOPOINT, net.FlagPointToPoint},
		{unix.IFF_MULTICAST, net.FlagMulticast},
		{unix.IFF_RUNNING, net.FlagRunning},
	} {
		if raw&c.iff != 0 {
			f |= c.flag
		}
	}
	return f
}

// parseRoute decodes an RTM_NEWROUTE or RTM_DELROUTE message into the
// fields of netlink.Route that ntkd uses: family, table, protocol, scope,
// type, tos, flags, destination, gateway, link, metric and multipath
// nexthops (link, weight, flags, gateway).
func parseRoute(m []byte) (netlink.Route, error) {
	if len(m) < unix.SizeofRtMsg {
		return netlink.Route{}, errShortMsg
	}
	msg := nl.DeserializeRtMsg(m)
	r := netlink.Route{
		Family:   int(msg.Family),
		Table:    int(msg.Table),
		Protocol: netlink.RouteProtocol(msg.Protocol),
		Scope:    netlink.Scope(msg.Scope),
		Type:     int(msg.Type),
		Tos:      int(msg.Tos),
		Flags:    int(msg.Flags),
	}
	attrs, err := parseAttrs(m[unix.SizeofRtMsg:])
	if err != nil {
		return r, fmt.Errorf("kernel: route message: %w", err)
	}
	for _, a := range attrs {
		switch a.Attr.Type {
		case unix.RTA_DST:
			r.Dst = &net.IPNet{IP: net.IP(a.Value), Mask: net.CIDRMask(int(msg.Dst_len), 8*len(a.Value))}
		case unix.RTA_GATEWAY:
			r.Gw = net.IP(a.Value)
		case unix.RTA_OIF:
			r.LinkIndex = int(u32(a.Value))
		case unix.RTA_PRIORITY:
			r.Priority = int(u32(a.Value))
		case unix.RTA_TABLE:
			r.Table = int(u32(a.Value))
		case unix.RTA_MULTIPATH:
			for b := a.Value; len(b) > 0; {
				if len(b) < unix.SizeofRtNexthop {
					return r, errShortMsg
				}
				n := int(binary.NativeEndian.Uint16(b[0:2]))
				if n < unix.SizeofRtNexthop || n > len(b) {
					return r, errShortMsg
				}
				nh := &netlink.NexthopInfo{LinkIndex: int(u32(b[4:8])), Hops: int(b[3]), Flags: int(b[2])}
				nattrs, err := parseAttrs(b[unix.SizeofRtNexthop:n])
				if err != nil {
					return r, fmt.Errorf("kernel: route message: %w", err)
				}
				for _, na := range nattrs {
					if na.Attr.Type == unix.RTA_GATEWAY {
						nh.Gw = net.IP(na.Value)
					}
				}
				r.MultiPath = append(r.MultiPath, nh)
				b = b[n:]
			}
		}
	}
	return r, nil
}

func u32(b []byte) uint32 {
	if len(b) < 4 {
		return 0
	}
	return binary.NativeEndian.Uint32(b)
}

// linkUpdate is a link notification.
type linkUpdate struct {
	Type   uint16 // RTM_NEWLINK or RTM_DELLINK
	Family uint8  // AF_BRIDGE for a bridge port's messages
	Link   LinkState
}

// subOptions say where and how to subscribe.
type subOptions struct {
	ns      netns.NsHandle // None: the current namespace
	onError func(error)    // told every failure; the last one ends the subscription
	rcvBuf  int            // receive buffer (forced); 0 keeps the system's default
}

func subscribeLinks(ch chan<- linkUpdate, done <-chan struct{}, o subOptions) error {
	return subscribe(ch, done, o, func(typ uint16, m []byte) (linkUpdate, error) {
		family, st, err := parseLink(m)
		return linkUpdate{Type: typ, Family: family, Link: st}, err
	}, unix.RTNLGRP_LINK)
}

// routeUpdate is a route notification: what tells whether the route is ours.
type routeUpdate struct {
	Type     uint16 // RTM_NEWROUTE or RTM_DELROUTE
	Family   int
	Protocol int
	Table    int
	Dst      *net.IPNet // nil: the default route
}

func subscribeRoutes(ch chan<- routeUpdate, done <-chan struct{}, o subOptions) error {
	return subscribe(ch, done, o, func(typ uint16, m []byte) (routeUpdate, error) {
		r, err := parseRoute(m)
		return routeUpdate{Type: typ, Family: r.Family, Protocol: int(r.Protocol), Table: r.Table, Dst: r.Dst}, err
	}, unix.RTNLGRP_IPV4_ROUTE, unix.RTNLGRP_IPV6_ROUTE)
}

// subscribe listens to rtnetlink groups and sends every notification,
// decoded, to ch until done is closed or the socket fails; then it closes
// ch. It works like netlink's LinkSubscribeWithOptions and
// RouteSubscribeWithOptions: a message that does not decode is reported to
// o.onError and skipped.
func subscribe[T any](ch chan<- T, done <-chan struct{}, o subOptions, decode func(uint16, []byte) (T, error), groups ...uint) error {
	s, err := openNlSocket(o.ns, groups...)
	if err != nil {
		return err
	}
	if o.rcvBuf != 0 {
		if err := s.setReceiveBuffer(o.rcvBuf); err != nil {
			s.close()
			return fmt.Errorf("kernel: netlink receive buffer: %w", err)
		}
	}
	go func() {
		<-done
		s.close()
	}()
	go func() {
		defer close(ch)
		for {
			b, from, err := s.recv()
			if err != nil {
				o.onError(fmt.Errorf("receive: %w", err))
				return
			}
			if from != 0 {
				o.onError(fmt.Errorf("message from port %d, not the kernel", from))
				continue
			}
			err = splitMessages(b, func(m nlMessage) error {
				switch m.hdr.Type {
				case unix.NLMSG_DONE:
					return nil
				case unix.NLMSG_ERROR:
					if len(m.data) >= 4 {
						if errno := int32(binary.NativeEndian.Uint32(m.data)); errno != 0 {
							o.onError(fmt.Errorf("error message: %w", syscall.Errno(-errno)))
						}
					}
					return nil
				}
				u, err := decode(m.hdr.Type, m.data)
				if err != nil {
					o.onError(err)
					return nil
				}
				ch <- u
				return nil
			})
			if err != nil {
				o.onError(err)
			}
		}
	}()
	return nil
}
