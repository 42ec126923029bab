// Command vsbabeld measures ntkd and babeld side by side in the same
// network-namespace labs (internal/lab), with each daemon's default timers:
// time from start to full routes, traffic outage when a link on the active
// path goes down (interface down, and silent: carrier up, nftables drops
// everything), steady control bytes per second per link, and RSS.
//
//	sudo go run ./bench/vsbabeld                 # line 8, ring 8, grid 16
//	sudo go run ./bench/vsbabeld -topologies ring:8 -steady 30s
//
// It needs root, ip, ping, nft and babeld (apt install babeld). Results go
// to stdout as a markdown table (docs/BENCHMARKS.md keeps them).
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
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

type variant struct {
	name     string
	protocol int    // route protocol the lab counts
	babeld   string // babeld flags; "" = ntkd
}

var variants = []variant{
	{name: "ntkd", protocol: 15},
	{name: "babeld", protocol: 42, babeld: "-"},
	{name: "babeld -l", protocol: 42, babeld: "-l"},
}

type result struct {
	Topology      string    `json:"topology"`
	Daemon        string    `json:"daemon"`
	FullRoutesSec float64   `json:"full_routes_s"`
	DownOutageSec float64   `json:"down_outage_s"`   // median of DownAll; -1: not measured (no alternative path)
	SilentOutSec  float64   `json:"silent_outage_s"` // median of SilentAll; -1: not measured
	DownAll       []float64 `json:"down_outages_s,omitempty"`
	SilentAll     []float64 `json:"silent_outages_s,omitempty"`
	BytesPerLink  float64   `json:"bytes_per_s_per_link"`
	RSSMaxKiB     int       `json:"rss_max_kib"`
	RSSMeanKiB    int       `json:"rss_mean_kib"`
	Path          string    `json:"path,omitempty"`
	Cut           string    `json:"cut,omitempty"`
}

func main() {
	tops := flag.String("topologies", "line:8,ring:8,grid:16", "kind:nodes,...")
	steady := flag.Duration("steady", 60*time.Second, "window for the steady-state traffic")
	ntkdBin := flag.String("ntkd", "", "ntkd binary (default: go build ./ntkd)")
	only := flag.String("only", "", "run only this daemon variant (ntkd, babeld, babeld -l)")
	rss64 := flag.Bool("rss64", true, "also measure ntkd's RSS in a 64-node random lab")
	cuts := flag.Int("cuts", 3, "cuts of each kind per topology (the table shows the median)")
	jsonOut := flag.String("json", "", "also write the results as JSON to this file")
	flag.Parse()
	if os.Geteuid() != 0 {
		fail("needs root (network namespaces)")
	}
	if _, err := exec.LookPath("babeld"); err != nil && *only != "ntkd" {
		fail("babeld is not installed: apt install babeld")
	}
	work, err := os.MkdirTemp("", "vsbabeld-")
	if err != nil {
		fail(err.Error())
	}
	defer os.RemoveAll(work)
	bin := *ntkdBin
	if bin == "" {
		bin = filepath.Join(work, "ntkd")
		if out, err := exec.Command("go", "build", "-o", bin, "./ntkd").CombinedOutput(); err != nil {
			fail(fmt.Sprintf("go build: %v\n%s", err, out))
		}
	}
	var results []result
	for _, spec := range strings.FieldsFunc(*tops, func(r rune) bool { return r == ',' }) {
		kind, n, ok := strings.Cut(spec, ":")
		nodes, err := strconv.Atoi(n)
		if !ok || err != nil {
			fail("bad topology " + spec)
		}
		for _, v := range variants {
			if *only != "" && v.name != *only {
				continue
			}
			r, err := measure(work, bin, kind, nodes, v, *steady, max(*cuts, 1))
			if err != nil {
				fmt.Fprintf(os.Stderr, "%s %s: %v\n", spec, v.name, err)
				continue
			}
			results = append(results, r)
			fmt.Fprintf(os.Stderr, "%+v\n", r)
		}
	}
	printTable(results)
	if *rss64 && (*only == "" || *only == "ntkd") {
		rss64Lab(work, bin)
	}
	if *jsonOut != "" {
		b, _ := json.MarshalIndent(results, "", "  ")
		_ = os.WriteFile(*jsonOut, b, 0o644)
	}
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "vsbabeld:", msg)
	os.Exit(1)
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, time.Now().Format("15:04:05 ")+format+"\n", args...)
}

// babeldWrapper is started by the lab as `WRAPPER run -c CONFIG`: it puts
// the same kind of /32 address ntkd would on the node's veths and runs
// babeld on them, announcing that address.
func babeldWrapper(work, flags string) (string, error) {
	if flags == "-" {
		flags = ""
	}
	path := filepath.Join(work, "babeld-wrapper"+strings.ReplaceAll(flags, "-", "_")+".sh")
	script := `#!/bin/sh
cfg=$3
dir=$(dirname "$cfg")
num=$(basename "$dir" | tr -dc 0-9)
ifaces=$(sed -n 's/^name = "\(.*\)"$/\1/p' "$cfg")
echo 1 > /proc/sys/net/ipv4/ip_forward
for i in $ifaces; do ip addr add "10.99.$((num / 256)).$((num % 256))/32" dev "$i"; done
printf 'redistribute local ip 10.99.0.0/16 le 32 allow\nredistribute local deny\n' > "$dir/babeld.conf"
rm -f "$dir/babeld.pid"
# shellcheck disable=SC2086
exec babeld ` + flags + ` -I "$dir/babeld.pid" -S "$dir/babeld.state" -c "$dir/babeld.conf" $ifaces
`
	return path, os.WriteFile(path, []byte(script), 0o755)
}

func measure(work, ntkd, kind string, nodes int, v variant, steady time.Duration, cuts int) (result, error) {
	r := result{Topology: fmt.Sprintf("%s %d", kind, nodes), Daemon: v.name, DownOutageSec: -1, SilentOutSec: -1}
	l := lab.Lab{Dir: filepath.Join(work, "lab"), Prefix: "ntkdbench-", Protocol: v.protocol}
	_, _ = l.Down()
	defer l.Down()
	bin := ntkd
	if v.babeld != "" {
		var err error
		if bin, err = babeldWrapper(work, v.babeld); err != nil {
			return r, err
		}
	}
	tp, err := lab.NewTopology(kind, nodes, 1)
	if err != nil {
		return r, err
	}
	ctx := context.Background()
	logf("%s %d %s: up", kind, nodes, v.name)
	if _, err := l.Up(ctx, lab.UpOptions{Topology: tp, Ntkd: bin}); err != nil {
		return r, err
	}
	start := time.Now()
	st, err := waitFull(l, 120*time.Second)
	if err != nil {
		return r, err
	}
	r.FullRoutesSec = time.Since(start).Seconds()

	// Steady state: let the start-up traffic pass, then count. For ntkd
	// that is once it sends nothing but radar probes (a grid that
	// converges late still floods for some seconds after its full routes,
	// and the lab's names are registered after the hook); babeld has no
	// such state to ask, so it gets 20 s.
	if v.babeld == "" {
		quiet, err := waitQuiet(l, 10*time.Second, 180*time.Second)
		if err != nil {
			return r, err
		}
		logf("%s %d %s: only radar traffic from %.1f s after full routes", kind, nodes, v.name, quiet.Sub(start).Seconds()-r.FullRoutesSec)
	} else {
		time.Sleep(20 * time.Second)
	}
	before, err := txBytes(l, st)
	if err != nil {
		return r, err
	}
	time.Sleep(steady)
	after, err := txBytes(l, st)
	if err != nil {
		return r, err
	}
	r.BytesPerLink = float64(after-before) / steady.Seconds() / float64(len(st.Links))
	r.RSSMaxKiB, r.RSSMeanKiB = rss(st)

	if kind == "line" {
		return r, nil // no alternative path: failover is not defined
	}
	src, dst := "n1", fmt.Sprintf("n%d", nodes/2)
	if kind == "grid" {
		dst = fmt.Sprintf("n%d", nodes)
	}
	// One cut says little: when it falls relative to the radar's probes
	// and to the other daemon's timers moves a silent failure's outage by
	// seconds. Each kind is cut several times, in turn, and the median kept.
	for i := 0; i < cuts; i++ {
		for _, silent := range []bool{false, true} {
			st, err = waitFull(l, 60*time.Second)
			if err != nil {
				return r, err
			}
			time.Sleep(10 * time.Second)
			path, err := activePath(l, st, src, dst)
			if err != nil {
				return r, err
			}
			if len(path) < 3 {
				return r, fmt.Errorf("path %v too short", path)
			}
			a, b := path[1], path[2] // a link in the middle of the path, not at the source
			r.Path, r.Cut = strings.Join(path, "-"), a+"-"+b
			out, err := outage(l, st, src, dst, func() error { return l.Cut(a, b, silent) })
			if err != nil {
				return r, err
			}
			if silent {
				r.SilentAll = append(r.SilentAll, out.Seconds())
			} else {
				r.DownAll = append(r.DownAll, out.Seconds())
			}
			logf("%s %d %s: cut %s-%s silent=%v outage %.2fs", kind, nodes, v.name, a, b, silent, out.Seconds())
			if err := l.Restore(a, b); err != nil {
				return r, err
			}
		}
	}
	r.DownOutageSec, r.SilentOutSec = median(r.DownAll), median(r.SilentAll)
	return r, nil
}

// median of xs (the mean of the middle two for an even count).
func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func waitFull(l lab.Lab, limit time.Duration) (*lab.Status, error) {
	deadline := time.Now().Add(limit)
	for {
		st, err := l.Status()
		if err != nil {
			return nil, err
		}
		if st.Full {
			return st, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("no full routes after %v (%d/%d pairs)", limit, st.Reached, st.Pairs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// txBytes sums what every veth of the lab sent (both ends of each link).
// waitQuiet polls every node's packet counters until nothing but radar
// probes has been sent anywhere for quiet (QSPN rounds and the ANDNA
// registrations of the lab's names are start-up traffic, not steady
// state), and returns when that was reached.
func waitQuiet(l lab.Lab, quiet, limit time.Duration) (time.Time, error) {
	state, err := l.Load()
	if err != nil {
		return time.Time{}, err
	}
	deadline := time.Now().Add(limit)
	var last uint64
	since := time.Now()
	for time.Now().Before(deadline) {
		var sum uint64
		for _, n := range state.Nodes {
			var c ctl.Counters
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_, err := ctl.Call(ctx, n.Socket, ctl.Request{Cmd: ctl.CmdCounters}, &c)
			cancel()
			if err != nil {
				return time.Time{}, fmt.Errorf("counters of %s: %v", n.Name, err)
			}
			for op, cnt := range c.Sent {
				if !strings.HasPrefix(op, "ECHO_") {
					sum += cnt.Bytes
				}
			}
		}
		if sum != last {
			last, since = sum, time.Now()
		} else if time.Since(since) >= quiet {
			return time.Now(), nil
		}
		time.Sleep(time.Second)
	}
	return time.Time{}, fmt.Errorf("ntkd still sending more than radar probes after %v", limit)
}

func txBytes(l lab.Lab, st *lab.Status) (uint64, error) {
	var sum uint64
	for _, n := range st.Nodes {
		out, err := l.Exec(context.Background(), n.Name, "ip", "-s", "-j", "link", "show", "type", "veth")
		if err != nil {
			return 0, fmt.Errorf("ip -s link in %s: %v", n.Name, err)
		}
		var links []struct {
			Stats struct {
				TX struct {
					Bytes uint64 `json:"bytes"`
				} `json:"tx"`
			} `json:"stats64"`
		}
		if err := json.Unmarshal(out, &links); err != nil {
			return 0, err
		}
		for _, lk := range links {
			sum += lk.Stats.TX.Bytes
		}
	}
	return sum, nil
}

func rss(st *lab.Status) (maxKiB, meanKiB int) {
	var sum, n int
	for _, ns := range st.Nodes {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", ns.PID))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
				k, _ := strconv.Atoi(f[1])
				sum, n, maxKiB = sum+k, n+1, max(maxKiB, k)
			}
		}
	}
	if n > 0 {
		meanKiB = sum / n
	}
	return maxKiB, meanKiB
}

// activePath follows the kernel's routes from src to dst: veths are named
// after the node at their other end, so the outgoing device names the next hop.
func activePath(l lab.Lab, st *lab.Status, src, dst string) ([]string, error) {
	to := addrOf(st, dst)
	path := []string{src}
	for cur := src; cur != dst; {
		out, err := l.Exec(context.Background(), cur, "ip", "-j", "route", "get", to.String())
		if err != nil {
			return nil, fmt.Errorf("route get in %s: %v", cur, err)
		}
		var rs []struct {
			Dev string `json:"dev"`
		}
		if err := json.Unmarshal(out, &rs); err != nil || len(rs) == 0 {
			return nil, fmt.Errorf("route get in %s: %s", cur, out)
		}
		cur = rs[0].Dev
		if slices.Contains(path, cur) || len(path) > len(st.Nodes) {
			return nil, fmt.Errorf("loop in %v", append(path, cur))
		}
		path = append(path, cur)
	}
	return path, nil
}

func addrOf(st *lab.Status, name string) netip.Addr {
	for _, n := range st.Nodes {
		if n.Name == name {
			return n.Address
		}
	}
	return netip.Addr{}
}

var replyRE = regexp.MustCompile(`^\[(\d+\.\d+)\] \d+ bytes from`)

// outage pings dst from src every 10 ms, breaks the link 3 s in, and
// returns the largest gap between two replies: how long traffic stopped.
// It stops once replies have flowed again for 3 s (at most after 90 s).
func outage(l lab.Lab, st *lab.Status, src, dst string, breakLink func() error) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Second)
	defer cancel()
	cmd, err := l.Command(ctx, src, "ping", "-D", "-O", "-n", "-i", "0.01", "-W", "1", addrOf(st, dst).String())
	if err != nil {
		return 0, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return 0, err
	}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	var last, gapStart float64
	var broken bool
	var maxGap float64
	started := time.Now()
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		m := replyRE.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		t, _ := strconv.ParseFloat(m[1], 64)
		if last > 0 && t-last > maxGap && broken {
			maxGap, gapStart = t-last, last
		}
		last = t
		if !broken && time.Since(started) > 3*time.Second {
			if err := breakLink(); err != nil {
				return 0, err
			}
			broken = true
			continue
		}
		if broken && gapStart > 0 && t-gapStart-maxGap > 3 {
			break
		}
		if time.Since(started) > 90*time.Second {
			return 0, fmt.Errorf("traffic did not come back within 90 s")
		}
	}
	if maxGap == 0 {
		return 0, fmt.Errorf("no outage seen (did the cut hit the path?)")
	}
	return time.Duration(maxGap * float64(time.Second)), nil
}

func printTable(rs []result) {
	fmt.Println("| topology | daemon | full routes after start | outage, link down (median; all) | outage, silent failure (median; all) | control B/s per link | RSS max / mean |")
	fmt.Println("| --- | --- | --- | --- | --- | --- | --- |")
	sec := func(v float64) string {
		if v < 0 {
			return "n/a"
		}
		return fmt.Sprintf("%.2f s", v)
	}
	all := func(med float64, xs []float64) string {
		if med < 0 || len(xs) == 0 {
			return "n/a"
		}
		var parts []string
		for _, x := range xs {
			parts = append(parts, fmt.Sprintf("%.2f", x))
		}
		return sec(med) + "; " + strings.Join(parts, ", ")
	}
	for _, r := range rs {
		fmt.Printf("| %s | %s | %s | %s | %s | %.1f | %.1f / %.1f MiB |\n", r.Topology, r.Daemon, sec(r.FullRoutesSec),
			all(r.DownOutageSec, r.DownAll), all(r.SilentOutSec, r.SilentAll), r.BytesPerLink, float64(r.RSSMaxKiB)/1024, float64(r.RSSMeanKiB)/1024)
	}
}

// rss64Lab: ntkd's RSS with 64 nodes.
func rss64Lab(work, bin string) {
	l := lab.Lab{Dir: filepath.Join(work, "lab64"), Prefix: "ntkdb64-"}
	_, _ = l.Down()
	defer l.Down()
	tp, err := lab.NewTopology("random", 64, 1)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	logf("random 64 ntkd: up")
	if _, err := l.Up(context.Background(), lab.UpOptions{Topology: tp, Ntkd: bin}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	start := time.Now()
	st, err := waitFull(l, 300*time.Second)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	full := time.Since(start)
	// Steady state, as for the other topologies: once only radar is sent,
	// and past the start-up page trim (internal/memtrim, a minute in).
	if _, err := waitQuiet(l, 10*time.Second, 300*time.Second); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	time.Sleep(max(0, 90*time.Second-time.Since(start)))
	st, _ = l.Status()
	mx, mean := rss(st)
	fmt.Printf("\nntkd, random 64 nodes: full routes after %.1f s, RSS max %.1f MiB, mean %.1f MiB\n", full.Seconds(), float64(mx)/1024, float64(mean)/1024)
}
