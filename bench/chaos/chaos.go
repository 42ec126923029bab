package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ntkd/ntkd/internal/ctl"
	"github.com/ntkd/ntkd/internal/lab"
)

// options of one soak; main fills them from the flags, the test directly.
type options struct {
	Nodes    int
	Topology string
	Seed     uint64
	// Duration is the chaos time: the sum of the bursts of faults. The
	// quiet periods come on top.
	Duration time.Duration
	// Rounds, when > 0, stops after that many rounds whatever Duration.
	Rounds       int
	Burst        time.Duration // one burst of faults
	FaultEvery   time.Duration // mean time between two faults of a burst
	QuietTimeout time.Duration // the longest a quiet period waits for the invariants
	Poll         time.Duration // how often a quiet period reads the kernel tables
	Stable       int           // good reads in a row that end a quiet period
	HealEvery    int           // every HealEvery-th round heals everything before its quiet period (0: never)
	MaxDead      float64       // fraction of the nodes dead at once, at most
	MaxCut       float64       // fraction of the links cut at once outside a partition, at most
	Pings        int           // pings between random pairs after each quiet period
	Watch        time.Duration // after the end, keep reading the healed mesh this long (0: not)
	WatchEvery   time.Duration
	UpTimeout    time.Duration // for the first full routes
	Ntkd         string
	Dir, Prefix  string
	ExtraConfig  string // TOML added to every node's configuration
	LogsDir      string // the nodes' logs and failing tables are kept here ("" : not kept)
	Progress     io.Writer
}

// cutInfo is a link the soak has cut.
type cutInfo struct {
	silent    bool
	partition bool // part of the active partition: only merge restores it
}

type soak struct {
	o     options
	l     lab.Lab
	rng   *rand.Rand
	names []string
	links [][2]int
	cut   map[[2]int]cutInfo
	dead  map[int]string // node -> how it was stopped: kill, term
	pids  map[int]int    // node -> the pid of its daemon, as last known
	// partSide is the smaller side of the active partition (nil: none).
	partSide []int
	logOff   map[int]int64
	base     map[int]memSample // after the first convergence
	rep      *Report
	start    time.Time
	last     *world // of the last quiet period, for the logs
}

// markerRoute is put into a dead node's namespace as proto ntk before its
// daemon starts again: the daemon must flush every proto ntk route a
// crashed run left (TEST-NET-2, on lo: it never carries anything).
const markerRoute = "198.51.100.77/32"

var logBad = regexp.MustCompile(`(?i)panic|fatal error|data race`)

func (s *soak) logf(format string, args ...any) {
	if s.o.Progress == nil {
		return
	}
	fmt.Fprintf(s.o.Progress, "%s +%4.0fs "+format+"\n", append([]any{time.Now().Format("15:04:05"), time.Since(s.start).Seconds()}, args...)...)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// runSoak brings the lab up, runs the rounds and takes the lab down again
// (also on errors and when ctx ends). The report says what was seen; the
// error is for what kept the soak from running.
func runSoak(ctx context.Context, o options) (rep *Report, err error) {
	s := &soak{o: o, l: lab.Lab{Dir: o.Dir, Prefix: o.Prefix}, rng: rand.New(rand.NewPCG(o.Seed, 0x6368616f73)),
		cut: map[[2]int]cutInfo{}, dead: map[int]string{}, pids: map[int]int{}, logOff: map[int]int64{},
		start: time.Now()}
	s.rep = newReport(o)
	rep = s.rep
	tp, err := lab.NewTopology(o.Topology, o.Nodes, o.Seed)
	if err != nil {
		return rep, err
	}
	for i := range tp.Nodes {
		s.names = append(s.names, lab.NodeName(i))
	}
	for _, lk := range tp.Links {
		s.links = append(s.links, key(lk.A, lk.B))
	}
	rep.Links = len(s.links)
	s.logf("lab up: %s %d nodes, %d links, seed %d, in %s (%s*)", o.Topology, tp.Nodes, len(s.links), o.Seed, o.Dir, o.Prefix)
	// Up removes what it made when it fails; a lab it refused to touch
	// (one already up there) is someone else's and stays.
	if _, err := s.l.Up(ctx, lab.UpOptions{Topology: tp, Name: o.Topology, Seed: o.Seed, Ntkd: o.Ntkd, ExtraConfig: o.ExtraConfig}); err != nil {
		rep.WallSec = time.Since(s.start).Seconds()
		return rep, err
	}
	defer func() {
		s.keepLogs()
		if d, derr := s.l.Down(); derr != nil {
			err = errors.Join(err, fmt.Errorf("lab down: %w", derr))
		} else {
			s.logf("lab down: %d namespaces removed, %d processes stopped", len(d.Namespaces), len(d.Killed))
		}
		rep.WallSec = time.Since(s.start).Seconds()
	}()
	wctx, cancel := context.WithTimeout(ctx, o.UpTimeout)
	t0 := time.Now()
	_, err = s.l.Wait(wctx, time.Second, nil)
	cancel()
	if err != nil {
		return rep, fmt.Errorf("waiting for the first full routes: %w", err)
	}
	rep.FirstFullSec = time.Since(t0).Seconds()
	s.logf("full routes after %.1f s", rep.FirstFullSec)
	tables, err := s.l.KernelTables()
	if err != nil {
		return rep, err
	}
	for i, t := range tables {
		s.pids[i] = t.PID
	}

	if err := s.quiet(ctx, 0, true); err != nil {
		return rep, err
	}
	s.base = s.memory(ctx, 3)
	chaos := time.Duration(0)
	for round := 1; ; round++ {
		if o.Rounds > 0 && round > o.Rounds || o.Rounds == 0 && chaos >= o.Duration {
			break
		}
		t := time.Now()
		if err := s.burst(ctx, round); err != nil {
			return rep, err
		}
		chaos += time.Since(t)
		rep.ChaosSec = chaos.Seconds()
		healed := o.HealEvery > 0 && round%o.HealEvery == 0
		if healed {
			if err := s.heal(ctx); err != nil {
				return rep, err
			}
		}
		if err := s.quiet(ctx, round, healed); err != nil {
			return rep, err
		}
	}
	// The end: everything healed, a last quiet period, and the memory of
	// every daemon that ran from the start compared with its own.
	if err := s.heal(ctx); err != nil {
		return rep, err
	}
	if err := s.quiet(ctx, -1, true); err != nil {
		return rep, err
	}
	s.compareMemory(s.memory(ctx, 3))
	return rep, s.watch(ctx)
}

// watch goes on reading the healed mesh for o.Watch, injecting nothing:
// whether the multipath loops last, and whether pings between pairs with
// a loop on some choice of next hops fail more than between the others.
func (s *soak) watch(ctx context.Context) error {
	if s.o.Watch <= 0 {
		return nil
	}
	s.logf("watch: %v without faults", s.o.Watch)
	end := time.Now().Add(s.o.Watch)
	var prevTables []*lab.KernelTable
	prevRounds := map[string]uint32{}
	for time.Now().Before(end) {
		if err := sleep(ctx, min(s.o.WatchEvery, time.Until(end))); err != nil {
			return err
		}
		tables, err := s.l.KernelTables()
		if err != nil {
			return err
		}
		w := newWorld(s.names, s.links, s.cutSet(), tables)
		res := w.check()
		loopy := map[[2]int]bool{}
		for _, p := range res.anyBad {
			loopy[p] = true
		}
		// A ping needs both ways: the pair is loopy when either is.
		var bad, good [][2]int
		for x := range s.names {
			for y := range s.names {
				if x == y || w.comp[x] < 0 || w.comp[x] != w.comp[y] {
					continue
				}
				if loopy[[2]int{x, y}] || loopy[[2]int{y, x}] {
					bad = append(bad, [2]int{x, y})
				} else {
					good = append(good, [2]int{x, y})
				}
			}
		}
		ws := Watch{AtSec: time.Since(s.start).Seconds(), Delivered: res.Delivered, Pairs: res.Pairs, AltBad: res.AltBad, AnyPathBad: res.AnyPathBad}
		if prevTables != nil {
			ws.HopChanges, ws.WeightChanges = routeChanges(prevTables, tables)
		}
		prevTables = tables
		ws.NewRounds, ws.Unsettled = s.rounds(ctx, prevRounds)
		var fails []string
		ws.LoopyPings, ws.LoopyFailed, fails = s.pingPairs(ctx, w, bad, s.o.Pings/2)
		ws.Failures = fails
		ws.CleanPings, ws.CleanFailed, fails = s.pingPairs(ctx, w, good, s.o.Pings/2)
		ws.Failures = append(ws.Failures, fails...)
		s.rep.Watch = append(s.rep.Watch, ws)
		if res.AnyPathBad > 0 {
			s.saveTables(fmt.Sprintf("watch %d", len(s.rep.Watch)), w, res)
		}
		s.logf("watch: delivered %d/%d, bad alternatives %d, multipath-loop pairs %d; since the last read: routes with other hops %d, other weights %d, new rounds %d; unsettled nodes %d; pings failed: loopy pairs %d/%d, clean pairs %d/%d",
			res.Delivered, res.Pairs, res.AltBad, res.AnyPathBad, ws.HopChanges, ws.WeightChanges, ws.NewRounds, ws.Unsettled, ws.LoopyFailed, ws.LoopyPings, ws.CleanFailed, ws.CleanPings)
	}
	return nil
}

// burst injects random faults for o.Burst.
func (s *soak) burst(ctx context.Context, round int) error {
	end := time.Now().Add(s.o.Burst)
	s.logf("round %d: burst of faults for %v", round, s.o.Burst)
	for time.Now().Before(end) {
		if err := ctx.Err(); err != nil {
			return err
		}
		s.fault(ctx, round)
		gap := time.Duration(float64(s.o.FaultEvery) * (0.5 + s.rng.Float64()))
		if err := sleep(ctx, min(gap, time.Until(end))); err != nil {
			return err
		}
	}
	return nil
}

func (s *soak) maxDead() int { return max(1, int(s.o.MaxDead*float64(len(s.names)))) }
func (s *soak) maxCut() int  { return max(1, int(s.o.MaxCut*float64(len(s.links)))) }

func (s *soak) plainCuts() (cuts [][2]int) {
	for _, l := range s.links {
		if c, ok := s.cut[l]; ok && !c.partition {
			cuts = append(cuts, l)
		}
	}
	return cuts
}

func (s *soak) uncut() (ls [][2]int) {
	for _, l := range s.links {
		if _, ok := s.cut[l]; !ok {
			ls = append(ls, l)
		}
	}
	return ls
}

func (s *soak) runningNodes() (ns []int) {
	for i := range s.names {
		if _, d := s.dead[i]; !d {
			ns = append(ns, i)
		}
	}
	return ns
}

func (s *soak) deadNodes() (ns []int) {
	for i := range s.names {
		if _, d := s.dead[i]; d {
			ns = append(ns, i)
		}
	}
	return ns
}

// fault picks one fault the state allows, by weight, and injects it.
func (s *soak) fault(ctx context.Context, round int) {
	type choice struct {
		kind   string
		weight int
		do     func() (string, error)
	}
	var cs []choice
	if uncut := s.uncut(); len(uncut) > 0 && len(s.plainCuts()) < s.maxCut() {
		cs = append(cs,
			choice{"cut", 4, func() (string, error) { return s.cutLink(uncut[s.rng.IntN(len(uncut))], false) }},
			choice{"cut-silent", 2, func() (string, error) { return s.cutLink(uncut[s.rng.IntN(len(uncut))], true) }})
	}
	if cuts := s.plainCuts(); len(cuts) > 0 {
		cs = append(cs, choice{"restore", 4, func() (string, error) { return s.restoreLink(cuts[s.rng.IntN(len(cuts))]) }})
	}
	if run := s.runningNodes(); len(s.dead) < s.maxDead() && len(run) > 2 {
		cs = append(cs,
			choice{"kill", 2, func() (string, error) { return s.kill(ctx, run[s.rng.IntN(len(run))], false) }},
			choice{"term", 2, func() (string, error) { return s.kill(ctx, run[s.rng.IntN(len(run))], true) }})
	}
	if dead := s.deadNodes(); len(dead) > 0 {
		cs = append(cs, choice{"start", 3, func() (string, error) { return s.startNode(ctx, dead[s.rng.IntN(len(dead))]) }})
	}
	if s.partSide == nil && len(s.names) >= 4 {
		cs = append(cs, choice{"partition", 1, s.partition})
	} else if s.partSide != nil {
		cs = append(cs, choice{"merge", 2, s.merge})
	}
	total := 0
	for _, c := range cs {
		total += c.weight
	}
	if total == 0 {
		return
	}
	x := s.rng.IntN(total)
	for _, c := range cs {
		if x -= c.weight; x < 0 {
			target, err := c.do()
			s.event(round, c.kind, target, err)
			return
		}
	}
}

func (s *soak) event(round int, kind, target string, err error) {
	e := Event{AtSec: time.Since(s.start).Seconds(), Round: round, Kind: kind, Target: target}
	if err != nil {
		e.Error = err.Error()
		s.rep.FaultErrors++
		s.logf("  %s %s: ERROR %v", kind, target, err)
	} else {
		s.rep.Faults[kind]++
		s.logf("  %s %s", kind, target)
	}
	s.rep.Events = append(s.rep.Events, e)
}

func (s *soak) linkName(l [2]int) string { return s.names[l[0]] + "-" + s.names[l[1]] }

func (s *soak) cutLink(l [2]int, silent bool) (string, error) {
	if err := s.l.Cut(s.names[l[0]], s.names[l[1]], silent); err != nil {
		return s.linkName(l), err
	}
	s.cut[l] = cutInfo{silent: silent}
	return s.linkName(l), nil
}

func (s *soak) restoreLink(l [2]int) (string, error) {
	if err := s.l.Restore(s.names[l[0]], s.names[l[1]]); err != nil {
		return s.linkName(l), err
	}
	delete(s.cut, l)
	return s.linkName(l), nil
}

// kill stops node x's daemon: SIGKILL (a crash), or SIGTERM, after which
// its namespace must hold no proto ntk route and no mesh address.
func (s *soak) kill(ctx context.Context, x int, term bool) (string, error) {
	name := s.names[x]
	if _, err := s.l.Kill(name, term); err != nil {
		return name, err
	}
	how := "kill"
	if term {
		how = "term"
	}
	s.dead[x] = how
	delete(s.pids, x)
	t, err := s.l.KernelTable(name)
	if err != nil {
		return name, err
	}
	if term {
		ok := len(t.Routes) == 0 && len(t.Addrs) == 0
		s.rep.check("term-flush", ok, name, []string{fmt.Sprintf("after SIGTERM: %d proto ntk routes, mesh addresses %v left", len(t.Routes), t.Addrs)})
	} else {
		s.rep.KillLeft = append(s.rep.KillLeft, KillLeft{Node: name, Routes: len(t.Routes), Addrs: len(t.Addrs)})
	}
	return name, nil
}

// startNode starts a dead node's daemon again, after putting a marker
// route of protocol ntk into its namespace; the daemon must flush it at
// start as it flushes whatever a crashed run left.
func (s *soak) startNode(ctx context.Context, x int) (string, error) {
	name := s.names[x]
	if out, err := s.l.Exec(ctx, name, "ip", "route", "add", markerRoute, "dev", "lo", "proto", strconv.Itoa(lab.RouteProtocol)); err != nil {
		return name, fmt.Errorf("marker route: %v: %s", err, out)
	}
	pid, err := s.l.Start(name)
	if err != nil {
		return name, err
	}
	delete(s.dead, x)
	s.pids[x] = pid
	marker := func() (bool, int, error) {
		t, err := s.l.KernelTable(name)
		if err != nil {
			return false, 0, err
		}
		return slices.ContainsFunc(t.Routes, func(r lab.KernelRoute) bool { return r.Dst.String() == markerRoute }), len(t.Routes), nil
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		there, n, err := marker()
		if err != nil {
			return name, err
		}
		if !there {
			s.rep.check("start-flush", true, "", nil)
			break
		}
		if time.Now().After(deadline) {
			s.rep.check("start-flush", false, name, []string{fmt.Sprintf("pid %d: the proto ntk route %s put there before the start is still there 15 s later (%d routes)", pid, markerRoute, n)})
			break
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return name, err
		}
	}
	return name, nil
}

// partition cuts every link between a random connected region of a
// quarter to a half of the nodes and the rest (some of them silently);
// merge restores them.
func (s *soak) partition() (string, error) {
	n := len(s.names)
	size := n/4 + s.rng.IntN(max(1, n/2-n/4+1))
	adj := make([][]int, n)
	for _, l := range s.links {
		adj[l[0]] = append(adj[l[0]], l[1])
		adj[l[1]] = append(adj[l[1]], l[0])
	}
	in := map[int]bool{}
	frontier := []int{s.rng.IntN(n)}
	in[frontier[0]] = true
	side := []int{frontier[0]}
	for len(side) < size && len(frontier) > 0 {
		i := s.rng.IntN(len(frontier))
		x := frontier[i]
		var out []int
		for _, y := range adj[x] {
			if !in[y] {
				out = append(out, y)
			}
		}
		if len(out) == 0 {
			frontier = slices.Delete(frontier, i, i+1)
			continue
		}
		y := out[s.rng.IntN(len(out))]
		in[y] = true
		side = append(side, y)
		frontier = append(frontier, y)
	}
	slices.Sort(side)
	var names []string
	for _, x := range side {
		names = append(names, s.names[x])
	}
	s.partSide = side
	var errs []error
	cuts := 0
	for _, l := range s.links {
		if in[l[0]] == in[l[1]] {
			continue
		}
		if c, ok := s.cut[l]; ok {
			// Already cut: it now belongs to the partition.
			c.partition = true
			s.cut[l] = c
			continue
		}
		silent := s.rng.IntN(10) < 3
		if err := s.l.Cut(s.names[l[0]], s.names[l[1]], silent); err != nil {
			errs = append(errs, err)
			continue
		}
		s.cut[l] = cutInfo{silent: silent, partition: true}
		cuts++
	}
	return fmt.Sprintf("{%s} from the rest (%d links cut)", strings.Join(names, ","), cuts), errors.Join(errs...)
}

func (s *soak) merge() (string, error) {
	var errs []error
	n := 0
	for _, l := range s.links {
		if c, ok := s.cut[l]; ok && c.partition {
			if _, err := s.restoreLink(l); err != nil {
				errs = append(errs, err)
				continue
			}
			n++
		}
	}
	s.partSide = nil
	return fmt.Sprintf("%d links restored", n), errors.Join(errs...)
}

// heal restores every link and starts every dead daemon.
func (s *soak) heal(ctx context.Context) error {
	s.logf("heal: %d links cut, %d daemons dead", len(s.cut), len(s.dead))
	for _, l := range s.links {
		if _, ok := s.cut[l]; ok {
			target, err := s.restoreLink(l)
			s.event(0, "heal-restore", target, err)
		}
	}
	s.partSide = nil
	for _, x := range s.deadNodes() {
		target, err := s.startNode(ctx, x)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.event(0, "heal-start", target, err)
	}
	return nil
}

// quiet waits, injecting nothing, until the forwarding invariants hold in
// o.Stable reads in a row, or o.QuietTimeout; then it records every check.
func (s *soak) quiet(ctx context.Context, round int, healed bool) error {
	t0 := time.Now()
	q := Quiet{Round: round, Healed: healed, Dead: len(s.dead), Cut: len(s.cut), ConvergedSec: -1}
	for _, x := range s.deadNodes() {
		q.DeadNodes = append(q.DeadNodes, s.names[x]+"("+s.dead[x]+")")
	}
	for _, l := range s.links {
		if c, ok := s.cut[l]; ok {
			tag := ""
			if c.silent {
				tag += "s"
			}
			if c.partition {
				tag += "p"
			}
			if tag != "" {
				tag = "(" + tag + ")"
			}
			q.CutLinks = append(q.CutLinks, s.linkName(l)+tag)
		}
	}
	good := 0
	var w *world
	var res *result
	var goodSince time.Time
	for {
		tables, err := s.l.KernelTables()
		if err != nil {
			return err
		}
		w = newWorld(s.names, s.links, s.cutSet(), tables)
		res = w.check()
		s.sampleRSS(tables)
		q.Reads++
		if res.ok() {
			if good == 0 {
				goodSince = time.Now()
			}
			good++
		} else {
			good = 0
		}
		if good >= s.o.Stable || time.Since(t0) > s.o.QuietTimeout {
			break
		}
		if err := sleep(ctx, s.o.Poll); err != nil {
			return err
		}
	}
	if good > 0 {
		q.ConvergedSec = goodSince.Sub(t0).Seconds()
	}
	q.Components = w.components()
	q.Result = res
	label := fmt.Sprintf("quiet %d", round)
	if round == -1 {
		label = "final quiet"
	}
	s.rep.check("delivery", res.Delivered == res.Pairs && res.Unhooked == 0 && res.DupAddrs == 0, label, res.DeliveryFail)
	s.rep.check("alternatives", res.AltBad == 0, label, res.AltFail)
	s.rep.check("nexthops", res.BadHops == 0, label, res.HopFail)
	s.rep.check("multipath", res.AnyPathBad == 0, label, append([]string{fmt.Sprintf("%d pairs", res.AnyPathBad)}, res.AnyPathFail...))
	s.checkDaemons(w, label)
	q.PingsSent, q.PingsFailed = s.pings(ctx, w, label)
	s.checkLogs(label)
	q.Memory = map[string]memSample{}
	for x, m := range s.memory(ctx, 1) {
		q.Memory[s.names[x]] = m
	}
	q.Took = time.Since(t0).Seconds()
	s.rep.Quiet = append(s.rep.Quiet, q)
	s.last = w
	conv := "NOT converged"
	if q.ConvergedSec >= 0 {
		conv = fmt.Sprintf("converged in %.1f s", q.ConvergedSec)
	}
	s.logf("%s (healed %v, components %v, dead %d, cut %d): %s; %s; pings %d/%d failed", label, healed, q.Components, q.Dead, q.Cut, conv, res.summary(), q.PingsFailed, q.PingsSent)
	if !res.ok() || q.PingsFailed > 0 {
		s.saveTables(label, w, res)
	}
	return ctx.Err()
}

func (s *soak) cutSet() map[[2]int]bool {
	m := make(map[[2]int]bool, len(s.cut))
	for l := range s.cut {
		m[l] = true
	}
	return m
}

// checkDaemons: every daemon the soak did not stop runs, with the pid it
// was started with.
func (s *soak) checkDaemons(w *world, label string) {
	var bad []string
	for x := range s.names {
		if _, d := s.dead[x]; d {
			if w.running[x] {
				bad = append(bad, fmt.Sprintf("%s runs (pid %d) though the soak stopped it", s.names[x], w.tables[x].PID))
			}
			continue
		}
		switch pid := w.tables[x].PID; {
		case pid == 0:
			bad = append(bad, fmt.Sprintf("%s (pid %d) exited by itself; its log ends:\n%s", s.names[x], s.pids[x], s.logTail(x, 15)))
			s.dead[x] = "exited"
			delete(s.pids, x)
		case pid != s.pids[x]:
			bad = append(bad, fmt.Sprintf("%s runs as pid %d, not %d", s.names[x], pid, s.pids[x]))
			s.pids[x] = pid
		}
	}
	s.rep.check("daemons", len(bad) == 0, label, bad)
}

// routeChanges counts the routes (node, destination) whose set of next
// hops changed between two reads, and those whose weights alone did.
func routeChanges(before, after []*lab.KernelTable) (hops, weights int) {
	for i := range after {
		if i >= len(before) || before[i] == nil || after[i] == nil {
			continue
		}
		old := map[netip.Prefix]lab.KernelRoute{}
		for _, r := range before[i].Routes {
			old[r.Dst] = r
		}
		for _, r := range after[i].Routes {
			o, ok := old[r.Dst]
			delete(old, r.Dst)
			switch {
			case !ok || !sameHops(o.Hops, r.Hops, false):
				hops++
			case !sameHops(o.Hops, r.Hops, true):
				weights++
			}
		}
		hops += len(old)
	}
	return hops, weights
}

func sameHops(a, b []lab.KernelHop, weights bool) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !slices.ContainsFunc(b, func(y lab.KernelHop) bool {
			return x.Via == y.Via && x.Dev == y.Dev && (!weights || x.Weight == y.Weight)
		}) {
			return false
		}
	}
	return true
}

// rounds asks every running daemon for its QSPN rounds: how many
// (node, level) rounds changed since prev (which it updates), and how many
// nodes have a level whose round is not settled.
func (s *soak) rounds(ctx context.Context, prev map[string]uint32) (changed, unsettled int) {
	st, err := s.l.Load()
	if err != nil {
		return 0, 0
	}
	for x := range s.pids {
		cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		var q ctl.QSPN
		_, err := ctl.Call(cctx, st.Nodes[x].Socket, ctl.Request{Cmd: ctl.CmdQSPN}, &q)
		cancel()
		if err != nil {
			continue
		}
		open := false
		for _, lv := range q.Levels {
			k := fmt.Sprintf("%s/%d", s.names[x], lv.Level)
			if r, ok := prev[k]; ok && r != lv.Round {
				changed++
			}
			prev[k] = lv.Round
			open = open || !lv.Settled
		}
		if open {
			unsettled++
		}
	}
	return changed, unsettled
}

// pings sends a real ping between random pairs of one component.
func (s *soak) pings(ctx context.Context, w *world, label string) (sent, failed int) {
	var pairs [][2]int
	for x := range s.names {
		for y := range s.names {
			if x != y && w.comp[x] >= 0 && w.comp[x] == w.comp[y] && w.addr[y].IsValid() {
				pairs = append(pairs, [2]int{x, y})
			}
		}
	}
	sent, failed, fails := s.pingPairs(ctx, w, pairs, s.o.Pings)
	if sent > 0 {
		s.rep.check("ping", failed == 0, label, fails)
	}
	return sent, failed
}

// pingPairs pings from x to y for n random pairs (x, y) of pairs.
func (s *soak) pingPairs(ctx context.Context, w *world, pairs [][2]int, n int) (sent, failed int, fails []string) {
	pairs = slices.Clone(pairs)
	s.rng.Shuffle(len(pairs), func(i, j int) { pairs[i], pairs[j] = pairs[j], pairs[i] })
	for _, p := range pairs[:min(len(pairs), n)] {
		if !w.addr[p[1]].IsValid() {
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, 8*time.Second)
		out, err := s.l.Exec(pctx, s.names[p[0]], "ping", "-n", "-q", "-c", "2", "-i", "0.3", "-W", "2", w.addr[p[1]].String())
		cancel()
		if ctx.Err() != nil {
			return sent, failed, fails
		}
		sent++
		if err != nil {
			failed++
			last := strings.TrimSpace(string(out))
			if i := strings.LastIndexByte(last, '\n'); i >= 0 {
				last = strings.TrimSpace(last[i+1:])
			}
			if i := strings.Index(last, "packets transmitted"); i < 0 {
				last = strings.ReplaceAll(strings.TrimSpace(string(out)), "\n", " / ")
			}
			fails = append(fails, fmt.Sprintf("%s -> %s (%s): %s", s.names[p[0]], s.names[p[1]], w.addr[p[1]], last))
		}
	}
	return sent, failed, fails
}

// checkLogs reads what every node's log gained since the last look.
func (s *soak) checkLogs(label string) {
	st, err := s.l.Load()
	if err != nil {
		return
	}
	var bad []string
	for x, n := range st.Nodes {
		f, err := os.Open(n.Log)
		if err != nil {
			continue
		}
		if _, err := f.Seek(s.logOff[x], io.SeekStart); err == nil {
			b, _ := io.ReadAll(f)
			s.logOff[x] += int64(len(b))
			for _, line := range strings.Split(string(b), "\n") {
				if logBad.MatchString(line) {
					bad = append(bad, n.Name+": "+strings.TrimSpace(line))
				}
			}
		}
		f.Close()
	}
	if len(bad) > keep {
		bad = append(bad[:keep], fmt.Sprintf("... %d more lines", len(bad)-keep))
	}
	s.rep.check("logs", len(bad) == 0, label, bad)
}

func (s *soak) logTail(x, lines int) string {
	st, err := s.l.Load()
	if err != nil {
		return ""
	}
	b, _ := os.ReadFile(st.Nodes[x].Log)
	all := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return "    " + strings.Join(all[max(0, len(all)-lines):], "\n    ")
}

// memSample is one daemon's memory, from its control socket and /proc.
type memSample struct {
	PID        int    `json:"pid"`
	Goroutines int    `json:"goroutines"`
	HeapAlloc  uint64 `json:"heap_alloc"`
	HeapInuse  uint64 `json:"heap_inuse"`
	RSSKiB     int    `json:"rss_kib"`
}

// memory reads every running daemon's memory, the smallest of reads
// samples a second apart (garbage not yet collected and goroutines that
// come and go make one read noisy).
func (s *soak) memory(ctx context.Context, reads int) map[int]memSample {
	st, err := s.l.Load()
	if err != nil {
		return nil
	}
	out := map[int]memSample{}
	for r := range reads {
		if r > 0 && sleep(ctx, time.Second) != nil {
			break
		}
		for x, pid := range s.pids {
			cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
			var cs ctl.Status
			_, err := ctl.Call(cctx, st.Nodes[x].Socket, ctl.Request{Cmd: ctl.CmdStatus}, &cs)
			cancel()
			if err != nil || cs.PID != pid {
				continue
			}
			m := memSample{PID: pid, Goroutines: cs.Memory.Goroutines, HeapAlloc: cs.Memory.HeapAlloc, HeapInuse: cs.Memory.HeapInuse, RSSKiB: rssKiB(pid)}
			if old, ok := out[x]; ok && old.PID == pid {
				m.Goroutines = min(m.Goroutines, old.Goroutines)
				m.HeapAlloc = min(m.HeapAlloc, old.HeapAlloc)
				m.HeapInuse = min(m.HeapInuse, old.HeapInuse)
				m.RSSKiB = min(m.RSSKiB, old.RSSKiB)
			}
			out[x] = m
		}
	}
	return out
}

// compareMemory compares each daemon that ran through the whole soak with
// itself after the first convergence: goroutines may not grow by more than
// max(5, 25%), the heap in use not beyond 1.5 times + 2 MiB.
func (s *soak) compareMemory(end map[int]memSample) {
	var bad []string
	for x := range s.names {
		b, ok1 := s.base[x]
		e, ok2 := end[x]
		if !ok1 || !ok2 || b.PID != e.PID {
			continue
		}
		g := Growth{Node: s.names[x], PID: b.PID, Before: b, After: e}
		s.rep.Growth = append(s.rep.Growth, g)
		if d := e.Goroutines - b.Goroutines; d > max(5, b.Goroutines/4) {
			bad = append(bad, fmt.Sprintf("%s: goroutines %d -> %d", g.Node, b.Goroutines, e.Goroutines))
		}
		if float64(e.HeapInuse) > 1.5*float64(b.HeapInuse)+2<<20 {
			bad = append(bad, fmt.Sprintf("%s: heap in use %.1f -> %.1f MiB", g.Node, mib(b.HeapInuse), mib(e.HeapInuse)))
		}
	}
	s.rep.check("memory", len(bad) == 0, "end vs first convergence", bad)
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

// sampleRSS keeps the peak RSS of every daemon.
func (s *soak) sampleRSS(tables []*lab.KernelTable) {
	sum := 0
	for x, t := range tables {
		if t.PID == 0 {
			continue
		}
		r := rssKiB(t.PID)
		sum += r
		if r > s.rep.PeakRSSKiB {
			s.rep.PeakRSSKiB, s.rep.PeakRSSNode = r, s.names[x]
		}
	}
	s.rep.PeakSumRSSKiB = max(s.rep.PeakSumRSSKiB, sum)
}

func rssKiB(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	return 0
}

// saveTables writes the kernel tables of a quiet period that failed, for
// whoever investigates.
func (s *soak) saveTables(label string, w *world, res *result) {
	if s.o.LogsDir == "" {
		return
	}
	if err := os.MkdirAll(s.o.LogsDir, 0o755); err != nil {
		return
	}
	type node struct {
		Name      string           `json:"name"`
		Running   bool             `json:"running"`
		Component int              `json:"component"`
		Table     *lab.KernelTable `json:"table"`
	}
	dump := struct {
		Label  string   `json:"label"`
		Cut    []string `json:"cut"`
		Result *result  `json:"result"`
		Nodes  []node   `json:"nodes"`
	}{Label: label, Result: res}
	for l := range w.cut {
		dump.Cut = append(dump.Cut, s.linkName(l))
	}
	slices.Sort(dump.Cut)
	for x := range w.names {
		dump.Nodes = append(dump.Nodes, node{w.names[x], w.running[x], w.comp[x], w.tables[x]})
	}
	name := filepath.Join(s.o.LogsDir, strings.ReplaceAll(label, " ", "-")+".json")
	if b, err := jsonIndent(dump); err == nil {
		os.WriteFile(name, b, 0o644)
	}
}

// keepLogs copies every node's log to o.LogsDir before the lab goes.
func (s *soak) keepLogs() {
	if s.o.LogsDir == "" {
		return
	}
	st, err := s.l.Load()
	if err != nil {
		return
	}
	if err := os.MkdirAll(s.o.LogsDir, 0o755); err != nil {
		return
	}
	for _, n := range st.Nodes {
		if b, err := os.ReadFile(n.Log); err == nil {
			os.WriteFile(filepath.Join(s.o.LogsDir, n.Name+".log"), b, 0o644)
		}
	}
	s.rep.LogsDir = s.o.LogsDir
}

// buildNtkd builds the daemon into dir.
func buildNtkd(dir string) (string, error) {
	bin := filepath.Join(dir, "ntkd")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/ntkd/ntkd/ntkd").CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build (run from the source tree, or give -ntkd): %v\n%s", err, out)
	}
	return bin, nil
}
