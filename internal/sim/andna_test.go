package sim

import (
	"crypto/ed25519"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/ntkd/ntkd/internal/andna"
	"github.com/ntkd/ntkd/internal/topo"
	"github.com/ntkd/ntkd/internal/wire"
)

// andnaConfig compresses ANDNA's three days into minutes.
func andnaConfig() andna.Config {
	c := andna.DefaultConfig()
	c.Hibernation = 600 * time.Second
	c.MinUpdateAge = 200 * time.Second
	c.UpdateEvery = 300 * time.Second
	c.RequestTimeout = 2 * time.Second
	c.MaxNamesPerKey = 8
	return c
}

// andnaSim is a converged random mesh of n nodes running ANDNA, with 4 bits
// per level so that it spans many level-1 gnodes. Nodes 1 and 2 share one
// key (one owner with two routers).
func andnaSim(t *testing.T, n int, seed uint64) *Sim {
	t.Helper()
	cfg := testConfig(t, "10.0.0.0/8", 4, 4, 4, 4, 4, 4)
	ac := andnaConfig()
	cfg.ANDNA = &ac
	tp, err := topo.Generate("random", n, rand.New(rand.NewPCG(seed, 1)), linkOpt)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{Topology: tp, Node: cfg, Seed: seed, StartWave: 200 * time.Millisecond,
		ANDNAKey: func(i int) ed25519.PrivateKey {
			if i == 2 {
				i = 1
			}
			var b [ed25519.SeedSize]byte
			b[0], b[1], b[2] = byte(seed), byte(i), byte(i>>8)
			return ed25519.NewKeyFromSeed(b[:])
		}})
	if err != nil {
		t.Fatal(err)
	}
	settle(t, s, 2000*time.Second)
	return s
}

// resolveAll resolves each (node, name) pair and returns the answers once
// they are in.
func resolveAll(t *testing.T, s *Sim, asks [][2]any) map[[2]any]andna.Result {
	t.Helper()
	type nodeToken struct {
		node int
		tok  uint64
	}
	tokens := map[nodeToken][2]any{}
	for _, a := range asks {
		i, name := a[0].(int), a[1].(string)
		s.WithANDNA(i, func(e *andna.Engine, now time.Duration) {
			tok, err := e.Resolve(now, name)
			if err != nil {
				t.Fatalf("resolve %q: %v", name, err)
			}
			tokens[nodeToken{i, tok}] = a
		})
	}
	got := map[[2]any]andna.Result{}
	start := s.Now()
	deadline := s.Now() + 60*time.Second
	var took []time.Duration
	for len(got) < len(asks) && s.Now() < deadline {
		s.Run(s.Now() + 10*time.Millisecond)
		for i := range s.Nodes() {
			if nd := s.Node(i); nd != nil && nd.ANDNA() != nil {
				for _, r := range nd.ANDNA().Results() {
					if a, ok := tokens[nodeToken{i, r.Token}]; ok {
						got[a] = r
						took = append(took, s.Now()-start)
					}
				}
			}
		}
	}
	if len(took) > 1 {
		slices.Sort(took)
		t.Logf("%d resolutions: latency p50 %v, p99 %v, max %v (virtual, 10 ms steps)",
			len(took), took[len(took)/2], took[len(took)*99/100], took[len(took)-1])
	}
	return got
}

// routedSent counts the ROUTED packets every node sent so far.
func routedSent(s *Sim) uint64 {
	var n uint64
	for i := range s.Nodes() {
		if nd := s.Node(i); nd != nil {
			n += nd.Stats.SentPackets[wire.OpRouted]
		}
	}
	return n
}

func nameOf(i int) string { return fmt.Sprintf("n%d", i) }

// TestANDNARegisterResolve: every node registers a name, every node
// resolves a sample of the others' (seed 001 §7.1.4, §7.8), the same after
// every node of one hash gnode died (backup gnodes), the names of one key
// stop at the counter gnode's limit, and a reverse lookup asks the node.
var andnaNodes = flag.Int("andna-nodes", 120, "nodes of the ANDNA simulation test (the issue's figure: 1000)")

func TestANDNARegisterResolve(t *testing.T) {
	n := *andnaNodes
	s := andnaSim(t, n, 3)
	for i := range n {
		s.WithANDNA(i, func(e *andna.Engine, now time.Duration) {
			if err := e.Register(now, nameOf(i)); err != nil {
				t.Fatal(err)
			}
		})
	}
	s.Run(s.Now() + 60*time.Second)
	for i := range n {
		for _, o := range s.Node(i).ANDNA().Names() {
			if o.State != "registered" {
				t.Fatalf("node %d: %s is %s (%s)", i, o.Name, o.State, o.Error)
			}
		}
	}
	r := rand.New(rand.NewPCG(9, 9))
	var asks [][2]any
	for i := range n {
		for range 5 {
			asks = append(asks, [2]any{i, nameOf(r.IntN(n))})
		}
	}
	before := routedSent(s)
	got := resolveAll(t, s, asks)
	t.Logf("%d nodes: %.1f ROUTED packets per resolution (request and answer, every hop counted)",
		n, float64(routedSent(s)-before)/float64(len(asks)))
	bad := 0
	for _, a := range asks {
		res, ok := got[a]
		want := s.Node(mustAtoi(a[1].(string))).Addr()
		if !ok || res.Err != nil || res.Addr != want {
			bad++
			if bad < 5 {
				t.Errorf("node %d resolving %s: %+v (ok %v), want %v", a[0], a[1], res, ok, want)
			}
		}
	}
	if bad > 0 {
		t.Fatalf("%d of %d resolutions wrong", bad, len(asks))
	}

	// Kill the hash gnode of one name: every node that keeps it as the
	// hash gnode (not as a backup).
	victim := nameOf(17)
	h := andna.NameHash(victim)
	var killed []int
	for i := range n {
		for _, rec := range s.Node(i).ANDNA().Records() {
			if rec.Hash == h && !rec.Backup && i != 17 {
				killed = append(killed, i)
			}
		}
	}
	if len(killed) == 0 {
		t.Fatal("nobody keeps " + victim)
	}
	for _, i := range killed {
		s.Kill(i)
	}
	settle(t, s, s.Now()+2000*time.Second)
	asker := 0
	for asker < n && (s.Node(asker) == nil || asker == 17) {
		asker++
	}
	res := resolveAll(t, s, [][2]any{{asker, victim}})[[2]any{asker, victim}]
	if res.Err != nil || res.Addr != s.Node(17).Addr() {
		t.Fatalf("after killing the hash gnode of %s (%d nodes): %+v, want %v", victim, len(killed), res, s.Node(17).Addr())
	}

	// Reverse: ask node 17 for its names.
	var tok uint64
	s.WithANDNA(asker, func(e *andna.Engine, now time.Duration) { tok = e.Reverse(now, s.Node(17).Addr()) })
	s.Run(s.Now() + 10*time.Second)
	found := false
	for _, r := range s.Node(asker).ANDNA().Results() {
		if r.Token == tok {
			found = r.Err == nil && len(r.Names) == 1 && r.Names[0] == victim
			if !found {
				t.Errorf("reverse of node 17: %+v", r)
			}
		}
	}
	if !found {
		t.Error("no reverse answer")
	}
}

// TestANDNAKeyLimitAndQueue: the counter gnode refuses the names of one key
// past its limit (seed §7.1.3), whichever router of the owner asks; a
// second key asking for a taken name waits in the queue and takes the name
// over only when the first registration expires (§7.1.7).
func TestANDNAKeyLimitAndQueue(t *testing.T) {
	s := andnaSim(t, 60, 5)
	limit := andnaConfig().MaxNamesPerKey
	// Nodes 1 and 2 share a key: limit+1 names between them.
	for k := range limit + 1 {
		i := 1 + k%2
		s.WithANDNA(i, func(e *andna.Engine, now time.Duration) {
			if err := e.Register(now, fmt.Sprintf("shared%d", k)); err != nil {
				t.Fatal(err)
			}
		})
		s.Run(s.Now() + 5*time.Second) // one after the other
	}
	s.WithANDNA(3, func(e *andna.Engine, now time.Duration) { _ = e.Register(now, "shared0") })
	s.Run(s.Now() + 60*time.Second)
	registered, refused := 0, 0
	for _, i := range []int{1, 2} {
		for _, o := range s.Node(i).ANDNA().Names() {
			switch {
			case o.State == "registered":
				registered++
			case o.State == "refused: "+wire.CodeLimitExceeded.String():
				refused++
			default:
				t.Errorf("node %d: %s is %s (%s)", i, o.Name, o.State, o.Error)
			}
		}
	}
	if registered != limit || refused != 1 {
		t.Fatalf("%d names registered and %d refused for one key, want %d and 1", registered, refused, limit)
	}
	if o := s.Node(3).ANDNA().Names(); len(o) != 1 || o[0].State != "registered" {
		t.Fatalf("node 3's claim on shared0: %+v (queued claims are accepted)", o)
	}
	owner := s.Node(1).Addr()
	res := resolveAll(t, s, [][2]any{{10, "shared0"}})[[2]any{10, "shared0"}]
	if res.Err != nil || res.Addr != owner {
		t.Fatalf("shared0 resolves to %+v, want the first owner %v", res, owner)
	}
	// The first owner stops updating; once its registration expires the
	// queued claim is the owner.
	s.WithANDNA(1, func(e *andna.Engine, now time.Duration) { e.Unregister("shared0") })
	s.Run(s.Now() + andnaConfig().Hibernation + 30*time.Second)
	res = resolveAll(t, s, [][2]any{{11, "shared0"}})[[2]any{11, "shared0"}]
	if res.Err != nil || res.Addr != s.Node(3).Addr() {
		t.Fatalf("after the first claim expired, shared0 resolves to %+v, want %v", res, s.Node(3).Addr())
	}
	// A name nobody registered.
	res = resolveAll(t, s, [][2]any{{12, "nobody"}})[[2]any{12, "nobody"}]
	if !errors.Is(res.Err, andna.ErrNotFound) {
		t.Fatalf("nobody: %+v, want not found", res)
	}
}

func mustAtoi(name string) int {
	var i int
	if _, err := fmt.Sscanf(name, "n%d", &i); err != nil {
		panic(err)
	}
	return i
}
