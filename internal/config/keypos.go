package config

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// The toml library keeps key positions to itself (MetaData has no accessor)
// and, for arrays of tables, keeps only the last element's. So errors are
// placed with this small scanner, which walks a document the library has
// already accepted and records where every key, table header and array
// element starts. It only has to be right on valid TOML, but it must never
// panic or loop on anything: it sees whatever the fuzzer feeds Parse.

// pos is a 1-based line and byte column, as toml.ParseError counts them.
type pos struct{ line, col int }

// keyPath is a dotted key split into elements: key names, rendered by
// keyName, and array indices "[i]". Its String is the Error.Key form.
type keyPath []string

func (p keyPath) String() string {
	var b strings.Builder
	for i, e := range p {
		if i > 0 && !strings.HasPrefix(e, "[") {
			b.WriteByte('.')
		}
		b.WriteString(e)
	}
	return b.String()
}

// key and index return extended copies, never sharing p's backing array.
func (p keyPath) key(name string) keyPath { return append(p[:len(p):len(p)], keyName(name)) }
func (p keyPath) index(i int) keyPath {
	return append(p[:len(p):len(p)], "["+strconv.Itoa(i)+"]")
}

// keyName renders a key name as TOML would need it written: bare when it
// can be, quoted otherwise, so that odd unknown keys stay readable.
func keyName(name string) string {
	if name == "" {
		return `""`
	}
	for i := 0; i < len(name); i++ {
		if !isBare(name[i]) {
			return strconv.Quote(name)
		}
	}
	return name
}

func isBare(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
}

// stripBOM drops a byte-order mark the way the toml library does, so that
// offsets in its errors and in keyPositions refer to the same text.
func stripBOM(s string) string {
	switch {
	case strings.HasPrefix(s, "\xef\xbb\xbf"):
		return s[3:]
	case strings.HasPrefix(s, "\xff\xfe"), strings.HasPrefix(s, "\xfe\xff"):
		return s[2:]
	}
	return s
}

// offsetPos converts a byte offset of text into a position.
func offsetPos(text string, off int) pos {
	off = max(0, min(off, len(text)))
	start := strings.LastIndexByte(text[:off], '\n') + 1
	return pos{line: strings.Count(text[:off], "\n") + 1, col: off - start + 1}
}

type keyScanner struct {
	src       string
	i         int
	line      int
	lineStart int
	at        map[string]pos // first position of each key path
	tables    map[string]int // number of [[x]] headers seen, by path of x
}

// keyPositions maps the String of every key path of text (BOM already
// stripped) to where its name starts; array elements map to where the
// element starts, [[x]] elements to their header's name.
func keyPositions(text string) map[string]pos {
	s := &keyScanner{src: text, line: 1, at: map[string]pos{}, tables: map[string]int{}}
	var table keyPath
	for !s.eof() {
		start := s.i
		s.skipBlank()
		if s.eof() {
			break
		}
		if s.peek() == '[' {
			table = s.header()
		} else {
			s.keyval(table)
		}
		if s.i == start {
			s.advance() // never loop on input the grammar above does not expect
		}
	}
	return s.at
}

func (s *keyScanner) eof() bool { return s.i >= len(s.src) }

func (s *keyScanner) peek() byte {
	if s.eof() {
		return 0
	}
	return s.src[s.i]
}

func (s *keyScanner) advance() {
	if s.eof() {
		return
	}
	if s.src[s.i] == '\n' {
		s.line++
		s.lineStart = s.i + 1
	}
	s.i++
}

func (s *keyScanner) skip(n int) {
	for range n {
		s.advance()
	}
}

func (s *keyScanner) here() pos { return pos{s.line, s.i - s.lineStart + 1} }

func (s *keyScanner) record(p keyPath, at pos) {
	k := p.String()
	if _, ok := s.at[k]; !ok {
		s.at[k] = at
	}
}

// skipSpace skips blanks inside a line.
func (s *keyScanner) skipSpace() {
	for c := s.peek(); c == ' ' || c == '\t' || c == '\r'; c = s.peek() {
		s.advance()
	}
}

// skipBlank skips blanks, newlines and comments.
func (s *keyScanner) skipBlank() {
	for !s.eof() {
		switch s.peek() {
		case ' ', '\t', '\r', '\n':
			s.advance()
		case '#':
			for !s.eof() && s.peek() != '\n' {
				s.advance()
			}
		default:
			return
		}
	}
}

// header reads "[a.b]" or "[[a.b]]" and returns the table path it opens,
// with the index of every array of tables it passes through.
func (s *keyScanner) header() keyPath {
	s.advance()
	array := s.peek() == '['
	if array {
		s.advance()
	}
	segs := s.segments()
	var p keyPath
	for j, seg := range segs {
		p = p.key(seg.name)
		s.record(p, seg.at)
		n, seen := s.tables[p.String()]
		switch {
		case array && j == len(segs)-1:
			s.tables[p.String()] = n + 1
			p = p.index(n)
		case seen && n > 0:
			p = p.index(n - 1) // [a.b] after [[a]] is inside a's last element
		default:
			continue
		}
		s.record(p, seg.at)
	}
	for c := s.peek(); c == ']' || c == ' ' || c == '\t'; c = s.peek() {
		s.advance()
	}
	return p
}

// keyval reads "a.b = value" inside table.
func (s *keyScanner) keyval(table keyPath) {
	p := table
	for _, seg := range s.segments() {
		p = p.key(seg.name)
		s.record(p, seg.at)
	}
	s.skipSpace()
	if s.peek() != '=' {
		return
	}
	s.advance()
	s.skipSpace()
	s.value(p)
}

type segment struct {
	name string
	at   pos
}

// segments reads a dotted key: bare, "basic" or 'literal' names.
func (s *keyScanner) segments() []segment {
	var segs []segment
	for {
		s.skipSpace()
		at := s.here()
		name, ok := s.name()
		if !ok {
			return segs
		}
		segs = append(segs, segment{name, at})
		s.skipSpace()
		if s.peek() != '.' {
			return segs
		}
		s.advance()
	}
}

func (s *keyScanner) name() (string, bool) {
	switch c := s.peek(); {
	case c == '"':
		start := s.i
		s.basicString()
		return unescapeKey(s.src[start:s.i]), true
	case c == '\'':
		start := s.i
		s.literalString()
		raw := s.src[start:s.i]
		return strings.TrimSuffix(raw[1:], "'"), true
	case isBare(c):
		start := s.i
		for isBare(s.peek()) {
			s.advance()
		}
		return s.src[start:s.i], true
	}
	return "", false
}

// value skips one value, recording the elements of arrays and the keys of
// inline tables under p.
func (s *keyScanner) value(p keyPath) {
	switch {
	case strings.HasPrefix(s.src[s.i:], `"""`):
		s.multiline(`"""`, true)
	case strings.HasPrefix(s.src[s.i:], `'''`):
		s.multiline(`'''`, false)
	case s.peek() == '"':
		s.basicString()
	case s.peek() == '\'':
		s.literalString()
	case s.peek() == '[':
		s.advance()
		for n := 0; ; {
			s.skipBlank()
			switch s.peek() {
			case 0:
				return
			case ']':
				s.advance()
				return
			case ',':
				s.advance()
				continue
			}
			start := s.i
			elem := p.index(n)
			s.record(elem, s.here())
			s.value(elem)
			n++
			if s.i == start {
				s.advance()
			}
		}
	case s.peek() == '{':
		s.advance()
		for {
			s.skipBlank() // TOML 1.1 lets inline tables span lines
			switch s.peek() {
			case 0:
				return
			case '}':
				s.advance()
				return
			case ',':
				s.advance()
				continue
			}
			start := s.i
			s.keyval(p)
			if s.i == start {
				s.advance()
			}
		}
	default: // numbers, booleans, dates (which may contain a space)
		for c := s.peek(); c != 0 && !strings.ContainsRune(",]}#\n", rune(c)); c = s.peek() {
			s.advance()
		}
	}
}

func (s *keyScanner) basicString() {
	s.advance()
	for !s.eof() {
		switch s.peek() {
		case '\\':
			s.skip(2)
		case '"':
			s.advance()
			return
		case '\n':
			return
		default:
			s.advance()
		}
	}
}

func (s *keyScanner) literalString() {
	s.advance()
	for !s.eof() {
		switch s.peek() {
		case '\'':
			s.advance()
			return
		case '\n':
			return
		default:
			s.advance()
		}
	}
}

// multiline skips a multi-line string opened by delim (three quotes); up to
// two extra quotes before the closing delimiter belong to the content.
func (s *keyScanner) multiline(delim string, escapes bool) {
	s.skip(3)
	for !s.eof() {
		if escapes && s.peek() == '\\' {
			s.skip(2)
			continue
		}
		if strings.HasPrefix(s.src[s.i:], delim) {
			s.skip(3)
			for extra := 0; extra < 2 && s.peek() == delim[0]; extra++ {
				s.advance()
			}
			return
		}
		s.advance()
	}
}

// unescapeKey decodes a "quoted" key with TOML's escapes; when it cannot,
// the raw text is close enough (it only costs a position).
func unescapeKey(quoted string) string {
	if len(quoted) < 2 || quoted[len(quoted)-1] != '"' {
		return quoted
	}
	in := quoted[1 : len(quoted)-1]
	if !strings.ContainsRune(in, '\\') {
		return in
	}
	var b strings.Builder
	for i := 0; i < len(in); i++ {
		if in[i] != '\\' || i+1 >= len(in) {
			b.WriteByte(in[i])
			continue
		}
		i++
		switch in[i] {
		case 'b':
			b.WriteByte('\b')
		case 't':
			b.WriteByte('\t')
		case 'n':
			b.WriteByte('\n')
		case 'f':
			b.WriteByte('\f')
		case 'r':
			b.WriteByte('\r')
		case 'e':
			b.WriteByte('\x1b')
		case '"', '\\':
			b.WriteByte(in[i])
		case 'x', 'u', 'U':
			n := 2 // \xHH (TOML 1.1)
			switch in[i] {
			case 'u':
				n = 4
			case 'U':
				n = 8
			}
			if i+1+n > len(in) {
				return in
			}
			v, err := strconv.ParseUint(in[i+1:i+1+n], 16, 32)
			if err != nil || !utf8.ValidRune(rune(v)) {
				return in
			}
			b.WriteRune(rune(v))
			i += n
		default:
			return in
		}
	}
	return b.String()
}
