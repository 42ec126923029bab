package andna

import (
	"net/netip"
	"testing"
	"time"

	"github.com/ntkd/ntkd/internal/wire"
)

// FuzzHandle: whatever packet reaches ANDNA, and however, it neither
// panics nor grows the tables past their bounds.
func FuzzHandle(f *testing.F) {
	for _, p := range []wire.Payload{
		signed(1, "alice", "10.0.0.1", 1),
		&wire.CheckCounter{Asker: netip.MustParseAddr("10.2.2.2"), Request: *signed(1, "bob", "10.0.0.1", 1)},
		&wire.Resolve{Hostname: "alice"},
		&wire.Resolve{Flags: wire.ResolveRecord, Hostname: hashName(NameHash("alice"))},
		&wire.PutCache{Records: []wire.CacheRecord{{ExpiresIn: 9, Addr: netip.MustParseAddr("10.0.0.3")}}},
		&wire.Empty{Kind: wire.OpAndnaReverse},
	} {
		b, err := wire.Encode(1, p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint8(1), uint8(1))
	}
	f.Fuzz(func(t *testing.T, data []byte, how, level uint8) {
		e := testEngine(t, 9, "10.1.1.1")
		e.cfg.MaxRecords, e.cfg.MaxKeys, e.cfg.MaxPending = 4, 4, 4
		h, p, err := wire.Decode(data)
		if err != nil {
			return
		}
		for i := range 3 {
			now := time.Duration(i) * time.Second
			e.Handle(now, netip.MustParseAddr("10.9.9.9"), h.ID, p, Delivery(how%3), level%2)
			e.Tick(now)
			e.Outbox()
		}
		if len(e.db) > 4 || len(e.counters) > 4 || len(e.pending) > 4 {
			t.Fatalf("tables past their bounds: %d %d %d", len(e.db), len(e.counters), len(e.pending))
		}
	})
}
