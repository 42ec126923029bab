package main

// ntkd uci-render: /etc/config/ntkd (UCI) into the daemon's TOML.
//
// The init script calls it twice. First with --networks, which prints
// whether the daemon is enabled and the logical networks to resolve
// (netifd knows their devices; ntkd would need a ubus client for that,
// and the shell library already is one). Then with NET=DEV for each
// network, which writes the TOML and prints what procd needs: the mesh
// devices, the ports for the firewall, the memory settings. Every line it
// prints is "KEY VALUE" without spaces in VALUE, for `while read -r k v`.
//
// Each UCI option becomes one TOML line (dotted keys, so no table is
// opened twice), and the TOML key remembers the option it came from: the
// problems internal/config finds are reported at the UCI option, e.g.
// /etc/config/ntkd:12:16: ntkd.main.prefix: ...
//
// Small on purpose: it is in the router binary, which has a size budget.

import (
	"errors"
	"flag"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/ntkd/ntkd/internal/config"
	"github.com/ntkd/ntkd/internal/uci"
)

const defaultUCIPath = "/etc/config/ntkd"

// uciOpt is one option of one section type. kind: 's' string, 'i' whole
// number, 'b' boolean, 'L' list of strings, 'I' list of whole numbers,
// 'n' a network name for the init script, 'x' no such setting yet.
type uciOpt struct {
	sect, name string
	key        string // TOML key: dotted from the top, or inside its [[array]] entry; "" when the daemon does not read it
	kind       byte
}

var uciOpts = [...]uciOpt{
	{"ntkd", "enabled", "", 'b'},
	{"ntkd", "log_level", "log_level", 's'},
	{"ntkd", "memory_limit", "memory_limit", 's'},
	{"ntkd", "gogc", "gogc", 'i'},
	{"ntkd", "max_procs", "max_procs", 'i'},
	{"ntkd", "interface", "", 'L'}, // [[interface]] name, after the init script resolved it
	{"ntkd", "wifi_metrics", "", 'b'},
	{"ntkd", "prefix", "address.prefix", 's'},
	{"ntkd", "bits_per_level", "address.bits_per_level", 'I'},
	{"ntkd", "first", "address.first", 's'},
	{"ntkd", "radar_port", "ports.radar", 'i'},
	{"ntkd", "stream_port", "ports.stream", 'i'},
	{"ntkd", "andna_port", "ports.andna", 'i'},
	{"ntkd", "table", "kernel.table", 's'},
	{"andna", "enabled", "andna.enabled", 'b'},
	{"andna", "key_dir", "andna.key_dir", 's'},
	{"andna", "name", "andna.names", 'L'},
	{"dns", "enabled", "dns.enabled", 'b'},
	{"dns", "listen", "dns.listen", 's'},
	{"dns", "suffix", "dns.suffix", 's'},
	{"dns", "upstream", "dns.upstream", 's'},
	{"vlayer", "enabled", "vlayer.enabled", 'b'},
	{"vlayer", "key_file", "vlayer.key_file", 's'},
	{"vlayer", "internet", "", 'n'},
	{"vlayer", "entry_server", "", 'x'},
	{"vlayer", "latitude", "", 'x'},
	{"vlayer", "longitude", "", 'x'},
	{"vlink", "enabled", "", 'b'},
	{"vlink", "name", "name", 's'},
	{"vlink", "listen_port", "listen_port", 'i'},
	{"vlink", "public_key", "public_key", 's'},
	{"vlink", "endpoint", "endpoint", 's'},
	{"vlink", "keepalive", "keepalive", 's'},
}

// uciOrigin: the TOML key written from the UCI option ref at pos.
type uciOrigin struct {
	key, ref string
	pos      uci.Pos
}

type uciRender struct {
	f       *uci.File
	devs    []string // NET=DEV from the command line
	errs    strings.Builder
	warns   strings.Builder
	enabled bool
	nets    strings.Builder // --networks output after "enabled"
	toml    strings.Builder // dotted keys first,
	arrays  strings.Builder // then the [[interface]] and [[vlayer.link]] entries
	origins []uciOrigin
	facts   strings.Builder
}

func runUCIRender(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("uci-render", stderr)
	in := fs.String("c", defaultUCIPath, "UCI `file` to read")
	out := fs.String("o", defaultConfigPath, "TOML `file` to write")
	nets := fs.Bool("networks", false, "print 'enabled 0|1' and the networks to resolve; write nothing")
	fs.Usage = func() {
		io.WriteString(stderr, "usage: ntkd uci-render [-c UCI] [-o TOML] [--networks] [NETWORK=DEVICE ...]\n"+
			"  NETWORK=DEVICE: the Linux device of a logical network; NETWORK= leaves it out (not up yet)\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	data, err := os.ReadFile(*in)
	if err != nil {
		io.WriteString(stderr, "ntkd uci-render: "+err.Error()+"\n")
		return exitFail
	}
	f, err := uci.Parse(*in, data)
	if err != nil {
		io.WriteString(stderr, err.Error()+"\n")
		return exitFail
	}
	r := &uciRender{f: f, devs: fs.Args()}
	r.walk()
	if r.errs.Len() > 0 {
		io.WriteString(stderr, r.errs.String())
		return exitFail
	}
	io.WriteString(stderr, r.warns.String())
	if *nets {
		on := "enabled 0\n"
		if r.enabled {
			on = "enabled 1\n"
		}
		io.WriteString(stdout, on+r.nets.String())
		return exitOK
	}
	text := "# Generated from " + *in + " by ntkd uci-render: edit that file, not this one.\n" + r.toml.String() + r.arrays.String()
	cfg, err := config.Parse(*out, []byte(text))
	if err != nil {
		r.configErrors(err, stderr)
		return exitFail
	}
	// Atomically: procd and `ntkd run` never see half a file.
	tmp := *out + ".tmp"
	if err = os.WriteFile(tmp, []byte(text), 0o644); err == nil {
		err = os.Rename(tmp, *out)
	}
	if err != nil {
		io.WriteString(stderr, "ntkd uci-render: "+err.Error()+"\n")
		return exitFail
	}
	r.printFacts(cfg)
	io.WriteString(stdout, r.facts.String())
	return exitOK
}

func (r *uciRender) origin(key, ref string, pos uci.Pos) {
	r.origins = append(r.origins, uciOrigin{key, ref, pos})
}

// errf reports a problem at a UCI position; ref is like ntkd.main.prefix.
func (r *uciRender) errf(b *strings.Builder, at uci.Pos, ref, msg string) {
	b.WriteString(r.f.Name + ":" + strconv.Itoa(at.Line) + ":" + strconv.Itoa(at.Col) + ": " + ref + ": " + msg + "\n")
}

// walk checks every section and option and writes the TOML lines.
func (r *uciRender) walk() {
	seen := " "
	links := 0
	for _, s := range r.f.Sections {
		sref := "ntkd." + s.Ref()
		if strings.Contains(seen, " "+s.Type+" ") && s.Type != "vlink" {
			r.errf(&r.errs, s.Pos, sref, "a second '"+s.Type+"' section: put its options in the first")
			continue
		}
		seen += s.Type + " "
		prefix, mark, on := "", len(r.origins), true
		var link strings.Builder
		if s.Type == "vlink" {
			prefix = "vlayer.link[" + strconv.Itoa(links) + "]."
			r.origin(prefix[:len(prefix)-1], sref, s.Pos)
		}
		var ifaces *uci.Option
		var wifi uciOrigin // key: the TOML value
		known := false
		for i := range uciOpts {
			known = known || uciOpts[i].sect == s.Type
		}
		if !known {
			r.errf(&r.errs, s.Pos, sref, "unknown section type '"+s.Type+"' (want ntkd, andna, dns, vlayer or vlink)")
			continue
		}
		for _, o := range s.Options {
			var so *uciOpt
			for i := range uciOpts {
				if uciOpts[i].sect == s.Type && uciOpts[i].name == o.Name {
					so = &uciOpts[i]
				}
			}
			ref := sref + "." + o.Name
			if so == nil {
				r.errf(&r.errs, o.Pos, ref, "unknown option")
				continue
			}
			v, _ := o.Value()
			isList := so.kind == 'L' || so.kind == 'I'
			switch {
			case o.List && !isList:
				r.errf(&r.errs, o.Pos, ref, "one value: write 'option', not 'list'")
				continue
			case so.kind == 'x':
				r.errf(&r.warns, o.Pos, ref, "warning: ignored, this ntkd has no such setting yet")
				continue
			}
			var val strings.Builder
			for i, x := range o.Values {
				if i > 0 {
					val.WriteString(", ")
				}
				r.value(&val, x, so.kind, ref)
				if isList {
					// Each element has its origin: a bad name is shown where it is.
					r.origin(so.key+"["+strconv.Itoa(i)+"]", ref, x.Pos)
				}
			}
			text := val.String()
			if isList {
				text = "[" + text + "]"
			}
			switch {
			case so.name == "interface" && s.Type == "ntkd":
				ifaces = o
			case so.name == "wifi_metrics":
				wifi = uciOrigin{text, ref, v.Pos}
			case so.kind == 'n':
				r.nets.WriteString(o.Name + " " + v.Text + "\n")
			case so.name == "enabled" && s.Type == "vlink":
				on = text == "true"
			case so.name == "enabled" && s.Type == "ntkd":
				r.enabled = text == "true"
			case s.Type == "vlink":
				link.WriteString(so.key + " = " + text + "\n")
				r.origin(prefix+so.key, ref, v.Pos)
			default:
				r.toml.WriteString(so.key + " = " + text + "\n")
				r.origin(so.key, ref, v.Pos)
			}
		}
		if s.Type == "vlink" {
			if !on {
				r.origins = r.origins[:mark]
				continue
			}
			r.arrays.WriteString("\n[[vlayer.link]]\n" + link.String())
			links++
		}
		r.interfaces(s, ifaces, wifi)
	}
}

// value writes one checked value as TOML.
func (r *uciRender) value(b *strings.Builder, v uci.Value, kind byte, ref string) {
	switch kind {
	case 'i', 'I':
		if _, err := strconv.Atoi(v.Text); err != nil {
			r.errf(&r.errs, v.Pos, ref, strconv.Quote(v.Text)+" is not a whole number")
		}
		b.WriteString(v.Text)
	case 'b':
		t := " 1 yes on true enabled "
		if !strings.Contains(t+"0 no off false disabled ", " "+v.Text+" ") || v.Text == "" || strings.Contains(v.Text, " ") {
			r.errf(&r.errs, v.Pos, ref, strconv.Quote(v.Text)+" is not a boolean: want 1 or 0 (yes/no, on/off, true/false, enabled/disabled)")
		}
		b.WriteString(strconv.FormatBool(strings.Contains(t, " "+v.Text+" ")))
	case 'n', 'L':
		if kind == 'n' || strings.HasSuffix(ref, ".interface") {
			// The init script reads these with `read`: one word.
			for i := 0; i < len(v.Text); i++ {
				if c := v.Text[i]; c <= ' ' || c >= 0x7f || strings.IndexByte("'\"\\`$", c) >= 0 {
					r.errf(&r.errs, v.Pos, ref, strconv.Quote(v.Text)+" is not a network or device name")
					break
				}
			}
		}
		fallthrough
	default:
		// A TOML basic string; \u escapes for control characters.
		b.WriteByte('"')
		for _, c := range []byte(v.Text) {
			switch {
			case c == '"' || c == '\\':
				b.WriteByte('\\')
				b.WriteByte(c)
			case c < 0x20 || c == 0x7f:
				b.WriteString(`\u00` + string("0123456789abcdef"[c>>4]) + string("0123456789abcdef"[c&15]))
			default:
				b.WriteByte(c)
			}
		}
		b.WriteByte('"')
	}
}

// interfaces writes one [[interface]] per mesh interface, each logical
// network replaced by the device the init script found for it.
func (r *uciRender) interfaces(s *uci.Section, ifaces *uci.Option, wifi uciOrigin) {
	if ifaces == nil {
		return
	}
	for _, v := range ifaces.Values {
		r.nets.WriteString("network " + v.Text + "\n")
		name := v.Text
		for _, d := range r.devs {
			if net, dev, _ := strings.Cut(d, "="); net == v.Text {
				name = dev
			}
		}
		if name == "" {
			r.facts.WriteString("skipped " + v.Text + "\n")
			continue
		}
		var b strings.Builder
		r.value(&b, uci.Value{Text: name, Pos: v.Pos}, 's', "")
		key := "interface[" + strconv.Itoa(strings.Count(r.arrays.String(), "[[interface]]")) + "]"
		r.arrays.WriteString("\n[[interface]]\nname = " + b.String() + "\n")
		r.origin(key+".name", "ntkd."+s.Ref()+".interface", v.Pos)
		if wifi.key != "" {
			r.arrays.WriteString("wifi_metrics = " + wifi.key + "\n")
			r.origin(key+".wifi_metrics", wifi.ref, wifi.pos)
		}
	}
}

// configErrors reports what internal/config found in the TOML at the UCI
// options the TOML keys came from.
func (r *uciRender) configErrors(err error, w io.Writer) {
	errs, ok := err.(config.Errors)
	if !ok {
		io.WriteString(w, err.Error()+"\n")
		return
	}
	var b strings.Builder
	for _, e := range errs {
		found := false
		// The key, else the entry it belongs to ("vlayer.link[0].public_key"
		// missing is reported at the vlink section).
		for k := e.Key; k != "" && !found; {
			for _, o := range r.origins {
				if o.key == k {
					ref := o.ref
					if k != e.Key {
						ref += e.Key[len(k):]
					}
					r.errf(&b, o.pos, ref, e.Msg)
					found = true
					break
				}
			}
			i := len(k) - 1
			for i > 0 && k[i] != '.' && k[i] != '[' {
				i--
			}
			k = k[:i]
		}
		if !found {
			// A default the UCI file does not set (cross-field checks).
			b.WriteString(r.f.Name + ": " + e.Key + ": " + e.Msg + "\n")
		}
	}
	io.WriteString(w, b.String())
}

// printFacts lists what the init script needs from the checked config.
func (r *uciRender) printFacts(cfg *config.Config) {
	b := &r.facts
	for _, in := range cfg.Interfaces {
		b.WriteString("mesh " + in.Name + "\n")
	}
	for _, n := range cfg.VLinkNames() {
		b.WriteString("mesh " + n + "\n")
	}
	b.WriteString("udp " + strconv.Itoa(cfg.Ports.Radar) + "\ntcp " + strconv.Itoa(cfg.Ports.Stream) +
		"\nudp " + strconv.Itoa(cfg.Ports.ANDNA) + "\ntcp " + strconv.Itoa(cfg.Ports.ANDNA) + "\n")
	for _, l := range cfg.VLayer.Links {
		if cfg.VLayer.Enabled && l.ListenPort != 0 {
			b.WriteString("vlayer_udp " + strconv.Itoa(l.ListenPort) + "\n")
		}
	}
	if cfg.MemoryLimit > 0 {
		b.WriteString("gomemlimit " + cfg.MemoryLimit.String() + "\n")
	}
	b.WriteString("gogc " + strconv.Itoa(cfg.GOGC) + "\n")
}
