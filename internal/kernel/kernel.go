// Package kernel is ntkd's Linux side: it installs the routes the protocol core
// computes, prepares the mesh interfaces and reports link changes, over rtnetlink
// (with github.com/vishvananda/netlink's nl package and types).
//
// Choices, and why:
//
//   - Our routes carry protocol 15 (RTPROT_NTK, "proto ntk" in `ip route`), the
//     number the C Netsukuku daemon used. The protocol is how we know a route is
//     ours: Sync, Resync, Installed and Flush only read, change or delete routes of
//     that protocol in the configured table, so static, DHCP, babeld or bird routes
//     beside them are never touched, and Flush at startup finds what a crashed
//     earlier run left behind.
//   - The node's address sits on each mesh interface as a /32 (or /128), so no
//     neighbour is on a connected subnet. Every nexthop is installed ONLINK with its
//     interface: that tells the kernel the gateway is reachable on that link without
//     a covering route.
//   - Sync is diff-based: it remembers what it installed and sends only
//     replacements and deletions, so a stable network costs no netlink traffic.
//     Resync compares with what the kernel really holds instead, to repair routes
//     someone else deleted or changed, or whose notification we lost.
//   - The rtnetlink messages are built and decoded in rtnl.go, not by
//     netlink.Handle: its methods link the decoders of every kind of link and
//     route encapsulation, ~300 KB of a router build for the few fields we use.
//     Only NETLINK_ROUTE sockets are opened (netlink.NewHandle() with no argument
//     also opens XFRM and NETFILTER ones, which router kernels often lack).
//   - Routes go into the main table by default; an own table gets an `ip rule
//     lookup <table>` that Sync adds and Flush removes.
package kernel

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

const (
	// ProtocolNTK is RTPROT_NTK, the route protocol ntkd's routes carry by default.
	ProtocolNTK = unix.RTPROT_NTK
	// MainTable is the kernel's main routing table.
	MainTable = unix.RT_TABLE_MAIN
	// DefaultRulePriority is the priority of the ip rule for an own table when
	// Config.RulePriority is 0: before the main table's rule (32766).
	DefaultRulePriority = 1000
	// MaxWeight is the largest nexthop weight the kernel can express (rtnh_hops+1).
	MaxWeight = 256
)

// netlinkTimeout bounds every request on our handle, so a wedged kernel
// answer cannot hang the daemon forever.
const netlinkTimeout = 30 * time.Second

// ErrInvalidRoute is wrapped by every validation error Sync reports.
var ErrInvalidRoute = errors.New("invalid route")

// ErrClosed is returned by every method called after Close.
var ErrClosed = errors.New("kernel: closed")

// Config says where and how routes are installed.
type Config struct {
	// Table is the routing table: 0 or 254 means main; any other table except
	// 253 (default) and 255 (local) is our own and gets an ip rule.
	Table int
	// RulePriority is the priority of the ip rule for an own table
	// (0 means DefaultRulePriority). Unused with the main table.
	RulePriority int
	// Protocol is the route protocol marking our routes (0 means ProtocolNTK).
	// Values up to 4 (RTPROT_STATIC) belong to the kernel and the administrator
	// and are refused: Flush deletes every route of this protocol.
	Protocol int
	// Family is the mesh's address family: unix.AF_INET or unix.AF_INET6.
	Family int
	// SysctlRoot is where sysctls are written (empty means "/proc/sys");
	// tests point it at a temporary directory.
	SysctlRoot string
}

// withDefaults validates cfg and fills its defaults.
func (cfg Config) withDefaults() (Config, error) {
	switch cfg.Family {
	case unix.AF_INET, unix.AF_INET6:
	default:
		return cfg, fmt.Errorf("kernel: family %d: want AF_INET (%d) or AF_INET6 (%d)", cfg.Family, unix.AF_INET, unix.AF_INET6)
	}
	switch {
	case cfg.Table == 0:
		cfg.Table = MainTable
	case cfg.Table < 0, cfg.Table == unix.RT_TABLE_DEFAULT, cfg.Table == unix.RT_TABLE_LOCAL:
		return cfg, fmt.Errorf("kernel: table %d cannot hold our routes", cfg.Table)
	}
	if cfg.RulePriority == 0 {
		cfg.RulePriority = DefaultRulePriority
	}
	if cfg.RulePriority < 0 {
		return cfg, fmt.Errorf("kernel: rule priority %d is negative", cfg.RulePriority)
	}
	if cfg.Protocol == 0 {
		cfg.Protocol = ProtocolNTK
	}
	if cfg.Protocol <= unix.RTPROT_STATIC || cfg.Protocol > 255 {
		return cfg, fmt.Errorf("kernel: route protocol %d: want 5..255 (1..4 belong to the kernel and the administrator)", cfg.Protocol)
	}
	if cfg.SysctlRoot == "" {
		cfg.SysctlRoot = "/proc/sys"
	}
	return cfg, nil
}

// Nexthop is one way towards a destination: a neighbour's address on a link.
type Nexthop struct {
	Gw        netip.Addr
	LinkIndex int
	// Weight is the share of traffic on a multipath route, 1..MaxWeight.
	// The kernel keeps no weight for a single-path route.
	Weight int
}

// Route is a destination and its nexthops, best first.
type Route struct {
	Dst      netip.Prefix
	Nexthops []Nexthop
}

func (r Route) String() string {
	s := r.Dst.String()
	for _, nh := range r.Nexthops {
		s += fmt.Sprintf(" via %v dev #%d weight %d", nh.Gw, nh.LinkIndex, nh.Weight)
	}
	return s
}

// SyncStats counts what a Sync or Resync did, route by route.
type SyncStats struct {
	Added, Changed, Removed, Unchanged int
}

// Kernel installs routes and prepares interfaces in one network namespace.
// Its methods are safe for concurrent use.
type Kernel struct {
	cfg Config
	ns  netns.NsHandle // our own copy; None when opened in the current namespace

	// mu serialises everything that uses rt, which is not safe for concurrent use.
	mu        sync.Mutex
	rt        *rtnl                  // nil once closed
	installed map[netip.Prefix]Route // what we believe the kernel holds; nil Nexthops = unknown
	ruleOK    bool                   // our ip rule is known to be in place

	// wantMu guards want separately, so that Watch can look at it while a long
	// Sync holds mu.
	wantMu sync.Mutex
	want   map[netip.Prefix]Route
}

// Open opens the kernel interface in the namespace of the calling process.
func Open(cfg Config) (*Kernel, error) {
	return open(netns.None(), cfg)
}

// OpenAt opens the kernel interface in the network namespace ns. The Kernel
// keeps its own copy of ns, so the caller may close it.
func OpenAt(ns netns.NsHandle, cfg Config) (*Kernel, error) {
	if !ns.IsOpen() {
		return open(netns.None(), cfg)
	}
	own, err := dupNetns(ns)
	if err != nil {
		return nil, err
	}
	k, err := open(own, cfg)
	if err != nil {
		own.Close()
		return nil, err
	}
	return k, nil
}

func open(ns netns.NsHandle, cfg Config) (*Kernel, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	rt, err := openRtnl(ns)
	if err != nil {
		return nil, err
	}
	return &Kernel{
		cfg:       cfg,
		ns:        ns,
		rt:        rt,
		installed: map[netip.Prefix]Route{},
		want:      map[netip.Prefix]Route{},
	}, nil
}

func dupNetns(ns netns.NsHandle) (netns.NsHandle, error) {
	fd, err := unix.FcntlInt(uintptr(ns), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return netns.None(), fmt.Errorf("kernel: copy netns handle: %w", err)
	}
	return netns.NsHandle(fd), nil
}

// Close releases the netlink socket. It does not remove routes: call Flush first
// for that. Watch keeps running until its context is done.
func (k *Kernel) Close() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.rt == nil {
		return ErrClosed
	}
	k.rt.close()
	k.rt = nil
	if k.ns.IsOpen() {
		return k.ns.Close()
	}
	return nil
}

// Config returns the configuration in use, defaults filled in.
func (k *Kernel) Config() Config { return k.cfg }

// ownTable reports whether routes go to a table of our own, with an ip rule.
func (k *Kernel) ownTable() bool { return k.cfg.Table != MainTable }

// bitLen is the address length of our family.
func (k *Kernel) bitLen() int {
	if k.cfg.Family == unix.AF_INET {
		return 32
	}
	return 128
}

// familyOK reports whether a is an address of our family (IPv4-mapped IPv6
// addresses are not IPv4 here: the kernel would treat them as IPv6).
func (k *Kernel) familyOK(a netip.Addr) bool {
	if k.cfg.Family == unix.AF_INET {
		return a.Is4()
	}
	return a.Is6() && !a.Is4In6()
}

func familyName(family int) string {
	if family == unix.AF_INET {
		return "IPv4"
	}
	return "IPv6"
}

func prefixToIPNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

// ipToAddr converts a kernel address of our family; IPv4 may come as 16 bytes.
func (k *Kernel) ipToAddr(ip net.IP) netip.Addr {
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		return netip.Addr{}
	}
	if k.cfg.Family == unix.AF_INET {
		return a.Unmap()
	}
	return a
}

// dstPrefix is the destination of a kernel route; no RTA_DST means the default route.
func (k *Kernel) dstPrefix(dst *net.IPNet) netip.Prefix {
	if dst == nil {
		if k.cfg.Family == unix.AF_INET {
			return netip.PrefixFrom(netip.IPv4Unspecified(), 0)
		}
		return netip.PrefixFrom(netip.IPv6Unspecified(), 0)
	}
	ones, _ := dst.Mask.Size()
	return netip.PrefixFrom(k.ipToAddr(dst.IP), ones)
}
