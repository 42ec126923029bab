package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ntkd/ntkd/internal/logx"
)

// maxFileSize bounds what Load reads: a real config is a few KiB, and a
// router should not swallow a wrong path pointing at something big.
const maxFileSize = 1 << 20

// Load reads and parses the file at path.
func Load(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, pathErr(path, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, pathErr(path, err)
	}
	if len(data) > maxFileSize {
		return nil, Errors{{File: path, Msg: fmt.Sprintf("file is larger than %v", Size(maxFileSize))}}
	}
	return Parse(path, data)
}

// pathErr names path once: a *fs.PathError already carries it, so keep only
// its cause (errors.Is(err, fs.ErrNotExist) still works).
func pathErr(path string, err error) error {
	if pe, ok := errors.AsType[*fs.PathError](err); ok {
		err = pe.Err
	}
	return fmt.Errorf("%s: %w", path, err)
}

// Parse decodes data over Default(), rejects unknown keys and validates the
// result. filename only labels errors. On failure the error is an Errors
// holding every problem found, and the Config is nil.
//
// The document is decoded by the toml library into plain maps and then
// walked here, rather than decoded straight into Config: the library stops at
// the first mismatched type, and its Undecoded keys do not say which
// [[interface]] entry they belong to. Walking the maps reports every unknown
// key and every bad value in one pass, each under its exact path.
func Parse(filename string, data []byte) (*Config, error) {
	text := stripBOM(string(data))
	doc, err := decodeTOML(text) // the toml library, or on routers toml_mini_core.go
	if err != nil {
		e := &Error{File: filename, Msg: err.Error()}
		if te, ok := errors.AsType[*tomlError](err); ok {
			// A byte offset: the library's own column is off for errors at
			// a line start.
			p := offsetPos(text, te.off)
			e.Line, e.Col = p.line, p.col
		}
		return nil, Errors{e}
	}

	c := Default()
	d := &decoder{}
	d.table(nil, doc, reflect.ValueOf(c).Elem())
	for _, e := range c.validate() {
		if !d.covers(e) {
			d.errs = append(d.errs, e)
		}
	}
	if len(d.errs) == 0 {
		return c, nil
	}
	at := keyPositions(text)
	for _, e := range d.errs {
		e.File = filename
		if p, ok := locate(at, e); ok {
			e.Line, e.Col = p.line, p.col
		}
	}
	d.errs.sort()
	return nil, d.errs
}

// locate finds where e's key is written. A missing key of an [[interface]]
// entry or a bad array element falls back to the entry or the array; a key
// of a table left at its default has no position. For cross-field problems
// whose key is not in the file, the other key involved is tried.
func locate(at map[string]pos, e *Error) (pos, bool) {
	for i, key := range append([]string{e.Key}, e.related...) {
		for k := key; ; {
			if p, ok := at[k]; ok {
				if i > 0 {
					e.Key = key // so the position and the key shown agree
				}
				return p, true
			}
			parent, ok := arrayParent(k)
			if !ok {
				break
			}
			k = parent
		}
	}
	return pos{}, false
}

// arrayParent strips the last element of k when that element is an array
// index ("a.b[2]" -> "a.b") or sits right under one ("a[1].x" -> "a[1]").
// Keys built by validation are bare, so the brackets are unambiguous.
func arrayParent(k string) (string, bool) {
	if strings.HasSuffix(k, "]") {
		if i := strings.LastIndexByte(k, '['); i > 0 {
			return k[:i], true
		}
		return "", false
	}
	if i := strings.LastIndexByte(k, '.'); i > 0 && k[i-1] == ']' {
		return k[:i], true
	}
	return "", false
}

// decoder copies a decoded document into a Config, collecting problems.
type decoder struct {
	errs Errors
}

// covers says whether a validation problem only repeats a decoding one:
// a value that could not be decoded is left zero or at its default, and
// "want an integer" followed by "empty name" for the same key is noise.
// Keys match when one is the other or lies inside it.
func (d *decoder) covers(v *Error) bool {
	for _, e := range d.errs {
		for _, k := range append([]string{v.Key}, v.related...) {
			if k == e.Key || within(e.Key, k) || within(k, e.Key) {
				return true
			}
		}
	}
	return false
}

// within says whether key names something inside outer.
func within(key, outer string) bool {
	return len(key) > len(outer) && strings.HasPrefix(key, outer) && (key[len(outer)] == '.' || key[len(outer)] == '[')
}

func (d *decoder) errf(p keyPath, format string, args ...any) {
	d.errs = append(d.errs, &Error{Key: p.String(), Msg: fmt.Sprintf(format, args...)})
}

// tomlFields maps the toml tag of each field of struct type t to its index.
func tomlFields(t reflect.Type) map[string]int {
	out := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		if tag := t.Field(i).Tag.Get("toml"); tag != "" && tag != "-" {
			out[tag] = i
		}
	}
	return out
}

// table decodes m into the struct rv, key by key in sorted order so that
// problems come out the same way every time.
func (d *decoder) table(p keyPath, m map[string]any, rv reflect.Value) {
	fields := tomlFields(rv.Type())
	for _, k := range sortedKeys(m) {
		kp := p.key(k)
		i, ok := fields[k]
		if !ok {
			msg := "unknown key"
			if s := suggest(k, fields); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", s)
			}
			d.errs = append(d.errs, &Error{Key: kp.String(), Msg: msg})
			continue
		}
		d.value(kp, m[k], rv.Field(i))
	}
}

// value decodes v into rv, whose Go type says what the key must hold.
func (d *decoder) value(p keyPath, v any, rv reflect.Value) {
	switch dst := rv.Addr().Interface().(type) {
	case *time.Duration:
		if s, ok := d.str(p, v, `a duration like "5s", "1m30s" or "72h"`); ok {
			dur, err := time.ParseDuration(s)
			if err != nil {
				d.errf(p, `invalid duration %q: want a number and a unit, like "500ms", "5s", "1m30s" or "72h"`, s)
				return
			}
			*dst = dur
		}
		return
	case *Size:
		if s, ok := d.str(p, v, `a size like "6MiB" or "0"`); ok {
			n, err := ParseSize(s)
			if err != nil {
				d.errf(p, "invalid size %q: %v", s, err)
				return
			}
			*dst = n
		}
		return
	case *netip.Prefix:
		if s, ok := d.str(p, v, `a prefix like "10.0.0.0/8"`); ok {
			pfx, err := netip.ParsePrefix(s)
			if err != nil {
				d.errf(p, `invalid prefix %q: want an address and a length, like "10.0.0.0/8" or "fd00::/8"`, s)
				return
			}
			*dst = pfx
		}
		return
	case *netip.Addr:
		if s, ok := d.str(p, v, `an address like "10.1.1.1"`); ok {
			a, err := netip.ParseAddr(s)
			if err != nil {
				d.errf(p, `invalid address %q: want an IP address, like "10.1.1.1" or "fd00::1:1"`, s)
				return
			}
			*dst = a
		}
		return
	case *logx.Level:
		if s, ok := d.str(p, v, "one of debug, info, warn, error"); ok {
			l, ok := parseLevel(s)
			if !ok {
				d.errf(p, "invalid level %q: want debug, info, warn or error", s)
				return
			}
			*dst = l
		}
		return
	case *Table:
		d.kernelTable(p, v, dst)
		return
	case **float64: // optional numbers ([vlayer] latitude, longitude): nil when absent
		switch f := v.(type) {
		case float64:
			*dst = &f
		case int64:
			x := float64(f)
			*dst = &x
		default:
			d.mismatch(p, "a number", v)
		}
		return
	}

	switch rv.Kind() {
	case reflect.String:
		if s, ok := d.str(p, v, "a string"); ok {
			rv.SetString(s)
		}
	case reflect.Bool:
		b, ok := v.(bool)
		if !ok {
			d.mismatch(p, "true or false", v)
			return
		}
		rv.SetBool(b)
	case reflect.Int:
		if n, ok := d.integer(p, v); ok {
			rv.SetInt(int64(n))
		}
	case reflect.Uint8:
		n, ok := d.integer(p, v)
		if !ok {
			return
		}
		if n < 0 || n > 255 {
			d.errf(p, "%d is out of range", n)
			return
		}
		rv.SetUint(uint64(n))
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			d.mismatch(p, "a table", v)
			return
		}
		d.table(p, m, rv)
	case reflect.Slice:
		d.slice(p, v, rv)
	default:
		// Only reachable if Config grows a field of a new kind.
		panic(fmt.Sprintf("config: no decoder for %v (%s)", rv.Type(), p))
	}
}

// slice decodes an array (or an array of tables) into rv. An empty array
// leaves the slice nil, as in Default().
func (d *decoder) slice(p keyPath, v any, rv reflect.Value) {
	elemType := rv.Type().Elem()
	var items []any
	switch a := v.(type) {
	case []any:
		items = a
	case []map[string]any: // [[x]] headers
		for _, m := range a {
			items = append(items, m)
		}
	default:
		if elemType.Kind() == reflect.Struct {
			d.mismatch(p, fmt.Sprintf("an array of tables, each opened by [[%s]]", p[len(p)-1]), v)
		} else {
			d.mismatch(p, "an array", v)
		}
		return
	}
	if len(items) == 0 {
		rv.SetZero()
		return
	}
	out := reflect.MakeSlice(rv.Type(), len(items), len(items))
	for i, item := range items {
		elem := out.Index(i)
		if def, ok := elem.Addr().Interface().(interface{ setDefaults() }); ok {
			def.setDefaults()
		}
		d.value(p.index(i), item, elem)
	}
	rv.Set(out)
}

// kernelTable accepts "main", a table number, or the number as a string
// (UCI renders every option as a string).
func (d *decoder) kernelTable(p keyPath, v any, dst *Table) {
	switch t := v.(type) {
	case string:
		if t == "main" {
			*dst = TableMain
			return
		}
		n, err := strconv.Atoi(t)
		if err != nil {
			d.errf(p, `invalid table %q: want "main" or a number 1..252`, t)
			return
		}
		*dst = Table(n)
	case int64:
		if n, ok := d.integer(p, t); ok {
			*dst = Table(n)
		}
	default:
		d.mismatch(p, `"main" or a number 1..252`, v)
	}
}

func (d *decoder) str(p keyPath, v any, want string) (string, bool) {
	s, ok := v.(string)
	if !ok {
		d.mismatch(p, want, v)
	}
	return s, ok
}

// integer returns v as an int, which is 32 bits on the MIPS routers ntkd
// targets: bigger numbers are an error, not a silent truncation.
func (d *decoder) integer(p keyPath, v any) (int, bool) {
	n, ok := v.(int64)
	if !ok {
		d.mismatch(p, "an integer", v)
		return 0, false
	}
	if int64(int(n)) != n {
		d.errf(p, "%d is out of range", n)
		return 0, false
	}
	return int(n), true
}

func (d *decoder) mismatch(p keyPath, want string, got any) {
	d.errf(p, "want %s, not %s", want, tomlType(got))
}

// tomlType names the TOML type of a decoded value for error messages.
func tomlType(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case bool:
		return "a boolean"
	case time.Time:
		return "a date/time"
	case []any:
		return "an array"
	case []map[string]any:
		return "an array of tables"
	case map[string]any:
		return "a table"
	}
	return fmt.Sprintf("%T", v)
}

// parseLevel accepts exactly the four documented names: Level.UnmarshalText
// also takes "INFO+2" and the like, which nobody should have to read.
func parseLevel(s string) (logx.Level, bool) {
	switch s {
	case "debug":
		return logx.LevelDebug, true
	case "info":
		return logx.LevelInfo, true
	case "warn":
		return logx.LevelWarn, true
	case "error":
		return logx.LevelError, true
	}
	return 0, false
}

// suggest returns the known key closest to an unknown one, if it is close
// enough to be a typo, differs only in case, or is a prefix of one.
func suggest(k string, fields map[string]int) string {
	names := sortedKeys(fields) // ties resolve the same way every run
	for _, f := range names {
		if strings.EqualFold(f, k) || len(k) >= 3 && strings.HasPrefix(f, k) {
			return f
		}
	}
	best, bestDist := "", 3
	for _, f := range names {
		if dist := editDistance(strings.ToLower(k), f); dist < bestDist {
			best, bestDist = f, dist
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes. Keys
// are short; inputs past 64 bytes are not worth comparing.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return max(len(a), len(b))
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// sortedKeys returns m's keys in order, with sort.Strings, which the
// binary has anyway, rather than an instance of slices.Sorted for strings.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
