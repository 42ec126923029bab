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
	"net/netip"
	"os"
	"strconv"
	"strings"

	"github.com/ntkd/ntkd/internal/config"
	"github.com/ntkd/ntkd/internal/daemon"
	"github.com/ntkd/ntkd/internal/uci"
)

const defaultUCIPath = "/etc/config/ntkd"

// uciOpt is one option of one section type. kind: 's' string, 'i' whole
// number, 'f' number (TOML float), 'b' boolean, 'L' list of strings, 'I'
// list of whole numbers, 'E' list of entry servers ('IP:port KEY', each a
// [[vlayer.entry_server]]), 'n' a network name for the init script (with
// a key: the device it resolved it to goes there). Settings the daemon
// does not have are not here: set, they are unknown options.
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
	{"ntkd", "network_key", "mesh.network_key", 's'},
	{"ntkd", "network_key_accept", "mesh.network_key_accept", 's'},
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
	{"vlayer", "entry_server", "vlayer.entry_server", 'E'},
	{"vlayer", "latitude", "vlayer.latitude", 'f'},
	{"vlayer", "longitude", "vlayer.longitude", 'f'},
	{"vlayer", "endpoint", "vlayer.endpoint", 's'},
	{"vlayer", "entry_node", "vlayer.entry_node", 'b'},
	{"igs", "share_internet", "igs.share_internet", 'b'},
	{"igs", "uplink", "igs.uplink", 'n'},
	{"igs", "bandwidth", "igs.bandwidth", 'i'},
	{"igs", "probe", "igs.probe", 'L'},
	{"igs", "probe_interval", "igs.probe_interval", 's'},
	{"igs", "use_gateways", "igs.use_gateways", 'b'},
	{"igs", "max_gateways", "igs.max_gateways", 'i'},
	{"igs", "table", "igs.table", 'i'},
	{"igs", "rule_priority", "igs.rule_priority", 'i'},
	{"igs", "port", "igs.port", 'i'},
	{"limits", "max_neighbours", "limits.max_neighbours", 'i'},
	{"limits", "max_pending_requests", "limits.max_pending_requests", 'i'},
	{"limits", "max_andna_records", "limits.max_andna_records", 'i'},
	{"limits", "per_source_rate", "limits.per_source_rate", 'i'},
	{"limits", "per_source_burst", "limits.per_source_burst", 'i'},
	{"limits", "max_conns", "limits.max_conns", 'i'},
	{"limits", "max_conns_per_source", "limits.max_conns_per_source", 'i'},
	{"limits", "max_fresh_conns", "limits.max_fresh_conns", 'i'},
	{"limits", "stream_queue", "limits.stream_queue", 'i'},
	{"limits", "recv_queue", "limits.recv_queue", 'i'},
	{"limits", "max_peers", "limits.max_peers", 'i'},
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
	_        [0]func() // not comparable: no equality function in the binary
}

type uciRender struct {
	f       *uci.File
	devs    []string // NET=DEV from the command line
	errs    strings.Builder
	enabled bool
	nets    strings.Builder // --networks output after "enabled"
	toml    strings.Builder // dotted keys first,
	arrays  strings.Builder // then the [[interface]], [[vlayer.entry_server]] and [[vlayer.link]] entries
	origins []uciOrigin
	facts   strings.Builder
}

func runUCIRender(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("uci-render", stderr)
	in := fs.String("c", defaultUCIPath, "UCI `file` to read")
	out := fs.String("o", defaultConfigPath, "TOML `file` to write")
	nets := fs.Bool("networks", false, "print 'enabled 0|1' and the networks to resolve, then give NET=DEV (DEV empty: not up) arguments")
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
		// What internal/config found, at the UCI options the TOML keys
		// came from; a missing key ("vlayer.link[0].public_key") at its
		// entry (the vlink section).
		errs, _ := err.(config.Errors)
		var b strings.Builder
		for _, e := range errs {
			found := false
			for k := e.Key; k != "" && !found; {
				for _, o := range r.origins {
					if o.key == k {
						r.errf(&b, o.pos, o.ref+e.Key[len(k):], e.Msg)
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
				b.WriteString(*in + ": " + e.Key + ": " + e.Msg + "\n")
			}
		}
		if len(errs) == 0 {
			b.WriteString(err.Error() + "\n")
		}
		io.WriteString(stderr, b.String())
		return exitFail
	}
	// Atomically: procd and `ntkd run` never see half a file. Owner
	// only: it may hold the network key.
	tmp := *out + ".tmp"
	os.Remove(tmp) // WriteFile keeps the mode of a file that exists
	if err = os.WriteFile(tmp, []byte(text), 0o600); err == nil {
		err = os.Rename(tmp, *out)
	}
	if err != nil {
		io.WriteString(stderr, "ntkd uci-render: "+err.Error()+"\n")
		return exitFail
	}
	// What the init script needs from the checked config.
	fact := func(k, v string) { r.facts.WriteString(k + " " + v + "\n") }
	for _, in := range cfg.Interfaces {
		fact("mesh", in.Name)
	}
	for _, n := range cfg.VLinkNames() {
		fact("mesh", n)
	}
	for i, p := range [...]int{cfg.Ports.Radar, cfg.Ports.Stream, cfg.Ports.ANDNA, cfg.Ports.ANDNA} {
		fact("udp tcp udp tcp"[i*4:i*4+3], strconv.Itoa(p))
	}
	for _, l := range cfg.VLayer.Links {
		if cfg.VLayer.Enabled && l.ListenPort != 0 {
			fact("vlayer_udp", strconv.Itoa(l.ListenPort))
		}
	}
	// Virtual hooking (internal/daemon/vhook.go): its tunnels listen on
	// the ports above the endpoint's, at most daemon.MaxAnchored of them;
	// the endpoint's own port, TCP, takes an entry node's hook requests
	// and any vnode's link swaps.
	if ep, err := netip.ParseAddrPort(cfg.VLayer.Endpoint); err == nil && cfg.VLayer.Enabled && len(cfg.VLayer.EntryServers) > 0 {
		p := int(ep.Port())
		fact("vlayer_udp", strconv.Itoa(p+1)+"-"+strconv.Itoa(min(p+daemon.MaxAnchored, 65535)))
		fact("vlayer_tcp", strconv.Itoa(p))
	}
	if cfg.IGS.ShareInternet {
		fact("igs_udp", strconv.Itoa(cfg.IGS.Port))
	}
	for _, k := range [...]string{cfg.Mesh.NetworkKey, cfg.Mesh.NetworkKeyAccept} {
		if strings.HasPrefix(k, "/") {
			fact("key_file", k) // procd restarts the daemon when it changes
		}
	}
	if cfg.MemoryLimit > 0 {
		fact("gomemlimit", cfg.MemoryLimit.String())
	}
	fact("gogc", strconv.Itoa(cfg.GOGC))
	io.WriteString(stdout, r.facts.String())
	return exitOK
}

func (r *uciRender) origin(key, ref string, pos uci.Pos) {
	r.origins = append(r.origins, uciOrigin{key: key, ref: ref, pos: pos})
}

// errf reports a problem at a UCI position; ref is like ntkd.main.prefix.
func (r *uciRender) errf(b *strings.Builder, at uci.Pos, ref, msg string) {
	b.WriteString(r.f.Name + ":" + strconv.Itoa(at.Line) + ":" + strconv.Itoa(at.Col) + ": " + ref + ": " + msg + "\n")
}

// walk checks every section and option and writes the TOML lines.
func (r *uciRender) walk() {
	seen := " "
	links, ifs := 0, 0
	for _, s := range r.f.Sections {
		// ntkd.NAME, or ntkd.@TYPE[INDEX] as uci names anonymous sections
		// (s.Ref, written out: the router binary has a size budget).
		sref := "ntkd." + s.Name
		if s.Name == "" {
			sref = "ntkd.@" + s.Type + "[" + strconv.Itoa(s.Index) + "]"
		}
		if strings.Contains(seen, " "+s.Type+" ") && s.Type != "vlink" {
			r.errf(&r.errs, s.Pos, sref, "a second "+s.Type+" section")
			continue
		}
		seen += s.Type + " "
		// on: the section's switch, vlink's enabled (default on), vlayer's
		// enabled and igs's share_internet (default off).
		prefix, mark, on := "", len(r.origins), s.Type == "vlink"
		var link strings.Builder
		if s.Type == "vlink" {
			prefix = "vlayer.link[" + strconv.Itoa(links) + "]."
			r.origin(prefix[:len(prefix)-1], sref, s.Pos)
		}
		var ifaces *uci.Option
		var wifi uciOrigin // key: the TOML value
		var net *uciOpt    // the section's network option ('n')
		var netVal uci.Value
		var netRef string
		known := false
		for i := range uciOpts {
			known = known || uciOpts[i].sect == s.Type
		}
		if !known {
			r.errf(&r.errs, s.Pos, sref, "unknown section type (want ntkd, andna, dns, vlayer, igs, limits, vlink)")
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
			v := o.Values[len(o.Values)-1] // never empty
			isList := so.kind == 'L' || so.kind == 'I' || so.kind == 'E'
			switch {
			case o.List && !isList:
				r.errf(&r.errs, o.Pos, ref, "one value: option, not list")
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
				wifi = uciOrigin{key: text, ref: ref, pos: v.Pos}
			case so.kind == 'n':
				net, netVal, netRef = so, v, ref
			case so.kind == 'E':
				r.entryServers(o, ref)
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
				if so.name == "enabled" || so.name == "share_internet" {
					on = text == "true"
				}
			}
		}
		// The virtual layer's Internet network, the uplink: listed for the
		// init script (it resolves and watches them) only while their
		// section is on; the uplink's device goes into the TOML.
		if net != nil && on && netVal.Text != "" {
			r.nets.WriteString(net.name + " " + netVal.Text + "\n")
			if dev := r.dev(netVal.Text); net.key != "" && dev != "" {
				var b strings.Builder
				r.value(&b, uci.Value{Text: dev, Pos: netVal.Pos}, 's', "")
				r.toml.WriteString(net.key + " = " + b.String() + "\n")
				r.origin(net.key, netRef, netVal.Pos)
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
		if ifaces == nil {
			continue
		}
		// One [[interface]] per mesh interface, each logical network
		// replaced by the device the init script found for it.
		for _, v := range ifaces.Values {
			r.nets.WriteString("network " + v.Text + "\n")
			name := r.dev(v.Text)
			if name == "" {
				r.facts.WriteString("skipped " + v.Text + "\n")
				continue
			}
			var b strings.Builder
			r.value(&b, uci.Value{Text: name, Pos: v.Pos}, 's', "")
			key := "interface[" + strconv.Itoa(ifs) + "]"
			ifs++
			r.arrays.WriteString("\n[[interface]]\nname = " + b.String() + "\n")
			r.origin(key+".name", sref+".interface", v.Pos)
			if wifi.key != "" {
				r.arrays.WriteString("wifi_metrics = " + wifi.key + "\n")
				r.origin(key+".wifi_metrics", wifi.ref, wifi.pos)
			}
		}
	}
}

// entryServers writes one [[vlayer.entry_server]] per value of o, each
// "IP:port KEY"; the daemon's problems with either are shown at the value.
func (r *uciRender) entryServers(o *uci.Option, ref string) {
	r.origin("vlayer.entry_server", ref, o.Pos) // too many
	for i, x := range o.Values {
		f := strings.Fields(x.Text)
		if len(f) != 2 {
			r.errf(&r.errs, x.Pos, ref, strconv.Quote(x.Text)+" is not 'IP:port KEY': the server's address, a space, its public key")
			continue
		}
		var b strings.Builder
		b.WriteString("\n[[vlayer.entry_server]]\naddress = ")
		r.value(&b, uci.Value{Text: f[0], Pos: x.Pos}, 's', ref)
		b.WriteString("\npublic_key = ")
		r.value(&b, uci.Value{Text: f[1], Pos: x.Pos}, 's', ref)
		r.arrays.WriteString(b.String() + "\n")
		k := "vlayer.entry_server[" + strconv.Itoa(i) + "]."
		r.origin(k+"address", ref, x.Pos)
		r.origin(k+"public_key", ref, x.Pos)
	}
}

// dev is the device the init script found for network net (NET=DEV on
// the command line, DEV empty while the network is not up), else net
// itself: a device name.
func (r *uciRender) dev(net string) string {
	for _, d := range r.devs {
		if n, dev, _ := strings.Cut(d, "="); n == net {
			return dev
		}
	}
	return net
}

// value writes one checked value as TOML.
func (r *uciRender) value(b *strings.Builder, v uci.Value, kind byte, ref string) {
	switch kind {
	case 'i', 'I':
		n, err := strconv.Atoi(v.Text)
		if err != nil {
			r.errf(&r.errs, v.Pos, ref, strconv.Quote(v.Text)+" is not a whole number")
		}
		// The canonical form: TOML refuses '007' and '+7', which UCI allows.
		b.WriteString(strconv.Itoa(n))
	case 'f':
		f, err := strconv.ParseFloat(v.Text, 64)
		if err != nil || !(f > -1e9 && f < 1e9) { // NaN and Inf have no TOML spelling here
			r.errf(&r.errs, v.Pos, ref, strconv.Quote(v.Text)+" is not a number")
		}
		// Always a TOML float: "45" would be an integer, "1e-07" is not
		// what FormatFloat's 'f' writes.
		t := strconv.FormatFloat(f, 'f', -1, 64)
		if !strings.Contains(t, ".") {
			t += ".0"
		}
		b.WriteString(t)
	case 'b':
		t := " 1 yes on true enabled "
		if !strings.Contains(t+"0 no off false disabled ", " "+v.Text+" ") || v.Text == "" || strings.Contains(v.Text, " ") {
			r.errf(&r.errs, v.Pos, ref, strconv.Quote(v.Text)+" is not a boolean (1/0, yes/no, on/off, true/false)")
		}
		b.WriteString(strconv.FormatBool(strings.Contains(t, " "+v.Text+" ")))
	default:
		// A TOML basic string (strconv.Quote's escapes are TOML's, once
		// control characters other than tab are refused).
		word := kind == 'n' || strings.HasSuffix(ref, ".interface")
		for i := 0; i < len(v.Text); i++ {
			c := v.Text[i]
			if c < ' ' && c != '\t' || c == 0x7f || word && (c <= ' ' || c > 0x7f || strings.IndexByte("'\"\\`$", c) >= 0) {
				// The init script reads networks with `read`: one word.
				r.errf(&r.errs, v.Pos, ref, strconv.Quote(v.Text)+" holds a space, quote or control character")
				break
			}
		}
		b.WriteString(strconv.Quote(v.Text))
	}
}
