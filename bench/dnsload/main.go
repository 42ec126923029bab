// Command dnsload measures how many cached answers per second ntkd's DNS
// wrapper (internal/dnsd) gives on loopback, next to dnsmasq answering a
// static host, with the same load against both in the same run.
//
//	go run ./bench/dnsload                     # 3 rounds of 5s per server and tool
//	go run ./bench/dnsload -duration 10s -procs 1,2 -tool go
//
// The wrapper runs in a child process (this program again) with a fake
// ANDNA holding one name, host.ntk; its first answer fills the cache and
// every later one comes from it. dnsmasq runs in the foreground from a temp dir
// with --address=/host.test/10.1.2.3 and no other configuration. The load
// is dnsperf when installed (apt-get install dnsperf dnsmasq) and the
// built-in Go load (N UDP clients, one query outstanding each, with p50
// and p99 latency). Results go to stdout as a markdown table: answers/s
// and the servers' CPU time per answer (from /proc, which other work on
// the machine disturbs far less than answers/s), each also as a ratio to
// dnsmasq's run of the same round, medians of the rounds. Root is not
// needed.
package main

import (
	"flag"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// target is a server under load.
type target struct {
	label string
	query string
	addr  netip.AddrPort
	pid   int
	w     *wrapper // nil for dnsmasq; nil again once stopped
}

func main() {
	if os.Getenv(childEnv) != "" {
		if err := runChild(); err != nil {
			fmt.Fprintln(os.Stderr, "dnsload child:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "dnsload:", err)
		os.Exit(1)
	}
}

func run() error {
	duration := flag.Duration("duration", 5*time.Second, "length of each load run")
	rounds := flag.Int("rounds", 3, "runs per server and tool; the table shows medians")
	clients := flag.Int("clients", 16, "concurrent UDP clients")
	outstanding := flag.Int("outstanding", 100, "dnsperf: queries in flight (-q)")
	tool := flag.String("tool", "auto", "load: dnsperf, go, both, or auto (both when dnsperf is installed)")
	procsFlag := flag.String("procs", "1", "GOMAXPROCS of the wrapper, a list: 1,2 (0: Go's default)")
	flag.Parse()

	var procs []int
	for _, p := range strings.Split(*procsFlag, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || n < 0 {
			return fmt.Errorf("-procs %q: want numbers >= 0", *procsFlag)
		}
		procs = append(procs, n)
	}
	perfBin, perfErr := exec.LookPath("dnsperf")
	var tools []string
	switch *tool {
	case "auto":
		if perfErr == nil {
			tools = append(tools, "dnsperf")
		}
		tools = append(tools, "go")
	case "both":
		tools = []string{"dnsperf", "go"}
	case "dnsperf", "go":
		tools = []string{*tool}
	default:
		return fmt.Errorf("-tool %q: want dnsperf, go, both or auto", *tool)
	}
	if slices.Contains(tools, "dnsperf") && perfErr != nil {
		return fmt.Errorf("dnsperf not installed (apt-get install dnsperf): %w", perfErr)
	}
	masqBin, err := findDnsmasq()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "dnsload")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	var targets []*target
	defer func() {
		for _, t := range targets {
			if t.w != nil {
				t.w.stop()
			}
		}
	}()
	for _, p := range procs {
		w, err := startWrapper(p)
		if err != nil {
			return err
		}
		label := "ntkd dnsd"
		if p > 0 {
			label += fmt.Sprintf(" (GOMAXPROCS=%d)", p)
		}
		targets = append(targets, &target{label: label, query: meshName + ".ntk", addr: w.addr, pid: w.cmd.Process.Pid, w: w})
	}
	masq, err := startDnsmasq(masqBin, dir)
	if err != nil {
		return err
	}
	defer masq.stop()
	masqTarget := &target{label: "dnsmasq " + dnsmasqVersion(masqBin) + " (--address)", query: staticName, addr: masq.addr, pid: masq.cmd.Process.Pid}
	targets = append(targets, masqTarget)
	for _, t := range targets {
		if err := check(t.addr, t.query); err != nil {
			return fmt.Errorf("%s: %w", t.label, err)
		}
	}

	fmt.Fprintf(os.Stderr, "load average before: %s\n", loadAvg())
	// Alternate servers inside each round so that drifts of the machine
	// hit all of them alike.
	results := map[string]map[*target][]result{}
	for _, tl := range tools {
		results[tl] = map[*target][]result{}
	}
	for r := range *rounds {
		for _, tl := range tools {
			for _, t := range targets {
				var res result
				cpu0, cpuErr := procCPU(t.pid)
				if tl == "dnsperf" {
					res, err = runDnsperf(perfBin, dir, t.addr, t.query, *clients, *outstanding, *duration)
				} else {
					res, err = runGo(t.addr, t.query, *clients, *duration)
				}
				if err != nil {
					return fmt.Errorf("%s against %s: %w", tl, t.label, err)
				}
				if cpu1, err := procCPU(t.pid); err == nil && cpuErr == nil {
					res.cpu = cpu1 - cpu0
				}
				fmt.Fprintf(os.Stderr, "round %d %-7s %-32s %7.0f answers/s %5.2f µs CPU/answer\n",
					r+1, tl, t.label, res.qps(), res.cpuPerAnswer())
				results[tl][t] = append(results[tl][t], res)
			}
		}
	}

	fmt.Printf("\nDNS answers on loopback, %d rounds of %v, %d clients, %d CPUs, load average %s; medians\n\n",
		*rounds, *duration, *clients, runtime.NumCPU(), loadAvg())
	fmt.Println("| load | server | answers/s | latency | lost | vs dnsmasq | server CPU µs/answer | vs dnsmasq |")
	fmt.Println("|---|---|---:|---|---:|---:|---:|---:|")
	for _, tl := range tools {
		base := results[tl][masqTarget]
		for _, t := range targets {
			rs := results[tl][t]
			m := median(rs)
			lat := fmt.Sprintf("avg %v", m.avgLat.Round(time.Microsecond))
			load := fmt.Sprintf("dnsperf -c %d -q %d", *clients, *outstanding)
			if tl == "go" {
				lat = fmt.Sprintf("p50 %v, p99 %v", m.quantile(0.5).Round(time.Microsecond), m.quantile(0.99).Round(time.Microsecond))
				load = fmt.Sprintf("go, %d clients", *clients)
			}
			// The ratio pairs the runs of one round, which ran back to
			// back, and takes the median of the rounds.
			var ratios, cpus, cpuRatios []float64
			for i := range rs {
				ratios = append(ratios, rs[i].qps()/base[i].qps())
				cpus = append(cpus, rs[i].cpuPerAnswer())
				cpuRatios = append(cpuRatios, rs[i].cpuPerAnswer()/base[i].cpuPerAnswer())
			}
			fmt.Printf("| %s | %s | %.0f | %s | %d | %.2f | %.2f | %.2f |\n",
				load, t.label, m.qps(), lat, m.lost+m.bad, medianOf(ratios), medianOf(cpus), medianOf(cpuRatios))
		}
	}
	fmt.Println()
	for _, t := range targets {
		if t.w == nil {
			continue
		}
		st, err := t.w.stop()
		t.w = nil
		if err != nil {
			return err
		}
		fmt.Printf("%s: %d queries, %d answered, %d from the cache, %d resolver calls, dropped %v\n",
			t.label, st.Queries, st.Answered, st.CacheHits, st.ResolverCalls, st.Dropped)
	}
	return nil
}

// median is the run with the median answers/s.
func median(rs []result) result {
	s := slices.Clone(rs)
	slices.SortFunc(s, func(a, b result) int {
		switch {
		case a.qps() < b.qps():
			return -1
		case a.qps() > b.qps():
			return 1
		}
		return 0
	})
	return s[len(s)/2]
}

func medianOf(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

// loadAvg is the 1-minute load average: other work on the machine skews
// every figure.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Fields(string(b))[0]
}

func dnsmasqVersion(bin string) string {
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		return ""
	}
	f := strings.Fields(string(out))
	if len(f) >= 3 {
		return f[2]
	}
	return ""
}
