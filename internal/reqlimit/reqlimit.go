// Package reqlimit is the request table of the C daemon's request.c: for
// each op it allows a source at most Max requests every Wait (a token
// bucket that holds Max and refills Max per Wait), and all sources
// together at most Global times that. It is sans-I/O: callers pass the
// time. The table holds at most maxKeys (source, op) entries; a new one
// evicts an arbitrary other, so spoofed sources cannot grow it (an evicted
// source starts again with a full bucket, as any new source does).
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

// Table limits requests by source (K) and op.
type Table[K comparable] struct {
	limits  map[uint8]Limit
	global  map[uint8]*bucket
	scale   float64 // Global: the allowance of all sources, in sources
	maxKeys int
	byKey   map[key[K]]*bucket
}

// New makes a table with the per-op limits, all sources together allowed
// global times one source's share, at most maxKeys (source, op) entries.
func New[K comparable](limits map[uint8]Limit, global float64, maxKeys int) *Table[K] {
	t := &Table[K]{limits: limits, global: map[uint8]*bucket{}, scale: global, maxKeys: maxKeys, byKey: map[key[K]]*bucket{}}
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
	b := t.byKey[k]
	if b == nil {
		if len(t.byKey) >= t.maxKeys {
			for old := range t.byKey { // map order: any one, in O(1)
				delete(t.byKey, old)
				break
			}
		}
		b = &bucket{}
		t.byKey[k] = b
	}
	if !b.take(now, l, 1) {
		return false
	}
	return t.global[op].take(now, l, t.scale)
}

// Len is how many (source, op) entries the table holds.
func (t *Table[K]) Len() int { return len(t.byKey) }
