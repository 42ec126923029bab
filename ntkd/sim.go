//go:build !router

package main

import (
	"bufio"
	"encoding/json"

	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ntkd/ntkd/internal/addr"
	"github.com/ntkd/ntkd/internal/node"
	"github.com/ntkd/ntkd/internal/oracle"
	"github.com/ntkd/ntkd/internal/sim"
	"github.com/ntkd/ntkd/internal/topo"
)

type simFlags struct {
	topology, topoFile, script, dump, prefix, bits string
	nodes                                          int
	seed                                           uint64
	jsonOut, check, progress                       bool
	checkPairs                                     int
	latMin, latMax, jitter, spread, wave           time.Duration
	waitRound, quiet, limit                        time.Duration
	loss                                           float64
}

// toolCommands are the developer tools left out of router builds (-tags
// router) to keep the flash image small.
func toolCommands() map[string]command {
	return map[string]command{
		"sim":        {"simulate a network of nodes running the protocol (see sim -h)", runSim},
		"check-dump": {"check a route dump (ntkd sim --dump) with the oracle: check-dump FILE", runCheckDump},
		"dump":       {"dissect ntk packets: dump [-c N] [-x] FILE.pcap|- (pcap or pcapng), or dump -i IFACE (live)", runDump},
		"lab":        {"a mesh of real daemons in network namespaces: lab up|status|exec|cut|restore|kill|start|down", runLab},

		"entry-server": {"an entry server keeping the list of entry nodes: entry-server -c FILE [-print-key]", runEntryServer},
	}
}

// runCheckDump lets anyone check a dump from outside, with the same oracle
// the tests use.
func runCheckDump(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("check-dump", stderr)
	pairs := fs.Int("pairs", 1_000_000, "sample this many pairs when there are more")
	seed := fs.Uint64("seed", 1, "seed of the pair sample")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: ntkd check-dump [-pairs N] FILE")
		return exitUsage
	}
	fh, err := os.Open(fs.Arg(0))
	if err != nil {
		fmt.Fprintln(stderr, "ntkd check-dump:", err)
		return exitFail
	}
	defer fh.Close()
	d, err := oracle.Load(bufio.NewReader(fh))
	if err != nil {
		fmt.Fprintf(stderr, "ntkd check-dump: %s: %v\n", fs.Arg(0), err)
		return exitFail
	}
	failed := false
	for _, r := range runChecks(d, simFlags{checkPairs: *pairs, seed: *seed}) {
		fmt.Fprintln(stdout, r.String())
		failed = failed || !r.Passed()
	}
	if failed {
		return exitFail
	}
	return exitOK
}

func runSim(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("sim", stderr)
	var f simFlags
	fs.StringVar(&f.topology, "topology", "random", "generator: "+strings.Join(topo.Kinds(), ", "))
	fs.StringVar(&f.topoFile, "topology-file", "", "read the topology from `FILE` (lines: a b [latency=2ms] [jitter=0s] [loss=0])")
	fs.IntVar(&f.nodes, "nodes", 100, "number of nodes")
	fs.Uint64Var(&f.seed, "seed", 1, "random seed: the same seed gives the same run")
	fs.StringVar(&f.script, "script", "", "timed events from `FILE` (cut, down, restore, kill, start, partition, merge)")
	fs.StringVar(&f.dump, "dump", "", "write the converged state as JSON to `FILE`")
	fs.BoolVar(&f.jsonOut, "json", false, "print the report as JSON")
	fs.BoolVar(&f.progress, "progress", false, "report progress on stderr every 10 s of wall time")
	fs.BoolVar(&f.check, "check", false, "check the routes with the oracle (delivery, alternatives, shortest inside gnodes)")
	fs.IntVar(&f.checkPairs, "check-pairs", 1_000_000, "with -check, sample this many pairs when there are more")
	fs.StringVar(&f.prefix, "prefix", "10.0.0.0/8", "mesh prefix")
	fs.StringVar(&f.bits, "bits", "", "bits per level, level 0 first, e.g. 8,8,8 (default: 8 per level)")
	fs.DurationVar(&f.latMin, "latency-min", time.Millisecond, "shortest link latency")
	fs.DurationVar(&f.latMax, "latency-max", 8*time.Millisecond, "longest link latency (random and islands grow it with distance)")
	fs.DurationVar(&f.jitter, "jitter", 0, "per-packet random extra delay")
	fs.Float64Var(&f.loss, "loss", 0, "per-packet loss probability of datagrams")
	fs.DurationVar(&f.spread, "start-spread", 0, "nodes start at random times in this window, as after a power cut (default: 50ms per node)")
	fs.DurationVar(&f.wave, "start-wave", 0, "instead, start nodes one by one this far apart, breadth-first from node 0: a mesh growing next to working routers")
	fs.DurationVar(&f.waitRound, "wait-round", 10*time.Second, "QSPN_WAIT_ROUND")
	fs.DurationVar(&f.quiet, "quiet", 30*time.Second, "stop after this long without route changes")
	fs.DurationVar(&f.limit, "limit", time.Hour, "stop at this virtual time whatever happens")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	rep, d, err := simulate(f, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "ntkd sim:", err)
		return exitFail
	}
	if f.dump != "" {
		if err := writeDump(f.dump, d); err != nil {
			fmt.Fprintln(stderr, "ntkd sim:", err)
			return exitFail
		}
	}
	failed := false
	var checks []*oracle.Report
	if f.check {
		checks = runChecks(d, f)
		for _, c := range checks {
			failed = failed || !c.Passed()
		}
	}
	if f.jsonOut {
		out := struct {
			*sim.Report
			Checks []*oracle.Report `json:"checks,omitempty"`
		}{rep, checks}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(out)
	} else {
		rep.Print(stdout)
		for _, c := range checks {
			fmt.Fprintln(stdout, c.String())
		}
	}
	if failed || !rep.Converged {
		return exitFail
	}
	return exitOK
}

func simulate(f simFlags, stderr io.Writer) (*sim.Report, *oracle.Dump, error) {
	prefix, err := netip.ParsePrefix(f.prefix)
	if err != nil {
		return nil, nil, fmt.Errorf("-prefix: %w", err)
	}
	bits := addr.DefaultBits(prefix)
	if f.bits != "" {
		bits = nil
		for _, b := range strings.Split(f.bits, ",") {
			v, err := strconv.Atoi(strings.TrimSpace(b))
			if err != nil || v < 1 || v > 8 {
				return nil, nil, fmt.Errorf("-bits: %q is not a number of bits 1..8", b)
			}
			bits = append(bits, uint8(v))
		}
	}
	scheme, err := addr.NewScheme(prefix, bits)
	if err != nil {
		return nil, nil, err
	}
	var tp *topo.Topology
	name := f.topology
	if f.topoFile != "" {
		fh, err := os.Open(f.topoFile)
		if err != nil {
			return nil, nil, err
		}
		defer fh.Close()
		tp, err = topo.Parse(f.topoFile, bufio.NewReader(fh))
		if err != nil {
			return nil, nil, err
		}
		name = f.topoFile
	} else {
		opt := topo.Options{Latency: f.latMin, LatencyMin: f.latMin, LatencyMax: f.latMax, Jitter: f.jitter, Loss: f.loss}
		tp, err = topo.Generate(f.topology, f.nodes, rand.New(rand.NewPCG(f.seed, 0x746f706f)), opt)
		if err != nil {
			return nil, nil, err
		}
	}
	cfg := node.DefaultConfig(scheme)
	cfg.WaitRound = f.waitRound
	cfg.RoundSettle = min(cfg.RoundSettle, f.waitRound/2)
	spread := f.spread
	if spread == 0 {
		spread = time.Duration(tp.Nodes) * 50 * time.Millisecond
	}
	s, err := sim.New(sim.Options{Topology: tp, Node: cfg, Seed: f.seed, StartSpread: spread, StartWave: f.wave})
	if err != nil {
		return nil, nil, err
	}
	if f.script != "" {
		fh, err := os.Open(f.script)
		if err != nil {
			return nil, nil, err
		}
		steps, err := sim.ParseScript(f.script, fh)
		fh.Close()
		if err != nil {
			return nil, nil, err
		}
		if err := s.Schedule(steps); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", f.script, err)
		}
	}
	start := time.Now()
	if f.progress {
		last := start
		s.OnStep = func(s *sim.Sim) {
			if time.Since(last) >= 10*time.Second {
				last = time.Now()
				fmt.Fprintf(stderr, "ntkd sim: %.0fs virtual, %d events, %d of %d hooked, last route change %.0fs, %.0fs wall\n",
					s.Now().Seconds(), s.C.Events, s.Hooked(), s.Nodes(), s.LastChange.Seconds(), time.Since(start).Seconds())
			}
		}
	}
	converged := s.RunUntilQuiet(f.quiet, f.limit)
	rep := s.Report(name, time.Since(start), converged)
	return rep, s.Dump(), nil
}

func runChecks(d *oracle.Dump, f simFlags) []*oracle.Report {
	n := len(d.Nodes)
	var del oracle.Report
	if n*(n-1) > f.checkPairs {
		del = oracle.CheckDeliverySample(d, f.checkPairs, rand.New(rand.NewPCG(f.seed, 1)))
	} else {
		del = oracle.CheckDelivery(d)
	}
	alt := oracle.CheckAlternatives(d)
	mp := oracle.CheckMultipath(d)
	grp := oracle.CheckShortestInsideGroup(d, d.GroupByPrefix(groupBits(d)))
	return []*oracle.Report{&del, &alt, &mp, &grp}
}

// groupBits is the prefix length of a level-1 gnode in the dump's scheme,
// read from the longest non-host route prefix; 24 for the default scheme.
func groupBits(d *oracle.Dump) int {
	best := 0
	for _, r := range d.Routes {
		if b := r.Dst.Bits(); b < r.Dst.Addr().BitLen() && b > best {
			best = b
		}
	}
	if best == 0 && len(d.Nodes) > 0 {
		return d.Nodes[0].Addr.BitLen() - 8
	}
	return best
}

func writeDump(path string, d *oracle.Dump) error {
	fh, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(fh, 1<<20)
	if err := json.NewEncoder(w).Encode(d); err != nil {
		fh.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := w.Flush(); err != nil {
		fh.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return fh.Close()
}
