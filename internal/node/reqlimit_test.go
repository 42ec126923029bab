package node

import (
	"testing"
	"time"

	"github.com/ntkd/ntkd/internal/wire"
)

// A peer gets two internal maps per 10 s (request.c's GET_INT_MAP limit);
// the third request in that time is dropped and counted, and the peer is
// served again once the wait has passed.
func TestMapRequestsLimited(t *testing.T) {
	n, now := hookedPair(t)
	req, _ := wire.Encode(42, &wire.Empty{Kind: wire.OpGetIntMap})
	served := func() int {
		k := 0
		for _, s := range n.Outbox() {
			if s.Op == wire.OpPutIntMap {
				k++
			}
		}
		return k
	}
	for i := 0; i < 5; i++ {
		now += time.Millisecond
		n.HandlePacket(now, 0, 7, req)
	}
	if k := served(); k != 2 {
		t.Fatalf("%d of 5 map requests served at once, want 2", k)
	}
	if d := n.Stats.Dropped["request over its rate"]; d != 3 {
		t.Fatalf("%d requests counted as over the rate, want 3", d)
	}
	// Another peer is not held back by the first.
	n.HandlePacket(now, 0, 8, req)
	if k := served(); k != 1 {
		t.Fatalf("another peer's request: %d served", k)
	}
	now += 5 * time.Second // one request back
	n.HandlePacket(now, 0, 7, req)
	n.HandlePacket(now, 0, 7, req)
	if k := served(); k != 1 {
		t.Fatalf("after half the wait: %d served, want 1", k)
	}
}
