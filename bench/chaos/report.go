package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"
	"time"
)

// Report is everything a soak saw; -json writes it.
type Report struct {
	Topology     string         `json:"topology"`
	Nodes        int            `json:"nodes"`
	Links        int            `json:"links"`
	Seed         uint64         `json:"seed"`
	Config       string         `json:"extra_config,omitempty"`
	Started      time.Time      `json:"started"`
	FirstFullSec float64        `json:"first_full_s"`
	ChaosSec     float64        `json:"chaos_s"` // time spent in bursts of faults
	WallSec      float64        `json:"wall_s"`
	Faults       map[string]int `json:"faults"` // injected, by kind
	FaultErrors  int            `json:"fault_errors"`
	Events       []Event        `json:"events"`
	Quiet        []Quiet        `json:"quiet_periods"`
	// Checks, in the order they were first recorded.
	Checks        []*Check   `json:"checks"`
	KillLeft      []KillLeft `json:"sigkill_left"` // what each SIGKILL left in the kernel
	Growth        []Growth   `json:"memory_growth"`
	PeakRSSKiB    int        `json:"peak_rss_kib"`
	PeakRSSNode   string     `json:"peak_rss_node"`
	PeakSumRSSKiB int        `json:"peak_sum_rss_kib"` // all daemons together, at the worst read
	Watch         []Watch    `json:"watch,omitempty"`
	LogsDir       string     `json:"logs_dir,omitempty"`
	Error         string     `json:"error,omitempty"` // what stopped the soak early
}

// Event is one fault injected.
type Event struct {
	AtSec  float64 `json:"at_s"`
	Round  int     `json:"round"` // 0: healing
	Kind   string  `json:"kind"`
	Target string  `json:"target"`
	Error  string  `json:"error,omitempty"`
}

// Quiet is one quiet period: the state it began in and what it found.
type Quiet struct {
	Round        int                  `json:"round"` // 0: after the first convergence, -1: the final one
	Healed       bool                 `json:"healed"`
	Dead         int                  `json:"dead"`
	DeadNodes    []string             `json:"dead_nodes,omitempty"`
	Cut          int                  `json:"cut"`
	CutLinks     []string             `json:"cut_links,omitempty"` // (s) silent, (p) partition
	Components   []int                `json:"components"`          // sizes, of running nodes
	ConvergedSec float64              `json:"converged_s"`         // -1: not within the timeout
	Reads        int                  `json:"reads"`
	Took         float64              `json:"took_s"`
	Result       *result              `json:"result"`
	PingsSent    int                  `json:"pings"`
	PingsFailed  int                  `json:"pings_failed"`
	Memory       map[string]memSample `json:"memory,omitempty"`
}

// Watch is one read of the healed mesh after the end (-watch), with pings
// between pairs with a multipath loop (either way) and between others.
type Watch struct {
	AtSec      float64 `json:"at_s"`
	Delivered  int     `json:"delivered"`
	Pairs      int     `json:"pairs"`
	AltBad     int     `json:"alt_bad"`
	AnyPathBad int     `json:"anypath_bad"`
	// Since the previous read: routes whose next hops changed, routes
	// whose weights alone changed, QSPN rounds entered (node, level).
	HopChanges    int      `json:"hop_changes"`
	WeightChanges int      `json:"weight_changes"`
	NewRounds     int      `json:"new_rounds"`
	Unsettled     int      `json:"unsettled_nodes"` // with a level whose round is not settled
	LoopyPings    int      `json:"loopy_pings"`
	LoopyFailed   int      `json:"loopy_failed"`
	CleanPings    int      `json:"clean_pings"`
	CleanFailed   int      `json:"clean_failed"`
	Failures      []string `json:"failures,omitempty"`
}

// Check counts one invariant's evaluations.
type Check struct {
	Name     string   `json:"name"`
	Passed   int      `json:"passed"`
	Failed   int      `json:"failed"`
	Failures []string `json:"failures,omitempty"` // the first few, in detail
}

// KillLeft is what a SIGKILLed daemon left in its namespace.
type KillLeft struct {
	Node   string `json:"node"`
	Routes int    `json:"routes"`
	Addrs  int    `json:"addrs"`
}

// Growth is one daemon's memory after the first convergence and at the end.
type Growth struct {
	Node   string    `json:"node"`
	PID    int       `json:"pid"`
	Before memSample `json:"before"`
	After  memSample `json:"after"`
}

func newReport(o options) *Report {
	return &Report{Topology: o.Topology, Nodes: o.Nodes, Seed: o.Seed, Config: o.ExtraConfig, Started: time.Now().UTC(), Faults: map[string]int{}}
}

// check records one evaluation of the invariant name: where (a quiet
// period, a node) and, when it failed, the details.
func (r *Report) check(name string, ok bool, where string, details []string) {
	i := slices.IndexFunc(r.Checks, func(c *Check) bool { return c.Name == name })
	if i < 0 {
		r.Checks = append(r.Checks, &Check{Name: name})
		i = len(r.Checks) - 1
	}
	c := r.Checks[i]
	if ok {
		c.Passed++
		return
	}
	c.Failed++
	if len(c.Failures) < 5 {
		c.Failures = append(c.Failures, where+":\n    "+strings.Join(details, "\n    "))
	}
}

// Failed says whether any invariant failed.
func (r *Report) Failed() bool {
	for _, c := range r.Checks {
		if c.Failed > 0 {
			return true
		}
	}
	return false
}

var checkWhat = map[string]string{
	"delivery":     "every pair of running nodes of a component delivers hop by hop on kernel routes (best hops)",
	"alternatives": "every other next hop, then best hops, reaches the destination without coming back",
	"nexthops":     "no next hop leads to a dead node, over a cut link, or to an address its neighbour does not hold",
	"multipath":    "no choice of next hops (the kernel hashes each flow onto one hop of a multipath route at every node) loops or ends nowhere",
	"ping":         "real pings between random pairs of a component",
	"daemons":      "no daemon exited or restarted by itself",
	"logs":         "no panic, fatal error or data race in any log",
	"term-flush":   "after SIGTERM: no proto ntk route and no mesh address left",
	"start-flush":  "a (re)started daemon flushes proto ntk routes left in its namespace",
	"memory":       "goroutines and heap in use of daemons never restarted do not grow",
}

func jsonIndent(v any) ([]byte, error) { return json.MarshalIndent(v, "", "  ") }

// print writes the summary.
func (r *Report) print(w io.Writer) {
	fmt.Fprintf(w, "\nchaos soak: %s %d nodes, %d links, seed %d\n", r.Topology, r.Nodes, r.Links, r.Seed)
	fmt.Fprintf(w, "first full routes %.1f s; chaos %s; wall %s\n", r.FirstFullSec, dur(r.ChaosSec), dur(r.WallSec))

	kinds := make([]string, 0, len(r.Faults))
	total := 0
	for k, n := range r.Faults {
		kinds = append(kinds, k)
		total += n
	}
	sort.Strings(kinds)
	var parts []string
	for _, k := range kinds {
		parts = append(parts, fmt.Sprintf("%s %d", k, r.Faults[k]))
	}
	fmt.Fprintf(w, "faults: %d (%s); %d failed to inject\n", total, strings.Join(parts, ", "), r.FaultErrors)

	var conv []float64
	notConv := 0
	for _, q := range r.Quiet {
		if q.ConvergedSec < 0 {
			notConv++
		} else {
			conv = append(conv, q.ConvergedSec)
		}
	}
	fmt.Fprintf(w, "quiet periods: %d; converged %d (time to invariants: median %s, max %s), not within the timeout %d\n",
		len(r.Quiet), len(conv), secs(median(conv)), secs(maxOf(conv)), notConv)
	fmt.Fprintf(w, "\n| quiet | healed | dead | cut | components | converged | delivered | bad alt | bad hops | any-path bad | foreign /32 | pings failed |\n")
	fmt.Fprintf(w, "| --- | --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, q := range r.Quiet {
		name := fmt.Sprint(q.Round)
		if q.Round == -1 {
			name = "final"
		}
		c := "**no**"
		if q.ConvergedSec >= 0 {
			c = fmt.Sprintf("%.1f s", q.ConvergedSec)
		}
		res := q.Result
		fmt.Fprintf(w, "| %s | %v | %d | %d | %v | %s | %d/%d | %d/%d | %d/%d | %d | %d | %d/%d |\n", name, q.Healed, q.Dead, q.Cut, q.Components, c,
			res.Delivered, res.Pairs, res.AltBad, res.AltRoutes, res.BadHops, res.Hops, res.AnyPathBad, res.Foreign, q.PingsFailed, q.PingsSent)
	}

	fmt.Fprintf(w, "\n| check | passed | failed | what |\n| --- | ---: | ---: | --- |\n")
	for _, c := range r.Checks {
		fmt.Fprintf(w, "| %s | %d | %d | %s |\n", c.Name, c.Passed, c.Failed, checkWhat[c.Name])
	}
	for _, c := range r.Checks {
		for i, f := range c.Failures {
			fmt.Fprintf(w, "FAIL %s #%d: %s\n", c.Name, i+1, f)
		}
	}

	if len(r.KillLeft) > 0 {
		var rs []float64
		for _, k := range r.KillLeft {
			rs = append(rs, float64(k.Routes))
		}
		fmt.Fprintf(w, "\nSIGKILL: %d kills; proto ntk routes left in the dead node's kernel: median %.0f, max %.0f (a crash cannot flush; the next start does: start-flush)\n",
			len(r.KillLeft), median(rs), maxOf(rs))
	}
	if len(r.Growth) > 0 {
		var dg, dh []float64
		worstG, worstH := r.Growth[0], r.Growth[0]
		for _, g := range r.Growth {
			dg = append(dg, float64(g.After.Goroutines-g.Before.Goroutines))
			dh = append(dh, float64(g.After.HeapInuse)-float64(g.Before.HeapInuse))
			if g.After.Goroutines-g.Before.Goroutines > worstG.After.Goroutines-worstG.Before.Goroutines {
				worstG = g
			}
			if int64(g.After.HeapInuse)-int64(g.Before.HeapInuse) > int64(worstH.After.HeapInuse)-int64(worstH.Before.HeapInuse) {
				worstH = g
			}
		}
		fmt.Fprintf(w, "memory of %d daemons never restarted, after the first convergence vs the end: goroutines %+.0f median, max %+d (%s: %d -> %d); heap in use %+.2f MiB median, max %+.2f MiB (%s: %.2f -> %.2f MiB)\n",
			len(r.Growth), median(dg), worstG.After.Goroutines-worstG.Before.Goroutines, worstG.Node, worstG.Before.Goroutines, worstG.After.Goroutines,
			median(dh)/(1<<20), (float64(worstH.After.HeapInuse)-float64(worstH.Before.HeapInuse))/(1<<20), worstH.Node, mib(worstH.Before.HeapInuse), mib(worstH.After.HeapInuse))
	}
	if len(r.Watch) > 0 {
		var lp, lf, cp, cf int
		for _, x := range r.Watch {
			lp, lf, cp, cf = lp+x.LoopyPings, lf+x.LoopyFailed, cp+x.CleanPings, cf+x.CleanFailed
		}
		fmt.Fprintf(w, "\nwatch after the end (no faults): %d reads over %s; pings failed between pairs with a multipath loop %d/%d, between the others %d/%d\n",
			len(r.Watch), dur(r.Watch[len(r.Watch)-1].AtSec-r.Watch[0].AtSec), lf, lp, cf, cp)
		fmt.Fprintf(w, "| at | delivered | bad alt | multipath-loop pairs | routes: other hops | other weights | new rounds | unsettled | loopy pings failed | clean pings failed |\n| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
		for _, x := range r.Watch {
			fmt.Fprintf(w, "| %s | %d/%d | %d | %d | %d | %d | %d | %d | %d/%d | %d/%d |\n", dur(x.AtSec), x.Delivered, x.Pairs, x.AltBad, x.AnyPathBad,
				x.HopChanges, x.WeightChanges, x.NewRounds, x.Unsettled, x.LoopyFailed, x.LoopyPings, x.CleanFailed, x.CleanPings)
		}
	}
	fmt.Fprintf(w, "peak RSS: %.1f MiB (%s); all daemons together at most %.1f MiB\n", float64(r.PeakRSSKiB)/1024, r.PeakRSSNode, float64(r.PeakSumRSSKiB)/1024)
	if r.LogsDir != "" {
		fmt.Fprintf(w, "logs and the tables of failing quiet periods: %s\n", r.LogsDir)
	}
	if r.Error != "" {
		fmt.Fprintf(w, "stopped early: %s\n", r.Error)
	}
	if r.Failed() {
		fmt.Fprintln(w, "RESULT: FAIL")
	} else {
		fmt.Fprintln(w, "RESULT: PASS")
	}
}

func dur(s float64) string {
	return time.Duration(s * float64(time.Second)).Round(time.Second).String()
}

func secs(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	return fmt.Sprintf("%.1f s", v)
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

func maxOf(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	return slices.Max(v)
}
