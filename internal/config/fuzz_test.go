package config

import (
	"errors"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

// FuzzParse checks that Parse never panics, that what it accepts is valid,
// that what it rejects carries sane positions, and that the key scanner
// finds every key of any document the toml library accepts.
func FuzzParse(f *testing.F) {
	f.Add(readExample(f))
	for _, tc := range ruleCases() {
		in, _, _ := unmark(f, tc.in)
		f.Add([]byte(in))
	}
	for _, in := range validCases() {
		f.Add([]byte(in))
	}
	f.Add([]byte("a = [[1, 2], [\"x\"]]\n[[b.c]]\n[b.c.d]\ne = '''\n'x''''\n[[b.c]]\n\"q\\\"k\" = {x.y = 1}\n"))

	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("f.toml", data)
		if err == nil {
			if c == nil {
				t.Fatal("nil Config without an error")
			}
			if err := c.Validate(); err != nil {
				t.Fatalf("parsed OK but does not re-validate: %v", err)
			}
			if _, err := c.Scheme(); err != nil {
				t.Fatalf("parsed OK but has no scheme: %v", err)
			}
			if c.Summary() == "" {
				t.Fatal("empty summary")
			}
		} else {
			checkErrors(t, data, c, err)
		}
		checkKeyPositions(t, data)
	})
}

func checkErrors(t *testing.T, data []byte, c *Config, err error) {
	t.Helper()
	if c != nil {
		t.Fatal("a Config came back with an error")
	}
	errs, ok := errors.AsType[Errors](err)
	if !ok || len(errs) == 0 {
		t.Fatalf("error %T is not a non-empty Errors: %v", err, err)
	}
	lines := strings.Split(stripBOM(string(data)), "\n")
	for _, e := range errs {
		if e.File != "f.toml" || e.Msg == "" {
			t.Errorf("bad error %#v", e)
		}
		if e.Line < 0 || e.Line > len(lines) || e.Col < 0 || (e.Line == 0 && e.Col != 0) {
			t.Errorf("position %d:%d outside a %d-line file: %v", e.Line, e.Col, len(lines), e)
		} else if e.Line > 0 && e.Col > len(lines[e.Line-1])+1 {
			t.Errorf("column %d past the end of line %d (%d bytes): %v", e.Col, e.Line, len(lines[e.Line-1]), e)
		}
	}
}

// checkKeyPositions decodes data with the toml library and, when it is
// valid, checks that every key path has a position where its name (or its
// quote) starts.
func checkKeyPositions(t *testing.T, data []byte) {
	t.Helper()
	text := stripBOM(string(data))
	var doc map[string]any
	if _, err := toml.Decode(text, &doc); err != nil {
		return
	}
	at := keyPositions(text)
	lines := strings.Split(text, "\n")
	var walk func(p keyPath, v any, name string)
	walk = func(p keyPath, v any, name string) {
		ps, ok := at[p.String()]
		if !ok {
			t.Fatalf("no position for %s in %q", p, text)
		}
		if ps.line < 1 || ps.line > len(lines) || ps.col < 1 || ps.col > len(lines[ps.line-1]) {
			t.Fatalf("%s at %v, outside the text %q", p, ps, text)
		}
		if rest := lines[ps.line-1][ps.col-1:]; name != "" && !strings.HasPrefix(rest, name) &&
			!strings.HasPrefix(rest, `"`) && !strings.HasPrefix(rest, `'`) {
			t.Fatalf("%s at %v points at %q", p, ps, rest)
		}
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				walk(p.key(k), x, k)
			}
		case []map[string]any:
			for i, x := range v {
				walk(p.index(i), x, "")
			}
		case []any:
			for i, x := range v {
				walk(p.index(i), x, "")
			}
		}
	}
	for k, x := range doc {
		walk(keyPath{}.key(k), x, k)
	}
}

// FuzzParseSize checks that a Size that parses renders back to itself.
func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"0", "6MiB", "512KiB", "1GiB", "100B", "1536KiB", " 7 GiB ", "8589934591GiB"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseSize(s)
		if err != nil {
			return
		}
		if n < 0 {
			t.Fatalf("ParseSize(%q) = %d", s, n)
		}
		back, err := ParseSize(n.String())
		if err != nil || back != n {
			t.Fatalf("ParseSize(%q) = %d, String %q, back %d, %v", s, n, n.String(), back, err)
		}
	})
}

// TestKeyPositions runs the scanner check on documents that stress it.
func TestKeyPositions(t *testing.T) {
	for _, doc := range []string{
		"a = [[1, 2], [\"x\"]]\n[[b.c]]\n[b.c.d]\ne = '''\n'x''''\n[[b.c]]\n\"q\\\"k\" = {x.y = 1}\n",
		"[[a]]\n[[a.b]]\nx = 1\n[[a.b]]\nx = 2\n[[a]]\n[[a.b]]\ny = 3\n[a.b.c]\nz = 4\n",
		"[\"a.b\"]\n'c.d' . e = 1\n\"\" = 2\n",
		"s = \"\"\"a\\\n  b\"\"\"\"\"\nt = 1\n",
		"x = { a = [ { b = 1 }, { c = [2, { d = 3 }] } ] }\n",
		"d = 1979-05-27 07:32:00Z\ne = [1979-05-27 07:32:00Z, 1]\nf = inf\n",
		"a = {\n  b = 1, # TOML 1.1\n  c = 2,\n}\n",
		"\xef\xbb\xbfk = 1\r\n[t]\r\n  k2 = \"v\" # c\r\n",
		"[a]\nb.c = 1\n[a.b.d]\ne = 2\n",
		"\"\\u00e9t\\xe9\" = 1\n",
	} {
		var m map[string]any
		if _, err := toml.Decode(stripBOM(doc), &m); err != nil {
			t.Fatalf("test document is not TOML: %v\n%s", err, doc)
		}
		checkKeyPositions(t, []byte(doc))
	}
	at := keyPositions("[[a]]\nx = 1\n[[a]]\n  x = 2\n")
	if got := at["a[1].x"]; got != (pos{4, 3}) {
		t.Errorf("a[1].x at %v", got)
	}
}
