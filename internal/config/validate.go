package config

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/ntkd/ntkd/internal/addr"
	"github.com/ntkd/ntkd/internal/logx"
)

// minMemoryLimit is the smallest GOMEMLIMIT accepted: below it the Go
// runtime would spend its time collecting garbage, and a value that small is
// most likely a unit typo ("6KiB" for "6MiB").
const minMemoryLimit = 4 * MiB

// maxSocketPath is the longest unix socket path Linux takes (sun_path is
// 108 bytes with the terminating NUL).
const maxSocketPath = 107

// Validate checks every key and the rules between keys. The error is an
// Errors listing every problem, without positions (Parse adds them).
func (c *Config) Validate() error { return c.validate().orNil() }

type validator struct{ errs Errors }

func (v *validator) errf(key, format string, args ...any) {
	v.errs = append(v.errs, &Error{Key: key, Msg: fmt.Sprintf(format, args...)})
}

// cross records a problem between key and the related keys.
func (v *validator) cross(key string, related []string, format string, args ...any) {
	v.errf(key, format, args...)
	v.errs[len(v.errs)-1].related = related
}

func (v *validator) intRange(key string, n, lo, hi int) {
	if n < lo || n > hi {
		v.errf(key, "%d is out of range %d..%d", n, lo, hi)
	}
}

func (v *validator) positive(key string, d time.Duration) {
	if d <= 0 {
		v.errf(key, "must be longer than 0, is %v", d)
	}
}

func (c *Config) validate() Errors {
	v := &validator{}

	switch c.LogLevel {
	case logx.LevelDebug, logx.LevelInfo, logx.LevelWarn, logx.LevelError:
	default:
		v.errf("log_level", "%v is not one of debug, info, warn, error", c.LogLevel)
	}
	switch {
	case c.MemoryLimit < 0:
		v.errf("memory_limit", "must not be negative")
	case c.MemoryLimit > 0 && c.MemoryLimit < minMemoryLimit:
		v.errf("memory_limit", "%v is too small: use \"0\" for no limit or at least %v", c.MemoryLimit, minMemoryLimit)
	}
	switch {
	case c.GOGC == -1:
		if c.MemoryLimit == 0 {
			v.cross("gogc", []string{"memory_limit"},
				"gogc = -1 turns the garbage collector off, which needs a memory_limit, or memory grows without bound")
		}
	case c.GOGC < 1:
		v.errf("gogc", "%d is invalid: want -1 (off, with a memory_limit) or a percentage >= 1", c.GOGC)
	}
	if c.MaxProcs < 0 || c.MaxProcs > 256 {
		v.errf("max_procs", "%d is out of 0..256 (0: one per CPU)", c.MaxProcs)
	}

	seen := map[string]int{}
	for i, in := range c.Interfaces {
		key := fmt.Sprintf("interface[%d].name", i)
		if msg := checkIfname(in.Name); msg != "" {
			v.errf(key, "%s", msg)
			continue
		}
		if j, dup := seen[in.Name]; dup {
			v.errf(key, "%q is already listed as interface[%d]", in.Name, j)
			continue
		}
		seen[in.Name] = i
	}

	c.validateAddress(v)

	for _, p := range []struct {
		key  string
		port int
	}{{"ports.radar", c.Ports.Radar}, {"ports.stream", c.Ports.Stream}, {"ports.andna", c.Ports.ANDNA}} {
		v.intRange(p.key, p.port, 1, 65535)
	}
	// Radar and stream may share a number: one is UDP, the other TCP.
	// ANDNA takes both protocols, so it must differ from each.
	if c.Ports.ANDNA == c.Ports.Radar {
		v.cross("ports.andna", []string{"ports.radar"}, "andna (udp+tcp) and radar (udp) both use port %d", c.Ports.ANDNA)
	}
	if c.Ports.ANDNA == c.Ports.Stream {
		v.cross("ports.andna", []string{"ports.stream"}, "andna (udp+tcp) and stream (tcp) both use port %d", c.Ports.ANDNA)
	}

	if c.Radar.Interval < 10*time.Millisecond || c.Radar.Interval > 10*time.Minute {
		v.errf("radar.interval", "%v is out of range 10ms..10m (a hello announces it in 16 bits of 10 ms)", c.Radar.Interval)
	}
	v.intRange("radar.probes", c.Radar.Probes, 1, 64)
	v.positive("radar.probe_timeout", c.Radar.ProbeTimeout)
	if c.Radar.ProbeTimeout > 0 && c.Radar.Interval > 0 && c.Radar.ProbeTimeout >= c.Radar.Interval {
		v.cross("radar.probe_timeout", []string{"radar.interval"},
			"probe_timeout (%v) must be shorter than interval (%v)", c.Radar.ProbeTimeout, c.Radar.Interval)
	}
	v.intRange("radar.dead_after", c.Radar.DeadAfter, 1, 20)

	v.positive("qspn.wait_round", c.QSPN.WaitRound)
	v.intRange("qspn.max_routes", c.QSPN.MaxRoutes, 1, 32)
	v.intRange("qspn.max_age_rounds", c.QSPN.MaxAgeRounds, 1, 16)

	if c.Kernel.Table != TableMain && (c.Kernel.Table < 1 || c.Kernel.Table > 252) {
		// 253..255 are the kernel's default, main and local tables, 0 is unspec.
		v.errf("kernel.table", "%d is invalid: want \"main\" or a number 1..252", int(c.Kernel.Table))
	}
	v.intRange("kernel.rule_priority", c.Kernel.RulePriority, 1, 32765)
	if c.Kernel.Protocol >= 0 && c.Kernel.Protocol <= 4 {
		v.errf("kernel.protocol", "%d is reserved by the kernel (unspec, redirect, kernel, boot, static): want 5..255", c.Kernel.Protocol)
	} else {
		v.intRange("kernel.protocol", c.Kernel.Protocol, 5, 255)
	}

	if msg := checkAbsPath(c.Control.Socket); msg != "" {
		v.errf("control.socket", "%s", msg)
	} else if strings.HasSuffix(c.Control.Socket, "/") {
		v.errf("control.socket", "%q is a directory, want the socket's file name", c.Control.Socket)
	} else if len(c.Control.Socket) > maxSocketPath {
		v.errf("control.socket", "path is %d bytes long; unix sockets allow at most %d", len(c.Control.Socket), maxSocketPath)
	}

	lim := c.Limits
	v.intRange("limits.max_neighbours", lim.MaxNeighbours, 1, 255)
	v.intRange("limits.max_pending_requests", lim.MaxPendingRequests, 16, 65536)
	v.intRange("limits.max_andna_records", lim.MaxANDNARecords, 16, 1<<20)
	v.intRange("limits.per_source_rate", lim.PerSourceRate, 1, 1000000)
	v.intRange("limits.per_source_burst", lim.PerSourceBurst, 1, 1000000)
	v.intRange("limits.max_conns", lim.MaxConns, 1, 4096)
	v.intRange("limits.max_conns_per_source", lim.MaxConnsPerSource, 1, 64)
	v.intRange("limits.max_fresh_conns", lim.MaxFreshConns, 1, 1024)
	v.intRange("limits.stream_queue", lim.StreamQueue, 1, 65536)
	v.intRange("limits.recv_queue", lim.RecvQueue, 1, 65536)
	v.intRange("limits.max_peers", lim.MaxPeers, 16, 1<<20)
	if lim.MaxConns >= 1 && lim.MaxConnsPerSource > lim.MaxConns {
		v.cross("limits.max_conns_per_source", []string{"limits.max_conns"}, "%d is above limits.max_conns (%d)", lim.MaxConnsPerSource, lim.MaxConns)
	}

	c.validateANDNA(v)
	c.validateDNS(v)
	c.validateVLayer(v, seen)
	c.validateIGS(v, seen)
	c.validateMesh(v)
	return v.errs
}

// validateIGS checks [igs].
func (c *Config) validateIGS(v *validator, ifaces map[string]int) {
	g := &c.IGS
	if g.Uplink != "" {
		if msg := checkIfname(g.Uplink); msg != "" {
			v.errf("igs.uplink", "%s", msg)
		} else if j, mesh := ifaces[g.Uplink]; mesh {
			v.errf("igs.uplink", "%q is the mesh interface interface[%d]: the uplink must be another one", g.Uplink, j)
		}
	}
	v.intRange("igs.bandwidth", g.Bandwidth, 1, 100_000_000)
	if len(g.Probe) > 8 {
		v.errf("igs.probe", "%d targets; at most 8", len(g.Probe))
	}
	for i, p := range g.Probe {
		if _, msg := parseHostPort(p); msg != "" {
			v.errf(fmt.Sprintf("igs.probe[%d]", i), "%q: %s", p, msg)
		}
	}
	if g.ProbeInterval < time.Second || g.ProbeInterval > 10*time.Minute {
		v.errf("igs.probe_interval", "%v is out of range 1s..10m", g.ProbeInterval)
	}
	v.intRange("igs.max_gateways", g.MaxGateways, 1, 4)
	v.intRange("igs.table", g.Table, 1, 252)
	if c.Kernel.UsesRule() && g.Table == int(c.Kernel.Table) {
		v.errf("igs.table", "%d is already kernel.table: the default route needs a table of its own", g.Table)
	}
	v.intRange("igs.rule_priority", g.RulePriority, 32767, 65535)
	v.intRange("igs.port", g.Port, 1, 65535)
	for _, p := range []struct {
		key  string
		port int
	}{{"ports.radar", c.Ports.Radar}, {"ports.andna", c.Ports.ANDNA}} {
		if g.Active() && g.Port == p.port {
			v.errf("igs.port", "%d is already %s", g.Port, p.key)
		}
	}
}

// validateVLayer checks [vlayer] and its links; ifaces are the names of the
// [[interface]] entries, which a tunnel's name must not take.
func (c *Config) validateVLayer(v *validator, ifaces map[string]int) {
	vl := &c.VLayer
	if msg := checkAbsPath(vl.KeyFile); msg != "" {
		v.errf("vlayer.key_file", "%s", msg)
	}
	names, ports, keys := map[string]int{}, map[int]int{}, map[string]int{}
	for i, l := range vl.Links {
		at := func(k string) string { return fmt.Sprintf("vlayer.link[%d].%s", i, k) }
		name := c.VLinkName(i)
		if msg := checkIfname(name); msg != "" {
			v.errf(at("name"), "%s", msg)
		} else if j, dup := ifaces[name]; dup {
			v.errf(at("name"), "%q is already the mesh interface interface[%d]", name, j)
		} else if j, dup := names[name]; dup {
			v.errf(at("name"), "%q is already the name of vlayer.link[%d]", name, j)
		} else {
			names[name] = i
		}
		v.intRange(at("listen_port"), l.ListenPort, 0, 65535)
		if j, dup := ports[l.ListenPort]; dup && l.ListenPort != 0 {
			v.errf(at("listen_port"), "%d is already the port of vlayer.link[%d]: each tunnel needs its own", l.ListenPort, j)
		}
		ports[l.ListenPort] = i
		if msg := checkKey(l.PublicKey); msg != "" {
			v.errf(at("public_key"), "%s", msg)
		} else if j, dup := keys[l.PublicKey]; dup {
			v.errf(at("public_key"), "already the key of vlayer.link[%d]: one tunnel per vnode", j)
		} else {
			keys[l.PublicKey] = i
		}
		if l.Endpoint != "" {
			if _, msg := parseHostPort(l.Endpoint); msg != "" {
				v.errf(at("endpoint"), "%q: %s", l.Endpoint, msg)
			}
		}
		if l.Keepalive < 0 || l.Keepalive > 65535*time.Second {
			v.errf(at("keepalive"), "%v is out of range 0..65535s", l.Keepalive)
		}
	}
	c.validateEntry(v)
}

// validateEntry checks the entry servers, the coordinates and the entry
// node's keys of [vlayer].
func (c *Config) validateEntry(v *validator) {
	vl := &c.VLayer
	if len(vl.EntryServers) > MaxEntryServers {
		v.errf("vlayer.entry_server", "%d servers; at most %d", len(vl.EntryServers), MaxEntryServers)
	}
	addrs := map[netip.AddrPort]int{}
	for i, s := range vl.EntryServers {
		at := func(k string) string { return fmt.Sprintf("vlayer.entry_server[%d].%s", i, k) }
		if a, msg := parseUnicast(s.Address); msg != "" {
			v.errf(at("address"), "%q: %s", s.Address, msg)
		} else if j, dup := addrs[a]; dup {
			v.errf(at("address"), "%v is already vlayer.entry_server[%d]", a, j)
		} else {
			addrs[a] = i
		}
		if b, err := base64.StdEncoding.DecodeString(s.PublicKey); err != nil || len(b) != 32 {
			msg := "missing: the server's Ed25519 key, as `ntkd entry-server -print-key` prints it"
			if s.PublicKey != "" {
				msg = fmt.Sprintf("%q is not a key: want 44 characters of base64 (32 bytes), as `ntkd entry-server -print-key` prints", s.PublicKey)
			}
			v.errf(at("public_key"), "%s", msg)
		}
	}
	for _, f := range []struct {
		key, other string
		x, y       *float64
		lim        float64
	}{{"vlayer.latitude", "vlayer.longitude", vl.Latitude, vl.Longitude, 90}, {"vlayer.longitude", "vlayer.latitude", vl.Longitude, vl.Latitude, 180}} {
		switch {
		case f.x == nil:
		case !(*f.x >= -f.lim && *f.x <= f.lim): // NaN too
			v.errf(f.key, "%v is out of range %v..%v degrees", *f.x, -f.lim, f.lim)
		case f.y == nil:
			v.cross(f.key, []string{f.other}, "set without %s: set both or neither", f.other)
		}
	}
	if vl.Endpoint != "" {
		if _, msg := parseUnicast(vl.Endpoint); msg != "" {
			v.errf("vlayer.endpoint", "%q: %s", vl.Endpoint, msg)
		}
	}
	if vl.EntryAfter < time.Minute {
		v.errf("vlayer.entry_after", "%v is below 1m", vl.EntryAfter)
	}
	if msg := checkAbsPath(vl.EntryCache); msg != "" {
		v.errf("vlayer.entry_cache", "%s", msg)
	}
	if vl.EntryNode {
		if vl.Endpoint == "" {
			v.cross("vlayer.entry_node", []string{"vlayer.endpoint"}, "an entry node lists its endpoint: set vlayer.endpoint to this node's public ip:port")
		}
		if len(vl.EntryServers) == 0 {
			v.errf("vlayer.entry_node", "an entry node lists itself on the entry servers: add a [[vlayer.entry_server]]")
		}
	}
}

// parseUnicast is parseHostPort for an address others connect to: not
// unspecified, not multicast.
func parseUnicast(s string) (netip.AddrPort, string) {
	a, msg := parseHostPort(s)
	if msg == "" && (a.Addr().IsUnspecified() || a.Addr().IsMulticast()) {
		msg = "not a unicast address"
	}
	return a, msg
}

// checkKey accepts a WireGuard key: standard base64 of 32 bytes.
func checkKey(s string) string {
	if s == "" {
		return "missing: the other vnode's tunnel public key (base64, as wg pubkey prints it)"
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != 32 {
		return fmt.Sprintf("%q is not a key: want 44 characters of base64 (32 bytes), as wg pubkey prints", s)
	}
	return ""
}

func (c *Config) validateAddress(v *validator) {
	pfx := c.Address.Prefix
	if !pfx.IsValid() {
		v.errf("address.prefix", "must be set, like \"10.0.0.0/8\"")
		return
	}
	if pfx != pfx.Masked() {
		v.errf("address.prefix", "%v has bits set after the prefix length; did you mean %v?", pfx, pfx.Masked())
		return
	}
	s, err := c.Scheme()
	if err != nil {
		// Blame the bits only when they were given: a default split that
		// does not work is the prefix's fault (e.g. a /31).
		key := "address.prefix"
		if errors.Is(err, addr.ErrBadBits) && len(c.Address.BitsPerLevel) > 0 {
			key = "address.bits_per_level"
		}
		v.errf(key, "%v", err)
		return
	}
	if f := c.Address.First; f.IsValid() {
		pos, err := s.Position(f)
		if err == nil {
			_, err = s.Addr(pos) // ids of every level, not only level 0
		}
		if err != nil {
			v.errf("address.first", "not a node address of %v: %v", s, err)
		}
	}
}

func (c *Config) validateANDNA(v *validator) {
	a := &c.ANDNA
	if msg := checkAbsPath(a.KeyDir); msg != "" {
		v.errf("andna.key_dir", "%s", msg)
	}
	v.positive("andna.hibernation", a.Hibernation)
	switch {
	case a.MinUpdateInterval < 0:
		v.errf("andna.min_update_interval", "must not be negative")
	case a.Hibernation > 0 && a.MinUpdateInterval >= a.Hibernation:
		v.cross("andna.min_update_interval", []string{"andna.hibernation"},
			"min_update_interval (%v) must be shorter than hibernation (%v), or records expire before they may be updated",
			a.MinUpdateInterval, a.Hibernation)
	}
	v.intRange("andna.max_queue", a.MaxQueue, 1, 5)
	v.intRange("andna.backup_gnodes", a.BackupGnodes, 0, 8)
	v.intRange("andna.max_names_per_key", a.MaxNamesPerKey, 1, 65535)

	seen := map[string]int{}
	for i, name := range a.Names {
		key := fmt.Sprintf("andna.names[%d]", i)
		if msg := checkDNSName(name); msg != "" {
			v.errf(key, "%q: %s", name, msg)
			continue
		}
		if j, dup := seen[name]; dup {
			v.errf(key, "%q is already listed as andna.names[%d]", name, j)
			continue
		}
		seen[name] = i
	}
	if a.MaxNamesPerKey >= 1 && len(a.Names) > a.MaxNamesPerKey {
		v.cross("andna.names", []string{"andna.max_names_per_key"},
			"%d names, but max_names_per_key is %d", len(a.Names), a.MaxNamesPerKey)
	}
}

func (c *Config) validateDNS(v *validator) {
	d := &c.DNS
	listen, lerr := parseHostPort(d.Listen)
	if lerr != "" {
		v.errf("dns.listen", "%q: %s", d.Listen, lerr)
	}
	if msg := checkDNSName(d.Suffix); msg != "" {
		v.errf("dns.suffix", "%q: %s", d.Suffix, msg)
	}
	var upstream netip.AddrPort
	if d.Upstream != "" {
		var uerr string
		if upstream, uerr = parseHostPort(d.Upstream); uerr != "" {
			v.errf("dns.upstream", "%q: %s", d.Upstream, uerr)
		}
	}
	if !d.Enabled || lerr != "" {
		return
	}
	// The daemon's sockets bind every address, so the wrapper (UDP, and TCP
	// for truncated answers) cannot share their ports even on 127.0.0.1.
	for _, p := range []struct {
		name string
		port int
	}{{"radar", c.Ports.Radar}, {"stream", c.Ports.Stream}, {"andna", c.Ports.ANDNA}} {
		if int(listen.Port()) == p.port {
			v.cross("dns.listen", []string{"ports." + p.name}, "port %d is already the %s port", p.port, p.name)
			break
		}
	}
	if upstream.IsValid() && upstream == listen {
		v.cross("dns.upstream", []string{"dns.listen"}, "forwarding to %v, the wrapper's own address, would loop", upstream)
	}
	if !c.ANDNA.Enabled {
		v.cross("dns.enabled", []string{"andna.enabled"}, "the DNS wrapper answers from ANDNA, which is disabled")
	}
}

// checkIfname applies the kernel's rules for interface names
// (dev_valid_name): 1..15 bytes, not "." or "..", no '/', ':' or space.
func checkIfname(name string) string {
	switch {
	case name == "":
		return "missing: every [[interface]] needs a name"
	case len(name) > 15:
		return fmt.Sprintf("%q is %d bytes long; Linux interface names have at most 15", name, len(name))
	case name == "." || name == "..":
		return fmt.Sprintf("%q is not a valid interface name", name)
	}
	for _, r := range name {
		switch r {
		case '/', ':', ' ', '\t', '\n', '\v', '\f', '\r', 0:
			return fmt.Sprintf("%q: interface names cannot contain %q", name, r)
		}
	}
	return ""
}

// checkDNSName checks a lowercase hostname: dot-separated labels of 1..63
// letters, digits and inner hyphens, 253 bytes in all, no trailing dot.
func checkDNSName(name string) string {
	switch {
	case name == "":
		return "empty name"
	case len(name) > 253:
		return fmt.Sprintf("%d bytes long; DNS names have at most 253", len(name))
	case strings.HasSuffix(name, ".") || strings.HasPrefix(name, "."):
		return "write it without a leading or trailing dot"
	}
	for label := range strings.SplitSeq(name, ".") {
		switch {
		case label == "":
			return "empty label (two dots in a row)"
		case len(label) > 63:
			return fmt.Sprintf("label %q is longer than 63 bytes", label)
		case label[0] == '-' || label[len(label)-1] == '-':
			return fmt.Sprintf("label %q starts or ends with a hyphen", label)
		}
		for i := 0; i < len(label); i++ {
			switch ch := label[i]; {
			case ch >= 'a' && ch <= 'z', ch >= '0' && ch <= '9', ch == '-':
			case ch >= 'A' && ch <= 'Z':
				return "must be lowercase"
			default:
				return fmt.Sprintf("label %q has %q; use only a-z, 0-9 and -", label, ch)
			}
		}
	}
	return ""
}

// checkAbsPath accepts an absolute path without NUL bytes.
func checkAbsPath(p string) string {
	switch {
	case p == "":
		return "missing: want an absolute path"
	case !strings.HasPrefix(p, "/"):
		return fmt.Sprintf("%q is not an absolute path", p)
	case strings.ContainsRune(p, 0):
		return "path contains a NUL byte"
	}
	return ""
}

// parseHostPort reads "ip:port" with a literal IP (names would need the DNS
// the wrapper itself serves) and a port 1..65535.
func parseHostPort(s string) (netip.AddrPort, string) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return netip.AddrPort{}, `want ip:port, like "127.0.0.1:5373" or "[::1]:5373"`
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return netip.AddrPort{}, fmt.Sprintf("%q is not an IP address", host)
	}
	if ip.Zone() != "" {
		return netip.AddrPort{}, "scoped (%zone) addresses are not supported"
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return netip.AddrPort{}, fmt.Sprintf("port %q is not a number 1..65535", port)
	}
	return netip.AddrPortFrom(ip.Unmap(), uint16(n)), ""
}
