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
// SOCK_DGRAM), bound to no device, lets setup (if any) set more options,
// binds it to at (index is its zone), and for a stream socket listens. It
// gives it to the net package as net.FileListener or net.FilePacketConn
// do. Errors read like those of net.ListenConfig.
func openSocket(typ int, at netip.AddrPort, index int, setup func(fd int) error) (*os.File, error) {
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
	if err == nil && setup != nil {
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
	return os.NewFile(uintptr(fd), netw), nil
}

// listenStream opens the TCP listener of every interface: [::]:port. Its
// streams get Go's default keepalives, which acceptStreams turns off.
func listenStream(port int) (*net.TCPListener, error) {
	f, err := openSocket(unix.SOCK_STREAM, anyPort(port), 0, func(fd int) error {
		// As Go's listeners: a restarted daemon can listen again at once.
		return wrapOpt("SO_REUSEADDR", unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1))
	})
	if err != nil {
		return nil, err
	}
	defer f.Close() // the listener has its own copy
	l, err := net.FileListener(f)
	if err != nil {
		return nil, fmt.Errorf("listen tcp6 %v: %w", anyPort(port), err)
	}
	return l.(*net.TCPListener), nil
}

// listenDatagram opens the UDP socket of every interface: [::]:port. It
// receives ff02::1 from every interface without joining the group (the
// kernel has joined it on each, and IPV6_MULTICAST_ALL, on by default,
// delivers the groups of any socket), and multicast loopback is off so
// that our own probes do not come back to us on the interface they left.
// Sends name their interface with IPV6_PKTINFO (pktInfo).
func listenDatagram(port int) (*net.UDPConn, error) {
	f, err := openSocket(unix.SOCK_DGRAM, anyPort(port), 0, func(s int) error {
		return errors.Join(
			wrapOpt("SO_BROADCAST", unix.SetsockoptInt(s, unix.SOL_SOCKET, unix.SO_BROADCAST, 1)), // as Go's UDP sockets
			wrapOpt("IPV6_MULTICAST_ALL", unix.SetsockoptInt(s, unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_ALL, 1)),
			wrapOpt("IPV6_MULTICAST_LOOP", unix.SetsockoptInt(s, unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_LOOP, 0)),
			wrapOpt("IPV6_MULTICAST_HOPS", unix.SetsockoptInt(s, unix.IPPROTO_IPV6, unix.IPV6_MULTICAST_HOPS, 1)),
		)
	})
	if err != nil {
		return nil, err
	}
	defer f.Close() // the connection has its own copy
	c, err := net.FilePacketConn(f)
	if err != nil {
		return nil, fmt.Errorf("listen udp6 %v: %w", anyPort(port), err)
	}
	return c.(*net.UDPConn), nil
}

func anyPort(port int) netip.AddrPort {
	return netip.AddrPortFrom(netip.IPv6Unspecified(), uint16(port))
}

// addrUsable tells whether a, a link-local address of interface index, can
// be bound, which it cannot while it is tentative (EADDRNOTAVAIL): the
// kernel would not send from it either.
func addrUsable(a netip.Addr, index int) (bool, error) {
	f, err := openSocket(unix.SOCK_DGRAM, netip.AddrPortFrom(a, 0), index, nil)
	if errors.Is(err, unix.EADDRNOTAVAIL) {
		return false, nil
	}
	if err == nil {
		f.Close()
	}
	return err == nil, err
}

// datagramReader reads datagrams with their source address and the
// source's scope: for a link-local source, the index of the interface it
// arrived on. It asks the kernel directly, as the net package would look
// the index up in its table of interface names; and by hand, with its state
// here rather than in a closure, since unix.Recvfrom and a closure over the
// results allocated six times per datagram, the garbage of every hello.
type datagramReader struct {
	rc    syscall.RawConn
	buf   []byte
	recv  func(fd uintptr) bool // r.read, bound once
	n     int
	src   netip.Addr
	index int
	errno syscall.Errno
}

func newDatagramReader(rc syscall.RawConn, buf []byte) *datagramReader {
	r := &datagramReader{rc: rc, buf: buf}
	r.recv = r.read
	return r
}

// recvFrom reads one datagram into the reader's buffer.
func (r *datagramReader) recvFrom() (n int, src netip.Addr, index int, err error) {
	r.n, r.src, r.index, r.errno = 0, netip.Addr{}, 0, 0
	if err := r.rc.Read(r.recv); err != nil {
		return 0, netip.Addr{}, 0, err
	}
	if r.errno != 0 {
		return 0, netip.Addr{}, 0, os.NewSyscallError("recvfrom", r.errno)
	}
	return r.n, r.src, r.index, nil
}

func (r *datagramReader) read(fd uintptr) bool {
	var sa unix.RawSockaddrAny
	for {
		salen := uint32(unsafe.Sizeof(sa))
		n, _, errno := syscall.Syscall6(unix.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(unsafe.SliceData(r.buf))), uintptr(len(r.buf)),
			0, uintptr(unsafe.Pointer(&sa)), uintptr(unsafe.Pointer(&salen)))
		switch errno {
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false // wait until readable
		case 0:
		default:
			r.errno = errno
			return true
		}
		r.n = int(n)
		if sa.Addr.Family == unix.AF_INET6 && salen >= unix.SizeofSockaddrInet6 {
			sa6 := (*unix.RawSockaddrInet6)(unsafe.Pointer(&sa))
			r.src, r.index = netip.AddrFrom16(sa6.Addr), int(sa6.Scope_id)
		}
		return true
	}
}

// peerOf is the remote address of an accepted connection and its scope:
// for a link-local peer, the index of the interface the connection came in
// on.
func peerOf(c *net.TCPConn) (netip.Addr, int, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return netip.Addr{}, 0, err
	}
	var sa unix.Sockaddr
	var serr error
	if err := rc.Control(func(fd uintptr) { sa, serr = unix.Getpeername(int(fd)) }); err != nil {
		return netip.Addr{}, 0, err
	}
	if serr != nil {
		return netip.Addr{}, 0, os.NewSyscallError("getpeername", serr)
	}
	if sa6, ok := sa.(*unix.SockaddrInet6); ok {
		return netip.AddrFrom16(sa6.Addr), int(sa6.ZoneId), nil
	}
	return netip.Addr{}, 0, nil // not IPv6: refused as not link-local
}

func wrapOpt(name string, err error) error {
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// pktInfo is the IPV6_PKTINFO control message that makes a datagram leave
// from src on interface index: the UDP socket is bound to [::] and to no
// device, so it names the interface of unicast and ff02::1 alike, and
// without it the kernel could pick a mesh address as the source, which
// peers would refuse.
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
