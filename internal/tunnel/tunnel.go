// Package tunnel makes ntkd's virtual links: one point-to-point WireGuard
// network device per tunnel (ntkv0, ntkv1, ...), with a single peer whose
// allowed IPs are everything, so that radar's link-local multicast and every
// route through the device reach that peer (docs/VLAYER.md, "Tunnels are
// links"). It creates, configures, inspects and removes such devices; the
// addresses on them, the link state and the routes are internal/kernel's job.
//
// Two backends:
//
//   - Kernel (routers, kmod-wireguard): the link is made over rtnetlink
//     (ip link add NAME type wireguard) and configured over generic netlink
//     (family "wireguard"), with the attributes encoded in wgnl.go on
//     mdlayher/genetlink, which the router build already links for nl80211.
//     wgctrl would have cost ~450 KB of the mips build (its UAPI client, its
//     key types and their Curve25519), which the 5 MiB budget cannot take.
//   - Userspace (developer builds and tests, build tag !router):
//     wireguard-go in this process on /dev/net/tun, configured with the UAPI
//     text. It is ~1.5 MB of mips binary, so router builds leave it out.
//
// Network namespaces: a backend is made for one namespace (netns.None():
// the namespace of the thread that calls Create). Create switches a locked
// thread into it, and creates there everything that is bound to a namespace:
// the link, the netlink sockets, and for userspace the tun device and the
// UDP sockets. A device keeps them until Close, so its methods may be called
// from any goroutine afterwards; the caller only has to keep the namespace
// handle open while Create runs.
package tunnel

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Mark is the firewall mark every tunnel device puts on its own encrypted
// UDP packets. Policy rules that divert traffic into the mesh (the Internet
// gateway's table, docs/IGS.md) skip packets with this mark, so a tunnel's
// packets always leave through the real uplink and never through another
// tunnel or a mesh gateway (seed 002: a vnode's tunnels ride its own
// Internet connection).
const Mark = 0x6e740000

// Peer is the other end of a tunnel.
type Peer struct {
	PublicKey Key
	// Endpoint is where to send to the peer; the zero AddrPort leaves it to
	// WireGuard, which learns it from the peer's first authenticated packet.
	Endpoint netip.AddrPort
	// Keepalive is WireGuard's persistent keepalive (0: off), which keeps NAT
	// mappings open; it is sent in whole seconds, rounded up.
	Keepalive time.Duration
}

// Stats is what a device knows about its peer.
type Stats struct {
	ListenPort    int            // the device's UDP port (the one picked when Create got 0)
	FwMark        uint32         // the firewall mark of the device's own UDP packets
	PublicKey     Key            // the peer's; zero when no peer is set
	Endpoint      netip.AddrPort // the peer's current endpoint; zero when unknown
	LastHandshake time.Time      // zero: no handshake yet
	RxBytes       uint64
	TxBytes       uint64
}

// Device is one WireGuard network device with at most one peer.
// Its methods are safe for concurrent use.
type Device interface {
	Name() string
	Index() int // the interface index in the device's namespace
	// SetPeer sets the device's only peer. The same public key again
	// updates endpoint and keepalive and keeps the session; another key
	// replaces the peer.
	SetPeer(Peer) error
	Stats() (Stats, error)
	// Close removes the device. Later calls return an error wrapping ErrClosed.
	Close() error
}

// Backend creates devices.
type Backend interface {
	// Create makes the device name with the private key, listening on UDP
	// listenPort (0: a free port, see Stats.ListenPort). The device is down
	// and has no peer and no address.
	Create(name string, private Key, listenPort int) (Device, error)
}

// ErrClosed is wrapped by the errors of a device's methods after Close.
var ErrClosed = errors.New("device closed")

// driver is what a backend does to its WireGuard device; device does the
// checks, the locking and the bookkeeping around it for both.
type driver interface {
	// setPeer sets the only peer; replace removes the others first.
	setPeer(p Peer, keepalive uint16, replace bool) error
	state() (wgState, error)
	// remove deletes the device and frees what the driver holds.
	remove() error
}

// wgDevice is a Device over a backend's driver.
type wgDevice struct {
	name  string
	index int
	self  Key // our public key

	mu     sync.Mutex // one request at a time to the driver; guards what follows
	drv    driver
	peer   Key // the peer last set; zero: none
	closed bool
}

func (d *wgDevice) Name() string { return d.name }
func (d *wgDevice) Index() int   { return d.index }

func (d *wgDevice) SetPeer(p Peer) error {
	keepalive, err := checkPeer(p, d.self)
	if err != nil {
		return fmt.Errorf("tunnel: %s: set peer: %w", d.name, err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		err = ErrClosed
	} else {
		err = d.drv.setPeer(p, keepalive, p.PublicKey != d.peer)
	}
	if err != nil {
		return fmt.Errorf("tunnel: %s: set peer: %w", d.name, err)
	}
	d.peer = p.PublicKey
	return nil
}

func (d *wgDevice) Stats() (Stats, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return Stats{}, fmt.Errorf("tunnel: %s: stats: %w", d.name, ErrClosed)
	}
	st, err := d.drv.state()
	if err != nil {
		return Stats{}, fmt.Errorf("tunnel: %s: stats: %w", d.name, err)
	}
	s := pickPeer(st.peers, d.peer)
	s.ListenPort = st.listenPort
	s.FwMark = st.fwmark
	return s, nil
}

func (d *wgDevice) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return fmt.Errorf("tunnel: %s: close: %w", d.name, ErrClosed)
	}
	d.closed = true
	if err := d.drv.remove(); err != nil {
		return fmt.Errorf("tunnel: %s: %w", d.name, err)
	}
	return nil
}

// checkCreate checks Create's arguments, so both backends reject the same
// input with the same words, before anything is made.
func checkCreate(name string, listenPort int) error {
	if name == "" || len(name) >= unix.IFNAMSIZ || name == "." || name == ".." ||
		strings.ContainsAny(name, "/: \t\n\r\x00") {
		return fmt.Errorf("invalid interface name %q (1 to %d characters, no '/', ':' or spaces)", name, unix.IFNAMSIZ-1)
	}
	if listenPort < 0 || listenPort > 65535 {
		return fmt.Errorf("listen port %d out of 0..65535", listenPort)
	}
	return nil
}

// checkPeer checks p for a device whose own public key is self, and returns
// its keepalive in seconds.
func checkPeer(p Peer, self Key) (uint16, error) {
	if p.PublicKey == (Key{}) {
		return 0, errors.New("peer has no public key")
	}
	if p.PublicKey == self {
		// WireGuard silently ignores such a peer: say so instead.
		return 0, errors.New("peer key is the device's own public key")
	}
	if p.Endpoint.IsValid() {
		if p.Endpoint.Port() == 0 || p.Endpoint.Addr().Unmap().IsUnspecified() {
			return 0, fmt.Errorf("peer endpoint %s has no address or port", p.Endpoint)
		}
		if p.Endpoint.Addr().Zone() != "" {
			return 0, fmt.Errorf("peer endpoint %s: zoned addresses are not supported", p.Endpoint)
		}
	}
	if p.Keepalive < 0 || p.Keepalive > 65535*time.Second {
		return 0, fmt.Errorf("peer keepalive %v out of 0..65535s", p.Keepalive)
	}
	return uint16((p.Keepalive + time.Second - 1) / time.Second), nil
}

// endpointAddr is the form both backends use for an endpoint: an IPv4
// address as itself, not as ::ffff:a.b.c.d, which would need an IPv6 socket.
func endpointAddr(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// pickPeer returns the stats of the peer with key want, or else of the
// first peer (a device someone else gave more peers), or zero Stats.
func pickPeer(peers []Stats, want Key) Stats {
	for _, p := range peers {
		if p.PublicKey == want {
			return p
		}
	}
	if len(peers) > 0 {
		return peers[0]
	}
	return Stats{}
}
