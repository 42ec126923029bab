package daemon

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ntkd/ntkd/internal/andna"
	"github.com/ntkd/ntkd/internal/atomicfile"
	"github.com/ntkd/ntkd/internal/config"
	"github.com/ntkd/ntkd/internal/keyfile"
)

// KeyFile is the name of the node's ANDNA key in andna.key_dir.
const KeyFile = "andna.key"

// LoadOrCreateKey reads the node's Ed25519 key from dir, creating it (and
// dir) on first start: whoever has it owns the node's names.
func LoadOrCreateKey(dir string) (ed25519.PrivateKey, error) {
	k, err := keyfile.LoadOrCreate(filepath.Join(dir, KeyFile))
	if err != nil {
		return nil, fmt.Errorf("ANDNA key: %w", err)
	}
	return k, nil
}

// nodeKey is the node's Ed25519 key, the one its names and its entry
// records are signed with: the ANDNA key given, else loaded from
// andna.key_dir (made there on first use), also when ANDNA is off.
func nodeKey(o Options) (ed25519.PrivateKey, error) {
	if o.ANDNAKey != nil {
		return o.ANDNAKey, nil
	}
	return LoadOrCreateKey(o.Config.ANDNA.KeyDir)
}

// ANDNAConfig maps the [andna] table and the ANDNA limits onto the name
// system's settings.
func ANDNAConfig(c *config.ANDNA, lim *config.Limits) andna.Config {
	ac := andna.DefaultConfig()
	ac.Hibernation = c.Hibernation
	ac.MinUpdateAge = c.MinUpdateInterval
	// Updates come between the earliest accepted and the expiry.
	ac.UpdateEvery = c.MinUpdateInterval + (c.Hibernation-c.MinUpdateInterval)/2
	ac.MaxQueue = c.MaxQueue
	ac.BackupGnodes = c.BackupGnodes
	ac.MaxNamesPerKey = c.MaxNamesPerKey
	ac.MaxPending = lim.MaxPendingRequests
	ac.MaxRecords = lim.MaxANDNARecords
	return ac
}

// setNames makes the node register exactly names.
func (d *Daemon) setNames(names []string) {
	e := d.node.ANDNA()
	if e == nil {
		return
	}
	now := d.now()
	for _, o := range e.Names() {
		if !slices.Contains(names, o.Name) {
			e.Unregister(o.Name)
		}
	}
	for _, n := range names {
		if err := e.Register(now, n); err != nil {
			d.log.Warn("andna: cannot register", "name", n, "err", err)
		}
	}
}

// andnaResults hands the answers ANDNA produced to whoever waits for them.
func (d *Daemon) andnaResults() {
	e := d.node.ANDNA()
	if e == nil {
		return
	}
	for _, r := range e.Results() {
		if ch, ok := d.waiters[r.Token]; ok {
			ch <- r // buffered: never blocks the loop
			delete(d.waiters, r.Token)
		}
	}
}

// ErrNoANDNA: the configuration switched ANDNA off.
var ErrNoANDNA = errors.New("ANDNA is disabled in the configuration")

// andnaCall starts an ANDNA request in the loop and waits for its answer.
func (d *Daemon) andnaCall(ctx context.Context, start func(e *andna.Engine, now time.Duration) (uint64, error)) (andna.Result, error) {
	ch := make(chan andna.Result, 1)
	var serr error
	err := d.Do(ctx, func() {
		e := d.node.ANDNA()
		if e == nil {
			serr = ErrNoANDNA
			return
		}
		tok, err := start(e, d.now())
		if err != nil {
			serr = err
			return
		}
		// The loop's after() sends the request and delivers answers,
		// also one that came at once (a cached name).
		d.waiters[tok] = ch
	})
	if err != nil {
		return andna.Result{}, fmt.Errorf("daemon busy or stopping: %w", err)
	}
	if serr != nil {
		return andna.Result{}, serr
	}
	select {
	case r := <-ch:
		return r, nil
	case <-ctx.Done():
		return andna.Result{}, ctx.Err()
	}
}

// Resolve finds the address of a mesh name (the DNS wrapper's way in).
func (d *Daemon) Resolve(ctx context.Context, name string) ([]netip.Addr, time.Duration, error) {
	r, err := d.andnaCall(ctx, func(e *andna.Engine, now time.Duration) (uint64, error) { return e.Resolve(now, name) })
	if err != nil {
		return nil, 0, err
	}
	if r.Err != nil {
		return nil, 0, r.Err
	}
	return []netip.Addr{r.Addr}, r.TTL, nil
}

// Reverse finds the names the node holding a registered.
func (d *Daemon) Reverse(ctx context.Context, a netip.Addr) ([]string, time.Duration, error) {
	r, err := d.andnaCall(ctx, func(e *andna.Engine, now time.Duration) (uint64, error) { return e.Reverse(now, a), nil })
	if err != nil {
		return nil, 0, err
	}
	if r.Err != nil {
		return nil, 0, r.Err
	}
	return r.Names, r.TTL, nil
}

// CounterFile is the name, in andna.key_dir, of the ANDNA update counters
// reserved by the daemon's last run.
const CounterFile = "andna.counter"

// ReserveANDNACounters returns the first update counter of this run and
// reserves andna.CounterReserve of them on disk before anything is sent,
// so that the next run, even after a crash, starts above every counter of
// this one. One small write per start.
func ReserveANDNACounters(dir string, now time.Time) (uint32, error) {
	path := filepath.Join(dir, CounterFile)
	var reserved uint32
	switch b, err := os.ReadFile(path); {
	case err == nil:
		v, perr := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 32)
		if perr != nil {
			return 0, fmt.Errorf("ANDNA counters: %s: %w", path, perr)
		}
		reserved = uint32(v)
	case !errors.Is(err, fs.ErrNotExist):
		return 0, fmt.Errorf("ANDNA counters: %w", err)
	}
	minutes := uint32(max(now.Unix()/60, 0))
	base := andna.CounterBase(reserved, minutes)
	if base > ^uint32(0)-andna.CounterReserve {
		return 0, fmt.Errorf("ANDNA counters: %s: %d leaves no room for this run", path, reserved)
	}
	next := strconv.FormatUint(uint64(base+andna.CounterReserve), 10) + "\n"
	if err := atomicfile.Write(path, []byte(next)); err != nil {
		return 0, fmt.Errorf("ANDNA counters: %w", err)
	}
	return base, nil
}
