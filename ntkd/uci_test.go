package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ntkd/ntkd/internal/config"
)

// renderUCI writes text as a UCI file and runs uci-render on it.
func renderUCI(t *testing.T, text string, args ...string) (code int, stdout, stderr, toml, uciPath string) {
	t.Helper()
	dir := t.TempDir()
	uciPath = filepath.Join(dir, "ntkd")
	out := filepath.Join(dir, "ntkd.toml")
	if err := os.WriteFile(uciPath, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = run(t, append([]string{"uci-render", "-c", uciPath, "-o", out}, args...)...)
	if b, err := os.ReadFile(out); err == nil {
		toml = string(b)
	}
	return
}

const fullUCI = `
config ntkd 'main'
	option enabled '1'
	option log_level 'debug'
	option memory_limit '12MiB'
	option gogc '50'
	list interface 'mesh'
	list interface 'eth2'
	list interface 'later'
	option wifi_metrics 'no'
	option prefix 'fd00::/8'
	list bits_per_level '8'
	list bits_per_level '8'
	option table '100'

config andna 'andna'
	list name 'myrouter'
	list name "files.myrouter"

config dns 'dns'
	option enabled 'yes'
	option upstream '127.0.0.1:53'

config vlayer 'vlayer'
	option enabled 'on'
	option internet 'wan'

config vlink
	option public_key 'FfYCXBOnNccsIra4nFZjnrm0oSN5vXHSCVwnFj+icIw='
	option listen_port '27000'
	option endpoint '198.51.100.7:27000'

config vlink 'off'
	option enabled '0'
	option public_key 'not even checked'

config vlink
	option name 'tun_b'
	option public_key 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg='
	option keepalive '0s'
`

func TestUCIRender(t *testing.T) {
	code, stdout, stderr, toml, _ := renderUCI(t, fullUCI, "mesh=wlan0-mesh", "later=", "wan=eth0")
	if code != exitOK || stderr != "" {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	wantTOML := `log_level = "debug"
memory_limit = "12MiB"
gogc = 50
address.prefix = "fd00::/8"
address.bits_per_level = [8, 8]
kernel.table = "100"
andna.names = ["myrouter", "files.myrouter"]
dns.enabled = true
dns.upstream = "127.0.0.1:53"
vlayer.enabled = true

[[interface]]
name = "wlan0-mesh"
wifi_metrics = false

[[interface]]
name = "eth2"
wifi_metrics = false

[[vlayer.link]]
public_key = "FfYCXBOnNccsIra4nFZjnrm0oSN5vXHSCVwnFj+icIw="
listen_port = 27000
endpoint = "198.51.100.7:27000"

[[vlayer.link]]
name = "tun_b"
public_key = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="
keepalive = "0s"
`
	if _, body, _ := strings.Cut(toml, "\n"); body != wantTOML {
		t.Errorf("TOML:\n%s\nwant:\n%s", body, wantTOML)
	}
	if !strings.HasPrefix(toml, "# Generated from ") {
		t.Errorf("no header: %q", toml)
	}
	wantFacts := `skipped later
mesh wlan0-mesh
mesh eth2
mesh ntkv0
mesh tun_b
udp 269
tcp 269
udp 277
tcp 277
vlayer_udp 27000
gomemlimit 12MiB
gogc 50
`
	if stdout != wantFacts {
		t.Errorf("stdout:\n%s\nwant:\n%s", stdout, wantFacts)
	}
	// What the daemon will read is what was checked.
	cfg, err := config.Parse("rendered", []byte(toml))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Kernel.Table != 100 || cfg.DNS.Upstream != "127.0.0.1:53" || len(cfg.VLayer.Links) != 2 || cfg.Interfaces[1].WifiMetrics {
		t.Errorf("config: %+v", cfg)
	}

	code, stdout, _, _, _ = renderUCI(t, fullUCI, "--networks")
	if want := "enabled 1\nnetwork mesh\nnetwork eth2\nnetwork later\ninternet wan\n"; code != exitOK || stdout != want {
		t.Errorf("--networks: %d\n%s\nwant:\n%s", code, stdout, want)
	}
}

// The shipped /etc/config/ntkd renders: disabled, no interface.
func TestUCIRenderShipped(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "files", "etc", "config", "ntkd"))
	if err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr, toml, _ := renderUCI(t, string(data), "--networks")
	if code != exitOK || stdout != "enabled 0\ninternet wan\n" || stderr != "" || toml != "" {
		t.Errorf("--networks: %d %q %q %q", code, stdout, stderr, toml)
	}
	code, stdout, stderr, toml, _ = renderUCI(t, string(data))
	if code != exitOK || stderr != "" || strings.Contains(stdout, "mesh ") {
		t.Fatalf("render: %d %q %q", code, stdout, stderr)
	}
	cfg, err := config.Parse("shipped", []byte(toml))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HasInterfaces() || cfg.VLayer.Enabled || !cfg.DNS.Enabled {
		t.Errorf("shipped config: interfaces %v, vlayer %v, dns %v", cfg.Interfaces, cfg.VLayer.Enabled, cfg.DNS.Enabled)
	}
}

func TestUCIRenderErrors(t *testing.T) {
	for _, tc := range []struct{ uci, want string }{
		{"config ntkd 'main'\n\toption prefix '11.0.0.0/8'\n",
			"F:2:16: ntkd.main.prefix: 11.0.0.0/8: prefix is not inside 10.0.0.0/8, 172.16.0.0/12 or fc00::/7 (restricted mode)\n"},
		{"config ntkd 'main'\n\toption enabled 'maybe'\n",
			`F:2:17: ntkd.main.enabled: "maybe" is not a boolean (1/0, yes/no, on/off, true/false)` + "\n"},
		{"config ntkd 'main'\n\toption gogc 'lots'\n\toption colour 'blue'\n",
			"F:2:14: ntkd.main.gogc: \"lots\" is not a whole number\nF:3:9: ntkd.main.colour: unknown option\n"},
		{"config ntkd 'main'\n\tlist log_level 'info'\n",
			"F:2:7: ntkd.main.log_level: one value: option, not list\n"},
		{"config frob\n", "F:1:1: ntkd.@frob[0]: unknown section type (want ntkd, andna, dns, vlayer, vlink)\n"},
		{"config dns\nconfig dns 'again'\n", "F:2:1: ntkd.again: a second dns section\n"},
		{"config ntkd 'main'\n\tlist interface 'two words'\n",
			"F:2:17: ntkd.main.interface: \"two words\" holds a space, quote or control character\n"},
		{"config ntkd 'main'\n\tlist interface 'eth0'\n\tlist interface 'a/b'\n",
			"F:3:17: ntkd.main.interface: \"a/b\": interface names cannot contain '/'\n"},
		{"config ntkd 'main'\n\toption memory_limit '1MiB'\n",
			"F:2:22: ntkd.main.memory_limit: 1MiB is too small: use \"0\" for no limit or at least 4MiB\n"},
		{"config andna\n\tlist name 'ok'\n\tlist name 'Bad'\n",
			"F:3:12: ntkd.@andna[0].name: \"Bad\": must be lowercase\n"},
		{"config vlayer\n\toption enabled '1'\nconfig vlink\n\toption listen_port '27000'\n",
			"F:3:1: ntkd.@vlink[0].public_key: missing: the other vnode's tunnel public key (base64, as wg pubkey prints it)\n"},
		{"config ntkd main\n\toption prefix '10.0.0.0/8\n", "F:2:16: unterminated '\n"},
	} {
		dir := t.TempDir()
		in, out := filepath.Join(dir, "F"), filepath.Join(dir, "ntkd.toml")
		if err := os.WriteFile(in, []byte(tc.uci), 0o644); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(out, []byte("previous"), 0o644)
		code, stdout, stderr := run(t, "uci-render", "-c", in, "-o", out)
		got := strings.ReplaceAll(stderr, in, "F")
		if code != exitFail || got != tc.want || stdout != "" {
			t.Errorf("%q: exit %d, stdout %q, stderr:\n%s\nwant:\n%s", tc.uci, code, stdout, got, tc.want)
		}
		if b, _ := os.ReadFile(out); string(b) != "previous" {
			t.Errorf("%q: the old TOML was replaced by %q", tc.uci, b)
		}
	}
}

func TestUCIRenderUsage(t *testing.T) {
	// Settings this ntkd does not have yet are unknown options.
	code, _, stderr, toml, path := renderUCI(t, "config vlayer\n\toption latitude '45.4'\n")
	if want := path + ":2:9: ntkd.@vlayer[0].latitude: unknown option\n"; code != exitFail || stderr != want || toml != "" {
		t.Errorf("exit %d, toml %q, stderr:\n%s\nwant:\n%s", code, toml, stderr, want)
	}
	// Control characters cannot reach the TOML.
	code, _, stderr, _, _ = renderUCI(t, "config dns\n\toption suffix 'a\nb'\n")
	if code != exitFail || !strings.Contains(stderr, ":2:16: ntkd.@dns[0].suffix: \"a\\nb\" holds a space, quote or control character") {
		t.Errorf("newline in a value: exit %d, stderr %q", code, stderr)
	}
	if code, _, _ := run(t, "uci-render", "--bogus"); code != exitUsage {
		t.Errorf("bad flag: exit %d", code)
	}
	if code, _, stderr := run(t, "uci-render", "-c", "/nonexistent/ntkd"); code != exitFail || !strings.Contains(stderr, "no such file") {
		t.Errorf("missing file: exit %d %q", code, stderr)
	}
}
