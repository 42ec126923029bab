package daemon

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/ntkd/ntkd/internal/ctl"
	"github.com/ntkd/ntkd/internal/kernel"
	"github.com/ntkd/ntkd/internal/maps"
	"github.com/ntkd/ntkd/internal/radar"
	"github.com/ntkd/ntkd/internal/wifi"
	"github.com/ntkd/ntkd/internal/wire"
)

// Handle answers a control request (ctl.Handler); the answer is built in
// the event loop, so it sees one consistent state.
func (d *Daemon) Handle(ctx context.Context, req ctl.Request) (any, error) {
	if strings.HasPrefix(req.Cmd, "andna-") {
		return d.handleANDNA(ctx, req)
	}
	if req.Cmd == ctl.CmdEntryNodes { // not the loop's: entrylist.go keeps it
		return d.entries.answer(), nil
	}
	var out any
	var err error
	derr := d.Do(ctx, func() {
		switch req.Cmd {
		case ctl.CmdStatus:
			out = d.status()
		case ctl.CmdNeighbours:
			out = d.neighbours()
		case ctl.CmdMaps:
			out = d.levels(req.Level)
		case ctl.CmdRoutes:
			out, err = d.routes()
		case ctl.CmdQSPN:
			out = d.qspn()
		case ctl.CmdCounters:
			out = d.countersAnswer()
		case ctl.CmdVLinks:
			out = d.vlinks()
		case ctl.CmdGateways:
			out = d.gateways()
		case ctl.CmdVLinkAdd:
			out, err = d.addVLink(req.Arg, req.VLink)
		case ctl.CmdVLinkDel:
			out, err = d.delVLink(req.Arg)
		default:
			err = fmt.Errorf("unknown command %q (known: %s)", req.Cmd, strings.Join(ctl.Commands, ", "))
		}
	})
	if derr != nil {
		return nil, fmt.Errorf("daemon busy or stopping: %w", derr)
	}
	return out, err
}

func (d *Daemon) status() ctl.Status {
	st := ctl.Status{
		Version: d.opt.Version, PID: os.Getpid(), UptimeSec: time.Since(d.start).Seconds(),
		State: d.node.State().String(), Prefix: d.cfg.Address.Prefix.String(),
		Neighbours: len(d.node.Radar().Neighbours()), Routes: len(d.want),
		Gnodes: []ctl.Gnode{}, Interfaces: []ctl.Interface{},
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	st.Memory = ctl.Memory{
		HeapAlloc: ms.HeapAlloc, HeapSys: ms.HeapSys, HeapInuse: ms.HeapInuse, HeapReleased: ms.HeapReleased,
		Metadata:   ms.MSpanSys + ms.MCacheSys + ms.BuckHashSys + ms.GCSys + ms.OtherSys,
		StackInuse: ms.StackInuse, Sys: ms.Sys,
		Limit: debug.SetMemoryLimit(-1), GCCycles: ms.NumGC, Goroutines: runtime.NumGoroutine(),
	}
	if d.addr.IsValid() {
		st.Address = d.addr.Addr().String()
		pos := d.node.Position()
		for l := 0; l < d.scheme.Levels(); l++ {
			li := d.node.Level(l)
			st.Gnodes = append(st.Gnodes, ctl.Gnode{Level: l, ID: int(pos[l]), Nonce: li.Nonce, Members: li.Members})
		}
	}
	for _, ifc := range d.ifaces {
		if ifc.removed {
			continue
		}
		kind := "wired"
		if d.wifi != nil {
			kind = d.wifi.Kind(ifc.name).String()
		}
		st.Interfaces = append(st.Interfaces, ctl.Interface{Name: ifc.name, Index: ifc.index, Up: ifc.active, Kind: kind})
	}
	return st
}

func (d *Daemon) neighbours() []ctl.Neighbour {
	out := []ctl.Neighbour{}
	for _, nb := range d.node.Radar().Neighbours() {
		n := ctl.Neighbour{
			Index: int(nb.Index), State: nb.State.String(), Hooking: nb.Hooking,
			RTTMicros: nb.RTT.Microseconds(), Loss: nb.Loss(), Cost: nb.Cost, Penalty: 1,
		}
		if nb.Iface >= 0 && nb.Iface < len(d.ifaces) {
			n.Interface = d.ifaces[nb.Iface].name
		}
		if nb.Addr.IsValid() {
			n.Address = nb.Addr.String()
		}
		if _, ll, ok := d.tr.PeerAddr(nb.Peer); ok {
			n.LinkLocal = ll.String()
		}
		if nb.Penalty > 0 {
			n.Penalty = float64(nb.Penalty) / 1024
		}
		if w, ok := d.wifiSeen[nb.Peer]; ok {
			n.Wifi = wifiAnswer(w.m)
		}
		out = append(out, n)
	}
	// sort.Slice shares one sorting algorithm among all types; slices.SortFunc
	// would add ~12 KB of router code for this one.
	sort.Slice(out, func(i, j int) bool { return out[i].Index < out[j].Index })
	return out
}

func wifiAnswer(m wifi.Metrics) *ctl.Wifi {
	return &ctl.Wifi{SignalDBm: m.Signal, TxBitrate: m.TxBitrate, RetryRatio: m.RetryRatio, FailRatio: m.FailRatio, InactiveMillis: m.Inactive.Milliseconds()}
}

func (d *Daemon) levels(only int) []ctl.Level {
	out := []ctl.Level{}
	if d.addr.IsValid() == false {
		return out
	}
	pos := d.node.Position()
	var buf []maps.Route
	for l, m := range d.node.Maps().Levels {
		if only >= 0 && l != only {
			continue
		}
		li := d.node.Level(l)
		lv := ctl.Level{Level: l, Round: li.Round, Settled: li.Settled, Nonce: li.Nonce, Members: li.Members, Elements: []ctl.Element{}}
		for id := 0; id < m.Size(); id++ {
			if m.Len(uint8(id)) == 0 {
				continue
			}
			p := pos
			p[l] = uint8(id)
			e := ctl.Element{ID: id, Routes: []ctl.MapRoute{}}
			if pf, err := d.scheme.ElementPrefix(p, l); err == nil {
				e.Prefix = pf.String()
			}
			buf = m.Routes(buf[:0], uint8(id))
			for _, r := range buf {
				mr := ctl.MapRoute{Rnode: int(r.Gw), Cost: r.Cost}
				if nb := d.node.Radar().ByIndex(r.Gw); nb != nil && nb.Addr.IsValid() {
					mr.Via = nb.Addr.String()
				}
				e.Routes = append(e.Routes, mr)
			}
			lv.Elements = append(lv.Elements, e)
		}
		out = append(out, lv)
	}
	return out
}

func (d *Daemon) routes() (ctl.Routes, error) {
	out := ctl.Routes{Table: int(d.cfg.Kernel.Table), Ours: []ctl.Route{}, Kernel: []ctl.Route{}, Missing: []string{}, Extra: []string{}}
	if out.Table == 0 {
		out.Table = 254
	}
	names := map[int]string{}
	for _, ifc := range d.ifaces {
		names[ifc.index] = ifc.name
	}
	conv := func(rs []kernel.Route, withCost bool) []ctl.Route {
		res := []ctl.Route{}
		for _, r := range rs {
			cr := ctl.Route{Dst: r.Dst.String(), Hops: []ctl.Hop{}}
			for i, h := range r.Nexthops {
				hop := ctl.Hop{Via: h.Gw.String(), Dev: names[h.LinkIndex], Weight: h.Weight}
				if c := d.wantCosts[r.Dst]; withCost && i < len(c) {
					hop.Cost = c[i]
				}
				cr.Hops = append(cr.Hops, hop)
			}
			res = append(res, cr)
		}
		return res
	}
	out.Ours = conv(d.want, true)
	inst, err := d.k.Installed()
	if err != nil {
		return out, fmt.Errorf("reading the kernel's routes: %w", err)
	}
	out.Kernel = conv(inst, false)
	have := map[string]bool{}
	for _, r := range inst {
		have[r.Dst.String()] = true
	}
	ours := map[string]bool{}
	for _, r := range d.want {
		ours[r.Dst.String()] = true
		if !have[r.Dst.String()] {
			out.Missing = append(out.Missing, r.Dst.String())
		}
	}
	for _, r := range inst {
		if !ours[r.Dst.String()] {
			out.Extra = append(out.Extra, r.Dst.String())
		}
	}
	return out, nil
}

func (d *Daemon) qspn() ctl.QSPN {
	st := d.node.Stats
	out := ctl.QSPN{
		WaitRoundSec: d.cfg.QSPN.WaitRound.Seconds(), Levels: []ctl.QSPNLevel{},
		RoundsWanted: copyMap(st.RoundsWanted), Rehooks: st.Rehooks, RehookWhy: copyMap(st.RehookWhy), Created: st.Created,
		LossesSent: st.LossesSent, LossesHeld: st.LossesHeld, RoundsDeferred: st.RoundsDeferred,
	}
	if d.addr.IsValid() {
		for l := 0; l < d.scheme.Levels(); l++ {
			li := d.node.Level(l)
			out.Levels = append(out.Levels, ctl.QSPNLevel{Level: l, Round: li.Round, Settled: li.Settled})
		}
	}
	return out
}

func copyMap(m map[string]uint64) map[string]uint64 {
	out := make(map[string]uint64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (d *Daemon) countersAnswer() ctl.Counters {
	st := &d.node.Stats
	out := ctl.Counters{Sent: map[string]ctl.Count{}, Received: map[string]ctl.Count{}, Dropped: map[string]uint64{}}
	for op := range 256 {
		if st.SentPackets[op] > 0 {
			out.Sent[wire.Op(op).String()] = ctl.Count{Packets: st.SentPackets[op], Bytes: st.SentBytes[op]}
		}
		if d.counters.recvPackets[op] > 0 {
			out.Received[wire.Op(op).String()] = ctl.Count{Packets: d.counters.recvPackets[op], Bytes: d.counters.recvBytes[op]}
		}
	}
	for k, v := range st.Dropped {
		out.Dropped["node: "+k] = v
	}
	for k, v := range d.tr.Stats().Dropped {
		out.Dropped["transport: "+k] = v
	}
	if d.counters.sendErrors > 0 {
		out.Dropped["send errors"] = d.counters.sendErrors
	}
	c := &d.counters
	out.Kernel = ctl.KernelCounters{Syncs: c.syncs, Added: c.added, Changed: c.changed, Removed: c.removed, Resyncs: c.resyncs, Errors: c.errors}
	return out
}

func (d *Daemon) vlinks() ctl.VLinks {
	out := ctl.VLinks{Enabled: d.cfg.VLayer.Enabled, Links: []ctl.VLink{}}
	if d.opt.VLinks == nil {
		return out
	}
	out.PublicKey = d.opt.VLinks.PublicKey().String()
	alive := map[string]int64{} // interface name: RTT of an alive neighbour over it
	for _, nb := range d.node.Radar().Neighbours() {
		if nb.Iface >= 0 && nb.Iface < len(d.ifaces) && nb.State == radar.Alive {
			alive[d.ifaces[nb.Iface].name] = nb.RTT.Microseconds()
		}
	}
	for _, l := range d.opt.VLinks.List() {
		v := ctl.VLink{Interface: l.Name, PublicKey: l.PublicKey.String(), ListenPort: l.ListenPort,
			HandshakeAgoSec: -1, RxBytes: l.RxBytes, TxBytes: l.TxBytes, Error: l.Err, Standby: l.Standby}
		if l.Endpoint.IsValid() {
			v.Endpoint = l.Endpoint.String()
		}
		if !l.LastHandshake.IsZero() {
			v.HandshakeAgoSec = time.Since(l.LastHandshake).Seconds()
		}
		v.RTTMicros, v.Neighbour = alive[l.Name]
		v.Manual = d.isManualVLink(l.Name)
		if _, ok := d.vhook.hooked[l.Name]; ok {
			v.Anchorage = "peer"
		} else if _, ok := d.vhook.anchored[l.Name]; ok {
			v.Anchorage = "us"
		}
		out.Links = append(out.Links, v)
	}
	return out
}
