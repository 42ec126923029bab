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

config igs 'igs'
	option share_internet '1'
	option uplink 'wan'
	option bandwidth '50000'
	list probe '203.0.113.1:80'
	list probe '[2001:db8::1]:443'
	option probe_interval '30s'
	option use_gateways 'no'
	option max_gateways '3'
	option table '120'
	option rule_priority '40000'
	option port '4800'

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
igs.share_internet = true
igs.bandwidth = 50000
igs.probe = ["203.0.113.1:80", "[2001:db8::1]:443"]
igs.probe_interval = "30s"
igs.use_gateways = false
igs.max_gateways = 3
igs.table = 120
igs.rule_priority = 40000
igs.port = 4800
igs.uplink = "eth0"

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
igs_udp 4800
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
	if g := cfg.IGS; !g.ShareInternet || g.Uplink != "eth0" || g.UseGateways || len(g.Probe) != 2 || g.ProbeInterval.String() != "30s" || g.Port != 4800 {
		t.Errorf("igs: %+v", g)
	}

	code, stdout, _, _, _ = renderUCI(t, fullUCI, "--networks")
	if want := "enabled 1\nnetwork mesh\nnetwork eth2\nnetwork later\ninternet wan\nuplink wan\n"; code != exitOK || stdout != want {
		t.Errorf("--networks: %d\n%s\nwant:\n%s", code, stdout, want)
	}
}

// The networks of a section that is off are neither resolved nor watched
// (the vlayer's internet, the uplink while share_internet is off); the
// uplink is then not in the TOML either.
func TestUCIRenderNetworksOff(t *testing.T) {
	for _, tc := range []struct{ uci, nets, toml string }{
		{"config vlayer\n\toption internet 'wan'\n", "", ""},
		{"config vlayer\n\toption internet 'wan'\n\toption enabled '0'\n", "", "vlayer.enabled = false\n"},
		// The switch after the network: still on.
		{"config vlayer\n\toption internet 'wan'\n\toption enabled '1'\n", "internet wan\n", "vlayer.enabled = true\n"},
		{"config igs\n\toption uplink 'wan'\n", "", ""},
		{"config igs\n\toption uplink 'wan'\n\toption share_internet 'off'\n", "", "igs.share_internet = false\n"},
		{"config igs\n\toption share_internet '1'\n\toption uplink 'wwan'\n", "uplink wwan\n",
			"igs.share_internet = true\nigs.uplink = \"wwan0\"\n"},
		// Not up yet: the daemon takes the default route's device.
		{"config igs\n\toption share_internet '1'\n\toption uplink 'lte'\n", "uplink lte\n", "igs.share_internet = true\n"},
		// A device name (no NET=DEV for it) stays as it is.
		{"config igs\n\toption share_internet '1'\n\toption uplink 'eth1'\n", "uplink eth1\n",
			"igs.share_internet = true\nigs.uplink = \"eth1\"\n"},
		// Empty: nothing to resolve.
		{"config igs\n\toption share_internet '1'\n\toption uplink ''\n", "", "igs.share_internet = true\n"},
	} {
		main := "config ntkd 'main'\n\toption enabled '1'\n\tlist interface 'eth0'\n"
		code, stdout, stderr, _, _ := renderUCI(t, main+tc.uci, "--networks")
		if want := "enabled 1\nnetwork eth0\n" + tc.nets; code != exitOK || stdout != want || stderr != "" {
			t.Errorf("%q --networks: %d %q, want %q; stderr %q", tc.uci, code, stdout, want, stderr)
		}
		code, stdout, stderr, toml, _ := renderUCI(t, main+tc.uci, "wwan=wwan0", "lte=")
		_, body, _ := strings.Cut(toml, "\n")
		if want := tc.toml + "\n[[interface]]\nname = \"eth0\"\n"; code != exitOK || body != want {
			t.Errorf("%q: %d %q, TOML:\n%s\nwant:\n%s", tc.uci, code, stderr, body, want)
		}
		if got, want := strings.Contains(stdout, "igs_udp 4790\n"), strings.Contains(tc.toml, "share_internet = true"); got != want {
			t.Errorf("%q: igs_udp fact %v, want %v:\n%s", tc.uci, got, want, stdout)
		}
	}
}

// The shipped /etc/config/ntkd renders: disabled, no interface.
func TestUCIRenderShipped(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "files", "etc", "config", "ntkd"))
	if err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr, toml, _ := renderUCI(t, string(data), "--networks")
	if code != exitOK || stdout != "enabled 0\n" || stderr != "" || toml != "" {
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
	// IGS: a client, not a gateway, with the daemon's defaults.
	if g, d := cfg.IGS, config.Default().IGS; g.ShareInternet || !g.UseGateways || g.Uplink != "" || g.Bandwidth != d.Bandwidth ||
		g.ProbeInterval != d.ProbeInterval || g.MaxGateways != d.MaxGateways || g.Table != d.Table || g.Port != d.Port {
		t.Errorf("shipped igs: %+v", g)
	}
	// [limits]: a section with every option commented out, the defaults.
	if cfg.Limits != config.Default().Limits {
		t.Errorf("shipped limits: %+v, want %+v", cfg.Limits, config.Default().Limits)
	}
	// Its commented-out values are the defaults: uncommented, all of them
	// render to the same limits.
	head, rest, ok := strings.Cut(string(data), "config limits 'limits'\n")
	sect, tail, _ := strings.Cut(rest, "\n\n")
	if !ok || strings.Count(sect, "\t#option ") != 11 {
		t.Fatalf("no limits section with the 11 options commented out:\n%s", sect)
	}
	text := head + "config limits 'limits'\n" + strings.ReplaceAll(sect, "\t#option ", "\toption ") + "\n\n" + tail
	code, _, stderr, toml, _ = renderUCI(t, text)
	if code != exitOK || stderr != "" || strings.Count(toml, "limits.") != 11 {
		t.Fatalf("uncommented: %d %q\n%s", code, stderr, toml)
	}
	if cfg, err = config.Parse("uncommented", []byte(toml)); err != nil || cfg.Limits != config.Default().Limits {
		t.Errorf("uncommented limits: %+v (%v), want %+v", cfg.Limits, err, config.Default().Limits)
	}
	// The vlayer section's commented-out entry options render too.
	head, rest, ok = strings.Cut(string(data), "config vlayer 'vlayer'\n")
	sect, tail, _ = strings.Cut(rest, "\n\n")
	if !ok || strings.Count(sect, "\t#option ")+strings.Count(sect, "\t#list ") != 5 {
		t.Fatalf("no vlayer section with the 5 entry options commented out:\n%s", sect)
	}
	sect = strings.ReplaceAll(strings.ReplaceAll(sect, "\t#option ", "\toption "), "\t#list ", "\tlist ")
	code, _, stderr, toml, _ = renderUCI(t, head+"config vlayer 'vlayer'\n"+sect+"\n\n"+tail)
	if code != exitOK || stderr != "" {
		t.Fatalf("uncommented vlayer: %d %q\n%s", code, stderr, toml)
	}
	if cfg, err = config.Parse("uncommented", []byte(toml)); err != nil || len(cfg.VLayer.EntryServers) != 1 || cfg.VLayer.Latitude == nil {
		t.Errorf("uncommented vlayer: %+v (%v)", cfg.VLayer, err)
	}
}

// A vlayer section's entry options: each entry_server value to a
// [[vlayer.entry_server]], the coordinates to TOML floats, and the daemon
// reads them.
func TestUCIRenderEntry(t *testing.T) {
	uciText := `
config vlayer 'vlayer'
	option enabled '1'
	list entry_server '198.51.100.2:27100 A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg='
	list entry_server "[2001:db8::2]:27100  eW4Yy+wRTnVe5m4QqrqGWKOhwBwTqFYR1q2ReLYb9ak="
	option latitude '45'
	option longitude '-9.190000'
	option endpoint '203.0.113.5:27000'
	option entry_node 'on'
`
	code, stdout, stderr, toml, _ := renderUCI(t, uciText)
	if code != exitOK || stderr != "" {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	// The firewall opens the ports of virtual hooking's tunnels (above
	// the endpoint's) and its TCP port for requests: an entry node's
	// hooks, any vnode's link swaps.
	if !strings.Contains(stdout, "vlayer_udp 27001-27016\n") || !strings.Contains(stdout, "vlayer_tcp 27000\n") {
		t.Errorf("facts without the virtual hook's ports:\n%s", stdout)
	}
	_, stdout, _, _, _ = renderUCI(t, strings.Replace(uciText, "option entry_node 'on'", "option entry_node 'off'", 1))
	if !strings.Contains(stdout, "vlayer_udp 27001-27016\n") || !strings.Contains(stdout, "vlayer_tcp 27000\n") {
		t.Errorf("a vnode that is no entry node: facts\n%s", stdout)
	}
	noEndpoint := strings.Replace(strings.Replace(uciText, "option endpoint '203.0.113.5:27000'", "", 1), "option entry_node 'on'", "", 1)
	code, stdout, stderr, _, _ = renderUCI(t, noEndpoint)
	if code != exitOK || stderr != "" || strings.Contains(stdout, "vlayer_tcp") {
		t.Errorf("a vnode without an endpoint (behind NAT) listens on nothing: facts\n%s", stdout)
	}
	want := `vlayer.enabled = true
vlayer.latitude = 45.0
vlayer.longitude = -9.19
vlayer.endpoint = "203.0.113.5:27000"
vlayer.entry_node = true

[[vlayer.entry_server]]
address = "198.51.100.2:27100"
public_key = "A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg="

[[vlayer.entry_server]]
address = "[2001:db8::2]:27100"
public_key = "eW4Yy+wRTnVe5m4QqrqGWKOhwBwTqFYR1q2ReLYb9ak="
`
	if _, body, _ := strings.Cut(toml, "\n"); body != want {
		t.Errorf("TOML:\n%s\nwant:\n%s", body, want)
	}
	cfg, err := config.Parse("rendered", []byte(toml))
	if err != nil {
		t.Fatal(err)
	}
	v := cfg.VLayer
	if lat, lon, ok := v.EntryPosition(); !ok || lat != 45000000 || lon != -9190000 || !v.EntryNode || v.Endpoint != "203.0.113.5:27000" ||
		len(v.EntryServers) != 2 || v.EntryServers[1] != (config.EntryServer{Address: "[2001:db8::2]:27100", PublicKey: "eW4Yy+wRTnVe5m4QqrqGWKOhwBwTqFYR1q2ReLYb9ak="}) {
		t.Errorf("vlayer: %+v", v)
	}
}

// A limits section: each option to its [limits] key, in canonical form,
// and the daemon reads them.
func TestUCIRenderLimits(t *testing.T) {
	code, _, stderr, toml, _ := renderUCI(t, `
config limits 'limits'
	option max_neighbours '255'
	option max_pending_requests '16'
	option max_andna_records '1048576'
	option per_source_rate '1000'
	option per_source_burst '2000'
	option max_conns '64'
	option max_conns_per_source '064'
	option max_fresh_conns '+16'
	option stream_queue '512'
	option recv_queue '1'
	option max_peers '4096'
`)
	if code != exitOK || stderr != "" {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	want := `limits.max_neighbours = 255
limits.max_pending_requests = 16
limits.max_andna_records = 1048576
limits.per_source_rate = 1000
limits.per_source_burst = 2000
limits.max_conns = 64
limits.max_conns_per_source = 64
limits.max_fresh_conns = 16
limits.stream_queue = 512
limits.recv_queue = 1
limits.max_peers = 4096
`
	if _, body, _ := strings.Cut(toml, "\n"); body != want {
		t.Errorf("TOML:\n%s\nwant:\n%s", body, want)
	}
	cfg, err := config.Parse("rendered", []byte(toml))
	if err != nil {
		t.Fatal(err)
	}
	wantLim := config.Limits{MaxNeighbours: 255, MaxPendingRequests: 16, MaxANDNARecords: 1 << 20,
		PerSourceRate: 1000, PerSourceBurst: 2000, MaxConns: 64, MaxConnsPerSource: 64, MaxFreshConns: 16,
		StreamQueue: 512, RecvQueue: 1, MaxPeers: 4096}
	if cfg.Limits != wantLim {
		t.Errorf("limits: %+v\nwant:   %+v", cfg.Limits, wantLim)
	}
	// Left out: the daemon's default.
	_, _, _, toml, _ = renderUCI(t, "config limits 'limits'\n\toption max_conns '100'\n")
	cfg, err = config.Parse("rendered", []byte(toml))
	if err != nil {
		t.Fatal(err)
	}
	wantLim = config.Default().Limits
	wantLim.MaxConns = 100
	if cfg.Limits != wantLim {
		t.Errorf("limits: %+v\nwant:   %+v", cfg.Limits, wantLim)
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
		{"config frob\n", "F:1:1: ntkd.@frob[0]: unknown section type (want ntkd, andna, dns, vlayer, igs, limits, vlink)\n"},
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
		// [igs]: every value checked where it is.
		{"config igs 'igs'\n\toption share_internet 'sometimes'\n",
			`F:2:24: ntkd.igs.share_internet: "sometimes" is not a boolean (1/0, yes/no, on/off, true/false)` + "\n"},
		{"config igs 'igs'\n\toption bandwidth '0'\n\toption max_gateways '5'\n",
			"F:2:19: ntkd.igs.bandwidth: 0 is out of range 1..100000000\nF:3:22: ntkd.igs.max_gateways: 5 is out of range 1..4\n"},
		{"config igs 'igs'\n\toption bandwidth '10 Mbit'\n",
			"F:2:19: ntkd.igs.bandwidth: \"10 Mbit\" is not a whole number\n"},
		{"config igs 'igs'\n\tlist probe '203.0.113.1:80'\n\tlist probe 'example.com:80'\n",
			"F:3:13: ntkd.igs.probe: \"example.com:80\": "},
		{"config igs 'igs'\n\toption probe '203.0.113.1'\n",
			"F:2:15: ntkd.igs.probe: \"203.0.113.1\": "},
		{"config igs 'igs'\n\toption probe_interval '500ms'\n",
			"F:2:24: ntkd.igs.probe_interval: 500ms is out of range 1s..10m\n"},
		{"config igs 'igs'\n\toption probe_interval 'often'\n",
			"F:2:24: ntkd.igs.probe_interval: "},
		{"config igs 'igs'\n\toption table '253'\n\toption rule_priority '100'\n\toption port '70000'\n",
			"F:2:15: ntkd.igs.table: 253 is out of range 1..252\nF:3:23: ntkd.igs.rule_priority: 100 is out of range 32767..65535\nF:4:14: ntkd.igs.port: 70000 is out of range 1..65535\n"},
		{"config igs 'igs'\n\toption port '269'\n",
			"F:2:14: ntkd.igs.port: 269 is already ports.radar\n"},
		{"config ntkd 'main'\n\toption table '110'\nconfig igs 'igs'\n",
			"F: igs.table: 110 is already kernel.table: the default route needs a table of its own\n"},
		{"config igs 'igs'\n\toption share_internet '1'\n\toption uplink 'wan 2'\n",
			"F:3:16: ntkd.igs.uplink: \"wan 2\" holds a space, quote or control character\n"},
		{"config igs 'igs'\n\tlist uplink 'wan'\n", "F:2:7: ntkd.igs.uplink: one value: option, not list\n"},
		{"config igs 'igs'\n\toption gateway '10.0.0.1'\n", "F:2:9: ntkd.igs.gateway: unknown option\n"},
		{"config igs 'igs'\nconfig igs 'again'\n", "F:2:1: ntkd.again: a second igs section\n"},
		{"config ntkd 'main'\n\tlist interface 'eth1'\nconfig igs 'igs'\n\toption share_internet '1'\n\toption uplink 'eth1'\n",
			"F:5:16: ntkd.igs.uplink: \"eth1\" is the mesh interface interface[0]: the uplink must be another one\n"},
		// [vlayer]: entry servers, coordinates, the entry node, at the value.
		{"config vlayer 'vlayer'\n\tlist entry_server '198.51.100.2:27100 A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg='\n\tlist entry_server '198.51.100.3:27100'\n",
			"F:3:20: ntkd.vlayer.entry_server: \"198.51.100.3:27100\" is not 'IP:port KEY': the server's address, a space, its public key\n"},
		{"config vlayer 'vlayer'\n\tlist entry_server 'entry.example.org:27100 A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg='\n",
			"F:2:20: ntkd.vlayer.entry_server: \"entry.example.org:27100\": \"entry.example.org\" is not an IP address\n"},
		{"config vlayer 'vlayer'\n\tlist entry_server '198.51.100.2:27100 A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg='\n\tlist entry_server '198.51.100.3:27100 short'\n",
			"F:3:20: ntkd.vlayer.entry_server: \"short\" is not a key: want 44 characters of base64 (32 bytes), as `ntkd entry-server -print-key` prints\n"},
		{"config vlayer 'vlayer'\n\tlist entry_server '198.51.100.2:27100 A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg='\n\tlist entry_server '198.51.100.2:27100 eW4Yy+wRTnVe5m4QqrqGWKOhwBwTqFYR1q2ReLYb9ak='\n",
			"F:3:20: ntkd.vlayer.entry_server: 198.51.100.2:27100 is already vlayer.entry_server[0]\n"},
		{"config vlayer 'vlayer'\n\tlist entry_server \"198.51.100.2:27100 A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=\"\n" + strings.Repeat("\tlist entry_server '192.0.2.1:1 eW4Yy+wRTnVe5m4QqrqGWKOhwBwTqFYR1q2ReLYb9ak='\n", 8),
			"F:2:7: ntkd.vlayer.entry_server: 9 servers; at most 8\n"},
		{"config vlayer 'vlayer'\n\toption latitude 'north'\n\toption longitude '9,19'\n",
			"F:2:18: ntkd.vlayer.latitude: \"north\" is not a number\nF:3:19: ntkd.vlayer.longitude: \"9,19\" is not a number\n"},
		{"config vlayer 'vlayer'\n\toption latitude 'NaN'\n\toption longitude 'inf'\n",
			"F:2:18: ntkd.vlayer.latitude: \"NaN\" is not a number\nF:3:19: ntkd.vlayer.longitude: \"inf\" is not a number\n"},
		{"config vlayer 'vlayer'\n\toption latitude '91'\n\toption longitude '-180.5'\n",
			"F:2:18: ntkd.vlayer.latitude: 91 is out of range -90..90 degrees\nF:3:19: ntkd.vlayer.longitude: -180.5 is out of range -180..180 degrees\n"},
		{"config vlayer 'vlayer'\n\toption latitude '45.46'\n",
			"F:2:18: ntkd.vlayer.latitude: set without vlayer.longitude: set both or neither\n"},
		{"config vlayer 'vlayer'\n\toption endpoint 'me.example.org:27000'\n",
			"F:2:18: ntkd.vlayer.endpoint: \"me.example.org:27000\": \"me.example.org\" is not an IP address\n"},
		{"config vlayer 'vlayer'\n\toption entry_node 'maybe'\n",
			"F:2:20: ntkd.vlayer.entry_node: \"maybe\" is not a boolean (1/0, yes/no, on/off, true/false)\n"},
		{"config vlayer 'vlayer'\n\tlist entry_server '198.51.100.2:27100 A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg='\n\toption entry_node '1'\n",
			"F:3:20: ntkd.vlayer.entry_node: an entry node lists its endpoint: set vlayer.endpoint to this node's public ip:port\n"},
		{"config vlayer 'vlayer'\n\toption endpoint '203.0.113.5:27000'\n\toption entry_node 'yes'\n",
			"F:3:20: ntkd.vlayer.entry_node: an entry node lists itself on the entry servers: add a [[vlayer.entry_server]]\n"},
		{"config vlayer 'vlayer'\n\tlist latitude '1'\n", "F:2:7: ntkd.vlayer.latitude: one value: option, not list\n"},
		// [limits]: every range of internal/config, at the option.
		{"config limits 'limits'\n\toption max_neighbours '300'\n\toption max_conns '0'\n",
			"F:2:24: ntkd.limits.max_neighbours: 300 is out of range 1..255\nF:3:19: ntkd.limits.max_conns: 0 is out of range 1..4096\n"},
		{"config limits\n\toption max_pending_requests '15'\n\toption max_andna_records '1048577'\n\toption per_source_rate '0'\n" +
			"\toption per_source_burst '1000001'\n\toption max_fresh_conns '1025'\n\toption stream_queue '65537'\n" +
			"\toption recv_queue '0'\n\toption max_peers '15'\n",
			"F:2:30: ntkd.@limits[0].max_pending_requests: 15 is out of range 16..65536\n" +
				"F:3:27: ntkd.@limits[0].max_andna_records: 1048577 is out of range 16..1048576\n" +
				"F:4:25: ntkd.@limits[0].per_source_rate: 0 is out of range 1..1000000\n" +
				"F:5:26: ntkd.@limits[0].per_source_burst: 1000001 is out of range 1..1000000\n" +
				"F:6:25: ntkd.@limits[0].max_fresh_conns: 1025 is out of range 1..1024\n" +
				"F:7:22: ntkd.@limits[0].stream_queue: 65537 is out of range 1..65536\n" +
				"F:8:20: ntkd.@limits[0].recv_queue: 0 is out of range 1..65536\n" +
				"F:9:19: ntkd.@limits[0].max_peers: 15 is out of range 16..1048576\n"},
		{"config limits 'limits'\n\toption max_conns_per_source '65'\n",
			"F:2:30: ntkd.limits.max_conns_per_source: 65 is out of range 1..64\n"},
		{"config limits 'limits'\n\toption max_conns '8'\n\toption max_conns_per_source '9'\n",
			"F:3:30: ntkd.limits.max_conns_per_source: 9 is above limits.max_conns (8)\n"},
		{"config limits 'limits'\n\toption max_neighbours 'many'\n\toption recv_queue '1.5'\n",
			"F:2:24: ntkd.limits.max_neighbours: \"many\" is not a whole number\nF:3:20: ntkd.limits.recv_queue: \"1.5\" is not a whole number\n"},
		{"config limits 'limits'\n\tlist max_peers '2048'\n", "F:2:7: ntkd.limits.max_peers: one value: option, not list\n"},
		{"config limits 'limits'\n\toption max_routes '100'\n", "F:2:9: ntkd.limits.max_routes: unknown option\n"},
		{"config limits 'limits'\nconfig limits 'again'\n", "F:2:1: ntkd.again: a second limits section\n"},
	} {
		dir := t.TempDir()
		in, out := filepath.Join(dir, "F"), filepath.Join(dir, "ntkd.toml")
		if err := os.WriteFile(in, []byte(tc.uci), 0o644); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(out, []byte("previous"), 0o644)
		code, stdout, stderr := run(t, "uci-render", "-c", in, "-o", out)
		got := strings.ReplaceAll(stderr, in, "F")
		// A want ending in ": " is the start of the message (the rest is
		// the parser's words).
		if strings.HasSuffix(tc.want, ": ") && strings.HasPrefix(got, tc.want) && strings.Count(got, "\n") == 1 {
			got = tc.want
		}
		if code != exitFail || got != tc.want || stdout != "" {
			t.Errorf("%q: exit %d, stdout %q, stderr:\n%s\nwant:\n%s", tc.uci, code, stdout, got, tc.want)
		}
		if b, _ := os.ReadFile(out); string(b) != "previous" {
			t.Errorf("%q: the old TOML was replaced by %q", tc.uci, b)
		}
	}
}

func TestUCIRenderUsage(t *testing.T) {
	// Settings this ntkd does not have are unknown options.
	code, _, stderr, toml, path := renderUCI(t, "config vlayer\n\toption geohash 'u0nd'\n")
	if want := path + ":2:9: ntkd.@vlayer[0].geohash: unknown option\n"; code != exitFail || stderr != want || toml != "" {
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

// UCI allows whole numbers TOML refuses ('007', '+7'): they are written in
// canonical form, so the daemon never refuses what uci-render passed.
func TestUCIRenderCanonicalNumbers(t *testing.T) {
	code, _, stderr, toml, _ := renderUCI(t, "config ntkd 'main'\n\toption gogc '007'\n\toption max_procs '+2'\n")
	if code != exitOK || stderr != "" {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	for _, want := range []string{"gogc = 7\n", "max_procs = 2\n"} {
		if !strings.Contains(toml, want) {
			t.Errorf("rendered TOML lacks %q:\n%s", want, toml)
		}
	}
	if _, err := config.Parse("uci", []byte(toml)); err != nil {
		t.Errorf("the rendered TOML does not load: %v", err)
	}
}
