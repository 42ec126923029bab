package config

import (
	"sort"
	"strconv"
	"strings"
)

// Error is one problem in a configuration.
type Error struct {
	File string // file name as given to Parse; "" when unknown
	Line int    // 1-based; 0 when unknown (e.g. a key left at its default)
	Col  int    // 1-based byte column; 0 when unknown
	Key  string // dotted key such as "radar.interval" or "interface[1].name"; "" for syntax errors
	Msg  string

	// related are other keys a cross-field problem involves: Parse places
	// the problem at one of them when Key itself is not in the file.
	related []string
}

// Error renders "file:line:col: key: msg", leaving out what is unknown.
func (e *Error) Error() string {
	var b strings.Builder
	pos := make([]string, 0, 3)
	if e.File != "" {
		pos = append(pos, e.File)
	}
	if e.Line > 0 {
		pos = append(pos, strconv.Itoa(e.Line))
		if e.Col > 0 {
			pos = append(pos, strconv.Itoa(e.Col))
		}
	}
	if len(pos) > 0 {
		b.WriteString(strings.Join(pos, ":"))
		b.WriteString(": ")
	}
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem Parse or Validate found, in file order (problems
// without a position last). It is never returned empty.
type Errors []*Error

// Error renders one problem per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap lets errors.As find the individual *Error values.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// sort orders problems as a reader meets them in the file; problems with no
// line (keys left at defaults, cross-field checks) keep their order at the end.
func (es Errors) sort() {
	// sort.SliceStable, not slices.SortStableFunc: one shared sort in the
	// router binary rather than another instance of it.
	sort.SliceStable(es, func(i, j int) bool {
		a, b := es[i], es[j]
		switch {
		case a.Line == 0:
			return false
		case b.Line == 0:
			return true
		}
		return a.Line < b.Line || a.Line == b.Line && a.Col < b.Col
	})
}

// orNil keeps a nil error nil: an empty Errors in an error interface is not.
func (es Errors) orNil() error {
	if len(es) == 0 {
		return nil
	}
	return es
}
