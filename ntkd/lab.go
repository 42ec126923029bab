//go:build !router

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/ntkd/ntkd/internal/lab"
	"github.com/ntkd/ntkd/internal/topo"
)

const labUsage = `usage: ntkd lab COMMAND [flags] [ARGS]

A mesh of real ntkd daemons on this machine: one network namespace per node,
veth pairs as links. Needs root.

commands:
  up       --topology ring|line|grid|random|FILE --nodes N [--seed S] [--ntkd PATH] [--wait 60s] [--json]
           [--islands K]      K islands of N nodes each (n1..nN the first), all
                              from the same first address so their ids collide;
                              the first node of each is a gate on a shared
                              "internet" with a tunnel to every other gate.
                              Each island converges apart, then the internet
                              is connected and they join.
           [--entry-server]   with --islands: no tunnel is configured; an
                              entry server runs on the internet, every gate
                              is an entry node (listed after a minute) and
                              the gates join by virtual hooks
           [--gateways N1,N2] these nodes get an uplink "up0" to a stand-in
                              Internet (namespace PREFIXwan, echo server on
                              203.0.113.1:7 TCP and UDP) and share it with
                              the mesh ([igs] share_internet)
  status   [--json]           routes per node; exit 0 once every node reaches every other
  exec     NODE -- CMD...     run CMD inside NODE's namespace
  cut      A B [--silent]     take the link A-B down (--silent: carrier up, packets dropped)
  restore  A B                undo cut
  link     A B                a new link between A and B (both daemons reload)
  kill     NODE [--term]      SIGKILL NODE's daemon (a crash), or SIGTERM (a clean stop)
  start    NODE               start NODE's daemon again
  connect    [ISLAND...]      connect the islands' gates to the internet (default all)
  disconnect [ISLAND...]      take them off it: their tunnels go silent
  uplink   cut|restore NODE   take gateway NODE's uplink down (the daemon runs on), or up again
  down                        remove everything, also what a crashed lab left

every command takes --dir DIR (default $NTKD_LAB_DIR or /run/ntkd-lab) and
--prefix P (namespace name prefix, default $NTKD_LAB_PREFIX or ntkdlab-).
`

// runLab is `ntkd lab`: a thin command line over internal/lab.
func runLab(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, labUsage)
		return exitUsage
	}
	cmds := map[string]func(string, []string, io.Writer, io.Writer) int{
		"up": labUp, "status": labStatus, "exec": labExec, "cut": labCut, "restore": labPair("restore", lab.Lab.Restore, "restored"),
		"kill": labKill, "start": labStart, "down": labDown,
		"connect": labConnect, "disconnect": labConnect, "link": labPair("link", lab.Lab.AddLink, "linked"),
		"uplink": labUplink,
		// Not in the usage: what lab up runs inside the stand-in Internet.
		"echo-server": labEchoServer,
	}
	lead, args := leadingLabFlags(args)
	if len(args) == 0 {
		fmt.Fprint(stderr, labUsage)
		return exitUsage
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, labUsage)
		return exitOK
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "ntkd lab: unknown command %q\n\n%s", args[0], labUsage)
		return exitUsage
	}
	return cmd(args[0], append(lead, args[1:]...), stdout, stderr)
}

// leadingLabFlags takes --dir and --prefix written before the command
// (`ntkd lab --dir D exec n1 -- ip r`, the form the hints print), so that
// the command parses them like its own.
func leadingLabFlags(args []string) (lead, rest []string) {
	for len(args) > 0 {
		name, _, hasValue := strings.Cut(strings.TrimLeft(args[0], "-"), "=")
		if !strings.HasPrefix(args[0], "-") || (name != "dir" && name != "prefix") {
			break
		}
		n := 2
		if hasValue {
			n = 1
		}
		n = min(n, len(args))
		lead, args = append(lead, args[:n]...), args[n:]
	}
	return lead, args
}

// labFlags makes the flag set of a lab command, with the flags every one
// of them takes.
func labFlags(name string, stderr io.Writer, l *lab.Lab) *flag.FlagSet {
	fs := newFlags("lab "+name, stderr)
	*l = lab.FromEnv()
	fs.StringVar(&l.Dir, "dir", l.Dir, "state `directory` of the lab (env "+lab.EnvDir+")")
	fs.StringVar(&l.Prefix, "prefix", l.Prefix, "namespace name `prefix` (env "+lab.EnvPrefix+")")
	return fs
}

// parseLabArgs parses flags wherever they stand among the positional
// arguments (`cut n1 n2 --silent`), which the flag package alone does not,
// and checks the number of positional arguments. Everything after "--" is
// positional.
func parseLabArgs(fs *flag.FlagSet, args []string, want int, usage string) ([]string, int, bool) {
	var tail []string
	if i := slices.Index(args, "--"); i >= 0 {
		args, tail = args[:i], args[i+1:]
	}
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, exitOK, false
			}
			return nil, exitUsage, false
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos, args = append(pos, args[0]), args[1:]
	}
	pos = append(pos, tail...)
	if want >= 0 && len(pos) != want {
		fmt.Fprintf(fs.Output(), "usage: ntkd %s\n", usage)
		return nil, exitUsage, false
	}
	return pos, 0, true
}

// needRoot says so in words instead of letting the first netlink call fail
// with "operation not permitted".
func needRoot(stderr io.Writer) bool {
	if os.Geteuid() == 0 {
		return true
	}
	fmt.Fprintln(stderr, "ntkd lab: needs root (it creates network namespaces): run it with sudo")
	return false
}

// labCommand is how to call `ntkd lab` again for the same lab, for the hints
// printed: the flags that differ from the environment's defaults included.
func labCommand(l lab.Lab) string {
	s := "ntkd lab"
	env := lab.FromEnv()
	if l.Dir != env.Dir {
		s += " --dir " + l.Dir
	}
	if l.Prefix != env.Prefix {
		s += " --prefix " + l.Prefix
	}
	return s
}

func labUp(name string, args []string, stdout, stderr io.Writer) int {
	var l lab.Lab
	fs := labFlags(name, stderr, &l)
	spec := fs.String("topology", "ring", "a generator ("+strings.Join(topo.Kinds(), ", ")+") or a topology `FILE` (lines: a b)")
	nodes := fs.Int("nodes", 8, "number of nodes of a generated topology (of each island with --islands)")
	islands := fs.Int("islands", 0, "make K islands of the topology that join through tunnels (K >= 2)")
	entrySrv := fs.Bool("entry-server", false, "with --islands: no configured tunnels; an entry server on the internet, every gate an entry node, and the gates join by virtual hooks")
	seed := fs.Uint64("seed", 1, "seed of the random generators (the same as ntkd sim's)")
	ntkd := fs.String("ntkd", "", "the ntkd `binary` each node runs (default: this one)")
	wait := fs.Duration("wait", 60*time.Second, "wait this long for every node to have a route to every other; 0: do not wait")
	jsonOut := fs.Bool("json", false, "print the result as JSON")
	extra := fs.String("config", "", "add this TOML `FILE` to every node's configuration (e.g. [qspn] or [radar] timers)")
	gwList := fs.String("gateways", "", "comma-separated `nodes` (n1,n5) with an uplink to a stand-in Internet, shared with the mesh")
	if _, code, ok := parseLabArgs(fs, args, 0, "lab up [--topology KIND|FILE] [--nodes N] [--seed S] [--ntkd PATH] [--wait D] [--json] [--gateways N1,N2]"); !ok {
		return code
	}
	gateways, err := parseGateways(*gwList)
	if err != nil {
		fmt.Fprintln(stderr, "ntkd lab up: --gateways:", err)
		return exitUsage
	}
	if !needRoot(stderr) {
		return exitFail
	}
	var tp *topo.Topology
	n := *nodes
	if !slices.Contains(topo.Kinds(), *spec) && !flagSet(fs, "nodes") {
		n = 0 // a file says how many nodes it has
	}
	tp, err = lab.NewTopology(*spec, n, *seed)
	if err != nil {
		fmt.Fprintln(stderr, "ntkd lab up:", err)
		return exitFail
	}
	bin := *ntkd
	if bin == "" {
		if bin, err = os.Executable(); err != nil {
			fmt.Fprintln(stderr, "ntkd lab up: finding this binary (use --ntkd):", err)
			return exitFail
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var extraConfig []byte
	if *extra != "" {
		if extraConfig, err = os.ReadFile(*extra); err != nil {
			fmt.Fprintln(stderr, "ntkd lab up:", err)
			return exitUsage
		}
	}
	if flagSet(fs, "islands") && *islands < 2 || *entrySrv && *islands < 2 {
		fmt.Fprintln(stderr, "ntkd lab up: --islands wants 2 or more")
		return exitUsage
	}
	s, err := l.Up(ctx, lab.UpOptions{Topology: tp, Seed: *seed, Ntkd: bin, ExtraConfig: string(extraConfig), Islands: *islands, Gateways: gateways, EntryServer: *entrySrv})
	if err != nil {
		fmt.Fprintln(stderr, "ntkd lab up:", err)
		return exitFail
	}
	started := time.Now()
	if !*jsonOut {
		printLabHeader(stdout, l, s, *spec)
	}
	if *wait <= 0 {
		if *jsonOut {
			writeJSON(stdout, map[string]any{"state": s})
		} else {
			fmt.Fprintf(stdout, "\nnot waiting (--wait 0): %s status shows how far the routes are\n", labCommand(l))
		}
		return exitOK
	}

	wctx, cancel := context.WithTimeout(ctx, *wait)
	defer cancel()
	prog := newProgress(stderr)
	watch := func(st *lab.Status) error {
		prog.show(st, time.Since(started))
		if st.Running < len(st.Nodes) {
			return errDaemonDown
		}
		return nil
	}
	var st *lab.Status
	var apart time.Duration
	if len(s.Islands) > 0 {
		st, err = l.WaitUntil(wctx, 500*time.Millisecond, (*lab.Status).IslandsFull, watch)
		apart = time.Since(started)
		if err == nil {
			prog.done()
			if !*jsonOut {
				fmt.Fprintf(stdout, "\nevery island converged apart in %.1fs; connecting the internet\n", apart.Seconds())
			}
			err = l.Connect(true)
		}
	}
	if err == nil {
		st, err = l.Wait(wctx, 500*time.Millisecond, watch)
	}
	prog.done()
	elapsed := time.Since(started)
	if *jsonOut {
		out := map[string]any{"state": s, "status": st, "converged": err == nil, "seconds": elapsed.Seconds()}
		if len(s.Islands) > 0 {
			out["islands_apart_seconds"] = apart.Seconds()
		}
		if err != nil {
			out["error"] = err.Error()
		}
		writeJSON(stdout, out)
	}
	switch {
	case err == nil:
		if !*jsonOut {
			if len(s.Islands) > 0 {
				fmt.Fprintf(stdout, "\nthe islands joined %.1fs after the internet came up\n", (elapsed - apart).Seconds())
			}
			fmt.Fprintf(stdout, "\nconverged in %.1fs: every node has a route to every other (%d/%d)\n\n", elapsed.Seconds(), st.Reached, st.Pairs)
			printStatusTable(stdout, s, st)
			printHints(stdout, l, st)
		}
		return exitOK
	case errors.Is(err, errDaemonDown):
		fmt.Fprintln(stderr, "\nntkd lab up: a daemon is not running:")
		printDeadDaemons(stderr, s, st)
	case st != nil && errors.Is(err, context.DeadlineExceeded):
		fmt.Fprintf(stderr, "\nntkd lab up: not converged after %v: %d/%d nodes hooked, %d/%d routes\n",
			*wait, st.Hooked, len(st.Nodes), st.Reached, st.Pairs)
	case st != nil && errors.Is(err, context.Canceled):
		fmt.Fprintln(stderr, "\nntkd lab up: interrupted")
	default:
		fmt.Fprintln(stderr, "ntkd lab up:", err)
	}
	tw := tabwriter.NewWriter(stderr, 0, 0, 3, ' ', 0)
	fmt.Fprintln(tw, "the lab stays up for inspection:")
	fmt.Fprintf(tw, "  %s status\twhich routes are missing\n", labCommand(l))
	fmt.Fprintf(tw, "  %s/<node>/ntkd.log\tthe daemons' logs\n", l.Dir)
	fmt.Fprintf(tw, "  %s down\tremove it\n", labCommand(l))
	tw.Flush()
	return exitFail
}

var errDaemonDown = errors.New("a daemon is not running")

func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func printLabHeader(w io.Writer, l lab.Lab, s *lab.State, spec string) {
	fmt.Fprintf(w, "ntkd lab: %s, %d nodes, %d links", s.Topology, len(s.Nodes), len(s.Links))
	if slices.Contains([]string{"random", "islands"}, spec) {
		fmt.Fprintf(w, ", seed %d", s.Seed)
	}
	fmt.Fprintf(w, "\n  daemons     %s run -c %s/<node>/ntkd.toml\n", s.Ntkd, l.Dir)
	fmt.Fprintf(w, "  namespaces  %s .. %s\n", s.Nodes[0].Namespace, s.Nodes[len(s.Nodes)-1].Namespace)
	for j, is := range s.Islands {
		fmt.Fprintf(w, "  island %-4d %s..%s, gate %s at %s on the internet (%s)\n", j+1, is.Nodes[0], is.Nodes[len(is.Nodes)-1], is.Gate, is.Address, s.Internet)
	}
	if s.WAN != nil {
		var gws []string
		for _, g := range s.Gateways {
			gws = append(gws, fmt.Sprintf("%s (%s %s)", g.Node, g.Device, g.Address))
		}
		fmt.Fprintf(w, "  gateways    %s: uplinks to %s, echo server on %s\n", strings.Join(gws, ", "), s.WAN.Namespace, s.WAN.Echo)
	}
	fmt.Fprintf(w, "  state       %s (logs: %s/<node>/ntkd.log)\n", l.Dir, l.Dir)
}

// parseGateways splits the --gateways list; lab.Up checks that each names
// a node of the lab, once.
func parseGateways(list string) ([]string, error) {
	if strings.TrimSpace(list) == "" {
		return nil, nil
	}
	var out []string
	for _, g := range strings.Split(list, ",") {
		g = strings.TrimSpace(g)
		if g == "" {
			return nil, fmt.Errorf("%q: an empty node name (want e.g. n1,n5)", list)
		}
		out = append(out, g)
	}
	return out, nil
}

// progress shows the convergence on one line that updates in place on a
// terminal, or as a new line at each change otherwise (a log file).
type progress struct {
	w    io.Writer
	tty  bool
	last string
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

func (p *progress) show(st *lab.Status, elapsed time.Duration) {
	line := fmt.Sprintf("converging: %d/%d nodes hooked, %d/%d routes", st.Hooked, len(st.Nodes), st.Reached, st.Pairs)
	if len(st.Islands) > 0 {
		full := 0
		for _, is := range st.Islands {
			if is.Full {
				full++
			}
		}
		line += fmt.Sprintf(", %d/%d islands whole", full, len(st.Islands))
	}
	switch {
	case p.tty:
		fmt.Fprintf(p.w, "\r\033[K%s (%ds)", line, int(elapsed.Seconds()))
	case line != p.last:
		fmt.Fprintf(p.w, "%s (%.1fs)\n", line, elapsed.Seconds())
	}
	p.last = line
}

func (p *progress) done() {
	if p.tty && p.last != "" {
		fmt.Fprintln(p.w)
	}
}

// printDeadDaemons names the nodes whose daemon is not running, with the
// end of their logs: the reason is usually there.
func printDeadDaemons(w io.Writer, s *lab.State, st *lab.Status) {
	shown := 0
	for i, ns := range st.Nodes {
		if ns.Running {
			continue
		}
		if shown == 3 {
			fmt.Fprintf(w, "  (and %d more)\n", len(st.Nodes)-st.Running-shown)
			break
		}
		shown++
		fmt.Fprintf(w, "  %s: last lines of %s:\n", ns.Name, s.Nodes[i].Log)
		for _, line := range tailLines(s.Nodes[i].Log, 6) {
			fmt.Fprintf(w, "    %s\n", line)
		}
	}
}

func tailLines(path string, n int) []string {
	f, err := os.Open(path)
	if err != nil {
		return []string{err.Error()}
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return lines
}

func printStatusTable(w io.Writer, s *lab.State, st *lab.Status) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	// The column of missing routes only when some are missing: the table
	// of a converged lab stays narrow.
	missing := st.Reached < st.Pairs
	header := "node\tdaemon\taddress\troutes\treaches\tlinks"
	if missing {
		header += "\tmissing"
	}
	fmt.Fprintln(tw, header)
	for i, ns := range st.Nodes {
		daemon := "stopped"
		if ns.Running {
			daemon = fmt.Sprintf("pid %d", ns.PID)
		}
		address := "-"
		if ns.Hooked {
			address = ns.Address.String()
		}
		if ns.Error != "" {
			address = "(unreadable)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d/%d\t%s", ns.Name, daemon, address, ns.Routes, ns.Reaches, len(st.Nodes)-1,
			strings.Join(s.Nodes[i].Interfaces, " "))
		if missing {
			fmt.Fprintf(tw, "\t%s", abbreviate(ns.Unreached, 6))
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	var down, silent []string
	for _, l := range st.Links {
		if !l.Up {
			down = append(down, l.A+"-"+l.B)
		}
		if l.Silent {
			silent = append(silent, l.A+"-"+l.B)
		}
	}
	if len(down) > 0 {
		fmt.Fprintf(w, "links down: %s\n", strings.Join(down, " "))
	}
	if len(silent) > 0 {
		fmt.Fprintf(w, "links cut silently: %s\n", strings.Join(silent, " "))
	}
	if st.WAN != nil {
		var gws []string
		for _, g := range st.Gateways {
			state := "up"
			if !g.Up {
				state = "cut"
			}
			gws = append(gws, fmt.Sprintf("%s (%s %s, %s)", g.Node, g.Device, g.Address, state))
		}
		echo := "not running"
		if st.WAN.EchoPID != 0 {
			echo = fmt.Sprintf("pid %d", st.WAN.EchoPID)
		}
		fmt.Fprintf(w, "gateways: %s; echo server %s in %s: %s\n", strings.Join(gws, " "), st.WAN.Echo, st.WAN.Namespace, echo)
	}
	for _, ns := range st.Nodes {
		if ns.Error != "" {
			fmt.Fprintf(w, "%s: %s\n", ns.Name, ns.Error)
		}
	}
}

func abbreviate(names []string, n int) string {
	if len(names) <= n {
		return strings.Join(names, " ")
	}
	return fmt.Sprintf("%s +%d", strings.Join(names[:n], " "), len(names)-n)
}

func printHints(w io.Writer, l lab.Lab, st *lab.Status) {
	c := labCommand(l)
	a, b := st.Nodes[0].Name, st.Nodes[len(st.Nodes)-1].Name
	target := st.Nodes[len(st.Nodes)-1].Address
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	fmt.Fprintln(tw, "\nnext:")
	fmt.Fprintf(tw, "  %s status\troutes per node\n", c)
	fmt.Fprintf(tw, "  %s exec %s -- ip route show proto 15\tany command inside %s\n", c, a, a)
	if target.IsValid() {
		fmt.Fprintf(tw, "  %s exec %s -- ping -c 3 %s\ttraffic from %s to %s\n", c, a, target, a, b)
	}
	fmt.Fprintf(tw, "  %s exec %s -- dig @127.0.0.1 -p %d +short %s.ntk\t%s's name through ANDNA (registered some seconds after the hook)\n", c, a, lab.DNSPort, b, b)
	fmt.Fprintf(tw, "  %s cut %s %s [--silent]\tbreak a link; %s restore %s %s heals it\n", c, st.Links[0].A, st.Links[0].B, c, st.Links[0].A, st.Links[0].B)
	fmt.Fprintf(tw, "  %s kill %s [--term]\tcrash (or stop) a daemon; start %s brings it back\n", c, b, b)
	fmt.Fprintf(tw, "  %s down\tremove everything\n", c)
	tw.Flush()
}

func labStatus(name string, args []string, stdout, stderr io.Writer) int {
	var l lab.Lab
	fs := labFlags(name, stderr, &l)
	jsonOut := fs.Bool("json", false, "print the status as JSON")
	if _, code, ok := parseLabArgs(fs, args, 0, "lab status [--json]"); !ok {
		return code
	}
	if !needRoot(stderr) {
		return exitFail
	}
	s, err := l.Load()
	if err != nil {
		fmt.Fprintln(stderr, "ntkd lab status:", err)
		return exitFail
	}
	st, err := l.Status()
	if err != nil {
		fmt.Fprintln(stderr, "ntkd lab status:", err)
		return exitFail
	}
	if err := l.FindSilentCuts(st); err != nil {
		fmt.Fprintln(stderr, "ntkd lab status:", err)
	}
	if *jsonOut {
		writeJSON(stdout, st)
	} else {
		verdict := "full: every node has a route to every other"
		if !st.Full {
			verdict = "not full"
		}
		fmt.Fprintf(stdout, "lab %s: %d/%d daemons running, %d/%d nodes hooked, %d/%d routes: %s\n\n",
			st.Topology, st.Running, len(st.Nodes), st.Hooked, len(st.Nodes), st.Reached, st.Pairs, verdict)
		printStatusTable(stdout, s, st)
	}
	if !st.Full {
		return exitFail
	}
	return exitOK
}

func labExec(name string, args []string, stdout, stderr io.Writer) int {
	var l lab.Lab
	fs := labFlags(name, stderr, &l)
	// Without "--", the command starts at the first argument after NODE:
	// its own flags must not be taken for ours.
	if !slices.Contains(args, "--") {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return exitOK
			}
			return exitUsage
		}
		if rest := fs.Args(); len(rest) > 1 {
			args = append([]string{rest[0], "--"}, rest[1:]...)
		} else {
			args = rest
		}
	}
	pos, code, ok := parseLabArgs(fs, args, -1, "")
	if !ok {
		return code
	}
	if len(pos) < 2 {
		fmt.Fprintln(stderr, "usage: ntkd lab exec NODE -- CMD [ARGS...]")
		return exitUsage
	}
	if !needRoot(stderr) {
		return exitFail
	}
	cmd, err := l.Command(context.Background(), pos[0], pos[1:]...)
	if err != nil {
		fmt.Fprintln(stderr, "ntkd lab exec:", err)
		return exitFail
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, stdout, stderr
	// Ctrl-C is for the command (it shares the terminal): outlive it and
	// report its exit status.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt)
	defer signal.Stop(sig)
	if err := cmd.Run(); err != nil {
		if ee, ok := errors.AsType[*exec.ExitError](err); ok && ee.ExitCode() >= 0 {
			return ee.ExitCode()
		}
		fmt.Fprintln(stderr, "ntkd lab exec:", err)
		return exitFail
	}
	return exitOK
}

func labCut(name string, args []string, stdout, stderr io.Writer) int {
	var l lab.Lab
	fs := labFlags(name, stderr, &l)
	silent := fs.Bool("silent", false, "keep the carrier up and drop every packet both ways (nftables)")
	pos, code, ok := parseLabArgs(fs, args, 2, "lab cut A B [--silent]")
	if !ok {
		return code
	}
	if !needRoot(stderr) {
		return exitFail
	}
	if err := l.Cut(pos[0], pos[1], *silent); err != nil {
		fmt.Fprintln(stderr, "ntkd lab cut:", err)
		return exitFail
	}
	if *silent {
		fmt.Fprintf(stdout, "%s-%s cut silently: carrier up, every packet dropped both ways (nft table netdev %s)\n", pos[0], pos[1], lab.NftTable)
	} else {
		fmt.Fprintf(stdout, "%s-%s cut: the interfaces at both ends are down\n", pos[0], pos[1])
	}
	return exitOK
}

func labKill(name string, args []string, stdout, stderr io.Writer) int {
	var l lab.Lab
	fs := labFlags(name, stderr, &l)
	term := fs.Bool("term", false, "stop cleanly with SIGTERM instead of crashing with SIGKILL")
	pos, code, ok := parseLabArgs(fs, args, 1, "lab kill NODE [--term]")
	if !ok {
		return code
	}
	if !needRoot(stderr) {
		return exitFail
	}
	pid, err := l.Kill(pos[0], *term)
	if err != nil {
		fmt.Fprintln(stderr, "ntkd lab kill:", err)
		return exitFail
	}
	if *term {
		fmt.Fprintf(stdout, "%s: stopped pid %d (SIGTERM)\n", pos[0], pid)
	} else {
		fmt.Fprintf(stdout, "%s: killed pid %d (SIGKILL, a crash: its routes stay in the kernel)\n", pos[0], pid)
	}
	return exitOK
}

func labStart(name string, args []string, stdout, stderr io.Writer) int {
	var l lab.Lab
	fs := labFlags(name, stderr, &l)
	pos, code, ok := parseLabArgs(fs, args, 1, "lab start NODE")
	if !ok {
		return code
	}
	if !needRoot(stderr) {
		return exitFail
	}
	pid, err := l.Start(pos[0])
	if err != nil {
		fmt.Fprintln(stderr, "ntkd lab start:", err)
		return exitFail
	}
	fmt.Fprintf(stdout, "%s: started, pid %d (log: %s/%s/ntkd.log)\n", pos[0], pid, l.Dir, pos[0])
	return exitOK
}

// labPair makes a lab command that applies to the link between two nodes
// (restore A B, link A B) and prints "A-B done".
func labPair(verb string, apply func(lab.Lab, string, string) error, done string) func(string, []string, io.Writer, io.Writer) int {
	return func(name string, args []string, stdout, stderr io.Writer) int {
		var l lab.Lab
		fs := labFlags(name, stderr, &l)
		pos, code, ok := parseLabArgs(fs, args, 2, "lab "+verb+" A B")
		if !ok {
			return code
		}
		if !needRoot(stderr) {
			return exitFail
		}
		if err := apply(l, pos[0], pos[1]); err != nil {
			fmt.Fprintf(stderr, "ntkd lab %s: %v\n", verb, err)
			return exitFail
		}
		fmt.Fprintf(stdout, "%s-%s %s\n", pos[0], pos[1], done)
		return exitOK
	}
}

// labConnect is `lab connect` and `lab disconnect`.
func labConnect(name string, args []string, stdout, stderr io.Writer) int {
	var l lab.Lab
	fs := labFlags(name, stderr, &l)
	pos, code, ok := parseLabArgs(fs, args, -1, "lab "+name+" [ISLAND...]")
	if !ok {
		return code
	}
	if !needRoot(stderr) {
		return exitFail
	}
	var islands []int
	for _, a := range pos {
		j, err := strconv.Atoi(a)
		if err != nil {
			fmt.Fprintf(stderr, "ntkd lab %s: %q is not an island number\n", name, a)
			return exitUsage
		}
		islands = append(islands, j)
	}
	if err := l.Connect(name == "connect", islands...); err != nil {
		fmt.Fprintf(stderr, "ntkd lab %s: %v\n", name, err)
		return exitFail
	}
	return exitOK
}

// labUplink is `lab uplink cut|restore NODE`.
func labUplink(name string, args []string, stdout, stderr io.Writer) int {
	var l lab.Lab
	fs := labFlags(name, stderr, &l)
	pos, code, ok := parseLabArgs(fs, args, 2, "lab uplink cut|restore NODE")
	if !ok {
		return code
	}
	if pos[0] != "cut" && pos[0] != "restore" {
		fmt.Fprintf(stderr, "ntkd lab uplink: %q: want cut or restore\n", pos[0])
		return exitUsage
	}
	if !needRoot(stderr) {
		return exitFail
	}
	if err := l.Uplink(pos[1], pos[0] == "restore"); err != nil {
		fmt.Fprintln(stderr, "ntkd lab uplink:", err)
		return exitFail
	}
	if pos[0] == "cut" {
		fmt.Fprintf(stdout, "%s: uplink %s down (its default route goes with it)\n", pos[1], lab.UplinkName)
	} else {
		fmt.Fprintf(stdout, "%s: uplink %s up, default route back\n", pos[1], lab.UplinkName)
	}
	return exitOK
}

// labEchoServer is `lab echo-server ADDR`, which lab up runs inside the
// stand-in Internet of a lab with gateways: TCP and UDP echo on ADDR until
// SIGTERM (lab down kills it).
func labEchoServer(name string, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("lab "+name, stderr)
	pos, code, ok := parseLabArgs(fs, args, 1, "lab echo-server IP:PORT")
	if !ok {
		return code
	}
	addr, err := netip.ParseAddrPort(pos[0])
	if err != nil {
		fmt.Fprintln(stderr, "ntkd lab echo-server:", err)
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err = lab.ServeEcho(ctx, addr, func() { fmt.Fprintf(stdout, "echo server on %s, tcp and udp\n", addr) })
	if err != nil {
		fmt.Fprintln(stderr, "ntkd lab echo-server:", err)
		return exitFail
	}
	return exitOK
}

func labDown(name string, args []string, stdout, stderr io.Writer) int {
	var l lab.Lab
	fs := labFlags(name, stderr, &l)
	if _, code, ok := parseLabArgs(fs, args, 0, "lab down"); !ok {
		return code
	}
	if !needRoot(stderr) {
		return exitFail
	}
	rep, err := l.Down()
	if rep != nil {
		switch {
		case rep.Nothing():
			fmt.Fprintln(stdout, "no lab: nothing to remove")
		default:
			fmt.Fprintf(stdout, "removed %d namespaces, stopped %d processes", len(rep.Namespaces), len(rep.Killed))
			if rep.DirRemoved {
				fmt.Fprintf(stdout, ", deleted %s", l.Dir)
			}
			fmt.Fprintln(stdout)
		}
		if rep.DirKept {
			fmt.Fprintf(stdout, "left %s alone: it is not a lab directory\n", l.Dir)
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, "ntkd lab down:", err)
		return exitFail
	}
	return exitOK
}

func writeJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}
