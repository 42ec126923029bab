package andna

import (
	"net/netip"
	"testing"
	"time"

	"github.com/ntkd/ntkd/internal/wire"
)

// A source gets 5 ANDNA caches per 10 s (request.c's ANDNA_GET_CACHE
// limit): the rest are dropped and counted, other sources still served.
func TestGetCacheLimited(t *testing.T) {
	e := testEngine(t, 4, "10.1.1.1")
	src := netip.MustParseAddr("10.5.5.5")
	answered := func() int {
		k := 0
		for _, o := range e.Outbox() {
			if o.Dst == src || o.Dst == netip.MustParseAddr("10.6.6.6") {
				k++
			}
		}
		return k
	}
	for i := 0; i < 20; i++ {
		e.Handle(time.Second, src, uint32(i+1), &wire.GetCache{}, Direct, 0)
	}
	if k := answered(); k != 5 {
		t.Fatalf("%d of 20 cache requests answered at once, want 5", k)
	}
	if d := e.Stats.Dropped["request over its rate"]; d != 15 {
		t.Fatalf("%d counted over the rate, want 15", d)
	}
	e.Handle(time.Second, netip.MustParseAddr("10.6.6.6"), 99, &wire.GetCache{}, Direct, 0)
	if k := answered(); k != 1 {
		t.Fatalf("another source: %d answered", k)
	}
}
