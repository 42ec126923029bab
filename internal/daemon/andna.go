package daemon

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ntkd/ntkd/internal/andna"
	"github.com/ntkd/ntkd/internal/config"
)

// KeyFile is the name of the node's ANDNA key in andna.key_dir.
const KeyFile = "andna.key"

// LoadOrCreateKey reads the node's Ed25519 key from dir, creating it (and
// dir) on first start. The file holds the 32-byte seed in hex, mode 0600:
// whoever has it owns the node's names.
func LoadOrCreateKey(dir string) (ed25519.PrivateKey, error) {
	path := filepath.Join(dir, KeyFile)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		seed, derr := hex.DecodeString(strings.TrimSpace(string(b)))
		if derr != nil || len(seed) != ed25519.SeedSize {
			return nil, fmt.Errorf("%s: not a %d-byte hex Ed25519 seed", path, ed25519.SeedSize)
		}
		return ed25519.NewKeyFromSeed(seed), nil
	case !errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("reading the ANDNA key: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating %s: %w", dir, err)
	}
	seed := make([]byte, ed25519.SeedSize)
	if _, err := rand.Read(seed); err != nil {
		return nil, fmt.Errorf("drawing the ANDNA key: %w", err)
	}
	// Written under another name and renamed, so a power cut never leaves
	// half a key behind.
	tmp := path + ".new"
	if err := os.WriteFile(tmp, []byte(hex.EncodeToString(seed)+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("writing the ANDNA key: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, fmt.Errorf("writing the ANDNA key: %w", err)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}

// ANDNAConfig maps the [andna] table onto the name system's settings.
func ANDNAConfig(c *config.ANDNA) andna.Config {
	ac := andna.DefaultConfig()
	ac.Hibernation = c.Hibernation
	ac.MinUpdateAge = c.MinUpdateInterval
	// Updates come between the earliest accepted and the expiry.
	ac.UpdateEvery = c.MinUpdateInterval + (c.Hibernation-c.MinUpdateInterval)/2
	ac.MaxQueue = c.MaxQueue
	ac.BackupGnodes = c.BackupGnodes
	ac.MaxNamesPerKey = c.MaxNamesPerKey
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
