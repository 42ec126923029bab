package dnsd

import (
	"errors"
	"net"
	"net/netip"
	"syscall"
)

// listenPair binds UDP and TCP on the same address. For port 0 the TCP
// port is the one the kernel gave UDP, tried again with another UDP port
// should TCP already use it.
func listenPair(l netip.AddrPort) (*net.UDPConn, *net.TCPListener, error) {
	const tries = 10
	for i := 0; ; i++ {
		u, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(l))
		if err != nil {
			return nil, nil, err
		}
		bound := u.LocalAddr().(*net.UDPAddr).AddrPort()
		t, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(bound))
		if err == nil {
			return u, t, nil
		}
		u.Close()
		if l.Port() != 0 || i == tries-1 || !errors.Is(err, syscall.EADDRINUSE) {
			return nil, nil, err
		}
	}
}
