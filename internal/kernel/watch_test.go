package kernel

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

func linkEvent(kind EventKind, name string, match func(LinkState) bool) func(Event) bool {
	return func(e Event) bool {
		return e.Kind == kind && e.Link.Name == name && (match == nil || match(e.Link))
	}
}

func TestWatchLinks(t *testing.T) {
	ns := newTestNS(t)
	va := ns.veth("va", "vb")
	k := ns.open(Config{Family: unix.AF_INET})
	events := watch(t, k)

	e := waitEvent(t, events, "LinkAdded va", linkEvent(LinkAdded, "va", nil))
	if e.Link.Index != va || !e.Link.Up() {
		t.Errorf("va at start: %+v", e.Link)
	}
	// veth carrier comes up asynchronously after "set up".
	if !e.Link.Carrier {
		waitEvent(t, events, "carrier on va", linkEvent(LinkChanged, "va", LinkState.Usable))
	}

	// The peer going down takes va's carrier, not its administrative state.
	ns.ip("link", "set", "vb", "down")
	e = waitEvent(t, events, "carrier loss on va", linkEvent(LinkChanged, "va", func(l LinkState) bool { return !l.Carrier }))
	if !e.Link.Up() || e.Link.Usable() || e.Link.OperState != "lower-layer-down" {
		t.Errorf("va without carrier: %+v", e.Link)
	}
	ns.ip("link", "set", "vb", "up")
	e = waitEvent(t, events, "carrier back on va", linkEvent(LinkChanged, "va", LinkState.Usable))
	if e.Link.OperState != "up" {
		t.Errorf("va with carrier: %+v", e.Link)
	}

	// Taking a link down makes the kernel drop routes through it. (The
	// ResyncNeeded may be merged into one for vb still waiting to be read.)
	ns.ip("link", "set", "va", "down")
	waitAll(t, events, linkEvent(LinkChanged, "va", func(l LinkState) bool { return !l.Up() }), isResync)

	ns.ip("link", "add", "xa", "type", "veth", "peer", "name", "xb")
	waitEvent(t, events, "LinkAdded xa", linkEvent(LinkAdded, "xa", nil))
	ns.ip("link", "set", "xa", "name", "xc")
	waitEvent(t, events, "rename to xc", linkEvent(LinkChanged, "xc", nil))

	// Deleting va takes its peer vb too; the kernel may report either first.
	ns.ip("link", "del", "va")
	waitAll(t, events, linkEvent(LinkRemoved, "va", func(l LinkState) bool { return l.Index == va }),
		linkEvent(LinkRemoved, "vb", nil), isResync)
}

func isResync(e Event) bool { return e.Kind == ResyncNeeded }

// waitAll waits until every match has accepted an event.
func waitAll(t *testing.T, events <-chan Event, matches ...func(Event) bool) {
	t.Helper()
	seen := make([]bool, len(matches))
	for n := 0; n < len(matches); {
		waitEvent(t, events, "events", func(e Event) bool {
			var hit bool
			for i, m := range matches {
				if !seen[i] && m(e) {
					seen[i], hit = true, true
					n++
				}
			}
			return hit
		})
	}
}

func TestWatchBridgePortIsNoRemoval(t *testing.T) {
	ns := newTestNS(t)
	ns.veth("va", "vb")
	ns.ip("link", "add", "br0", "type", "bridge")
	k := ns.open(Config{Family: unix.AF_INET})
	events := watch(t, k)
	waitEvent(t, events, "LinkAdded va", linkEvent(LinkAdded, "va", nil))

	// Joining and leaving a bridge sends AF_BRIDGE link messages, a
	// RTM_DELLINK among them; va stays.
	ns.ip("link", "set", "va", "master", "br0")
	ns.ip("link", "set", "va", "nomaster")
	ns.ip("link", "del", "vb")
	e := waitEvent(t, events, "a removal", func(e Event) bool { return e.Kind == LinkRemoved })
	if e.Link.Name != "vb" {
		t.Errorf("first removal is %q, want vb (va only left the bridge)", e.Link.Name)
	}
}

func TestWatchRouteDeletedBehindOurBack(t *testing.T) {
	ns, va, wa := mesh4(t)
	k := ns.open(Config{Family: unix.AF_INET})
	events := watch(t, k)

	st, err := k.Sync([]Route{
		route("10.1.0.0/16", hop("10.0.0.2", va, 1)),
		route("10.2.0.0/16", hop("10.0.0.2", va, 1), hop("10.0.0.3", wa, 1)),
		route("10.3.0.0/16", hop("10.0.0.3", wa, 1)),
	})
	checkStats(t, "Sync", st, err, SyncStats{Added: 3})
	// Our own deletion and change raise nothing...
	st, err = k.Sync([]Route{
		route("10.2.0.0/16", hop("10.0.0.2", va, 2), hop("10.0.0.3", wa, 1)),
		route("10.3.0.0/16", hop("10.0.0.3", wa, 1)),
	})
	checkStats(t, "second Sync", st, err, SyncStats{Changed: 1, Removed: 1, Unchanged: 1})
	// ...nor do other protocols' routes...
	ns.ip("route", "add", "10.9.0.0/16", "via", "10.0.0.2", "dev", "va", "onlink", "proto", "static")
	ns.ip("route", "del", "10.9.0.0/16", "proto", "static")
	// ...so the first ResyncNeeded is for this.
	ns.ip("route", "del", "10.3.0.0/16", "proto", "15")
	if e := nextResync(t, events); !strings.Contains(e.Reason, "10.3.0.0/16") {
		t.Errorf("first ResyncNeeded: %q", e.Reason)
	}
	st, err = k.Resync()
	checkStats(t, "Resync", st, err, SyncStats{Added: 1, Unchanged: 1})
	checkRoutes(t, "after Resync", ns.routes("proto", "15"), map[string]string{
		"10.2.0.0/16": "10.0.0.2 dev va weight 2 onlink; 10.0.0.3 dev wa weight 1 onlink",
		"10.3.0.0/16": "10.0.0.3 dev wa weight 1 onlink",
	})

	// A Flush forgets everything: its deletions raise nothing either.
	if err := k.Flush(); err != nil {
		t.Fatal(err)
	}
	if _, err := k.Sync([]Route{route("10.4.0.0/16", hop("10.0.0.2", va, 1))}); err != nil {
		t.Fatal(err)
	}
	ns.ip("route", "del", "10.4.0.0/16", "proto", "15")
	if e := nextResync(t, events); !strings.Contains(e.Reason, "10.4.0.0/16") {
		t.Errorf("ResyncNeeded after Flush: %q", e.Reason)
	}
}

func TestWatchOwnTableOnly(t *testing.T) {
	ns, va, _ := mesh4(t)
	k := ns.open(Config{Family: unix.AF_INET, Table: 100})
	events := watch(t, k)
	if _, err := k.Sync([]Route{route("10.1.0.0/16", hop("10.0.0.2", va, 1)), route("10.2.0.0/16", hop("10.0.0.2", va, 1))}); err != nil {
		t.Fatal(err)
	}
	// The same destination and protocol in the main table is not ours.
	ns.ip("route", "add", "10.1.0.0/16", "via", "10.0.0.2", "dev", "va", "onlink", "proto", "15")
	ns.ip("route", "del", "10.1.0.0/16", "proto", "15")
	ns.ip("route", "del", "10.2.0.0/16", "proto", "15", "table", "100")
	if e := nextResync(t, events); !strings.Contains(e.Reason, "10.2.0.0/16") {
		t.Errorf("first ResyncNeeded: %q", e.Reason)
	}
	st, err := k.Resync()
	checkStats(t, "Resync", st, err, SyncStats{Added: 1, Unchanged: 1})
}

// TestWatchResubscribes breaks the subscriptions the way a dropped netlink
// socket does (the reader fails and netlink closes the channel), and checks
// that Watch says ResyncNeeded and keeps working on fresh subscriptions.
func TestWatchResubscribes(t *testing.T) {
	ns, va, _ := mesh4(t)
	k := ns.open(Config{Family: unix.AF_INET})
	w, err := k.newWatcher()
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var breakRoutes, breakLinks []func()
	// Each subscription gets a done channel of its own that the test can close
	// to kill its socket, as an ENOBUFS or a closed socket would.
	breakable := func(done <-chan struct{}) (<-chan struct{}, func()) {
		inner := make(chan struct{})
		var once sync.Once
		kill := func() { once.Do(func() { close(inner) }) }
		go func() { <-done; kill() }()
		return inner, kill
	}
	w.subscribeRoutes = func(ch chan<- routeUpdate, done <-chan struct{}, o subOptions) error {
		inner, kill := breakable(done)
		mu.Lock()
		breakRoutes = append(breakRoutes, kill)
		mu.Unlock()
		return subscribeRoutes(ch, inner, o)
	}
	w.subscribeLinks = func(ch chan<- linkUpdate, done <-chan struct{}, o subOptions) error {
		inner, kill := breakable(done)
		mu.Lock()
		breakLinks = append(breakLinks, kill)
		mu.Unlock()
		return subscribeLinks(ch, inner, o)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := w.start(ctx); err != nil {
		t.Fatal(err)
	}
	events := w.out
	t.Cleanup(func() {
		cancel()
		for range events {
		}
	})
	count := func(s *[]func()) int { mu.Lock(); defer mu.Unlock(); return len(*s) }
	last := func(s *[]func()) func() { mu.Lock(); defer mu.Unlock(); return (*s)[len(*s)-1] }

	if _, err := k.Sync([]Route{route("10.1.0.0/16", hop("10.0.0.2", va, 1)), route("10.2.0.0/16", hop("10.0.0.2", va, 1))}); err != nil {
		t.Fatal(err)
	}

	last(&breakRoutes)()
	if e := nextResync(t, events); !strings.Contains(e.Reason, "subscription") {
		t.Errorf("ResyncNeeded after route subscription loss: %q", e.Reason)
	}
	if n := count(&breakRoutes); n != 2 {
		t.Errorf("%d route subscriptions, want 2", n)
	}
	ns.ip("route", "del", "10.1.0.0/16", "proto", "15")
	if e := nextResync(t, events); !strings.Contains(e.Reason, "10.1.0.0/16") {
		t.Errorf("new route subscription: %q", e.Reason)
	}

	// A link that appears while the link subscription is down is found by the
	// new subscription's listing... or by the new subscription itself; either
	// way it is reported.
	last(&breakLinks)()
	if e := nextResync(t, events); !strings.Contains(e.Reason, "subscription") {
		t.Errorf("ResyncNeeded after link subscription loss: %q", e.Reason)
	}
	ns.ip("link", "add", "xa", "type", "veth", "peer", "name", "xb")
	waitEvent(t, events, "LinkAdded xa", linkEvent(LinkAdded, "xa", nil))
	if n := count(&breakLinks); n != 2 {
		t.Errorf("%d link subscriptions, want 2", n)
	}
	ns.ip("link", "del", "xa")
	waitEvent(t, events, "LinkRemoved xa", linkEvent(LinkRemoved, "xa", nil))
}

func TestWatchRelistFindsMissedChanges(t *testing.T) {
	ns := newTestNS(t)
	ns.veth("va", "vb")
	k := ns.open(Config{Family: unix.AF_INET})
	w, err := k.newWatcher()
	if err != nil {
		t.Fatal(err)
	}
	defer w.ns.Close()
	// What the watcher knew before its subscription dropped: a link that is
	// gone since, and va in another state.
	va := ns.index("va")
	w.links[va] = LinkState{Index: va, Name: "va"}
	w.links[9999] = LinkState{Index: 9999, Name: "gone"}
	if err := w.relist(); err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range w.queue {
		kinds = append(kinds, e.Kind.String()+" "+e.Link.Name+e.Reason)
	}
	got := strings.Join(kinds, ", ")
	for _, want := range []string{"link-changed va", "link-removed gone", "link-added lo", "link-added vb", "resync-needed"} {
		if !strings.Contains(got, want) {
			t.Errorf("relist events %q lack %q", got, want)
		}
	}
}

func TestWatchStopsAndErrors(t *testing.T) {
	ns := newTestNS(t)
	k := ns.open(Config{Family: unix.AF_INET})
	ctx, cancel := context.WithCancel(context.Background())
	events, err := k.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	for range events { // must end: Watch closes the channel
	}

	w, err := k.newWatcher()
	if err != nil {
		t.Fatal(err)
	}
	w.subscribeRoutes = func(chan<- routeUpdate, <-chan struct{}, subOptions) error {
		return errors.New("no netlink today")
	}
	if err := w.start(context.Background()); err == nil || !strings.Contains(err.Error(), "no netlink today") {
		t.Errorf("start with a failing subscription: %v", err)
	}
	w.ns.Close()

	k.Close()
	if _, err := k.Watch(context.Background()); !errors.Is(err, ErrClosed) {
		t.Errorf("Watch after Close: %v", err)
	}
}
