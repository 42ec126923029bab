package ctl

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"math"
	"math/rand"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/ntkd/ntkd/internal/jsondec"
	"github.com/ntkd/ntkd/internal/jsonenc"
)

// encoded are the types the control socket encodes with jsonenc: every
// request and answer type, and the answers' slices as the daemon returns
// them. TestEncodedListsEveryType keeps the list complete.
var encoded = []reflect.Type{
	reflect.TypeFor[Request](), reflect.TypeFor[VLinkSpec](), reflect.TypeFor[Response](),
	reflect.TypeFor[Status](), reflect.TypeFor[Memory](), reflect.TypeFor[Gnode](), reflect.TypeFor[Interface](),
	reflect.TypeFor[Neighbour](), reflect.TypeFor[[]Neighbour](), reflect.TypeFor[Wifi](),
	reflect.TypeFor[VLinks](), reflect.TypeFor[VLink](),
	reflect.TypeFor[EntryNodes](), reflect.TypeFor[EntryServerError](), reflect.TypeFor[EntrySelf](), reflect.TypeFor[EntryNode](),
	reflect.TypeFor[Level](), reflect.TypeFor[[]Level](), reflect.TypeFor[Element](), reflect.TypeFor[MapRoute](),
	reflect.TypeFor[Routes](), reflect.TypeFor[Route](), reflect.TypeFor[Hop](),
	reflect.TypeFor[QSPN](), reflect.TypeFor[QSPNLevel](),
	reflect.TypeFor[Counters](), reflect.TypeFor[Count](), reflect.TypeFor[KernelCounters](),
	reflect.TypeFor[Gateways](), reflect.TypeFor[GatewaySharing](), reflect.TypeFor[GatewayInfo](),
	reflect.TypeFor[ANDNAName](), reflect.TypeFor[[]ANDNAName](), reflect.TypeFor[ANDNAResolution](),
	reflect.TypeFor[ANDNARecord](), reflect.TypeFor[[]ANDNARecord](), reflect.TypeFor[ANDNACounter](), reflect.TypeFor[[]ANDNACounter](),
}

// TestEncodedListsEveryType: every struct type the package declares is in
// encoded (the Go files are the list's source).
func TestEncodedListsEveryType(t *testing.T) {
	listed := map[string]bool{}
	for _, typ := range encoded {
		listed[typ.Name()] = true
	}
	names, _ := filepath.Glob("*.go")
	fset := token.NewFileSet()
	n := 0
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.TYPE {
				continue
			}
			for _, s := range g.Specs {
				ts := s.(*ast.TypeSpec)
				if _, ok := ts.Type.(*ast.StructType); !ok || !ts.Name.IsExported() || ts.Name.Name == "Server" {
					continue
				}
				n++
				if !listed[ts.Name.Name] {
					t.Errorf("type %s is not in encoded", ts.Name.Name)
				}
			}
		}
	}
	if n < 30 {
		t.Fatalf("found only %d types", n)
	}
}

// edgeStrings and edgeFloats are what values are made of: the escapes and
// the float formats' cut-offs.
var (
	edgeStrings = []string{"", "wlan0", "10.0.0.1/8", "fe80::1%eth0", "a\"b\\c", "<&>", "\u2028\u2029", "\xff\xfe",
		"\x00\x1f\t\n", "é😀", "refused: NAME_TAKEN", strings.Repeat("k", 64)}
	edgeFloats = []float64{0, math.Copysign(0, -1), -1, 0.1, 0.25, 1.5, 1e-6, 9.99e-7, 1e-7, 1e20, 1e21, 123456.789,
		math.MaxFloat64, math.SmallestNonzeroFloat64, 1 << 53, 3600, 1e9 + 0.5}
)

// fill gives v random contents (every exported field set; full: no nil
// pointer, slice or map, none empty).
func fill(v reflect.Value, r *rand.Rand, full bool, depth int) {
	switch v.Kind() {
	case reflect.Bool:
		v.SetBool(full || r.Intn(2) == 1)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n := []int64{0, -1, 1, math.MaxInt64, math.MinInt64, r.Int63(), -r.Int63n(1000)}[r.Intn(7)]
		if full && n == 0 {
			n = 7
		}
		v.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		n := []uint64{0, 1, math.MaxUint32, math.MaxUint64, r.Uint64(), uint64(r.Intn(100))}[r.Intn(6)]
		if full && n == 0 {
			n = 9
		}
		v.SetUint(n)
	case reflect.Float32, reflect.Float64:
		f := edgeFloats[r.Intn(len(edgeFloats))]
		switch r.Intn(3) {
		case 0:
			f = r.NormFloat64() * math.Pow(10, float64(r.Intn(40)-20))
		case 1:
			f = -f
		}
		if full && f == 0 {
			f = 2.5
		}
		v.SetFloat(f)
	case reflect.String:
		s := edgeStrings[r.Intn(len(edgeStrings))]
		if full && s == "" {
			s = "x"
		}
		v.SetString(s)
	case reflect.Pointer:
		if !full && (depth > 3 || r.Intn(3) == 0) {
			return
		}
		p := reflect.New(v.Type().Elem())
		fill(p.Elem(), r, full, depth+1)
		v.Set(p)
	case reflect.Slice:
		if v.Type() == reflect.TypeFor[jsondec.RawMessage]() {
			return // Response.Data: set by the tests
		}
		n := 2
		if !full {
			if n = r.Intn(4) - 1; n < 0 || depth > 3 {
				return // nil
			}
		}
		s := reflect.MakeSlice(v.Type(), n, n)
		for i := range n {
			fill(s.Index(i), r, full, depth+1)
		}
		v.Set(s)
	case reflect.Map:
		n := 3
		if !full {
			if n = r.Intn(5) - 1; n < 0 || depth > 3 {
				return // nil
			}
		}
		m := reflect.MakeMap(v.Type())
		for range n {
			k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
			fill(k, r, false, depth+1)
			fill(e, r, full, depth+1)
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), r, full, depth+1)
			}
		}
	}
}

// oldResponse is Response as encoding/json encoded it.
type oldResponse struct {
	Error string          `json:"error,omitempty"`
	Data  json.RawMessage `json:"data,omitempty"`
}

// writeResponseJSON is writeResponse as it was with encoding/json.
func writeResponseJSON(w io.Writer, data any, err error) {
	var r oldResponse
	if err != nil {
		r.Error = err.Error()
	} else if b, merr := json.Marshal(data); merr != nil {
		r.Error = "encoding the answer: " + merr.Error()
	} else {
		r.Data = b
	}
	b, _ := json.Marshal(r)
	w.Write(append(b, '\n'))
}

// sameEncoding checks v three ways against encoding/json: Marshal, the
// server's answer line, and that line printed by `ntkd ctl --json` (jsondec
// into an empty interface, then an encoder indenting by two spaces).
func sameEncoding(t *testing.T, v any) {
	t.Helper()
	want, werr := json.Marshal(v)
	got, gerr := jsonenc.Marshal(v)
	if !bytes.Equal(want, got) || (werr == nil) != (gerr == nil) || (werr != nil && werr.Error() != gerr.Error()) {
		t.Fatalf("%T: Marshal:\n encoding/json: %s %v\n jsonenc:       %s %v", v, want, werr, got, gerr)
	}
	var wb, gb bytes.Buffer
	writeResponseJSON(&wb, v, nil)
	writeResponse(&gb, v, nil)
	if wb.String() != gb.String() {
		t.Fatalf("%T: answer:\n encoding/json: %s\n jsonenc:       %s", v, wb.Bytes(), gb.Bytes())
	}
	r, err := readResponse(&gb)
	if err != nil {
		t.Fatal(err)
	}
	var generic any
	_ = jsondec.Unmarshal(r.Data, &generic)
	wb.Reset()
	gb.Reset()
	we, ge := json.NewEncoder(&wb), jsonenc.NewEncoder(&gb)
	we.SetIndent("", "  ")
	ge.SetIndent("", "  ")
	_, _ = we.Encode(generic), ge.Encode(generic)
	if wb.String() != gb.String() {
		t.Fatalf("%T: ntkd ctl --json:\n encoding/json: %s\n jsonenc:       %s", v, wb.Bytes(), gb.Bytes())
	}
}

// TestAnswersEncodeAsEncodingJSON: the zero value, full values and random
// values of every encoded type encode as encoding/json encodes them, on
// the socket and in `ntkd ctl --json`.
func TestAnswersEncodeAsEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for _, typ := range encoded {
		zero := reflect.New(typ)
		sameEncoding(t, zero.Elem().Interface())
		sameEncoding(t, zero.Interface())
		for i := range 300 {
			v := reflect.New(typ).Elem()
			fill(v, r, i%3 == 0, 0)
			if resp, ok := v.Addr().Interface().(*Response); ok {
				var s Status
				fill(reflect.ValueOf(&s).Elem(), r, i%2 == 0, 0)
				resp.Data, _ = jsonenc.Marshal(s)
				if i%5 == 0 {
					resp.Data = jsondec.RawMessage(` { "pretty" : [ 1 , "<&>" ] } `)
				}
			}
			sameEncoding(t, v.Interface())
		}
	}
}

// TestAnswerEncodingErrors: what encoding/json refuses (NaN and the
// infinities, in any float of an answer) is refused with the same text.
func TestAnswerEncodingErrors(t *testing.T) {
	lat := math.Inf(-1)
	for _, v := range []any{
		Neighbour{Loss: math.NaN()}, []Neighbour{{Penalty: math.Inf(1)}}, Status{UptimeSec: math.NaN()},
		EntryNodes{Latitude: &lat}, EntryNodes{Nodes: []EntryNode{{DistanceKm: math.NaN()}}},
		QSPN{WaitRoundSec: math.Inf(1)}, []ANDNAName{{ExpiresSec: math.NaN()}}, GatewayInfo{CostMS: math.NaN()},
		nil, []Level(nil), []Level{}, map[string]any{"k": []any{}},
	} {
		sameEncoding(t, v)
	}
	var wb, gb bytes.Buffer
	writeResponseJSON(&wb, nil, io.ErrUnexpectedEOF)
	writeResponse(&gb, nil, io.ErrUnexpectedEOF)
	if wb.String() != gb.String() {
		t.Fatalf("error answer:\n encoding/json: %s\n jsonenc:       %s", wb.Bytes(), gb.Bytes())
	}
}

// TestSchemaInEncoderSubset: the encoded types use only what jsonenc
// encodes as encoding/json does (see its package comment): no embedded
// structs, no tag options but omitempty, no marshalling methods but
// RawMessage's.
func TestSchemaInEncoderSubset(t *testing.T) {
	seen := map[reflect.Type]bool{}
	var check func(typ reflect.Type)
	check = func(typ reflect.Type) {
		if seen[typ] {
			return
		}
		seen[typ] = true
		if typ == reflect.TypeFor[jsondec.RawMessage]() {
			return
		}
		for _, m := range []reflect.Type{reflect.TypeFor[json.Marshaler](), reflect.TypeFor[interface{ MarshalText() ([]byte, error) }]()} {
			if typ.Implements(m) || reflect.PointerTo(typ).Implements(m) {
				t.Errorf("%v implements %v", typ, m)
			}
		}
		switch typ.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Array:
			check(typ.Elem())
		case reflect.Map:
			check(typ.Key())
			check(typ.Elem())
		case reflect.Struct:
			for i := range typ.NumField() {
				f := typ.Field(i)
				_, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
				if f.Anonymous || (opts != "" && opts != "omitempty") {
					t.Errorf("%v.%s: embedded or tag options %q", typ, f.Name, opts)
				}
				if f.IsExported() {
					check(f.Type)
				}
			}
		case reflect.Interface, reflect.Chan, reflect.Func, reflect.Complex64, reflect.Complex128, reflect.UnsafePointer:
			t.Errorf("%v: kind %v", typ, typ.Kind())
		}
	}
	for _, typ := range encoded {
		check(typ)
	}
	if len(seen) < len(encoded) || !slices.Contains(encoded, reflect.TypeFor[Response]()) {
		t.Fatal("nothing checked")
	}
}
