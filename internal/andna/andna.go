// Package andna is ANDNA, the mesh's distributed name system (seed 001 §7),
// as a state machine with no I/O inside: the node hands it the ANDNA
// packets that reach it and carries the packets it asks to send (inside
// wire.Routed, hop by hop along the QSPN routes), and the daemon or the
// simulator call Register, Resolve and Tick with the time.
//
// Roles every node plays at once:
//   - owner: registers its names with the hash gnode of each name (the
//     existing level-1 gnode nearest to SHA-256(name) mapped onto the
//     address space) and with MAX_ANDNA_BACKUP_GNODES backup gnodes, and
//     updates them before they expire;
//   - hash gnode member: stores the names it is responsible for, a queue of
//     up to five keys per name, asks the key's counter gnode before
//     accepting a new one, and answers resolutions;
//   - counter gnode member: counts the names of each key (at most 256);
//   - resolver: resolves names for the daemon, with a cache whose entries
//     expire exactly with the registration.
package andna

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/ntkd/ntkd/internal/addr"
	"github.com/ntkd/ntkd/internal/reqlimit"
	"github.com/ntkd/ntkd/internal/wire"
)

// Config holds ANDNA's limits and timers. All timers are configuration so
// that tests and the simulator can compress three days.
type Config struct {
	// Hibernation is how long a registration lives without an update
	// (seed §7.1.5: about 3 days).
	Hibernation time.Duration
	// MinUpdateAge: an update sooner than this after the last one is
	// refused as too early (seed: the first day), unless the owner's
	// address changed.
	MinUpdateAge time.Duration
	// UpdateEvery is how often an owner updates its names; between
	// MinUpdateAge and Hibernation.
	UpdateEvery time.Duration
	// Settle is how long a node that just got its address waits before it
	// registers: its routes to the rest of the mesh come with the first
	// QSPN floods after the hook.
	Settle time.Duration
	// RequestTimeout bounds one request; Retries more are tried.
	RequestTimeout time.Duration
	Retries        int
	// MaxNamesPerKey is the counter gnode's limit (seed §7.1.3: 256).
	MaxNamesPerKey int
	// BackupGnodes is MAX_ANDNA_BACKUP_GNODES (2).
	BackupGnodes int
	// MaxQueue is MAX_ANDNA_QUEUE (5): claims kept per name, owner first.
	MaxQueue int
	// CounterBase is where the update counters of our names start. A hash
	// gnode refuses an update whose counter is not above the one it holds
	// (a replay), so after a restart they must start above every counter
	// sent before: the daemon keeps a reservation on disk.
	CounterBase uint32
	// ResolvedTTL caps how long a resolved name is kept and handed out
	// (0: until its registration expires, as seed §7.8.1 has it). A
	// registration lives for days while its owner may move at any
	// reboot; its first update after the move reaches the hash gnode
	// within a minute, and the caches follow within this.
	ResolvedTTL time.Duration
	// ViaBnode resolves through a border node of our gnode, which answers
	// from its cache or resolves for us (seed §7.8.1), so popular names do
	// not overload their hash gnode.
	ViaBnode bool
	// Bounds on what a node stores for others, so that no peer can grow
	// its memory without limit.
	MaxRecords, MaxKeys, MaxResolved, MaxPending int
}

// DefaultConfig returns the seed's values.
func DefaultConfig() Config {
	return Config{
		Hibernation: 72 * time.Hour, MinUpdateAge: 24 * time.Hour, UpdateEvery: 36 * time.Hour,
		Settle: 10 * time.Second, RequestTimeout: 5 * time.Second, Retries: 2,
		MaxNamesPerKey: 256, BackupGnodes: 2, MaxQueue: wire.MaxQueue,
		MaxRecords: 16384, MaxKeys: 16384, MaxResolved: 1024, MaxPending: 1024,
		ResolvedTTL: 5 * time.Minute,
	}
}

// Validate checks that the timers are in a workable order.
func (c *Config) Validate() error {
	switch {
	case c.Hibernation <= 0 || c.MinUpdateAge < 0 || c.UpdateEvery <= 0 || c.RequestTimeout <= 0 || c.Settle < 0:
		return errors.New("andna: timers must be positive")
	case c.UpdateEvery < c.MinUpdateAge || c.UpdateEvery >= c.Hibernation:
		return fmt.Errorf("andna: update interval %v must be within [%v, %v)", c.UpdateEvery, c.MinUpdateAge, c.Hibernation)
	case c.Retries < 0 || c.MaxNamesPerKey < 1 || c.BackupGnodes < 0 || c.BackupGnodes > 8 || c.MaxQueue < 1 || c.MaxQueue > wire.MaxQueue:
		return errors.New("andna: retries, names per key, backup gnodes or queue length out of range")
	case c.MaxRecords < 1 || c.MaxKeys < 1 || c.MaxResolved < 1 || c.MaxPending < 1:
		return errors.New("andna: table bounds must be positive")
	}
	return nil
}

// Host is what ANDNA needs to know of the node it runs in.
type Host interface {
	// GnodeMembers returns the level-0 ids present in our level-1 gnode,
	// ourselves included.
	GnodeMembers() []uint8
	// Bnode returns a border node of our level-1 gnode, if there is one.
	Bnode() (netip.Addr, bool)
}

// Out is a packet ANDNA asks the node to send.
type Out struct {
	// Spread: pass P to every member of our level-1 gnode (and only
	// there); Dst, Level and Nearest are unused.
	Spread bool
	// Dst, Level, Nearest: as wire.Routed.
	Dst     netip.Addr
	Level   uint8
	Nearest bool
	ID      uint32
	P       wire.Payload
}

// Delivery says how a packet reached us.
type Delivery uint8

const (
	// Direct: routed to our own address.
	Direct Delivery = iota
	// HashGnode: routed to the gnode nearest a hash, and we are in it.
	HashGnode
	// Spread: a member of our gnode passed it on inside the gnode.
	Spread
)

// Result is the answer to a Resolve, Reverse or a registration.
type Result struct {
	Token uint64
	Name  string        // the name resolved or registered
	Addr  netip.Addr    // Resolve: the owner's address
	Names []string      // Reverse: the names the node holds
	Queue []netip.Addr  // Queue: the claims on the name, owner first
	TTL   time.Duration // how long the answer stays valid
	Err   error
}

// Errors a Result may carry.
var (
	ErrNotFound = errors.New("andna: name not found")
	ErrTimeout  = errors.New("andna: no answer")
	ErrNoAddr   = errors.New("andna: this node has no mesh address yet")
)

// RefusedError is a NACK from the network.
type RefusedError struct{ Code wire.Code }

func (e *RefusedError) Error() string { return "andna: refused: " + e.Code.String() }

// Engine is one node's ANDNA.
type Engine struct {
	cfg    Config
	scheme *addr.Scheme
	host   Host
	key    ed25519.PrivateKey
	pub    [wire.PubKeySize]byte

	now     time.Duration
	sweepAt time.Duration
	addr    netip.Addr
	addrAt  time.Duration // when addr was set

	own      map[string]*ownName
	db       map[[32]byte]*record
	counters map[[32]byte]*keyCount
	resolved map[string]resolvedEntry
	seen     map[seenKey]time.Duration // spreads already passed on

	pending map[uint32]*pending
	// requests limits what each source may ask of us (request.c).
	requests *reqlimit.Table[netip.Addr]
	nextID   uint32
	token    uint64

	out     []Out
	results []Result
	Stats   Stats
}

// Stats counts what ANDNA did, for `ntkd ctl`.
type Stats struct {
	Registered, Updated, Queued, Refused, Resolved, NotFound, Timeouts uint64
	Dropped                                                            map[string]uint64
}

func (s *Stats) drop(why string) {
	if s.Dropped == nil {
		s.Dropped = map[string]uint64{}
	}
	s.Dropped[why]++
}

// New returns an engine for a node holding key.
func New(cfg Config, scheme *addr.Scheme, host Host, key ed25519.PrivateKey) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if len(key) != ed25519.PrivateKeySize {
		return nil, errors.New("andna: bad private key")
	}
	e := &Engine{cfg: cfg, scheme: scheme, host: host, key: key,
		own: map[string]*ownName{}, db: map[[32]byte]*record{}, counters: map[[32]byte]*keyCount{},
		resolved: map[string]resolvedEntry{}, seen: map[seenKey]time.Duration{}, pending: map[uint32]*pending{},
		requests: reqlimit.New[netip.Addr](requestLimits, 8, 1024)}
	copy(e.pub[:], key.Public().(ed25519.PublicKey))
	return e, nil
}

// PublicKey is the node's ANDNA key.
func (e *Engine) PublicKey() [wire.PubKeySize]byte { return e.pub }

// Outbox returns and clears the packets to send.
func (e *Engine) Outbox() []Out {
	o := e.out
	e.out = nil
	return o
}

// Results returns and clears the answers that came in.
func (e *Engine) Results() []Result {
	r := e.results
	e.results = nil
	return r
}

func (e *Engine) send(o Out) { e.out = append(e.out, o) }

func (e *Engine) result(r Result) { e.results = append(e.results, r) }

// SetAddr tells ANDNA the node's mesh address (invalid while hooking). A
// new address re-registers every name at once: resolvers must find the new
// one, and the hash gnodes accept it early because the address changed.
func (e *Engine) SetAddr(now time.Duration, a netip.Addr) {
	e.now = now
	if a == e.addr {
		return
	}
	e.addr, e.addrAt = a, now
	if !a.IsValid() {
		return
	}
	// Our resolved cache may hold answers learned through routes that
	// changed with the address; they stay valid (names map to owners).
	for _, o := range e.own {
		o.due = now + e.cfg.Settle
	}
}

// Addr is the address ANDNA uses.
func (e *Engine) Addr() netip.Addr { return e.addr }
