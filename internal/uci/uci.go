// Package uci reads OpenWrt's UCI configuration files (/etc/config/*) the
// way libuci reads them, so that ntkd can turn /etc/config/ntkd into its
// TOML configuration without the uci tool.
//
// The syntax is libuci's: one command per line (or several separated by
// ';'), each word either unquoted, 'single quoted' (no escapes),
// "double quoted" (a backslash keeps the next character) or several of
// these run together as in the shell ('a'"b"c is abc). A backslash at the
// end of a line joins the next line; quoted values may span lines. A '#'
// outside quotes ends the line. The commands, and their one-letter forms:
//
//	package NAME
//	config TYPE ['NAME']     a section; without a name it is anonymous
//	option KEY 'VALUE'       sets KEY; an empty value deletes it
//	list KEY 'VALUE'         appends VALUE to the list KEY
//
// Everything found keeps the line and column where it was written, so that
// a caller can point at the value it rejects.
package uci

import "strconv"

// Pos is a place in a file: 1-based line and byte column.
type Pos struct {
	Line, Col int
}

// File is a parsed UCI file.
type File struct {
	Name     string // file name, as given to Parse, for messages
	Package  string // from a 'package' line; "" when there is none
	Sections []*Section
}

// Section is one 'config' block. A named section written twice is one
// Section (libuci merges them).
type Section struct {
	Type      string
	Name      string // "" for an anonymous section
	Index     int    // position among the file's sections of the same Type
	Pos       Pos    // of the 'config' word that opened it (first time)
	Options   []*Option
	anonymous bool
}

// Option is one option or list of a section.
type Option struct {
	Name   string
	List   bool    // written with 'list' (also a former option turned list)
	Values []Value // one for an option, any number for a list
	Pos    Pos     // of the option's name, where it was last set
}

// Value is one value with the position of its first character.
type Value struct {
	Text string
	Pos  Pos
	_    [0]func() // not comparable: no equality function in the binary
}

// Error is a syntax error with its position.
type Error struct {
	File string
	Pos  Pos
	Msg  string
	_    [0]func() // not comparable: no equality function in the binary
}

func (e *Error) Error() string {
	s := ""
	if e.File != "" {
		s = e.File + ":"
	}
	return s + strconv.Itoa(e.Pos.Line) + ":" + strconv.Itoa(e.Pos.Col) + ": " + e.Msg
}

// Ref names the section as the uci tool does: its name, or @TYPE[INDEX]
// for an anonymous one (the form `uci get/set` accepts).
func (s *Section) Ref() string {
	if !s.anonymous {
		return s.Name
	}
	return "@" + s.Type + "[" + strconv.Itoa(s.Index) + "]"
}

// Option returns the option called name, or nil.
func (s *Section) Option(name string) *Option {
	for _, o := range s.Options {
		if o.Name == name {
			return o
		}
	}
	return nil
}

// Value returns the option's (last) value, and whether it is set.
func (o *Option) Value() (Value, bool) {
	if o == nil || len(o.Values) == 0 {
		return Value{}, false
	}
	return o.Values[len(o.Values)-1], true
}

// SectionsOf returns the sections of type typ, in file order.
func (f *File) SectionsOf(typ string) []*Section {
	var out []*Section
	for _, s := range f.Sections {
		if s.Type == typ {
			out = append(out, s)
		}
	}
	return out
}

// Section returns the named section, or nil.
func (f *File) Section(name string) *Section {
	for _, s := range f.Sections {
		if !s.anonymous && s.Name == name {
			return s
		}
	}
	return nil
}
