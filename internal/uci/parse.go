package uci

// Parse reads a UCI file. name only labels errors. The first problem stops
// it: the error is an *Error with the position of the offending word.
//
// Where libuci is lenient in ways that hide mistakes, Parse reports them:
// a ';' outside quotes (libuci silently drops what follows it) and an
// extra empty word after a command (an empty quoted word is ignored by
// libuci). Everything
// libuci accepts otherwise, Parse accepts with the same meaning.
func Parse(name string, data []byte) (*File, error) {
	p := &parser{f: &File{Name: name}, data: data, line: 1}
	for p.i < len(p.data) {
		if err := p.parseLine(); err != nil {
			return nil, err
		}
	}
	return p.f, nil
}

type parser struct {
	f         *File
	data      []byte
	i         int // next byte
	line      int // line of data[i]
	lineStart int // offset of the first byte of that line
	cur       *Section
	eol       bool // the current line has ended (newline, comment or EOF)
}

func (p *parser) pos() Pos { return Pos{p.line, p.i - p.lineStart + 1} }

func (p *parser) errAt(pos Pos, msg string) error {
	return &Error{File: p.f.Name, Pos: pos, Msg: msg}
}

// isBlank is C's isspace without the newline, which ends a command.
func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f' }

func (p *parser) skipBlank() {
	for p.i < len(p.data) && isBlank(p.data[p.i]) {
		p.i++
	}
}

// newline consumes the '\n' at p.i.
func (p *parser) newline() {
	p.i++
	p.line++
	p.lineStart = p.i
}

// endLine skips the rest of the line (a comment) and its newline.
func (p *parser) endLine() {
	for p.i < len(p.data) && p.data[p.i] != '\n' {
		p.i++
	}
	if p.i < len(p.data) {
		p.newline()
	}
	p.eol = true
}

// parseLine reads one command (and the lines a value continues on).
func (p *parser) parseLine() error {
	p.eol = false
	p.skipBlank()
	if p.i >= len(p.data) || p.data[p.i] == '\n' || p.data[p.i] == '#' {
		p.endLine()
		return nil
	}
	at := p.pos()
	start := p.i
	for p.i < len(p.data) && !isBlank(p.data[p.i]) && p.data[p.i] != '\n' {
		p.i++
	}
	var err error
	switch string(p.data[start:p.i]) {
	case "package", "p":
		err = p.parsePackage(at)
	case "config", "c":
		err = p.parseConfig(at)
	case "option", "o":
		err = p.parseOption(at, false)
	case "list", "l":
		err = p.parseOption(at, true)
	default:
		return p.errAt(at, "invalid command '"+string(p.data[start:p.i])+"' (want config, option, list or package)")
	}
	if err != nil {
		return err
	}
	return p.endCommand()
}

// word reads the next word of the command; ok is false when the line has
// ended. A word may be empty (an empty pair of quotes).
func (p *parser) word() (v Value, ok bool, err error) {
	if p.eol {
		return Value{}, false, nil
	}
	p.skipBlank()
	if p.i >= len(p.data) || p.data[p.i] == '\n' || p.data[p.i] == '#' {
		p.endLine()
		return Value{}, false, nil
	}
	v.Pos = p.pos()
	var b []byte
	for p.i < len(p.data) {
		c := p.data[p.i]
		switch {
		case c == '\'':
			q := p.pos()
			p.i++
			for {
				if p.i >= len(p.data) {
					return v, false, p.errAt(q, "unterminated ' (the file ends inside the quotes)")
				}
				c := p.data[p.i]
				if c == '\'' {
					p.i++
					break
				}
				b = append(b, c)
				if c == '\n' {
					p.newline()
				} else {
					p.i++
				}
			}
		case c == '"':
			q := p.pos()
			p.i++
			for {
				if p.i >= len(p.data) {
					return v, false, p.errAt(q, "unterminated \" (the file ends inside the quotes)")
				}
				c := p.data[p.i]
				if c == '"' {
					p.i++
					break
				}
				if c == '\\' {
					b = p.backslash(b)
					continue
				}
				b = append(b, c)
				if c == '\n' {
					p.newline()
				} else {
					p.i++
				}
			}
		case c == '\\':
			b = p.backslash(b)
		case c == '#':
			// Outside quotes a '#' ends the line, even inside a word.
			v.Text = string(b)
			p.endLine()
			return v, true, nil
		case c == ';':
			return v, false, p.errAt(p.pos(), "';' outside quotes: put the value in quotes, one command per line")
		case isBlank(c) || c == '\n':
			v.Text = string(b)
			return v, true, nil
		default:
			b = append(b, c)
			p.i++
		}
	}
	v.Text = string(b)
	return v, true, nil
}

// backslash handles the '\' at p.i: before a line end (or the end of the
// file) it joins the next line; otherwise it keeps the next byte as is.
func (p *parser) backslash(b []byte) []byte {
	p.i++
	rest := p.data[p.i:]
	switch {
	case len(rest) == 0:
	case rest[0] == '\n':
		p.newline()
	case len(rest) >= 2 && rest[0] == '\r' && rest[1] == '\n':
		p.i++
		p.newline()
	default:
		b = append(b, rest[0])
		p.i++
	}
	return b
}

// endCommand checks that nothing follows the command on its line.
func (p *parser) endCommand() error {
	v, ok, err := p.word()
	if err != nil {
		return err
	}
	if ok {
		return p.errAt(v.Pos, "too many arguments (quote a value that holds spaces)")
	}
	return nil
}

func (p *parser) need(at Pos, what string) (Value, error) {
	v, ok, err := p.word()
	if err != nil {
		return v, err
	}
	if !ok || v.Text == "" {
		if ok {
			at = v.Pos
		}
		return v, p.errAt(at, what+" missing")
	}
	return v, nil
}

// validName is libuci's rule for section and option names (and, with
// dash, for package names).
func validName(s string, dash bool) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || dash && c == '-') {
			return false
		}
	}
	return true
}

// validType: any printable ASCII but space, as libuci allows in types.
func validType(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 33 || s[i] > 126 {
			return false
		}
	}
	return s != ""
}

func (p *parser) parsePackage(at Pos) error {
	v, err := p.need(at, "package name")
	if err != nil {
		return err
	}
	if !validName(v.Text, true) {
		return p.errAt(v.Pos, "invalid package name '"+v.Text+"' (letters, digits, '_' and '-')")
	}
	if p.f.Package != "" && p.f.Package != v.Text {
		return p.errAt(v.Pos, "a second package in one file")
	}
	p.f.Package = v.Text
	return nil
}

func (p *parser) parseConfig(at Pos) error {
	typ, err := p.need(at, "section type")
	if err != nil {
		return err
	}
	if !validType(typ.Text) {
		return p.errAt(typ.Pos, "invalid section type '"+typ.Text+"'")
	}
	name, _, err := p.word()
	if err != nil {
		return err
	}
	if name.Text != "" {
		if !validName(name.Text, false) {
			return p.errAt(name.Pos, "invalid section name '"+name.Text+"' (letters, digits and '_')")
		}
		if s := p.f.Section(name.Text); s != nil {
			if s.Type != typ.Text {
				return p.errAt(name.Pos, "section '"+name.Text+"' was declared before with type '"+s.Type+"'")
			}
			p.cur = s // libuci merges a named section written twice
			return nil
		}
	}
	s := &Section{Type: typ.Text, Name: name.Text, Pos: at, anonymous: name.Text == ""}
	for _, o := range p.f.Sections {
		if o.Type == s.Type {
			s.Index++
		}
	}
	p.f.Sections = append(p.f.Sections, s)
	p.cur = s
	return nil
}

func (p *parser) parseOption(at Pos, list bool) error {
	if p.cur == nil {
		return p.errAt(at, "option or list before the first 'config' line")
	}
	name, err := p.need(at, "option name")
	if err != nil {
		return err
	}
	if !validName(name.Text, false) {
		return p.errAt(name.Pos, "invalid option name '"+name.Text+"' (letters, digits and '_')")
	}
	val, ok, err := p.word()
	if err != nil {
		return err
	}
	if !ok {
		val.Pos = p.pos()
	}
	o := p.cur.Option(name.Text)
	switch {
	case list && o != nil:
		o.List = true // a former option becomes the list's first value
		o.Values = append(o.Values, val)
	case list:
		p.cur.Options = append(p.cur.Options, &Option{Name: name.Text, List: true, Values: []Value{val}, Pos: name.Pos})
	case val.Text == "":
		// libuci: setting an option to nothing deletes it.
		if o != nil {
			p.cur.Options = remove(p.cur.Options, o)
		}
		return nil
	case o != nil:
		o.List, o.Values = false, []Value{val}
	default:
		p.cur.Options = append(p.cur.Options, &Option{Name: name.Text, Values: []Value{val}, Pos: name.Pos})
	}
	if o != nil && !list {
		o.Pos = name.Pos
	}
	return nil
}

func remove(opts []*Option, o *Option) []*Option {
	out := opts[:0]
	for _, x := range opts {
		if x != o {
			out = append(out, x)
		}
	}
	return out
}
