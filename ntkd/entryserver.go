//go:build !router

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/ntkd/ntkd/internal/entry"
	"github.com/ntkd/ntkd/internal/logx"
)

// Entry servers are dedicated machines, not routers: `ntkd entry-server`
// is left out of router builds with the other tools.

// defaultEntryPort is where entry servers listen unless told otherwise.
const defaultEntryPort = 27100

// entryServerFile is the TOML of `ntkd entry-server -c FILE`.
type entryServerFile struct {
	Listen      string         `toml:"listen"`
	KeyFile     string         `toml:"key_file"`
	Mirror      bool           `toml:"mirror"`
	Expiry      tomlDuration   `toml:"expiry"`
	MaxRecords  int            `toml:"max_records"`
	MinInterval tomlDuration   `toml:"min_interval"`
	MaxSkew     tomlDuration   `toml:"max_skew"`
	MaxHops     int            `toml:"max_hops"`
	SourceRate  int            `toml:"source_rate"`
	MaxConns    int            `toml:"max_conns"`
	LogLevel    string         `toml:"log_level"`
	Peer        []entryPeerCfg `toml:"peer"`
}

type entryPeerCfg struct {
	Address   string `toml:"address"`
	PublicKey string `toml:"public_key"`
	Mirror    bool   `toml:"mirror"`
}

type tomlDuration struct{ time.Duration }

func (d *tomlDuration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

// entryServerSetup is a checked configuration.
type entryServerSetup struct {
	listen   netip.AddrPort
	keyFile  string
	logLevel logx.Level
	server   entry.ServerConfig // without Key and Logger
}

// loadEntryServerConfig reads and checks path. Every problem is reported,
// as "file:line:col: key: message" where the key is in the file.
func loadEntryServerConfig(path string) (*entryServerSetup, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseEntryServerConfig(path, string(data))
}

func parseEntryServerConfig(path, text string) (*entryServerSetup, error) {
	f := entryServerFile{Listen: "[::]:" + strconv.Itoa(defaultEntryPort)}
	md, err := toml.Decode(text, &f)
	if err != nil {
		if pe, ok := errors.AsType[toml.ParseError](err); ok {
			return nil, fmt.Errorf("%s:%d:%d: %s", path, pe.Position.Line, pe.Position.Col, pe.Message)
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	at := tomlKeyLines(text)
	var errs []string
	bad := func(key, format string, args ...any) {
		where := path
		if ps := at[key]; len(ps) > 0 {
			where += ":" + ps[0]
		}
		errs = append(errs, fmt.Sprintf("%s: %s: %s", where, key, fmt.Sprintf(format, args...)))
	}
	seen := map[string]bool{}
	for _, k := range md.Undecoded() {
		name := k.String()
		if seen[name] {
			continue
		}
		seen[name] = true
		ps := at[name]
		if len(ps) == 0 {
			ps = []string{""}
		}
		for _, p := range ps {
			where := path
			if p != "" {
				where += ":" + p
			}
			errs = append(errs, fmt.Sprintf("%s: %s: unknown key", where, name))
		}
	}

	s := &entryServerSetup{keyFile: f.KeyFile}
	if s.listen, err = netip.ParseAddrPort(f.Listen); err != nil {
		bad("listen", "want a literal IP:port such as [::]:%d", defaultEntryPort)
	}
	if f.KeyFile == "" {
		bad("key_file", "required: the server's Ed25519 key, made on first start")
	}
	if err := s.logLevel.UnmarshalText([]byte(f.LogLevel)); err != nil && f.LogLevel != "" {
		bad("log_level", "want debug, info, warn or error")
	}
	for _, c := range []struct {
		key string
		v   time.Duration
		min time.Duration
	}{{"expiry", f.Expiry.Duration, time.Minute}, {"min_interval", f.MinInterval.Duration, time.Second},
		{"max_skew", f.MaxSkew.Duration, time.Second}} {
		if c.v != 0 && c.v < c.min {
			bad(c.key, "%v is below %v", c.v, c.min)
		}
	}
	for _, c := range []struct {
		key      string
		v, max   int
		positive bool
	}{{"max_records", f.MaxRecords, 1 << 20, true}, {"max_hops", f.MaxHops, entry.MaxHops, true},
		{"source_rate", f.SourceRate, 1 << 20, true}, {"max_conns", f.MaxConns, 4096, true}} {
		if c.v < 0 || c.v > c.max {
			bad(c.key, "%d out of 1..%d", c.v, c.max)
		}
	}
	sc := &s.server
	sc.Mirror = f.Mirror
	sc.SourceRate, sc.MaxConns = f.SourceRate, f.MaxConns
	sc.List = entry.ListConfig{Expiry: f.Expiry.Duration, MaxRecords: f.MaxRecords,
		MinInterval: f.MinInterval.Duration, MaxSkew: f.MaxSkew.Duration, MaxHops: f.MaxHops}
	keys := map[entry.PublicKey]bool{}
	for i, pc := range f.Peer {
		var p entry.Peer
		p.Mirror = pc.Mirror
		if err := p.Key.UnmarshalText([]byte(pc.PublicKey)); err != nil {
			bad("peer.public_key", "peer %d: want the server's Ed25519 key in base64 (its log prints it at start)", i+1)
		} else if keys[p.Key] {
			bad("peer.public_key", "peer %d: %v listed twice", i+1, p.Key)
		}
		keys[p.Key] = true
		if pc.Address != "" {
			if p.Addr, err = netip.ParseAddrPort(pc.Address); err != nil || p.Addr.Port() == 0 {
				bad("peer.address", "peer %d: %q: want a literal IP:port (no names: no DNS)", i+1, pc.Address)
			}
			if f.Mirror && !pc.Mirror {
				bad("peer.address", "peer %d: a mirror never sends to a full server: leave the address out or mark the peer mirror = true", i+1)
			}
		}
		sc.Peers = append(sc.Peers, p)
	}
	if len(errs) > 0 {
		sort.SliceStable(errs, func(i, j int) bool { return lineOf(errs[i], path) < lineOf(errs[j], path) })
		return nil, errors.New(strings.Join(errs, "\n"))
	}
	return s, nil
}

// lineOf is the line number in a "path:line:col: ..." message, or a large
// one for messages without a position (they go last).
func lineOf(msg, path string) int {
	rest := strings.TrimPrefix(msg, path+":")
	if n, err := strconv.Atoi(rest[:max(0, strings.IndexByte(rest, ':'))]); err == nil {
		return n
	}
	return 1 << 30
}

// tomlKeyLines finds where each dotted key is written, as "line:col",
// every occurrence (keys of [[peer]] repeat). The toml library keeps key
// positions to itself; this file is flat enough for a line scanner:
// "[table]", "[[table]]" and "key = value" lines.
func tomlKeyLines(text string) map[string][]string {
	at := map[string][]string{}
	table := ""
	for i, line := range strings.Split(text, "\n") {
		trimmed := strings.TrimSpace(line)
		col := len(line) - len(strings.TrimLeft(line, " \t")) + 1
		pos := strconv.Itoa(i+1) + ":" + strconv.Itoa(col)
		switch {
		case strings.HasPrefix(trimmed, "#") || trimmed == "":
		case strings.HasPrefix(trimmed, "["):
			name := strings.Trim(strings.SplitN(trimmed, "#", 2)[0], "[] \t")
			table = name
			at[name] = append(at[name], pos)
		default:
			eq := strings.IndexByte(trimmed, '=')
			if eq <= 0 {
				continue
			}
			name := strings.Trim(strings.TrimSpace(trimmed[:eq]), `"`)
			if table != "" {
				name = table + "." + name
			}
			at[name] = append(at[name], pos)
		}
	}
	return at
}

// runEntryServer is `ntkd entry-server -c FILE`: an entry server (seed 002)
// until SIGTERM or SIGINT.
func runEntryServer(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("entry-server", stderr)
	path := fs.String("c", "/etc/ntkd/entry-server.toml", "configuration `file`")
	printKey := fs.Bool("print-key", false, "print the server's public key (making the key file if needed) and exit")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	setup, err := loadEntryServerConfig(*path)
	if err != nil {
		fmt.Fprintln(stderr, "ntkd entry-server:", err)
		return exitConfig
	}
	log := logx.New(stderr, setup.logLevel)
	if *printKey {
		key, err := entry.LoadOrCreateKey(setup.keyFile)
		if err != nil {
			fmt.Fprintln(stderr, "ntkd entry-server:", err)
			return exitFail
		}
		fmt.Fprintln(stdout, entry.PublicKeyOf(key))
		return exitOK
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := serveEntry(ctx, setup, log, nil); err != nil {
		log.Error("entry server stopped", "err", err)
		return exitFail
	}
	return exitOK
}

// serveEntry runs the server until ctx is done. ready, when not nil, gets
// the listening address.
func serveEntry(ctx context.Context, setup *entryServerSetup, log *logx.Logger, ready chan<- netip.AddrPort) error {
	key, err := entry.LoadOrCreateKey(setup.keyFile)
	if err != nil {
		return err
	}
	cfg := setup.server
	cfg.Key, cfg.Logger = key, log
	srv, err := entry.NewServer(cfg)
	if err != nil {
		return err
	}
	ln, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(setup.listen))
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	addr := ln.Addr().(*net.TCPAddr).AddrPort()
	log.Info("entry server up", "listen", addr, "public_key", srv.PublicKey(), "mirror", cfg.Mirror, "peers", len(cfg.Peers))
	if ready != nil {
		ready <- addr
	}
	go func() { // a line of counters every 10 minutes, the entry nodes' period
		t := time.NewTicker(10 * time.Minute)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				logEntryStats(log, "entry server", srv)
			}
		}
	}()
	err = srv.Serve(ctx, ln)
	logEntryStats(log, "entry server down", srv)
	return err
}

func logEntryStats(log *logx.Logger, msg string, srv *entry.Server) {
	counters, stats := srv.Stats()
	log.Info(msg, "entry_nodes", len(srv.Snapshot()), "accepted", counters.Accepted,
		"expired", counters.Expired, "refused", refusedText(counters), "malformed", stats.Malformed,
		"rate_limited", stats.SourceLimit, "lists", stats.Lists, "forwarded", stats.Forwarded,
		"forward_drops", stats.ForwardDrops, "forward_errors", stats.ForwardErrs)
}

func refusedText(c entry.Counters) string {
	var parts []string
	for st, n := range c.Refused {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%s=%d", entry.Status(st), n))
		}
	}
	return strings.Join(parts, ",")
}
