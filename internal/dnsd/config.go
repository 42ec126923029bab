package dnsd

import (
	"fmt"
	"net/netip"
	"runtime"
	"slices"
	"strings"
	"time"
)

// Config sets addresses and limits. Zero fields take the defaults below.
type Config struct {
	// Listen are the addresses served over UDP and TCP. Port 0 picks a free
	// port, the same for UDP and TCP (see Server.Addrs). Default
	// 127.0.0.1:5373.
	Listen []netip.AddrPort
	// Suffix marks mesh names: "myrouter.ntk" asks the Resolver for
	// "myrouter". One or more labels, no leading or trailing dot. Default
	// "ntk".
	Suffix string
	// Upstream are the servers other names are forwarded to, tried in
	// order. None: other names are REFUSED.
	Upstream []netip.AddrPort
	// ReverseZones are the address ranges whose PTR queries go to
	// Resolver.Reverse. Default 10.0.0.0/8, 172.16.0.0/12 and fc00::/7,
	// the ranges a mesh may use.
	ReverseZones []netip.Prefix

	// ResolveTimeout bounds one Resolver call. Default 3s.
	ResolveTimeout time.Duration
	// UpstreamTimeout bounds one exchange with one upstream server (the
	// TCP retry of a truncated answer gets its own). Default 2s.
	UpstreamTimeout time.Duration
	// TCPTimeout is how long a TCP client may take to send each query
	// (idle time included) and to take each answer. Default 10s.
	TCPTimeout time.Duration
	// MaxTTL caps the TTL of mesh answers, so that clients notice a node
	// that moved even when ANDNA keeps its record for days. Default 5m.
	MaxTTL time.Duration
	// NegativeTTL is how long NXDOMAIN is cached here and by clients (the
	// SOA minimum). Default 10s: a name registered a moment ago is seen soon.
	NegativeTTL time.Duration

	// CacheSize bounds the answer cache, in (name, type) entries. Default
	// 1024.
	CacheSize int
	// MaxPending bounds the UDP queries waiting for the Resolver or an
	// upstream; more are dropped. Default 64.
	MaxPending int
	// MaxForward bounds the queries being forwarded upstream at once, over
	// UDP and TCP together. Default 32.
	MaxForward int
	// MaxTCPConns bounds the open TCP connections; more are closed at once.
	// Default 16.
	MaxTCPConns int
	// UDPReaders is the number of goroutines reading each UDP socket.
	// Default GOMAXPROCS, at most 4.
	UDPReaders int
	// UDPSize is the largest UDP answer we send and the EDNS0 size we
	// advertise; clients that allow more still get at most this. Default
	// 1232 (no IP fragmentation on any usual path).
	UDPSize int

	// Now is the clock of the cache. Default time.Now.
	Now func() time.Time
}

// maxSuffixLen leaves room for a label and "hostmaster." in 254 bytes.
const maxSuffixLen = 200

// withDefaults returns c with zero fields set to their defaults and the
// suffix normalised, or an error for values that make no sense.
func (c Config) withDefaults() (Config, error) {
	// Our own copies: validate normalises in place.
	c.Listen = slices.Clone(c.Listen)
	c.Upstream = slices.Clone(c.Upstream)
	c.ReverseZones = slices.Clone(c.ReverseZones)
	if len(c.Listen) == 0 {
		c.Listen = []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:5373")}
	}
	if c.Suffix == "" {
		c.Suffix = "ntk"
	}
	if c.ReverseZones == nil {
		c.ReverseZones = []netip.Prefix{
			netip.MustParsePrefix("10.0.0.0/8"),
			netip.MustParsePrefix("172.16.0.0/12"),
			netip.MustParsePrefix("fc00::/7"),
		}
	}
	setDur := func(v *time.Duration, def time.Duration) {
		if *v == 0 {
			*v = def
		}
	}
	setDur(&c.ResolveTimeout, 3*time.Second)
	setDur(&c.UpstreamTimeout, 2*time.Second)
	setDur(&c.TCPTimeout, 10*time.Second)
	setDur(&c.MaxTTL, 5*time.Minute)
	setDur(&c.NegativeTTL, 10*time.Second)
	setInt := func(v *int, def int) {
		if *v == 0 {
			*v = def
		}
	}
	setInt(&c.CacheSize, 1024)
	setInt(&c.MaxPending, 64)
	setInt(&c.MaxForward, 32)
	setInt(&c.MaxTCPConns, 16)
	setInt(&c.UDPReaders, min(runtime.GOMAXPROCS(0), 4))
	setInt(&c.UDPSize, 1232)
	if c.Now == nil {
		c.Now = time.Now
	}
	return c, c.validate()
}

func (c *Config) validate() error {
	c.Suffix = asciiLower(strings.TrimSuffix(c.Suffix, "."))
	if msg := checkHostname(c.Suffix); msg != "" {
		return fmt.Errorf("dnsd: suffix %q: %s", c.Suffix, msg)
	}
	if len(c.Suffix) > maxSuffixLen {
		// The SOA's mailbox "hostmaster.<suffix>." must still fit a name.
		return fmt.Errorf("dnsd: suffix %q: longer than %d bytes", c.Suffix, maxSuffixLen)
	}
	for _, l := range c.Listen {
		if !l.IsValid() || l.Addr().Zone() != "" {
			return fmt.Errorf("dnsd: listen address %v: want ip:port without zone", l)
		}
	}
	for _, u := range c.Upstream {
		if !u.IsValid() || u.Port() == 0 {
			return fmt.Errorf("dnsd: upstream %v: want ip:port", u)
		}
		// Port 0 listeners cannot loop onto a configured upstream.
		if slices.Contains(c.Listen, u) {
			return fmt.Errorf("dnsd: upstream %v is a listen address: forwarding would loop", u)
		}
	}
	for i, z := range c.ReverseZones {
		if !z.IsValid() {
			return fmt.Errorf("dnsd: reverse zone %d is not a prefix", i)
		}
		c.ReverseZones[i] = z.Masked()
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"resolve timeout", c.ResolveTimeout}, {"upstream timeout", c.UpstreamTimeout},
		{"TCP timeout", c.TCPTimeout}, {"max TTL", c.MaxTTL}, {"negative TTL", c.NegativeTTL},
	} {
		if d.v < 0 {
			return fmt.Errorf("dnsd: %s %v is negative", d.name, d.v)
		}
	}
	if c.MaxTTL < time.Second || c.NegativeTTL < time.Second {
		return fmt.Errorf("dnsd: max TTL %v and negative TTL %v must be at least 1s", c.MaxTTL, c.NegativeTTL)
	}
	// TTLs are whole seconds: the cache expires with the TTL it served.
	c.MaxTTL = c.MaxTTL.Truncate(time.Second)
	c.NegativeTTL = c.NegativeTTL.Truncate(time.Second)
	for _, n := range []struct {
		name string
		v    int
	}{
		{"cache size", c.CacheSize}, {"max pending", c.MaxPending}, {"max forward", c.MaxForward},
		{"max TCP connections", c.MaxTCPConns}, {"UDP readers", c.UDPReaders},
	} {
		if n.v < 1 {
			return fmt.Errorf("dnsd: %s %d must be at least 1", n.name, n.v)
		}
	}
	if c.UDPSize < minUDPSize || c.UDPSize > maxMsgSize {
		return fmt.Errorf("dnsd: UDP size %d out of %d..%d", c.UDPSize, minUDPSize, maxMsgSize)
	}
	return nil
}
