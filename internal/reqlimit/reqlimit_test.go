package reqlimit

import (
	"testing"
	"time"
)

func TestPerSourceAndGlobal(t *testing.T) {
	tb := New[int](map[uint8]Limit{1: {Max: 2, Wait: 10 * time.Second}}, 3, 16)
	now := time.Second
	if !tb.Allow(now, 7, 1) || !tb.Allow(now, 7, 1) {
		t.Fatal("the first two requests were refused")
	}
	if tb.Allow(now, 7, 1) {
		t.Fatal("a third request within the wait was allowed")
	}
	if !tb.Allow(now, 7, 2) {
		t.Fatal("an op without a limit was refused")
	}
	// Half the wait gives one request back.
	if !tb.Allow(now+5*time.Second, 7, 1) || tb.Allow(now+5*time.Second, 7, 1) {
		t.Fatal("the bucket did not refill at Max per Wait")
	}
	// All sources together: 3 times one source's 2, 6 at once, refilled
	// by now but for the one just taken.
	n := 0
	for src := 100; src < 110; src++ {
		if tb.Allow(now+5*time.Second, src, 1) {
			n++
		}
	}
	if n != 5 {
		t.Fatalf("%d more sources' requests allowed at once, want 5 (global cap 6, 1 used)", n)
	}
}

func TestBoundedKeys(t *testing.T) {
	tb := New[int](map[uint8]Limit{1: {Max: 1, Wait: time.Second}}, 1e9, 8)
	for src := 0; src < 1000; src++ {
		tb.Allow(time.Duration(src+1)*time.Millisecond, src, 1)
	}
	if tb.Len() != 8 {
		t.Fatalf("the table holds %d entries, want 8", tb.Len())
	}
}
