package sim

import (
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/ntkd/ntkd/internal/node"
	"github.com/ntkd/ntkd/internal/wire"
)

// Report is what a run shows: convergence, traffic by packet type, routes
// and memory per node. `ntkd sim --json` prints it.
type Report struct {
	Topology       string            `json:"topology"`
	Nodes          int               `json:"nodes"`
	Links          int               `json:"links"`
	Seed           uint64            `json:"seed"`
	Converged      bool              `json:"converged"`
	ConvergenceS   float64           `json:"convergence_s"` // virtual time of the last route change
	VirtualS       float64           `json:"virtual_s"`
	WallS          float64           `json:"wall_s"`
	Events         uint64            `json:"events"`
	Hooked         int               `json:"hooked"`
	GnodesPerLevel []int             `json:"gnodes_per_level"` // distinct gnodes of level 1, 2, ...
	Packets        map[string]uint64 `json:"packets"`
	Bytes          map[string]uint64 `json:"bytes"`
	QSPNPackets    uint64            `json:"qspn_packets"` // tracer + close + open
	QSPNBytes      uint64            `json:"qspn_bytes"`
	RoutesMax      int               `json:"kernel_routes_max"`
	RoutesMean     float64           `json:"kernel_routes_mean"`
	MapBytes       int               `json:"map_bytes_per_node"`
	Lost           uint64            `json:"lost_packets"`
	Rehooks        uint64            `json:"rehooks"`
	Created        uint64            `json:"gnodes_created"` // by routers that found nobody to join
	Drops          map[string]uint64 `json:"drops"`          // packets nodes refused, by reason
}

// Report summarises the run so far.
func (s *Sim) Report(name string, wall time.Duration, converged bool) *Report {
	r := &Report{
		Topology: name, Nodes: len(s.nodes), Links: len(s.links), Seed: s.opt.Seed,
		Converged: converged, ConvergenceS: s.LastChange.Seconds(), VirtualS: s.now.Seconds(),
		WallS: wall.Seconds(), Events: s.C.Events, Lost: s.C.Lost,
		Packets: map[string]uint64{}, Bytes: map[string]uint64{}, Drops: map[string]uint64{},
	}
	for _, sn := range s.nodes {
		st := &sn.n.Stats
		r.Rehooks += st.Rehooks
		r.Created += st.Created
		for k, v := range st.Dropped {
			r.Drops[k] += v
		}
		for k, v := range st.RehookWhy {
			r.Drops["rehook: "+k] += v
		}
		for k, v := range st.RoundsWanted {
			r.Drops["round wanted: "+k] += v
		}
	}
	for op := range s.C.Packets {
		if s.C.Packets[op] == 0 {
			continue
		}
		name := wire.Op(op).String()
		r.Packets[name] = s.C.Packets[op]
		r.Bytes[name] = s.C.Bytes[op]
		switch wire.Op(op) {
		case wire.OpTracerPkt, wire.OpQSPNClose, wire.OpQSPNOpen:
			r.QSPNPackets += s.C.Packets[op]
			r.QSPNBytes += s.C.Bytes[op]
		}
	}
	var rs []node.Route
	total := 0
	levels := 0
	gnodes := []map[string]bool{}
	for _, sn := range s.nodes {
		if !sn.alive || sn.n.State() != node.Hooked {
			continue
		}
		r.Hooked++
		rs = sn.n.Routes(rs[:0])
		total += len(rs)
		r.RoutesMax = max(r.RoutesMax, len(rs))
		r.MapBytes = max(r.MapBytes, sn.n.Maps().Footprint())
		pos := sn.n.Position()
		levels = len(sn.n.Maps().Levels)
		for len(gnodes) < levels-1 {
			gnodes = append(gnodes, map[string]bool{})
		}
		for l := 1; l < levels; l++ {
			gnodes[l-1][fmt.Sprint(pos[l:levels])] = true
		}
	}
	for _, g := range gnodes {
		r.GnodesPerLevel = append(r.GnodesPerLevel, len(g))
	}
	if r.Hooked > 0 {
		r.RoutesMean = float64(total) / float64(r.Hooked)
	}
	return r
}

// Print writes the report for people.
func (r *Report) Print(w io.Writer) {
	fmt.Fprintf(w, "topology     %s, %d nodes, %d links, seed %d\n", r.Topology, r.Nodes, r.Links, r.Seed)
	state := "converged"
	if !r.Converged {
		state = "NOT converged"
	}
	fmt.Fprintf(w, "%-12s last route change at %.1fs virtual (run %.1fs virtual, %.2fs wall, %d events)\n", state, r.ConvergenceS, r.VirtualS, r.WallS, r.Events)
	fmt.Fprintf(w, "hooked       %d of %d; gnodes per level %v\n", r.Hooked, r.Nodes, r.GnodesPerLevel)
	fmt.Fprintf(w, "routes       kernel routes per node: max %d, mean %.1f; maps %d bytes per node\n", r.RoutesMax, r.RoutesMean, r.MapBytes)
	fmt.Fprintf(w, "qspn         %d packets, %d bytes (tracer + close + open)\n", r.QSPNPackets, r.QSPNBytes)
	names := make([]string, 0, len(r.Packets))
	for n := range r.Packets {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-18s %10d packets %12d bytes\n", n, r.Packets[n], r.Bytes[n])
	}
	if r.Lost > 0 {
		fmt.Fprintf(w, "lost         %d packets\n", r.Lost)
	}
	fmt.Fprintf(w, "rehooks      %d (id collisions lost); %d gnodes created by routers that found nobody to join\n", r.Rehooks, r.Created)
	drops := make([]string, 0, len(r.Drops))
	for k := range r.Drops {
		drops = append(drops, k)
	}
	sort.Strings(drops)
	for _, k := range drops {
		fmt.Fprintf(w, "  dropped %-30s %d\n", k, r.Drops[k])
	}
}
