package node

import (
	"net/netip"
	"slices"
)

// TunnelUpkeep removes tunnels that physical paths have replaced and brings
// them back when those paths go (seed 002, "Removal of virtual links"). It
// decides only; the caller takes the tunnel down or up (the daemon removes
// or makes the WireGuard device, the simulator switches the link). Both
// call Step at a steady pace, every few seconds.
//
// A tunnel goes once every neighbour over it has been reached over physical
// links only (PhysicalRoute) at ShedAfter Steps in a row, so that routes
// still settling after a new link do not make it flap. While it is down
// the addresses of those neighbours are kept; it comes back at the first
// Step that no longer finds a physical route to one of them.
type TunnelUpkeep struct {
	// ShedAfter is the number of Steps in a row a tunnel must be redundant
	// before it goes. 0 means 2.
	ShedAfter int

	redundant map[int]int          // iface -> Steps in a row found redundant
	down      map[int][]netip.Addr // iface -> the neighbours it led to
}

// Step returns the tunnels to take down and those to bring back.
func (u *TunnelUpkeep) Step(n *Node) (down, up []int) {
	if u.redundant == nil {
		u.redundant, u.down = map[int]int{}, map[int][]netip.Addr{}
	}
	for iface, peers := range u.down {
		for _, a := range peers {
			if !n.PhysicalRoute(a) {
				up = append(up, iface)
				delete(u.down, iface)
				break
			}
		}
	}
	after := u.ShedAfter
	if after <= 0 {
		after = 2
	}
	now := n.RedundantTunnels(nil)
	for iface := range u.redundant {
		if !slices.Contains(now, iface) {
			delete(u.redundant, iface)
		}
	}
	for _, iface := range now {
		u.redundant[iface]++
		if u.redundant[iface] >= after {
			delete(u.redundant, iface)
			u.down[iface] = n.tunnelPeers(iface)
			down = append(down, iface)
		}
	}
	slices.Sort(down)
	slices.Sort(up)
	return down, up
}

// Down lists the tunnels the upkeep holds down, in order.
func (u *TunnelUpkeep) Down() []int {
	out := make([]int, 0, len(u.down))
	for iface := range u.down {
		out = append(out, iface)
	}
	slices.Sort(out)
	return out
}

// Forget drops what the upkeep knows of a tunnel (it was removed from the
// configuration).
func (u *TunnelUpkeep) Forget(iface int) {
	delete(u.redundant, iface)
	delete(u.down, iface)
}

// RedundantTunnels appends to dst the virtual interfaces with at least one
// hooked neighbour, every one of which the node also reaches over physical
// links only (PhysicalRoute).
func (n *Node) RedundantTunnels(dst []int) []int {
	if n.state != Hooked {
		return dst
	}
	for iface, virtual := range n.virtual {
		if !virtual {
			continue
		}
		peers := n.tunnelPeers(iface)
		ok := len(peers) > 0
		for _, a := range peers {
			ok = ok && n.PhysicalRoute(a)
		}
		if ok {
			dst = append(dst, iface)
		}
	}
	return dst
}

// tunnelPeers are the addresses of the hooked neighbours over iface.
func (n *Node) tunnelPeers(iface int) []netip.Addr {
	var out []netip.Addr
	for _, nb := range n.radar.Neighbours() {
		if nb.Iface == iface && n.usable(nb) {
			out = append(out, nb.Addr)
		}
	}
	return out
}
