package tunnel

// The netlink messages of the kernel backend, without I/O: the rtnetlink
// payloads that add and delete a wireguard link, and the attributes of the
// "wireguard" generic netlink family (linux/wireguard.h). Netlink integers
// are in host byte order (mdlayher/netlink's encoder and decoder use
// binary.NativeEndian), except inside a sockaddr, whose port and IPv4/IPv6
// address are in network byte order as everywhere in the socket API.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// wgState is what WG_CMD_GET_DEVICE answers, the part we read.
type wgState struct {
	ifindex    int
	listenPort int
	fwmark     uint32
	peers      []Stats // ListenPort left zero
}

// ifInfomsg is struct ifinfomsg: family, pad, type, index, flags, change.
func ifInfomsg(index int, flags, change uint32) []byte {
	b := make([]byte, unix.SizeofIfInfomsg)
	b[0] = unix.AF_UNSPEC
	binary.NativeEndian.PutUint32(b[4:8], uint32(int32(index)))
	binary.NativeEndian.PutUint32(b[8:12], flags)
	binary.NativeEndian.PutUint32(b[12:16], change)
	return b
}

// encodeNewLink is the RTM_NEWLINK payload of `ip link add NAME type
// wireguard multicast on`. A kernel WireGuard link comes without
// IFF_MULTICAST, the tun device of the userspace backend with it: on, the
// routers' links carry the same flags (and the same MLD) as the links the
// tests run on. (ff02::1, where radar probes, works either way.)
func encodeNewLink(name string) ([]byte, error) {
	ae := netlink.NewAttributeEncoder()
	ae.String(unix.IFLA_IFNAME, name)
	ae.Nested(unix.IFLA_LINKINFO, func(nae *netlink.AttributeEncoder) error {
		nae.String(unix.IFLA_INFO_KIND, "wireguard")
		return nil
	})
	attrs, err := ae.Encode()
	if err != nil {
		return nil, err
	}
	return append(ifInfomsg(0, unix.IFF_MULTICAST, unix.IFF_MULTICAST), attrs...), nil
}

// encodeDelLink is the RTM_DELLINK payload that deletes link index, or
// the link called name when index is 0.
func encodeDelLink(index int, name string) ([]byte, error) {
	if index > 0 {
		return ifInfomsg(index, 0, 0), nil
	}
	ae := netlink.NewAttributeEncoder()
	ae.String(unix.IFLA_IFNAME, name)
	attrs, err := ae.Encode()
	if err != nil {
		return nil, err
	}
	return append(ifInfomsg(0, 0, 0), attrs...), nil
}

// encodeGetDevice is WG_CMD_GET_DEVICE's: the device by index, or by name
// when index is 0 (the kernel wants exactly one of them).
func encodeGetDevice(index int, name string) ([]byte, error) {
	ae := netlink.NewAttributeEncoder()
	if index > 0 {
		ae.Uint32(unix.WGDEVICE_A_IFINDEX, uint32(index))
	} else {
		ae.String(unix.WGDEVICE_A_IFNAME, name)
	}
	return ae.Encode()
}

// encodeSetKey is the WG_CMD_SET_DEVICE of a new device: its private key,
// its port (0: left to the kernel, which picks one), Mark, and no peers.
func encodeSetKey(index int, private Key, listenPort int) ([]byte, error) {
	ae := netlink.NewAttributeEncoder()
	ae.Uint32(unix.WGDEVICE_A_IFINDEX, uint32(index))
	ae.Bytes(unix.WGDEVICE_A_PRIVATE_KEY, private[:])
	if listenPort != 0 {
		ae.Uint16(unix.WGDEVICE_A_LISTEN_PORT, uint16(listenPort))
	}
	ae.Uint32(unix.WGDEVICE_A_FWMARK, Mark)
	ae.Uint32(unix.WGDEVICE_A_FLAGS, unix.WGDEVICE_F_REPLACE_PEERS)
	return ae.Encode()
}

// encodeSetPeer is the WG_CMD_SET_DEVICE that makes p the device's peer,
// with every address allowed; replace drops the other peers first (and
// with them the session of the old one).
func encodeSetPeer(index int, p Peer, keepalive uint16, replace bool) ([]byte, error) {
	ae := netlink.NewAttributeEncoder()
	ae.Uint32(unix.WGDEVICE_A_IFINDEX, uint32(index))
	if replace {
		ae.Uint32(unix.WGDEVICE_A_FLAGS, unix.WGDEVICE_F_REPLACE_PEERS)
	}
	ae.Nested(unix.WGDEVICE_A_PEERS, func(pae *netlink.AttributeEncoder) error {
		pae.Nested(0, func(nae *netlink.AttributeEncoder) error {
			nae.Bytes(unix.WGPEER_A_PUBLIC_KEY, p.PublicKey[:])
			nae.Uint32(unix.WGPEER_A_FLAGS, unix.WGPEER_F_REPLACE_ALLOWEDIPS)
			if p.Endpoint.IsValid() {
				nae.Bytes(unix.WGPEER_A_ENDPOINT, encodeSockaddr(endpointAddr(p.Endpoint)))
			}
			nae.Uint16(unix.WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, keepalive)
			nae.Nested(unix.WGPEER_A_ALLOWEDIPS, func(aae *netlink.AttributeEncoder) error {
				for i, family := range []uint16{unix.AF_INET, unix.AF_INET6} {
					aae.Nested(uint16(i), func(nae *netlink.AttributeEncoder) error {
						nae.Uint16(unix.WGALLOWEDIP_A_FAMILY, family)
						if family == unix.AF_INET {
							nae.Bytes(unix.WGALLOWEDIP_A_IPADDR, make([]byte, 4))
						} else {
							nae.Bytes(unix.WGALLOWEDIP_A_IPADDR, make([]byte, 16))
						}
						nae.Uint8(unix.WGALLOWEDIP_A_CIDR_MASK, 0)
						return nil
					})
				}
				return nil
			})
			return nil
		})
		return nil
	})
	return ae.Encode()
}

// encodeSockaddr is struct sockaddr_in (16 bytes) or sockaddr_in6 (28):
// the family in host order, port and address in network order.
func encodeSockaddr(ap netip.AddrPort) []byte {
	if ap.Addr().Is4() {
		b := make([]byte, unix.SizeofSockaddrInet4)
		binary.NativeEndian.PutUint16(b[0:2], unix.AF_INET)
		binary.BigEndian.PutUint16(b[2:4], ap.Port())
		a := ap.Addr().As4()
		copy(b[4:8], a[:])
		return b
	}
	b := make([]byte, unix.SizeofSockaddrInet6)
	binary.NativeEndian.PutUint16(b[0:2], unix.AF_INET6)
	binary.BigEndian.PutUint16(b[2:4], ap.Port())
	a := ap.Addr().As16()
	copy(b[8:24], a[:])
	return b
}

// parseSockaddr reads a sockaddr_in or sockaddr_in6. A non-zero IPv6 scope
// becomes the address's zone, as its interface index.
func parseSockaddr(b []byte) (netip.AddrPort, error) {
	if len(b) < 2 {
		return netip.AddrPort{}, fmt.Errorf("sockaddr of %d bytes", len(b))
	}
	switch family := binary.NativeEndian.Uint16(b[0:2]); family {
	case unix.AF_INET:
		if len(b) != unix.SizeofSockaddrInet4 {
			return netip.AddrPort{}, fmt.Errorf("sockaddr_in of %d bytes, want %d", len(b), unix.SizeofSockaddrInet4)
		}
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[4:8])), binary.BigEndian.Uint16(b[2:4])), nil
	case unix.AF_INET6:
		if len(b) != unix.SizeofSockaddrInet6 {
			return netip.AddrPort{}, fmt.Errorf("sockaddr_in6 of %d bytes, want %d", len(b), unix.SizeofSockaddrInet6)
		}
		a := netip.AddrFrom16([16]byte(b[8:24]))
		if scope := binary.NativeEndian.Uint32(b[24:28]); scope != 0 {
			a = a.WithZone(strconv.FormatUint(uint64(scope), 10))
		}
		return netip.AddrPortFrom(a, binary.BigEndian.Uint16(b[2:4])), nil
	default:
		return netip.AddrPort{}, fmt.Errorf("sockaddr of family %d", family)
	}
}

// parseTimespec reads struct __kernel_timespec (two int64), or the two
// longs of a 32-bit kernel's struct timespec that WireGuard sent before
// Linux 5.1's y2038 work. 0.0 is "never".
func parseTimespec(b []byte) (time.Time, error) {
	var sec, nsec int64
	switch len(b) {
	case 16:
		sec, nsec = int64(binary.NativeEndian.Uint64(b[0:8])), int64(binary.NativeEndian.Uint64(b[8:16]))
	case 8:
		sec, nsec = int64(int32(binary.NativeEndian.Uint32(b[0:4]))), int64(int32(binary.NativeEndian.Uint32(b[4:8])))
	default:
		return time.Time{}, fmt.Errorf("timespec of %d bytes", len(b))
	}
	if nsec < 0 || nsec >= int64(time.Second) {
		return time.Time{}, fmt.Errorf("timespec with %d ns", nsec)
	}
	if sec == 0 && nsec == 0 {
		return time.Time{}, nil
	}
	return time.Unix(sec, nsec), nil
}

var errNoPeerKey = errors.New("peer without a public key")

// parseDevice adds one WG_CMD_GET_DEVICE answer (the attributes after the
// generic netlink header) to st. The kernel splits a device with many
// peers or allowed IPs across several answers, repeating a split peer's
// public key: a peer already in st keeps what it had.
func parseDevice(b []byte, st *wgState) error {
	ad, err := netlink.NewAttributeDecoder(b)
	if err != nil {
		return err
	}
	for ad.Next() {
		switch ad.Type() {
		case unix.WGDEVICE_A_IFINDEX:
			st.ifindex = int(ad.Uint32())
		case unix.WGDEVICE_A_LISTEN_PORT:
			st.listenPort = int(ad.Uint16())
		case unix.WGDEVICE_A_FWMARK:
			st.fwmark = ad.Uint32()
		case unix.WGDEVICE_A_PEERS:
			ad.Nested(func(nad *netlink.AttributeDecoder) error {
				for nad.Next() {
					nad.Nested(func(pad *netlink.AttributeDecoder) error {
						p, err := parsePeer(pad)
						if err != nil {
							return err
						}
						for _, q := range st.peers {
							if q.PublicKey == p.PublicKey {
								return nil
							}
						}
						st.peers = append(st.peers, p)
						return nil
					})
				}
				return nil
			})
		}
	}
	return ad.Err()
}

// parsePeer reads one peer's attributes.
func parsePeer(ad *netlink.AttributeDecoder) (Stats, error) {
	var p Stats
	var haveKey bool
	for ad.Next() {
		switch ad.Type() {
		case unix.WGPEER_A_PUBLIC_KEY:
			ad.Do(func(b []byte) error {
				if len(b) != len(p.PublicKey) {
					return fmt.Errorf("peer public key of %d bytes", len(b))
				}
				p.PublicKey, haveKey = Key(b), true
				return nil
			})
		case unix.WGPEER_A_ENDPOINT:
			ad.Do(func(b []byte) (err error) {
				p.Endpoint, err = parseSockaddr(b)
				return err
			})
		case unix.WGPEER_A_LAST_HANDSHAKE_TIME:
			ad.Do(func(b []byte) (err error) {
				p.LastHandshake, err = parseTimespec(b)
				return err
			})
		case unix.WGPEER_A_RX_BYTES:
			p.RxBytes = ad.Uint64()
		case unix.WGPEER_A_TX_BYTES:
			p.TxBytes = ad.Uint64()
		}
	}
	if err := ad.Err(); err != nil {
		return Stats{}, err
	}
	if !haveKey {
		return Stats{}, errNoPeerKey
	}
	return p, nil
}
