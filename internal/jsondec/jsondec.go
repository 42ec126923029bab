// Package jsondec decodes JSON as encoding/json's Unmarshal does, for the
// types the control socket carries: structs (exported fields named by their
// json tags), maps with string keys, slices, pointers, strings, bools,
// numbers, empty interfaces and RawMessage (this package's json.RawMessage).
//
// Why not encoding/json: its decoder costs ~45 KB of mips code and ~17 KB
// of tables, which the router build's 5 MiB budget needs for the tunnels.
// The control socket is the only place the router build decodes JSON;
// internal/jsonenc is the encoding side.
//
// Same input, same result: the values, the text of syntax and type errors,
// keys matched exactly and then case-insensitively, unknown keys skipped,
// null leaving non-pointer values alone, the first type error returned
// after the rest is decoded, invalid JSON leaving the value untouched. The
// tests compare it with encoding/json. Outside the subset (embedded
// structs, the ",string" option, arrays, non-string map keys, []byte,
// types with UnmarshalJSON or UnmarshalText methods) the result may differ:
// the tests check that the control socket's types stay inside it.
package jsondec

import (
	"errors"
	"reflect"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// errUnexpectedEnd is encoding/json's error for a document cut short.
var errUnexpectedEnd = errors.New("unexpected end of JSON input")

// Truncated says whether err is JSON that ended before its value did (as
// opposed to invalid JSON), the case json.Decoder reports as
// io.ErrUnexpectedEOF.
func Truncated(err error) bool { return err == errUnexpectedEnd }

// maxDepth is encoding/json's limit on nested arrays and objects.
const maxDepth = 10000

var (
	rawType     = reflect.TypeFor[RawMessage]()
	float64Type = reflect.TypeFor[float64]()
	mapAnyType  = reflect.TypeFor[map[string]any]()
	sliceAny    = reflect.TypeFor[[]any]()
)

// RawMessage is a raw encoded JSON value, as encoding/json's RawMessage
// (whose methods it has, so that encoding/json treats both alike): decoding
// into it keeps the value's text, encoding it (internal/jsonenc) writes that
// text, compacted.
type RawMessage []byte

// MarshalJSON returns m as the JSON encoding of m (null for nil).
func (m RawMessage) MarshalJSON() ([]byte, error) {
	if m == nil {
		return []byte("null"), nil
	}
	return m, nil
}

// UnmarshalJSON sets *m to a copy of data.
func (m *RawMessage) UnmarshalJSON(data []byte) error {
	if m == nil {
		return errors.New("json.RawMessage: UnmarshalJSON on nil pointer")
	}
	*m = append((*m)[0:0], data...)
	return nil
}

// Unmarshal decodes data into the value v points to, like json.Unmarshal.
func Unmarshal(data []byte, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		// encoding/json's InvalidUnmarshalError texts.
		switch {
		case v == nil:
			return errors.New("json: Unmarshal(nil)")
		case rv.Kind() != reflect.Pointer:
			return errors.New("json: Unmarshal(non-pointer " + rv.Type().String() + ")")
		}
		return errors.New("json: Unmarshal(nil " + rv.Type().String() + ")")
	}
	// Check everything first, as encoding/json does, so that invalid JSON
	// leaves v untouched and errors come in the order of the input.
	for _, into := range []reflect.Value{{}, rv} {
		d := decoder{data: data}
		d.space()
		if err := d.value(into); err != nil {
			return err
		}
		d.space()
		if d.off < len(d.data) {
			return d.syntax("after top-level value")
		}
		if into.IsValid() {
			return d.saved
		}
	}
	return nil // not reached
}

// decoder walks data once to check it (into an invalid Value: nothing is
// stored) and once more to store it.
type decoder struct {
	data  []byte
	off   int
	depth int
	saved error // the first type error, returned at the end
	// Where a type error happens: the innermost struct and the JSON keys
	// leading to it, as encoding/json reports them.
	inStruct reflect.Type
	keys     []string
}

func (d *decoder) space() {
	for d.off < len(d.data) {
		switch d.data[d.off] {
		case ' ', '\t', '\r', '\n':
			d.off++
		default:
			return
		}
	}
}

// syntax is encoding/json's error for the byte at d.off in context; its
// scanner sees the end of data as a space, which is invalid inside a token
// (a non-empty context) and otherwise means the input ended.
func (d *decoder) syntax(context string) error {
	c := byte(' ')
	if d.off < len(d.data) {
		c = d.data[d.off]
	} else if context == "" {
		return errUnexpectedEnd
	}
	q := strconv.Quote(string(rune(c)))
	switch c {
	case '\'':
		q = `"\'"`
	case '"':
		q = `"""`
	}
	return errors.New("invalid character '" + q[1:len(q)-1] + "' " + context)
}

// expect is the error for a structural byte that is not there.
func (d *decoder) expect(context string) error {
	if d.off >= len(d.data) {
		return errUnexpectedEnd
	}
	return d.syntax(context)
}

// save keeps the first type error, with the struct and keys it is under.
func (d *decoder) save(value string, t reflect.Type) {
	if d.saved != nil {
		return
	}
	msg := "json: cannot unmarshal " + value + " into Go value of type "
	if d.inStruct != nil {
		msg = "json: cannot unmarshal " + value + " into Go struct field " + d.inStruct.Name() + "." + strings.Join(d.keys, ".") + " of type "
	}
	d.saved = errors.New(msg + t.String())
}

// value reads one value into v; an invalid v only checks it.
func (d *decoder) value(v reflect.Value) error {
	if d.off >= len(d.data) {
		return errUnexpectedEnd
	}
	c := d.data[d.off]
	if v.IsValid() {
		v = indirect(v, c == 'n')
		if v.Type() == rawType {
			start := d.off
			if err := d.value(reflect.Value{}); err != nil {
				return err
			}
			v.SetBytes(append([]byte(nil), d.data[start:d.off]...))
			return nil
		}
	}
	generic := v.IsValid() && v.Kind() == reflect.Interface && v.NumMethod() == 0
	switch c {
	case '{':
		if generic {
			m := reflect.MakeMap(mapAnyType)
			v.Set(m)
			v = m
		}
		return d.object(v)
	case '[':
		if generic {
			s := reflect.New(sliceAny).Elem()
			if err := d.array(s); err != nil {
				return err
			}
			v.Set(s)
			return nil
		}
		return d.array(v)
	case '"':
		s, err := d.str()
		switch {
		case err != nil || !v.IsValid():
			return err
		case v.Kind() == reflect.String:
			v.SetString(s)
		case generic:
			v.Set(reflect.ValueOf(s))
		default:
			d.save("string", v.Type())
		}
		return nil
	case 't', 'f', 'n':
		return d.literal(v, generic)
	}
	if c == '-' || '0' <= c && c <= '9' {
		s, err := d.number()
		if err != nil || !v.IsValid() {
			return err
		}
		d.storeNumber(s, v, generic)
		return nil
	}
	return d.syntax("looking for beginning of value")
}

// indirect allocates nil pointers down to the value to store into, as
// encoding/json does; for null it stops at the first settable pointer.
func indirect(v reflect.Value, null bool) reflect.Value {
	for {
		if v.Kind() == reflect.Interface && !v.IsNil() {
			if e := v.Elem(); e.Kind() == reflect.Pointer && !e.IsNil() && (!null || e.Elem().Kind() == reflect.Pointer) {
				v = e
				continue
			}
		}
		if v.Kind() != reflect.Pointer || null && v.CanSet() {
			return v
		}
		if v.Elem().Kind() == reflect.Interface && v.Elem().Elem().Equal(v) {
			return v.Elem() // an interface holding its own address
		}
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		v = v.Elem()
	}
}

// literal reads true, false or null.
func (d *decoder) literal(v reflect.Value, generic bool) error {
	word := "null"
	switch d.data[d.off] {
	case 't':
		word = "true"
	case 'f':
		word = "false"
	}
	for i := 1; i < len(word); i++ {
		d.off++
		if d.off >= len(d.data) || d.data[d.off] != word[i] {
			return d.syntax("in literal " + word + " (expecting '" + word[i:i+1] + "')")
		}
	}
	d.off++
	if !v.IsValid() {
		return nil
	}
	switch k := v.Kind(); {
	case word == "null":
		if k == reflect.Pointer || k == reflect.Map || k == reflect.Slice || k == reflect.Interface {
			v.SetZero()
		} // other kinds keep their value
	case k == reflect.Bool:
		v.SetBool(word == "true")
	case generic:
		v.Set(reflect.ValueOf(word == "true"))
	default:
		d.save("bool", v.Type())
	}
	return nil
}

// number reads a number literal and returns its text.
func (d *decoder) number() (string, error) {
	start := d.off
	if d.data[d.off] == '-' {
		d.off++
		if !d.digit() {
			return "", d.syntax("in numeric literal")
		}
	}
	if d.data[d.off] == '0' {
		d.off++
	} else {
		d.digits()
	}
	if d.off < len(d.data) && d.data[d.off] == '.' {
		d.off++
		if !d.digit() {
			return "", d.syntax("after decimal point in numeric literal")
		}
		d.digits()
	}
	if d.off < len(d.data) && (d.data[d.off] == 'e' || d.data[d.off] == 'E') {
		d.off++
		if d.off < len(d.data) && (d.data[d.off] == '+' || d.data[d.off] == '-') {
			d.off++
		}
		if !d.digit() {
			return "", d.syntax("in exponent of numeric literal")
		}
		d.digits()
	}
	return string(d.data[start:d.off]), nil
}

func (d *decoder) digit() bool {
	return d.off < len(d.data) && '0' <= d.data[d.off] && d.data[d.off] <= '9'
}

func (d *decoder) digits() {
	for d.digit() {
		d.off++
	}
}

func (d *decoder) storeNumber(s string, v reflect.Value, generic bool) {
	t := v.Type()
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(s, 10, 64)
		if err == nil && !v.OverflowInt(n) {
			v.SetInt(n)
			return
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		n, err := strconv.ParseUint(s, 10, 64)
		if err == nil && !v.OverflowUint(n) {
			v.SetUint(n)
			return
		}
	case reflect.Float32, reflect.Float64:
		n, err := strconv.ParseFloat(s, t.Bits())
		if err == nil && !v.OverflowFloat(n) {
			v.SetFloat(n)
			return
		}
	case reflect.Interface: // encoding/json parses first, then looks at the type
		n, err := strconv.ParseFloat(s, 64)
		if err != nil {
			d.save("number "+s, float64Type)
		} else if generic {
			v.Set(reflect.ValueOf(n))
		} else {
			d.save("number", t)
		}
		return
	default:
		d.save("number", t)
		return
	}
	d.save("number "+s, t)
}

// str reads a string literal: escapes decoded, each invalid UTF-8 byte and
// lone surrogate replaced by U+FFFD, as encoding/json does.
func (d *decoder) str() (string, error) {
	d.off++ // the opening quote
	start := d.off
	var b []byte // nil while the literal is its own value
	for {
		if d.off >= len(d.data) {
			return "", errUnexpectedEnd
		}
		c := d.data[d.off]
		switch {
		case c == '"':
			d.off++
			if b == nil {
				return string(d.data[start : d.off-1]), nil
			}
			return string(b), nil
		case c < 0x20:
			return "", d.syntax("in string literal")
		case c < utf8.RuneSelf && c != '\\':
			if b != nil {
				b = append(b, c)
			}
			d.off++
			continue
		}
		if b == nil {
			b = append([]byte(nil), d.data[start:d.off]...)
		}
		if c != '\\' {
			// A multi-byte sequence never takes in the closing quote:
			// ASCII bytes are not continuation bytes.
			r, n := utf8.DecodeRune(d.data[d.off:])
			if r == utf8.RuneError && n == 1 {
				b = utf8.AppendRune(b, r)
			} else {
				b = append(b, d.data[d.off:d.off+n]...)
			}
			d.off += n
			continue
		}
		d.off++
		r, err := d.escape()
		if err != nil {
			return "", err
		}
		if utf16.IsSurrogate(r) {
			// A pair only when another \u escape follows at once; else
			// that escape is read on its own.
			r1, save := rune(-1), d.off
			if d.off+1 < len(d.data) && d.data[d.off] == '\\' && d.data[d.off+1] == 'u' {
				d.off++
				if r1, err = d.escape(); err != nil {
					return "", err
				}
			}
			if r = utf16.DecodeRune(r, r1); r == unicode.ReplacementChar {
				d.off = save
			}
		}
		b = utf8.AppendRune(b, r)
	}
}

// escape reads an escape after its backslash.
func (d *decoder) escape() (rune, error) {
	if d.off >= len(d.data) {
		return 0, d.syntax("in string escape code")
	}
	c := d.data[d.off]
	d.off++
	if c == 'u' {
		r := 0
		for range 4 {
			if d.off >= len(d.data) {
				return 0, d.syntax("in \\u hexadecimal character escape")
			}
			c := d.data[d.off]
			n := strings.IndexByte("0123456789abcdef", c|0x20)
			if n < 0 || c < '0' {
				return 0, d.syntax("in \\u hexadecimal character escape")
			}
			r = r*16 + n
			d.off++
		}
		return rune(r), nil
	}
	if i := strings.IndexByte(`"\/bfnrt`, c); i >= 0 {
		return rune("\"\\/\b\f\n\r\t"[i]), nil
	}
	d.off--
	return 0, d.syntax("in string escape code")
}

// open enters an array or object, within encoding/json's depth limit, and
// says whether it is empty.
func (d *decoder) open(end byte) (bool, error) {
	d.depth++
	if d.depth > maxDepth {
		return false, d.syntax("exceeded max depth")
	}
	d.off++
	d.space()
	if d.off < len(d.data) && d.data[d.off] == end {
		d.off++
		d.depth--
		return true, nil
	}
	return false, nil
}

// next reads what follows a member: end (true) or a comma (false).
func (d *decoder) next(end byte, context string) (bool, error) {
	d.space()
	if d.off >= len(d.data) {
		return false, errUnexpectedEnd
	}
	switch d.data[d.off] {
	case end:
		d.off++
		d.depth--
		return true, nil
	case ',':
		d.off++
		d.space()
		return false, nil
	}
	return false, d.syntax(context)
}

func (d *decoder) array(v reflect.Value) error {
	if v.IsValid() && v.Kind() != reflect.Slice {
		d.save("array", v.Type())
		v = reflect.Value{}
	}
	empty, err := d.open(']')
	i := 0
	for !empty && err == nil {
		elem := reflect.Value{}
		if v.IsValid() {
			if i >= v.Cap() {
				v.Grow(1)
			}
			if i >= v.Len() {
				v.SetLen(i + 1)
			}
			elem = v.Index(i)
		}
		if err = d.value(elem); err == nil {
			i++
			empty, err = d.next(']', "after array element")
		}
	}
	if err == nil && v.IsValid() {
		if i < v.Len() {
			v.SetLen(i)
		}
		if i == 0 {
			v.Set(reflect.MakeSlice(v.Type(), 0, 0))
		}
	}
	return err
}

func (d *decoder) object(v reflect.Value) error {
	if v.IsValid() {
		switch v.Kind() {
		case reflect.Map:
			if v.IsNil() {
				v.Set(reflect.MakeMap(v.Type()))
			}
		case reflect.Struct:
		default:
			d.save("object", v.Type())
			v = reflect.Value{}
		}
	}
	empty, err := d.open('}')
	outerStruct, outerKeys := d.inStruct, len(d.keys)
	var elem reflect.Value // a map's element, decoded fresh for each key
	for !empty && err == nil {
		if d.off >= len(d.data) || d.data[d.off] != '"' {
			return d.expect("looking for beginning of object key string")
		}
		key, kerr := d.str()
		if kerr != nil {
			return kerr
		}
		sub := reflect.Value{}
		if v.IsValid() && v.Kind() == reflect.Map {
			if !elem.IsValid() {
				elem = reflect.New(v.Type().Elem()).Elem()
			} else {
				elem.SetZero()
			}
			sub = elem
		} else if v.IsValid() {
			if i, name := field(v.Type(), key); i >= 0 {
				sub = v.Field(i)
				d.inStruct = v.Type()
				d.keys = append(d.keys, name)
			}
		}
		d.space()
		if d.off >= len(d.data) || d.data[d.off] != ':' {
			return d.expect("after object key")
		}
		d.off++
		d.space()
		if err = d.value(sub); err != nil {
			return err
		}
		if v.IsValid() && v.Kind() == reflect.Map {
			k := reflect.New(v.Type().Key()).Elem()
			k.SetString(key)
			v.SetMapIndex(k, sub)
		}
		d.inStruct, d.keys = outerStruct, d.keys[:outerKeys]
		empty, err = d.next('}', "after object key:value pair")
	}
	return err
}

// field finds the field of struct type t that key names: the exact name
// first, then the first equal under encoding/json's case folding. It
// returns -1 for a key no field takes.
func field(t reflect.Type, key string) (int, string) {
	folded, foldedName, foldedKey := -1, "", fold(key)
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "-" && f.Tag.Get("json") == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if name == key {
			return i, name
		}
		if folded < 0 && fold(name) == foldedKey {
			folded, foldedName = i, name
		}
	}
	return folded, foldedName
}

// fold is encoding/json's case folding of key names.
func fold(s string) string {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		if 'a' <= r && r <= 'z' {
			r -= 'a' - 'A'
		} else if r >= utf8.RuneSelf {
			r = unicode.ToUpper(unicode.ToLower(r))
		}
		b = utf8.AppendRune(b, r)
	}
	return string(b)
}
