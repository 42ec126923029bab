package jsonenc_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"testing/quick"
	"time"

	"github.com/ntkd/ntkd/internal/jsondec"
	"github.com/ntkd/ntkd/internal/jsonenc"
)

// short is v for a failure message, cut to a readable length.
func short(v any) string {
	s := fmt.Sprintf("%#v", v)
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}

func errText(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// same encodes v with encoding/json and jsonenc, compact and indented
// (MarshalIndent and an Encoder with SetIndent, as `ntkd ctl --json`
// uses it), and fails unless the bytes and error texts are the same.
func same(t testing.TB, v any) {
	t.Helper()
	want, werr := json.Marshal(v)
	got, gerr := jsonenc.Marshal(v)
	if errText(werr) != errText(gerr) || !bytes.Equal(want, got) {
		t.Fatalf("Marshal(%s):\n encoding/json: %s %v\n jsonenc:       %s %v", short(v), want, werr, got, gerr)
	}
	for _, in := range [][2]string{{"", "  "}, {"> ", "\t"}, {"", ""}, {"#", ""}} {
		want, werr := json.MarshalIndent(v, in[0], in[1])
		got, gerr := jsonenc.MarshalIndent(v, in[0], in[1])
		if errText(werr) != errText(gerr) || !bytes.Equal(want, got) {
			t.Fatalf("MarshalIndent(%s, %q, %q):\n encoding/json: %s %v\n jsonenc:       %s %v", short(v), in[0], in[1], want, werr, got, gerr)
		}
		var wb, gb bytes.Buffer
		we, ge := json.NewEncoder(&wb), jsonenc.NewEncoder(&gb)
		we.SetIndent(in[0], in[1])
		ge.SetIndent(in[0], in[1])
		werr, gerr = we.Encode(v), ge.Encode(v)
		if errText(werr) != errText(gerr) || wb.String() != gb.String() {
			t.Fatalf("Encoder(%q, %q).Encode(%s):\n encoding/json: %q %v\n jsonenc:       %q %v", in[0], in[1], short(v), wb.String(), werr, gb.String(), gerr)
		}
	}
}

// strs are strings that exercise the escaping.
var strs = []string{
	"", "a", "abc def", `"`, `\`, `a"b\c/d`, "\b\f\n\r\t", "\x00\x01\x1f\x7f", "<script>&amp;</script>",
	"\u2028\u2029", "a\u2028b\u2029c", "é€😀", "\xff", "\xfe\xff", "a\xc3", "\xc3(", "\xe2\x82", "\xe2\x80",
	"\xe2\x80\xa8", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xef\xbf\xbd", "\u00a0\u200b\ufeff", "x\x00y",
	strings.Repeat("<", 40), "\U0010ffff", "key=value", "spaces  ", " ",
}

// floats are the cut-offs and the awkward cases of float formatting.
var floats = []float64{
	0, math.Copysign(0, -1), 1, -1, 0.1, 0.5, 1.5, 100, 1e6, 1e20, 1e21, 1e21 - 65536, 9.999999999999999e20,
	1e-6, 1e-7, 9.99999e-7, 1.0000000000000002e-6, 0.000001, 0.0000001, 123456789, 1e100, 1e-100, 1e-300,
	math.MaxFloat64, math.SmallestNonzeroFloat64, -math.MaxFloat64, math.MaxFloat32, math.SmallestNonzeroFloat32,
	1 << 53, 1<<53 + 1, 1 << 63, 1 << 64, 18446744073709551615, 9223372036854775807, 4.9e-324, 5e-324,
	1.7976931348623157e308, 2.5e-8, 1e-9, 1e-10, 1.23e-5, 3.4e38, 3.4028235e38, 1e-45, 1.4e-45, 0.3,
	2.0 / 3, 1.0 / 3, 299792458, 1e15, 1e16, 1e17, 123456789012345678, 0.000123, 12e-7,
}

// text is an encoding.TextMarshaler with a pointer receiver.
type text struct{ s string }

func (t *text) MarshalText() ([]byte, error) {
	if t.s == "fail" {
		return nil, errors.New("cannot")
	}
	return []byte("<" + t.s + ">"), nil
}

// valText has a value receiver.
type valText int

func (v valText) MarshalText() ([]byte, error) { return []byte(fmt.Sprintf("v%d", int(v))), nil }

// marsh is a json.Marshaler with a value receiver, returning its text.
type marsh string

func (m marsh) MarshalJSON() ([]byte, error) {
	if m == "fail" {
		return nil, errors.New("no")
	}
	return []byte(m), nil
}

// ptrMarsh has a pointer receiver.
type ptrMarsh struct{ n int }

func (p *ptrMarsh) MarshalJSON() ([]byte, error) {
	return []byte(fmt.Sprintf(" [ %d , \"<\" ] ", p.n)), nil
}

type (
	myString string
	myInt    int16
	myBytes  []byte
	myByte   uint8
	keyInt   int32
)

// kinds has every kind jsonenc encodes, with the tag forms.
type kinds struct {
	B      bool               `json:"b"`
	I      int                `json:"i"`
	I8     int8               `json:"i8"`
	I64    int64              `json:"i64,omitempty"`
	U      uint               `json:"u"`
	U8     uint8              `json:"u8,omitempty"`
	U32    uint32             `json:"u32"`
	U64    uint64             `json:"u64"`
	Ptr    uintptr            `json:"uptr,omitempty"`
	F32    float32            `json:"f32"`
	F64    float64            `json:"f64,omitempty"`
	S      string             `json:"s,omitempty"`
	MyS    myString           `json:"mys"`
	MyI    myInt              `json:"myi"`
	PF     *float64           `json:"pf,omitempty"`
	PS     *string            `json:"ps"`
	PP     **int              `json:"pp"`
	Strs   []string           `json:"strs"`
	Empty  []int              `json:"empty,omitempty"`
	Bytes  []byte             `json:"bytes"`
	MyB    myBytes            `json:"myb,omitempty"`
	MyBs   []myByte           `json:"mybs"`
	Arr    [3]int             `json:"arr"`
	BArr   [2]byte            `json:"barr"`
	Map    map[string]int     `json:"map"`
	MapE   map[string]int     `json:"mape,omitempty"`
	IntMap map[keyInt]string  `json:"intmap"`
	UMap   map[uint8]bool     `json:"umap"`
	TMap   map[valText]int    `json:"tmap"`
	Any    any                `json:"any"`
	AnyE   any                `json:"anye,omitempty"`
	Nested []map[string][]any `json:"nested"`
	Self   *kinds             `json:"self,omitempty"`
	Struct struct {
		X int `json:"x"`
	} `json:"struct"`
	EmptyStruct struct{}  `json:"es,omitempty"` // structs are never empty
	NoTag       string    // named by the field
	Skip        string    `json:"-"`
	Dash        string    `json:"-,"`
	Bad         int       `json:"a\"b"`      // invalid: the field's name
	Punct       int       `json:"a-b.c<d>&"` // valid
	Uni         int       `json:"é世"`
	Opts        int       `json:",unknown,omitempty"`
	hidden      int       //nolint:unused // unexported: not encoded
	_           [0]func() // not comparable, like ctl's types
}

// dup has fields with the same names: encoding/json's dominance rules.
type dup struct {
	C  int
	D  int `json:"C"` // tagged C wins over the field C
	E  int `json:"e"`
	F  int `json:"f"`
	Ee int `json:"E"` // not the same name as e
	G  int `json:"g,omitempty"`
	H  int `json:"G"`
}

// dupTagged has two fields tagged "x" (neither is encoded) and a field
// whose invalid tag leaves it the name another one's tag takes (the
// tagged one wins): made with reflect, since vet refuses repeated tags.
var dupTagged = reflect.StructOf([]reflect.StructField{
	{Name: "A", Type: reflect.TypeFor[int](), Tag: `json:"x"`},
	{Name: "B", Type: reflect.TypeFor[string](), Tag: `json:"x,omitempty"`},
	{Name: "Y", Type: reflect.TypeFor[int](), Tag: `json:"Z"`},
	{Name: "Z", Type: reflect.TypeFor[int](), Tag: `json:"a\\b"`},
})

type Embedded int

type withEmbedded struct {
	Embedded                      // a named non-struct: a field called Embedded
	fmt.Stringer                  // an interface: a field called Stringer
	unexportedInt                 // ignored
	Named         struct{ A int } `json:"named"`
	NamedPtr      *kinds          `json:"namedptr"`
}

type unexportedInt int

type texts struct {
	T    text     `json:"t"`  // addressable through a pointer: MarshalText
	PT   *text    `json:"pt"` // nil: null
	V    valText  `json:"v"`
	PV   *valText `json:"pv"`
	Addr netip.Addr
	Pfx  netip.Prefix
	AP   netip.AddrPort
	Time time.Time `json:"time"`
	M    marsh     `json:"m,omitempty"`
	PM   ptrMarsh  `json:"pm"`
	PPM  *ptrMarsh `json:"ppm"`
	Raw  jsondec.RawMessage
	RawE jsondec.RawMessage `json:"rawe,omitempty"`
	RawP *jsondec.RawMessage
}

func TestValues(t *testing.T) {
	n, s := 5, "<p>"
	pn := &n
	f := 0.25
	full := kinds{
		B: true, I: -1, I8: -128, I64: math.MinInt64, U: 1, U8: 255, U32: math.MaxUint32, U64: math.MaxUint64,
		Ptr: 7, F32: 0.1, F64: 1e21, S: "s<>&", MyS: "\u2028", MyI: -3, PF: &f, PS: &s, PP: &pn,
		Strs: []string{"a", "", "\xff"}, Empty: []int{}, Bytes: []byte("hi\x00\xff"), MyB: myBytes{1, 2, 3},
		MyBs: []myByte{4, 5}, Arr: [3]int{1, 2, 3}, BArr: [2]byte{9, 8},
		Map: map[string]int{"b": 2, "a": 1, "": 0, "<": 3, "é": 4, "\xff": 5, "A": 6}, MapE: map[string]int{},
		IntMap: map[keyInt]string{-1: "m", 10: "t", 2: "two", 0: "z"}, UMap: map[uint8]bool{200: true, 3: false},
		TMap: map[valText]int{2: 2, 10: 10, 1: 1}, Any: map[string]any{"x": []any{1.5, "y", nil, true}},
		AnyE: 0, Nested: []map[string][]any{nil, {"a": nil, "b": {}}}, Self: &kinds{I: 9},
		NoTag: "nt", Skip: "skip", Dash: "dash", Bad: 1, Punct: 2, Uni: 3, Opts: 4, hidden: 5,
	}
	full.Struct.X = 42
	var nilPtr *kinds
	var nilIface fmt.Stringer
	raw := jsondec.RawMessage(` { "a" : [ 1 , "x <&> \u2028 y" , "\u2029" ] } `)
	values := []any{
		nil, true, false, 0, -0, 1, -1, int64(math.MaxInt64), int64(math.MinInt64), math.MaxInt32, math.MinInt32, uint64(math.MaxUint64), int8(-5), uint16(7),
		"", "x", myString("m"), []byte(nil), []byte{}, []byte("abc"), myBytes(nil), [0]int{}, [2]string{"a", "b"},
		[]int(nil), []int{}, []any{}, map[string]any(nil), map[string]any{}, map[int]int{3: 3, 1: 1, 2: 2},
		map[int8]string{-1: "a", -10: "b", 5: "c"}, map[myString]int{"b": 1, "a": 2}, &n, &pn, nilPtr, nilIface,
		kinds{}, &kinds{}, full, &full, dup{1, 2, 3, 4, 5, 6, 7}, reflect.New(dupTagged).Elem().Interface(), withEmbedded{Embedded: 3, NamedPtr: &full},
		texts{}, &texts{}, texts{T: text{"a"}, PT: &text{"b"}, V: 3, PV: new(valText),
			Addr: netip.MustParseAddr("fe80::1%eth0"), Pfx: netip.MustParsePrefix("10.1.0.0/16"),
			AP: netip.MustParseAddrPort("[::1]:80"), Time: time.Date(2024, 2, 29, 1, 2, 3, 4, time.UTC),
			M: ` { "k" : "<v>" } `, PM: ptrMarsh{1}, PPM: &ptrMarsh{2}, Raw: raw, RawE: raw, RawP: &raw},
		[]texts{{T: text{"in a slice: addressable"}}}, map[string]texts{"m": {T: text{"in a map: not"}}},
		[]text{{"x"}}, map[string]text{"k": {"y"}}, [1]text{{"arr"}}, netip.Addr{}, netip.Prefix{},
		netip.AddrPort{}, netip.MustParseAddr("10.0.0.1"), &text{"p"}, text{"v"}, valText(1),
		jsondec.RawMessage(nil), jsondec.RawMessage(`null`), jsondec.RawMessage("\t1\n"), &raw, raw,
		marsh(`"\u2028"`), marsh("\"\xe2\x80\xa9\""), []marsh{`1`, `[]`, `{}`}, map[netip.Addr]int{
			netip.MustParseAddr("10.0.0.2"): 2, netip.MustParseAddr("10.0.0.10"): 10, {}: 0},
		map[*text]int{nil: 1}, map[string]*int{"nil": nil, "n": &n},
		// errors
		math.NaN(), math.Inf(1), math.Inf(-1), float32(math.Inf(-1)), []float64{1, math.NaN()},
		map[string]any{"a": math.Inf(1)}, make(chan int), func() {}, complex(1, 2), []any{make(chan int)},
		map[[2]int]int{}, map[[2]int]int(nil), map[float64]int{1: 1}, struct{ C chan int }{},
		text{"fail"}, map[valTextErr]int{1: 1}, marsh("fail"), marsh(""), marsh("{"), marsh("[1]x"),
		marsh(`"a`), marsh("\xff"), marsh("01"), jsondec.RawMessage{}, jsondec.RawMessage(" "),
		struct{ A jsondec.RawMessage }{A: jsondec.RawMessage(`{"a":}`)},
	}
	for _, s := range strs {
		values = append(values, s, map[string]string{s: s}, struct {
			S string `json:"s"`
		}{s}, marsh(`"`+strings.ReplaceAll(s, `"`, `\"`)+`"`), text{s})
	}
	for _, f := range floats {
		values = append(values, f, -f, float32(f), float32(-f), []float64{f}, struct{ F32 float32 }{float32(f)})
	}
	for _, v := range values {
		same(t, v)
	}
}

type valTextErr int

func (valTextErr) MarshalText() ([]byte, error) { return nil, errors.New("no key") }

// TestOutsideSubset: what jsonenc does not encode as encoding/json does
// is an error, not different bytes.
func TestOutsideSubset(t *testing.T) {
	type inner struct{ A int }
	for _, v := range []any{
		struct{ inner }{}, struct{ *inner }{}, struct {
			N int `json:"n,string"`
		}{}, struct {
			N int `json:"n,omitzero"`
		}{},
	} {
		if _, err := jsonenc.Marshal(v); err == nil || !strings.HasPrefix(err.Error(), "jsonenc: ") {
			t.Errorf("Marshal(%#v): error %v, want jsonenc's", v, err)
		}
	}
	// The tagged form is an ordinary field.
	same(t, struct {
		inner `json:"in"`
	}{inner{1}})
}

// generated has the kinds testing/quick generates.
type generated struct {
	B     bool                   `json:"b,omitempty"`
	I     int                    `json:"i"`
	I8    int8                   `json:"i8,omitempty"`
	U64   uint64                 `json:"u64"`
	F32   float32                `json:"f32,omitempty"`
	F64   float64                `json:"f64"`
	S     string                 `json:"s"`
	PF    *float64               `json:"pf,omitempty"`
	Strs  []string               `json:"strs,omitempty"`
	Bytes []byte                 `json:"bytes"`
	Arr   [2]uint16              `json:"arr"`
	Map   map[string]*generated  `json:"map"`
	IMap  map[int64]generated    `json:"imap,omitempty"`
	Next  *generated             `json:"next"`
	Texts map[valText][]valText  `json:"texts"`
	Deep  [][]map[myString]myInt `json:"deep"`
}

// TestRandom encodes random values of the test types.
func TestRandom(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for _, typ := range []reflect.Type{reflect.TypeFor[generated](), reflect.TypeFor[[]map[string]*generated](), reflect.TypeFor[dup](), dupTagged} {
		for range 300 {
			v, ok := quick.Value(typ, r)
			if !ok {
				t.Fatalf("cannot generate %v", typ)
			}
			same(t, v.Interface())
		}
	}
}

// TestEncoderWriteError: a failed write sticks, as json.Encoder's does.
func TestEncoderWriteError(t *testing.T) {
	w := &failWriter{}
	enc := jsonenc.NewEncoder(w)
	if err := enc.Encode(1); err == nil || w.n != 1 {
		t.Fatalf("first Encode: %v after %d writes", err, w.n)
	}
	if err := enc.Encode(2); err == nil || w.n != 1 {
		t.Fatalf("second Encode: %v after %d writes", err, w.n)
	}
}

type failWriter struct{ n int }

func (w *failWriter) Write([]byte) (int, error) { w.n++; return 0, errors.New("full") }

// anyOf decodes data as `ntkd ctl --json` does (jsondec into an empty
// interface), or reports that it is not JSON.
func anyOf(data []byte) (any, bool) {
	var v any
	return v, jsondec.Unmarshal(data, &v) == nil
}

// FuzzString: any string, as a value, a key and a marshaller's output.
func FuzzString(f *testing.F) {
	for _, s := range strs {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		same(t, s)
		same(t, map[string]myString{s: myString(s)})
		same(t, text{s})
		same(t, jsondec.RawMessage(s))
	})
}

// FuzzFloat: any float64, and it as a float32.
func FuzzFloat(f *testing.F) {
	for _, x := range floats {
		f.Add(x)
	}
	f.Fuzz(func(t *testing.T, x float64) {
		same(t, x)
		same(t, float32(x))
	})
}

// FuzzAny: `ntkd ctl --json` prints whatever JSON the daemon sent,
// decoded into an empty interface and indented.
func FuzzAny(f *testing.F) {
	for _, s := range []string{`null`, `{"a":[1,2,{"b":"<c>"}],"d":{},"e":[]}`, `[1e21,1e-7,-0,0.1,123456789012345678901234]`,
		`"\u2028\ud800"`, `{"z":1,"a":2,"é":3,"":4}`, `[[[[]]],{"x":{"y":{}}}]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, ok := anyOf(data)
		if !ok {
			return
		}
		same(t, v)
		same(t, jsondec.RawMessage(data))
	})
}
