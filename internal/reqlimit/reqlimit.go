// Package reqlimit is the request table of the C daemon's request.c: for
// each op it allows a source at most Max requests every Wait (a token
// bucket that holds Max and refills Max per Wait), and all sources
// together at most Global times that. It is sans-I/O: callers pass the
// time. The table holds at most MaxKeys sources; a new source evicts the
// one seen longest ago, so spoofed sources cannot grow it.
package reqlimit

import "time"

// Limit is one op's allowance per source: Max requests every Wait.
type Limit struct {
	Max  int
	Wait time.Duration
}

// bucket is one token bucket.
type bucket struct {
	tokens float64
	at     time.Duration
	filled bool // starts full
}

func (b *bucket) take(now time.Duration, l Limit, scale float64) bool {
	capacity := float64(l.Max) * scale
	if !b.filled {
		b.tokens, b.filled = capacity, true
	} else if el := now - b.at; el > 0 {
		b.tokens = min(capacity, b.tokens+capacity*float64(el)/float64(l.Wait))
	}
	b.at = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

type key[K comparable] struct {
	src K
	op  uint8
}

type entry struct {
	b    bucket
	used time.Duration
}

// Table limits requests by source (K) and op.
type Table[K comparable] struct {
	limits  map[uint8]Limit
	global  map[uint8]*bucket
	scale   float64 // Global: the allowance of all sources, in sources
	maxKeys int
	byKey   map[key[K]]*entry
}

// New makes a table with the per-op limits, all sources together allowed
// global times one source's share, at most maxKeys (source, op) entries.
func New[K comparable](limits map[uint8]Limit, global float64, maxKeys int) *Table[K] {
	t := &Table[K]{limits: limits, global: map[uint8]*bucket{}, scale: global, maxKeys: maxKeys, byKey: map[key[K]]*entry{}}
	for op := range limits {
		t.global[op] = &bucket{}
	}
	return t
}

// Allow takes one request of op from src at now; false means over the
// limit. Ops without a limit are always allowed.
func (t *Table[K]) Allow(now time.Duration, src K, op uint8) bool {
	l, ok := t.limits[op]
	if !ok {
		return true
	}
	k := key[K]{src, op}
	e := t.byKey[k]
	if e == nil {
		if len(t.byKey) >= t.maxKeys {
			t.evictOldest()
		}
		e = &entry{}
		t.byKey[k] = e
	}
	e.used = now
	if !e.b.take(now, l, 1) {
		return false
	}
	return t.global[op].take(now, l, t.scale)
}

// evictOldest drops the entry used longest ago: a linear scan, which a
// table of a few hundred entries makes cheaper than keeping an order.
func (t *Table[K]) evictOldest() {
	var oldest key[K]
	first := true
	var at time.Duration
	for k, e := range t.byKey {
		if first || e.used < at {
			oldest, at, first = k, e.used, false
		}
	}
	delete(t.byKey, oldest)
}

// Len is how many (source, op) entries the table holds.
func (t *Table[K]) Len() int { return len(t.byKey) }
