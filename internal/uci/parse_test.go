package uci

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
)

// dump renders a File compactly: one line per section and per option,
// values quoted with strconv.Quote, positions as line:col.
func dump(f *File) string {
	var b strings.Builder
	if f.Package != "" {
		b.WriteString("package " + f.Package + "\n")
	}
	for _, s := range f.Sections {
		b.WriteString("config " + s.Type + " " + s.Ref() + " " + pos(s.Pos) + "\n")
		for _, o := range s.Options {
			kind := "option"
			if o.List {
				kind = "list"
			}
			b.WriteString("  " + kind + " " + o.Name + " " + pos(o.Pos) + ":")
			for _, v := range o.Values {
				b.WriteString(" " + strconv.Quote(v.Text) + "@" + pos(v.Pos))
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}

func pos(p Pos) string { return strconv.Itoa(p.Line) + ":" + strconv.Itoa(p.Col) }

func mustParse(t *testing.T, name, text string) *File {
	t.Helper()
	f, err := Parse(name, []byte(text))
	if err != nil {
		t.Fatalf("Parse(%s): %v", name, err)
	}
	return f
}

func TestRealFiles(t *testing.T) {
	for _, tc := range []struct{ file, want string }{
		{"network", `config interface loopback 2:1
  option device 3:9: "lo"@3:16
  option proto 4:9: "static"@4:15
  option ipaddr 5:9: "127.0.0.1"@5:16
  option netmask 6:9: "255.0.0.0"@6:17
config globals globals 8:1
  option ula_prefix 9:9: "fd27:70fa:5c1d::/48"@9:20
config device @device[0] 11:1
  option name 12:9: "br-lan"@12:14
  option type 13:9: "bridge"@13:14
  list ports 14:7: "lan1"@14:13 "lan2"@15:13 "lan3"@16:13
config interface lan 18:1
  option device 19:9: "br-lan"@19:16
  option proto 20:9: "static"@20:15
  option ipaddr 21:9: "192.168.1.1"@21:16
  option netmask 22:9: "255.255.255.0"@22:17
  option ip6assign 23:9: "60"@23:19
config interface wan 25:1
  option device 26:9: "wan"@26:16
  option proto 27:9: "dhcp"@27:15
config interface mesh 29:1
  option proto 30:9: "none"@30:15
`},
		{"wireless", `config wifi-device radio0 1:1
  option type 2:9: "mac80211"@2:14
  option path 3:9: "platform/ahb/18100000.wmac"@3:14
  option channel 4:9: "1"@4:17
  option band 5:9: "2g"@5:14
  option htmode 6:9: "HT20"@6:16
  option cell_density 7:9: "0"@7:22
config wifi-iface default_radio0 9:1
  option device 10:9: "radio0"@10:16
  option network 11:9: "lan"@11:17
  option mode 12:9: "ap"@12:14
  option ssid 13:9: "OpenWrt"@13:14
  option encryption 14:9: "psk2"@14:20
  option key 15:9: "it's a \"secret\" #1"@15:13
config wifi-iface mesh0 17:1
  option device 18:9: "radio0"@18:16
  option network 19:9: "mesh"@19:17
  option mode 20:9: "mesh"@20:14
  option mesh_id 21:9: "ntk"@21:17
  option mesh_fwding 22:9: "0"@22:21
  option encryption 23:9: "none"@23:20
`},
		{"firewall", `config defaults @defaults[0] 2:1
  option syn_flood 3:9: "1"@3:19
  option input 4:9: "ACCEPT"@4:16
  option output 5:9: "ACCEPT"@5:17
  option forward 6:9: "REJECT"@6:18
config zone @zone[0] 8:1
  option name 9:9: "lan"@9:15
  list network 10:9: "lan"@10:18
  option input 11:9: "ACCEPT"@11:16
  option output 12:9: "ACCEPT"@12:17
  option forward 13:9: "ACCEPT"@13:18
config zone @zone[1] 15:1
  option name 16:9: "wan"@16:15
  list network 17:9: "wan"@17:18 "wan6"@18:18
  option input 19:9: "REJECT"@19:16
  option masq 20:9: "1"@20:15
config rule @rule[0] 22:1
  option name 23:9: "Allow-DHCP-Renew"@23:15
  option src 24:9: "wan"@24:14
  option proto 25:9: "udp"@25:16
  option dest_port 26:9: "68"@26:19
  option target 27:9: "ACCEPT"@27:17
  option family 28:9: "ipv4"@28:17
config include user 30:1
  option path 31:4: "/etc/firewall.user"@31:9
  option reload 32:4: "1"@32:11
  option fw4_compatible 35:9: "1"@35:24
`},
		{"system", `config system @system[0] 1:1
  option hostname 2:9: "OpenWrt"@2:18
  option timezone 3:9: "UTC"@3:18
config timeserver ntp 5:1
  list server 6:7: "0.openwrt.pool.ntp.org"@6:14 "1.openwrt.pool.ntp.org"@7:14
`},
	} {
		data, err := os.ReadFile("testdata/" + tc.file)
		if err != nil {
			t.Fatal(err)
		}
		f, err := Parse(tc.file, data)
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		if got := dump(f); got != tc.want {
			t.Errorf("%s:\n got:\n%s\nwant:\n%s", tc.file, got, tc.want)
		}
	}
}

func TestQuoting(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`option v 'a b'`, "a b"},
		{`option v "a b"`, "a b"},
		{`option v a`, "a"},
		{`option v 'a'"b"c`, "abc"},
		{`option v 'it'\''s'`, "it's"},
		{`option v "say \"hi\""`, `say "hi"`},
		{`option v "back\\slash"`, `back\slash`},
		{`option v "no\nescape"`, "nonescape"}, // libuci keeps the byte after '\', no C escapes
		{`option v a\ b`, "a b"},
		{`option v 'single \ stays'`, `single \ stays`},
		{`option v '#not a comment'`, "#not a comment"},
		{`option v "#not either"`, "#not either"},
		{`option v foo#bar`, "foo"}, // '#' outside quotes ends the line
		{`option v foo # comment`, "foo"},
		{"option v 'tab\there'", "tab\there"},
		{`option v ''`, "<deleted>"},
		{`option v`, "<deleted>"},
		{`o v short`, "short"},
		{"option v 'two\nlines'", "two\nlines"},
		{"option v \"two\nlines\"", "two\nlines"},
		{"option v join\\\ned", "joined"},
		{"option v \"join\\\ned\"", "joined"},
		{"option v crlf\\\r\nok", "crlfok"},
		{"option v 'utf-8 è ✓'", "utf-8 è ✓"},
	} {
		f, err := Parse("t", []byte("config t 'x'\n\t"+tc.in+"\n"))
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		got := "<deleted>"
		if v, ok := f.Sections[0].Option("v").Value(); ok {
			got = v.Text
		}
		if got != tc.want {
			t.Errorf("%q: got %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestSemantics(t *testing.T) {
	f := mustParse(t, "s", `package ntkd
config ntkd 'main'
	option a '1'
	option a '2'
	option b 'x'
	list b 'y'
	list c 'p'
	option c 'q'
	option gone 'soon'
	option gone ''

config vlink
	option name 'one'
config other
config vlink ''
	option name 'two'
config ntkd 'main'
	option late 'yes'
`)
	want := `package ntkd
config ntkd main 2:1
  option a 4:9: "2"@4:11
  list b 5:9: "x"@5:11 "y"@6:9
  option c 8:9: "q"@8:11
  option late 18:9: "yes"@18:14
config vlink @vlink[0] 12:1
  option name 13:9: "one"@13:14
config other @other[0] 14:1
config vlink @vlink[1] 15:1
  option name 16:9: "two"@16:14
`
	if got := dump(f); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	if s := f.Section("main"); s == nil || s.Type != "ntkd" {
		t.Errorf("Section(main) = %v", s)
	}
	if n := len(f.SectionsOf("vlink")); n != 2 {
		t.Errorf("SectionsOf(vlink): %d sections", n)
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"bogus x", "e:1:1: invalid command 'bogus' (want config, option, list or package)"},
		{"\toption a b", "e:1:2: option or list before the first 'config' line"},
		{"config", "e:1:7: missing or invalid section type ''"},
		{"config ''", "e:1:8: missing or invalid section type ''"},
		{"config t 'bad-name'", "e:1:10: invalid section name 'bad-name' (letters, digits and '_')"},
		{"config t x\nconfig u x", "e:2:10: section 'x' was declared before with type 't'"},
		{"config t\n  option", "e:2:9: missing or invalid option name '' (letters, digits and '_')"},
		{"config t\noption 'a.b' c", "e:2:8: missing or invalid option name 'a.b' (letters, digits and '_')"},
		{"config t\noption a b c", "e:2:12: too many arguments (quote values with spaces)"},
		{"config t\noption a 'b' ''\nconfig", "e:3:7: missing or invalid section type ''"},
		{"config t\noption a 'open\n\n", "e:2:10: unterminated '"},
		{"config t\nlist a \"open", "e:2:8: unterminated \""},
		{"config t\noption a b;option c d", "e:2:11: ';' outside quotes"},
		{"config 'a b' x", "e:1:8: missing or invalid section type 'a b'"},
		{"package 'a b'", "e:1:9: missing, invalid or second package name 'a b'"},
		{"package a\npackage b", "e:2:9: missing, invalid or second package name 'b'"},
		{"config t\n\toption a '1'\n\toption b 2 3 # comment", "e:3:13: too many arguments (quote values with spaces)"},
	} {
		_, err := Parse("e", []byte(tc.in))
		if err == nil {
			t.Errorf("%q: no error, want %q", tc.in, tc.want)
			continue
		}
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("%q: error %T is not *Error", tc.in, err)
		}
		if err.Error() != tc.want {
			t.Errorf("%q:\n got %s\nwant %s", tc.in, err, tc.want)
		}
	}
}

func TestEmpty(t *testing.T) {
	for _, in := range []string{"", "\n\n", "# only a comment\n", "   \t\n#x", "package ntkd\n"} {
		f := mustParse(t, "e", in)
		if len(f.Sections) != 0 {
			t.Errorf("%q: %d sections", in, len(f.Sections))
		}
	}
}
