package lab

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// RouteProtocol marks ntkd's kernel routes ("proto ntk"); the lab's
// configs keep the daemon's default.
const RouteProtocol = 15

// meshRanges are the ranges a mesh address lives in (restricted mode).
var meshRanges = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("fc00::/7"),
}

// Status is the lab as the kernel sees it, independent of the daemons.
type Status struct {
	Topology string       `json:"topology"`
	Nodes    []NodeStatus `json:"nodes"`
	Links    []LinkStatus `json:"links"`
	Hooked   int          `json:"hooked"`  // nodes with a mesh address
	Pairs    int          `json:"pairs"`   // ordered pairs of distinct nodes: n*(n-1)
	Reached  int          `json:"reached"` // pairs (x, y) where x has a route to y
	Full     bool         `json:"full"`    // every node has a route to every other
	Running  int          `json:"running"` // daemons running
	// Islands, in a lab of islands, counts the routes inside each.
	Islands []IslandStatus `json:"islands,omitempty"`
	// Gateways, in a lab with gateways, says whether each uplink is up,
	// and WAN whether the stand-in Internet's echo server runs.
	Gateways []GatewayStatus `json:"gateways,omitempty"`
	WAN      *WANStatus      `json:"wan,omitempty"`
}

// GatewayStatus is one gateway's uplink: Up when administratively up (lab
// uplink cut takes it down).
type GatewayStatus struct {
	Gateway
	Up bool `json:"up"`
}

// WANStatus is the stand-in Internet of a lab with gateways.
type WANStatus struct {
	Namespace string         `json:"namespace"`
	Echo      netip.AddrPort `json:"echo"`
	EchoPID   int            `json:"echo_pid"` // 0 when the echo server is not running
}

// IslandStatus is how far one island's nodes reach each other.
type IslandStatus struct {
	Pairs   int  `json:"pairs"`
	Reached int  `json:"reached"`
	Full    bool `json:"full"`
}

// distinct says whether no two hooked nodes hold the same address: one that
// routes to the other would count as reaching it.
func (st *Status) distinct() bool {
	seen := make(map[netip.Addr]bool, len(st.Nodes))
	for _, n := range st.Nodes {
		if n.Hooked && seen[n.Address] {
			return false
		}
		seen[n.Address] = true
	}
	return true
}

// IslandsFull says whether every island is converged on its own.
func (st *Status) IslandsFull() bool {
	for _, is := range st.Islands {
		if !is.Full {
			return false
		}
	}
	return len(st.Islands) > 0
}

// NodeStatus is one node's part of Status.
type NodeStatus struct {
	Name      string     `json:"name"`
	Namespace string     `json:"namespace"`
	PID       int        `json:"pid"` // 0 when the daemon is not running
	Running   bool       `json:"running"`
	Address   netip.Addr `json:"address"` // mesh address; invalid (JSON "") when not hooked
	Hooked    bool       `json:"hooked"`
	Routes    int        `json:"routes"`  // proto ntk routes in the kernel
	Reaches   int        `json:"reaches"` // other nodes covered by those routes
	// Unreached lists the other nodes it has no route to.
	Unreached []string `json:"unreached,omitempty"`
	// Error is set when the node's namespace could not be read.
	Error string `json:"error,omitempty"`
}

// LinkStatus is one link's state: Up when both ends are administratively
// up. A silent cut keeps a link up; Silent says whether one is in place,
// but only after FindSilentCuts.
type LinkStatus struct {
	A      string `json:"a"`
	B      string `json:"b"`
	Up     bool   `json:"up"`
	Silent bool   `json:"silent"`
}

// kernelView is what one namespace holds that Status needs.
type kernelView struct {
	addrs  []netip.Addr    // mesh addresses, sorted
	main   netip.Addr      // the node's own of addrs (see KernelTable.Address)
	routes routeTable      // proto ntk routes
	links  map[string]bool // interface name -> administratively up
}

// Status reads every node's namespace: its mesh address and its proto ntk
// routes, and from them which nodes reach which. A node reaches another
// when the longest of its proto ntk routes covering the other's address is
// a unicast route (so /32 host routes and gnode routes such as /24 both
// count, and an unreachable route does not).
func (l Lab) Status() (*Status, error) {
	s, err := l.Load()
	if err != nil {
		return nil, err
	}
	st := &Status{Topology: s.Topology, Nodes: make([]NodeStatus, len(s.Nodes))}
	views := make([]*kernelView, len(s.Nodes))
	for i := range s.Nodes {
		n := &s.Nodes[i]
		ns := &st.Nodes[i]
		ns.Name, ns.Namespace = n.Name, n.Namespace
		ns.PID = daemonPID(n)
		ns.Running = ns.PID != 0
		if ns.Running {
			st.Running++
		}
		v, err := readKernel(n.Namespace, l.protocol())
		if err != nil {
			ns.Error = err.Error()
			continue
		}
		views[i] = v
		if len(v.addrs) > 0 {
			// Not the lowest: a crashed daemon's address lingers on an
			// interface that is down until the restarted one removes it.
			ns.Address, ns.Hooked = v.main, true
			st.Hooked++
		}
		ns.Routes = v.routes.len()
	}
	n := len(s.Nodes)
	st.Pairs = n * (n - 1)
	st.Islands = make([]IslandStatus, len(s.Islands))
	for i := range st.Nodes {
		x := &st.Nodes[i]
		for j := range st.Nodes {
			if i == j {
				continue
			}
			y := &st.Nodes[j]
			reached := views[i] != nil && y.Hooked && views[i].routes.reaches(y.Address)
			if k := s.Nodes[i].Island; k > 0 && k == s.Nodes[j].Island {
				st.Islands[k-1].Pairs++
				if reached {
					st.Islands[k-1].Reached++
				}
			}
			if reached {
				x.Reaches++
			} else {
				x.Unreached = append(x.Unreached, y.Name)
			}
		}
		st.Reached += x.Reaches
	}
	st.Full = st.Reached == st.Pairs && st.Hooked == n && st.distinct()
	for k := range st.Islands {
		is := &st.Islands[k]
		is.Full = is.Reached == is.Pairs
		for _, name := range s.Islands[k].Nodes {
			is.Full = is.Full && st.Nodes[s.index(name)].Hooked
		}
	}
	for _, g := range s.Gateways {
		gs := GatewayStatus{Gateway: g}
		if v := views[s.index(g.Node)]; v != nil {
			gs.Up = v.links[g.Device]
		}
		st.Gateways = append(st.Gateways, gs)
	}
	if s.WAN != nil {
		st.WAN = &WANStatus{Namespace: s.WAN.Namespace, Echo: s.WAN.Echo, EchoPID: s.EchoPID()}
	}
	for _, lk := range s.Links {
		ls := LinkStatus{A: lk.A, B: lk.B}
		ia, ib := s.index(lk.A), s.index(lk.B)
		if views[ia] != nil && views[ib] != nil {
			ls.Up = views[ia].links[lk.IfA] && views[ib].links[lk.IfB]
		}
		st.Links = append(st.Links, ls)
	}
	return st, nil
}

func (s *State) index(name string) int {
	return slices.IndexFunc(s.Nodes, func(n Node) bool { return n.Name == name })
}

// kernelDump is what one namespace holds that the lab reads: its
// interfaces, addresses and the routes of one protocol, from one dump.
type kernelDump struct {
	addrs  []netlink.Addr
	routes []netlink.Route
	names  map[int]string  // interface index -> name
	up     map[string]bool // interface name -> administratively up
	mesh   []netip.Addr    // mesh addresses, sorted (meshAddrs)
}

// dumpKernel reads one namespace's interfaces, addresses and proto
// routes. A dump that the kernel interrupts because routes changed under
// it (likely while a mesh converges) is read again.
func dumpKernel(namespace string, proto netlink.RouteProtocol) (*kernelDump, error) {
	var links []netlink.Link
	d := &kernelDump{names: map[int]string{}, up: map[string]bool{}}
	err := withHandle(namespace, func(h *netlink.Handle) error {
		return retryDump(func() (err error) {
			if links, err = h.LinkList(); err != nil {
				return fmt.Errorf("listing interfaces: %w", err)
			}
			if d.addrs, err = h.AddrList(nil, netlink.FAMILY_ALL); err != nil {
				return fmt.Errorf("listing addresses: %w", err)
			}
			d.routes, err = h.RouteListFiltered(netlink.FAMILY_ALL,
				&netlink.Route{Protocol: proto, Table: unix.RT_TABLE_UNSPEC},
				netlink.RT_FILTER_PROTOCOL|netlink.RT_FILTER_TABLE)
			if err != nil {
				return fmt.Errorf("listing routes: %w", err)
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	loopback := map[int]bool{}
	for _, lk := range links {
		a := lk.Attrs()
		d.names[a.Index] = a.Name
		d.up[a.Name] = a.Flags&net.FlagUp != 0
		if a.Flags&net.FlagLoopback != 0 {
			loopback[a.Index] = true
		}
	}
	d.mesh = meshAddrs(d.addrs, loopback)
	return d, nil
}

// readKernel reads what Status needs of one namespace.
func readKernel(namespace string, proto netlink.RouteProtocol) (*kernelView, error) {
	d, err := dumpKernel(namespace, proto)
	if err != nil {
		return nil, err
	}
	v := &kernelView{links: d.up, addrs: d.mesh}
	v.main = mainAddr(d.mesh, d.addrs, func(index int) bool { return d.up[d.names[index]] })
	for _, r := range d.routes {
		v.routes.add(routePrefix(r), r.Type)
	}
	return v, nil
}

// retryDump runs f again while the kernel reports an interrupted dump.
func retryDump(f func() error) error {
	var err error
	for range 5 {
		if err = f(); !errors.Is(err, netlink.ErrDumpInterrupted) {
			return err
		}
	}
	return err
}

// meshAddrs keeps the global addresses inside the mesh ranges that are not
// on a loopback interface, sorted and without duplicates (a node carries
// the same address on every veth).
func meshAddrs(addrs []netlink.Addr, loopback map[int]bool) []netip.Addr {
	var out []netip.Addr
	for _, a := range addrs {
		if a.IPNet == nil || loopback[a.LinkIndex] || a.Scope != unix.RT_SCOPE_UNIVERSE {
			continue
		}
		ip, ok := netip.AddrFromSlice(a.IP)
		if !ok {
			continue
		}
		ip = ip.Unmap()
		if inMesh(ip) && !slices.Contains(out, ip) {
			out = append(out, ip)
		}
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return out
}

func inMesh(ip netip.Addr) bool {
	return slices.ContainsFunc(meshRanges, func(p netip.Prefix) bool { return p.Contains(ip) })
}

// routePrefix is a route's destination; a route without one is a default
// route of its family.
func routePrefix(r netlink.Route) netip.Prefix {
	if r.Dst != nil {
		if ip, ok := netip.AddrFromSlice(r.Dst.IP); ok {
			ones, _ := r.Dst.Mask.Size()
			return netip.PrefixFrom(ip, ones).Masked()
		}
	}
	if r.Family == unix.AF_INET6 {
		return netip.PrefixFrom(netip.IPv6Unspecified(), 0)
	}
	return netip.PrefixFrom(netip.IPv4Unspecified(), 0)
}

// routeTable answers longest-prefix-match questions over a set of routes.
type routeTable struct {
	types map[netip.Prefix]int // prefix -> route type (unix.RTN_*)
	bits  []int                // the prefix lengths present, longest first
}

func (t *routeTable) add(p netip.Prefix, typ int) {
	if t.types == nil {
		t.types = map[netip.Prefix]int{}
	}
	if _, dup := t.types[p]; dup {
		// The same prefix in two tables: a usable route wins.
		if typ != unix.RTN_UNICAST {
			return
		}
	}
	t.types[p] = typ
	if !slices.Contains(t.bits, p.Bits()) {
		t.bits = append(t.bits, p.Bits())
		slices.SortFunc(t.bits, func(a, b int) int { return b - a })
	}
}

func (t *routeTable) len() int { return len(t.types) }

// reaches says whether the longest route covering dst is unicast.
func (t *routeTable) reaches(dst netip.Addr) bool {
	for _, b := range t.bits {
		if b > dst.BitLen() {
			continue
		}
		p, err := dst.Prefix(b)
		if err != nil {
			continue
		}
		if typ, ok := t.types[p]; ok {
			return typ == unix.RTN_UNICAST
		}
	}
	return false
}

// Wait polls Status every interval until every node has a route to every
// other (it then returns the status and nil), until ctx ends (the last
// status and ctx's error), or until progress returns an error (the last
// status and that error). progress, when not nil, sees every status read.
func (l Lab) Wait(ctx context.Context, interval time.Duration, progress func(*Status) error) (*Status, error) {
	return l.WaitUntil(ctx, interval, func(st *Status) bool { return st.Full }, progress)
}

// WaitUntil is Wait for another condition: it returns once done says so.
func (l Lab) WaitUntil(ctx context.Context, interval time.Duration, done func(*Status) bool, progress func(*Status) error) (*Status, error) {
	if interval <= 0 {
		interval = 500 * time.Millisecond
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		st, err := l.Status()
		if err != nil {
			return nil, err
		}
		if progress != nil {
			if err := progress(st); err != nil {
				return st, err
			}
		}
		if done(st) {
			return st, nil
		}
		select {
		case <-ctx.Done():
			return st, ctx.Err()
		case <-t.C:
		}
	}
}
