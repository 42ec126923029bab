package config

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// A TOML reader of its own for the router binary, which has a size budget
// (5 MiB) that the toml library (about 93 KB of code there) does not fit
// in. It reads the TOML config files use: comments, bare, quoted and dotted
// keys, [table] and [[array.of.tables]] headers, basic and literal strings,
// multi-line strings, integers, floats, booleans, arrays, inline tables and
// local dates (a config has no date, but "want a string, not a date/time"
// is a better message than a syntax error). Times, dates with a time, inf
// and nan are refused as not supported, at their position, never misread.
//
// It decodes to what the toml library gives for a map[string]any (int64,
// float64, string, bool, time.Time, []any, []map[string]any for [[x]],
// map[string]any), and accepts and refuses what the library does: the
// rules on defining tables and keys twice are the library's (v1.6.0
// parse.go: addContext, setValue, the implicit tables), ported as they
// are, quirks included. FuzzTOMLMini holds the two in step. Only this file
// is needed for that test; toml_mini.go (router builds) and toml_full.go
// (the others) choose the reader behind decodeTOML.

// tomlError is a syntax error at byte offset off of the text read.
type tomlError struct {
	off         int
	msg         string
	unsupported bool      // valid TOML, maybe, but not read by parseMiniTOML
	_           [0]func() // not comparable: no equality function in the binary
}

func (e *tomlError) Error() string { return e.msg }

type miniTOML struct {
	s        string
	i        int // read offset
	at       int // offset of the key or header being defined
	top      map[string]any
	ctx      []string // the table keys go into, as the library's p.context
	cur      string   // the key being set, as its p.currentKey
	implicit map[string]bool
	array    map[string]bool // keys whose last value was an array
}

// parseMiniTOML decodes text, after a byte-order mark as the library
// strips it. An error is a *tomlError whose offset counts in text.
func parseMiniTOML(text string) (doc map[string]any, err error) {
	s := stripBOM(text)
	p := &miniTOML{s: s, top: map[string]any{}, implicit: map[string]bool{}, array: map[string]bool{}}
	defer func() {
		if r := recover(); r != nil {
			e, ok := r.(*tomlError)
			if !ok {
				panic(r)
			}
			e.off += len(text) - len(s)
			doc, err = nil, e
		}
	}()
	p.checkChars()
	for p.topLevel() {
	}
	return p.top, nil
}

func (p *miniTOML) fail(off int, msg string) {
	panic(&tomlError{off: off, msg: msg})
}

func (p *miniTOML) unsupported(off int, what string) {
	panic(&tomlError{off: off, msg: what + " is not supported by this build's TOML reader", unsupported: true})
}

// checkChars refuses what the library refuses anywhere in a file, even in
// a comment: invalid UTF-8, control characters other than tab and newline,
// and a carriage return not followed by a newline.
func (p *miniTOML) checkChars() {
	s := p.s
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				p.fail(i, "invalid UTF-8 byte: 0x"+strconv.FormatUint(uint64(c), 16))
			}
			i += n
			continue
		}
		if c < ' ' && c != '\t' && c != '\n' && c != '\r' || c == 0x7f || c == '\r' && (i+1 == len(s) || s[i+1] != '\n') {
			p.fail(i, "TOML files cannot contain control characters: "+strconv.QuoteRune(rune(c)))
		}
		i++
	}
}

func (p *miniTOML) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

func (p *miniTOML) peekAt(n int) byte {
	if p.i+n < len(p.s) {
		return p.s[p.i+n]
	}
	return 0
}

// found names the byte at the read offset for an error message.
func (p *miniTOML) found() string {
	if p.i >= len(p.s) {
		return "end of file"
	}
	r, _ := utf8.DecodeRuneInString(p.s[p.i:])
	return strconv.QuoteRune(r)
}

func (p *miniTOML) skipSpace() {
	for c := p.peek(); c == ' ' || c == '\t'; c = p.peek() {
		p.i++
	}
}

// skipBlank skips spaces, newlines and comments.
func (p *miniTOML) skipBlank() {
	for {
		switch p.peek() {
		case ' ', '\t', '\n', '\r':
			p.i++
		case '#':
			p.skipComment()
		default:
			return
		}
	}
}

func (p *miniTOML) skipComment() {
	for p.i < len(p.s) && p.s[p.i] != '\n' && p.s[p.i] != '\r' {
		p.i++
	}
}

// topLevel reads one header or key/value line; false at the end.
func (p *miniTOML) topLevel() bool {
	p.skipBlank()
	if p.i >= len(p.s) {
		return false
	}
	if p.peek() == '[' {
		p.header()
	} else {
		outer := p.ctx
		key := p.key('=')
		p.keyValue(key, nil)
		p.ctx, p.cur = outer, ""
	}
	p.skipSpace()
	switch p.peek() {
	case '#':
		p.skipComment()
	case '\n', '\r', 0: // 0: the end (checkChars refused NUL bytes)
	default:
		p.fail(p.i, "expected a top-level item to end with a newline, comment, or EOF, but got "+p.found()+" instead")
	}
	return true
}

// header reads [a.b] or [[a.b]] and makes it the context.
func (p *miniTOML) header() {
	p.i++
	array := p.peek() == '['
	if array {
		p.i++
	}
	key := p.key(']')
	if array {
		if p.peek() != ']' {
			p.fail(p.i, "expected end of table array name delimiter ']', but got "+p.found()+" instead")
		}
		p.i++
	}
	p.addContext(key, array)
	p.setType("", false)
}

// key reads a dotted key up to and over end, '=' or ']'.
func (p *miniTOML) key(end byte) []string {
	var key []string
	for {
		p.skipSpace()
		if len(key) == 0 {
			p.at = p.i
		}
		start := p.i
		switch c := p.peek(); {
		case c == '"':
			key = append(key, p.basicString())
		case c == '\'':
			key = append(key, p.literalString())
		default:
			for p.i < len(p.s) && isBare(p.s[p.i]) {
				p.i++
			}
			if p.i == start {
				if end == ']' {
					p.fail(p.i, "unexpected "+p.found()+" in a table name (table names cannot be empty)")
				}
				p.fail(p.i, "unexpected "+p.found()+": expected a key name")
			}
			key = append(key, p.s[start:p.i])
		}
		p.skipSpace()
		switch p.peek() {
		case '.':
			p.i++
			continue
		case end:
			p.i++
			return key
		}
		if end == ']' {
			p.fail(p.i, "expected '.' or ']' to end table name, but got "+p.found()+" instead")
		}
		p.fail(p.i, "expected '.' or '=' after a key, but got "+p.found()+" instead")
	}
}

// keyValue reads the value of key (its '=' read) and sets it, in the
// library's order: the tables of a dotted key first, then the value.
// inline is the inline table being built, or p.top.
func (p *miniTOML) keyValue(key []string, inline map[string]any) {
	at := p.at
	parents := key[:len(key)-1]
	p.cur = key[len(key)-1]
	for _, k := range parents {
		p.addImplicit(p.ctx, k)
		p.addContext(append(p.ctx[:len(p.ctx):len(p.ctx)], k), false)
	}
	val := p.value()
	p.at = at
	p.setValue(p.cur, val)
	_, isArray := val.([]any)
	p.setType(p.cur, isArray)
	if inline == nil {
		return
	}
	h := inline
	for _, k := range parents {
		v, ok := h[k]
		if !ok {
			v = map[string]any{}
			h[k] = v
		}
		if h, ok = v.(map[string]any); !ok {
			p.fail(at, "key "+keyPath(parents).String()+" is not a table")
		}
	}
	h[p.cur] = val
}

// value reads a value after '='.
func (p *miniTOML) value() any {
	return p.valueIn(false)
}

func (p *miniTOML) valueIn(inArray bool) any {
	p.skipSpace()
	start := p.i
	c := p.peek()
	switch {
	case c >= '0' && c <= '9':
		return p.number(false)
	case c == '+' || c == '-':
		p.i++
		switch p.peek() {
		case 'i', 'n':
			p.infNaN(start)
		case '0':
			if n := p.peekAt(1); n == 'b' || n == 'o' || n == 'x' {
				p.fail(start, "cannot use sign with non-decimal numbers")
			}
		}
		if n := p.peek(); n < '0' || n > '9' {
			p.fail(p.i, "expected a digit but got "+p.found())
		}
		return p.number(true)
	case c == '"':
		if p.peekAt(1) == '"' && p.peekAt(2) == '"' {
			return p.multiLine(`"""`)
		}
		return p.basicString()
	case c == '\'':
		if p.peekAt(1) == '\'' && p.peekAt(2) == '\'' {
			return p.multiLine(`'''`)
		}
		return p.literalString()
	case c == '[':
		return p.arrayValue()
	case c == '{':
		return p.inlineTable(inArray)
	case c == 'i' || c == 'n':
		p.infNaN(start)
	case c == '.':
		p.fail(start, "floats must start with a digit, not '.'")
	}
	for p.i < len(p.s) && (p.s[p.i]|0x20 >= 'a' && p.s[p.i]|0x20 <= 'z') {
		p.i++
	}
	switch p.s[start:p.i] {
	case "true":
		return true
	case "false":
		return false
	}
	p.i = start
	p.fail(start, "expected value but found "+p.found()+" instead")
	return nil
}

// infNaN refuses inf and nan (no config key takes a float, and NaN would
// not compare equal in FuzzTOMLMini); anything else starting with i or n
// is no value at all.
func (p *miniTOML) infNaN(start int) {
	if w := p.s[p.i:min(p.i+3, len(p.s))]; w == "inf" || w == "nan" {
		p.unsupported(start, "inf or nan")
	}
	p.i = start
	p.fail(start, "expected value but found "+p.found()+" instead")
}

// number reads an integer or a float, split from what follows as the
// library's lexer does and checked as its parser does.
func (p *miniTOML) number(signed bool) any {
	start := p.i
	if signed {
		start--
	}
	s := p.s
	digits := func(ok func(byte) bool) {
		for p.i < len(s) && (ok(s[p.i]) || s[p.i] == '_') {
			p.i++
		}
	}
	if !signed {
		if s[p.i] == '0' {
			p.i++
			switch c := p.peek(); c {
			case 'b', 'o', 'x':
				p.i++
				ok := isHexDigit
				switch c {
				case 'b':
					ok = func(c byte) bool { return c == '0' || c == '1' }
				case 'o':
					ok = func(c byte) bool { return c >= '0' && c <= '7' }
				}
				if !ok(p.peek()) {
					p.fail(start, "not a number: "+strconv.Quote(s[start:min(p.i+1, len(s))]))
				}
				digits(ok)
				return p.integer(start)
			}
		}
		// Digits right after the first: a '-' or ':' makes it a date.
		if p.i == start || isDigit(p.peek()) {
			for p.i < len(s) && isDigit(s[p.i]) {
				p.i++
			}
			if c := p.peek(); c == '-' || c == ':' {
				return p.date(start)
			}
		}
	}
	digits(isDigit)
	float := false
	if c := p.peek(); c == '.' || c == 'e' || c == 'E' {
		float = true
		for p.i < len(s) && (isDigit(s[p.i]) || strings.IndexByte("_.-+eE", s[p.i]) >= 0) {
			p.i++
		}
	}
	if !float {
		return p.integer(start)
	}
	tok := s[start:p.i]
	parts := strings.FieldsFunc(tok, func(r rune) bool { return r == '.' || r == 'e' || r == 'E' })
	for _, part := range parts {
		if !underscoresOK(part) {
			p.fail(start, "invalid float "+strconv.Quote(tok)+": underscores must be surrounded by digits")
		}
	}
	if len(parts) > 0 && leadingZero(parts[0]) {
		p.fail(start, "invalid float "+strconv.Quote(tok)+": cannot have leading zeroes")
	}
	for i := 0; i < len(tok); i++ {
		if tok[i] == '.' && (i+1 == len(tok) || !isDigit(tok[i+1])) {
			p.fail(start, "invalid float "+strconv.Quote(tok)+": '.' must be followed by one or more digits")
		}
	}
	f, err := strconv.ParseFloat(strings.ReplaceAll(tok, "_", ""), 64)
	if err != nil {
		p.fail(start, "invalid float "+strconv.Quote(tok))
	}
	return f
}

func (p *miniTOML) integer(start int) any {
	tok := p.s[start:p.i]
	if !underscoresOK(tok) {
		p.fail(start, "invalid integer "+strconv.Quote(tok)+": underscores must be surrounded by digits")
	}
	if leadingZero(tok) {
		p.fail(start, "invalid integer "+strconv.Quote(tok)+": cannot have leading zeroes")
	}
	n, err := strconv.ParseInt(tok, 0, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			p.fail(start, tok+" is out of range for int64")
		}
		p.fail(start, "invalid integer "+strconv.Quote(tok))
	}
	return n
}

func isDigit(c byte) bool    { return c >= '0' && c <= '9' }
func isHexDigit(c byte) bool { return isDigit(c) || c|0x20 >= 'a' && c|0x20 <= 'f' }

// underscoresOK: every '_' follows a hex digit and the last byte is one
// (the library's numUnderscoresOK).
func underscoresOK(s string) bool {
	ok := false
	for i := 0; i < len(s); i++ {
		if s[i] == '_' && !ok {
			return false
		}
		ok = isHexDigit(s[i])
	}
	return ok
}

// leadingZero: the library's numHasLeadingZero.
func leadingZero(s string) bool {
	if len(s) > 1 && s[0] == '0' && s[1] != 'b' && s[1] != 'o' && s[1] != 'x' {
		return true
	}
	return len(s) > 2 && (s[0] == '-' || s[0] == '+') && s[1] == '0'
}

// basicString reads a "string" with its escapes.
func (p *miniTOML) basicString() string {
	p.i++
	start := p.i
	var b []byte // nil until an escape
	for {
		if p.i >= len(p.s) {
			p.fail(p.i, `unexpected EOF; expected '"'`)
		}
		switch c := p.s[p.i]; c {
		case '"':
			p.i++
			if b == nil {
				return p.s[start : p.i-1]
			}
			return string(b)
		case '\n', '\r':
			p.fail(p.i, "strings cannot contain newlines")
		case '\\':
			if b == nil {
				b = append([]byte{}, p.s[start:p.i]...)
			}
			b = p.escape(b)
		default:
			if b != nil {
				b = append(b, c)
			}
			p.i++
		}
	}
}

func (p *miniTOML) escape(b []byte) []byte {
	at := p.i
	p.i++
	c := p.peek()
	p.i++
	if i := strings.IndexByte(`btnfre"\`, c); i >= 0 && c != 0 {
		return append(b, "\b\t\n\f\r\x1b\"\\"[i])
	}
	n := 0
	switch c {
	case 'x':
		n = 2
	case 'u':
		n = 4
	case 'U':
		n = 8
	case 0:
		if p.i > len(p.s) {
			p.fail(at, `unexpected EOF; expected '"'`)
		}
		fallthrough
	default:
		r, _ := utf8.DecodeRuneInString(p.s[at+1:])
		p.fail(at, "invalid escape in string '\\"+string(r)+"'")
	}
	if p.i+n > len(p.s) {
		p.fail(at, "incomplete escape \\"+string(c))
	}
	h := p.s[p.i : p.i+n]
	for i := 0; i < n; i++ {
		if !isHexDigit(h[i]) {
			p.fail(at, "expected "+strconv.Itoa(n)+" hexadecimal digits after '\\"+string(c)+"'")
		}
	}
	v, _ := strconv.ParseUint(h, 16, 32)
	if !utf8.ValidRune(rune(v)) {
		p.fail(at, "escaped character '\\"+string(c)+h+"' is not valid UTF-8")
	}
	p.i += n
	return utf8.AppendRune(b, rune(v))
}

// literalString reads a 'string': no escapes.
func (p *miniTOML) literalString() string {
	p.i++
	start := p.i
	for {
		switch p.peek() {
		case '\'':
			p.i++
			return p.s[start : p.i-1]
		case '\n', '\r':
			p.fail(p.i, "strings cannot contain newlines")
		case 0:
			if p.i >= len(p.s) {
				p.fail(p.i, `unexpected EOF; expected "'"`)
			}
		}
		p.i++
	}
}

// arrayValue reads [v, ...], over lines, comments and a trailing comma
// allowed. It is a non-nil []any, empty or not, as the library's.
func (p *miniTOML) arrayValue() []any {
	p.i++
	p.setType(p.cur, true)
	a := []any{}
	for {
		p.skipBlank()
		switch p.peek() {
		case ']':
			p.i++
			return a
		case ',':
			p.fail(p.i, "unexpected comma")
		}
		a = append(a, p.valueIn(true))
		p.skipBlank()
		switch p.peek() {
		case ',':
			p.i++
		case ']':
			p.i++
			return a
		default:
			p.fail(p.i, "expected a comma (',') or array terminator (']'), but got "+p.found())
		}
	}
}

// inlineTable reads {k = v, ...} as the library's valueInlineTable does:
// its keys go both into the document, through the context (which finds
// the duplicates), and into the table returned.
func (p *miniTOML) inlineTable(inArray bool) map[string]any {
	p.i++
	t := map[string]any{}
	outer, outerKey := p.ctx, p.cur
	p.ctx = append(p.ctx[:len(p.ctx):len(p.ctx)], p.cur)
	inner := p.ctx
	p.cur = ""
	p.addImplicit(inner[:len(inner)-1], inner[len(inner)-1])
	p.addContext(inner, inArray)
	for {
		p.skipBlank()
		switch p.peek() {
		case '}':
			p.i++
			p.ctx, p.cur = outer, outerKey
			return t
		case ',':
			p.fail(p.i, "unexpected comma")
		}
		key := p.key('=')
		p.keyValue(key, t)
		p.ctx = inner
		p.skipBlank()
		switch p.peek() {
		case ',':
			p.i++
		case '}':
		default:
			p.fail(p.i, "expected a comma or an inline table terminator '}', but got "+p.found()+" instead")
		}
	}
}

// keyString renders a key path for the implicit and array sets: each
// element length-prefixed, so that distinct paths never meet.
func keyString(path []string, last string) string {
	var b strings.Builder
	for _, k := range path {
		b.WriteString(strconv.Itoa(len(k)) + ":" + k)
	}
	b.WriteString(strconv.Itoa(len(last)) + ":" + last)
	return b.String()
}

func (p *miniTOML) addImplicit(path []string, last string) {
	p.implicit[keyString(path, last)] = true
}

// setType records whether the value of key in the context is an array;
// key "" stands for the context itself, as in the library.
func (p *miniTOML) setType(key string, isArray bool) {
	path, last := p.ctx, key
	if key == "" && len(p.ctx) > 0 {
		path, last = p.ctx[:len(p.ctx)-1], p.ctx[len(p.ctx)-1]
	}
	k := keyString(path, last)
	if isArray {
		p.array[k] = true
	} else {
		delete(p.array, k)
	}
}

// addContext makes key the context: the tables on the way are created
// (implicitly) if missing, and the last one is created, or for [[x]] a
// new element appended.
func (p *miniTOML) addContext(key []string, array bool) {
	h := p.top
	path := make([]string, 0, len(key))
	for _, k := range key[:len(key)-1] {
		path = append(path, k)
		if _, ok := h[k]; !ok {
			p.addImplicit(path[:len(path)-1], k)
			h[k] = map[string]any{}
		}
		switch t := h[k].(type) {
		case []map[string]any:
			h = t[len(t)-1]
		case map[string]any:
			h = t
		default:
			p.fail(p.at, "key "+keyPath(path).String()+" was already created as a value, not a table")
		}
	}
	p.ctx = path
	last := key[len(key)-1]
	if array {
		if _, ok := h[last]; !ok {
			h[last] = []map[string]any{}
		}
		t, ok := h[last].([]map[string]any)
		if !ok {
			p.fail(p.at, "key "+keyPath(key).String()+" was already created and cannot be used as an array")
		}
		h[last] = append(t, map[string]any{})
	} else {
		p.setValue(last, map[string]any{})
	}
	p.ctx = append(path, last)
}

// setValue sets key in the context, refusing a key defined before unless
// it was an implicit table (then it stays as it is) or an array built
// from inline tables (then it is replaced), as the library does.
func (p *miniTOML) setValue(key string, v any) {
	h := p.top
	for i, k := range p.ctx {
		switch t := h[k].(type) {
		case []map[string]any:
			h = t[len(t)-1]
		case map[string]any:
			h = t
		default:
			p.fail(p.at, "key "+keyPath(p.ctx[:i+1]).String()+" has already been defined")
		}
	}
	if _, ok := h[key]; ok {
		k := keyString(p.ctx, key)
		switch {
		case p.array[k] && p.implicit[k]:
			delete(p.implicit, k)
			h[key] = v
			return
		case p.implicit[k] && !p.array[k]:
			delete(p.implicit, k)
			return
		}
		p.fail(p.at, "key "+keyPath(append(p.ctx[:len(p.ctx):len(p.ctx)], key)).String()+" has already been defined")
	}
	h[key] = v
}

// date reads what the library's lexer takes for a date or a time: a local
// date is read, the rest is not supported.
func (p *miniTOML) date(start int) any {
	for p.i < len(p.s) && strings.IndexByte("0123456789-:Tt .Zz+", p.s[p.i]) >= 0 {
		p.i++
	}
	tok := strings.TrimRight(p.s[start:p.i], " ")
	if len(tok) != 10 || tok[4] != '-' || tok[7] != '-' {
		p.unsupported(start, "a time, or a date with a time,")
	}
	var n [3]int
	for i, f := range [3]string{tok[:4], tok[5:7], tok[8:]} {
		for j := 0; j < len(f); j++ {
			if !isDigit(f[j]) {
				p.fail(start, "invalid datetime: "+strconv.Quote(tok))
			}
			n[i] = n[i]*10 + int(f[j]-'0')
		}
	}
	y, m, d := n[0], n[1], n[2]
	days := 31
	switch {
	case m == 2 && y%4 == 0 && (y%100 != 0 || y%400 == 0):
		days = 29
	case m == 2:
		days = 28
	case m == 4 || m == 6 || m == 9 || m == 11:
		days = 30
	}
	if m < 1 || m > 12 || d < 1 || d > days {
		p.fail(start, "invalid datetime: "+strconv.Quote(tok))
	}
	// The library's zone for local dates: named so, at the local offset.
	_, off := time.Now().Zone()
	return time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.FixedZone("date-local", off))
}

// multiLine reads a multi-line string, basic or literal, as the library's
// lexer and parser do: up to two more quotes before the closing ones are
// the string's, a newline right after the opening quotes is not, and in
// a basic string a backslash at a line end removes the line break and the
// white space after it.
func (p *miniTOML) multiLine(quote string) string {
	p.i += 3
	start := p.i
	q := quote[0]
	for {
		switch c := p.peek(); {
		case p.i >= len(p.s):
			p.fail(p.i, "unexpected EOF; expected "+quote)
		case c == '\\' && q == '"':
			if n := p.peekAt(1); n == '\n' || n == '\r' {
				p.i += 2
			} else {
				p.lexEscape()
			}
		case c == q && strings.HasPrefix(p.s[p.i:], quote):
			if p.peekAt(3) != q {
				raw := p.s[start:p.i]
				p.i += 3
				if strings.HasPrefix(raw, "\n") {
					raw = raw[1:]
				} else if strings.HasPrefix(raw, "\r\n") {
					raw = raw[2:]
				}
				if q == '\'' {
					return raw
				}
				return p.unescape(start, stripEscapedNewlines(raw))
			}
			if cur := p.s[start : p.i+3]; strings.HasSuffix(cur, quote+quote[:2]) && (q == '\'' || !strings.HasSuffix(cur, `\`+quote+quote[:2])) {
				p.fail(p.i, "unexpected "+quote+quote)
			}
			p.i++
		default:
			p.i++
		}
	}
}

// lexEscape checks the escape at p.i as the library's lexer does.
func (p *miniTOML) lexEscape() {
	at := p.i
	c := p.peekAt(1)
	p.i += 2
	n := 0
	switch c {
	case 'x':
		n = 2
	case 'u':
		n = 4
	case 'U':
		n = 8
	default:
		if c == 0 || strings.IndexByte("ebtnfr\" \t\\", c) < 0 {
			p.i = at
			p.escape(nil)
		}
	}
	for ; n > 0; n-- {
		if !isHexDigit(p.peek()) {
			p.fail(at, "expected hexadecimal digits after '"+p.s[at:at+2]+"'")
		}
		p.i++
	}
}

// unescape decodes the escapes of s, which started at offset start.
func (p *miniTOML) unescape(start int, s string) string {
	if strings.IndexByte(s, '\\') < 0 {
		return s
	}
	q := &miniTOML{s: p.s[:start] + s, i: start}
	var b []byte
	for q.i < len(q.s) {
		if q.s[q.i] == '\\' {
			b = q.escape(b)
		} else {
			b = append(b, q.s[q.i])
			q.i++
		}
	}
	return string(b)
}

// stripEscapedNewlines: the library's, which removes each backslash that
// ends a line together with the white space after it.
func stripEscapedNewlines(s string) string {
	var b strings.Builder
	i := 0
	for {
		ix := strings.IndexByte(s[i:], '\\')
		if ix < 0 {
			b.WriteString(s)
			return b.String()
		}
		i += ix
		if len(s) > i+1 && s[i+1] == '\\' {
			i += 2
			continue
		}
		j := i + 1
		for j < len(s) && strings.IndexByte(" \t\r\n", s[j]) >= 0 {
			j++
		}
		if j == i+1 || !strings.Contains(s[i:j], "\n") {
			i++
			continue
		}
		b.WriteString(s[:i])
		s = s[j:]
		i = 0
	}
}
