package jsondec_test

import (
	"encoding"
	"encoding/json"
	"fmt"
	"math/rand"
	"reflect"
	"strings"
	"testing"
	"testing/quick"

	"github.com/ntkd/ntkd/internal/ctl"
	"github.com/ntkd/ntkd/internal/jsondec"
)

// targets are the Go values the control socket decodes, plus a few shapes
// that exercise the rest of the subset.
var targets = map[string]func() any{
	"any":          func() any { return new(any) },
	"request":      func() any { return new(ctl.Request) },
	"response":     func() any { return new(ctl.Response) },
	"status":       func() any { return new(ctl.Status) },
	"neighbours":   func() any { return new([]ctl.Neighbour) },
	"maps":         func() any { return new([]ctl.Level) },
	"routes":       func() any { return new(ctl.Routes) },
	"qspn":         func() any { return new(ctl.QSPN) },
	"counters":     func() any { return new(ctl.Counters) },
	"vlinks":       func() any { return new(ctl.VLinks) },
	"andna-name":   func() any { return new(ctl.ANDNAName) },
	"andna-list":   func() any { return new([]ctl.ANDNAName) },
	"andna-res":    func() any { return new(ctl.ANDNAResolution) },
	"andna-cache":  func() any { return new([]ctl.ANDNARecord) },
	"andna-counts": func() any { return new([]ctl.ANDNACounter) },
	"misc":         func() any { return new(misc) },
	"int":          func() any { return new(int) },
	"string":       func() any { return new(string) },
	"pointers":     func() any { return new(**int8) },
	"raw":          func() any { return new(jsondec.RawMessage) },
	"map-any":      func() any { return new(map[string]any) },
	"slice-any":    func() any { return new([]any) },
}

// misc has the kinds the ctl schema does not use but the subset covers.
type misc struct {
	I8     int8                `json:"i8"`
	U16    uint16              `json:"u16"`
	F32    float32             `json:"f32"`
	Ptr    *misc               `json:"ptr"`
	Any    any                 `json:"any"`
	Raw    jsondec.RawMessage  `json:"raw"`
	RawPtr *jsondec.RawMessage `json:"raw_ptr"`
	Map    map[string]*int     `json:"map"`
	Nested map[string][]misc   `json:"nested"`
	Strs   []string            `json:"strs,omitempty"`
	NoTag  string
	Skip   string `json:"-"`
	Dash   string `json:"-,"`
	Shadow string `json:"notag"` // folds like NoTag: the first field in order wins
	hidden string
	Iface  fmt.Stringer `json:"iface"`
	Chan   chan int     `json:"chan"`
}

func errText(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// same decodes data into a fresh value of each target with encoding/json
// and with jsondec, and fails unless both give the same value and the same
// error text.
func same(t *testing.T, data []byte, names ...string) {
	t.Helper()
	if len(names) == 0 {
		for name := range targets {
			names = append(names, name)
		}
	}
	for _, name := range names {
		want, got := targets[name](), targets[name]()
		sameInto(t, data, name, want, got)
	}
}

func sameInto(t *testing.T, data []byte, name string, want, got any) {
	t.Helper()
	werr := json.Unmarshal(data, want)
	gerr := jsondec.Unmarshal(data, got)
	if errText(werr) != errText(gerr) {
		t.Fatalf("%s: %q:\n encoding/json: %v\n jsondec:       %v", name, data, werr, gerr)
	}
	if !reflect.DeepEqual(want, got) {
		t.Fatalf("%s: %q:\n encoding/json: %#v\n jsondec:       %#v", name, data, deref(want), deref(got))
	}
}

func deref(v any) any { return reflect.ValueOf(v).Elem().Interface() }

var cases = []string{
	``, ` `, `null`, `true`, `false`, `0`, `-0`, `1`, `-1.5e3`, `1E+2`, `12345678901234567890`,
	`9223372036854775807`, `-9223372036854775808`, `9223372036854775808`, `1e400`, `-1e400`, `4.9e-325`,
	`1.`, `1.e5`, `01`, `-`, `-a`, `1e`, `1e+`, `1ex`, `.5`, `+1`, `0x10`, `1.5.3`, `Infinity`, `NaN`,
	`""`, `"abc"`, `"a\"b\\c\/d\b\f\n\r\t"`, `"\u00e9\u20AC"`, `"\ud83d\ude00"`, `"\ud83d"`, `"\ud83dx"`,
	`"\ude00\ud83d"`, `"\ud83d\u0041"`, `"\ud83d\ud83d\ude00"`, `"\u12"`, `"\u12g4"`, `"\x"`, `"\'"`, `"\`,
	`"abc`, "\"a\x01b\"", "\"\xff\xfe\"", "\"\xc3\\u00a9\"", "\"\xe2\x82\"", "\xef\xbb\xbf{}", "\"é\x80\"",
	`tru`, `trux`, `fals`, `nul`, `nulL`, `True`, `t`, `n`, `f`, `[`, `]`, `{`, `}`, `[1,]`, `[,1]`, `[1 2]`,
	`{"a"}`, `{"a" 1}`, `{"a":}`, `{"a":1,}`, `{,}`, `{1:2}`, `{"a":1 "b":2}`, `[1]x`, `{} {}`, "[\n1\t,\r2 ]",
	`[]`, `{}`, `[[]]`, `[{}]`, `{"a":[1,2,{"b":null}]}`, `[null,true,false,"x",1.5]`,
	`{"cmd":"status","level":2,"arg":"x"}`, `{"CMD":"status","Level":-1}`, `{"cmd":"a","CMD":"b","cMd":"c"}`,
	`{"cmd":5}`, `{"level":"2"}`, `{"level":1.5}`, `{"level":1e2}`, `{"level":99999999999999999999}`,
	`{"cmd":null,"level":null}`, `{"unknown":{"deep":[1,2,3]},"cmd":"x"}`, `{"cmd":["a"]}`, `{"cmd":{}}`,
	`{"error":"boom"}`, `{"data":{"x": [1, 2]}}`, `{"data":null}`, `{"data": "s" }`, `{"error":1,"data":2}`,
	`{"version":"v","pid":1,"uptime_s":2.5,"gnodes":[{"level":0,"id":3,"nonce":4294967295,"members":1}],"memory":{"limit":9223372036854775807}}`,
	`{"gnodes":[{"level":"x"},{"nonce":-1}]}`, `{"memory":{"heap_alloc":-1,"gc_cycles":4294967296}}`,
	`[{"interface":"eth0","wifi":{"signal_dbm":-60,"tx_bitrate":1e6}},{"wifi":null},{"WIFI":{}}]`,
	`{"sent":{"echo":{"packets":1,"bytes":2}},"dropped":{"x":1,"y":-1},"kernel":{"syncs":"no"}}`,
	`{"rounds_wanted":null,"rehook_why":{"a":1.5}}`, `{"sent":[]}`, `{"sent":"x","received":{"a":[]}}`,
	`{"i8":127,"u16":65535,"f32":3.4e38}`, `{"i8":128,"u16":-1,"f32":3.5e38}`, `{"ptr":{"ptr":{"i8":1}}}`,
	`{"any":{"a":[1,"b",null,{"c":1e400}]},"raw":  [1, 2 ] ,"raw_ptr":null}`, `{"raw":null,"raw_ptr":{"a":1}}`,
	`{"map":{"a":1,"b":null,"a":2}}`, `{"nested":{"x":[{"i8":1},{"NESTED":{}}]}}`, `{"NoTag":"a","notag":"b"}`,
	`{"notag":"b"}`, `{"Skip":"x","-":"y","skip":"z"}`, `{"hidden":"h"}`, `{"iface":"s"}`, `{"iface":null}`,
	`{"iface":1}`, `{"iface":1e999}`, `{"iface":{}}`, `{"iface":[]}`, `{"iface":true}`, `{"chan":{}}`,
	`{"chan":[1]}`, `{"chan":null}`, `{"strs":["a",1,"b"]}`, `{"strs":null}`, `{"strs":[]}`, `{"i8":true}`,
	`{"\u0069\u0038":5}`, `{"I8":6}`, `{"i\u212a":1}`, `{"ſtrs":["x"]}`, `{"a\ud800":1}`,
}

func TestSameAsEncodingJSON(t *testing.T) {
	for _, c := range cases {
		same(t, []byte(c))
	}
}

// TestTruncated cuts documents at every byte, and flips single bytes: the
// syntax errors must read the same as encoding/json's.
func TestTruncated(t *testing.T) {
	docs := []string{
		`{"cmd":"status","level":-1,"arg":"a\u00e9\"\\"}`,
		`{"a":[true,false,null,-1.5e+3,{"b":"\ud83d\ude00"}],"c":{}}`,
		`[{"interface":"wlan0","wifi":{"signal_dbm":-60,"retry_ratio":0.25}}]`,
	}
	for _, doc := range docs {
		for i := range len(doc) {
			same(t, []byte(doc[:i]), "any", "request", "neighbours")
			for _, c := range []byte(" \"\\{}[],:0-eE.tnu\x00\xff") {
				b := []byte(doc)
				b[i] = c
				same(t, b, "any", "request", "neighbours")
			}
		}
	}
}

func TestDepth(t *testing.T) {
	for _, n := range []int{9999, 10000, 10001} {
		same(t, []byte(strings.Repeat("[", n)+strings.Repeat("]", n)), "any", "slice-any", "raw", "request")
		same(t, []byte(strings.Repeat(`{"a":`, n)+"1"+strings.Repeat("}", n)), "any", "map-any", "request")
	}
}

// TestSchemaRoundTrip marshals random values of every answer type and
// decodes them both ways.
func TestSchemaRoundTrip(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for name, newV := range targets {
		switch name {
		case "misc", "any", "raw", "pointers", "map-any", "slice-any":
			continue // not generated: interfaces, channels, raw JSON
		}
		typ := reflect.TypeOf(newV()).Elem()
		for range 200 {
			v, ok := quick.Value(typ, r)
			if !ok {
				t.Fatalf("%s: cannot generate %v", name, typ)
			}
			if resp, ok := v.Interface().(ctl.Response); ok {
				// Raw data must be JSON: a random answer's.
				s, _ := quick.Value(reflect.TypeFor[ctl.Status](), r)
				resp.Data, _ = json.Marshal(s.Interface())
				v = reflect.ValueOf(resp)
			}
			data, err := json.Marshal(v.Interface())
			if err != nil {
				t.Fatal(err)
			}
			same(t, data, name, "any")
		}
	}
}

// TestIntoUsedValues decodes a second document over the result of a first,
// which shows how maps, slices and pointers are reused.
func TestIntoUsedValues(t *testing.T) {
	docs := []string{
		`{"map":{"a":1},"strs":["x","y","z"],"ptr":{"i8":1,"u16":2},"any":{"k":1},"nested":{"n":[{"i8":1},{"u16":2}]}}`,
		`{"map":{"b":2},"strs":["q"],"ptr":{"i8":3},"any":[1],"nested":{"n":[{"u16":5}]}}`,
		`{"map":null,"strs":[],"ptr":null,"any":null,"nested":{}}`,
		`{"ptr":{"ptr":{}},"i8":"x","u16":1}`,
	}
	for _, a := range docs {
		for _, b := range docs {
			want, got := new(misc), new(misc)
			sameInto(t, []byte(a), "misc", want, got)
			sameInto(t, []byte(b), "misc", want, got)
		}
	}
	// An interface holding a pointer is decoded through the pointer.
	var n1, n2 int
	var want, got any = &n1, &n2
	sameInto(t, []byte(`5`), "any->*int", &want, &got)
	sameInto(t, []byte(`null`), "any->*int", &want, &got)
}

// TestSchemaInSubset checks that the control socket's types use only what
// jsondec decodes as encoding/json does (see the package comment).
func TestSchemaInSubset(t *testing.T) {
	unmarshaler := reflect.TypeFor[json.Unmarshaler]()
	text := reflect.TypeFor[encoding.TextUnmarshaler]()
	seen := map[reflect.Type]bool{}
	var check func(typ reflect.Type, path string)
	check = func(typ reflect.Type, path string) {
		if seen[typ] {
			return
		}
		seen[typ] = true
		if typ == reflect.TypeFor[jsondec.RawMessage]() {
			return
		}
		if typ.Kind() == reflect.Pointer {
			check(typ.Elem(), path) // its methods are its element's
			return
		}
		if typ.Implements(unmarshaler) || typ.Implements(text) ||
			reflect.PointerTo(typ).Implements(unmarshaler) || reflect.PointerTo(typ).Implements(text) {
			t.Errorf("%s: %v has its own unmarshaling methods", path, typ)
		}
		switch typ.Kind() {
		case reflect.Slice:
			if typ.Elem().Kind() == reflect.Uint8 {
				t.Errorf("%s: []byte", path)
			}
			check(typ.Elem(), path+"[]")
		case reflect.Map:
			if typ.Key().Kind() != reflect.String {
				t.Errorf("%s: map key %v", path, typ.Key())
			}
			check(typ.Elem(), path+"{}")
		case reflect.Array:
			t.Errorf("%s: array %v", path, typ)
		case reflect.Interface:
			if typ.NumMethod() > 0 {
				t.Errorf("%s: interface %v", path, typ)
			}
		case reflect.Struct:
			for i := range typ.NumField() {
				f := typ.Field(i)
				tag := f.Tag.Get("json")
				name, opts, _ := strings.Cut(tag, ",")
				switch {
				case f.Anonymous:
					t.Errorf("%s: embedded %s", path, f.Name)
				case opts != "" && opts != "omitempty":
					t.Errorf("%s.%s: tag options %q", path, f.Name, opts)
				case strings.Trim(name, "abcdefghijklmnopqrstuvwxyz0123456789_") != "":
					t.Errorf("%s.%s: tag name %q", path, f.Name, name)
				}
				check(f.Type, path+"."+f.Name)
			}
		case reflect.Chan, reflect.Func, reflect.Complex64, reflect.Complex128, reflect.UnsafePointer:
			t.Errorf("%s: %v", path, typ)
		}
	}
	for name, newV := range targets {
		if name != "misc" && name != "pointers" {
			check(reflect.TypeOf(newV()), name)
		}
	}
}

func TestUnmarshalInvalid(t *testing.T) {
	var n int
	for _, v := range []any{nil, n, (*int)(nil)} {
		if got, want := errText(jsondec.Unmarshal([]byte(`1`), v)), errText(json.Unmarshal([]byte(`1`), v)); got != want {
			t.Errorf("Unmarshal(%#v) = %s, encoding/json says %s", v, got, want)
		}
	}
}

func TestTruncatedHelper(t *testing.T) {
	var v any
	if err := jsondec.Unmarshal([]byte(`{"a":[1,`), &v); !jsondec.Truncated(err) {
		t.Errorf("a cut document: Truncated(%v) = false", err)
	}
	if err := jsondec.Unmarshal([]byte(`{"a":]`), &v); jsondec.Truncated(err) {
		t.Errorf("an invalid document: Truncated(%v) = true", err)
	}
}

// FuzzUnmarshal compares jsondec with encoding/json on any input.
func FuzzUnmarshal(f *testing.F) {
	for _, c := range cases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		same(t, data, "any", "request", "status", "neighbours", "counters", "misc")
	})
}
