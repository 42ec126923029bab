// Package jsonenc encodes JSON as encoding/json's Marshal does, for the
// values the router build encodes: the control socket's requests and
// answers (internal/ctl) and `ntkd ctl --json`'s output (the answer as
// jsondec decodes it into an empty interface). It is jsondec's encoding
// side.
//
// Why not encoding/json: its reflect-based encoder is ~120 KB of the mips
// binary, which the router build's 5 MiB budget needs (docs/BENCHMARKS.md).
//
// Same value, same bytes: struct fields in order, named by their json tags
// (`name`, `-`, `-,`, `,omitempty`; invalid tag names fall back to the
// field's name; of fields with the same name, the only tagged one or
// none), strings escaped as encoding/json escapes them (HTML-safe: <, >
// and & as \u003c...; U+2028 and U+2029; control characters; each byte
// of invalid UTF-8 as \ufffd), integers, floats with encoding/json's
// cut-offs between plain and exponent notation, NaN and infinities as
// errors with encoding/json's text, nil pointers, slices, maps and
// interfaces as null, maps by sorted keys (strings, integers or
// encoding.TextMarshaler), []byte as base64, encoding.TextMarshaler
// values as strings, and Marshaler (json.Marshaler's method, which
// jsondec.RawMessage has) values compacted. The tests compare it with
// encoding/json. Outside the subset the encoder returns an error rather
// than different bytes: embedded structs whose fields encoding/json
// would promote, the ",string" and ",omitzero" options, channels,
// functions and complex numbers (encoding/json's error too). json.Number
// is an ordinary string here, and cyclic values are not detected (none of
// the encoded types can hold a cycle).
package jsonenc

import (
	"encoding"
	"encoding/base64"
	"io"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/ntkd/ntkd/internal/jsondec"
)

// Marshaler is encoding/json's Marshaler: a type that encodes itself.
type Marshaler interface {
	MarshalJSON() ([]byte, error)
}

var (
	marshalerType     = reflect.TypeFor[Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
)

// Marshal returns the JSON encoding of v, like json.Marshal.
func Marshal(v any) ([]byte, error) {
	return appendValue(nil, v)
}

// MarshalIndent is Marshal with each element on a line of its own, like
// json.MarshalIndent.
func MarshalIndent(v any, prefix, indent string) ([]byte, error) {
	b, err := Marshal(v)
	if err != nil {
		return nil, err
	}
	return appendIndent(make([]byte, 0, 2*len(b)), b, prefix, indent), nil
}

// An Encoder writes JSON values to a stream, each followed by a newline,
// like json.Encoder (with HTML escaping on, encoding/json's default).
type Encoder struct {
	w              io.Writer
	prefix, indent string
	err            error
	_              [0]func() // not comparable: no equality function in the router binary
}

// NewEncoder returns an encoder that writes to w.
func NewEncoder(w io.Writer) *Encoder { return &Encoder{w: w} }

// SetIndent indents each value as MarshalIndent does ("", "": none).
func (enc *Encoder) SetIndent(prefix, indent string) {
	enc.prefix, enc.indent = prefix, indent
}

// Encode writes the JSON encoding of v and a newline in one Write. A
// write error sticks: later calls return it.
func (enc *Encoder) Encode(v any) error {
	if enc.err != nil {
		return enc.err
	}
	b, err := Marshal(v)
	if err != nil {
		return err
	}
	if enc.prefix != "" || enc.indent != "" {
		b = appendIndent(make([]byte, 0, 2*len(b)+1), b, enc.prefix, enc.indent)
	}
	if _, err := enc.w.Write(append(b, '\n')); err != nil {
		enc.err = err
		return err
	}
	return nil
}

// Error is an error of encoding/json's (the same text).
type Error struct{ msg string }

func (e *Error) Error() string { return e.msg }

func fail(msg string) { panic(&Error{msg}) }

func unsupportedType(t reflect.Type) { fail("json: unsupported type: " + t.String()) }

// appendValue encodes v after dst; the encoder panics with *Error.
func appendValue(dst []byte, v any) (b []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			e, ok := r.(*Error)
			if !ok {
				panic(r)
			}
			b, err = nil, e
		}
	}()
	e := encoder{buf: dst}
	e.value(reflect.ValueOf(v))
	return e.buf, nil
}

type encoder struct {
	buf []byte
}

// value encodes v in the order encoding/json chooses an encoder: a
// Marshaler (through v's address when its pointer has the method), an
// encoding.TextMarshaler (likewise), then by kind.
func (e *encoder) value(v reflect.Value) {
	if !v.IsValid() {
		e.buf = append(e.buf, "null"...)
		return
	}
	t := v.Type()
	addr := t.Kind() != reflect.Pointer && v.CanAddr()
	switch {
	case addr && reflect.PointerTo(t).Implements(marshalerType):
		e.marshalJSON(v.Addr(), t)
		return
	case t.Implements(marshalerType):
		e.marshalJSON(v, t)
		return
	case addr && reflect.PointerTo(t).Implements(textMarshalerType):
		e.marshalText(v.Addr(), t)
		return
	case t.Implements(textMarshalerType):
		e.marshalText(v, t)
		return
	}
	switch t.Kind() {
	case reflect.Bool:
		e.buf = strconv.AppendBool(e.buf, v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		e.buf = strconv.AppendInt(e.buf, v.Int(), 10)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		e.buf = strconv.AppendUint(e.buf, v.Uint(), 10)
	case reflect.Float32:
		e.buf = appendFloat(e.buf, v.Float(), 32)
	case reflect.Float64:
		e.buf = appendFloat(e.buf, v.Float(), 64)
	case reflect.String:
		e.buf = appendString(e.buf, v.String())
	case reflect.Interface, reflect.Pointer:
		if v.IsNil() {
			e.buf = append(e.buf, "null"...)
			return
		}
		e.value(v.Elem())
	case reflect.Struct:
		e.structValue(v, t)
	case reflect.Map:
		e.mapValue(v, t)
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			p := reflect.PointerTo(t.Elem())
			if !p.Implements(marshalerType) && !p.Implements(textMarshalerType) {
				if v.IsNil() {
					e.buf = append(e.buf, "null"...)
					return
				}
				e.buf = append(e.buf, '"')
				e.buf = base64.StdEncoding.AppendEncode(e.buf, v.Bytes())
				e.buf = append(e.buf, '"')
				return
			}
		}
		if v.IsNil() {
			e.buf = append(e.buf, "null"...)
			return
		}
		e.array(v)
	case reflect.Array:
		e.array(v)
	default:
		unsupportedType(t)
	}
}

func (e *encoder) array(v reflect.Value) {
	e.buf = append(e.buf, '[')
	for i := range v.Len() {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		e.value(v.Index(i))
	}
	e.buf = append(e.buf, ']')
}

// marshalJSON writes what m's MarshalJSON returns, checked and compacted
// as encoding/json does; t is the type named in errors.
func (e *encoder) marshalJSON(m reflect.Value, t reflect.Type) {
	if m.Kind() == reflect.Pointer && m.IsNil() {
		e.buf = append(e.buf, "null"...)
		return
	}
	mm, ok := reflect.TypeAssert[Marshaler](m)
	if !ok {
		e.buf = append(e.buf, "null"...)
		return
	}
	b, err := mm.MarshalJSON()
	if err == nil {
		// jsondec's syntax errors are encoding/json's, word for word.
		var raw jsondec.RawMessage
		err = jsondec.Unmarshal(b, &raw)
	}
	if err != nil {
		fail("json: error calling MarshalJSON for type " + t.String() + ": " + err.Error())
	}
	e.buf = appendCompact(e.buf, b)
}

func (e *encoder) marshalText(m reflect.Value, t reflect.Type) {
	if m.Kind() == reflect.Pointer && m.IsNil() {
		e.buf = append(e.buf, "null"...)
		return
	}
	tm, ok := reflect.TypeAssert[encoding.TextMarshaler](m)
	if !ok {
		e.buf = append(e.buf, "null"...)
		return
	}
	b, err := tm.MarshalText()
	if err != nil {
		fail("json: error calling MarshalText for type " + t.String() + ": " + err.Error())
	}
	e.buf = appendString(e.buf, string(b)) // one instance of appendString
}

func (e *encoder) structValue(v reflect.Value, t reflect.Type) {
	fields := cachedFields(t)
	next := byte('{')
	for i := range fields {
		f := &fields[i]
		fv := v.Field(f.index)
		if f.omitEmpty && isEmpty(fv) {
			continue
		}
		e.buf = append(e.buf, next)
		next = ','
		e.buf = append(e.buf, f.key...)
		e.value(fv)
	}
	if next == '{' {
		e.buf = append(e.buf, '{', '}')
	} else {
		e.buf = append(e.buf, '}')
	}
}

// isEmpty is encoding/json's test for omitempty.
func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64,
		reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}

func (e *encoder) mapValue(v reflect.Value, t reflect.Type) {
	switch t.Key().Kind() {
	case reflect.String,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
	default:
		if !t.Key().Implements(textMarshalerType) {
			unsupportedType(t)
		}
	}
	if v.IsNil() {
		e.buf = append(e.buf, "null"...)
		return
	}
	type entry struct {
		key string
		v   reflect.Value
		_   [0]func() // not comparable: no equality function in the router binary
	}
	entries := make([]entry, 0, v.Len())
	for it := v.MapRange(); it.Next(); {
		k, err := keyName(it.Key())
		if err != nil {
			fail("json: encoding error for type " + strconv.Quote(t.String()) + ": " + strconv.Quote(err.Error()))
		}
		entries = append(entries, entry{key: k, v: it.Value()})
	}
	// sort.Slice, not slices.SortFunc: the router build has sort.Slice's
	// code already, and a pdqsort for this type would be ~11 KB more.
	sort.Slice(entries, func(i, j int) bool { return entries[i].key < entries[j].key })
	e.buf = append(e.buf, '{')
	for i, kv := range entries {
		if i > 0 {
			e.buf = append(e.buf, ',')
		}
		e.buf = appendString(e.buf, kv.key)
		e.buf = append(e.buf, ':')
		e.value(kv.v)
	}
	e.buf = append(e.buf, '}')
}

// keyName is encoding/json's text of a map key.
func keyName(k reflect.Value) (string, error) {
	if k.Kind() == reflect.String {
		return k.String(), nil
	}
	if tm, ok := reflect.TypeAssert[encoding.TextMarshaler](k); ok {
		if k.Kind() == reflect.Pointer && k.IsNil() {
			return "", nil
		}
		b, err := tm.MarshalText()
		return string(b), err
	}
	switch k.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(k.Int(), 10), nil
	}
	return strconv.FormatUint(k.Uint(), 10), nil
}

// field is a struct field encoding/json encodes.
type field struct {
	index     int
	key       string // "name":
	omitEmpty bool
	_         [0]func() // not comparable
}

// fieldCache maps a struct type to its []field, or to the *Error its
// fields give.
var fieldCache sync.Map

func cachedFields(t reflect.Type) []field {
	c, ok := fieldCache.Load(t)
	if !ok {
		c, _ = fieldCache.LoadOrStore(t, typeFields(t))
	}
	if err, ok := c.(*Error); ok {
		panic(err)
	}
	return c.([]field)
}

// typeFields lists t's fields as encoding/json's typeFields does for a
// struct without promoted fields, or returns an *Error for what it does
// not handle.
func typeFields(t reflect.Type) any {
	type named struct {
		field
		name   string
		tagged bool
		_      [0]func() // not comparable
	}
	var all []named
	for i := range t.NumField() {
		sf := t.Field(i)
		if sf.Anonymous {
			ft := sf.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if !sf.IsExported() && ft.Kind() != reflect.Struct {
				continue // encoding/json ignores these
			}
		} else if !sf.IsExported() {
			continue
		}
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if !validTag(name) {
			name = ""
		}
		ft := sf.Type
		if ft.Name() == "" && ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if name == "" && sf.Anonymous && ft.Kind() == reflect.Struct {
			return &Error{"jsonenc: " + t.String() + "." + sf.Name + ": embedded struct fields are not supported"}
		}
		f := named{field: field{index: i}, name: name, tagged: name != ""}
		if name == "" {
			f.name = sf.Name
		}
		for opts != "" {
			var o string
			o, opts, _ = strings.Cut(opts, ",")
			switch o {
			case "omitempty":
				f.omitEmpty = true
			case "string", "omitzero":
				return &Error{"jsonenc: " + t.String() + "." + sf.Name + ": option ," + o + " is not supported"}
			}
		}
		f.key = string(appendString(nil, f.name)) + ":"
		all = append(all, f)
	}
	// Of fields with the same name, encoding/json keeps the only tagged
	// one, or none (Go's names are unique: two fields cannot both be
	// untagged).
	var fields []field
	for _, f := range all {
		keep := true
		for _, g := range all {
			if g.index != f.index && g.name == f.name && g.tagged {
				keep = false
			}
		}
		if keep {
			fields = append(fields, f.field)
		}
	}
	return fields
}

// validTag is encoding/json's test of a tag's name.
func validTag(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		switch {
		case strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c):
		case !unicode.IsLetter(c) && !unicode.IsDigit(c):
			return false
		}
	}
	return true
}

// appendFloat writes f as encoding/json does (ES6's number to string):
// like %g, but with exponents only below 1e-6 and from 1e21, unpadded.
func appendFloat(dst []byte, f float64, bits int) []byte {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		fail("json: unsupported value: " + strconv.FormatFloat(f, 'g', -1, bits))
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 {
		if bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			format = 'e'
		}
	}
	dst = strconv.AppendFloat(dst, f, format, -1, bits)
	if format == 'e' {
		// e-09 to e-9
		n := len(dst)
		if n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}

const hex = "0123456789abcdef"

// appendString writes s as a JSON string, escaped as encoding/json
// escapes it with HTML escaping on.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= ' ' && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '\\', '"':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendCompact writes valid JSON without the spaces between its tokens,
// with <, >, &, U+2028 and U+2029 escaped, as encoding/json writes what a
// Marshaler returns.
func appendCompact(dst, src []byte) []byte {
	inString, escaped := false, false
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch {
		case c == '<' || c == '>' || c == '&':
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			continue
		case c == 0xE2 && i+2 < len(src) && src[i+1] == 0x80 && src[i+2]&^1 == 0xA8:
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[src[i+2]&0xF])
			i += 2
			continue
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			continue
		case c == '"':
			inString = true
		}
		dst = append(dst, c)
	}
	return dst
}

// appendIndent writes valid compact JSON indented as encoding/json's
// Indent does: a line per element, "key": value, {} and [] kept short.
func appendIndent(dst, src []byte, prefix, indent string) []byte {
	newline := func(depth int) {
		dst = append(dst, '\n')
		dst = append(dst, prefix...)
		for range depth {
			dst = append(dst, indent...)
		}
	}
	depth := 0
	inString, escaped, open := false, false, false
	for _, c := range src {
		if inString {
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
			dst = append(dst, c)
			continue
		}
		if open && c != '}' && c != ']' {
			open = false
			depth++
			newline(depth)
		}
		switch c {
		case '"':
			inString = true
			dst = append(dst, c)
		case '{', '[':
			open = true // the newline waits: {} and [] stay as they are
			dst = append(dst, c)
		case ',':
			dst = append(dst, c)
			newline(depth)
		case ':':
			dst = append(dst, c, ' ')
		case '}', ']':
			if open {
				open = false
			} else {
				depth--
				newline(depth)
			}
			dst = append(dst, c)
		default:
			dst = append(dst, c)
		}
	}
	return dst
}
