package transport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// controlDevice binds a socket to the interface before bind/connect, so
// that it only sees and uses that link.
func controlDevice(c syscall.RawConn, name string) error {
	var serr error
	if err := c.Control(func(fd uintptr) { serr = unix.BindToDevice(int(fd), name) }); err != nil {
		return err
	}
	if serr != nil {
		return fmt.Errorf("SO_BINDTODEVICE %s: %w", name, serr)
	}
	return nil
}

// listenStream opens the TCP listener on our link-local address. It fails
// with EADDRNOTAVAIL while the address is tentative.
func listenStream(ctx context.Context, name string, at netip.AddrPort) (*net.TCPListener, error) {
	// No TCP keepalives on accepted streams: the radar already watches the
	// neighbour, and Go's default (a probe every 15 s both ways) would
	// cost more airtime than the radar itself.
	lc := net.ListenConfig{KeepAlive: -1, Control: func(_, _ string, c syscall.RawConn) error { return controlDevice(c, name) }}
	l, err := lc.Listen(ctx, "tcp6", at.String())
	if err != nil {
		return nil, err
	}
	return l.(*net.TCPListener), nil
}

// listenDatagram opens the UDP socket of an interface: [::]:port bound to
// the device, member of ff02::1, with multicast loopback off so that our
// own probes do not come back to us.
func listenDatagram(ctx context.Context, name string, index, port int) (*net.UDPConn, error) {
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		if err := controlDevice(c, name); err != nil {
			return err
		}
		var serr error
		err := c.Control(func(fd uintptr) {
			s := int(fd)
			mreq := unix.IPv6Mreq{Multiaddr: allNodes.As16(), Interface: uint32(index)}
			serr = errors.Join(
				wrapOpt("IPV6_MULTICAST_IF", unix.SetsockoptInt(s, unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_IF, index)),
				wrapOpt("IPV6_MULTICAST_LOOP", unix.SetsockoptInt(s, unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_LOOP, 0)),
				wrapOpt("IPV6_MULTICAST_HOPS", unix.SetsockoptInt(s, unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_HOPS, 1)),
				wrapOpt("IPV6_JOIN_GROUP", unix.SetsockoptIPv6Mreq(s, unix.IPPROTO_IPV6, unix.IPV6_JOIN_GROUP, &mreq)),
			)
		})
		return errors.Join(err, serr)
	}}
	c, err := lc.ListenPacket(ctx, "udp6", net.JoinHostPort("::", strconv.Itoa(port)))
	if err != nil {
		return nil, err
	}
	return c.(*net.UDPConn), nil
}

func wrapOpt(name string, err error) error {
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// pktInfo is the IPV6_PKTINFO control message that makes a datagram leave
// from src on interface index: the UDP socket is bound to [::] (it must
// receive ff02::1 too), and without it the kernel could pick a mesh address
// as the source, which peers would refuse.
func pktInfo(src netip.Addr, index int) []byte {
	b := make([]byte, unix.CmsgSpace(unix.SizeofInet6Pktinfo))
	h := (*unix.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level = unix.IPPROTO_IPV6
	h.Type = unix.IPV6_PKTINFO
	h.SetLen(unix.CmsgLen(unix.SizeofInet6Pktinfo))
	pi := (*unix.Inet6Pktinfo)(unsafe.Pointer(&b[unix.CmsgLen(0)]))
	pi.Addr = src.As16()
	pi.Ifindex = uint32(index)
	return b
}

// peerClosed tells whether the peer has closed or reset a connection we
// only write to, without blocking: then a write would vanish.
func peerClosed(c *net.TCPConn) bool {
	rc, err := c.SyscallConn()
	if err != nil {
		return true
	}
	closed := false
	var b [1]byte
	err = rc.Read(func(fd uintptr) bool {
		n, _, err := unix.Recvfrom(int(fd), b[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
		switch {
		case err == nil:
			closed = n == 0 // orderly shutdown
		case err == unix.EAGAIN || err == unix.EINTR:
		default:
			closed = true // reset
		}
		return true
	})
	return closed || err != nil
}
