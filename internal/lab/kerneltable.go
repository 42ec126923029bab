package lab

import (
	"fmt"
	"net"
	"net/netip"
	"slices"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// KernelTable is what one node's namespace holds for forwarding: its mesh
// addresses, the administrative state of its interfaces and its proto ntk
// routes with every next hop. Status only counts routes; KernelTable lets a
// caller forward a packet hop by hop on the kernel's own tables (the chaos
// soak does, bench/chaos).
type KernelTable struct {
	Node  string       `json:"node"`
	PID   int          `json:"pid"`   // the daemon's, 0 when it is not running
	Addrs []netip.Addr `json:"addrs"` // mesh addresses, sorted
	// Address is the node's mesh address: of Addrs the one on the most
	// interfaces that are up (the lowest of equals). A crashed daemon's
	// address stays on an interface that is down until the interface
	// comes up again and the restarted daemon removes it, so the lowest
	// of Addrs can be a stale one. Invalid when Addrs is empty.
	Address netip.Addr      `json:"address"`
	LinkUp  map[string]bool `json:"links_up"` // interface name -> administratively up
	Routes  []KernelRoute   `json:"routes"`
}

// KernelRoute is one route: its destination, kernel type (unix.RTN_*:
// unicast, unreachable, ...) and next hops, as the kernel holds them.
type KernelRoute struct {
	Dst  netip.Prefix `json:"dst"`
	Type int          `json:"type"`
	Hops []KernelHop  `json:"hops"`
}

// KernelHop is a next hop: the gateway address, the interface it leaves by
// (in a lab named after the peer node) and its weight, 1..256 (a
// single-path route has weight 1).
type KernelHop struct {
	Via    netip.Addr `json:"via"`
	Dev    string     `json:"dev"`
	Weight int        `json:"weight"`
}

// Unicast says whether the route forwards (rather than rejecting).
func (r *KernelRoute) Unicast() bool { return r.Type == unix.RTN_UNICAST }

// Best is the next hop of the highest weight (the first of equals): ntkd
// gives its best route the highest weight. ok is false without hops.
func (r *KernelRoute) Best() (h KernelHop, ok bool) {
	for i, x := range r.Hops {
		if i == 0 || x.Weight > h.Weight {
			h = x
		}
	}
	return h, len(r.Hops) > 0
}

// Lookup returns the route the kernel would choose for dst among t's
// proto ntk routes: the longest prefix containing it; nil when none does.
// Other routes of the namespace (connected, local) are not in the table:
// in a lab the mesh addresses are /32s on the veths, so only ntkd's routes
// lead anywhere.
func (t *KernelTable) Lookup(dst netip.Addr) *KernelRoute {
	var best *KernelRoute
	for i := range t.Routes {
		r := &t.Routes[i]
		if r.Dst.Contains(dst) && (best == nil || r.Dst.Bits() > best.Dst.Bits()) {
			best = r
		}
	}
	return best
}

// KernelTable reads node's namespace: its mesh addresses, interfaces and
// the routes of the lab's protocol (proto ntk unless Lab.Protocol says
// otherwise) in every table, with their next hops. It reads the kernel
// whether or not the node's daemon runs: a crashed daemon's routes stay.
func (l Lab) KernelTable(node string) (*KernelTable, error) {
	s, err := l.Load()
	if err != nil {
		return nil, err
	}
	n, err := s.Node(node)
	if err != nil {
		return nil, err
	}
	return readKernelTable(n, l.protocol())
}

// KernelTables reads every node's namespace as KernelTable does, in the
// order of the lab's nodes.
func (l Lab) KernelTables() ([]*KernelTable, error) {
	s, err := l.Load()
	if err != nil {
		return nil, err
	}
	out := make([]*KernelTable, len(s.Nodes))
	for i := range s.Nodes {
		if out[i], err = readKernelTable(&s.Nodes[i], l.protocol()); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func readKernelTable(n *Node, proto netlink.RouteProtocol) (*KernelTable, error) {
	d, err := dumpKernel(n.Namespace, proto)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", n.Name, err)
	}
	t := &KernelTable{Node: n.Name, PID: daemonPID(n), LinkUp: d.up, Addrs: d.mesh}
	t.Address = mainAddr(d.mesh, d.addrs, func(index int) bool { return d.up[d.names[index]] })
	for _, r := range d.routes {
		kr := KernelRoute{Dst: routePrefix(r), Type: r.Type}
		if len(r.MultiPath) > 0 {
			for _, nh := range r.MultiPath {
				kr.Hops = append(kr.Hops, KernelHop{Via: ipAddr(nh.Gw), Dev: d.names[nh.LinkIndex], Weight: nh.Hops + 1})
			}
		} else if r.Gw != nil || r.LinkIndex > 0 {
			kr.Hops = []KernelHop{{Via: ipAddr(r.Gw), Dev: d.names[r.LinkIndex], Weight: 1}}
		}
		t.Routes = append(t.Routes, kr)
	}
	slices.SortFunc(t.Routes, func(a, b KernelRoute) int {
		if c := a.Dst.Addr().Compare(b.Dst.Addr()); c != 0 {
			return c
		}
		return a.Dst.Bits() - b.Dst.Bits()
	})
	return t, nil
}

// mainAddr picks of mesh the address held on the most interfaces that are
// up, then on the most interfaces at all, then the lowest.
func mainAddr(mesh []netip.Addr, addrs []netlink.Addr, up func(index int) bool) netip.Addr {
	type count struct{ up, all int }
	counts := map[netip.Addr]*count{}
	for _, a := range mesh {
		counts[a] = &count{}
	}
	for _, a := range addrs {
		if a.IPNet == nil {
			continue
		}
		c := counts[ipAddr(a.IP)]
		if c == nil {
			continue
		}
		c.all++
		if up(a.LinkIndex) {
			c.up++
		}
	}
	var best netip.Addr
	for _, a := range mesh { // sorted: the first of equals is the lowest
		c, b := counts[a], counts[best]
		if b == nil || c.up > b.up || c.up == b.up && c.all > b.all {
			best = a
		}
	}
	return best
}

// ipAddr converts a gateway; the zero Addr when there is none.
func ipAddr(ip net.IP) netip.Addr {
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		return netip.Addr{}
	}
	return a.Unmap()
}
