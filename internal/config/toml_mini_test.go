package config

import (
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
)

// The router build reads TOML with parseMiniTOML, the others with the toml
// library. These tests hold the two in step: whatever the small reader
// accepts, the library accepts as the same document; whatever the library
// accepts, the small reader accepts too unless it holds a feature the
// small reader refuses as not supported (times, dates with a time, inf
// and nan), and then the error is at that feature.

// decodeLibrary decodes text as Parse does in a normal build. A panic of
// the library counts as a refusal.
func decodeLibrary(text string) (doc map[string]any, err error) {
	defer func() {
		if r := recover(); r != nil {
			doc, err = nil, errors.New("toml library panicked")
		}
	}()
	_, err = toml.Decode(text, &doc)
	return doc, err
}

// compareTOML checks parseMiniTOML against the library on text.
func compareTOML(t *testing.T, text string) {
	t.Helper()
	mini, merr := parseMiniTOML(text)
	full, ferr := decodeLibrary(text)
	if merr == nil {
		if ferr != nil {
			t.Fatalf("only the small reader accepts %q\nlibrary: %v\nsmall:   %#v", text, ferr, mini)
		}
		if !reflect.DeepEqual(comparable(mini), comparable(full)) {
			t.Fatalf("different documents from %q\nlibrary: %#v\nsmall:   %#v", text, full, mini)
		}
		return
	}
	te, ok := merr.(*tomlError)
	if !ok {
		t.Fatalf("error %T, not a *tomlError: %v", merr, merr)
	}
	if te.off < 0 || te.off > len(text) || te.msg == "" {
		t.Fatalf("error at offset %d of %d bytes: %q, for %q", te.off, len(text), te.msg, text)
	}
	if ferr != nil {
		return
	}
	if !te.unsupported {
		t.Fatalf("only the library accepts %q\nsmall: %v at %d\nlibrary: %#v", text, merr, te.off, full)
	}
	if !unsupportedAt(text[te.off:]) {
		t.Fatalf("%q: %q at offset %d, which starts %q", text, te.msg, te.off, text[te.off:min(te.off+12, len(text))])
	}
	if !strings.HasSuffix(te.msg, " is not supported by this build's TOML reader") {
		t.Fatalf("unclear message %q", te.msg)
	}
}

// comparable replaces the time.Time values in v, whose zones are the
// library's own *time.Location values, by their text and zone name.
func comparable(v any) any {
	switch v := v.(type) {
	case time.Time:
		return v.Format(time.RFC3339Nano) + " " + v.Location().String()
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, x := range v {
			m[k] = comparable(x)
		}
		return m
	case []map[string]any:
		a := make([]any, len(v))
		for i, x := range v {
			a[i] = comparable(x)
		}
		return append(a, "[[array of tables]]")
	case []any:
		a := make([]any, len(v))
		for i, x := range v {
			a[i] = comparable(x)
		}
		return a
	}
	return v
}

// unsupportedAt says whether s starts with a feature parseMiniTOML may
// refuse: inf or nan, or digits then '-' or ':' (a time or a date with a
// time).
func unsupportedAt(s string) bool {
	for _, p := range []string{"inf", "nan", "+inf", "-inf", "+nan", "-nan"} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return i >= 2 && i < len(s) && (s[i] == '-' || s[i] == ':')
}

// repoTOML returns every .toml file of the repository (git ls-files
// '*.toml' lists the same ones), by path.
func repoTOML(t testing.TB) map[string]string {
	out := map[string]string{}
	err := filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, ".toml") {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			out[path] = string(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := out[filepath.Join("../..", "files/etc/ntkd.example.toml")]; !ok {
		t.Fatalf("the example config is not among %d files", len(out))
	}
	return out
}

// testConfigs returns the configs the package's other tests write.
func testConfigs(t testing.TB) []string {
	out := validCases()
	for _, tc := range ruleCases() {
		in, _, _ := unmark(t, tc.in)
		out = append(out, in)
	}
	return append(out,
		"gogc = \n", "[radar\nprobes = 1\n", "gogc = 1\ngogc = 2\n", "gogc = 1\r\ngogc = 2\r\n",
		"log_level = \"info\n", "[radar]\nprobes = 1\n[radar]\n", "\xef\xbb\xbfgogc = 1\ngogc = 2\n",
		"gogc = 9999999999\n",
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
	)
}

// tomlCases: documents on the edges of what either reader takes.
var tomlCases = []string{
	// keys
	"a=1", "a = 1 # c", "\"a b\" = 1", "'a\\b' = 1", "a . b . c = 1", "a.\"b.c\".'d' = 1", "1 = 2", "-_ = 1",
	"a.b = 1\na.c = 2", "a.b = 1\na = 2", "a = 1\na.b = 2", "a.b = 1\n[a]\nc = 1", "[a]\nb = 1\n[a.c]\n",
	"a = {x = 1}\na.y = 2", "a = {x = 1}\n[a]", "a = {x = 1}\n[a.b]", "\"\" = 1", "[\"\"]\n\"\" = [1]\n[\"\"]",
	"[t]\n\"\" = [1]\n[t]", "a..b = 1", ".a = 1", "a. = 1", "= 1", "a = ", "a", "a =\n1", "a b = 1", "a = 1 b = 2",
	"[a]\n[a]", "[a]\n[a.b]\n[a]", "[a.b]\n[a]", "[a.b]\n[a]\n[a]", "[ a . b ]", "[[ a ]]", "[[a] ]", "[ [a]]",
	"[a]]", "[]", "[.a]", "[a.]", "[a b]", "[\"a\"\"b\"]", "[a]x", "[a] # c", "[a.'b']\n[a.\"b\"]",
	// arrays of tables
	"[[a]]\n[[a]]\nx = 1", "[[a]]\n[a]", "[a]\n[[a]]", "a = []\n[[a]]", "a = [{x = 1}]\n[[a]]", "a = [{x = 1}]\n[a]",
	"[[a.b]]\n[[a]]", "[[a]]\n[[a.b]]\n[a.b.c]\n[[a]]\n[a.b]", "[[a]]\nb.c = 1\n[[a]]\nb.c = 2", "[[a]]\n[a.b]\n[a.b]",
	"a = [{b = [{c = 1}]}, {}]", "a = [[{x = 1}], [{y = 2}]]", "a = {b = [{c = 1}]}\n[a.b]", "a = [{}]\na = 1",
	"a = {b = {c = 1}, b.d = 2}", "a = {b.c = 1, b.c = 2}", "a = {b = 1, b = 2}", "a = {b.c = 1, b = 2}",
	"a = {x = 1}\nb = {x = [1, {y = 2}]}", "a = [{x.y = 1}, {x.y = 2}]", "x = {a = 1}\ny = x",
	// strings
	"a = \"\"", "a = ''", "a = \"\\\"\\\\\\b\\t\\n\\f\\r\\e\\x41\\u00e9\\U0001F600\"", "a = \"\\ud800\"", "a = \"\\U00110000\"",
	"a = \"\\q\"", "a = \"\\ \"", "a = \"\\\"", "a = \"\\u12\"", "a = \"\\xg0\"", "a = \"\\", "a = '\\n'", "a = \"#\" # \"",
	"a = \"x", "a = 'x", "a = \"x\ny\"", "a = 'x\ny'", "a = \"\"\"x\"\"\"", "a = '''x'''", "a = \"\"\nb = ''",
	"a = \"é\"", "a = \"\t\"", "a = \"\x7f\"", "a = 1 # \x01", "# \x00", "a = 1\r", "a = 1\r\n", "a = \"\xff\"",
	"\"\\u0061\" = 1\na = 2", "'\"' = 1", "\"'\" = 1",
	// numbers
	"a = 0", "a = +0", "a = -0", "a = 00", "a = 01", "a = 1_000", "a = 1__0", "a = _1", "a = 1_", "a = 0_1",
	"a = 9223372036854775807", "a = 9223372036854775808", "a = -9223372036854775808", "a = 0x7fffffffffffffff",
	"a = 0xDEAD_beef", "a = 0o17", "a = 0b101", "a = 0x", "a = 0b2", "a = 0o8", "a = 0X1", "a = +0x1", "a = -0b1",
	"a = 0x_1", "a = 0b1_", "a = 1.5", "a = -1.5e3", "a = 1e5", "a = 1E-5", "a = 1.", "a = .5", "a = 1.e5", "a = 01.5",
	"a = -01.5", "a = 1_0.5_0", "a = 1e1_0", "a = 1e_1", "a = 1.5e", "a = 1e400", "a = 1e-400", "a = 1.2.3", "a = 1.5-2",
	"a = 0.0", "a = -0.0", "a = 0e0", "a = 1x", "a = 1 2", "a = +", "a = +a", "a = ++1", "a = 1-2", "a = 0-1", "a = 12:30",
	"a = 1979-05-27", "a = 07:32:00", "a = inf", "a = -nan", "a = infinity", "a = in", "a = nnf", "a = ian", "a = nan1",
	// booleans and other words
	"a = true", "a = false", "a = True", "a = truex", "a = tru", "a = true1", "a = yes", "a = é",
	// arrays
	"a = []", "a = [ ]", "a = [1,]", "a = [,]", "a = [1,,2]", "a = [1 2]", "a = [\n1, # one\n2 # two\n,\n]",
	"a = [\n# only\n]", "a = [[], [[]]]", "a = [1, \"x\", 1.5, true, [2], {b = 3}]", "a = [", "a = [1", "a = [1,",
	"a = ]", "a = [}", "a = [1]x",
	// inline tables
	"a = {}", "a = { }", "a = {b = 1,}", "a = {,}", "a = {b = 1,,}", "a = {b = 1 c = 2}", "a = {\nb = 1\n}",
	"a = {b = 1, # c\n}", "a = {b = 1", "a = {b}", "a = {=1}", "a = {b = {}}", "a = {\"b.c\" = 1, d.e = {f = 1}}",
	// multi-line strings
	`a = """` + "\nx" + `"""`, "a = '''\r\nx'''", `a = """` + "\n\nx" + `"""`, `a = """x""""`, `a = """x"""""`, `a = """x""""""`,
	"a = '''x''''", "a = '''x'''''", "a = '''x''''''", `a = """\""""""`, `a = """\\""""""`, `a = """a\` + "\n  \t b" + `"""`,
	`a = """a\   ` + "\r\n\n b" + `"""`, `a = """a\ b"""`, `a = """\u00e9\x41\e\\"""`, `a = """\u12\` + "\n" + `34"""`,
	`a = """x`, "a = '''x", `a = """x\`, `a = """\`, `a = '''\'''`, `a = """'''"""`, `a = ['''x''', """` + "\ny" + `"""]`, `"""a""" = 1`,
	// dates and times
	"a = 2024-02-29", "a = 2023-02-29", "a = 2024-13-01", "a = 2024-00-10", "a = 2024-04-31", "a = 0000-01-01", "a = 2024-1-01",
	"a = 2024-01-01 # c", "a = [2024-01-01 , 1]", "a = 2024-01-01T10:00:00Z", "a = 2024-01-01 10:00", "a = 10:00:00", "a = 2024-01-01x",
	"a = 2024-01-01-", "a = 12024-01-01", "a = +2024-01-01", "a = 2024-01-01Z", "a = 1900-02-29", "a = 2000-02-29",
	// whole lines
	"a = 1\n\n\n[t]\n\n\tb = 2\n", "  # indented comment\n  a = 1", "a = 1 [t]", "[t] a = 1", "a = 1\n[t]\na = 2\n[u.t]\na = 3",
}

func TestTOMLMiniCases(t *testing.T) {
	for _, in := range tomlCases {
		compareTOML(t, in)
		compareTOML(t, in+"\n")
	}
}

func TestTOMLMiniRepoFiles(t *testing.T) {
	for path, text := range repoTOML(t) {
		t.Run(path, func(t *testing.T) {
			if _, err := parseMiniTOML(text); err != nil {
				t.Fatalf("refused: %v", err)
			}
			compareTOML(t, text)
		})
	}
}

func TestTOMLMiniTestConfigs(t *testing.T) {
	for _, in := range testConfigs(t) {
		compareTOML(t, in)
	}
}

// TestTOMLMiniValues pins the Go types and values, and where errors are.
func TestTOMLMiniValues(t *testing.T) {
	doc, err := parseMiniTOML(`i = -0x0 # not allowed: signed hex` + "\n")
	if err == nil {
		t.Fatalf("signed hex accepted: %v", doc)
	}
	doc, err = parseMiniTOML(`
a = 1_000
b = -2.5e1
c = "x\ty\u00e9"
d = 'C:\n'
e = true
f = [1, "s", [], {g = 1}]
h.i = 0o17
[[j]]
[[j]]
k = 0b11
[l]
m = {}
n = """
a\
  b"\""""
o = '''\n'''
p = 2024-02-29
`)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"a": int64(1000), "b": -25.0, "c": "x\tyé", "d": `C:\n`, "e": true,
		"f": []any{int64(1), "s", []any{}, map[string]any{"g": int64(1)}},
		"h": map[string]any{"i": int64(15)},
		"j": []map[string]any{{}, {"k": int64(3)}},
		"l": map[string]any{"m": map[string]any{}, "n": `ab""`, "o": `\n`, "p": doc["l"].(map[string]any)["p"]},
	}
	if d, ok := doc["l"].(map[string]any)["p"].(time.Time); !ok || d.Format(time.DateOnly) != "2024-02-29" || d.Location().String() != "date-local" {
		t.Errorf("p = %#v", doc["l"].(map[string]any)["p"])
	}
	if !reflect.DeepEqual(doc, want) {
		t.Errorf("got  %#v\nwant %#v", doc, want)
	}
	if f, ok := doc["b"].(float64); !ok || f != -25 || math.Signbit(f) != true {
		t.Errorf("b = %#v", doc["b"])
	}
	for _, tc := range []struct {
		in          string
		off         int
		unsupported bool
	}{
		{"a = 1\nb = 1979-05-27T00:00:00\n", 10, true},
		{"a = 1\nb = [1, 10:00]\n", 14, true},
		{`a = """x""""""` + "\n", 10, false},
		{"a = 1\nb = -inf\n", 10, true},
		{"a = 1\na = 2\n", 6, false},
		{"[t]\nx = 1\n[ t ]\n", 12, false},
		{"a = \"x\ny\"\n", 6, false},
		{"a = @\n", 4, false},
		{"\xef\xbb\xbfa = @\n", 7, false},
		{"# \x01\n", 2, false},
		{"a = 1 2\n", 6, false},
	} {
		_, err := parseMiniTOML(tc.in)
		te, ok := err.(*tomlError)
		if !ok || te.off != tc.off || te.unsupported != tc.unsupported {
			t.Errorf("%q: %#v, want an error at %d (unsupported %v)", tc.in, err, tc.off, tc.unsupported)
		}
	}
}

// FuzzTOMLMini compares the two readers on any input. Seeds: every TOML
// file of the repository, the configs the tests write, the cases above,
// and (testdata/fuzz/FuzzTOMLMini) uci-render outputs.
func FuzzTOMLMini(f *testing.F) {
	for _, text := range repoTOML(f) {
		f.Add([]byte(text))
	}
	for _, in := range testConfigs(f) {
		f.Add([]byte(in))
	}
	for _, in := range tomlCases {
		f.Add([]byte(in))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		compareTOML(t, string(data))
	})
}
