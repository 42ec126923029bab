package transport

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
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

// The sockets are opened by hand rather than with net.ListenConfig, whose
// string addresses would link Go's DNS resolver into the router build
// (tens of KB that never resolve a name here).

// listenBacklog asks for the largest accept queue: the kernel caps it at
// net.core.somaxconn, which is what Go's own listeners ask for.
const listenBacklog = 1<<31 - 1

// openSocket opens an IPv6-only socket of type typ (unix.SOCK_STREAM or
// SOCK_DGRAM) bound to the device name, lets setup set more options, binds
// it to at (index is at's zone), and for a stream socket listens. It gives
// it to the net package as net.FileListener or net.FilePacketConn do.
// Errors read like those of net.ListenConfig.
func openSocket(typ int, name string, index int, at netip.AddrPort, setup func(fd int) error) (*os.File, error) {
	netw, addr := "tcp6", net.Addr(net.TCPAddrFromAddrPort(at))
	if typ == unix.SOCK_DGRAM {
		netw, addr = "udp6", net.UDPAddrFromAddrPort(at)
	}
	fail := func(err error) (*os.File, error) {
		return nil, &net.OpError{Op: "listen", Net: netw, Addr: addr, Err: err}
	}
	// Blocking until the net package takes its own non-blocking copy, so
	// that os.NewFile does not register this one with the poller.
	fd, err := unix.Socket(unix.AF_INET6, typ|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fail(os.NewSyscallError("socket", err))
	}
	err = wrapOpt("IPV6_V6ONLY", unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 1))
	if err == nil {
		if err = unix.BindToDevice(fd, name); err != nil {
			err = fmt.Errorf("SO_BINDTODEVICE %s: %w", name, err)
		}
	}
	if err == nil {
		err = setup(fd)
	}
	if err == nil {
		sa := &unix.SockaddrInet6{Port: int(at.Port()), Addr: at.Addr().As16(), ZoneId: uint32(index)}
		err = os.NewSyscallError("bind", unix.Bind(fd, sa))
	}
	if err == nil && typ == unix.SOCK_STREAM {
		err = os.NewSyscallError("listen", unix.Listen(fd, listenBacklog))
	}
	if err != nil {
		unix.Close(fd)
		return fail(err)
	}
	return os.NewFile(uintptr(fd), name), nil
}

// listenStream opens the TCP listener on our link-local address. It fails
// with EADDRNOTAVAIL while the address is tentative. Its streams get Go's
// default keepalives, which acceptStreams turns off.
func listenStream(name string, index int, at netip.AddrPort) (*net.TCPListener, error) {
	f, err := openSocket(unix.SOCK_STREAM, name, index, at, func(fd int) error {
		// As Go's listeners: a restarted daemon can listen again at once.
		return wrapOpt("SO_REUSEADDR", unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1))
	})
	if err != nil {
		return nil, err
	}
	defer f.Close() // the listener has its own copy
	l, err := net.FileListener(f)
	if err != nil {
		return nil, fmt.Errorf("listen tcp6 %v: %w", at, err)
	}
	return l.(*net.TCPListener), nil
}

// listenDatagram opens the UDP socket of an interface: [::]:port bound to
// the device, member of ff02::1, with multicast loopback off so that our
// own probes do not come back to us.
func listenDatagram(name string, index, port int) (*net.UDPConn, error) {
	at := netip.AddrPortFrom(netip.IPv6Unspecified(), uint16(port))
	f, err := openSocket(unix.SOCK_DGRAM, name, 0, at, func(s int) error {
		mreq := unix.IPv6Mreq{Multiaddr: allNodes.As16(), Interface: uint32(index)}
		return errors.Join(
			wrapOpt("SO_BROADCAST", unix.SetsockoptInt(s, unix.SOL_SOCKET, unix.SO_BROADCAST, 1)), // as Go's UDP sockets
			wrapOpt("IPV6_MULTICAST_IF", unix.SetsockoptInt(s, unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_IF, index)),
			wrapOpt("IPV6_MULTICAST_LOOP", unix.SetsockoptInt(s, unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_LOOP, 0)),
			wrapOpt("IPV6_MULTICAST_HOPS", unix.SetsockoptInt(s, unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_HOPS, 1)),
			wrapOpt("IPV6_JOIN_GROUP", unix.SetsockoptIPv6Mreq(s, unix.IPPROTO_IPV6, unix.IPV6_JOIN_GROUP, &mreq)),
		)
	})
	if err != nil {
		return nil, err
	}
	defer f.Close() // the connection has its own copy
	c, err := net.FilePacketConn(f)
	if err != nil {
		return nil, fmt.Errorf("listen udp6 %v: %w", at, err)
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
