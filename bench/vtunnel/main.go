// Command vtunnel measures ntkd's virtual links (docs/VLAYER.md) in a lab of
// islands (`ntkd lab up --islands`), all in one run:
//
//   - TCP throughput with iperf3 between the two gates of a lab of 2 islands
//     of 2 nodes: over their internet addresses with no tunnel (the
//     baseline), over the ntkd tunnel (the gates' mesh addresses, routed
//     through the WireGuard device vnX), and over tinc (Debian's tincd,
//     started by this program in the same two namespaces, on the same
//     internet bridge), interleaved repetition by repetition, medians and
//     ratios; the CPU the tunnel processes use meanwhile;
//
//   - the bytes a tunnel carries with no user traffic, per minute (ntkd's
//     own counters of the WireGuard device, and the gates' internet veths,
//     headers included);
//
//   - the time two islands of 3 nodes take to join once the internet comes
//     up, from `ntkd lab up --islands 2 --nodes 3 --json` (seconds -
//     islands_apart_seconds), with the default timers and with fast ones.
//
// Prerequisites (not installed by this program), and a run:
//
//	apt-get install -y iperf3 tinc
//	go build -o /tmp/ntkd-dev ./ntkd && go build -o /tmp/vtunnel ./bench/vtunnel
//	sudo /tmp/vtunnel -ntkd /tmp/ntkd-dev
//
// It needs root, ip, iperf3 and tincd. Everything it makes lives in the
// lab's namespaces (--dir, --prefix) and a temporary directory, and is
// removed at the end, on errors and on SIGINT/SIGTERM. Tables go to stdout
// (docs/BENCHMARKS.md keeps them), progress to stderr.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ntkd/ntkd/internal/ctl"
)

// clkTck is USER_HZ, the unit of utime and stime in /proc/PID/stat (100 on
// every Linux architecture ntkd builds for).
const clkTck = 100

// The tinc network: router mode, one /32 subnet per gate, on a tun device.
const (
	tincIface  = "tinc0"
	tincNet    = "172.31.0"
	tincPort   = 655
	iperfPort  = "5201"
	inetIface  = "inet" // a gate's interface on the lab's internet
	fastConfig = "[radar]\ninterval = \"1s\"\nprobe_timeout = \"250ms\"\n\n[qspn]\nwait_round = \"5s\"\n"
)

var (
	cleanMu    sync.Mutex
	cleanups   []func()
	downAtExit sync.Once
)

// atExit registers f to run at the end, also on failure and on a signal;
// the last registered runs first.
func atExit(f func()) {
	cleanMu.Lock()
	defer cleanMu.Unlock()
	cleanups = append(cleanups, f)
}

func runCleanups() {
	cleanMu.Lock()
	fs := cleanups
	cleanups = nil
	cleanMu.Unlock()
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "vtunnel: "+format+"\n", args...)
	runCleanups()
	os.Exit(1)
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, time.Now().Format("15:04:05 ")+format+"\n", args...)
}

type options struct {
	ntkd, dir, prefix string
	duration          time.Duration
	reps              int
	streams           []int
	udp               string
	window            time.Duration
	windows           int
	joinRuns          int
	fastRuns          int
}

func main() {
	var o options
	flag.StringVar(&o.ntkd, "ntkd", "", "ntkd developer binary, with lab and wireguard-go (default: go build ./ntkd)")
	flag.StringVar(&o.dir, "dir", "/run/ntkd-vt", "lab directory (ntkd lab --dir)")
	flag.StringVar(&o.prefix, "prefix", "vt-", "lab namespace prefix (ntkd lab --prefix)")
	flag.DurationVar(&o.duration, "t", 10*time.Second, "length of one iperf3 run")
	flag.IntVar(&o.reps, "reps", 3, "iperf3 runs of each path (the table shows the median)")
	streams := flag.String("streams", "1,2", "parallel TCP streams to measure (iperf3 -P), comma separated")
	flag.StringVar(&o.udp, "udp", "", "also run iperf3 UDP at this rate (e.g. 500M); empty: no UDP")
	flag.DurationVar(&o.window, "window", 60*time.Second, "length of one window of the idle tunnel's byte count")
	flag.IntVar(&o.windows, "windows", 3, "consecutive idle windows (0: skip)")
	flag.IntVar(&o.joinRuns, "join-runs", 3, "labs of 2 islands of 3 nodes with the default timers (0: skip)")
	flag.IntVar(&o.fastRuns, "fast-runs", 3, "the same with radar interval 1s, probe_timeout 250ms, qspn wait_round 5s (0: skip)")
	skipThroughput := flag.Bool("no-throughput", false, "skip the iperf3 and idle-tunnel lab")
	flag.Parse()
	for _, s := range strings.Split(*streams, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			fail("bad -streams %q", *streams)
		}
		o.streams = append(o.streams, n)
	}
	if os.Geteuid() != 0 {
		fail("needs root (network namespaces)")
	}
	for _, tool := range []string{"ip", "iperf3", "tincd"} {
		if _, err := exec.LookPath(tool); err != nil && (tool == "ip" || !*skipThroughput) {
			fail("%s is not installed (apt-get install -y iperf3 tinc)", tool)
		}
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sigs
		fail("%v: cleaning up", s)
	}()
	work, err := os.MkdirTemp("", "vtunnel-")
	if err != nil {
		fail("%v", err)
	}
	atExit(func() { _ = os.RemoveAll(work) })
	if o.ntkd == "" {
		o.ntkd = filepath.Join(work, "ntkd")
		if out, err := exec.Command("go", "build", "-o", o.ntkd, "./ntkd").CombinedOutput(); err != nil {
			fail("go build: %v\n%s", err, out)
		}
	}
	logf("load average at start: %s", loadavg())
	if !*skipThroughput {
		if err := tunnelLab(o, work); err != nil {
			fail("%v", err)
		}
	}
	if o.joinRuns > 0 || o.fastRuns > 0 {
		if err := joins(o, work); err != nil {
			fail("%v", err)
		}
	}
	runCleanups()
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	return strings.Join(strings.Fields(string(b))[:min(3, len(strings.Fields(string(b))))], " ")
}

// labCmd runs `ntkd lab --dir D --prefix P ARGS...` and returns its stdout.
func labCmd(o options, args ...string) ([]byte, error) {
	cmd := exec.Command(o.ntkd, append([]string{"lab", "--dir", o.dir, "--prefix", o.prefix}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("ntkd lab %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out, nil
}

// labDown removes the lab (ours: its own --dir and --prefix), quietly when
// there is none.
func labDown(o options) {
	if _, err := labCmd(o, "down"); err != nil {
		logf("%v", err)
	}
}

// upResult is what `ntkd lab up --json` prints.
type upResult struct {
	State struct {
		Nodes []struct {
			Name      string `json:"name"`
			Namespace string `json:"namespace"`
			Socket    string `json:"socket"`
			Island    int    `json:"island"`
		} `json:"nodes"`
		Islands []struct {
			Nodes   []string   `json:"nodes"`
			Gate    string     `json:"gate"`
			Address netip.Addr `json:"address"`
		} `json:"islands"`
	} `json:"state"`
	Status *struct {
		Nodes []struct {
			Name    string     `json:"name"`
			PID     int        `json:"pid"`
			Address netip.Addr `json:"address"`
		} `json:"nodes"`
	} `json:"status"`
	Converged    bool    `json:"converged"`
	Seconds      float64 `json:"seconds"`
	IslandsApart float64 `json:"islands_apart_seconds"`
	Error        string  `json:"error"`
}

// labUp takes a lab of islands up (removing a leftover one of ours first)
// and registers its removal.
func labUp(o options, islands, nodes int, config string) (*upResult, error) {
	labDown(o)
	downAtExit.Do(func() { atExit(func() { labDown(o) }) })
	args := []string{"up", "--islands", strconv.Itoa(islands), "--nodes", strconv.Itoa(nodes), "--json", "--wait", "300s"}
	if config != "" {
		args = append(args, "--config", config)
	}
	if o.ntkd != "" {
		args = append(args, "--ntkd", o.ntkd)
	}
	out, err := labCmd(o, args...)
	var r upResult
	if jerr := json.Unmarshal(out, &r); jerr != nil {
		if err == nil {
			err = jerr
		}
		return nil, err
	}
	if !r.Converged || err != nil {
		return &r, fmt.Errorf("lab did not converge: %s %v", r.Error, err)
	}
	return &r, nil
}

// gate is one end of the measured tunnels.
type gate struct {
	name, ns, socket string
	inet, mesh       netip.Addr
	pid              int
	vlink            string // ntkd's tunnel device towards the other gate
}

func gates(r *upResult) ([2]gate, error) {
	var g [2]gate
	if len(r.State.Islands) != 2 || r.Status == nil {
		return g, fmt.Errorf("want a lab of 2 islands")
	}
	for i, is := range r.State.Islands {
		g[i].name, g[i].inet = is.Gate, is.Address
		for _, n := range r.State.Nodes {
			if n.Name == is.Gate {
				g[i].ns, g[i].socket = n.Namespace, n.Socket
			}
		}
		for _, n := range r.Status.Nodes {
			if n.Name == is.Gate {
				g[i].mesh, g[i].pid = n.Address, n.PID
			}
		}
	}
	g[0].vlink, g[1].vlink = "v"+g[1].name, "v"+g[0].name
	return g, nil
}

// nsRun runs a command in namespace ns and returns its stdout.
func nsRun(ctx context.Context, ns string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%s in %s: %v %s", strings.Join(args, " "), ns, err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

func tunnelLab(o options, work string) error {
	logf("lab: 2 islands of 2 nodes")
	r, err := labUp(o, 2, 2, "")
	if err != nil {
		return err
	}
	logf("lab converged in %.1f s (islands apart %.1f s, joined %.1f s later)", r.Seconds, r.IslandsApart, r.Seconds-r.IslandsApart)
	g, err := gates(r)
	if err != nil {
		return err
	}
	var sockets []string
	for _, n := range r.State.Nodes {
		sockets = append(sockets, n.Socket)
	}
	if o.windows > 0 {
		if err := idleTunnel(o, g, sockets); err != nil {
			return err
		}
	}
	if o.reps > 0 {
		if err := throughput(o, work, g); err != nil {
			return err
		}
	}
	labDown(o)
	return nil
}

// ---- the idle tunnel ----

// waitQuiet polls every node's protocol counters until nothing but radar
// probes has been sent anywhere for quiet (the renumbering, QSPN rounds
// and ANDNA registrations after the join are start-up traffic).
func waitQuiet(sockets []string, quiet, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	var last uint64
	since := time.Now()
	for time.Now().Before(deadline) {
		var sum uint64
		for _, s := range sockets {
			var c ctl.Counters
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_, err := ctl.Call(ctx, s, ctl.Request{Cmd: ctl.CmdCounters}, &c)
			cancel()
			if err != nil {
				return fmt.Errorf("counters of %s: %v", s, err)
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
			return nil
		}
		time.Sleep(time.Second)
	}
	return fmt.Errorf("ntkd still sending more than radar probes after %v", limit)
}

type idleSample struct {
	tunRx, tunTx   [2]uint64 // ntkd vlinks: the WireGuard device's peer counters at each gate
	wireRx, wireTx [2]uint64 // the gates' inet veths (Ethernet, IP, UDP, WireGuard)
	pkts           [2]uint64 // packets sent on the inet veths
	udpB, udpP     [2]uint64 // the tunnel's own datagrams sent by each gate (nftables: IP + UDP + WireGuard)
}

// nftTable counts, in a gate's namespace, the UDP datagrams its tunnels
// send (source ports 27000-27063, the lab's tunnel ports): the veth's own
// counters also hold ARP and IPv6 router solicitations.
const nftTable = "vtunnel"

func nftCountTunnel(ns string) error {
	for _, args := range [][]string{
		{"add", "table", "ip", nftTable},
		{"add", "chain", "ip", nftTable, "out", "{ type filter hook output priority 0 ; }"},
		{"add", "rule", "ip", nftTable, "out", "udp", "sport", "27000-27063", "counter"},
	} {
		if _, err := nsRun(context.Background(), ns, append([]string{"nft"}, args...)...); err != nil {
			return err
		}
	}
	return nil
}

func nftCounter(ns string) (bytes, packets uint64, err error) {
	out, err := nsRun(context.Background(), ns, "nft", "-j", "list", "table", "ip", nftTable)
	if err != nil {
		return 0, 0, err
	}
	var doc struct {
		Nftables []struct {
			Rule *struct {
				Expr []struct {
					Counter *struct {
						Packets uint64 `json:"packets"`
						Bytes   uint64 `json:"bytes"`
					} `json:"counter"`
				} `json:"expr"`
			} `json:"rule"`
		} `json:"nftables"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		return 0, 0, err
	}
	for _, e := range doc.Nftables {
		if e.Rule != nil {
			for _, x := range e.Rule.Expr {
				if x.Counter != nil {
					return x.Counter.Bytes, x.Counter.Packets, nil
				}
			}
		}
	}
	return 0, 0, fmt.Errorf("no counter in table %s of %s", nftTable, ns)
}

func vlinkBytes(g gate) (rx, tx uint64, err error) {
	var v ctl.VLinks
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := ctl.Call(ctx, g.socket, ctl.Request{Cmd: ctl.CmdVLinks}, &v); err != nil {
		return 0, 0, fmt.Errorf("vlinks of %s: %v", g.name, err)
	}
	for _, l := range v.Links {
		if l.Interface == g.vlink {
			return l.RxBytes, l.TxBytes, nil
		}
	}
	return 0, 0, fmt.Errorf("%s has no tunnel %s", g.name, g.vlink)
}

type linkStats struct {
	Bytes   uint64 `json:"bytes"`
	Packets uint64 `json:"packets"`
}

func ifaceStats(ns, dev string) (rx, tx linkStats, err error) {
	out, err := nsRun(context.Background(), ns, "ip", "-s", "-j", "link", "show", "dev", dev)
	if err != nil {
		return rx, tx, err
	}
	var links []struct {
		Stats struct {
			RX linkStats `json:"rx"`
			TX linkStats `json:"tx"`
		} `json:"stats64"`
	}
	if err := json.Unmarshal(out, &links); err != nil || len(links) != 1 {
		return rx, tx, fmt.Errorf("ip -s link show %s in %s: %v %s", dev, ns, err, out)
	}
	return links[0].Stats.RX, links[0].Stats.TX, nil
}

func sampleIdle(g [2]gate) (idleSample, error) {
	var s idleSample
	for i := range g {
		var err error
		if s.tunRx[i], s.tunTx[i], err = vlinkBytes(g[i]); err != nil {
			return s, err
		}
		rx, tx, err := ifaceStats(g[i].ns, inetIface)
		if err != nil {
			return s, err
		}
		s.wireRx[i], s.wireTx[i], s.pkts[i] = rx.Bytes, tx.Bytes, tx.Packets
		if s.udpB[i], s.udpP[i], err = nftCounter(g[i].ns); err != nil {
			return s, err
		}
	}
	return s, nil
}

func idleTunnel(o options, g [2]gate, sockets []string) error {
	start := time.Now()
	if err := waitQuiet(sockets, 10*time.Second, 300*time.Second); err != nil {
		return err
	}
	logf("idle tunnel: only radar traffic after %.1f s; %d windows of %v", time.Since(start).Seconds(), o.windows, o.window)
	fmt.Printf("\nIdle tunnel %s-%s (no user traffic), per minute; windows of %v one after the other\n\n", g[0].name, g[1].name, o.window)
	for i := range g {
		if err := nftCountTunnel(g[i].ns); err != nil {
			return err
		}
	}
	fmt.Println("| window | tunnel bytes at " + g[0].name + " (rx + tx) | tunnel bytes at " + g[1].name + " (rx + tx) | tunnel datagrams, both ways | their bytes on the wire (Ethernet + IP + UDP + WireGuard) | wire B/s | everything the inet veths sent (ARP, IPv6 RS too) |")
	fmt.Println("| --- | --- | --- | --- | --- | --- | --- |")
	var sumWire, sumTun, sumDgram float64
	for w := 1; w <= o.windows; w++ {
		a, err := sampleIdle(g)
		if err != nil {
			return err
		}
		t0 := time.Now()
		time.Sleep(o.window)
		b, err := sampleIdle(g)
		if err != nil {
			return err
		}
		perMin := 60 / time.Since(t0).Seconds()
		tun0 := float64(b.tunRx[0]-a.tunRx[0]+b.tunTx[0]-a.tunTx[0]) * perMin
		tun1 := float64(b.tunRx[1]-a.tunRx[1]+b.tunTx[1]-a.tunTx[1]) * perMin
		veth := float64(b.wireTx[0]-a.wireTx[0]+b.wireTx[1]-a.wireTx[1]) * perMin
		vethPkts := float64(b.pkts[0]-a.pkts[0]+b.pkts[1]-a.pkts[1]) * perMin
		dgrams := float64(b.udpP[0]-a.udpP[0]+b.udpP[1]-a.udpP[1]) * perMin
		wire := float64(b.udpB[0]-a.udpB[0]+b.udpB[1]-a.udpB[1])*perMin + 14*dgrams // + Ethernet header
		sumWire += wire
		sumTun += tun0
		sumDgram += dgrams
		fmt.Printf("| %d | %.0f (%d + %d) | %.0f (%d + %d) | %.0f | %.0f | %.1f | %.0f B in %.0f packets |\n", w,
			tun0, b.tunRx[0]-a.tunRx[0], b.tunTx[0]-a.tunTx[0],
			tun1, b.tunRx[1]-a.tunRx[1], b.tunTx[1]-a.tunTx[1], dgrams, wire, wire/60, veth, vethPkts)
	}
	n := float64(o.windows)
	fmt.Printf("\nmean per minute: %.0f tunnel bytes at %s (rx + tx), %.0f datagrams and %.0f bytes on the wire (%.1f B/s)\n",
		sumTun/n, g[0].name, sumDgram/n, sumWire/n, sumWire/n/60)
	for i := range g {
		_, _ = nsRun(context.Background(), g[i].ns, "nft", "delete", "table", "ip", nftTable)
	}
	return nil
}

// ---- throughput ----

type path struct {
	name     string
	client   gate // runs iperf3 -c
	server   gate
	src, dst netip.Addr
	devC     string // the device the client's route must use
	devS     string // and the server's route back
	pids     func() []int
}

type run struct {
	mbps        float64
	retransmits int
	lost        float64 // UDP: percent lost
	cpu         float64 // the tunnel processes, both ends, % of one core
}

func throughput(o options, work string, g [2]gate) error {
	tinc, err := startTinc(work, g)
	if err != nil {
		return err
	}
	paths := []path{
		{name: "no tunnel (internet veths and bridge)", client: g[0], server: g[1], src: g[0].inet, dst: g[1].inet, devC: inetIface, devS: inetIface,
			pids: func() []int { return nil }},
		{name: "ntkd tunnel (wireguard-go in ntkd)", client: g[0], server: g[1], src: g[0].mesh, dst: g[1].mesh, devC: g[0].vlink, devS: g[1].vlink,
			pids: func() []int { return []int{g[0].pid, g[1].pid} }},
		{name: "tinc " + tinc.version, client: g[0], server: g[1], src: tinc.addr[0], dst: tinc.addr[1], devC: tincIface, devS: tincIface,
			pids: func() []int { return tinc.pids() }},
	}
	for _, p := range paths {
		if err := checkRoute(p.client.ns, p.dst, p.src, p.devC); err != nil {
			return fmt.Errorf("%s: %v", p.name, err)
		}
		if err := checkRoute(p.server.ns, p.src, p.dst, p.devS); err != nil {
			return fmt.Errorf("%s: %v", p.name, err)
		}
		logf("%s: %s -> %s, routes through %s / back through %s (mtu %s)", p.name, p.src, p.dst, p.devC, p.devS, deviceMTU(p.client.ns, p.devC))
	}
	type key struct {
		path    int
		streams int // 0: UDP
	}
	results := map[key][]run{}
	var configs []int
	configs = append(configs, o.streams...)
	if o.udp != "" {
		configs = append(configs, 0)
	}
	udpBefore, _ := udpOut(g[0].ns)
	for rep := 1; rep <= o.reps; rep++ {
		for _, streams := range configs {
			for i, p := range paths {
				r, err := iperf(o, p, streams)
				if err != nil {
					return fmt.Errorf("%s: %v", p.name, err)
				}
				results[key{i, streams}] = append(results[key{i, streams}], r)
				what := fmt.Sprintf("TCP -P %d", streams)
				if streams == 0 {
					what = "UDP -b " + o.udp
				}
				logf("run %d %s %s: %.0f Mbit/s, retransmits %d, lost %.2f%%, tunnel CPU %.0f%%", rep, what, p.name, r.mbps, r.retransmits, r.lost, r.cpu)
			}
		}
	}
	udpAfter, _ := udpOut(g[0].ns)
	logf("UDP datagrams sent by %s during the runs: %d (tunnels carried UDP, not TCP)", g[0].name, udpAfter-udpBefore)
	tincLog, _ := os.ReadFile(tinc.logs[0])
	if strings.Contains(string(tincLog), "TCP") {
		logf("tinc log of %s mentions TCP:\n%s", g[0].name, tincLog)
	}

	fmt.Printf("\nThroughput %s -> %s, iperf3 %v runs, %d repetitions interleaved path by path (median; all)\n\n", g[0].name, g[1].name, o.duration, o.reps)
	fmt.Println("| traffic | path | Mbit/s (median; all) | vs no tunnel | ntkd / tinc | TCP retransmits (median) | tunnel processes' CPU, both ends (% of one core) |")
	fmt.Println("| --- | --- | --- | --- | --- | --- | --- |")
	for _, streams := range configs {
		what := fmt.Sprintf("TCP, %d stream", streams)
		if streams > 1 {
			what += "s"
		}
		if streams == 0 {
			what = "UDP -b " + o.udp
		}
		med := func(i int, f func(run) float64) float64 {
			var xs []float64
			for _, r := range results[key{i, streams}] {
				xs = append(xs, f(r))
			}
			return median(xs)
		}
		mbps := func(r run) float64 { return r.mbps }
		base := med(0, mbps)
		for i, p := range paths {
			var all []string
			for _, r := range results[key{i, streams}] {
				all = append(all, fmt.Sprintf("%.0f", r.mbps))
			}
			m := med(i, mbps)
			ratio := "—"
			if i == 1 {
				ratio = fmt.Sprintf("**%.2f**", m/med(2, mbps))
			}
			cpu := "—"
			if i > 0 {
				cpu = fmt.Sprintf("%.0f %%", med(i, func(r run) float64 { return r.cpu }))
			}
			extra := fmt.Sprintf("%.0f", med(i, func(r run) float64 { return float64(r.retransmits) }))
			if streams == 0 {
				extra = fmt.Sprintf("lost %.2f %%", med(i, func(r run) float64 { return r.lost }))
			}
			fmt.Printf("| %s | %s | %.0f; %s | %.3f | %s | %s | %s |\n", what, p.name, m, strings.Join(all, ", "), m/base, ratio, extra, cpu)
		}
	}
	return nil
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// checkRoute asks the kernel of ns how it sends to dst from src, and wants dev.
func checkRoute(ns string, dst, src netip.Addr, dev string) error {
	out, err := nsRun(context.Background(), ns, "ip", "-j", "route", "get", dst.String(), "from", src.String())
	if err != nil {
		return err
	}
	var rs []struct {
		Dev string `json:"dev"`
	}
	if err := json.Unmarshal(out, &rs); err != nil || len(rs) == 0 {
		return fmt.Errorf("ip route get %s in %s: %s", dst, ns, out)
	}
	if rs[0].Dev != dev {
		return fmt.Errorf("in %s, %s goes through %s, not %s", ns, dst, rs[0].Dev, dev)
	}
	return nil
}

func deviceMTU(ns, dev string) string {
	out, err := nsRun(context.Background(), ns, "cat", "/sys/class/net/"+dev+"/mtu")
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(out))
}

// udpOut reads Udp OutDatagrams of namespace ns.
func udpOut(ns string) (uint64, error) {
	out, err := nsRun(context.Background(), ns, "cat", "/proc/net/snmp")
	if err != nil {
		return 0, err
	}
	var names []string
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != "Udp:" {
			continue
		}
		if names == nil {
			names = f
			continue
		}
		for i, n := range names {
			if n == "OutDatagrams" && i < len(f) {
				return strconv.ParseUint(f[i], 10, 64)
			}
		}
	}
	return 0, fmt.Errorf("no Udp OutDatagrams in %s", ns)
}

// cpuTicks sums utime and stime of the processes (all their threads).
func cpuTicks(pids []int) uint64 {
	var sum uint64
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:]) // fields from the 3rd (state) on
		if len(f) < 13 {
			continue
		}
		u, _ := strconv.ParseUint(f[11], 10, 64) // field 14: utime
		k, _ := strconv.ParseUint(f[12], 10, 64) // field 15: stime
		sum += u + k
	}
	return sum
}

type iperfJSON struct {
	End struct {
		SumReceived *struct {
			BitsPerSecond float64 `json:"bits_per_second"`
		} `json:"sum_received"`
		SumSent *struct {
			Retransmits int `json:"retransmits"`
		} `json:"sum_sent"`
		Sum *struct {
			BitsPerSecond float64 `json:"bits_per_second"`
			LostPercent   float64 `json:"lost_percent"`
		} `json:"sum"`
	} `json:"end"`
	Error string `json:"error"`
}

// iperf runs one iperf3 measurement over p: a one-off server in the
// server's namespace, bound to the path's address, and the client bound to
// its own. streams 0 is UDP at o.udp.
func iperf(o options, p path, streams int) (run, error) {
	ctx, cancel := context.WithTimeout(context.Background(), o.duration+60*time.Second)
	defer cancel()
	srv := exec.CommandContext(ctx, "ip", "netns", "exec", p.server.ns, "iperf3", "-s", "-1", "-B", p.dst.String(), "-p", iperfPort)
	if err := srv.Start(); err != nil {
		return run{}, err
	}
	defer func() { _ = srv.Process.Kill(); _ = srv.Wait() }()
	args := []string{"iperf3", "-c", p.dst.String(), "-B", p.src.String(), "-p", iperfPort, "-t", strconv.Itoa(int(o.duration.Seconds())), "-J"}
	if streams > 0 {
		args = append(args, "-P", strconv.Itoa(streams))
	} else {
		args = append(args, "-u", "-b", o.udp)
	}
	var out []byte
	var err error
	var t0 time.Time
	var c0 uint64
	for try := 0; try < 50; try++ { // until the server listens
		time.Sleep(100 * time.Millisecond)
		t0, c0 = time.Now(), cpuTicks(p.pids())
		out, err = nsRun(ctx, p.client.ns, args...)
		if err == nil || !strings.Contains(string(out), "Connection refused") {
			break
		}
	}
	wall := time.Since(t0).Seconds()
	c1 := cpuTicks(p.pids())
	var j iperfJSON
	if jerr := json.Unmarshal(out, &j); jerr != nil {
		return run{}, errors.Join(err, jerr)
	}
	if j.Error != "" {
		return run{}, errors.New(j.Error)
	}
	r := run{cpu: float64(c1-c0) / clkTck / wall * 100}
	switch {
	case streams == 0 && j.End.Sum != nil:
		r.mbps = j.End.Sum.BitsPerSecond * (1 - j.End.Sum.LostPercent/100) / 1e6
		r.lost = j.End.Sum.LostPercent
	case j.End.SumReceived != nil:
		r.mbps = j.End.SumReceived.BitsPerSecond / 1e6
		if j.End.SumSent != nil {
			r.retransmits = j.End.SumSent.Retransmits
		}
	default:
		return run{}, fmt.Errorf("iperf3 printed no result: %s", out)
	}
	return r, nil
}

// ---- tinc ----

type tincPair struct {
	version string
	addr    [2]netip.Addr
	cmds    [2]*exec.Cmd
	logs    [2]string
}

func (t *tincPair) pids() []int {
	var p []int
	for _, c := range t.cmds {
		if c != nil && c.Process != nil {
			p = append(p, c.Process.Pid)
		}
	}
	return p
}

// startTinc sets up a tinc network of the two gates in router mode, with
// its own configuration directories under work, UDP and TCP port 655 on
// their internet addresses, and a tun device tinc0 with 172.31.0.X/24, and
// runs tincd in the gates' namespaces until the end. Every setting not
// written here keeps tinc's default (tinc 1.0: Blowfish-CBC and
// HMAC-SHA1, compression off).
func startTinc(work string, g [2]gate) (*tincPair, error) {
	t := &tincPair{}
	v, err := exec.Command("tincd", "--version").Output()
	if err != nil {
		return nil, fmt.Errorf("tincd --version: %v", err)
	}
	t.version = strings.TrimPrefix(strings.SplitN(string(v), "\n", 2)[0], "tinc version ")
	dirs := [2]string{}
	for i := range g {
		t.addr[i] = netip.MustParseAddr(fmt.Sprintf("%s.%d", tincNet, i+1))
		dirs[i] = filepath.Join(work, "tinc-"+g[i].name)
		if err := os.MkdirAll(filepath.Join(dirs[i], "hosts"), 0o700); err != nil {
			return nil, err
		}
		conf := fmt.Sprintf("Name = %s\nMode = router\nAddressFamily = ipv4\nInterface = %s\nBindToAddress = %s\nPort = %d\n",
			g[i].name, tincIface, g[i].inet, tincPort)
		if i == 0 {
			conf += "ConnectTo = " + g[1].name + "\n"
		}
		host := fmt.Sprintf("Address = %s\nPort = %d\nSubnet = %s/32\n", g[i].inet, tincPort, t.addr[i])
		up := fmt.Sprintf("#!/bin/sh\nip addr add %s/24 dev \"$INTERFACE\"\nip link set \"$INTERFACE\" up\n", t.addr[i])
		for name, body := range map[string]string{"tinc.conf": conf, "hosts/" + g[i].name: host, "tinc-up": up} {
			if err := os.WriteFile(filepath.Join(dirs[i], name), []byte(body), 0o700); err != nil {
				return nil, err
			}
		}
		// -K appends the public key to hosts/NAME, the private key goes
		// to rsa_key.priv; stdin not a terminal: no questions.
		kg := exec.Command("tincd", "-c", dirs[i], "-K2048")
		if out, err := kg.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("tincd -K: %v %s", err, out)
		}
	}
	for i := range g { // each host file to the other side
		b, err := os.ReadFile(filepath.Join(dirs[i], "hosts", g[i].name))
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(dirs[1-i], "hosts", g[i].name), b, 0o600); err != nil {
			return nil, err
		}
	}
	for _, i := range []int{1, 0} { // the listening side first
		t.logs[i] = filepath.Join(dirs[i], "log")
		c := exec.Command("ip", "netns", "exec", g[i].ns, "tincd", "-c", dirs[i], "-D", "-d1",
			"--pidfile="+filepath.Join(dirs[i], "pid"), "--logfile="+t.logs[i])
		if err := c.Start(); err != nil {
			return nil, fmt.Errorf("tincd in %s: %v", g[i].ns, err)
		}
		t.cmds[i] = c
		atExit(func() {
			_ = c.Process.Signal(syscall.SIGTERM)
			done := make(chan struct{})
			go func() { _ = c.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				_ = c.Process.Kill()
				<-done
			}
		})
		time.Sleep(500 * time.Millisecond)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := nsRun(context.Background(), g[0].ns, "ping", "-c", "1", "-W", "1", t.addr[1].String())
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(t.logs[0])
			return nil, fmt.Errorf("tinc: no ping through %s after 30 s: %v\n%s", tincIface, err, b)
		}
		time.Sleep(500 * time.Millisecond)
	}
	logf("tinc %s up between %s and %s", t.version, g[0].name, g[1].name)
	return t, nil
}

// ---- joins ----

type joinRun struct {
	total, apart, join float64
	renumbered         int // the island whose gate left 10.1.x.x
}

func joins(o options, work string) error {
	fast := filepath.Join(work, "fast.toml")
	if err := os.WriteFile(fast, []byte(fastConfig), 0o644); err != nil {
		return err
	}
	type set struct {
		name, config string
		runs         int
	}
	var rows []string
	for _, s := range []set{{"default", "", o.joinRuns}, {"fast (radar 1s / 250ms, qspn wait_round 5s)", fast, o.fastRuns}} {
		var rs []joinRun
		for i := 1; i <= s.runs; i++ {
			logf("join, %s timers, run %d: 2 islands of 3 nodes", s.name, i)
			r, err := labUp(o, 2, 3, s.config)
			if err != nil {
				return err
			}
			jr := joinRun{total: r.Seconds, apart: r.IslandsApart, join: r.Seconds - r.IslandsApart}
			for j, is := range r.State.Islands {
				for _, n := range r.Status.Nodes {
					if n.Name == is.Gate && !netip.MustParsePrefix("10.1.0.0/16").Contains(n.Address) {
						jr.renumbered = j + 1
					}
				}
			}
			logf("  apart %.1f s, joined %.1f s later (island %d renumbered)", jr.apart, jr.join, jr.renumbered)
			rs = append(rs, jr)
			labDown(o)
		}
		if len(rs) == 0 {
			continue
		}
		var js, as, ts []float64
		var all []string
		for _, r := range rs {
			js, as, ts = append(js, r.join), append(as, r.apart), append(ts, r.total)
			all = append(all, fmt.Sprintf("%.1f", r.join))
		}
		rows = append(rows, fmt.Sprintf("| %s | %d | **%.1f s** / %.1f / %.1f | %s | %.1f s | %.1f s |", s.name, len(rs),
			median(js), slices.Min(js), slices.Max(js), strings.Join(all, ", "), median(as), median(ts)))
	}
	fmt.Printf("\nTwo islands of 3 nodes (ring), ntkd lab up --islands 2 --nodes 3 --json\n\n")
	fmt.Println("| timers | runs | join: median / min / max | join, every run | islands apart (median) | whole lab up (median) |")
	fmt.Println("| --- | --- | --- | --- | --- | --- |")
	for _, r := range rows {
		fmt.Println(r)
	}
	return nil
}
