// Command igsfailover measures how fast the mesh's clients stop sending
// to an Internet gateway that stopped working (docs/IGS.md), in the lab of
// `ntkd lab up --topology line --nodes 5 --gateways n1,n5`, with the
// default timers and the gateways' probe interval of -probe:
//
//   - uplink down: n5's uplink device goes down while n5 runs; client n4;
//   - uplink silent: n5's uplink stays up but the stand-in Internet drops
//     everything from it (nftables in the WAN namespace); client n4;
//   - gateway killed: n1's daemon is killed (SIGKILL); client n2.
//
// For each, the time from the fault until the client's IGS table (110)
// no longer holds the gateway, and until a fresh TCP connection from the
// client to the echo server gets its echo back (flows hash over the
// gateways, so the second time can be shorter than the first). Between
// repetitions the fault is undone and both clients use both gateways again.
//
//	go build -o /tmp/ntkd-dev ./ntkd && go build -o /tmp/igsfailover ./bench/igsfailover
//	sudo /tmp/igsfailover -ntkd /tmp/ntkd-dev
//
// Everything lives in the lab's namespaces and directory, removed at the
// end, also on errors and on SIGINT/SIGTERM. The table goes to stdout,
// progress to stderr.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/ntkd/ntkd/internal/lab"
)

type scenario struct {
	key, name, gateway, client string
	fault, undo                func() error
}

func main() {
	ntkd := flag.String("ntkd", "", "the ntkd binary the lab runs (required)")
	runs := flag.Int("runs", 5, "repetitions of each fault")
	only := flag.String("faults", "", "comma-separated faults to run (default: all): down, silent, killed")
	probe := flag.Duration("probe", 10*time.Second, "the gateways' [igs] probe_interval (10s is the default)")
	dir := flag.String("dir", "/run/ntkd-igsfailover", "the lab's directory")
	prefix := flag.String("prefix", "ntkf-", "the lab's namespace prefix")
	flag.Parse()
	if *ntkd == "" || *runs < 1 {
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	l := lab.Lab{Dir: *dir, Prefix: *prefix}
	err := run(ctx, l, *ntkd, *runs, *probe, *only)
	if _, derr := l.Down(); derr != nil {
		err = errors.Join(err, fmt.Errorf("lab down: %w", derr))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "igsfailover:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, l lab.Lab, ntkd string, runs int, probe time.Duration, only string) error {
	tp, err := lab.NewTopology("line", 5, 1)
	if err != nil {
		return err
	}
	if _, err := l.Up(ctx, lab.UpOptions{Topology: tp, Ntkd: ntkd, Gateways: []string{"n1", "n5"}, GatewayProbeInterval: probe}); err != nil {
		return err
	}
	addr := map[string]string{}
	refresh := func() error {
		wctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
		defer cancel()
		st, err := l.WaitUntil(wctx, 500*time.Millisecond, func(s *lab.Status) bool { return s.Full }, nil)
		if err != nil {
			return fmt.Errorf("waiting for full routes: %w", err)
		}
		for _, n := range st.Nodes {
			addr[n.Name] = n.Address.String()
		}
		return nil
	}
	if err := refresh(); err != nil {
		return err
	}
	state, err := l.Load()
	if err != nil {
		return err
	}
	wan := state.WAN.Namespace
	n5, err := state.Gateway("n5")
	if err != nil {
		return err
	}
	nft := func(args ...string) error {
		out, err := exec.Command("ip", append([]string{"netns", "exec", wan, "nft"}, args...)...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("nft %s: %v: %s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	scenarios := []scenario{
		{"down", "uplink down", "n5", "n4", func() error { return l.Uplink("n5", false) }, func() error { return l.Uplink("n5", true) }},
		{"silent", "uplink silent", "n5", "n4", func() error {
			return nft("add table inet igsfail; add chain inet igsfail in { type filter hook input priority 0; }; add rule inet igsfail in ip saddr " +
				n5.Address.Addr().String() + " drop")
		}, func() error { return nft("delete table inet igsfail") }},
		{"killed", "gateway killed", "n1", "n2", func() error { _, err := l.Kill("n1", false); return err },
			func() error { _, err := l.Start("n1"); return err }},
	}
	uses := func(client, gw string) (bool, error) {
		out, err := l.Exec(ctx, client, "ip", "route", "show", "table", "110")
		if err != nil && strings.Contains(string(out), "does not exist") {
			return false, nil // no gateway route yet
		}
		if err != nil {
			return false, fmt.Errorf("%s: ip route: %v: %s", client, err, out)
		}
		return strings.Contains(string(out), "dst "+addr[gw]+" "), nil
	}
	waitFor := func(what string, limit time.Duration, ok func() (bool, error)) (time.Duration, error) {
		start := time.Now()
		for {
			done, err := ok()
			if err != nil {
				return 0, err
			}
			if done {
				return time.Since(start), nil
			}
			if time.Since(start) > limit {
				return 0, fmt.Errorf("%s: not within %v", what, limit)
			}
			select {
			case <-ctx.Done():
				return 0, ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	bothInUse := func() error {
		for _, c := range []string{"n2", "n4"} {
			for _, g := range []string{"n1", "n5"} {
				if _, err := waitFor(c+" uses "+g, 3*time.Minute, func() (bool, error) { return uses(c, g) }); err != nil {
					return err
				}
			}
		}
		return nil
	}
	echo := func(client string) (bool, error) {
		// A fresh connection each time, bash's /dev/tcp: no client to install.
		script := fmt.Sprintf("exec 3<>/dev/tcp/%s/%d && echo ntk >&3 && read -t 1 r <&3 && [ \"$r\" = ntk ]",
			lab.EchoAddr.Addr(), lab.EchoAddr.Port())
		_, err := l.Exec(ctx, client, "timeout", "1", "bash", "-c", script)
		return err == nil, nil
	}

	fmt.Printf("| fault | client | stops using the gateway: median (all) | echo again: median (all) |\n| --- | --- | --- | --- |\n")
	for _, sc := range scenarios {
		if only != "" && !slices.Contains(strings.Split(only, ","), sc.key) {
			continue
		}
		var drop, back []time.Duration
		for i := range runs {
			if err := bothInUse(); err != nil {
				return err
			}
			fmt.Fprintf(os.Stderr, "%s, run %d\n", sc.name, i+1)
			start := time.Now()
			if err := sc.fault(); err != nil {
				return err
			}
			d, err := waitFor(sc.client+" drops "+sc.gateway, 2*time.Minute, func() (bool, error) {
				u, err := uses(sc.client, sc.gateway)
				return !u, err
			})
			if err != nil {
				return err
			}
			drop = append(drop, d)
			if _, err := waitFor(sc.client+" echo", time.Minute, func() (bool, error) { return echo(sc.client) }); err != nil {
				return err
			}
			back = append(back, time.Since(start))
			if err := sc.undo(); err != nil {
				return err
			}
			// A restarted node hooks again, maybe at another address.
			if err := refresh(); err != nil {
				return err
			}
		}
		fmt.Printf("| %s | %s | %s | %s |\n", sc.name, sc.client, summary(drop), summary(back))
	}
	return nil
}

// summary is "median s (each run)".
func summary(ds []time.Duration) string {
	all := make([]string, len(ds))
	for i, d := range ds {
		all[i] = fmt.Sprintf("%.1f", d.Seconds())
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return fmt.Sprintf("%.1f s (%s)", s[len(s)/2].Seconds(), strings.Join(all, ", "))
}
