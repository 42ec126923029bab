// Package logx is the daemon's logger: the part of log/slog that ntkd
// uses (a Logger with key-value pairs, With, four levels and a level
// filter, slog.TextHandler's output, a logger that discards), without
// slog itself.
//
// Why not log/slog: slog links encoding/json's reflect-based encoder into
// every binary that logs (its default handler and JSONHandler), ~120 KB
// of the mips router binary, and its own code is ~50 KB more; the router
// build has a 5 MiB budget (docs/BENCHMARKS.md).
//
// Same record, same line: the tests put records through slog.TextHandler
// and through this package and compare the bytes. A line is
//
//	time=2006-01-02T15:04:05.000Z07:00 level=INFO msg="..." key=value ...
//
// with slog's rules: a string (key, message or value) is quoted (Go
// syntax, strconv.Quote) when it is empty or has a space, '=', '"', an
// ASCII control character, invalid UTF-8 or a non-printing rune; values are
// formatted as slog formats them (numbers; bools; time.Duration and
// time.Time; encoding.TextMarshaler through MarshalText, so a zero
// netip.Addr is ""; []byte quoted; anything else, errors and
// fmt.Stringers included, as fmt's %+v); a key without a value or a value
// without a key is "!BADKEY"; each line is one Write.
package logx

import (
	"encoding"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"
)

// Level is a record's importance: slog's levels, with slog's values.
type Level int

// The levels.
const (
	LevelDebug Level = -4
	LevelInfo  Level = 0
	LevelWarn  Level = 4
	LevelError Level = 8
)

// String is slog's name of the level: DEBUG, INFO, WARN, ERROR, with an
// offset for levels in between (INFO+2, ERROR+4).
func (l Level) String() string {
	str := func(base string, val Level) string {
		switch {
		case val == 0:
			return base
		case val > 0:
			return base + "+" + strconv.Itoa(int(val))
		}
		return base + strconv.Itoa(int(val))
	}
	switch {
	case l < LevelInfo:
		return str("DEBUG", l-LevelDebug)
	case l < LevelWarn:
		return str("INFO", l-LevelInfo)
	case l < LevelError:
		return str("WARN", l-LevelWarn)
	}
	return str("ERROR", l-LevelError)
}

// Level returns l: a Level is a Leveler.
func (l Level) Level() Level { return l }

// UnmarshalText parses a level as slog does: a name (debug, info, warn,
// error; any case) and an optional offset, as in "warn+2".
func (l *Level) UnmarshalText(data []byte) error {
	s := string(data)
	name, offset := s, 0
	if i := strings.IndexAny(s, "+-"); i >= 0 {
		var err error
		name = s[:i]
		if offset, err = strconv.Atoi(s[i:]); err != nil {
			return fmt.Errorf("slog: level string %q: %w", s, err)
		}
	}
	switch strings.ToUpper(name) {
	case "DEBUG":
		*l = LevelDebug
	case "INFO":
		*l = LevelInfo
	case "WARN":
		*l = LevelWarn
	case "ERROR":
		*l = LevelError
	default:
		return fmt.Errorf("slog: level string %q: unknown name", s)
	}
	*l += Level(offset)
	return nil
}

// A Leveler gives the lowest level a logger writes: a Level, or a
// LevelVar to change it while the logger runs.
type Leveler interface {
	Level() Level
}

// LevelVar is a Level that can change at any time, from any goroutine
// (the daemon's on a reload). Its zero value is LevelInfo.
type LevelVar struct {
	v atomic.Int64
	_ [0]func() // not comparable: no equality function in the router binary
}

// Level returns the level.
func (v *LevelVar) Level() Level { return Level(v.v.Load()) }

// Set changes it.
func (v *LevelVar) Set(l Level) { v.v.Store(int64(l)) }

// Logger writes records as lines of text. The nil *Logger, and Discard's,
// write nothing.
type Logger struct {
	out   *output // nil: discard
	attrs []byte  // With's pairs, formatted: " key=value" each
}

// output is what a logger and those With makes from it share.
type output struct {
	mu    sync.Mutex
	w     io.Writer
	level Leveler   // nil: LevelInfo
	_     [0]func() // not comparable
}

// New returns a logger that writes slog.TextHandler's lines to w, one
// Write per record, and drops records below level (nil: LevelInfo).
func New(w io.Writer, level Leveler) *Logger {
	return &Logger{out: &output{w: w, level: level}}
}

// Discard returns a logger that writes nothing.
func Discard() *Logger { return &Logger{} }

// Enabled says whether l writes records of the level.
func (l *Logger) Enabled(level Level) bool {
	if l == nil || l.out == nil {
		return false
	}
	lowest := LevelInfo
	if l.out.level != nil {
		lowest = l.out.level.Level()
	}
	return level >= lowest
}

// With returns a logger that adds the key-value pairs, formatted now, to
// each record.
func (l *Logger) With(args ...any) *Logger {
	if l == nil || l.out == nil || len(args) == 0 {
		return l
	}
	return &Logger{out: l.out, attrs: appendAttrs(l.attrs[:len(l.attrs):len(l.attrs)], args)}
}

// Debug writes a record at LevelDebug: msg, then the key-value pairs.
func (l *Logger) Debug(msg string, args ...any) { l.Log(LevelDebug, msg, args...) }

// Info writes a record at LevelInfo.
func (l *Logger) Info(msg string, args ...any) { l.Log(LevelInfo, msg, args...) }

// Warn writes a record at LevelWarn.
func (l *Logger) Warn(msg string, args ...any) { l.Log(LevelWarn, msg, args...) }

// Error writes a record at LevelError.
func (l *Logger) Error(msg string, args ...any) { l.Log(LevelError, msg, args...) }

// Log writes a record at any level.
func (l *Logger) Log(level Level, msg string, args ...any) {
	if !l.Enabled(level) {
		return
	}
	l.write(time.Now(), level, msg, args)
}

var buffers = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// write formats a record and writes it in one Write.
func (l *Logger) write(t time.Time, level Level, msg string, args []any) {
	bp := buffers.Get().(*[]byte)
	b := append((*bp)[:0], "time="...)
	b = appendTime(b, t.Round(0))
	b = append(b, " level="...)
	b = appendString(b, level.String())
	b = append(b, " msg="...)
	b = appendString(b, msg)
	b = append(b, l.attrs...)
	b = appendAttrs(b, args)
	b = append(b, '\n')
	l.out.mu.Lock()
	_, _ = l.out.w.Write(b)
	l.out.mu.Unlock()
	if cap(b) <= 16<<10 {
		*bp = b
		buffers.Put(bp)
	}
}

const badKey = "!BADKEY"

// appendAttrs formats key-value pairs as slog's argsToAttr reads them.
func appendAttrs(b []byte, args []any) []byte {
	for len(args) > 0 {
		key, ok := args[0].(string)
		var v any
		switch {
		case !ok:
			key, v, args = badKey, args[0], args[1:]
		case len(args) == 1:
			key, v, args = badKey, key, nil
		default:
			v, args = args[1], args[2:]
		}
		if key == "" && v == nil {
			continue // slog elides empty attributes
		}
		b = append(b, ' ')
		b = appendString(b, key)
		b = append(b, '=')
		b = appendValue(b, v)
	}
	return b
}

// appendValue formats v as slog.TextHandler does: slog.AnyValue's kinds,
// then appendTextValue. A panic is caught as slog catches it.
func appendValue(b []byte, v any) (out []byte) {
	defer func() {
		if r := recover(); r != nil {
			if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer && rv.IsNil() {
				out = appendString(b, "<nil>")
				return
			}
			out = appendString(b, fmt.Sprintf("!PANIC: %v", r))
		}
	}()
	switch x := v.(type) {
	case string:
		return appendString(b, x)
	case int:
		return strconv.AppendInt(b, int64(x), 10)
	case int8:
		return strconv.AppendInt(b, int64(x), 10)
	case int16:
		return strconv.AppendInt(b, int64(x), 10)
	case int32:
		return strconv.AppendInt(b, int64(x), 10)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case uint:
		return strconv.AppendUint(b, uint64(x), 10)
	case uint8:
		return strconv.AppendUint(b, uint64(x), 10)
	case uint16:
		return strconv.AppendUint(b, uint64(x), 10)
	case uint32:
		return strconv.AppendUint(b, uint64(x), 10)
	case uint64:
		return strconv.AppendUint(b, x, 10)
	case uintptr:
		return strconv.AppendUint(b, uint64(x), 10)
	case float32:
		return strconv.AppendFloat(b, float64(x), 'g', -1, 64)
	case float64:
		return strconv.AppendFloat(b, x, 'g', -1, 64)
	case bool:
		return strconv.AppendBool(b, x)
	case time.Duration:
		return append(b, x.String()...)
	case time.Time:
		return appendTime(b, x)
	case encoding.TextMarshaler:
		data, err := x.MarshalText()
		if err != nil {
			return appendString(b, fmt.Sprintf("!ERROR:%v", err))
		}
		return appendString(b, string(data))
	case []byte:
		return strconv.AppendQuote(b, string(x))
	}
	if t := reflect.TypeOf(v); t != nil && t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8 {
		return strconv.AppendQuote(b, string(reflect.ValueOf(v).Bytes()))
	}
	return appendString(b, fmt.Sprintf("%+v", v))
}

// appendString writes s, quoted if it needs to be.
func appendString(b []byte, s string) []byte {
	if needsQuoting(s) {
		return strconv.AppendQuote(b, s)
	}
	return append(b, s...)
}

// needsQuoting is slog's: empty, a space, '=', '"', an ASCII control
// character other than DEL (a backslash alone does not count), invalid
// UTF-8 (or U+FFFD), or a rune that is a space or does not print.
func needsQuoting(s string) bool {
	if len(s) == 0 {
		return true
	}
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c <= ' ' || c == '=' || c == '"' {
				return true
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return true
		}
		i += size
	}
	return false
}

// appendTime writes t as RFC 3339 with milliseconds, as slog does.
func appendTime(b []byte, t time.Time) []byte {
	// RFC3339Nano trims trailing zeros: add a tenth of a millisecond to
	// keep four digits, then drop the fourth.
	const prefixLen = len("2006-01-02T15:04:05.000")
	n := len(b)
	t = t.Truncate(time.Millisecond).Add(time.Millisecond / 10)
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b[:n+prefixLen], b[n+prefixLen+1:]...)
}
