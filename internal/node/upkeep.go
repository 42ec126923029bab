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
// A tunnel over which no neighbour has answered for DeadSteps Steps (seed
// 000 §4: the vrnode died, or the Internet path to it) is dead: it is torn
// down, and made again after a wait that doubles at each failure, up to
// MaxRetrySteps, so that a vrnode that comes back is found again without
// keeping a tunnel to nowhere alive meanwhile.
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
	// DeadSteps is the number of Steps with no neighbour over a tunnel
	// before it is dead. 0 means 12 (a minute at the daemon's 5 s).
	DeadSteps int
	// MaxRetrySteps bounds the wait before a dead tunnel is made again.
	// 0 means 120 (10 minutes at 5 s).
	MaxRetrySteps int

	redundant map[int]int          // iface -> Steps in a row found redundant
	down      map[int][]netip.Addr // iface -> the neighbours it led to
	silent    map[int]int          // iface -> Steps in a row with no neighbour
	dead      map[int]int          // iface -> Steps left before it is made again
	wait      map[int]int          // iface -> the wait after its next death
}

// Actions is what one Step asks of the caller.
type Actions struct {
	Shed    []int // take down: a physical path replaces it
	Restore []int // make again: that path went
	Dead    []int // take down: nobody answers over it
	Retry   []int // make again: its wait after dying is over
}

// Step returns what to do with the tunnels.
func (u *TunnelUpkeep) Step(n *Node) Actions {
	if u.redundant == nil {
		u.redundant, u.down = map[int]int{}, map[int][]netip.Addr{}
		u.silent, u.dead, u.wait = map[int]int{}, map[int]int{}, map[int]int{}
	}
	var a Actions
	a.Shed, a.Restore = u.shed(n)
	a.Dead, a.Retry = u.liveness(n)
	return a
}

// liveness finds dead tunnels and those to try again.
func (u *TunnelUpkeep) liveness(n *Node) (dead, retry []int) {
	deadSteps, maxWait := u.DeadSteps, u.MaxRetrySteps
	if deadSteps <= 0 {
		deadSteps = 12
	}
	if maxWait <= 0 {
		maxWait = 120
	}
	for iface, left := range u.dead {
		if left > 1 {
			u.dead[iface] = left - 1
			continue
		}
		delete(u.dead, iface)
		u.silent[iface] = 0
		retry = append(retry, iface)
	}
	for iface, virtual := range n.virtual {
		_, shed := u.down[iface]
		_, isDead := u.dead[iface]
		if !virtual || shed || isDead || slices.Contains(retry, iface) {
			continue
		}
		if len(n.tunnelPeers(iface)) > 0 {
			u.silent[iface] = 0
			delete(u.wait, iface) // alive again: the next death waits the least
			continue
		}
		u.silent[iface]++
		if u.silent[iface] < deadSteps {
			continue
		}
		w := max(u.wait[iface], deadSteps)
		u.dead[iface] = w
		u.wait[iface] = min(2*w, maxWait)
		dead = append(dead, iface)
	}
	slices.Sort(dead)
	slices.Sort(retry)
	return dead, retry
}

// shed finds the tunnels a physical path replaced and those whose path
// went.
func (u *TunnelUpkeep) shed(n *Node) (down, up []int) {
	for iface, peers := range u.down {
		for _, a := range peers {
			if !n.PhysicalRoute(a) {
				up = append(up, iface)
				delete(u.down, iface)
				u.silent[iface] = 0
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
			delete(u.silent, iface)
			u.down[iface] = n.tunnelPeers(iface)
			down = append(down, iface)
		}
	}
	slices.Sort(down)
	slices.Sort(up)
	return down, up
}

// Forget drops what the upkeep knows of a tunnel (it was removed from the
// configuration).
func (u *TunnelUpkeep) Forget(iface int) {
	delete(u.redundant, iface)
	delete(u.down, iface)
	delete(u.silent, iface)
	delete(u.dead, iface)
	delete(u.wait, iface)
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
