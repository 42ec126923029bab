package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ntkd/ntkd/internal/config"
	"github.com/ntkd/ntkd/internal/ctl"
	"github.com/ntkd/ntkd/internal/jsondec"
	"github.com/ntkd/ntkd/internal/jsonenc"
)

// runCtl asks the running daemon: tables for people, --json for scripts
// (LuCI's rpcd plugin); the JSON schema is in docs/CTL.md.
func runCtl(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("ctl", stderr)
	sock := fs.String("s", config.Default().Control.Socket, "the daemon's control socket")
	cfgPath := fs.String("c", "", "read the socket path from this configuration file")
	asJSON := fs.Bool("json", false, "print the daemon's answer as JSON")
	level := fs.Int("level", -1, "maps: only this level")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: ntkd ctl [-s SOCKET | -c FILE] [--json] COMMAND\n"+
			"       ntkd ctl [...] andna register|unregister|resolve NAME | reverse ADDR | list | cache | counters\n"+
			"       ntkd ctl [...] vlink add ENDPOINT KEY [--port N] [--name IFACE] | vlink del ENDPOINT|IFACE|KEY\n\ncommands: %s, andna, vlink\n\nflags:\n",
			strings.Join(ctl.Commands, ", "))
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	req, ok := ctlRequest(fs.Args())
	if !ok {
		fs.Usage()
		return exitUsage
	}
	req.Level = *level
	if *cfgPath != "" {
		c, err := config.Load(*cfgPath)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return exitConfig
		}
		*sock = c.Control.Socket
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	raw, err := ctl.Call(ctx, *sock, req, nil)
	if err != nil {
		fmt.Fprintln(stderr, "ntkd ctl:", err)
		return exitFail
	}
	if *asJSON {
		var v any
		_ = jsondec.Unmarshal(raw, &v)
		enc := jsonenc.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(v)
		return exitOK
	}
	if err := printTable(stdout, req.Cmd, raw); err != nil {
		fmt.Fprintln(stderr, "ntkd ctl:", err)
		return exitFail
	}
	return exitOK
}

// ctlRequest turns the command line into a request: one of ctl.Commands,
// or "andna SUB [ARG]".
func ctlRequest(args []string) (ctl.Request, bool) {
	if len(args) == 1 && slices.Contains(ctl.Commands, args[0]) {
		return ctl.Request{Cmd: args[0]}, true
	}
	if len(args) >= 2 && args[0] == "vlink" {
		return vlinkRequest(args[1:])
	}
	if len(args) < 2 || args[0] != "andna" {
		return ctl.Request{}, false
	}
	req := ctl.Request{Cmd: "andna-" + args[1]}
	if !slices.Contains(ctl.ANDNACommands, req.Cmd) {
		return ctl.Request{}, false
	}
	needsArg := req.Cmd == ctl.CmdANDNARegister || req.Cmd == ctl.CmdANDNAUnregister ||
		req.Cmd == ctl.CmdANDNAResolve || req.Cmd == ctl.CmdANDNAReverse
	switch {
	case needsArg && len(args) == 3:
		req.Arg = args[2]
	case needsArg || len(args) != 2:
		return ctl.Request{}, false
	}
	return req, true
}

// vlinkRequest is "vlink add ENDPOINT KEY [--port N] [--name IFACE]" or
// "vlink del ENDPOINT|IFACE|KEY".
func vlinkRequest(args []string) (ctl.Request, bool) {
	switch {
	case args[0] == "del" && len(args) == 2:
		return ctl.Request{Cmd: ctl.CmdVLinkDel, Arg: args[1]}, true
	case args[0] != "add" || len(args) < 3:
		return ctl.Request{}, false
	}
	spec := &ctl.VLinkSpec{PublicKey: args[2]}
	fs := flag.NewFlagSet("vlink add", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.IntVar(&spec.ListenPort, "port", 0, "")
	fs.StringVar(&spec.Name, "name", "", "")
	if fs.Parse(args[3:]) != nil || fs.NArg() != 0 {
		return ctl.Request{}, false
	}
	return ctl.Request{Cmd: ctl.CmdVLinkAdd, Arg: args[1], VLink: spec}, true
}

func printTable(w io.Writer, cmd string, raw jsondec.RawMessage) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	defer tw.Flush()
	switch cmd {
	case ctl.CmdANDNAResolve:
		var r ctl.ANDNAResolution
		if err := jsondec.Unmarshal(raw, &r); err != nil {
			return err
		}
		fmt.Fprintln(tw, r.Address)
	case ctl.CmdANDNAReverse:
		var r ctl.ANDNAResolution
		if err := jsondec.Unmarshal(raw, &r); err != nil {
			return err
		}
		for _, n := range r.Names {
			fmt.Fprintln(tw, n)
		}
	case ctl.CmdANDNARegister, ctl.CmdANDNAUnregister:
		var n ctl.ANDNAName
		if err := jsondec.Unmarshal(raw, &n); err != nil {
			return err
		}
		fmt.Fprintf(tw, "%s\t%s\n", n.Name, n.State)
	case ctl.CmdANDNAList:
		var list []ctl.ANDNAName
		if err := jsondec.Unmarshal(raw, &list); err != nil {
			return err
		}
		fmt.Fprintln(tw, "NAME\tSTATE\tEXPIRES IN\tERROR")
		for _, n := range list {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", n.Name, n.State, (time.Duration(n.ExpiresSec) * time.Second).String(), n.Error)
		}
	case ctl.CmdANDNACache:
		var list []ctl.ANDNARecord
		if err := jsondec.Unmarshal(raw, &list); err != nil {
			return err
		}
		fmt.Fprintln(tw, "NAME\tOWNER\tQUEUED\tUPDATES\tBACKUP\tEXPIRES IN")
		for _, r := range list {
			name := r.Name
			if name == "" {
				name = "#" + r.Hash[:16]
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%v\t%s\n", name, r.Owner, r.Queued, r.Counter, r.Backup, (time.Duration(r.ExpiresSec) * time.Second).String())
		}
	case ctl.CmdANDNACounters:
		var list []ctl.ANDNACounter
		if err := jsondec.Unmarshal(raw, &list); err != nil {
			return err
		}
		fmt.Fprintln(tw, "KEY\tNAMES")
		for _, c := range list {
			fmt.Fprintf(tw, "%s\t%d\n", c.PublicKey, c.Names)
		}
	case ctl.CmdStatus:
		var s ctl.Status
		if err := jsondec.Unmarshal(raw, &s); err != nil {
			return err
		}
		addr := s.Address
		if addr == "" {
			addr = "(none yet)"
		}
		fmt.Fprintf(tw, "ntkd %s\tpid %d, up %s\n", s.Version, s.PID, (time.Duration(s.UptimeSec) * time.Second).String())
		fmt.Fprintf(tw, "state\t%s\n", s.State)
		fmt.Fprintf(tw, "address\t%s in %s\n", addr, s.Prefix)
		for _, g := range s.Gnodes {
			what := "gnode"
			if g.Level == 0 {
				what = "node"
			}
			fmt.Fprintf(tw, "level %d\t%s id %d, %d members, nonce %08x\n", g.Level, what, g.ID, g.Members, g.Nonce)
		}
		for _, i := range s.Interfaces {
			state := "down"
			if i.Up {
				state = "up"
			}
			fmt.Fprintf(tw, "interface %s\t%s, %s\n", i.Name, state, i.Kind)
		}
		fmt.Fprintf(tw, "neighbours\t%d\nroutes\t%d\n", s.Neighbours, s.Routes)
		m := s.Memory
		fmt.Fprintf(tw, "memory\theap %.1f MiB live, %.1f in use, %.1f held; stacks %.1f MiB; runtime %.1f MiB; %d goroutines\n",
			mib(m.HeapAlloc), mib(m.HeapInuse), mib(m.HeapSys-m.HeapReleased), mib(m.StackInuse), mib(m.Metadata), m.Goroutines)
	case ctl.CmdNeighbours:
		var ns []ctl.Neighbour
		if err := jsondec.Unmarshal(raw, &ns); err != nil {
			return err
		}
		fmt.Fprintln(tw, "RNODE\tINTERFACE\tADDRESS\tSTATE\tRTT\tLOSS\tCOST\tWIFI")
		for _, n := range ns {
			a := n.Address
			if a == "" {
				a = "(hooking)"
			}
			wifi := "-"
			if n.Wifi != nil {
				wifi = fmt.Sprintf("%d dBm %.0f Mbit/s x%.2f", n.Wifi.SignalDBm, float64(n.Wifi.TxBitrate)/1e6, n.Penalty)
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%.0f%%\t%d\t%s\n", n.Index, n.Interface, a, n.State,
				time.Duration(n.RTTMicros)*time.Microsecond, n.Loss*100, n.Cost, wifi)
		}
	case ctl.CmdMaps:
		var ls []ctl.Level
		if err := jsondec.Unmarshal(raw, &ls); err != nil {
			return err
		}
		for _, l := range ls {
			fmt.Fprintf(tw, "level %d: round %d, settled %v, %d members\n", l.Level, l.Round, l.Settled, l.Members)
			fmt.Fprintln(tw, "  ID\tPREFIX\tROUTES (rnode:cost)")
			for _, e := range l.Elements {
				var rs []string
				for _, r := range e.Routes {
					rs = append(rs, fmt.Sprintf("%d:%d", r.Rnode, r.Cost))
				}
				fmt.Fprintf(tw, "  %d\t%s\t%s\n", e.ID, e.Prefix, strings.Join(rs, " "))
			}
		}
	case ctl.CmdRoutes:
		var rs ctl.Routes
		if err := jsondec.Unmarshal(raw, &rs); err != nil {
			return err
		}
		fmt.Fprintf(tw, "table %d: %d routes wanted, %d in the kernel\n", rs.Table, len(rs.Ours), len(rs.Kernel))
		fmt.Fprintln(tw, "DESTINATION\tNEXTHOPS (via dev weight cost)")
		for _, r := range rs.Ours {
			var hs []string
			for _, h := range r.Hops {
				hs = append(hs, fmt.Sprintf("%s %s %d %d", h.Via, h.Dev, h.Weight, h.Cost))
			}
			fmt.Fprintf(tw, "%s\t%s\n", r.Dst, strings.Join(hs, ", "))
		}
		if len(rs.Missing) > 0 {
			fmt.Fprintf(tw, "missing from the kernel:\t%s\n", strings.Join(rs.Missing, " "))
		}
		if len(rs.Extra) > 0 {
			fmt.Fprintf(tw, "in the kernel, not wanted:\t%s\n", strings.Join(rs.Extra, " "))
		}
	case ctl.CmdQSPN:
		var q ctl.QSPN
		if err := jsondec.Unmarshal(raw, &q); err != nil {
			return err
		}
		fmt.Fprintf(tw, "wait round\t%gs\n", q.WaitRoundSec)
		for _, l := range q.Levels {
			fmt.Fprintf(tw, "level %d\tround %d, settled %v\n", l.Level, l.Round, l.Settled)
		}
		printCounts(tw, "rounds asked for", q.RoundsWanted)
		fmt.Fprintf(tw, "re-hooks\t%d\ngnodes created\t%d\n", q.Rehooks, q.Created)
		fmt.Fprintf(tw, "route losses announced\t%d (%d left to the round)\n", q.LossesSent, q.LossesHeld)
		fmt.Fprintf(tw, "newer rounds deferred\t%d\n", q.RoundsDeferred)
		printCounts(tw, "re-hooks", q.RehookWhy)
	case ctl.CmdVLinks:
		var v ctl.VLinks
		if err := jsondec.Unmarshal(raw, &v); err != nil {
			return err
		}
		if !v.Enabled {
			fmt.Fprintln(tw, "virtual layer off ([vlayer] enabled = false)")
			return nil
		}
		fmt.Fprintf(tw, "our public key\t%s\n", v.PublicKey)
		fmt.Fprintln(tw, "INTERFACE\tPEER\tENDPOINT\tPORT\tHANDSHAKE\tRTT\tRX\tTX\tSTATE")
		for _, l := range v.Links {
			hs, rtt, state := "never", "-", "no neighbour"
			if l.HandshakeAgoSec >= 0 {
				hs = fmt.Sprintf("%.0fs ago", l.HandshakeAgoSec)
			}
			if l.Neighbour {
				rtt, state = fmt.Sprintf("%.1fms", float64(l.RTTMicros)/1000), "neighbour"
			}
			if l.Error != "" {
				state = "error: " + l.Error
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%d\t%d\t%s\n", l.Interface, l.PublicKey, cmp.Or(l.Endpoint, "-"), l.ListenPort, hs, rtt, l.RxBytes, l.TxBytes, state)
		}
	case ctl.CmdVLinkAdd, ctl.CmdVLinkDel:
		var l ctl.VLink
		if err := jsondec.Unmarshal(raw, &l); err != nil {
			return err
		}
		what := "removed"
		if cmd == ctl.CmdVLinkAdd {
			what = "made"
		}
		fmt.Fprintf(tw, "%s %s: %s at %s, port %d\n", what, l.Interface, l.PublicKey, cmp.Or(l.Endpoint, "-"), l.ListenPort)
	case ctl.CmdGateways:
		var g ctl.Gateways
		if err := jsondec.Unmarshal(raw, &g); err != nil {
			return err
		}
		if g.Sharing.Enabled {
			state := "down"
			if g.Sharing.Up {
				state = fmt.Sprintf("up, %d kbit/s announced", g.Sharing.Bandwidth)
			}
			fmt.Fprintf(tw, "sharing %s: %s (%s)\n", cmp.Or(g.Sharing.Uplink, "uplink"), state, g.Sharing.Why)
		}
		if g.OwnDefaultRoute {
			fmt.Fprintln(tw, "own default route: the main table's wins")
		}
		if g.Error != "" {
			fmt.Fprintln(tw, "error:", g.Error)
		}
		fmt.Fprintf(tw, "GATEWAY\tLEVEL\tKBIT/S\tCOST\tWEIGHT (table %d)\n", g.Table)
		for _, gw := range g.Gateways {
			w := "-"
			if gw.Selected {
				w = fmt.Sprint(gw.Weight)
			}
			fmt.Fprintf(tw, "%s\t%d\t%d\t%.1fms\t%s\n", gw.Address, gw.Level, gw.Bandwidth, gw.CostMS, w)
		}
	case ctl.CmdEntryNodes:
		var e ctl.EntryNodes
		if err := jsondec.Unmarshal(raw, &e); err != nil {
			return err
		}
		printEntryNodes(tw, &e)
	case ctl.CmdCounters:
		var c ctl.Counters
		if err := jsondec.Unmarshal(raw, &c); err != nil {
			return err
		}
		fmt.Fprintln(tw, "OP\tSENT\tBYTES\tRECEIVED\tBYTES")
		var ops []string
		for op := range c.Sent {
			ops = append(ops, op)
		}
		for op := range c.Received {
			if _, ok := c.Sent[op]; !ok {
				ops = append(ops, op)
			}
		}
		sort.Slice(ops, func(i, j int) bool { return ops[i] < ops[j] })
		for _, op := range ops {
			s, r := c.Sent[op], c.Received[op]
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\n", op, s.Packets, s.Bytes, r.Packets, r.Bytes)
		}
		printCounts(tw, "dropped", c.Dropped)
		k := c.Kernel
		fmt.Fprintf(tw, "kernel\t%d syncs: %d added, %d changed, %d removed; %d resyncs, %d errors\n", k.Syncs, k.Added, k.Changed, k.Removed, k.Resyncs, k.Errors)
	}
	return nil
}

// printEntryNodes prints `entry-nodes`: the fetches, this node's own
// listing (lines without tabs, not aligned with the table), then the list
// nearest first.
func printEntryNodes(tw io.Writer, e *ctl.EntryNodes) {
	if !e.Enabled {
		fmt.Fprintln(tw, "no entry lists ([vlayer] off, or no [[vlayer.entry_server]])")
		return
	}
	ago := func(sec float64) string { return (time.Duration(sec) * time.Second).String() }
	fetch := "never"
	if e.LastFetchAgoSec >= 0 {
		fetch = ago(e.LastFetchAgoSec) + " ago"
	}
	if e.FromCache {
		fetch += ", the list is the cache's"
	}
	fmt.Fprintf(tw, "last fetch: %s (next in %s; %d fetches, %d failed, %d servers)\n", fetch, ago(e.NextFetchInSec), e.Fetches, e.FetchFailures, e.Servers)
	for _, se := range e.Errors {
		fmt.Fprintf(tw, "server %s: %s\n", se.Server, se.Error)
	}
	if e.Latitude != nil && e.Longitude != nil {
		fmt.Fprintf(tw, "our position: %.6f, %.6f\n", *e.Latitude, *e.Longitude)
	}
	if s := e.Self; s.EntryNode {
		state := "not listed"
		switch {
		case s.EligibleInSec > 0:
			state = "not listed: up for entry_after in " + ago(s.EligibleInSec)
		case s.Listed:
			state = "listed"
		}
		if s.LastAcceptedAgoSec >= 0 {
			state += ", last accepted " + ago(s.LastAcceptedAgoSec) + " ago"
		}
		fmt.Fprintf(tw, "this entry node: %s at %s: %s (%d accepted, %d failed)\n", s.PublicKey, s.Endpoint, state, s.Accepted, s.Failed)
		for _, se := range s.Errors {
			fmt.Fprintf(tw, "update to %s: %s\n", se.Server, se.Error)
		}
	} else {
		fmt.Fprintln(tw, "this node: not an entry node")
	}
	fmt.Fprintln(tw, "KEY\tENDPOINT\tUPTIME\tKM\tHOPS")
	for _, n := range e.Nodes {
		km, key := "-", n.PublicKey
		if n.DistanceKm >= 0 {
			km = fmt.Sprintf("%.0f", n.DistanceKm)
		}
		if n.Self {
			key += " (us)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\n", key, n.Endpoint, ago(n.UptimeSec), km, n.Hops)
	}
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

func printCounts(w io.Writer, title string, m map[string]uint64) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "%s: %s\t%d\n", title, k, m[k])
	}
}
