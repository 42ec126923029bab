package config

import (
	"errors"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
)

const examplePath = "../../files/etc/ntkd.example.toml"

func readExample(t testing.TB) []byte {
	t.Helper()
	data, err := os.ReadFile(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestDefaultIsValid(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatalf("Default() does not validate:\n%v", err)
	}
	s, err := c.Scheme()
	if err != nil {
		t.Fatal(err)
	}
	if got := s.String(); got != "10.0.0.0/8 [8 8 8]" {
		t.Errorf("default scheme = %s", got)
	}
	if c.HasInterfaces() {
		t.Error("Default() has interfaces")
	}
	c.ANDNA.Names = append(c.ANDNA.Names, "x")
	c.Radar.Probes = 1
	if d := Default(); len(d.ANDNA.Names) != 0 || d.Radar.Probes != 16 {
		t.Error("Default() must return a fresh Config each time")
	}
}

func TestExampleIsDefault(t *testing.T) {
	c, err := Parse(examplePath, readExample(t))
	if err != nil {
		t.Fatalf("example does not parse:\n%v", err)
	}
	if !c.HasInterfaces() {
		t.Fatal("the example should show an [[interface]] block")
	}
	for _, in := range c.Interfaces {
		if !in.WifiMetrics {
			t.Errorf("example interface %q: wifi_metrics should show its default, true", in.Name)
		}
	}
	c.Interfaces = nil
	if len(c.VLayer.Links) != 1 || c.VLayer.Links[0].Keepalive != (&VLink{}).defaults().Keepalive {
		t.Errorf("the example should show one [[vlayer.link]] block with the default keepalive: %+v", c.VLayer.Links)
	}
	c.VLayer.Links = nil
	// The example shows an entry server and coordinates; by default there
	// are none.
	if len(c.VLayer.EntryServers) != 1 || c.VLayer.Latitude == nil || c.VLayer.Longitude == nil {
		t.Errorf("the example should show one [[vlayer.entry_server]] block and coordinates: %+v", c.VLayer)
	}
	c.VLayer.EntryServers, c.VLayer.Latitude, c.VLayer.Longitude = nil, nil, nil
	if want := Default(); !reflect.DeepEqual(c, want) {
		t.Errorf("example differs from Default():\n got %+v\nwant %+v", c, want)
	}
}

// tomlPaths lists the dotted key of every leaf of t, as the file spells it;
// an array of tables contributes its element's keys ("interface.name").
func tomlPaths(t reflect.Type, prefix string) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("toml")
		if tag == "" || tag == "-" {
			continue
		}
		key := prefix + tag
		ft := f.Type
		if ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct {
			ft = ft.Elem()
		}
		if ft.Kind() == reflect.Struct && ft != reflect.TypeFor[netip.Prefix]() {
			out = append(out, tomlPaths(ft, key+".")...)
			continue
		}
		out = append(out, key)
	}
	return out
}

// TestExampleCoversEveryKey keeps the example and Config from drifting: a
// new field must be shown in the example (and Parse already rejects keys
// the struct does not have).
func TestExampleCoversEveryKey(t *testing.T) {
	var doc map[string]any
	if _, err := toml.Decode(string(readExample(t)), &doc); err != nil {
		t.Fatal(err)
	}
	paths := tomlPaths(reflect.TypeFor[Config](), "")
	if len(paths) < 30 {
		t.Fatalf("only %d keys found: is the walk broken? %v", len(paths), paths)
	}
	for _, p := range paths {
		var v any = doc
		for _, k := range strings.Split(p, ".") {
			if arr, ok := v.([]map[string]any); ok && len(arr) > 0 {
				v = arr[0]
			}
			m, ok := v.(map[string]any)
			if !ok {
				v = nil
				break
			}
			v = m[k]
		}
		if v == nil {
			t.Errorf("key %s is missing from %s", p, examplePath)
		}
	}
	// Every key is explained: a comment on its line, or right above it
	// (above its table header for the first key of a table).
	lines := strings.Split(string(readExample(t)), "\n")
	for i, l := range lines {
		if !strings.Contains(l, "=") || strings.HasPrefix(l, "#") || strings.Contains(l, "#") {
			continue
		}
		j := i - 1
		for j >= 0 && strings.HasPrefix(lines[j], "[") {
			j--
		}
		if j < 0 || !strings.HasPrefix(lines[j], "#") {
			t.Errorf("%s:%d: %q has no comment", examplePath, i+1, l)
		}
	}
}

func TestSummary(t *testing.T) {
	c := Default()
	c.Interfaces = []Interface{{Name: "mesh0", WifiMetrics: true}, {Name: "eth1"}}
	c.Kernel.Table = 100
	c.DNS.Enabled = true
	c.ANDNA.Names = []string{"myrouter"}
	c.MemoryLimit = 12 * MiB
	c.GOGC = -1
	s := c.Summary()
	for _, want := range []string{
		"interfaces: mesh0, eth1 (no wifi metrics)",
		"10.0.0.0/8, 3 levels of 8/8/8 bits",
		"radar 269/udp, stream 269/tcp, andna 277/udp+tcp",
		"hello every 5s, 16-probe burst for new neighbours, timeout 500ms",
		"round 1m",
		"table 100 (ip rule priority 1000), proto 15",
		"records live 72h",
		"names myrouter",
		"on 127.0.0.1:5373, .ntk names, other names refused",
		"limit 12MiB, gogc off",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("summary lacks %q:\n%s", want, s)
		}
	}
	if got := Default().Summary(); !strings.Contains(got, "interfaces: none") {
		t.Errorf("summary without interfaces:\n%s", got)
	}
}

func TestScheme(t *testing.T) {
	for _, tc := range []struct {
		prefix string
		bits   []uint8
		want   string
	}{
		{"10.0.0.0/8", nil, "10.0.0.0/8 [8 8 8]"},
		{"172.16.0.0/12", nil, "172.16.0.0/12 [8 8 4]"},
		{"fd00::/8", nil, "fd00::/8 [8 8 8 8 8 8 8 8 8 8 8 8 8 8 8]"},
		{"10.0.0.0/8", []uint8{4, 4}, "10.0.0.0/8 [4 4]"},
	} {
		c := Default()
		c.Address.Prefix = netip.MustParsePrefix(tc.prefix)
		c.Address.BitsPerLevel = tc.bits
		if err := c.Validate(); err != nil {
			t.Errorf("%s %v: %v", tc.prefix, tc.bits, err)
			continue
		}
		s, err := c.Scheme()
		if err != nil {
			t.Fatal(err)
		}
		if s.String() != tc.want {
			t.Errorf("%s %v: scheme %s, want %s", tc.prefix, tc.bits, s, tc.want)
		}
	}
}

func TestSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Size
		str  string
	}{
		{"0", 0, "0"},
		{"0B", 0, "0"},
		{"100B", 100, "100B"},
		{"512KiB", 512 * KiB, "512KiB"},
		{"6MiB", 6 * MiB, "6MiB"},
		{"6 MiB", 6 * MiB, "6MiB"},
		{"1536KiB", 1536 * KiB, "1536KiB"},
		{"2048KiB", 2 * MiB, "2MiB"},
		{"1GiB", GiB, "1GiB"},
		{"8589934591GiB", 8589934591 * GiB, "8589934591GiB"},
	} {
		got, err := ParseSize(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
			continue
		}
		if got.String() != tc.str {
			t.Errorf("Size(%d).String() = %q, want %q", got, got.String(), tc.str)
		}
		if back, err := ParseSize(got.String()); err != nil || back != got {
			t.Errorf("round trip of %q: %d, %v", tc.in, back, err)
		}
	}
	for _, bad := range []string{"", "6", "6MB", "6mib", "6M", "1.5MiB", "-1MiB", "MiB", "8589934592GiB", "99999999999999999999B", "6MiB6"} {
		if n, err := ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q) = %d, want an error", bad, n)
		}
	}
}

func TestShortDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		72 * time.Hour: "72h", time.Minute: "1m", 90 * time.Second: "1m30s",
		time.Hour + time.Second: "1h0m1s", 500 * time.Millisecond: "500ms", 5 * time.Second: "5s",
	} {
		if got := shortDuration(d); got != want {
			t.Errorf("shortDuration(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "nope.toml")
	if _, err := Load(missing); !errors.Is(err, fs.ErrNotExist) || !strings.HasPrefix(err.Error(), missing+": ") {
		t.Errorf("missing file: %v", err)
	}

	good := filepath.Join(dir, "good.toml")
	if err := os.WriteFile(good, []byte("[[interface]]\nname = \"wlan0\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(good)
	if err != nil || len(c.Interfaces) != 1 || c.Interfaces[0].Name != "wlan0" {
		t.Fatalf("Load(good) = %+v, %v", c, err)
	}

	bad := filepath.Join(dir, "bad.toml")
	if err := os.WriteFile(bad, []byte("[radar]\nprobes = 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Load(bad)
	if err == nil || !strings.HasPrefix(err.Error(), bad+":2:1: radar.probes: ") {
		t.Errorf("Load(bad) = %v", err)
	}

	big := filepath.Join(dir, "big.toml")
	if err := os.WriteFile(big, make([]byte, maxFileSize+1), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(big); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("Load(big) = %v", err)
	}
}

func TestErrorString(t *testing.T) {
	for _, tc := range []struct {
		e    Error
		want string
	}{
		{Error{File: "f.toml", Line: 3, Col: 7, Key: "radar.interval", Msg: "bad"}, "f.toml:3:7: radar.interval: bad"},
		{Error{File: "f.toml", Line: 3, Key: "radar.interval", Msg: "bad"}, "f.toml:3: radar.interval: bad"},
		{Error{File: "f.toml", Key: "radar.interval", Msg: "bad"}, "f.toml: radar.interval: bad"},
		{Error{File: "f.toml", Line: 2, Col: 1, Msg: "syntax"}, "f.toml:2:1: syntax"},
		{Error{Line: 2, Col: 1, Key: "k", Msg: "m"}, "2:1: k: m"},
		{Error{Key: "k", Msg: "m"}, "k: m"},
	} {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
	errs := Errors{{Key: "a", Msg: "x"}, {Key: "b", Msg: "y"}}
	if got := errs.Error(); got != "a: x\nb: y" {
		t.Errorf("Errors.Error() = %q", got)
	}
	var e *Error
	if !errors.As(error(errs), &e) || e.Key != "a" {
		t.Errorf("errors.As(Errors, *Error) = %v", e)
	}
}
