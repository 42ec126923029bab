package kernel

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// EventKind says what an Event reports.
type EventKind uint8

const (
	// LinkAdded: a link appeared (or existed when Watch started).
	LinkAdded EventKind = iota + 1
	// LinkChanged: a link's name, flags, carrier, operational state or MTU changed.
	LinkChanged
	// LinkRemoved: a link is gone; Event.Link is its last state.
	LinkRemoved
	// ResyncNeeded: the kernel may no longer hold the routes we installed (one
	// was deleted behind our back, a link went down or away and took routes
	// with it, or a netlink subscription failed and events may be lost). Call
	// Kernel.Resync.
	ResyncNeeded
)

func (e EventKind) String() string {
	switch e {
	case LinkAdded:
		return "link-added"
	case LinkChanged:
		return "link-changed"
	case LinkRemoved:
		return "link-removed"
	case ResyncNeeded:
		return "resync-needed"
	}
	return fmt.Sprintf("event(%d)", uint8(e))
}

// Event is what Watch delivers.
type Event struct {
	Kind EventKind
	// Link is set for the link events.
	Link LinkState
	// Reason says why a resync is needed, for the log.
	Reason string
}

// LinkState is what the daemon needs to know about a network interface.
type LinkState struct {
	Index        int
	Name         string
	Flags        net.Flags // administrative flags; FlagUp is "ip link set up"
	Carrier      bool      // IFF_LOWER_UP: the cable, the peer or the radio is there
	OperState    string    // RFC 2863 state: "up", "down", "lower-layer-down", "dormant", "unknown" (no carrier detection), ...
	MTU          int
	HardwareAddr net.HardwareAddr
}

// Up reports whether the link is administratively up.
func (l LinkState) Up() bool { return l.Flags&net.FlagUp != 0 }

// Usable reports whether packets can flow: administratively up with carrier.
func (l LinkState) Usable() bool { return l.Up() && l.Carrier }

func sameLinkState(a, b LinkState) bool {
	return a.Index == b.Index && a.Name == b.Name && a.Flags == b.Flags && a.Carrier == b.Carrier &&
		a.OperState == b.OperState && a.MTU == b.MTU && string(a.HardwareAddr) == string(b.HardwareAddr)
}

// Watch reports link changes and the need to resync routes until ctx is done,
// then closes the channel. It starts with a LinkAdded for every existing link.
// Only routes of our protocol, table and family that are among those last
// given to Sync count: our own deletions do not trigger ResyncNeeded. When a
// subscription fails, Watch says ResyncNeeded, subscribes again and lists the
// links again to catch up. Events wait in memory until they are read, so a
// slow reader loses none; ResyncNeeded events not yet read are merged into one.
func (k *Kernel) Watch(ctx context.Context) (<-chan Event, error) {
	w, err := k.newWatcher()
	if err != nil {
		return nil, err
	}
	if err := w.start(ctx); err != nil {
		w.ns.Close()
		return nil, err
	}
	return w.out, nil
}

const (
	// routeRcvBuf holds the notifications of a full Sync (about 768 routes) even
	// if the reader is slow for a while; an overflow costs a resubscription and
	// a Resync, not correctness.
	routeRcvBuf = 1 << 20
	// resubscribeMax caps the wait between failed resubscriptions.
	resubscribeMax = 30 * time.Second
)

type linkSubscribeFunc func(chan<- linkUpdate, <-chan struct{}, subOptions) error
type routeSubscribeFunc func(chan<- routeUpdate, <-chan struct{}, subOptions) error

// watcher is the state of one Watch; only its run goroutine touches it after start.
type watcher struct {
	k  *Kernel
	ns netns.NsHandle // own copy, closed when run ends; None for the current namespace

	// Seams for the tests, which simulate a failing subscription.
	subscribeLinks  linkSubscribeFunc
	subscribeRoutes routeSubscribeFunc

	out   chan Event
	errs  chan subError // from the subscriptions' error callbacks
	gen   int           // numbers subscriptions, so errors of abandoned ones are ignored
	links map[int]LinkState

	linkSub  *subscription[linkUpdate]
	routeSub *subscription[routeUpdate]

	queue        []Event
	resyncQueued bool
	retryDelay   time.Duration
	retry        *time.Timer
	retryPending bool
}

type subscription[T any] struct {
	gen  int
	ch   chan T
	done chan struct{}
}

// abandon stops a running subscription. netlink's reader goroutine may be
// blocked sending to ch, so ch is drained until netlink closes it.
func (s *subscription[T]) abandon() {
	close(s.done)
	go func() {
		for range s.ch {
		}
	}()
}

type subError struct {
	gen int
	err error
}

func (k *Kernel) newWatcher() (*watcher, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.rt == nil {
		return nil, ErrClosed
	}
	ns := netns.None()
	if k.ns.IsOpen() {
		var err error
		if ns, err = dupNetns(k.ns); err != nil {
			return nil, err
		}
	}
	return &watcher{
		k:               k,
		ns:              ns,
		subscribeLinks:  subscribeLinks,
		subscribeRoutes: subscribeRoutes,
		out:             make(chan Event, 16),
		errs:            make(chan subError, 4),
		links:           map[int]LinkState{},
	}, nil
}

// start subscribes and lists the links before returning, so that a caller
// sees every change made after Watch returns.
func (w *watcher) start(ctx context.Context) error {
	if err := w.startRoutes(); err != nil {
		return err
	}
	if err := w.startLinks(); err != nil {
		w.routeSub.abandon()
		return err
	}
	go w.run(ctx)
	return nil
}

func (w *watcher) onError(gen int) func(error) {
	return func(err error) {
		select {
		case w.errs <- subError{gen, err}:
		default: // errors are already waiting: the subscription is being replaced anyway
		}
	}
}

func (w *watcher) startRoutes() error {
	w.gen++
	s := &subscription[routeUpdate]{gen: w.gen, ch: make(chan routeUpdate, 64), done: make(chan struct{})}
	err := w.subscribeRoutes(s.ch, s.done, subOptions{ns: w.ns, onError: w.onError(s.gen), rcvBuf: routeRcvBuf})
	if err != nil {
		close(s.done) // no socket stays open, no reader started
		return fmt.Errorf("kernel: subscribe to route changes: %w", err)
	}
	w.routeSub = s
	return nil
}

// startLinks subscribes first and lists afterwards, so no change falls between.
func (w *watcher) startLinks() error {
	w.gen++
	s := &subscription[linkUpdate]{gen: w.gen, ch: make(chan linkUpdate, 64), done: make(chan struct{})}
	err := w.subscribeLinks(s.ch, s.done, subOptions{ns: w.ns, onError: w.onError(s.gen)})
	if err != nil {
		close(s.done)
		return fmt.Errorf("kernel: subscribe to link changes: %w", err)
	}
	if err := w.relist(); err != nil {
		s.abandon()
		return err
	}
	w.linkSub = s
	return nil
}

// relist compares the links the kernel has with those we know.
func (w *watcher) relist() error {
	// A socket of our own: the Kernel's one is not safe for concurrent use.
	rt, err := openRtnl(w.ns)
	if err != nil {
		return err
	}
	defer rt.close()
	links, err := rt.links()
	if err != nil {
		return fmt.Errorf("kernel: list links: %w", err)
	}
	present := map[int]bool{}
	for _, st := range links {
		present[st.Index] = true
		w.updateLink(st)
	}
	for idx, st := range w.links {
		if !present[idx] {
			w.removeLink(st)
		}
	}
	return nil
}

func (w *watcher) updateLink(st LinkState) {
	old, known := w.links[st.Index]
	w.links[st.Index] = st
	switch {
	case !known:
		w.emit(Event{Kind: LinkAdded, Link: st})
	case !sameLinkState(old, st):
		w.emit(Event{Kind: LinkChanged, Link: st})
		// Taking a link down makes the kernel drop routes through it (IPv4 says
		// nothing about it); bringing it up is when they can be put back.
		if old.Up() != st.Up() {
			w.emitResync(fmt.Sprintf("link %s went %s", st.Name, upDown(st.Up())))
		}
	}
}

func (w *watcher) removeLink(st LinkState) {
	if _, known := w.links[st.Index]; !known {
		return
	}
	delete(w.links, st.Index)
	w.emit(Event{Kind: LinkRemoved, Link: st})
	w.emitResync(fmt.Sprintf("link %s removed", st.Name))
}

func upDown(up bool) string {
	if up {
		return "up"
	}
	return "down"
}

func (w *watcher) emit(e Event) { w.queue = append(w.queue, e) }

func (w *watcher) emitResync(reason string) {
	if w.resyncQueued {
		return
	}
	w.resyncQueued = true
	w.emit(Event{Kind: ResyncNeeded, Reason: reason})
}

func (w *watcher) onLinkUpdate(u linkUpdate) {
	// AF_BRIDGE messages are about bridge ports: a RTM_DELLINK of that family
	// means "left the bridge", not "gone".
	if u.Family == unix.AF_BRIDGE {
		return
	}
	switch u.Type {
	case unix.RTM_NEWLINK:
		w.updateLink(u.Link)
	case unix.RTM_DELLINK:
		w.removeLink(u.Link)
	}
}

func (w *watcher) onRouteUpdate(u routeUpdate) {
	k := w.k
	if u.Type != unix.RTM_DELROUTE || u.Family != k.cfg.Family ||
		u.Protocol != k.cfg.Protocol || u.Table != k.cfg.Table {
		return
	}
	// Sync forgets a destination before deleting its route, so a deletion of a
	// destination still wanted is someone else's.
	dst := k.dstPrefix(u.Dst)
	if k.wanted(dst) {
		w.emitResync(fmt.Sprintf("route %v of ours deleted", dst))
	}
}

// fail replaces the subscription that reported err or ended.
func (w *watcher) fail(gen int, err error) {
	switch {
	case w.routeSub != nil && w.routeSub.gen == gen:
		w.routeSub.abandon()
		w.routeSub = nil
	case w.linkSub != nil && w.linkSub.gen == gen:
		w.linkSub.abandon()
		w.linkSub = nil
	default:
		return // an abandoned subscription
	}
	w.emitResync(fmt.Sprintf("netlink subscription failed: %v", err))
	w.resubscribe()
}

// resubscribe restores missing subscriptions, or schedules another try with
// a growing delay.
func (w *watcher) resubscribe() {
	var errs []error
	if w.routeSub == nil {
		if err := w.startRoutes(); err != nil {
			errs = append(errs, err)
		}
	}
	if w.linkSub == nil {
		if err := w.startLinks(); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		w.retryDelay = 0
		return
	}
	w.retryDelay = min(max(2*w.retryDelay, time.Second), resubscribeMax)
	if w.retry == nil {
		w.retry = time.NewTimer(w.retryDelay)
	} else {
		w.retry.Reset(w.retryDelay)
	}
	w.retryPending = true
}

func (w *watcher) run(ctx context.Context) {
	defer func() {
		if w.routeSub != nil {
			w.routeSub.abandon()
		}
		if w.linkSub != nil {
			w.linkSub.abandon()
		}
		if w.retry != nil {
			w.retry.Stop()
		}
		w.ns.Close()
		close(w.out)
	}()
	for {
		var out chan<- Event
		var next Event
		if len(w.queue) > 0 {
			out, next = w.out, w.queue[0]
		}
		var linkCh <-chan linkUpdate
		if w.linkSub != nil {
			linkCh = w.linkSub.ch
		}
		var routeCh <-chan routeUpdate
		if w.routeSub != nil {
			routeCh = w.routeSub.ch
		}
		var retry <-chan time.Time
		if w.retryPending {
			retry = w.retry.C
		}
		select {
		case <-ctx.Done():
			return
		case out <- next:
			w.queue[0] = Event{}
			w.queue = w.queue[1:]
			if next.Kind == ResyncNeeded {
				w.resyncQueued = false
			}
		case u, ok := <-linkCh:
			if !ok {
				w.fail(w.linkSub.gen, errors.New("link subscription closed"))
				continue
			}
			w.onLinkUpdate(u)
		case u, ok := <-routeCh:
			if !ok {
				w.fail(w.routeSub.gen, errors.New("route subscription closed"))
				continue
			}
			w.onRouteUpdate(u)
		case e := <-w.errs:
			w.fail(e.gen, e.err)
		case <-retry:
			w.retryPending = false
			w.resubscribe()
		}
	}
}
