// Command hostile is a hostile peer: it brings up a lab of real ntkd
// daemons (a line of -nodes nodes), plugs an attacker namespace into the
// victim's namespace with a veth the victim's daemon takes as a mesh
// interface, and floods the victim with every op of internal/wire, valid,
// forged, oversized, inconsistent and broken, over UDP and TCP port 269,
// one attack after the other (docs/RELIABILITY.md).
//
// The attacker has one identity that behaves as a hooked neighbour
// (fe80::1: hellos, answers to probes, a free address in the victim's
// gnode), so that the victim processes its QSPN, ROUTE_LOSS and ROUTED
// packets instead of dropping them at the door, and 1200 spoofed
// link-local sources (fe80::a:N) for everything that wants many peers.
//
// Every second it reads the lab's routes (lab.Status: every lab node must
// keep a route to every other), the victim's neighbours, heap and
// goroutines (ntkd ctl), its RSS and CPU (/proc), and at the end of each
// attack its drop counters; it prints a table to stdout, progress to
// stderr.
//
//	go build -o /tmp/ntkd-dev ./ntkd && go build -o /tmp/hostile ./bench/hostile
//	sudo /tmp/hostile -ntkd /tmp/ntkd-dev -duration 20s -attacks all
//
// Nothing is sent outside the lab's namespaces: every packet leaves the
// attacker's namespace on its veth to the victim. The lab and the
// attacker's namespace are removed at the end, also on errors and on
// SIGINT/SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/ntkd/ntkd/internal/lab"
)

type result struct {
	name        string
	sent        uint64
	dur         time.Duration
	samples     []sample
	drops       map[string]uint64
	notes       map[string]uint64
	recovered   time.Duration // after the attack, until routes were full again (0: never lost)
	unrecovered bool
	err         error
}

func main() {
	ntkd := flag.String("ntkd", "", "the ntkd binary the lab runs (required)")
	duration := flag.Duration("duration", 20*time.Second, "how long each attack runs")
	which := flag.String("attacks", "all", "comma-separated attacks, or all: "+attackNames())
	dir := flag.String("dir", "/run/ntkd-hostile", "the lab's directory")
	prefix := flag.String("prefix", "ntkh-", "the lab's namespace prefix")
	nodes := flag.Int("nodes", 4, "nodes of the lab's line")
	victim := flag.String("victim", "n2", "the node under attack")
	nsrc := flag.Int("sources", 1200, "spoofed link-local sources of the attacker")
	keepLog := flag.String("log", "/tmp/hostile-victim.log", "copy the victim's log here before the lab goes")
	flag.Parse()
	if *ntkd == "" || *duration <= 0 || *nodes < 3 {
		flag.Usage()
		os.Exit(2)
	}
	sel, err := selectAttacks(*which)
	if err != nil {
		fmt.Fprintln(os.Stderr, "hostile:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	l := lab.Lab{Dir: *dir, Prefix: *prefix}
	var w *world
	err = run(ctx, l, &w, *ntkd, *nodes, *victim, *nsrc, *duration, sel)
	if w != nil && w.victim != nil && *keepLog != "" {
		if b, rerr := os.ReadFile(w.victim.Log); rerr == nil {
			os.WriteFile(*keepLog, b, 0o644)
		}
	}
	if rerr := w.remove(); rerr != nil {
		err = errors.Join(err, fmt.Errorf("removing the attacker: %w", rerr))
	}
	if _, derr := l.Down(); derr != nil {
		err = errors.Join(err, fmt.Errorf("lab down: %w", derr))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "hostile:", err)
		os.Exit(1)
	}
}

func attackNames() string {
	var n []string
	for _, a := range attacks {
		n = append(n, a.name)
	}
	return strings.Join(n, ",")
}

func selectAttacks(spec string) ([]attack, error) {
	if spec == "all" {
		return attacks, nil
	}
	var out []attack
	for _, name := range strings.Split(spec, ",") {
		i := slices.IndexFunc(attacks, func(a attack) bool { return a.name == strings.TrimSpace(name) })
		if i < 0 {
			return nil, fmt.Errorf("no attack %q (there are %s)", name, attackNames())
		}
		out = append(out, attacks[i])
	}
	return out, nil
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

func run(ctx context.Context, l lab.Lab, wp **world, ntkd string, nodes int, victim string, nsrc int, dur time.Duration, sel []attack) error {
	tp, err := lab.NewTopology("line", nodes, 1)
	if err != nil {
		return err
	}
	logf("lab up: line of %d in %s (%s*)", nodes, l.Dir, l.Prefix)
	if _, err := l.Up(ctx, lab.UpOptions{Topology: tp, Ntkd: ntkd}); err != nil {
		return err
	}
	if err := waitFull(ctx, l, 3*time.Minute); err != nil {
		return err
	}
	w, err := addAttacker(l, victim, nsrc)
	*wp = w
	if err != nil {
		return err
	}
	if err := w.learn(ctx); err != nil {
		return err
	}
	logf("victim %s: %s (pid %d, link-local %s on %s); attacker claims %s, %d spoofed sources",
		victim, w.victimAddr, w.victimPID, w.victimLL, victimIf, w.atkAddr, len(w.srcs))
	actx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := w.openSockets(actx); err != nil {
		return err
	}
	nb := &neighbour{w: w}
	nb.claim.Store(&claim{addr: w.atkAddr, nonce: w.atkNonce})
	go nb.run(actx)
	if err := waitFull(ctx, l, 2*time.Minute); err != nil {
		return err
	}
	base := w.sampleNow(ctx, false)
	logf("baseline: victim RSS %d kB, %d routes, %d honest neighbours", base.rssKB, base.victimRoutes, base.honestNbrs)

	var results []result
	for i, at := range sel {
		if ctx.Err() != nil {
			break
		}
		if at.neighbour {
			if err := waitMeasured(ctx, w, 30*time.Second); err != nil {
				logf("%s: %v (running anyway)", at.name, err)
			}
		}
		res := runAttack(ctx, w, nb, at, dur, int64(i))
		results = append(results, res)
		logf("%s: %d sent (%.0f/s)", at.name, res.sent, float64(res.sent)/res.dur.Seconds())
		// Recovery: wait for full routes before the next attack.
		start := time.Now()
		if err := waitFull(ctx, l, 45*time.Second); err != nil {
			if ctx.Err() != nil {
				break
			}
			results[len(results)-1].unrecovered = true
			logf("%s: routes not full 45 s after the attack", at.name)
		} else if d := time.Since(start); d > 2*time.Second {
			results[len(results)-1].recovered = d
		}
		sleep(ctx, 2*time.Second)
	}
	printTable(os.Stdout, w, base, results, dur)
	return victimHealth(w)
}

func waitFull(ctx context.Context, l lab.Lab, limit time.Duration) error {
	wctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	if _, err := l.WaitUntil(wctx, 500*time.Millisecond, func(s *lab.Status) bool { return s.Full }, nil); err != nil {
		return fmt.Errorf("waiting for full routes: %w", err)
	}
	return nil
}

func waitMeasured(ctx context.Context, w *world, limit time.Duration) error {
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); sleep(ctx, 500*time.Millisecond) {
		if ok, _ := w.measured(ctx); ok || ctx.Err() != nil {
			return nil
		}
	}
	return fmt.Errorf("the victim has not measured the attacker's neighbour identity within %v", limit)
}

func runAttack(ctx context.Context, w *world, nb *neighbour, at attack, dur time.Duration, seed int64) result {
	logf("%s: %s", at.name, at.what)
	res := result{name: at.name}
	before := w.drops(ctx)
	q0, addr0 := w.rehooks(ctx)
	a := &attacker{w: w, nb: nb, rng: rand.New(rand.NewPCG(uint64(seed), 0x686f7374))}
	actx, cancel := context.WithTimeout(ctx, dur)
	defer cancel()
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- at.run(actx, a) }()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for running := true; running; {
		select {
		case res.err = <-done:
			running = false
		case <-t.C:
			s := w.sampleNow(ctx, at.probeConns)
			res.samples = append(res.samples, s)
			logf("  %s: full=%v min reaches %d, victim routes %d, honest nbrs %d (of %d), RSS %d kB, heap %d kB, %d goroutines",
				at.name, s.full, s.minReaches, s.victimRoutes, s.honestNbrs, s.nbrs, s.rssKB, s.heapAlloc>>10, s.goroutines)
		}
	}
	res.dur = time.Since(start)
	res.sent = a.sent.Load()
	after := w.drops(ctx)
	res.drops = map[string]uint64{}
	for k, v := range after {
		if d := v - before[k]; d > 0 {
			res.drops[k] = d
		}
	}
	res.notes = map[string]uint64{}
	q1, addr1 := w.rehooks(ctx)
	for k, v := range q1 {
		if d := v - q0[k]; d > 0 {
			res.notes["victim re-hooks: "+k] = d
		}
	}
	if addr1 != addr0 {
		logf("%s: the victim's address went from %s to %s", at.name, addr0, addr1)
		res.notes["victim address changed (now "+addr1+")"] = 1
	}
	a.extra.Range(func(k, v any) bool {
		res.notes[k.(string)] = v.(interface{ Load() uint64 }).Load()
		return true
	})
	if res.err != nil {
		logf("%s: %v", at.name, res.err)
	}
	return res
}

func printTable(f *os.File, w *world, base sample, results []result, dur time.Duration) {
	fmt.Fprintf(f, "\nvictim %s, baseline RSS %d kB; %v per attack\n\n", w.victim.Name, base.rssKB, dur)
	fmt.Fprintln(f, "| attack | sent/s | duration | honest routes intact | min reaches | honest nbrs min | victim peak RSS | victim CPU | honest connect | top drops |")
	fmt.Fprintln(f, "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	for _, r := range results {
		intact, minR, nbMin, peak := "yes", -1, -1, 0
		ok, refused := 0, 0
		for _, s := range r.samples {
			if !s.full {
				intact = "no"
			}
			if minR < 0 || s.minReaches < minR {
				minR = s.minReaches
			}
			if nbMin < 0 || s.honestNbrs < nbMin {
				nbMin = s.honestNbrs
			}
			peak = max(peak, s.rssKB)
			switch s.connProbe {
			case 1:
				ok++
			case -1:
				refused++
			}
		}
		if intact == "no" {
			switch {
			case r.unrecovered:
				intact += " (not back 45 s after)"
			case r.recovered > 0:
				intact += fmt.Sprintf(" (back %.0f s after)", r.recovered.Seconds())
			}
		}
		cpu := "-"
		if n := len(r.samples); n > 1 {
			d := r.samples[n-1].cpuTicks - r.samples[0].cpuTicks
			cpu = fmt.Sprintf("%.0f%%", float64(d)/100/float64(n-1)*100)
		}
		conn := "-"
		if ok+refused > 0 {
			conn = fmt.Sprintf("%d/%d accepted", ok, ok+refused)
		}
		fmt.Fprintf(f, "| %s | %.0f | %.0f s | %s | %d | %d | %.1f MB | %s | %s | %s |\n",
			r.name, float64(r.sent)/r.dur.Seconds(), r.dur.Seconds(), intact, minR, nbMin, float64(peak)/1024, cpu, conn, topDrops(r.drops, 4))
	}
	fmt.Fprintln(f)
	for _, r := range results {
		var notes []string
		for k, v := range r.notes {
			notes = append(notes, fmt.Sprintf("%s %d", k, v))
		}
		sort.Strings(notes)
		if r.err != nil {
			notes = append(notes, "error: "+r.err.Error())
		}
		if len(notes) > 0 {
			fmt.Fprintf(f, "- %s: %s\n", r.name, strings.Join(notes, ", "))
		}
	}
}

func topDrops(d map[string]uint64, n int) string {
	type kv struct {
		k string
		v uint64
	}
	var all []kv
	for k, v := range d {
		all = append(all, kv{k, v})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].v > all[j].v || all[i].v == all[j].v && all[i].k < all[j].k })
	var out []string
	for i, e := range all {
		if i == n {
			break
		}
		out = append(out, fmt.Sprintf("%s %d", e.k, e.v))
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, "; ")
}

// victimHealth reports a victim that died or panicked: its pid, and its
// log (read before lab.Down deletes it).
func victimHealth(w *world) error {
	var errs []error
	if _, t := procStats(w.victimPID); t == 0 {
		errs = append(errs, fmt.Errorf("victim %s (pid %d) is gone", w.victim.Name, w.victimPID))
	}
	b, err := os.ReadFile(w.victim.Log)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	log := string(b)
	for _, bad := range []string{"panic:", "fatal error:", "SIGSEGV", "level=ERROR"} {
		if n := strings.Count(log, bad); n > 0 {
			i := strings.Index(log, bad)
			excerpt := log[i:min(len(log), i+600)]
			fmt.Fprintf(os.Stderr, "victim log: %d × %q, first:\n%s\n", n, bad, excerpt)
			if bad != "level=ERROR" {
				errs = append(errs, fmt.Errorf("victim log has %q", bad))
			}
		}
	}
	fmt.Fprintf(os.Stderr, "victim log: %d lines, %d bytes\n", strings.Count(log, "\n"), len(log))
	return errors.Join(errs...)
}
