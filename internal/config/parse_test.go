package config

import (
	"errors"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"
)

// An input may hold the marker "@@" where the reported line:col must point;
// the marker is removed before parsing. No marker: no position expected.
const marker = "@@"

func unmark(t testing.TB, in string) (text string, line, col int) {
	t.Helper()
	i := strings.Index(in, marker)
	if i < 0 {
		return in, 0, 0
	}
	text = in[:i] + in[i+len(marker):]
	before := stripBOM(in[:i]) // columns count from after a byte-order mark
	line = strings.Count(before, "\n") + 1
	col = len(before) - strings.LastIndexByte(before, '\n')
	return text, line, col
}

type errCase struct {
	name string
	in   string // may contain the marker
	key  string
	msg  string // a substring of Error.Msg
}

// ruleCases break one rule each and must produce exactly one error.
func ruleCases() []errCase {
	long := strings.Repeat("x", 64)
	return []errCase{
		// top level
		{"level", `@@log_level = "verbose"`, "log_level", `invalid level "verbose"`},
		{"level case", `@@log_level = "INFO"`, "log_level", "want debug, info, warn or error"},
		{"size unit", `@@memory_limit = "6MB"`, "memory_limit", `invalid size "6MB"`},
		{"size small", `@@memory_limit = "1MiB"`, "memory_limit", "too small"},
		{"gogc 0", `@@gogc = 0`, "gogc", "0 is invalid"},
		{"gogc -2", `@@gogc = -2`, "gogc", "-2 is invalid"},
		{"gogc off limit 0", "memory_limit = \"0\"\n@@gogc = -1\n", "gogc", "needs a memory_limit"},
		{"max_procs -1", `@@max_procs = -1`, "max_procs", "out of 0..256"},
		{"max_procs 1000", `@@max_procs = 1000`, "max_procs", "out of 0..256"},

		// interfaces
		{"ifname empty", "[[interface]]\n@@name = \"\"\n", "interface[0].name", "missing"},
		{"ifname absent", "[[@@interface]]\nwifi_metrics = false\n", "interface[0].name", "missing"},
		{"ifname long", "[[interface]]\n@@name = \"wlan0-mesh-long1\"\n", "interface[0].name", "at most 15"},
		{"ifname dot", "[[interface]]\n@@name = \".\"\n", "interface[0].name", "not a valid interface name"},
		{"ifname dotdot", "[[interface]]\n@@name = \"..\"\n", "interface[0].name", "not a valid interface name"},
		{"ifname slash", "[[interface]]\n@@name = \"a/b\"\n", "interface[0].name", "cannot contain '/'"},
		{"ifname colon", "[[interface]]\n@@name = \"eth0:1\"\n", "interface[0].name", "cannot contain ':'"},
		{"ifname space", "[[interface]]\n@@name = \"a b\"\n", "interface[0].name", "cannot contain ' '"},
		{"ifname tab", "[[interface]]\n@@name = \"a\\tb\"\n", "interface[0].name", `cannot contain '\t'`},
		{"ifname dup", "[[interface]]\nname = \"eth0\"\n[[interface]]\n@@name = \"eth0\"\n", "interface[1].name", "already listed as interface[0]"},
		{"ifname inline", `interface = [{name = "ok"}, {@@name = "a/b"}]`, "interface[1].name", "cannot contain '/'"},

		// address
		{"prefix public", "[address]\n@@prefix = \"8.8.8.0/24\"\n", "address.prefix", "restricted mode"},
		{"prefix host bits", "[address]\n@@prefix = \"10.1.0.0/8\"\n", "address.prefix", "did you mean 10.0.0.0/8"},
		{"prefix syntax", "[address]\n@@prefix = \"bogus\"\n", "address.prefix", `invalid prefix "bogus"`},
		{"prefix v6 public", "[address]\n@@prefix = \"2001:db8::/32\"\n", "address.prefix", "restricted mode"},
		{"prefix too small", "[address]\n@@prefix = \"10.0.0.0/31\"\n", "address.prefix", "level 0 needs at least 2 bits"},
		{"bits wide", "[address]\n@@bits_per_level = [8, 8, 9]\n", "address.bits_per_level", "level 2 has 9 bits"},
		{"bits zero", "[address]\n@@bits_per_level = [0, 8]\n", "address.bits_per_level", "level 0 has 0 bits"},
		{"bits too many", "[address]\n@@bits_per_level = [8, 8, 8, 8]\n", "address.bits_per_level", "levels use 32 bits"},
		{"bits level 0", "[address]\n@@bits_per_level = [1]\n", "address.bits_per_level", "level 0 needs at least 2 bits"},
		{"bits byte", "[address]\nbits_per_level = [8, @@300]\n", "address.bits_per_level[1]", "300 is out of range"},
		{"first outside", "[address]\n@@first = \"192.168.1.1\"\n", "address.first", "outside"},
		{"first bad id", "[address]\n@@first = \"10.1.1.0\"\n", "address.first", "not a node address"},
		{"first syntax", "[address]\n@@first = \"10.1.1\"\n", "address.first", "invalid address"},
		{"bits v6", "[address]\nprefix = \"fd00::/120\"\n@@bits_per_level = [8, 8]\n", "address.bits_per_level", "leaves 8"},

		// ports
		{"port 0", "[ports]\n@@radar = 0\n", "ports.radar", "0 is out of range 1..65535"},
		{"port big", "[ports]\n@@stream = 70000\n", "ports.stream", "70000 is out of range"},
		{"port andna radar", "[ports]\nstream = 300\n@@andna = 269\n", "ports.andna", "andna (udp+tcp) and radar (udp) both use port 269"},
		{"port andna stream", "[ports]\nradar = 300\n@@andna = 269\n", "ports.andna", "andna (udp+tcp) and stream (tcp) both use port 269"},
		{"port clash via radar", "[ports]\n@@radar = 277\n", "ports.radar", "both use port 277"},

		// radar
		{"interval 0", "[radar]\n@@interval = \"0s\"\n", "radar.interval", "out of range 10ms..10m"},
		{"interval negative", "[radar]\n@@interval = \"-5s\"\n", "radar.interval", "out of range 10ms..10m"},
		{"interval too long", "[radar]\n@@interval = \"11m\"\n", "radar.interval", "out of range 10ms..10m"},
		{"interval no unit", "[radar]\n@@interval = \"5\"\n", "radar.interval", `invalid duration "5"`},
		{"probes 0", "[radar]\n@@probes = 0\n", "radar.probes", "0 is out of range 1..64"},
		{"probes 65", "[radar]\n@@probes = 65\n", "radar.probes", "65 is out of range 1..64"},
		{"probe_timeout 0", "[radar]\n@@probe_timeout = \"0s\"\n", "radar.probe_timeout", "longer than 0"},
		{"probe_timeout long", "[radar]\n@@probe_timeout = \"5s\"\n", "radar.probe_timeout", "probe_timeout (5s) must be shorter than interval (5s)"},
		{"interval short", "[radar]\n@@interval = \"500ms\"\n", "radar.interval", "probe_timeout (500ms) must be shorter than interval (500ms)"},
		{"dead_after 0", "[radar]\n@@dead_after = 0\n", "radar.dead_after", "out of range 1..20"},
		{"dead_after 21", "[radar]\n@@dead_after = 21\n", "radar.dead_after", "out of range 1..20"},

		// qspn
		{"wait_round", "[qspn]\n@@wait_round = \"0s\"\n", "qspn.wait_round", "longer than 0"},
		{"max_routes 0", "[qspn]\n@@max_routes = 0\n", "qspn.max_routes", "out of range 1..32"},
		{"max_routes 33", "[qspn]\n@@max_routes = 33\n", "qspn.max_routes", "out of range 1..32"},
		{"max_age 0", "[qspn]\n@@max_age_rounds = 0\n", "qspn.max_age_rounds", "out of range 1..16"},
		{"max_age 17", "[qspn]\n@@max_age_rounds = 17\n", "qspn.max_age_rounds", "out of range 1..16"},

		// kernel
		{"table 0", "[kernel]\n@@table = 0\n", "kernel.table", "0 is invalid"},
		{"table 253", "[kernel]\n@@table = 253\n", "kernel.table", "253 is invalid"},
		{"table name", "[kernel]\n@@table = \"local\"\n", "kernel.table", `invalid table "local"`},
		{"table bool", "[kernel]\n@@table = true\n", "kernel.table", `want "main" or a number 1..252, not a boolean`},
		{"rule_priority 0", "[kernel]\n@@rule_priority = 0\n", "kernel.rule_priority", "out of range 1..32765"},
		{"rule_priority big", "[kernel]\n@@rule_priority = 32766\n", "kernel.rule_priority", "out of range 1..32765"},
		{"protocol 0", "[kernel]\n@@protocol = 0\n", "kernel.protocol", "reserved by the kernel"},
		{"protocol 4", "[kernel]\n@@protocol = 4\n", "kernel.protocol", "reserved by the kernel"},
		{"protocol 256", "[kernel]\n@@protocol = 256\n", "kernel.protocol", "out of range 5..255"},
		{"protocol -1", "[kernel]\n@@protocol = -1\n", "kernel.protocol", "out of range 5..255"},

		// control
		{"socket relative", "[control]\n@@socket = \"ntkd.sock\"\n", "control.socket", "not an absolute path"},
		{"socket empty", "[control]\n@@socket = \"\"\n", "control.socket", "missing"},
		{"socket dir", "[control]\n@@socket = \"/var/run/\"\n", "control.socket", "is a directory"},
		{"socket long", "[control]\n@@socket = \"/" + strings.Repeat("s", 107) + "\"\n", "control.socket", "at most 107"},

		// limits
		{"neighbours 0", "[limits]\n@@max_neighbours = 0\n", "limits.max_neighbours", "out of range 1..255"},
		{"neighbours 256", "[limits]\n@@max_neighbours = 256\n", "limits.max_neighbours", "out of range 1..255"},
		{"pending 0", "[limits]\n@@max_pending_requests = 0\n", "limits.max_pending_requests", "out of range 16..65536"},
		{"pending big", "[limits]\n@@max_pending_requests = 65537\n", "limits.max_pending_requests", "out of range 16..65536"},
		{"records small", "[limits]\n@@max_andna_records = 15\n", "limits.max_andna_records", "out of range 16..1048576"},
		{"rate 0", "[limits]\n@@per_source_rate = 0\n", "limits.per_source_rate", "out of range 1..1000000"},
		{"conns 0", "[limits]\n@@max_conns = 0\n", "limits.max_conns", "out of range 1..4096"},
		{"conns per source above conns", "[limits]\nmax_conns = 2\n@@max_conns_per_source = 3\n", "limits.max_conns_per_source", "is above limits.max_conns"},
		{"fresh 0", "[limits]\n@@max_fresh_conns = 0\n", "limits.max_fresh_conns", "out of range 1..1024"},
		{"queue big", "[limits]\n@@stream_queue = 65537\n", "limits.stream_queue", "out of range 1..65536"},
		{"peers small", "[limits]\n@@max_peers = 8\n", "limits.max_peers", "out of range 16..1048576"},

		// andna
		{"key_dir", "[andna]\n@@key_dir = \"etc/ntkd\"\n", "andna.key_dir", "not an absolute path"},
		{"hibernation 0", "[andna]\n@@hibernation = \"0s\"\n", "andna.hibernation", "longer than 0"},
		{"min_update long", "[andna]\n@@min_update_interval = \"72h\"\n", "andna.min_update_interval", "must be shorter than hibernation (72h0m0s)"},
		{"hibernation short", "[andna]\n@@hibernation = \"12h\"\n", "andna.hibernation", "min_update_interval (24h0m0s) must be shorter"},
		{"min_update negative", "[andna]\n@@min_update_interval = \"-1s\"\n", "andna.min_update_interval", "negative"},
		{"max_queue 0", "[andna]\n@@max_queue = 0\n", "andna.max_queue", "out of range 1..5"},
		{"max_queue 6", "[andna]\n@@max_queue = 6\n", "andna.max_queue", "out of range 1..5"},
		{"backup -1", "[andna]\n@@backup_gnodes = -1\n", "andna.backup_gnodes", "out of range 0..8"},
		{"backup 9", "[andna]\n@@backup_gnodes = 9\n", "andna.backup_gnodes", "out of range 0..8"},
		{"names per key 0", "[andna]\n@@max_names_per_key = 0\n", "andna.max_names_per_key", "out of range 1..65535"},
		{"names per key big", "[andna]\n@@max_names_per_key = 65536\n", "andna.max_names_per_key", "out of range 1..65535"},
		{"name upper", "[andna]\nnames = [@@\"MyRouter\"]\n", "andna.names[0]", "must be lowercase"},
		{"name empty", "[andna]\nnames = [@@\"\"]\n", "andna.names[0]", "empty name"},
		{"name dots", "[andna]\nnames = [\"ok\", @@\"a..b\"]\n", "andna.names[1]", "empty label"},
		{"name hyphen start", "[andna]\nnames = [@@\"-a\"]\n", "andna.names[0]", "hyphen"},
		{"name hyphen end", "[andna]\nnames = [@@\"a-\"]\n", "andna.names[0]", "hyphen"},
		{"name underscore", "[andna]\nnames = [@@\"a_b\"]\n", "andna.names[0]", `has '_'`},
		{"name leading dot", "[andna]\nnames = [@@\".a\"]\n", "andna.names[0]", "leading or trailing dot"},
		{"name trailing dot", "[andna]\nnames = [@@\"a.\"]\n", "andna.names[0]", "leading or trailing dot"},
		{"name long label", "[andna]\nnames = [@@\"" + long + "\"]\n", "andna.names[0]", "longer than 63"},
		{"name long", "[andna]\nnames = [@@\"" + strings.Repeat("abcdefg.", 31) + "abcdefgh\"]\n", "andna.names[0]", "at most 253"},
		{"name dup", "[andna]\nnames = [\"a\", \"b\", @@\"a\"]\n", "andna.names[2]", "already listed as andna.names[0]"},
		{"names count", "[andna]\nmax_names_per_key = 1\n@@names = [\"a\", \"b\"]\n", "andna.names", "2 names, but max_names_per_key is 1"},

		// dns
		{"listen name", "[dns]\n@@listen = \"localhost:5373\"\n", "dns.listen", "not an IP address"},
		{"listen no port", "[dns]\n@@listen = \"127.0.0.1\"\n", "dns.listen", "want ip:port"},
		{"listen port 0", "[dns]\n@@listen = \"127.0.0.1:0\"\n", "dns.listen", "not a number 1..65535"},
		{"listen zone", "[dns]\n@@listen = \"[fe80::1%eth0]:53\"\n", "dns.listen", "scoped"},
		{"suffix upper", "[dns]\n@@suffix = \"NTK\"\n", "dns.suffix", "must be lowercase"},
		{"suffix empty", "[dns]\n@@suffix = \"\"\n", "dns.suffix", "empty name"},
		{"suffix dot", "[dns]\n@@suffix = \".ntk\"\n", "dns.suffix", "leading or trailing dot"},
		{"upstream no port", "[dns]\n@@upstream = \"8.8.8.8\"\n", "dns.upstream", "want ip:port"},
		{"listen radar port", "[dns]\nenabled = true\n@@listen = \"127.0.0.1:269\"\n", "dns.listen", "already the radar port"},
		{"listen stream port", "[ports]\nradar = 300\n[dns]\nenabled = true\n@@listen = \"127.0.0.1:269\"\n", "dns.listen", "already the stream port"},
		{"listen andna port", "[dns]\nenabled = true\n@@listen = \"127.0.0.1:277\"\n", "dns.listen", "already the andna port"},
		{"upstream loop", "[dns]\nenabled = true\n@@upstream = \"127.0.0.1:5373\"\n", "dns.upstream", "would loop"},

		// vlayer
		{"vlayer key_file", "[vlayer]\n@@key_file = \"vlayer.key\"\n", "vlayer.key_file", "not an absolute path"},
		{"vlink no key", "[[vlayer.@@link]]\nendpoint = \"192.0.2.1:1\"\n", "vlayer.link[0].public_key", "missing"},
		{"vlink bad key", "[[vlayer.link]]\n@@public_key = \"abc\"\n", "vlayer.link[0].public_key", "not a key"},
		{"vlink dup key", "[[vlayer.link]]\npublic_key = \"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"\n[[vlayer.link]]\n@@public_key = \"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"\n", "vlayer.link[1].public_key", "already the key of vlayer.link[0]"},
		{"vlink port", "[[vlayer.link]]\npublic_key = \"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"\n@@listen_port = 70000\n", "vlayer.link[0].listen_port", "out of range"},
		{"vlink dup port", "[[vlayer.link]]\npublic_key = \"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"\nlisten_port = 9\n[[vlayer.link]]\npublic_key = \"AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"\n@@listen_port = 9\n", "vlayer.link[1].listen_port", "its own"},
		{"vlink endpoint", "[[vlayer.link]]\npublic_key = \"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"\n@@endpoint = \"example.org:1\"\n", "vlayer.link[0].endpoint", "not an IP address"},
		{"vlink keepalive", "[[vlayer.link]]\npublic_key = \"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"\n@@keepalive = \"-1s\"\n", "vlayer.link[0].keepalive", "out of range"},
		{"vlink name dup", "[[vlayer.link]]\npublic_key = \"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"\n[[vlayer.link]]\npublic_key = \"AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"\n@@name = \"ntkv0\"\n", "vlayer.link[1].name", "already the name of vlayer.link[0]"},
		{"vlink name iface", "[[interface]]\nname = \"wg0\"\n[[vlayer.link]]\npublic_key = \"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"\n@@name = \"wg0\"\n", "vlayer.link[0].name", "already the mesh interface"},
		{"vlink name long", "[[vlayer.link]]\npublic_key = \"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"\n@@name = \"ntkv-far-away-01\"\n", "vlayer.link[0].name", "at most 15"},
		// vlayer: entry servers, coordinates, entry node
		{"entry server name", "[[vlayer.entry_server]]\n@@address = \"entry.example.org:27100\"\npublic_key = \"A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=\"\n", "vlayer.entry_server[0].address", "not an IP address"},
		{"entry server no port", "[[vlayer.entry_server]]\n@@address = \"198.51.100.2\"\npublic_key = \"A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=\"\n", "vlayer.entry_server[0].address", "want ip:port"},
		{"entry server unspecified", "[[vlayer.entry_server]]\n@@address = \"[::]:27100\"\npublic_key = \"A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=\"\n", "vlayer.entry_server[0].address", "not a unicast address"},
		{"entry server missing address", "[[vlayer.@@entry_server]]\npublic_key = \"A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=\"\n", "vlayer.entry_server[0].address", "want ip:port"},
		{"entry server dup", "[[vlayer.entry_server]]\naddress = \"198.51.100.2:1\"\npublic_key = \"A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=\"\n[[vlayer.entry_server]]\n@@address = \"198.51.100.2:1\"\npublic_key = \"A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=\"\n", "vlayer.entry_server[1].address", "already vlayer.entry_server[0]"},
		{"entry server bad key", "[[vlayer.entry_server]]\naddress = \"198.51.100.2:1\"\n@@public_key = \"abc\"\n", "vlayer.entry_server[0].public_key", "not a key"},
		{"entry server no key", "[[vlayer.@@entry_server]]\naddress = \"198.51.100.2:1\"\n", "vlayer.entry_server[0].public_key", "missing"},
		{"entry server unknown key", "[[vlayer.entry_server]]\naddress = \"198.51.100.2:1\"\npublic_key = \"A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=\"\n@@mirror = true\n", "vlayer.entry_server[0].mirror", "unknown key"},
		{"entry servers count", "[[vlayer.@@entry_server]]\naddress = \"198.51.100.2:1\"\npublic_key = \"A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=\"\n" + entryServers(8), "vlayer.entry_server", "9 servers; at most 8"},
		{"latitude range", "[vlayer]\n@@latitude = 91.5\nlongitude = 0\n", "vlayer.latitude", "out of range -90..90"},
		{"longitude range", "[vlayer]\nlatitude = 0\n@@longitude = -180.01\n", "vlayer.longitude", "out of range -180..180"},
		{"latitude alone", "[vlayer]\n@@latitude = 45.46\n", "vlayer.latitude", "set without vlayer.longitude"},
		{"longitude alone", "[vlayer]\n@@longitude = 9\n", "vlayer.longitude", "set without vlayer.latitude"},
		{"latitude string", "[vlayer]\n@@latitude = \"45.46\"\nlongitude = 9.19\n", "vlayer.latitude", "want a number, not a string"},
		{"endpoint name", "[vlayer]\n@@endpoint = \"me.example.org:27000\"\n", "vlayer.endpoint", "not an IP address"},
		{"endpoint multicast", "[vlayer]\n@@endpoint = \"224.0.0.1:27000\"\n", "vlayer.endpoint", "not a unicast address"},
		{"entry_after short", "[vlayer]\n@@entry_after = \"59s\"\n", "vlayer.entry_after", "below 1m"},
		{"entry_cache relative", "[vlayer]\n@@entry_cache = \"entry.cache\"\n", "vlayer.entry_cache", "not an absolute path"},
		{"entry_node without endpoint", "[vlayer]\n@@entry_node = true\n[[vlayer.entry_server]]\naddress = \"198.51.100.2:1\"\npublic_key = \"A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=\"\n", "vlayer.entry_node", "set vlayer.endpoint"},
		{"entry_node without servers", "[vlayer]\nendpoint = \"203.0.113.5:27000\"\n@@entry_node = true\n", "vlayer.entry_node", "add a [[vlayer.entry_server]]"},
		{"entry_node as string", "[vlayer]\n@@entry_node = \"yes\"\n", "vlayer.entry_node", "want true or false"},

		// types
		{"int as string", "[radar]\n@@probes = \"16\"\n", "radar.probes", "want an integer, not a string"},
		{"int as float", "@@gogc = 1.5\n", "gogc", "want an integer, not a float"},
		{"duration as int", "[radar]\n@@interval = 5\n", "radar.interval", `want a duration like "5s"`},
		{"size as int", "@@memory_limit = 0\n", "memory_limit", `want a size like "6MiB" or "0", not an integer`},
		{"bool as string", "[vlayer]\n@@enabled = \"yes\"\n", "vlayer.enabled", "want true or false, not a string"},
		{"bool as int", "[dns]\n@@enabled = 1\n", "dns.enabled", "want true or false, not an integer"},
		{"string as date", "@@log_level = 2024-01-01\n", "log_level", "not a date/time"},
		{"table as int", "@@radar = 5\n", "radar", "want a table, not an integer"},
		{"table as array", "[[@@radar]]\n", "radar", "want a table, not an array of tables"},
		{"array of tables as table", "[@@interface]\nname = \"x\"\n", "interface", "want an array of tables, each opened by [[interface]], not a table"},
		{"array as string", "[andna]\n@@names = \"x\"\n", "andna.names", "want an array, not a string"},
		{"array element", "[andna]\nnames = [@@1]\n", "andna.names[0]", "want a string, not an integer"},
		{"bits element", "[address]\nbits_per_level = [8, @@\"8\"]\n", "address.bits_per_level[1]", "want an integer, not a string"},
		{"prefix as int", "[address]\n@@prefix = 10\n", "address.prefix", "want a prefix"},

		// unknown keys
		{"unknown top", "log_level = \"info\"\n@@colour = \"blue\"\n", "colour", "unknown key"},
		{"unknown typo", "@@log_levle = \"info\"\n", "log_levle", `unknown key; did you mean "log_level"?`},
		{"unknown in table", "[radar]\n  @@intervall = \"5s\"\n", "radar.intervall", `did you mean "interval"?`},
		{"unknown plural", "[address]\n@@prefixes = []\n", "address.prefixes", `did you mean "prefix"?`},
		{"unknown case", "[@@Radar]\nprobes = 1\n", "Radar", `did you mean "radar"?`},
		{"unknown table", "[@@foo]\nbar = 1\nbaz = 2\n", "foo", "unknown key"},
		{"unknown subtable", "[radar.@@extra]\nx = 1\n", "radar.extra", "unknown key"},
		{"unknown dotted", "radar.@@extra = 1\n", "radar.extra", "unknown key"},
		{"unknown inline", "radar = { interval = \"5s\", @@bogus = 1 }\n", "radar.bogus", "unknown key"},
		{"unknown quoted", "[radar]\n@@\"probe timeout\" = \"1s\"\n", `radar."probe timeout"`, "unknown key"},
		{"unknown in 2nd interface", "[[interface]]\nname = \"a\"\n[[interface]]\nname = \"b\"\n@@wifi = true\n", "interface[1].wifi", `did you mean "wifi_metrics"?`},
		{"unknown under interface", "[[interface]]\nname = \"a\"\n[interface.@@x]\ny = 1\n", "interface[0].x", "unknown key"},
		{"unknown inline interface", "interface = [{name = \"a\"}, {name = \"b\", @@speed = 1}]\n", "interface[1].speed", "unknown key"},

		// positions in awkward layouts
		{"crlf", "[radar]\r\n# c\r\n@@probes = 0\r\n", "radar.probes", "out of range"},
		{"bom", "\xef\xbb\xbf@@gogc = 0\n", "gogc", "invalid"},
		{"tab indent", "[radar]\n\t@@probes = 0\n", "radar.probes", "out of range"},
		{"header spaces", "[ radar ] # the radar\n@@probes = 0 # none\n", "radar.probes", "out of range"},
		{"quoted header", "[\"radar\"]\n@@probes = 0\n", "radar.probes", "out of range"},
		{"literal quoted key", "[radar]\n@@'probes' = 0\n", "radar.probes", "out of range"},
		{"dotted in table", "[qspn]\nmax_routes = 3\n[radar]\n@@probes = 0\n", "radar.probes", "out of range"},
		{"top dotted", "radar.@@probes = 0\n", "radar.probes", "out of range"},
		{"inline table", "radar = { interval = \"5s\", @@probes = 0 }\n", "radar.probes", "out of range"},
		{"after multiline string", "[andna]\nkey_dir = '''/x\n[radar]\nprobes = 0\n'''\n[radar]\n@@probes = 0\n", "radar.probes", "out of range"},
		{"after multiline basic", "[andna]\nkey_dir = \"\"\"/x \\\"\"\"\n[radar]\nprobes = 0\"\"\"\n[radar]\n@@probes = 0\n", "radar.probes", "out of range"},
		{"array over lines", "[andna]\nnames = [\n  \"ok\", # first\n  @@\"Bad\",\n]\n", "andna.names[1]", "lowercase"},
		{"nested array", "[andna]\nnames = [\"a\", @@[\"b\", 1]]\n", "andna.names[1]", "want a string, not an array"},
		{"string with hash", "[andna]\nkey_dir = \"/a#b\" # c\n@@max_queue = 0\n", "andna.max_queue", "out of range"},
		{"keys after inline tables", "dns = {enabled = false}\nradar = {}\nqspn = {max_routes = 1}\n[limits]\n@@max_neighbours = 0\n", "limits.max_neighbours", "out of range"},
		{"escaped quoted key", "[radar]\n@@\"prob\\u0065s\" = 0\n", "radar.probes", "out of range"},
	}
}

// validCases must parse without error.
func validCases() []string {
	return []string{
		"",
		"# only a comment\n",
		"memory_limit = \"8MiB\"\ngogc = -1\n",
		"[[interface]]\nname = \"wlan0\"\n[[interface]]\nname = \"eth0.100\"\nwifi_metrics = false\n",
		"[[interface]]\nname = \"" + strings.Repeat("w", 15) + "\"\n",
		"[address]\nprefix = \"fd00::/8\"\n",
		"[address]\nfirst = \"10.1.2.3\"\n",
		"[address]\nprefix = \"172.16.0.0/12\"\nbits_per_level = [6, 6]\n",
		"[ports]\nradar = 1000\nstream = 1000\nandna = 1001\n",
		"[kernel]\ntable = 100\n",
		"[kernel]\ntable = \"100\"\nrule_priority = 32765\nprotocol = 255\n",
		"[kernel]\ntable = 252\nprotocol = 5\n",
		"[andna]\nmin_update_interval = \"0s\"\nbackup_gnodes = 0\nnames = [\"myrouter\", \"files.myrouter\", \"x-1\"]\n",
		"[dns]\nlisten = \"127.0.0.1:269\"\n", // the radar port, but the wrapper is off
		"[dns]\nenabled = true\nlisten = \"[::1]:5373\"\nupstream = \"127.0.0.1:53\"\nsuffix = \"mesh.lan\"\n",
		"radar = { interval = \"2s\", probe_timeout = \"500ms\" }\n",
		"interface = [{name = \"a\"}, {name = \"b\", wifi_metrics = false}]\n",
		"[vlayer]\nlatitude = -90\nlongitude = 180.0\nendpoint = \"[2001:db8::5]:27000\"\nentry_node = true\nentry_after = \"1m\"\n" + entryServers(8),
		"[vlayer]\nlatitude = 0.0\nlongitude = -180\nentry_cache = \"/tmp/e\"\n",
	}
}

// entryServers is n [[vlayer.entry_server]] blocks.
func entryServers(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString("[[vlayer.entry_server]]\naddress = \"198.51.100.2:" + strconv.Itoa(27100+i) + "\"\npublic_key = \"A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=\"\n")
	}
	return b.String()
}

func TestRules(t *testing.T) {
	for _, tc := range ruleCases() {
		t.Run(tc.name, func(t *testing.T) {
			in, line, col := unmark(t, tc.in)
			c, err := Parse("t.toml", []byte(in))
			if err == nil {
				t.Fatalf("no error; config %+v", c)
			}
			if c != nil {
				t.Error("a Config came back with the error")
			}
			errs, ok := errors.AsType[Errors](err)
			if !ok {
				t.Fatalf("error is %T, want Errors: %v", err, err)
			}
			if len(errs) != 1 {
				t.Fatalf("want exactly one error, got %d:\n%v", len(errs), err)
			}
			e := errs[0]
			if e.Key != tc.key || e.Line != line || e.Col != col || !strings.Contains(e.Msg, tc.msg) || e.File != "t.toml" {
				t.Errorf("got  %v\nwant t.toml:%d:%d: %s: ...%s...", e, line, col, tc.key, tc.msg)
			}
		})
	}
}

func TestValid(t *testing.T) {
	for _, in := range validCases() {
		c, err := Parse("t.toml", []byte(in))
		if err != nil {
			t.Errorf("%q:\n%v", in, err)
			continue
		}
		if err := c.Validate(); err != nil {
			t.Errorf("%q parsed but does not re-validate: %v", in, err)
		}
	}
}

func TestParseValues(t *testing.T) {
	c, err := Parse("t.toml", []byte(`
log_level = "debug"
memory_limit = "12MiB"
gogc = 50
[[interface]]
name = "wlan0"
[[interface]]
name = "eth1"
wifi_metrics = false
[address]
prefix = "172.16.0.0/12"
bits_per_level = [8, 4]
[kernel]
table = 100
[andna]
names = ["myrouter"]
hibernation = "90m"
min_update_interval = "30m"
`))
	if err != nil {
		t.Fatal(err)
	}
	if c.LogLevel.String() != "DEBUG" || c.MemoryLimit != 12*MiB || c.GOGC != 50 {
		t.Errorf("top level: %v %v %v", c.LogLevel, c.MemoryLimit, c.GOGC)
	}
	if len(c.Interfaces) != 2 || c.Interfaces[0] != (Interface{"wlan0", true}) || c.Interfaces[1] != (Interface{"eth1", false}) {
		t.Errorf("interfaces: %+v", c.Interfaces)
	}
	if s, err := c.Scheme(); err != nil || s.String() != "172.16.0.0/12 [8 4]" {
		t.Errorf("scheme: %v %v", s, err)
	}
	if c.Kernel.Table != 100 || !c.Kernel.UsesRule() || Default().Kernel.UsesRule() {
		t.Errorf("kernel: %+v", c.Kernel)
	}
	if c.ANDNA.Hibernation.Minutes() != 90 || c.ANDNA.MinUpdateInterval.Minutes() != 30 || c.ANDNA.Names[0] != "myrouter" {
		t.Errorf("andna: %+v", c.ANDNA)
	}
	if c.Radar != Default().Radar {
		t.Errorf("untouched table changed: %+v", c.Radar)
	}
}

func TestSyntaxErrors(t *testing.T) {
	for _, tc := range []struct{ in, msg string }{
		{"gogc = @@\n", "expected value"},
		{"[radar@@\nprobes = 1\n", "to end table name"},
		{"gogc = 1\n@@gogc = 2\n", "already been defined"},
		{"gogc = 1\r\n@@gogc = 2\r\n", "already been defined"},
		{"log_level = \"info@@\n", "strings cannot contain newlines"},
		{"[radar]\nprobes = 1\n[@@radar]\n", "already been defined"},
		{"\xef\xbb\xbfgogc = 1\n@@gogc = 2\n", "already been defined"},
	} {
		in, line, col := unmark(t, tc.in)
		_, err := Parse("t.toml", []byte(in))
		errs, ok := errors.AsType[Errors](err)
		if !ok || len(errs) != 1 {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		e := errs[0]
		if e.Line != line || e.Col != col || !strings.Contains(e.Msg, tc.msg) || e.Key != "" {
			t.Errorf("%q:\n got %v\nwant t.toml:%d:%d: ...%s...", tc.in, e, line, col, tc.msg)
		}
	}
}

func TestAllErrorsAtOnce(t *testing.T) {
	in := `log_level = "loud"
colour = "blue"
[radar]
probes = "many"
interval = "1s"
probe_timeout = "2s"
[[interface]]
name = "eth0"
[[interface]]
name = "eth0"
[andna]
names = ["ok", "NO"]
`
	_, err := Parse("ntkd.toml", []byte(in))
	want := `ntkd.toml:1:1: log_level: invalid level "loud": want debug, info, warn or error
ntkd.toml:2:1: colour: unknown key
ntkd.toml:4:1: radar.probes: want an integer, not a string
ntkd.toml:6:1: radar.probe_timeout: probe_timeout (2s) must be shorter than interval (1s)
ntkd.toml:10:1: interface[1].name: "eth0" is already listed as interface[0]
ntkd.toml:12:16: andna.names[1]: "NO": must be lowercase`
	if err == nil || err.Error() != want {
		t.Errorf("got:\n%v\nwant:\n%s", err, want)
	}
}

// TestValidateWithoutFile covers problems Validate finds in a Config built
// in code: no positions, keys still named.
func TestValidateWithoutFile(t *testing.T) {
	c := Default()
	c.Radar.Probes = 0
	c.Address.Prefix = netip.MustParsePrefix("10.0.0.0/7")
	c.Interfaces = []Interface{{Name: ""}}
	err := c.Validate()
	want := "interface[0].name: missing: every [[interface]] needs a name\n" +
		"address.prefix: 10.0.0.0/7: prefix is not inside 10.0.0.0/8, 172.16.0.0/12 or fc00::/7 (restricted mode)\n" +
		"radar.probes: 0 is out of range 1..64"
	if err == nil || err.Error() != want {
		t.Errorf("got:\n%v\nwant:\n%s", err, want)
	}
}

func TestOffsetPos(t *testing.T) {
	text := "ab\ncd\n\nef"
	for off, want := range map[int]pos{0: {1, 1}, 2: {1, 3}, 3: {2, 1}, 6: {3, 1}, 7: {4, 1}, 9: {4, 3}, 99: {4, 3}, -1: {1, 1}} {
		if got := offsetPos(text, off); got != want {
			t.Errorf("offsetPos(%d) = %v, want %v", off, got, want)
		}
	}
}

// TestIntWidth: int is 32 bits on the MIPS routers; a value that does not
// fit must be an error there, not a silently wrapped number.
func TestIntWidth(t *testing.T) {
	_, err := Parse("t.toml", []byte("gogc = 9999999999\n"))
	if strconv.IntSize == 64 {
		if err != nil {
			t.Fatal(err)
		}
		return
	}
	if err == nil || err.Error() != "t.toml:1:1: gogc: 9999999999 is out of range" {
		t.Fatalf("got %v", err)
	}
}

// TestParseEntry: the entry servers, the coordinates (floats or whole
// numbers, in microdegrees for the daemon) and the entry node's keys.
func TestParseEntry(t *testing.T) {
	c, err := Parse("t.toml", []byte(`
[vlayer]
enabled = true
latitude = 45.464211
longitude = -9
endpoint = "203.0.113.5:27000"
entry_node = true
entry_after = "10m"
entry_cache = "/tmp/entry.cache"
[[vlayer.entry_server]]
address = "198.51.100.2:27100"
public_key = "A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg="
[[vlayer.entry_server]]
address = "[2001:db8::2]:27100"
public_key = "eW4Yy+wRTnVe5m4QqrqGWKOhwBwTqFYR1q2ReLYb9ak="
`))
	if err != nil {
		t.Fatal(err)
	}
	v := c.VLayer
	if lat, lon, ok := v.EntryPosition(); !ok || lat != 45464211 || lon != -9000000 {
		t.Errorf("position %d %d %v", lat, lon, ok)
	}
	if len(v.EntryServers) != 2 || v.EntryServers[1].Address != "[2001:db8::2]:27100" ||
		v.EntryServers[0].PublicKey != "A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=" {
		t.Errorf("servers %+v", v.EntryServers)
	}
	if v.Endpoint != "203.0.113.5:27000" || !v.EntryNode || v.EntryAfter != 10*time.Minute || v.EntryCache != "/tmp/entry.cache" {
		t.Errorf("entry node %+v", v)
	}
	d := Default().VLayer
	if _, _, ok := d.EntryPosition(); ok || d.EntryNode || d.EntryAfter != 72*time.Hour || d.EntryCache != "/etc/ntkd/entry.cache" {
		t.Errorf("defaults %+v", d)
	}
}
