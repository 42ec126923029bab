package andna

import (
	"fmt"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/ntkd/ntkd/internal/wire"
)

// BenchmarkMemory: the heap a node's ANDNA holds when its gnode keeps n
// registrations (each name with its owner) and counts their keys.
func BenchmarkMemory(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			var per float64
			for range b.N {
				runtime.GC()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				e := testEngine(b, 9, "10.1.1.1")
				e.cfg.MaxRecords, e.cfg.MaxKeys = n, n
				for i := range n {
					var r wire.Register
					r.Hostname = fmt.Sprintf("host-%d.example", i)
					r.PubKey[0], r.PubKey[1] = byte(i), byte(i>>8)
					r.Counter, r.Addr = 1, netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
					e.store(&r, NameHash(r.Hostname), false)
					k := &keyCount{}
					k.set(NameHash(r.Hostname), time.Hour)
					e.counters[r.PubKey] = k
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				per = float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
				runtime.KeepAlive(e)
			}
			b.ReportMetric(per, "bytes/name")
			b.ReportMetric(per*float64(n)/1024, "KiB")
		})
	}
}
