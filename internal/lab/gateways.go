package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// Gateways (Internet Gateway Sharing, docs/IGS.md): some nodes of the lab
// get an uplink to a stand-in Internet, a namespace of its own (PREFIX+wan,
// never PREFIX+inet, the islands' internet: a lab may have both) where the
// ntkd binary runs an echo server on EchoAddr. The k-th gateway's uplink is
// a veth pair, "up0" in the node's namespace with 198.51.100.(4k+2)/30 and
// the main table's default route via 198.51.100.(4k+1), the wan side's
// address (TEST-NET-2, RFC 5737: nothing leaves the namespaces). Its
// config shares the uplink ([igs] share_internet) and probes the echo
// server; the other nodes keep the defaults (use_gateways) and have no
// default route of their own.
const (
	wanName    = "wan"         // namespace suffix of the stand-in Internet
	wanDirName = "wan"         // its directory in the lab's: echo server log and pid
	UplinkName = "up0"         // a gateway's uplink device
	uplinkNet  = "198.51.100." // TEST-NET-2, cut in /30s, one per gateway
	// MaxGateways bounds the /30s in uplinkNet.
	MaxGateways = 64
	// GatewayProbeInterval is [igs] probe_interval of the lab's gateways:
	// short, so that a cut uplink is noticed in seconds.
	GatewayProbeInterval = 2 * time.Second
	echoLog              = "echo.log"
	echoPID              = "echo.pid"
)

// EchoAddr is where the stand-in Internet's echo server listens, TCP and
// UDP (TEST-NET-3, RFC 5737; port 7, echo), on its namespace's loopback.
var EchoAddr = netip.MustParseAddrPort("203.0.113.1:7")

// WAN is the stand-in Internet of a lab with gateways: its namespace and
// the echo server running there.
type WAN struct {
	Namespace string         `json:"namespace"`
	Dir       string         `json:"dir"`
	Echo      netip.AddrPort `json:"echo"` // the echo server's address, TCP and UDP
	Log       string         `json:"log"`  // the echo server's output
	PIDFile   string         `json:"pid_file"`
	// ProbeInterval is the gateways' [igs] probe_interval;
	// zero: GatewayProbeInterval.
	ProbeInterval time.Duration `json:"probe_interval,omitempty"`
}

// Gateway is a node with an uplink to the WAN.
type Gateway struct {
	Node    string       `json:"node"`
	Device  string       `json:"device"`  // the uplink in the node's namespace (UplinkName)
	Address netip.Prefix `json:"address"` // the node's address on it, a /30
	Peer    netip.Addr   `json:"peer"`    // the WAN's end: the node's default route goes through it
	Port    string       `json:"port"`    // the WAN's device towards the node: g<node>
}

// planGateways checks the gateway names against the nodes of s (each an
// existing node, at most once) and lays out the WAN and the uplinks, the
// k-th listed gateway taking the k-th /30. It touches nothing.
func planGateways(s *State, dir string, names []string) error {
	if len(names) == 0 {
		return nil
	}
	if len(names) > MaxGateways {
		return fmt.Errorf("%d gateways: a lab has at most %d", len(names), MaxGateways)
	}
	seen := map[string]bool{}
	for k, name := range names {
		if name == "" {
			return errors.New("gateways: an empty node name")
		}
		if _, err := s.Node(name); err != nil {
			return fmt.Errorf("gateway %q: %w", name, err)
		}
		if seen[name] {
			return fmt.Errorf("gateway %s is listed twice", name)
		}
		seen[name] = true
		base := 4 * k
		s.Gateways = append(s.Gateways, Gateway{
			Node:    name,
			Device:  UplinkName,
			Address: netip.MustParsePrefix(uplinkNet + strconv.Itoa(base+2) + "/30"),
			Peer:    netip.MustParseAddr(uplinkNet + strconv.Itoa(base+1)),
			Port:    "g" + name,
		})
	}
	wdir := filepath.Join(dir, wanDirName)
	s.WAN = &WAN{
		Namespace: s.Prefix + wanName,
		Dir:       wdir,
		Echo:      EchoAddr,
		Log:       filepath.Join(wdir, echoLog),
		PIDFile:   filepath.Join(wdir, echoPID),
	}
	return nil
}

// Gateway returns the gateway record of node name, or an error saying
// which nodes are gateways.
func (s *State) Gateway(name string) (*Gateway, error) {
	if _, err := s.Node(name); err != nil {
		return nil, err
	}
	if len(s.Gateways) == 0 {
		return nil, errors.New("this lab has no gateways (ntkd lab up --gateways NODE,...)")
	}
	var names []string
	for i := range s.Gateways {
		if s.Gateways[i].Node == name {
			return &s.Gateways[i], nil
		}
		names = append(names, s.Gateways[i].Node)
	}
	return nil, fmt.Errorf("%s is not a gateway (the gateways are %s)", name, strings.Join(names, ", "))
}

// igsConfig is the [igs] table of node n: a gateway shares its uplink and
// probes the echo server through it; every other node keeps the defaults.
func igsConfig(s *State, n *Node) string {
	g, err := s.Gateway(n.Name)
	if err != nil {
		return ""
	}
	every := GatewayProbeInterval
	if s.WAN.ProbeInterval > 0 {
		every = s.WAN.ProbeInterval
	}
	return fmt.Sprintf("\n[igs]\nshare_internet = true\nuplink = %s\nprobe = [%s]\nprobe_interval = %s\n",
		tomlString(g.Device), tomlString(s.WAN.Echo.String()), tomlString(every.String()))
}

// buildWAN makes the WAN namespace (forwarding on, the echo address on its
// loopback) and every gateway's uplink: the WAN's end up with its address
// first, then the node's end with its address and default route.
func buildWAN(s *State) error {
	w := s.WAN
	if err := os.Mkdir(w.Dir, 0o755); err != nil {
		return fmt.Errorf("wan: %w", err)
	}
	if err := addNamespace(w.Namespace); err != nil {
		return err
	}
	err := inNamespace(w.Namespace, func() error {
		return os.WriteFile("/proc/sys/net/ipv4/ip_forward", []byte("1"), 0)
	})
	if err == nil {
		err = withHandle(w.Namespace, func(h *netlink.Handle) error {
			lo, err := h.LinkByName("lo")
			if err != nil {
				return err
			}
			return h.AddrAdd(lo, nlAddr(netip.PrefixFrom(w.Echo.Addr(), 32)))
		})
	}
	if err != nil {
		return fmt.Errorf("wan %s: %w", w.Namespace, err)
	}
	wan, err := netns.GetFromName(w.Namespace)
	if err != nil {
		return fmt.Errorf("wan %s: %w", w.Namespace, err)
	}
	defer wan.Close()
	for _, g := range s.Gateways {
		n, err := s.Node(g.Node)
		if err != nil {
			return err
		}
		err = withHandle(n.Namespace, func(h *netlink.Handle) error {
			return h.LinkAdd(&netlink.Veth{
				LinkAttrs:     netlink.LinkAttrs{Name: g.Device},
				PeerName:      g.Port,
				PeerNamespace: netlink.NsFd(wan),
			})
		})
		if err == nil {
			err = withHandle(w.Namespace, func(h *netlink.Handle) error {
				return addrUp(h, g.Port, netip.PrefixFrom(g.Peer, g.Address.Bits()))
			})
		}
		if err == nil {
			err = withHandle(n.Namespace, func(h *netlink.Handle) error {
				if err := addrUp(h, g.Device, g.Address); err != nil {
					return err
				}
				return defaultRoute(h, g)
			})
		}
		if err != nil {
			return fmt.Errorf("uplink of gateway %s: %w", g.Node, err)
		}
	}
	return nil
}

func nlAddr(p netip.Prefix) *netlink.Addr {
	return &netlink.Addr{IPNet: &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}}
}

// addrUp gives interface name the address p and brings it up.
func addrUp(h *netlink.Handle, name string, p netip.Prefix) error {
	link, err := h.LinkByName(name)
	if err != nil {
		return fmt.Errorf("interface %s: %w", name, err)
	}
	if err := h.AddrAdd(link, nlAddr(p)); err != nil {
		return fmt.Errorf("interface %s: address %v: %w", name, p, err)
	}
	return setLink(h, name, true)
}

// defaultRoute sets the main table's default route of gateway g through
// its uplink. The kernel drops it whenever the uplink goes down.
func defaultRoute(h *netlink.Handle, g Gateway) error {
	link, err := h.LinkByName(g.Device)
	if err != nil {
		return fmt.Errorf("interface %s: %w", g.Device, err)
	}
	r := &netlink.Route{LinkIndex: link.Attrs().Index, Gw: g.Peer.AsSlice(),
		Dst: &net.IPNet{IP: net.IPv4zero.To4(), Mask: net.CIDRMask(0, 32)}}
	if err := h.RouteReplace(r); err != nil {
		return fmt.Errorf("default route via %v dev %s: %w", g.Peer, g.Device, err)
	}
	return nil
}

// startEcho starts the WAN's echo server: the lab's ntkd binary, `ntkd lab
// echo-server ADDR` (a developer command, as the lab is), detached like
// the daemons.
func startEcho(s *State) (int, error) {
	w := s.WAN
	return startProcess(w.Namespace, "echo server", w.Dir, w.Log, w.PIDFile, s.Ntkd, "lab", "echo-server", w.Echo.String())
}

// EchoPID returns the pid of the WAN's echo server, or 0 when it is not
// running (or the lab has no WAN).
func (s *State) EchoPID() int {
	if s.WAN == nil {
		return 0
	}
	return pidIn(s.WAN.PIDFile, s.WAN.Namespace)
}

// Uplink takes gateway node's uplink down (up false: the cable to the
// Internet pulled, the daemon keeps running) or brings it up again with
// its default route, which the kernel dropped when it went down.
func (l Lab) Uplink(node string, up bool) error {
	s, err := l.Load()
	if err != nil {
		return err
	}
	g, err := s.Gateway(node)
	if err != nil {
		return err
	}
	n, err := s.Node(node)
	if err != nil {
		return err
	}
	return withHandle(n.Namespace, func(h *netlink.Handle) error {
		if err := setLink(h, g.Device, up); err != nil {
			return err
		}
		if up {
			return defaultRoute(h, *g)
		}
		return nil
	})
}

// echoIdle closes an echo connection that has sent nothing for this long.
const echoIdle = 2 * time.Minute

// ServeEcho runs an echo server on addr until ctx ends: over TCP each
// connection gets back what it sends, over UDP each datagram goes back to
// its sender. ready, when not nil, hears once both sockets listen. It is
// what `ntkd lab echo-server` runs inside a lab's WAN namespace.
func ServeEcho(ctx context.Context, addr netip.AddrPort, ready func()) error {
	ln, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(addr))
	if err != nil {
		return err
	}
	defer ln.Close()
	pc, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(addr))
	if err != nil {
		return err
	}
	defer pc.Close()
	if ready != nil {
		ready()
	}
	errc := make(chan error, 2)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				errc <- fmt.Errorf("tcp: %w", err)
				return
			}
			go echoConn(c)
		}
	}()
	go func() {
		buf := make([]byte, 64<<10)
		for {
			n, from, err := pc.ReadFromUDPAddrPort(buf)
			if err != nil {
				errc <- fmt.Errorf("udp: %w", err)
				return
			}
			pc.WriteToUDPAddrPort(buf[:n], from) // a lost reply is a lost datagram
		}
	}()
	select {
	case <-ctx.Done():
		return nil
	case err := <-errc:
		return err
	}
}

func echoConn(c net.Conn) {
	defer c.Close()
	buf := make([]byte, 32<<10)
	for {
		c.SetDeadline(time.Now().Add(echoIdle))
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				if tc, ok := c.(*net.TCPConn); ok {
					tc.CloseWrite()
				}
			}
			return
		}
	}
}
