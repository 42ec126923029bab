package entry

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"time"
)

// Defaults of ListConfig.
const (
	DefaultExpiry      = 30 * time.Minute
	DefaultMaxRecords  = 4096
	DefaultMinInterval = 30 * time.Second
	DefaultMaxSkew     = 5 * time.Minute
	DefaultMaxHops     = 8
)

// ListConfig is a server's policy. Zero fields take the defaults.
type ListConfig struct {
	Self        PublicKey          // this server: a chain holding it is a loop
	Trusted     map[PublicKey]bool // servers whose forwarded updates are accepted
	Mirror      bool               // read-only: no update straight from an entry node
	Expiry      time.Duration      // an entry node silent this long is dropped
	MaxRecords  int                // records kept at most; new nodes beyond are refused
	MinInterval time.Duration      // per entry node, between two accepted updates
	MaxSkew     time.Duration      // how far ahead of our clock a stamp may be
	MaxHops     int                // longest chain accepted
}

func (c *ListConfig) defaults() {
	if c.Expiry <= 0 {
		c.Expiry = DefaultExpiry
	}
	if c.MaxRecords <= 0 {
		c.MaxRecords = DefaultMaxRecords
	}
	if c.MinInterval <= 0 {
		c.MinInterval = DefaultMinInterval
	}
	if c.MaxSkew <= 0 {
		c.MaxSkew = DefaultMaxSkew
	}
	if c.MaxHops <= 0 || c.MaxHops > MaxHops {
		c.MaxHops = DefaultMaxHops
	}
}

// Errors of Apply, one per Status; errors.Is tells them apart.
var (
	ErrUntrusted = errors.New("last signer is not a trusted server")
	ErrRefused   = errors.New("a mirror takes updates from servers only")
	ErrStale     = errors.New("stale or replayed")
	ErrFuture    = errors.New("stamped in the future")
	ErrRate      = errors.New("too soon after the last update")
	ErrFull      = errors.New("list full")
	ErrLoop      = errors.New("chain already signed by this server")
)

// StatusOf maps an error of Apply or of decoding to the status a server
// answers with.
func StatusOf(err error) Status {
	for _, p := range []struct {
		err error
		s   Status
	}{{ErrMalformed, StatusMalformed}, {ErrBadSignature, StatusBadSignature},
		{ErrUntrusted, StatusUntrusted}, {ErrRefused, StatusRefused}, {ErrStale, StatusStale},
		{ErrFuture, StatusFuture}, {ErrRate, StatusRate}, {ErrFull, StatusFull}, {ErrLoop, StatusLoop}} {
		if errors.Is(err, p.err) {
			return p.s
		}
	}
	if err == nil {
		return StatusOK
	}
	return StatusMalformed
}

// Counters count what Apply and Expire did, by outcome.
type Counters struct {
	Accepted uint64
	Refused  [numStatus]uint64 // by Status; StatusOK unused
	Expired  uint64
}

// List is an entry server's list of entry nodes, keyed by node key. It does
// no I/O and is not safe for concurrent use.
type List struct {
	cfg      ListConfig
	recs     map[PublicKey]*Entry
	counters Counters
}

// NewList returns an empty list with cfg's policy.
func NewList(cfg ListConfig) *List {
	cfg.defaults()
	return &List{cfg: cfg, recs: make(map[PublicKey]*Entry)}
}

// Config returns the policy with its defaults filled in.
func (l *List) Config() ListConfig { return l.cfg }

// Len is the number of records.
func (l *List) Len() int { return len(l.recs) }

// Counters returns a copy of the counters.
func (l *List) Counters() Counters { return l.counters }

// Apply takes an update received at now. It returns nil when the update
// replaced or added a record (and should be forwarded), an error wrapping
// one of the Err values otherwise; a refused update changes nothing but
// its counter. Cheap checks come first, so a flood of stale or untrusted
// updates costs no signature verification.
func (l *List) Apply(e Entry, now time.Time) error {
	err := l.apply(e, now)
	if err != nil {
		l.counters.Refused[StatusOf(err)]++
		return err
	}
	l.counters.Accepted++
	return nil
}

func (l *List) apply(e Entry, now time.Time) error {
	if err := e.Record.check(); err != nil {
		return err
	}
	if len(e.Hops) > l.cfg.MaxHops {
		return fmt.Errorf("%d hops, at most %d: %w", len(e.Hops), l.cfg.MaxHops, ErrMalformed)
	}
	last, forwarded := e.LastSigner()
	switch {
	case !forwarded && l.cfg.Mirror:
		return ErrRefused
	case forwarded && !l.cfg.Trusted[last]:
		return fmt.Errorf("%v: %w", last, ErrUntrusted)
	}
	for _, h := range e.Hops {
		if h.Signer == l.cfg.Self {
			return ErrLoop
		}
	}
	t := now.UnixNano()
	switch {
	case e.Stamp < t-int64(l.cfg.Expiry):
		return fmt.Errorf("stamp %v: older than %v: %w", time.Unix(0, e.Stamp).UTC(), l.cfg.Expiry, ErrStale)
	case e.Stamp > t+int64(l.cfg.MaxSkew):
		return fmt.Errorf("stamp %v: %w", time.Unix(0, e.Stamp).UTC(), ErrFuture)
	}
	old, ok := l.recs[e.Node]
	switch {
	case ok && e.Stamp <= old.Stamp:
		return fmt.Errorf("stamp %d, have %d: %w", e.Stamp, old.Stamp, ErrStale)
	case ok && e.Stamp-old.Stamp < int64(l.cfg.MinInterval):
		return ErrRate
	case !ok && len(l.recs) >= l.cfg.MaxRecords:
		return fmt.Errorf("%d records: %w", len(l.recs), ErrFull)
	}
	if err := e.Verify(); err != nil {
		return err
	}
	e.Hops = append([]Hop(nil), e.Hops...) // the caller's slice stays the caller's
	l.recs[e.Node] = &e
	return nil
}

// Expire drops the records of entry nodes silent for the expiry and
// returns how many went.
func (l *List) Expire(now time.Time) int {
	limit := now.UnixNano() - int64(l.cfg.Expiry)
	n := 0
	for k, e := range l.recs {
		if e.Stamp < limit {
			delete(l.recs, k)
			n++
		}
	}
	l.counters.Expired += uint64(n)
	return n
}

// Snapshot returns the records ordered by uptime, oldest first.
func (l *List) Snapshot() []Entry {
	out := make([]Entry, 0, len(l.recs))
	for _, e := range l.recs {
		out = append(out, *e)
	}
	SortByUptime(out)
	return out
}

// SortByUptime orders entries oldest Since first, then by node key, so
// that every server and client lists them alike.
func SortByUptime(es []Entry) {
	// sort.Slice, not slices.SortFunc: no new generic instance in the
	// router binary.
	sort.Slice(es, func(i, j int) bool {
		if es[i].Since != es[j].Since {
			return es[i].Since < es[j].Since
		}
		return bytes.Compare(es[i].Node[:], es[j].Node[:]) < 0
	})
}

// Targets returns which of peers a server passes e on to: a full server
// to every peer with an address, a mirror only to mirrors (seed 002: a
// mirror never sends to an entry server), and never to a server already
// in e's chain.
func Targets(peers []Peer, e *Entry, mirror bool) []int {
	var out []int
next:
	for i, p := range peers {
		if !p.Addr.IsValid() || mirror && !p.Mirror {
			continue
		}
		for _, h := range e.Hops {
			if h.Signer == p.Key {
				continue next
			}
		}
		out = append(out, i)
	}
	return out
}
