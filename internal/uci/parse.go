package uci

// Parse reads a UCI file. name only labels errors. The first problem stops
// it: the error is an *Error with the position of the offending word.
//
// Where libuci is lenient in a way that hides mistakes, Parse reports
// it: a ';' outside quotes (libuci silently drops what follows it).
// Everything libuci accepts otherwise, Parse accepts with the same meaning.
//
// (One long function and few helpers: ntkd's router binary has a size
// budget, and every function costs its name and tables.)
func Parse(name string, data []byte) (*File, error) {
	p := &parser{f: &File{Name: name}, data: data, line: 1}
	var cur *Section
	for p.i < len(p.data) && p.err == nil {
		p.eol = false
		w := p.word()
		if p.eol && w.Text == "" {
			continue // blank or comment line
		}
		arg := p.word()
		missing := arg.Text == ""
		switch w.Text {
		case "package", "p":
			if missing || !validName(arg.Text, true) || p.f.Package != "" && p.f.Package != arg.Text {
				p.fail(arg.Pos, "missing, invalid or second package name '"+arg.Text+"'")
			}
			p.f.Package = arg.Text
		case "config", "c":
			name := p.word()
			s := &Section{Type: arg.Text, Name: name.Text, Pos: w.Pos, anonymous: name.Text == ""}
			for i := 0; i < len(arg.Text); i++ {
				// libuci: any printable ASCII but space.
				if arg.Text[i] < 33 || arg.Text[i] > 126 {
					missing = true
				}
			}
			if missing {
				p.fail(arg.Pos, "missing or invalid section type '"+arg.Text+"'")
			}
			if !s.anonymous && !validName(s.Name, false) {
				p.fail(name.Pos, "invalid section name '"+s.Name+"' (letters, digits and '_')")
			}
			for _, o := range p.f.Sections {
				if o.Type == s.Type {
					s.Index++
				}
				if !s.anonymous && o.Name == s.Name {
					if o.Type != s.Type {
						p.fail(name.Pos, "section '"+s.Name+"' was declared before with type '"+o.Type+"'")
					}
					s = o // libuci merges a named section written twice
					break
				}
			}
			if s.Pos == w.Pos { // not merged
				p.f.Sections = append(p.f.Sections, s)
			}
			cur = s
		case "option", "o", "list", "l":
			list := w.Text[0] == 'l'
			if cur == nil {
				p.fail(w.Pos, "option or list before the first 'config' line")
			} else if !validName(arg.Text, false) {
				p.fail(arg.Pos, "missing or invalid option name '"+arg.Text+"' (letters, digits and '_')")
			}
			val := p.word()
			if p.err != nil {
				break
			}
			var o *Option
			for i, x := range cur.Options {
				if x.Name == arg.Text {
					o = x
					if !list && val.Text == "" {
						// libuci: setting an option to nothing deletes it.
						cur.Options = append(cur.Options[:i:i], cur.Options[i+1:]...)
					}
				}
			}
			switch {
			case o == nil && (list || val.Text != ""):
				cur.Options = append(cur.Options, &Option{Name: arg.Text, List: list, Values: []Value{val}, Pos: arg.Pos})
			case list && o != nil:
				o.List = true // a former option becomes the list's first value
				o.Values = append(o.Values, val)
			case o != nil:
				o.List, o.Values, o.Pos = false, []Value{val}, arg.Pos
			}
		default:
			p.fail(w.Pos, "invalid command '"+w.Text+"' (want config, option, list or package)")
		}
		if v := p.word(); v.Text != "" {
			p.fail(v.Pos, "too many arguments (quote values with spaces)")
		}
		for !p.eol && p.err == nil {
			p.word()
		}
	}
	if p.err != nil {
		return nil, p.err
	}
	return p.f, nil
}

type parser struct {
	f         *File
	data      []byte
	i         int  // next byte
	line      int  // line of data[i]
	lineStart int  // offset of the first byte of that line
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

// next consumes one byte, counting lines.
func (p *parser) next() {
	if p.data[p.i] == '\n' {
		p.line++
		p.lineStart = p.i + 1
	}
	p.i++
}

// word reads the next word of the command. At the end of the line it sets
// p.eol; an empty word (” or "") there is the same as none, as in libuci.
// Blanks are C's isspace but the newline, which ends a command.
func (p *parser) word() (v Value) {
	for p.i < len(p.data) && (p.data[p.i] == ' ' || p.data[p.i] >= '\t' && p.data[p.i] <= '\r' && p.data[p.i] != '\n') {
		p.i++
	}
	v.Pos = p.pos()
	if p.eol || p.err != nil {
		return v
	}
	var b []byte
	for p.i < len(p.data) {
		c := p.data[p.i]
		switch c {
		case '\'', '"':
			q := p.pos()
			p.i++
			for {
				if p.i >= len(p.data) {
					p.fail(q, "unterminated "+string(c))
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
		case '\\':
			b = p.backslash(b)
		case ';':
			p.fail(p.pos(), "';' outside quotes")
			return v
		case '#', '\n':
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
		case ' ', '\t', '\r', '\v', '\f':
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
