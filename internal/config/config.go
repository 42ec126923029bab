// Package config is ntkd's TOML configuration: the keys, their defaults and
// their validation.
//
// A configuration is decoded over Default(), so a file only needs the keys it
// changes. Parse reports every problem of a file at once, each with the
// dotted key and, where the key is written in the file, its line and column:
// on OpenWrt the file is rendered from UCI and read by people who only see
// `ntkd check-config` output in logread.
package config

import (
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"time"

	"github.com/ntkd/ntkd/internal/addr"
	"github.com/ntkd/ntkd/internal/logx"
)

// Config is the whole daemon configuration. The toml tags are the key names;
// the comment of each field gives its default.
type Config struct {
	// LogLevel is debug, info, warn or error. Default info.
	LogLevel logx.Level `toml:"log_level"`
	// MemoryLimit is the daemon's GOMEMLIMIT in bytes; 0 leaves Go's default
	// (no limit). Default "16MiB": a guard against growth, well above what
	// the runtime needs (a 5 MiB limit sat below the runtime's own floor
	// on a node with four neighbours and made the collector run nonstop).
	MemoryLimit Size `toml:"memory_limit"`
	// GOGC is the garbage collector's target percentage; -1 turns it off,
	// which is only allowed with a MemoryLimit. Default 25: the live heap
	// is about 1 MiB, and Go's default (100) lets it grow to 4 MiB between
	// collections, half of a router's RSS budget; collecting a heap that
	// small often costs little CPU.
	GOGC int `toml:"gogc"`
	// MaxProcs is GOMAXPROCS: how many threads run Go code at once; 0 is
	// Go's default (one per CPU). Default 1: the daemon's work is one event
	// loop, and each more P keeps its own cache of partly used heap spans,
	// a GC worker and a thread (about 0.3 MiB of RSS on a 2-core router).
	MaxProcs int `toml:"max_procs"`
	// Interfaces are the mesh interfaces. Default none: valid for
	// check-config, but the daemon needs at least one to start.
	Interfaces []Interface `toml:"interface"`

	Address Address `toml:"address"`
	Ports   Ports   `toml:"ports"`
	Radar   Radar   `toml:"radar"`
	QSPN    QSPN    `toml:"qspn"`
	Kernel  Kernel  `toml:"kernel"`
	Control Control `toml:"control"`
	Limits  Limits  `toml:"limits"`
	ANDNA   ANDNA   `toml:"andna"`
	DNS     DNS     `toml:"dns"`
	VLayer  VLayer  `toml:"vlayer"`
	IGS     IGS     `toml:"igs"`
	Mesh    Mesh    `toml:"mesh"`
}

// Interface is one [[interface]] entry.
type Interface struct {
	// Name is the Linux interface name. Required.
	Name string `toml:"name"`
	// WifiMetrics adds nl80211 station metrics to the link cost when the
	// interface is wireless. Default true.
	WifiMetrics bool `toml:"wifi_metrics"`
}

// setDefaults fills an [[interface]] entry before the file's keys are
// decoded over it, as Default does for the tables.
func (i *Interface) setDefaults() { *i = Interface{WifiMetrics: true} }

// Address is the [address] table: the layout of mesh addresses.
type Address struct {
	// Prefix is the mesh prefix: inside 10.0.0.0/8, 172.16.0.0/12 or
	// fc00::/7 (restricted mode). Default 10.0.0.0/8.
	Prefix netip.Prefix `toml:"prefix"`
	// BitsPerLevel is the width of each level, level 0 first, each 1..8;
	// empty means addr.DefaultBits(Prefix). Default empty.
	BitsPerLevel []uint8 `toml:"bits_per_level"`
	// First is the address the node takes when it finds nobody to join and
	// starts a network of its own; the gnodes above it get the ids this
	// address holds. Unset means random. Only the first start after the
	// daemon starts uses it: after losing an id collision the node hooks
	// like any other. It gives a community's first router a known
	// address, and the lab uses it to make islands collide on purpose.
	// Default unset.
	First netip.Addr `toml:"first"`
}

// Ports is the [ports] table.
type Ports struct {
	// Radar is the UDP port of radar probes and small requests. Default 269.
	Radar int `toml:"radar"`
	// Stream is the TCP port of per-rnode streams (tracer, QSPN, maps).
	// Default 269.
	Stream int `toml:"stream"`
	// ANDNA is the UDP and TCP port of ANDNA. Default 277.
	ANDNA int `toml:"andna"`
}

// Radar is the [radar] table: neighbour discovery and link measurement.
type Radar struct {
	// Interval is how often a hello goes out on each interface while
	// links are stable, 10ms..10m (a hello announces it). Default 5s.
	Interval time.Duration `toml:"interval"`
	// Probes is the number of probes in a burst, 1..64. Default 16.
	Probes int `toml:"probes"`
	// ProbeTimeout is how long a reply may take before the probe counts as
	// lost, and how late a neighbour's hello may be before it is probed;
	// shorter than Interval. Default 500ms.
	ProbeTimeout time.Duration `toml:"probe_timeout"`
	// DeadAfter is the number of unanswered probes in a row, once a
	// neighbour's hellos stopped, before it is declared dead, 1..20.
	// Default 3.
	DeadAfter int `toml:"dead_after"`
}

// QSPN is the [qspn] table: route discovery rounds.
type QSPN struct {
	// WaitRound is QSPN_WAIT_ROUND, the time between rounds. Default 60s.
	WaitRound time.Duration `toml:"wait_round"`
	// MaxRoutes is MAXROUTES, the routes kept per destination, 1..32.
	// Default 10.
	MaxRoutes int `toml:"max_routes"`
	// MaxAgeRounds is the number of rounds without a refresh after which a
	// route ages out, 1..16. Default 2.
	MaxAgeRounds int `toml:"max_age_rounds"`
}

// Table is a kernel routing table id. TableMain is written "main" in the
// file; any other table (1..252) makes the daemon add an ip rule for it.
type Table int

// TableMain is RT_TABLE_MAIN, the kernel's main table.
const TableMain Table = 254

func (t Table) String() string {
	if t == TableMain {
		return "main"
	}
	return strconv.Itoa(int(t))
}

// Kernel is the [kernel] table: how routes are installed.
type Kernel struct {
	// Table is "main" or a table number 1..252. Default main.
	Table Table `toml:"table"`
	// RulePriority is the priority of the ip rule that selects a numbered
	// Table, 1..32765 (0 and 32766/32767 are the kernel's default rules).
	// Default 1000.
	RulePriority int `toml:"rule_priority"`
	// Protocol is the RTPROT number that marks ntkd's routes, 5..255
	// (0..4 are reserved by the kernel). Default 15, "proto ntk".
	Protocol int `toml:"protocol"`
}

// UsesRule says whether routes go to a numbered table that needs an ip rule.
func (k Kernel) UsesRule() bool { return k.Table != TableMain }

// Control is the [control] table.
type Control struct {
	// Socket is the absolute path of the control unix socket.
	// Default /var/run/ntkd.sock.
	Socket string `toml:"socket"`
}

// Limits is the [limits] table.
type Limits struct {
	// MaxNeighbours is the most rnodes kept, 1..255 (an rnode index is one
	// byte); a station heard beyond it is not measured. Default 64.
	MaxNeighbours int `toml:"max_neighbours"`
	// MaxPendingRequests is the most requests this node waits answers for
	// at once (ANDNA registrations and lookups), 16..65536. Default 1024.
	MaxPendingRequests int `toml:"max_pending_requests"`
	// MaxANDNARecords is the most name records this node keeps for the
	// mesh (as a hash or backup gnode), 16..1048576. Default 16384.
	MaxANDNARecords int `toml:"max_andna_records"`
	// PerSourceRate and PerSourceBurst are each source's token bucket
	// over every packet it sends us, in packets per second and packets.
	// Defaults 200 and 400.
	PerSourceRate  int `toml:"per_source_rate"`
	PerSourceBurst int `toml:"per_source_burst"`
	// MaxConns and MaxConnsPerSource bound the accepted streams that have
	// proved themselves (sent a valid packet), in all and per source;
	// MaxFreshConns those that have not yet. Defaults 32, 4 and 8.
	MaxConns          int `toml:"max_conns"`
	MaxConnsPerSource int `toml:"max_conns_per_source"`
	MaxFreshConns     int `toml:"max_fresh_conns"`
	// StreamQueue bounds the packets waiting on each outgoing stream,
	// RecvQueue those received and not yet handled. Defaults 256 and 128.
	StreamQueue int `toml:"stream_queue"`
	RecvQueue   int `toml:"recv_queue"`
	// MaxPeers bounds the table of link-local sources heard. Default 1024.
	MaxPeers int `toml:"max_peers"`
}

// ANDNA is the [andna] table: the distributed name system.
type ANDNA struct {
	// Enabled runs ANDNA. Default true.
	Enabled bool `toml:"enabled"`
	// KeyDir is the absolute directory of the node's Ed25519 key pair.
	// Default /etc/ntkd.
	KeyDir string `toml:"key_dir"`
	// Hibernation is how long a record lives after its registration or
	// last update. Default 72h.
	Hibernation time.Duration `toml:"hibernation"`
	// MinUpdateInterval refuses updates that come earlier than this after
	// the last one; 0..Hibernation (exclusive). Default 24h.
	MinUpdateInterval time.Duration `toml:"min_update_interval"`
	// MaxQueue is MAX_ANDNA_QUEUE, the claims kept per name, 1..5 (the
	// wire's ANDNA_PUT_QUEUE carries at most 5).
	// Default 5.
	MaxQueue int `toml:"max_queue"`
	// BackupGnodes is MAX_ANDNA_BACKUP_GNODES, 0..8. Default 2.
	BackupGnodes int `toml:"backup_gnodes"`
	// MaxNamesPerKey is the most names one key may register, 1..65535.
	// Default 256.
	MaxNamesPerKey int `toml:"max_names_per_key"`
	// Names are the hostnames this node registers: lowercase DNS names,
	// unique, at most MaxNamesPerKey. Default none.
	Names []string `toml:"names"`
}

// DNS is the [dns] table: the DNS wrapper in front of ANDNA.
type DNS struct {
	// Enabled runs the DNS wrapper. Default false.
	Enabled bool `toml:"enabled"`
	// Listen is the ip:port the wrapper listens on (dnsmasq forwards to it;
	// OpenWrt already owns port 53). Default 127.0.0.1:5373.
	Listen string `toml:"listen"`
	// Suffix marks ANDNA names: "foo.ntk" asks ANDNA for "foo". Default ntk.
	Suffix string `toml:"suffix"`
	// Upstream is the ip:port other names are forwarded to; "" refuses
	// them. Default "".
	Upstream string `toml:"upstream"`
}

// VLayer is the [vlayer] table: tunnels between mesh islands.
type VLayer struct {
	// Enabled runs the virtual layer. Default false.
	Enabled bool `toml:"enabled"`
	// KeyFile holds the node's tunnel private key (WireGuard's base64
	// form); it is made on first start. Default /etc/ntkd/vlayer.key.
	KeyFile string `toml:"key_file"`
	// Links are virtual links set by hand ([[vlayer.link]]). Default none.
	Links []VLink `toml:"link"`
	// EntryServers are the entry servers ([[vlayer.entry_server]], seed
	// 002) the node fetches the list of entry nodes from and, as an entry
	// node, lists itself on; at most MaxEntryServers. Default none.
	EntryServers []EntryServer `toml:"entry_server"`
	// Latitude and Longitude are where the node is, in degrees (-90..90,
	// -180..180), both or neither: the entry node nearest to them is
	// listed first, and an entry node lists them. Default unset.
	Latitude  *float64 `toml:"latitude"`
	Longitude *float64 `toml:"longitude"`
	// Endpoint is the node's public "ip:port" for tunnels, what an entry
	// node lists; needed only with EntryNode. Default "".
	Endpoint string `toml:"endpoint"`
	// EntryNode lists the node on the entry servers once the daemon has
	// been up EntryAfter (seed 002: after 3 days). Default false.
	EntryNode bool `toml:"entry_node"`
	// EntryAfter is the uptime after which an EntryNode lists itself,
	// at least 1m. Default 72h.
	EntryAfter time.Duration `toml:"entry_after"`
	// EntryCache is the absolute path of the last list fetched, read at
	// start (every signature checked again). Default /etc/ntkd/entry.cache.
	EntryCache string `toml:"entry_cache"`
}

// MaxEntryServers bounds [[vlayer.entry_server]].
const MaxEntryServers = 8

// EntryServer is one [[vlayer.entry_server]].
type EntryServer struct {
	// Address is the server's literal "ip:port" (no names: no DNS).
	// Required.
	Address string `toml:"address"`
	// PublicKey is the server's Ed25519 key in base64, as `ntkd
	// entry-server -print-key` prints it: its lists must be signed by
	// it. Required.
	PublicKey string `toml:"public_key"`
}

// EntryPosition is the node's coordinates in microdegrees, ok when both
// are set.
func (v *VLayer) EntryPosition() (lat, lon int32, ok bool) {
	if v.Latitude == nil || v.Longitude == nil {
		return 0, 0, false
	}
	return int32(math.Round(*v.Latitude * 1e6)), int32(math.Round(*v.Longitude * 1e6)), true
}

// IGS is the [igs] table: sharing Internet uplinks with the mesh
// (docs/IGS.md).
type IGS struct {
	// ShareInternet makes this node a gateway: it probes its uplink,
	// announces it and NATs mesh traffic out of it. Default false.
	ShareInternet bool `toml:"share_internet"`
	// Uplink is the uplink device; "" takes the device of the main
	// table's default route. Default "".
	Uplink string `toml:"uplink"`
	// Bandwidth is what the gateway announces, in kbit/s. Default 10000.
	Bandwidth int `toml:"bandwidth"`
	// Probe lists "IP:port" TCP targets; the uplink is up while a connect
	// to one of them through the uplink device succeeds. Empty: up while
	// the main table has a default route through the uplink. Default none.
	Probe []string `toml:"probe"`
	// ProbeInterval is the time between probes. Default 10s.
	ProbeInterval time.Duration `toml:"probe_interval"`
	// UseGateways gives the node a default route over the mesh's gateways
	// (the main table's own default route still wins). Default true.
	UseGateways bool `toml:"use_gateways"`
	// MaxGateways is how many gateways are used per level. Default 2.
	MaxGateways int `toml:"max_gateways"`
	// Table holds the IGS default route. Default 110.
	Table int `toml:"table"`
	// RulePriority is the priority of the ip rule of Table, after the main
	// table's (32766) so that a default route of our own wins. Default 32800.
	RulePriority int `toml:"rule_priority"`
	// Port is the UDP port of the encapsulation (VXLAN). Default 4790.
	Port int `toml:"port"`
}

// Active says whether IGS does anything on this node.
func (g IGS) Active() bool { return g.ShareInternet || g.UseGateways }

// VLink is one [[vlayer.link]]: a tunnel to a vnode whose key is known.
type VLink struct {
	// Name is the tunnel's network interface. Default ntkv<i>, i its
	// position in the list.
	Name string `toml:"name"`
	// ListenPort is the UDP port of the tunnel; each tunnel has its own.
	// 0 picks a free one (then only this end can open the tunnel). Default 0.
	ListenPort int `toml:"listen_port"`
	// PublicKey is the other vnode's tunnel public key, in base64. Required.
	PublicKey string `toml:"public_key"`
	// Endpoint is the other vnode's address and port, like
	// "198.51.100.7:27000" or "[2001:db8::7]:27000"; "" waits for the
	// other end to open the tunnel. Default "".
	Endpoint string `toml:"endpoint"`
	// Keepalive keeps NAT mappings open; 0 turns it off. Default 25s.
	Keepalive time.Duration `toml:"keepalive"`
}

func (l *VLink) setDefaults() { *l = l.defaults() }

func (*VLink) defaults() VLink { return VLink{Keepalive: 25 * time.Second} }

// DefaultVLink is a [[vlayer.link]] holding every default.
func DefaultVLink() VLink { return (*VLink)(nil).defaults() }

// VLinkName is the interface name of the i-th [[vlayer.link]].
func (c *Config) VLinkName(i int) string {
	if n := c.VLayer.Links[i].Name; n != "" {
		return n
	}
	return fmt.Sprintf("ntkv%d", i)
}

// Default returns a new Config holding every default.
func Default() *Config {
	return &Config{
		LogLevel:    logx.LevelInfo,
		MemoryLimit: 16 * MiB,
		GOGC:        25,
		MaxProcs:    1,
		Address: Address{
			Prefix: netip.MustParsePrefix("10.0.0.0/8"),
		},
		Ports: Ports{Radar: 269, Stream: 269, ANDNA: 277},
		Radar: Radar{
			Interval:     5 * time.Second,
			Probes:       16,
			ProbeTimeout: 500 * time.Millisecond,
			DeadAfter:    3,
		},
		QSPN: QSPN{
			WaitRound:    60 * time.Second,
			MaxRoutes:    10,
			MaxAgeRounds: 2,
		},
		VLayer: VLayer{KeyFile: "/etc/ntkd/vlayer.key", EntryAfter: 72 * time.Hour,
			EntryCache: "/etc/ntkd/entry.cache"},
		IGS: IGS{Bandwidth: 10000, ProbeInterval: 10 * time.Second, UseGateways: true,
			MaxGateways: 2, Table: 110, RulePriority: 32800, Port: 4790},
		Kernel:  Kernel{Table: TableMain, RulePriority: 1000, Protocol: 15},
		Control: Control{Socket: "/var/run/ntkd.sock"},
		Limits: Limits{MaxNeighbours: 64, MaxPendingRequests: 1024, MaxANDNARecords: 16384,
			PerSourceRate: 200, PerSourceBurst: 400, MaxConns: 32, MaxConnsPerSource: 4, MaxFreshConns: 8,
			StreamQueue: 256, RecvQueue: 128, MaxPeers: 1024},
		ANDNA: ANDNA{
			Enabled:           true,
			KeyDir:            "/etc/ntkd",
			Hibernation:       72 * time.Hour,
			MinUpdateInterval: 24 * time.Hour,
			MaxQueue:          5,
			BackupGnodes:      2,
			MaxNamesPerKey:    256,
		},
		DNS: DNS{
			Enabled: false,
			Listen:  "127.0.0.1:5373",
			Suffix:  "ntk",
		},
	}
}

// HasInterfaces says whether any mesh interface is configured, a virtual
// link of an enabled virtual layer included. The daemon refuses to start
// without one; check-config does not, so that a freshly installed package's
// config still checks.
func (c *Config) HasInterfaces() bool {
	return len(c.Interfaces) > 0 || len(c.VLinkNames()) > 0
}

// VLinkNames are the interface names of the virtual links the daemon runs:
// none while the virtual layer is disabled.
func (c *Config) VLinkNames() []string {
	if !c.VLayer.Enabled {
		return nil
	}
	names := make([]string, len(c.VLayer.Links))
	for i := range names {
		names[i] = c.VLinkName(i)
	}
	return names
}

// Scheme returns the address scheme of Address: BitsPerLevel, or the
// default split of the prefix when it is empty.
func (c *Config) Scheme() (*addr.Scheme, error) {
	bits := c.Address.BitsPerLevel
	if len(bits) == 0 {
		bits = addr.DefaultBits(c.Address.Prefix)
	}
	return addr.NewScheme(c.Address.Prefix, bits)
}
