// Command chaos is a chaos soak of real ntkd daemons in a namespace lab
// (internal/lab): a mesh of -nodes daemons (random topology by default)
// goes through rounds of random faults, each a burst of link cuts (some
// silent: carrier up, nftables drops everything), restores, SIGKILLs and
// SIGTERMs of daemons, restarts, partitions (every link across a random
// split cut) and merges, followed by a quiet period. The faults stay in
// place through the quiet period, so the invariants are checked on the
// damaged mesh: the expected reachability is the components of the
// running daemons over the links that are not cut, and every pair inside
// a component must deliver. Every -heal-every rounds, and at the end,
// everything is healed first and the whole mesh must deliver.
//
// A quiet period reads every namespace's kernel routes (lab.KernelTables)
// every -poll until the forwarding invariants hold in -stable reads in a
// row, or -quiet-timeout; then it records:
//
//   - delivery: every ordered pair of running nodes of a component
//     delivers hop by hop on the kernel's proto ntk routes (longest prefix
//     match, the highest-weight next hop), no loop, no dead end, no other
//     node holding the destination's address;
//   - alternatives: every other next hop of those routes, followed by best
//     hops, reaches the destination without coming back (the simulator's
//     loop-free alternatives);
//   - nexthops: no next hop of a running daemon's routes leads to a dead
//     node, over a cut link, or to an address its neighbour does not hold;
//   - multipath: no choice of next hops, any hop of the multipath route at
//     every node, loops or ends nowhere: the kernel hashes each flow onto
//     one of them at every node, so such a choice is a flow that never
//     arrives (the quiet period does not wait for this one);
//   - ping: real pings between -pings random pairs of a component;
//   - daemons: no daemon exited or restarted unless the soak did it;
//   - logs: no panic, fatal error or data race in any node's log.
//
// And at each fault: after SIGTERM the namespace holds no proto ntk route
// and no mesh address (term-flush); a daemon started again flushes a proto
// ntk route put into its namespace before the start, as it must flush what
// a crash left (start-flush). At the end: goroutines and heap in use of
// every daemon never restarted, compared with after the first convergence
// (memory). Counted, not an invariant: host routes to addresses outside
// the component (old routes age out by QSPN rounds).
//
// -watch D keeps reading the healed mesh for D after the end, without
// faults, and pings pairs with and without a multipath loop: whether the
// loops last and whether they cost real traffic.
//
//	go run ./bench/chaos -nodes 32 -duration 10m -seed 1 -json /tmp/chaos.json
//
// -duration is the chaos time, the sum of the bursts; the quiet periods
// come on top. The summary goes to stdout, progress to stderr; the exit
// status is 1 when an invariant failed. The nodes' logs, and the kernel
// tables of every quiet period that failed, are kept in -logs. The lab
// (its namespaces and directory) is removed at the end, also on errors
// and on SIGINT/SIGTERM. It needs root, ip, nft and ping.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	var o options
	flag.IntVar(&o.Nodes, "nodes", 32, "nodes of the lab")
	flag.StringVar(&o.Topology, "topology", "random", "lab topology: line ring grid random islands diamond, or a topology file")
	flag.Uint64Var(&o.Seed, "seed", 1, "seed of the topology and of the faults")
	flag.DurationVar(&o.Duration, "duration", 10*time.Minute, "chaos time: the sum of the bursts of faults (quiet periods come on top)")
	flag.IntVar(&o.Rounds, "rounds", 0, "stop after this many rounds (0: when -duration is spent)")
	flag.DurationVar(&o.Burst, "burst", 30*time.Second, "length of one burst of faults")
	flag.DurationVar(&o.FaultEvery, "fault-every", 3*time.Second, "mean time between two faults of a burst")
	flag.DurationVar(&o.QuietTimeout, "quiet-timeout", 90*time.Second, "how long a quiet period waits for the invariants")
	flag.DurationVar(&o.Poll, "poll", 2*time.Second, "how often a quiet period reads the kernel tables")
	flag.IntVar(&o.Stable, "stable", 3, "reads in a row with the invariants holding that end a quiet period")
	flag.IntVar(&o.HealEvery, "heal-every", 4, "every Nth round restores every link and starts every daemon before its quiet period (0: never)")
	flag.Float64Var(&o.MaxDead, "max-dead", 0.2, "fraction of the daemons dead at once, at most")
	flag.Float64Var(&o.MaxCut, "max-cut", 0.15, "fraction of the links cut at once outside a partition, at most")
	flag.IntVar(&o.Pings, "pings", 16, "pings between random pairs after each quiet period")
	flag.DurationVar(&o.Watch, "watch", 0, "after the end, keep reading the healed mesh this long without faults, pinging pairs with and without multipath loops")
	flag.DurationVar(&o.WatchEvery, "watch-every", 15*time.Second, "how often -watch reads")
	flag.DurationVar(&o.UpTimeout, "up-timeout", 5*time.Minute, "how long to wait for the first full routes")
	ntkd := flag.String("ntkd", "", "the ntkd binary (default: go build github.com/ntkd/ntkd/ntkd into a temporary directory)")
	cfg := flag.String("config", "", "TOML FILE added to every node's configuration (default: none, the daemon's default timers)")
	flag.StringVar(&o.Dir, "dir", "/run/ntkd-chaos", "the lab's state directory")
	flag.StringVar(&o.Prefix, "prefix", "chs-", "the lab's namespace prefix")
	flag.StringVar(&o.LogsDir, "logs", "", "keep the nodes' logs and the tables of failing quiet periods here (default: a new directory in $TMPDIR)")
	jsonOut := flag.String("json", "", "also write the report as JSON to FILE")
	flag.Parse()
	if o.Nodes < 2 || o.Burst <= 0 || o.FaultEvery <= 0 || o.Stable < 1 || o.Poll <= 0 || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	if os.Geteuid() != 0 {
		fail("needs root (network namespaces)")
	}
	if *cfg != "" {
		b, err := os.ReadFile(*cfg)
		if err != nil {
			fail(err.Error())
		}
		o.ExtraConfig = string(b)
	}
	work, err := os.MkdirTemp("", "ntkd-chaos-")
	if err != nil {
		fail(err.Error())
	}
	if o.LogsDir == "" {
		o.LogsDir = work
	}
	o.Ntkd = *ntkd
	if o.Ntkd == "" {
		if o.Ntkd, err = buildNtkd(work); err != nil {
			fail(err.Error())
		}
	}
	o.Progress = os.Stderr

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := runSoak(ctx, o)
	if err != nil {
		rep.Error = err.Error()
		fmt.Fprintln(os.Stderr, "chaos:", err)
	}
	rep.print(os.Stdout)
	if *jsonOut != "" {
		b, jerr := jsonIndent(rep)
		if jerr == nil {
			jerr = os.WriteFile(*jsonOut, append(b, '\n'), 0o644)
		}
		if jerr != nil {
			fmt.Fprintln(os.Stderr, "chaos: writing the JSON:", jerr)
		}
	}
	switch {
	case err != nil:
		os.Exit(2)
	case rep.Failed():
		os.Exit(1)
	}
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "chaos:", msg)
	os.Exit(2)
}
