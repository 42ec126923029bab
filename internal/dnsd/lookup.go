package dnsd

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// Bounds on what one cache entry holds, whatever the Resolver returns: a
// full answer still fits a TCP message and the cache stays small.
const (
	maxAddrsPerFamily = 32
	maxPTRNames       = 16
)

type lookupStatus uint8

const (
	lookupHit     lookupStatus = iota // e is valid
	lookupPending                     // not cached and block was false
	lookupFailed                      // the Resolver failed: SERVFAIL
	lookupClosed                      // the server is closing
)

// flight is a Resolver call in progress; queries for the same key wait for
// it instead of asking again.
type flight struct {
	done  chan struct{}
	items []cacheItem // what the call found, also put in the cache
	err   error
}

// lookup returns the cached entry of k or, on a miss with block set, calls
// fetch once for all the queries waiting on k and caches what it returns
// (k and maybe other keys the same Resolver call answered).
func (s *Server) lookup(ctx context.Context, k key, block bool, fetch func(context.Context) ([]cacheItem, error)) (entry, lookupStatus) {
	if e, ok := s.cache.get(k, s.cfg.Now()); ok {
		s.stats.cacheHits.Add(1)
		return e, lookupHit
	}
	if !block {
		return entry{}, lookupPending
	}
	// A and AAAA come from the same Resolve call: one flight for both.
	fk := k
	if fk.typ == dnsmessage.TypeAAAA {
		fk.typ = dnsmessage.TypeA
	}
	s.flightMu.Lock()
	f, wait := s.flights[fk]
	if !wait {
		f = &flight{done: make(chan struct{})}
		s.flights[fk] = f
	}
	s.flightMu.Unlock()
	if wait {
		select {
		case <-f.done:
		case <-ctx.Done():
			return entry{}, lookupClosed
		}
	} else {
		f.items, f.err = fetch(ctx)
		for _, it := range f.items {
			s.cache.put(it.k, it.e)
		}
		s.flightMu.Lock()
		delete(s.flights, fk)
		s.flightMu.Unlock()
		close(f.done)
	}
	switch {
	case ctx.Err() != nil:
		return entry{}, lookupClosed
	case f.err != nil:
		return entry{}, lookupFailed
	}
	for _, it := range f.items {
		if it.k == k {
			return it.e, lookupHit
		}
	}
	return entry{}, lookupFailed // fetch forgot k: a bug
}

// resolve asks the Resolver for a mesh name: its A and AAAA entries.
func (s *Server) resolve(ctx context.Context, name string) ([]cacheItem, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.ResolveTimeout)
	defer cancel()
	s.stats.resolverCalls.Add(1)
	addrs, ttl, err := s.resolver.Resolve(ctx, name)
	now := s.cfg.Now()
	var a, aaaa entry
	switch {
	case errors.Is(err, ErrNotFound):
		a = entry{notFound: true, expires: now.Add(s.cfg.NegativeTTL)}
		aaaa = a
	case err != nil:
		s.stats.resolverErrors.Add(1)
		return nil, fmt.Errorf("dnsd: resolve %q: %w", name, err)
	default:
		expires := now.Add(s.clampTTL(ttl))
		a.expires, aaaa.expires = expires, expires
		for _, ip := range addrs {
			ip = ip.Unmap().WithZone("")
			switch {
			case ip.Is4() && len(a.addrs) < maxAddrsPerFamily:
				a.addrs = append(a.addrs, ip)
			case ip.Is6() && len(aaaa.addrs) < maxAddrsPerFamily:
				aaaa.addrs = append(aaaa.addrs, ip)
			}
		}
	}
	return []cacheItem{{key{name, dnsmessage.TypeA}, a}, {key{name, dnsmessage.TypeAAAA}, aaaa}}, nil
}

// reverse asks the Resolver for the names of addr, the PTR entry of its
// reverse name lname.
func (s *Server) reverse(ctx context.Context, lname string, addr netip.Addr) ([]cacheItem, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.ResolveTimeout)
	defer cancel()
	s.stats.resolverCalls.Add(1)
	names, ttl, err := s.resolver.Reverse(ctx, addr)
	now := s.cfg.Now()
	var e entry
	switch {
	case errors.Is(err, ErrNotFound):
		e = entry{notFound: true, expires: now.Add(s.cfg.NegativeTTL)}
	case err != nil:
		s.stats.resolverErrors.Add(1)
		return nil, fmt.Errorf("dnsd: reverse %v: %w", addr, err)
	default:
		e.expires = now.Add(s.clampTTL(ttl))
		for _, n := range names {
			n = asciiLower(n)
			// Skip what is not an ANDNA name or would not fit a DNS name.
			if checkHostname(n) != "" || len(n)+1+len(s.apex) > 254 || len(e.names) == maxPTRNames {
				continue
			}
			e.names = append(e.names, n+"."+s.apex)
		}
	}
	return []cacheItem{{key{lname, dnsmessage.TypePTR}, e}}, nil
}

// clampTTL cuts a validity to whole seconds within 1s..MaxTTL, so that
// the TTLs served count down to exactly when the entry expires.
func (s *Server) clampTTL(d time.Duration) time.Duration {
	return min(max(d.Truncate(time.Second), time.Second), s.cfg.MaxTTL)
}
