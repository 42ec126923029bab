package sim

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/ntkd/ntkd/internal/oracle"
)

// TestCostNoiseKeepsMultipathLoopFree moves link costs the way radio links
// do (a few links every two seconds, between 0.4 and 1.8 times their
// latency) for ten minutes and reads every route table each second: at no
// moment may any choice of multipath hops loop, nor a best hop. Before the
// feasible distances (maps.Map.Feasible) two nodes kept each other as
// alternatives for minutes: a third of the reads failed.
func TestCostNoiseKeepsMultipathLoopFree(t *testing.T) {
	for _, c := range []struct {
		kind   string
		nodes  int
		s1, s2 uint64
	}{{"random", 32, 7, 8}, {"grid", 36, 1, 2}, {"random", 48, 5, 6}} {
		t.Run(c.kind, func(t *testing.T) {
			s, _ := convergedSim(t, c.kind, c.nodes, c.s1, c.s2, 1)
			r := rand.New(rand.NewPCG(c.s1, 4))
			base := make([]time.Duration, s.Links())
			for i := range base {
				base[i] = s.links[i].Latency
			}
			bad, reads := 0, 0
			for step := range 600 {
				if step%2 == 0 {
					for range 3 {
						li := r.IntN(len(base))
						s.SetLinkLatency(li, time.Duration(float64(base[li])*(0.4+1.4*r.Float64())))
					}
				}
				s.Run(s.Now() + time.Second)
				for _, d := range s.Components() {
					reads++
					for _, rep := range []oracle.Report{oracle.CheckDelivery(d), oracle.CheckMultipath(d)} {
						if !rep.Passed() {
							bad++
							if bad <= 3 {
								t.Errorf("at %v: %v", s.Now(), rep)
							}
						}
					}
				}
			}
			if bad > 0 {
				t.Errorf("%d failed checks in %d reads", bad, reads)
			}
		})
	}
}
