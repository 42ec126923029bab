package main

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
)

// staticName is what dnsmasq answers, with meshAddr, from its own
// configuration: no cache, no upstream.
const staticName = "host.test"

// dnsmasq is a running dnsmasq on a loopback port.
type dnsmasq struct {
	cmd  *exec.Cmd
	addr netip.AddrPort
}

// findDnsmasq looks in PATH and in /usr/sbin, where Debian puts it and
// where an unprivileged PATH does not look.
func findDnsmasq() (string, error) {
	if p, err := exec.LookPath("dnsmasq"); err == nil {
		return p, nil
	}
	for _, p := range []string{"/usr/sbin/dnsmasq", "/sbin/dnsmasq"} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("dnsmasq not found (apt-get install dnsmasq)")
}

// startDnsmasq runs dnsmasq in the foreground on 127.0.0.1, with its
// files in dir and no system configuration, answering staticName.
func startDnsmasq(bin, dir string) (*dnsmasq, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin,
		"-k",                    // foreground, so we own the process
		"--conf-file=/dev/null", // not /etc/dnsmasq.conf
		"--no-resolv", "--no-hosts", "--no-poll",
		"--port="+strconv.Itoa(port),
		"--listen-address=127.0.0.1", "--bind-interfaces",
		"--address=/"+staticName+"/"+meshAddr,
		"--pid-file="+filepath.Join(dir, "dnsmasq.pid"),
		"--log-facility="+filepath.Join(dir, "dnsmasq.log"),
	)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start dnsmasq: %w", err)
	}
	return &dnsmasq{cmd: cmd, addr: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port))}, nil
}

func (d *dnsmasq) stop() {
	d.cmd.Process.Kill()
	d.cmd.Wait()
}

// freePort is a loopback port free for UDP and TCP just now.
func freePort() (int, error) {
	for range 20 {
		u, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			return 0, fmt.Errorf("free port: %w", err)
		}
		port := u.LocalAddr().(*net.UDPAddr).Port
		t, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
		u.Close()
		if err == nil {
			t.Close()
			return port, nil
		}
	}
	return 0, fmt.Errorf("no free loopback port for UDP and TCP")
}
