//go:build !linux

package transport

import (
	"errors"
	"net"
	"net/netip"
	"syscall"
)

// ntkd's transport needs Linux socket options (SO_BINDTODEVICE,
// IPV6_PKTINFO); elsewhere the package builds, so that the simulator and
// the tools of the module still do, but no interface can be bound.

var errNotLinux = errors.New("needs Linux")

func controlDevice(syscall.RawConn, string) error { return errNotLinux }

func listenStream(int) (*net.TCPListener, error) { return nil, errNotLinux }

func listenDatagram(int) (*net.UDPConn, error) { return nil, errNotLinux }

func addrUsable(netip.Addr, int) (bool, error) { return false, errNotLinux }

type datagramReader struct{}

func newDatagramReader(syscall.RawConn, []byte) *datagramReader { return &datagramReader{} }

func (*datagramReader) recvFrom() (int, netip.Addr, int, error) {
	return 0, netip.Addr{}, 0, errNotLinux
}

func peerOf(*net.TCPConn) (netip.Addr, int, error) { return netip.Addr{}, 0, errNotLinux }

func pktInfo(netip.Addr, int) []byte { return nil }

func peerClosed(*net.TCPConn) bool { return false }
