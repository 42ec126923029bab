package sim

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/ntkd/ntkd/internal/oracle"
	"github.com/ntkd/ntkd/internal/topo"
)

var bigSim = flag.Bool("bigsim", false, "also run the 10,000-node convergence benchmark (minutes)")

// BenchmarkConverge runs random wifi-like networks of several sizes to a
// quiet state and reports the figures of docs/BENCHMARKS.md: virtual
// convergence time, control traffic, kernel routes and map memory per node,
// and the stretch of the routes against true shortest paths. A repair round
// after one link cut is measured too.
func BenchmarkConverge(b *testing.B) {
	sizes := []int{64, 256, 1024}
	if *bigSim {
		sizes = append(sizes, 10000)
	}
	for _, n := range sizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				convergeOnce(b, n, uint64(7+i), 0)
			}
		})
	}
}

// BenchmarkGrow is the same for a mesh that grows one router at a time
// next to working ones (3 s apart, breadth-first), the usual way a
// community mesh forms: gnodes fill up instead of many small ones being
// created at once.
func BenchmarkGrow(b *testing.B) {
	sizes := []int{64, 256}
	if *bigSim {
		sizes = append(sizes, 1024)
	}
	for _, n := range sizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				convergeOnce(b, n, uint64(7+i), 3*time.Second)
			}
		})
	}
}

func convergeOnce(b *testing.B, n int, seed uint64, wave time.Duration) {
	tp, err := topo.Generate("random", n, rand.New(rand.NewPCG(seed, 1)), linkOpt)
	if err != nil {
		b.Fatal(err)
	}
	s := newSim(b, tp, testConfig(b, "10.0.0.0/8"), seed)
	if wave > 0 {
		s, err = New(Options{Topology: tp, Node: testConfig(b, "10.0.0.0/8"), Seed: seed, StartWave: wave})
		if err != nil {
			b.Fatal(err)
		}
	}
	start := time.Now()
	quiet := s.RunUntilQuiet(30*time.Second, 2*time.Hour)
	wall := time.Since(start)
	rep := s.Report("random", wall, quiet)
	if !quiet {
		b.Fatalf("%d nodes: not quiet", n)
	}
	d := s.Dump()
	pairs := n * (n - 1)
	var del oracle.Report
	if pairs > 1_000_000 {
		del = oracle.CheckDeliverySample(d, 200_000, rand.New(rand.NewPCG(seed, 2)))
	} else {
		del = oracle.CheckDelivery(d)
	}
	if !del.Passed() {
		b.Errorf("%d nodes: %v", n, del)
	}
	// One repair round: cut a link, count what QSPN sends until quiet.
	before := rep.QSPNPackets
	l := tp.Links[len(tp.Links)/2]
	cutAt := s.Now() + time.Second
	s.At(cutAt, func() { s.LastScript = s.now; s.SetLink(s.findLink(l.A, l.B), false) })
	s.RunUntilQuiet(30*time.Second, s.Now()+time.Hour)
	after := s.Report("random", 0, true)
	lastStart := s.opt.StartSpread
	if wave > 0 {
		lastStart = wave * time.Duration(n-1)
	}
	b.ReportMetric(rep.ConvergenceS, "virtual-s")
	b.ReportMetric(rep.ConvergenceS-lastStart.Seconds(), "virtual-s-after-starts")
	b.ReportMetric(float64(rep.Rehooks), "rehooks")
	b.ReportMetric(wall.Seconds(), "wall-s")
	b.ReportMetric(float64(rep.QSPNPackets)/float64(n), "qspn-pkts/node")
	b.ReportMetric(float64(after.QSPNPackets-before), "repair-qspn-pkts")
	b.ReportMetric(float64(rep.RoutesMax), "routes-max")
	b.ReportMetric(rep.RoutesMean, "routes-mean")
	b.ReportMetric(float64(rep.MapBytes), "map-bytes/node")
	b.ReportMetric(del.Stretch.P50, "stretch-p50")
	b.ReportMetric(del.Stretch.P99, "stretch-p99")
	b.ReportMetric(del.Stretch.Max, "stretch-max")
	b.ReportMetric(float64(rep.GnodesPerLevel[0]), "gnodes-l1")
}
