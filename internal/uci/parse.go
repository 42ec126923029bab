package uci

// Parse reads a UCI file. name only labels errors. The first problem stops
// it: the error is an *Error with the position of the offending word.
//
// Where libuci is lenient in a way that hides mistakes, Parse reports
// it: a ';' outside quotes (libuci silently drops what follows it).
// Everything libuci accepts otherwise, Parse accepts with the same meaning.
func Parse(name string, data []byte) (*File, error) {
	p := &parser{f: &File{Name: name}, data: data, line: 1}
	for p.i < len(p.data) && p.err == nil {
		p.command()
	}
	if p.err != nil {
		return nil, p.err
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
	err       *Error
}

func (p *parser) pos() Pos { return Pos{p.line, p.i - p.lineStart + 1} }

// fail records the first error; the parser then stops.
func (p *parser) fail(at Pos, msg string) {
	if p.err == nil {
		p.err = &Error{File: p.f.Name, Pos: at, Msg: msg}
	}
}

// isBlank is C's isspace without the newline, which ends a command.
func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f' }

// next consumes one byte, counting lines.
func (p *parser) next() {
	if p.data[p.i] == '\n' {
		p.line++
		p.lineStart = p.i + 1
	}
	p.i++
}

// command reads one line: a command and the lines its values continue on.
func (p *parser) command() {
	p.eol = false
	w := p.word()
	if p.eol && w.Text == "" || p.err != nil {
		return
	}
	switch w.Text {
	case "package", "p":
		v := p.need("package name")
		if !validName(v.Text, true) || p.f.Package != "" && p.f.Package != v.Text {
			p.fail(v.Pos, "invalid or second package name '"+v.Text+"'")
		}
		p.f.Package = v.Text
	case "config", "c":
		p.config(w.Pos)
	case "option", "o", "list", "l":
		p.option(w.Pos, w.Text[0] == 'l')
	default:
		p.fail(w.Pos, "invalid command '"+w.Text+"' (want config, option, list or package)")
	}
	if v := p.word(); v.Text != "" {
		p.fail(v.Pos, "too many arguments (quote a value that holds spaces)")
	}
	for !p.eol && p.err == nil {
		p.word()
	}
}

// word reads the next word of the command. At the end of the line it sets
// p.eol; an empty word (” or "") there is the same as none, as in libuci.
func (p *parser) word() (v Value) {
	for p.i < len(p.data) && isBlank(p.data[p.i]) {
		p.i++
	}
	v.Pos = p.pos()
	if p.eol || p.err != nil {
		return v
	}
	var b []byte
	for p.i < len(p.data) {
		c := p.data[p.i]
		switch {
		case c == '\'' || c == '"':
			q := p.pos()
			p.i++
			for {
				if p.i >= len(p.data) {
					p.fail(q, "unterminated "+string(c)+" (the file ends inside the quotes)")
					return v
				}
				d := p.data[p.i]
				if d == c {
					p.i++
					break
				}
				if d == '\\' && c == '"' {
					b = p.backslash(b)
					continue
				}
				b = append(b, d)
				p.next()
			}
		case c == '\\':
			b = p.backslash(b)
		case c == ';':
			p.fail(p.pos(), "';' outside quotes: put the value in quotes, one command per line")
			return v
		case c == '#' || c == '\n':
			// Outside quotes a '#' ends the line, even inside a word.
			for p.i < len(p.data) && p.data[p.i] != '\n' {
				p.i++
			}
			if p.i < len(p.data) {
				p.next()
			}
			p.eol = true
			v.Text = string(b)
			return v
		case isBlank(c):
			v.Text = string(b)
			return v
		default:
			b = append(b, c)
			p.i++
		}
	}
	p.eol = true
	v.Text = string(b)
	return v
}

// backslash handles the '\' at p.i: before a line end (or the end of the
// file) it joins the next line; otherwise it keeps the next byte as is.
func (p *parser) backslash(b []byte) []byte {
	p.i++
	switch {
	case p.i >= len(p.data):
	case p.data[p.i] == '\r' && p.i+1 < len(p.data) && p.data[p.i+1] == '\n':
		p.i++
		p.next()
	case p.data[p.i] == '\n':
		p.next()
	default:
		b = append(b, p.data[p.i])
		p.i++
	}
	return b
}

func (p *parser) need(what string) Value {
	v := p.word()
	if v.Text == "" {
		p.fail(v.Pos, what+" missing")
	}
	return v
}

// validName is libuci's rule for section and option names (and, with
// dash, for package names).
func validName(s string, dash bool) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || dash && c == '-') {
			return false
		}
	}
	return s != ""
}

func (p *parser) config(at Pos) {
	typ := p.need("section type")
	for i := 0; i < len(typ.Text); i++ {
		// libuci: any printable ASCII but space.
		if typ.Text[i] < 33 || typ.Text[i] > 126 {
			p.fail(typ.Pos, "invalid section type '"+typ.Text+"'")
		}
	}
	name := p.word()
	s := &Section{Type: typ.Text, Name: name.Text, Pos: at, anonymous: name.Text == ""}
	for _, o := range p.f.Sections {
		if o.Type == s.Type {
			s.Index++
		}
		if !s.anonymous && o.Name == s.Name {
			if o.Type != s.Type {
				p.fail(name.Pos, "section '"+s.Name+"' was declared before with type '"+o.Type+"'")
			}
			p.cur = o // libuci merges a named section written twice
			return
		}
	}
	if !s.anonymous && !validName(s.Name, false) {
		p.fail(name.Pos, "invalid section name '"+s.Name+"' (letters, digits and '_')")
	}
	p.f.Sections = append(p.f.Sections, s)
	p.cur = s
}

func (p *parser) option(at Pos, list bool) {
	if p.cur == nil {
		p.fail(at, "option or list before the first 'config' line")
	}
	name := p.need("option name")
	if p.err == nil && !validName(name.Text, false) {
		p.fail(name.Pos, "invalid option name '"+name.Text+"' (letters, digits and '_')")
	}
	val := p.word()
	if p.err != nil {
		return
	}
	opts := p.cur.Options
	for i, o := range opts {
		if o.Name != name.Text {
			continue
		}
		switch {
		case list:
			o.List = true // a former option becomes the list's first value
			o.Values = append(o.Values, val)
		case val.Text == "":
			// libuci: setting an option to nothing deletes it.
			p.cur.Options = append(opts[:i:i], opts[i+1:]...)
		default:
			o.List, o.Values, o.Pos = false, []Value{val}, name.Pos
		}
		return
	}
	if list || val.Text != "" {
		p.cur.Options = append(opts, &Option{Name: name.Text, List: list, Values: []Value{val}, Pos: name.Pos})
	}
}
