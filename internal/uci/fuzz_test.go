package uci

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
)

// export writes f as `uci export` does: every value single-quoted, a quote
// inside a value written as quote, backslash, quote, quote.
func export(f *File) string {
	q := func(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
	var b strings.Builder
	if f.Package != "" {
		b.WriteString("package " + q(f.Package) + "\n")
	}
	for _, s := range f.Sections {
		b.WriteString("\nconfig " + q(s.Type))
		if s.Name != "" {
			b.WriteString(" " + q(s.Name))
		}
		b.WriteString("\n")
		for _, o := range s.Options {
			for _, v := range o.Values {
				kind := "\toption "
				if o.List {
					kind = "\tlist "
				}
				b.WriteString(kind + o.Name + " " + q(v.Text) + "\n")
			}
		}
	}
	return b.String()
}

// shape is dump without positions.
func shape(f *File) string {
	var b strings.Builder
	b.WriteString(f.Package + "\n")
	for _, s := range f.Sections {
		b.WriteString(s.Type + " " + s.Ref() + "\n")
		for _, o := range s.Options {
			b.WriteString(" " + o.Name)
			if o.List {
				b.WriteString("[]")
			}
			for _, v := range o.Values {
				b.WriteString(" <" + v.Text + ">")
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}

func inBounds(t *testing.T, data []byte, p Pos, what string) {
	lines := bytes.Count(data, []byte("\n")) + 1
	if p.Line < 1 || p.Line > lines || p.Col < 1 {
		t.Fatalf("%s at %d:%d is outside the input (%d lines)", what, p.Line, p.Col, lines)
	}
}

// FuzzParse: no panics; every position inside the input; what parses
// survives a round trip through the form `uci export` writes.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"network", "wireless", "firewall", "system"} {
		data, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		"config t 'x'\n\toption v 'it'\\''s'\n\tlist l \"a\\\"b\"\n",
		"c t\no v a\\\nb # c\nl l ''\n",
		"config t\n\toption v 'multi\nline'\n\toption w foo#bar\n",
		"package p\nconfig a n\nconfig a n\n\toption x ''\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse("f", data)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T is not *Error", err)
			}
			inBounds(t, data, e.Pos, "error")
			return
		}
		for _, s := range file.Sections {
			inBounds(t, data, s.Pos, "section")
			for _, o := range s.Options {
				inBounds(t, data, o.Pos, "option")
				for _, v := range o.Values {
					inBounds(t, data, v.Pos, "value")
				}
			}
		}
		out := export(file)
		again, err := Parse("again", []byte(out))
		if err != nil {
			t.Fatalf("exported form does not parse: %v\n%s", err, out)
		}
		if a, b := shape(file), shape(again); a != b {
			t.Fatalf("round trip changed the file:\n%s\nthen\n%s", a, b)
		}
	})
}
