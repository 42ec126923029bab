package logx_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ntkd/ntkd/internal/entry"
	"github.com/ntkd/ntkd/internal/logx"
)

// record is one log call: the With calls before it, then the record.
type record struct {
	with  [][]any
	level int
	msg   string
	args  []any
}

// lines returns the record as slog.TextHandler writes it and as logx
// does, at time t.
func lines(t time.Time, r record) (want, got string) {
	var sb, lb bytes.Buffer
	sl := slog.New(slog.NewTextHandler(&sb, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ll := logx.New(&lb, logx.LevelDebug)
	for _, w := range r.with {
		sl, ll = sl.With(w...), ll.With(w...)
	}
	rec := slog.NewRecord(t, slog.Level(r.level), r.msg, 0)
	rec.Add(r.args...)
	_ = sl.Handler().Handle(context.Background(), rec)
	ll.WriteAt(t, logx.Level(r.level), r.msg, r.args...)
	return sb.String(), lb.String()
}

func same(tb testing.TB, t time.Time, r record) {
	tb.Helper()
	want, got := lines(t, r)
	if want != got {
		tb.Fatalf("%+v:\n slog: %q\n logx: %q", r, want, got)
	}
}

// Types the daemon logs, and the cases of slog's formatting.
type (
	stringer   struct{ n int }
	ptrStr     struct{ s string }
	textErr    struct{}
	panicky    struct{}
	named      string
	namedInt   int
	namedBytes []byte
	ptrText    struct{ v int }
	errPtr     struct{ msg string }
)

func (s stringer) String() string               { return fmt.Sprintf("str<%d>", s.n) }
func (p *ptrStr) String() string                { return "ptr " + p.s }
func (textErr) MarshalText() ([]byte, error)    { return nil, errors.New("no text") }
func (panicky) String() string                  { panic("boom") }
func (p *ptrText) MarshalText() ([]byte, error) { return []byte(fmt.Sprint("t", p.v)), nil }
func (e *errPtr) Error() string                 { return e.msg }

var (
	zone  = time.FixedZone("X", 5*3600+30*60)
	times = []time.Time{
		time.Date(2024, 2, 29, 23, 59, 59, 999_999_999, time.UTC),
		time.Date(2026, 11, 21, 17, 29, 59, 0, time.UTC),
		time.Date(2026, 1, 2, 3, 4, 5, 60_000_000, zone),
		time.Date(1969, 12, 31, 23, 59, 59, 1_000_000, time.FixedZone("", -7*3600)),
		time.Date(2026, 6, 1, 12, 0, 0, 123_456_789, time.Local),
		time.Now(),
	}
	strs = []string{
		"", "a", "wlan0", "two words", "a=b", `quo"te`, `back\slash`, "tab\there", "nl\n", "\x00", "\x7f", "é", "😀",
		"\u00a0", "\u2028", "\u200b", "\ufeff", "\ufffd", "\xff", "a\xc3", "ÿ", "<&>", "10.0.0.1/8", "fe80::1%eth0",
		"key:value", "[::1]:269", "-", "!", "#", strings.Repeat("x", 300), "status=refused",
	}
	pk  = entry.PublicKey{1, 2, 3}
	err = fmt.Errorf("dial 10.0.0.1:269: %w", errors.New("connection refused"))
)

func values() []any {
	var nilAddr *netip.Addr
	var nilStr *ptrStr
	var nilErr *errPtr
	var nilText *ptrText
	f := 1.5
	return []any{
		nil, 0, 1, -1, math.MaxInt32, math.MinInt32, int64(math.MaxInt64), int64(math.MinInt64), int8(-8), int16(16), int32(-32), int64(64), uint(1), uint8(255),
		uint16(65535), uint32(math.MaxUint32), uint64(math.MaxUint64), uintptr(7), true, false,
		0.0, math.Copysign(0, -1), 0.1, 1.5, 1e21, 1e20, 1e-7, 123456789.0, math.NaN(), math.Inf(1), math.Inf(-1),
		math.MaxFloat64, math.SmallestNonzeroFloat64, float32(0.1), float32(1e30),
		time.Duration(0), time.Second, 1500 * time.Millisecond, -time.Microsecond, time.Duration(math.MaxInt64),
		time.Time{}, times[0], times[2], times[4], times[0].AddDate(9000, 0, 0), times[0].AddDate(-3000, 0, 0),
		err, errors.New("plain"), io.EOF, &errPtr{"ptr err"}, nilErr, error(nil),
		stringer{3}, &stringer{4}, &ptrStr{"p"}, nilStr, panicky{}, named("n a"), named(""), namedInt(5),
		netip.Addr{}, netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("fe80::1%eth0"), netip.Prefix{},
		netip.MustParsePrefix("10.1.0.0/16"), netip.AddrPort{}, netip.MustParseAddrPort("[fd00::1]:269"),
		nilAddr, &ptrText{9}, nilText, ptrText{8}, textErr{},
		pk, &pk, entry.PublicKey{}, []byte("by\tes"), []byte(nil), namedBytes("nb"), [4]byte{1, 2, 3, 4},
		[]string{"a", "b c"}, []netip.Addr{netip.MustParseAddr("10.0.0.2")}, map[string]int{"b": 2, "a": 1},
		struct {
			A int
			B string
		}{1, "x y"}, &struct{ P *float64 }{&f}, []any{nil, 1}, make(chan int), slog.LevelWarn,
	}
}

// TestSameAsSlog puts records of every kind of value, key and message
// through slog.TextHandler and logx: the lines must be the same bytes.
func TestSameAsSlog(t *testing.T) {
	vs := values()
	var recs []record
	for _, v := range vs {
		recs = append(recs,
			record{level: 0, msg: "value", args: []any{"k", v}},
			record{level: 8, msg: "with", with: [][]any{{"w", v}}, args: []any{"k", v, "n", 1}},
			record{level: -4, msg: "bad key", args: []any{v}},
		)
	}
	for _, s := range strs {
		recs = append(recs,
			record{level: 4, msg: s, args: []any{s, s}},
			record{level: 0, msg: "m", with: [][]any{{s, 1}, {"x", s}}, args: []any{"err", errors.New(s), "s", stringer{len(s)}}},
			record{level: 0, msg: "m", args: []any{"named", named(s), "bytes", []byte(s), "dangling", s}},
		)
	}
	recs = append(recs,
		record{msg: "no args"}, record{msg: "empty", args: []any{}}, record{msg: "odd", args: []any{"a", 1, "b"}},
		record{msg: "elided", args: []any{"", nil, "k", 1, "", 0, "", ""}}, record{msg: "empty key", args: []any{"", 1}},
		record{msg: "non-string keys", args: []any{1, 2, 3, err}},
		record{msg: "nested with", with: [][]any{{"part", "daemon"}, {}, {"part", "vhook", "", nil}, {"dev", "wg0"}}, args: []any{"k", "v"}},
		record{msg: "with only empty", with: [][]any{{"", nil}}, args: []any{"k", "v"}},
	)
	for _, lvl := range []int{-100, -8, -5, -4, -3, -1, 0, 1, 2, 3, 4, 5, 7, 8, 9, 12, 100} {
		recs = append(recs, record{level: lvl, msg: "level"})
	}
	for _, tm := range times {
		for _, r := range recs {
			same(t, tm, r)
		}
	}
}

// TestLevels: names and parsing as slog's.
func TestLevels(t *testing.T) {
	for l := -20; l <= 20; l++ {
		if got, want := logx.Level(l).String(), slog.Level(l).String(); got != want {
			t.Errorf("Level(%d).String() = %q, slog says %q", l, got, want)
		}
	}
	if logx.LevelDebug != -4 || logx.LevelInfo != 0 || logx.LevelWarn != 4 || logx.LevelError != 8 {
		t.Error("the levels are not slog's")
	}
	for _, s := range []string{"debug", "INFO", "Warn", "error", "warn+2", "ERROR-1", "info+0", "", "x", "debug+", "+2",
		"info+x", "trace", " info", "info ", "WARN+99999999999999999999"} {
		var g logx.Level
		var w slog.Level
		gerr, werr := g.UnmarshalText([]byte(s)), w.UnmarshalText([]byte(s))
		if fmt.Sprint(gerr) != fmt.Sprint(werr) || int(g) != int(w) {
			t.Errorf("UnmarshalText(%q) = %v, %v; slog: %v, %v", s, g, gerr, w, werr)
		}
	}
}

// TestFilter: the level filter, fixed and changed while logging, through
// the methods the daemon calls; the lines after their time are slog's.
func TestFilter(t *testing.T) {
	var sb, lb bytes.Buffer
	sv, lv := new(slog.LevelVar), new(logx.LevelVar)
	sl := slog.New(slog.NewTextHandler(&sb, &slog.HandlerOptions{Level: sv}))
	ll := logx.New(&lb, lv)
	both := func(set int) {
		sv.Set(slog.Level(set))
		lv.Set(logx.Level(set))
		if got, want := ll.Enabled(logx.LevelDebug), sl.Enabled(context.Background(), slog.LevelDebug); got != want {
			t.Errorf("level %d: Enabled(debug) = %v, slog says %v", set, got, want)
		}
		sl.Debug("d", "at", set)
		ll.Debug("d", "at", set)
		sl.Info("i", "at", set)
		ll.Info("i", "at", set)
		sl.Warn("w", "at", set)
		ll.Warn("w", "at", set)
		sl.Error("e", "at", set)
		ll.Error("e", "at", set)
		sl.Log(context.Background(), slog.LevelError+4, "e4", "at", set)
		ll.Log(logx.LevelError+4, "e4", "at", set)
	}
	for _, l := range []int{0, -4, 4, 8, 9, 13, -100, 0} {
		both(l)
	}
	strip := func(s string) (out []string) {
		for _, line := range strings.SplitAfter(s, "\n") {
			_, rest, _ := strings.Cut(line, " ")
			out = append(out, rest)
		}
		return out
	}
	if got, want := strings.Join(strip(lb.String()), ""), strings.Join(strip(sb.String()), ""); got != want || got == "" {
		t.Errorf("logx:\n%s\nslog:\n%s", got, want)
	}
	// The default level is info, as slog's.
	lb.Reset()
	l := logx.New(&lb, nil)
	l.Debug("no")
	l.Info("yes")
	if !strings.Contains(lb.String(), "msg=yes") || strings.Contains(lb.String(), "msg=no") || l.Enabled(logx.LevelDebug) {
		t.Errorf("nil level: %q", lb.String())
	}
	// A fixed Level is a Leveler too.
	lb.Reset()
	l = logx.New(&lb, logx.LevelWarn)
	l.Info("no")
	l.Warn("yes")
	if strings.Count(lb.String(), "\n") != 1 {
		t.Errorf("LevelWarn: %q", lb.String())
	}
}

// TestDiscard: Discard's logger and the nil logger write nothing.
func TestDiscard(t *testing.T) {
	for _, l := range []*logx.Logger{logx.Discard(), nil, logx.Discard().With("a", 1)} {
		if l.Enabled(logx.LevelError) {
			t.Error("a discarding logger is enabled")
		}
		l.Error("x", "k", 1)
		l.With("k", 2).Info("y")
		l.Log(logx.LevelError+4, "z")
	}
}

// TestOneWritePerRecord: concurrent records, on loggers that share a
// writer through With, are whole lines, one Write each (ntkd run's
// --log-split relies on it).
func TestOneWritePerRecord(t *testing.T) {
	w := &writes{}
	root := logx.New(w, logx.LevelDebug)
	var wg sync.WaitGroup
	for g := range 8 {
		l := root.With("g", g)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				l.Info("line", "i", i, "text", strings.Repeat("x", i))
			}
		}()
	}
	wg.Wait()
	if len(w.got) != 8*200 {
		t.Fatalf("%d writes", len(w.got))
	}
	for _, s := range w.got {
		if strings.Count(s, "\n") != 1 || !strings.HasSuffix(s, "\n") || !strings.HasPrefix(s, "time=") {
			t.Fatalf("write %q", s)
		}
	}
}

type writes struct {
	mu  sync.Mutex
	got []string
}

func (w *writes) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.got = append(w.got, string(p))
	return len(p), nil
}

// FuzzSameAsSlog: any key, message and values.
func FuzzSameAsSlog(f *testing.F) {
	for i, s := range strs {
		f.Add(s, strs[(i+1)%len(strs)], s, int64(i), float64(i)/3, []byte(s))
	}
	f.Fuzz(func(t *testing.T, key, msg, s string, n int64, x float64, b []byte) {
		for _, tm := range times[:4] {
			same(t, tm, record{level: int(n % 20), msg: msg, with: [][]any{{key, s}},
				args: []any{key, s, "n", n, "x", x, "b", b, "e", errors.New(s), "st", named(s), s}})
		}
	})
}
