package node

import (
	"bytes"
	"math"
	"net/netip"
	"slices"
	"sort"
	"time"

	"github.com/ntkd/ntkd/internal/geo"
	"github.com/ntkd/ntkd/internal/radar"
	"github.com/ntkd/ntkd/internal/wire"
)

// The Viphilama map (seed 002; docs/VLAYER.md "The Viphilama map"). A
// vnode that can anchor others (it has an Internet endpoint and its
// coordinates) says so with SetVnode. Every element of level L announces
// in its floods of level L the multi-barycenter of the vnodes inside it:
// up to wire.MaxVnodePoints points, one per cluster of vnodes, each with
// how many vnodes it stands for and the position below L of the vnode
// nearest its barycenter. So a node knows, per level, where the vnodes of
// every element it has a route to are, as coarsely as that element is far,
// and a virtual hook request is carried level by level to the vnode nearest
// the asker (SendVHookRoute).

// ClusterKm is the distance within which vnodes count as one cluster of a
// multi-barycenter. A protocol constant, not a setting: every member of
// an element must compute the same points, or their floods would disagree.
const ClusterKm = 200

// maxVHookInbox bounds the carried virtual hooks waiting for the daemon.
const maxVHookInbox = 32

// VHookDelivery is a carried virtual hook that stopped here: at the vnode
// nearest the asker that the map knows (Route.Flags without VRouteBack),
// or back at the entry node that took it (with VRouteBack). From is the
// node that sent it last (ROUTED's source; ours when it never left).
type VHookDelivery struct {
	Route wire.VHookRoute
	From  netip.Addr
}

// SetVnode makes the node a vnode of the Viphilama map at lat, lon
// (microdegrees), or takes it off the map with on false. The change goes
// out with the next round.
func (n *Node) SetVnode(now time.Duration, on bool, lat, lon int32) {
	n.now = now
	if n.vnode == on && (!on || n.vLat == lat && n.vLon == lon) {
		return
	}
	n.vnode, n.vLat, n.vLon = on, lat, lon
	n.vpVersion++
	n.Tick(now)
}

// vnodePointsIn is the multi-barycenter of the vnodes inside our element
// of level l, with positions below l: what our floods of level l announce.
// Every member of the element computes the same points once the levels
// below settled.
func (n *Node) vnodePointsIn(l int) []wire.VnodePoint {
	ps := n.ownVnodePoint()
	for k := 1; k <= l; k++ {
		ps = n.vnodePointsAbove(k, ps)
	}
	return ps
}

// ownVnodePoint is our own point: the multi-barycenter of level 0.
func (n *Node) ownVnodePoint() []wire.VnodePoint {
	if !n.vnode {
		return nil
	}
	return []wire.VnodePoint{{Lat: n.vLat, Lon: n.vLon, Count: 1}}
}

// vnodePointsAbove is the multi-barycenter of our element of level l from
// ours of level l-1 (below) and those the other elements of level l-1
// announce.
func (n *Node) vnodePointsAbove(l int, below []wire.VnodePoint) []wire.VnodePoint {
	k := l - 1
	var all []wire.VnodePoint
	for _, p := range below {
		p.Position[k] = n.pos[k]
		all = append(all, p)
	}
	m := n.maps.Levels[k]
	for id, ps := range n.lv[k].vps {
		if id == n.pos[k] || m.Len(id) == 0 {
			continue
		}
		for _, p := range ps {
			p.Position[k] = id
			all = append(all, p)
		}
	}
	return clusterPoints(all, l)
}

// clusterPoints groups points (positions below l) into at most
// wire.MaxVnodePoints clusters: each point joins the first cluster whose
// barycenter is within ClusterKm, and when that makes too many clusters
// the distance doubles and the grouping starts again. The order is fixed
// first (most vnodes, then position), so every node that has the same
// points gets the same clusters. A cluster is its barycenter (weighted by
// the points' counts), its count, and the position of its point nearest
// the barycenter. Longitudes are averaged as numbers: a cluster across
// the antimeridian is placed wrong, a cost the Pacific's few routers can
// bear.
func clusterPoints(all []wire.VnodePoint, l int) []wire.VnodePoint {
	if len(all) == 0 {
		return nil
	}
	// sort, not slices: one generic sort less in the router binary.
	sort.Slice(all, func(i, j int) bool {
		a, b := &all[i], &all[j]
		if a.Count != b.Count {
			return a.Count > b.Count
		}
		return bytes.Compare(a.Position[:l], b.Position[:l]) < 0
	})
	type cluster struct {
		lat, lon, count int64
		first, n        int // members: the points assigned to it, in order
	}
	which := make([]int, len(all))
	var cs []cluster
	for km := float64(ClusterKm); ; km *= 2 {
		limit := geo.HavOfKm(km)
		if km >= math.Pi*geo.EarthRadiusKm {
			limit = 2 // the whole Earth: one cluster takes every point
		}
		cs = cs[:0]
		ok := true
		for i := range all {
			p := &all[i]
			c := -1
			for j := range cs {
				if geo.Hav(int32(cs[j].lat/cs[j].count), int32(cs[j].lon/cs[j].count), p.Lat, p.Lon) <= limit {
					c = j
					break
				}
			}
			if c < 0 {
				if len(cs) == wire.MaxVnodePoints {
					ok = false
					break
				}
				cs = append(cs, cluster{})
				c = len(cs) - 1
			}
			w := int64(p.Count)
			cs[c].lat, cs[c].lon, cs[c].count = cs[c].lat+int64(p.Lat)*w, cs[c].lon+int64(p.Lon)*w, cs[c].count+w
			which[i] = c
		}
		if ok {
			break
		}
	}
	out := make([]wire.VnodePoint, len(cs))
	best := make([]float64, len(cs))
	for j := range cs {
		out[j] = wire.VnodePoint{Lat: int32(cs[j].lat / cs[j].count), Lon: int32(cs[j].lon / cs[j].count), Count: uint16(min(cs[j].count, 0xffff))}
		best[j] = 2
	}
	// The point nearest each barycenter names it; ties go to the first in
	// the fixed order.
	for i := range all {
		j := which[i]
		if h := geo.Hav(out[j].Lat, out[j].Lon, all[i].Lat, all[i].Lon); h < best[j] {
			best[j] = h
			out[j].Position = all[i].Position
		}
	}
	return out
}

// learnVnodes keeps what the newest flood of origin at level l says of the
// vnodes inside it.
func (n *Node) learnVnodes(l int, origin uint8, ps []wire.VnodePoint) {
	lv := &n.lv[l]
	old := lv.vps[origin]
	if slices.Equal(old, ps) {
		return
	}
	if len(ps) == 0 {
		delete(lv.vps, origin)
	} else {
		if lv.vps == nil {
			lv.vps = map[uint8][]wire.VnodePoint{}
		}
		lv.vps[origin] = append(old[:0:0], ps...)
	}
	n.vpVersion++
}

// checkVnodes asks for a round at every level whose multi-barycenter
// changed since our last floods there. Called from Tick: cheap unless the
// routes or the map changed.
func (n *Node) checkVnodes() {
	v := n.vpVersion + n.routesVersion
	if v == n.vpChecked {
		return
	}
	n.vpChecked = v
	var now []wire.VnodePoint
	for l := range n.lv {
		// One level from the one below: each clustering once.
		if l == 0 {
			now = n.ownVnodePoint()
		} else {
			now = n.vnodePointsAbove(l, now)
		}
		lv := &n.lv[l]
		if slices.Equal(now, lv.vAnnounced) {
			continue
		}
		lv.vAnnounced = now
		if lv.vAnnouncedOnce || len(now) > 0 {
			n.want(l, false, "vnodes changed")
		}
		lv.vAnnouncedOnce = true
	}
}

// VnodePoint is one point of the Viphilama map as the node sees it.
type VnodePoint struct {
	Level    int        // of the element it belongs to (0: a single vnode)
	Addr     netip.Addr // the vnode a request for it is carried to
	Lat, Lon int32
	Count    int // vnodes it stands for
}

// VnodeMap appends every point of the Viphilama map the node has a route
// to (not its own) to dst.
func (n *Node) VnodeMap(dst []VnodePoint) []VnodePoint {
	if n.state != Hooked {
		return dst
	}
	n.eachVnodePoint(len(n.lv), func(l int, a netip.Addr, p *wire.VnodePoint) {
		dst = append(dst, VnodePoint{Level: l, Addr: a, Lat: p.Lat, Lon: p.Lon, Count: int(p.Count)})
	})
	return dst
}

// eachVnodePoint calls fn for every point other elements of the levels
// below below announce, with the address of the vnode that names it.
func (n *Node) eachVnodePoint(below int, fn func(l int, a netip.Addr, p *wire.VnodePoint)) {
	for l := 0; l < below && l < len(n.lv); l++ {
		m := n.maps.Levels[l]
		for id, ps := range n.lv[l].vps {
			if id == n.pos[l] {
				continue
			}
			if _, ok := m.Best(id); !ok {
				continue
			}
			for i := range ps {
				p := n.pos
				p[l] = id
				copy(p[:l], ps[i].Position[:l])
				a, err := n.cfg.Scheme.Addr(p)
				if err != nil {
					continue
				}
				fn(l, a, &ps[i])
			}
		}
	}
}

// nearestVnode is the point of the map nearest to (lat, lon) among the
// elements of the levels below below (inside our element of level below)
// and ourselves when we are a vnode, skipping the addresses in exclude.
// Ties go to the lower address, the same choice on every node with the
// same map. self says we are the nearest.
func (n *Node) nearestVnode(lat, lon int32, below int, exclude []netip.Addr) (level int, target netip.Addr, self, ok bool) {
	level, target, p, self := n.nearestVnodePoint(lat, lon, below, exclude)
	return level, target, self, self || p != nil
}

// nearestVnodePoint is nearestVnode with the point found (nil when it is
// ourselves, or none).
func (n *Node) nearestVnodePoint(lat, lon int32, below int, exclude []netip.Addr) (level int, target netip.Addr, point *wire.VnodePoint, self bool) {
	best := 2.0
	if n.vnode && !slices.Contains(exclude, n.ip) {
		best, target, self = geo.Hav(n.vLat, n.vLon, lat, lon), n.ip, true
	}
	n.eachVnodePoint(below, func(l int, a netip.Addr, p *wire.VnodePoint) {
		if n.hidden(l, a, p, exclude) {
			return
		}
		h := geo.Hav(p.Lat, p.Lon, lat, lon)
		if h < best || h == best && a.Less(target) {
			best, level, target, point, self = h, l, a, p, false
		}
	})
	return level, target, point, self
}

// hidden says whether point p of the map, of level l and for the vnode at
// a, is out of a request's reach: that vnode is excluded and, for an
// element's point, so are as many vnodes inside the element as the point
// stands for. An element whose representative is in an anchor chain can
// hold the chain's next vnode: the request goes in, and the first node
// inside looks at its finer map.
func (n *Node) hidden(l int, a netip.Addr, p *wire.VnodePoint, exclude []netip.Addr) bool {
	if !slices.Contains(exclude, a) {
		return false
	}
	pa, err := n.cfg.Scheme.Position(a)
	if l == 0 || p.Count < 2 || err != nil {
		return true
	}
	out := 0
	for _, e := range exclude {
		if pe, err := n.cfg.Scheme.Position(e); err == nil && n.cfg.Scheme.SameGnode(pa, pe, l) {
			out++
		}
	}
	return out >= int(p.Count)
}

// SendVHookRoute carries a virtual hook request (seed 002): with
// VRouteBack to rt.Origin; otherwise to the vnode of the map nearest
// rt's coordinates, skipping rt.Exclude, through the gnodes of each level
// down to the node. It reports false when there is no such vnode, or the
// request has been passed on too often. When the nearest is this node, or
// Origin is, the delivery is ours: VHookRoutes returns it.
func (n *Node) SendVHookRoute(now time.Duration, rt *wire.VHookRoute) bool {
	n.now = now
	if n.state != Hooked || rt.Flags&wire.VRouteCoords == 0 || rt.Origin.Is4() != n.ip.Is4() {
		return false
	}
	if rt.Flags&wire.VRouteBack != 0 {
		if rt.Origin == n.ip {
			n.keepVHook(rt, n.ip)
			return true
		}
		n.carryVHook(rt, 0, rt.Origin)
		return true
	}
	if int(rt.Hops) >= wire.MaxVRouteHops {
		return false
	}
	l, target, self, ok := n.nearestVnode(rt.Lat, rt.Lon, len(n.lv), rt.Exclude)
	if !ok {
		return false
	}
	if self {
		n.keepVHook(rt, n.ip)
		return true
	}
	rt.Hops++
	n.carryVHook(rt, l, target)
	return true
}

// VHookRoutes hands the carried virtual hooks that stopped here to the
// daemon, and forgets them.
func (n *Node) VHookRoutes() []VHookDelivery {
	out := n.vinbox
	n.vinbox = nil
	return out
}

// carryVHook wraps rt in ROUTED for the element of level l holding target.
func (n *Node) carryVHook(rt *wire.VHookRoute, l int, target netip.Addr) {
	inner := n.encode(0, rt)
	if inner == nil {
		return
	}
	n.route(&wire.Routed{TTL: wire.MaxRoutedTTL, Level: uint8(l), Dst: target, Src: n.ip, Inner: inner})
}

// keepVHook queues a copy of rt (the decoded one aliases a packet) for
// the daemon, up to maxVHookInbox.
func (n *Node) keepVHook(rt *wire.VHookRoute, from netip.Addr) {
	if len(n.vinbox) >= maxVHookInbox {
		n.Stats.drop("VHOOK_ROUTE: too many waiting")
		return
	}
	c := *rt
	c.Exclude = slices.Clone(rt.Exclude)
	c.Body = slices.Clone(rt.Body)
	n.vinbox = append(n.vinbox, VHookDelivery{Route: c, From: from})
}

// deliverVHook takes a carried virtual hook that reached the element of
// level r.Level it was sent to: the nearest point inside that element is
// looked up in our finer map, and it goes on one level down at least, or
// stops here.
func (n *Node) deliverVHook(r *wire.Routed, rt *wire.VHookRoute) {
	if rt.Origin.Is4() != n.ip.Is4() {
		n.Stats.drop("VHOOK_ROUTE: wrong address family")
		return
	}
	if rt.Flags&wire.VRouteBack != 0 {
		if rt.Origin != n.ip {
			n.Stats.drop("VHOOK_ROUTE: back, not for us")
			return
		}
		n.keepVHook(rt, r.Src)
		return
	}
	if r.Level == 0 || int(rt.Hops) >= wire.MaxVRouteHops {
		n.keepVHook(rt, r.Src)
		return
	}
	l, target, self, ok := n.nearestVnode(rt.Lat, rt.Lon, int(r.Level), rt.Exclude)
	if !ok || self {
		n.keepVHook(rt, r.Src)
		return
	}
	rt.Hops++
	n.carryVHook(rt, l, target)
}

// NearVnodeToLink is seed 002's rule for near vnodes that vhooked at
// once: each hooked elsewhere before the map knew the other, and the next
// rounds show that each is the other's nearest. It returns that vnode
// when we are the one to open a vlink to it: it is the nearest point of
// our map and a single vnode, no point of our map is nearer to it than we
// are, our address is the smaller, and nothing links us yet (it is not
// our neighbour, and our route to it crosses a tunnel).
func (n *Node) NearVnodeToLink() (netip.Addr, bool) {
	if n.state != Hooked || !n.vnode {
		return netip.Addr{}, false
	}
	_, ga, g, _ := n.nearestVnodePoint(n.vLat, n.vLon, len(n.lv), []netip.Addr{n.ip})
	if g == nil || g.Count != 1 || !n.ip.Less(ga) {
		return netip.Addr{}, false
	}
	mine := geo.Hav(n.vLat, n.vLon, g.Lat, g.Lon)
	mutual := true
	n.eachVnodePoint(len(n.lv), func(_ int, a netip.Addr, p *wire.VnodePoint) {
		if a != ga && geo.Hav(p.Lat, p.Lon, g.Lat, g.Lon) < mine {
			mutual = false
		}
	})
	if !mutual || n.PhysicalRoute(ga) {
		return netip.Addr{}, false
	}
	for _, nb := range n.radar.Neighbours() {
		if nb.Addr == ga {
			return netip.Addr{}, false
		}
	}
	return ga, true
}

// PhysicalNeighbours appends to dst the addresses of the hooked neighbours
// alive over physical links (not tunnels): where seed 002's gate hooking
// looks for other gates.
func (n *Node) PhysicalNeighbours(dst []netip.Addr) []netip.Addr {
	if n.state != Hooked {
		return dst
	}
	for _, nb := range n.radar.Neighbours() {
		if nb.State == radar.Alive && !nb.Hooking && nb.Addr.IsValid() && !n.Virtual(nb.Iface) && !slices.Contains(dst, nb.Addr) {
			dst = append(dst, nb.Addr)
		}
	}
	return dst
}
