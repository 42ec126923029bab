package ctl

// The answers, one type per command. docs/CTL.md documents every field;
// keep the two in step.

// Status answers CmdStatus.
type Status struct {
	Version    string      `json:"version"`
	PID        int         `json:"pid"`
	UptimeSec  float64     `json:"uptime_s"`
	State      string      `json:"state"`             // idle, scanning, joining, hooked
	Address    string      `json:"address,omitempty"` // the node's mesh address once hooked
	Prefix     string      `json:"prefix"`            // the mesh's address range
	Gnodes     []Gnode     `json:"gnodes"`            // our element at each level, level 0 first
	Interfaces []Interface `json:"interfaces"`
	Neighbours int         `json:"neighbours"`
	Routes     int         `json:"routes"` // routes the node wants in the kernel
	Memory     Memory      `json:"memory"`
}

// Memory is the Go runtime's view of the daemon's memory, in bytes.
type Memory struct {
	HeapAlloc uint64 `json:"heap_alloc"` // live heap objects
	HeapSys   uint64 `json:"heap_sys"`   // heap obtained from the OS
	HeapInuse uint64 `json:"heap_inuse"` // heap spans holding objects
	// HeapReleased is heap given back to the OS: HeapSys - HeapReleased is
	// what the heap can occupy in RSS.
	HeapReleased uint64 `json:"heap_released"`
	// Metadata is the runtime's own structures (span, GC, other).
	Metadata   uint64 `json:"metadata"`
	StackInuse uint64 `json:"stack_inuse"` // goroutine stacks
	Sys        uint64 `json:"sys"`         // everything the runtime obtained from the OS
	Limit      int64  `json:"limit"`       // GOMEMLIMIT (math.MaxInt64: none)
	GCCycles   uint32 `json:"gc_cycles"`
	Goroutines int    `json:"goroutines"`
}

// Gnode is our element at one level: the node itself at level 0.
type Gnode struct {
	Level   int    `json:"level"`
	ID      int    `json:"id"`
	Nonce   uint32 `json:"nonce"`
	Members int    `json:"members"` // elements of this level's map present, ourselves included
}

// Interface is one configured mesh interface.
type Interface struct {
	Name  string `json:"name"`
	Index int    `json:"ifindex,omitempty"` // 0 while it does not exist
	Up    bool   `json:"up"`
	Kind  string `json:"kind"` // wired, adhoc, mesh, sta, ap, other
}

// Neighbour is one rnode.
type Neighbour struct {
	Interface string  `json:"interface"`
	LinkLocal string  `json:"link_local,omitempty"`
	Address   string  `json:"address,omitempty"` // its mesh address, empty while it hooks
	Index     int     `json:"rnode"`             // the gateway index used in the maps
	State     string  `json:"state"`             // measuring, alive, suspect
	Hooking   bool    `json:"hooking"`
	RTTMicros int64   `json:"rtt_us"`
	Loss      float64 `json:"loss"` // 1 - d_in × d_out: what the link loses, both ways (docs/RADAR.md)
	Cost      uint32  `json:"cost"`
	Penalty   float64 `json:"penalty"` // cost multiplier from wifi figures (1: none)
	Wifi      *Wifi   `json:"wifi,omitempty"`
}

// VLinks answers `vlinks`: the node's virtual links (tunnels).
type VLinks struct {
	Enabled   bool    `json:"enabled"`
	PublicKey string  `json:"public_key,omitempty"` // ours, what other vnodes list
	Links     []VLink `json:"links"`
}

// VLink is one tunnel.
type VLink struct {
	Interface  string `json:"interface"`
	PublicKey  string `json:"public_key"`         // the other vnode's
	Endpoint   string `json:"endpoint,omitempty"` // where its packets come from; empty until known
	ListenPort int    `json:"listen_port"`
	// HandshakeAgoSec is the time since the last WireGuard handshake; -1: none yet.
	HandshakeAgoSec float64 `json:"handshake_ago_sec"`
	RxBytes         uint64  `json:"rx_bytes"`
	TxBytes         uint64  `json:"tx_bytes"`
	// Neighbour: radar sees the other vnode alive over the tunnel.
	Neighbour bool   `json:"neighbour"`
	RTTMicros int64  `json:"rtt_us,omitempty"`
	Error     string `json:"error,omitempty"` // why the tunnel is not there
	// Standby says why the tunnel is held down on purpose (a physical path
	// joins its ends, seed 002); empty when it is not.
	Standby string `json:"standby,omitempty"`
	// Manual: made with `ntkd ctl vlink add`, gone at the next restart.
	Manual bool `json:"manual,omitempty"`
	// Anchorage (virtual hooking, seed 002): "peer" when the other vnode
	// is our anchorage node, "us" when we are its; empty otherwise.
	Anchorage string `json:"anchorage,omitempty"`
}

// EntryNodes answers `entry-nodes`: the list of entry nodes (seed 002)
// the entry servers gave, as the daemon holds it.
type EntryNodes struct {
	// Enabled: the virtual layer is on and entry servers are configured.
	Enabled bool `json:"enabled"`
	Servers int  `json:"servers"` // entry servers configured
	// Latitude and Longitude are ours, in degrees; absent when unset
	// (distances are then unknown).
	Latitude  *float64 `json:"latitude,omitempty"`
	Longitude *float64 `json:"longitude,omitempty"`
	// FromCache: the list was read from the cache file and no fetch has
	// succeeded since the daemon started.
	FromCache bool `json:"from_cache"`
	// LastFetchAgoSec is the time since the last fetch at least one
	// server answered; -1: none yet.
	LastFetchAgoSec float64 `json:"last_fetch_ago_s"`
	// NextFetchInSec is the time until the next fetch.
	NextFetchInSec float64 `json:"next_fetch_in_s"`
	Fetches        uint64  `json:"fetches"`        // fetches at least one server answered
	FetchFailures  uint64  `json:"fetch_failures"` // fetches no server answered
	// Errors are the servers' failures in the last fetch.
	Errors []EntryServerError `json:"errors"`
	Self   EntrySelf          `json:"self"`
	// Nodes is the list, nearest first: by great-circle distance from our
	// coordinates, then by the XOR of the Internet addresses (seed 002),
	// then oldest first, the order the daemon picks them in.
	Nodes []EntryNode `json:"nodes"`
}

// EntryServerError is one server's failure.
type EntryServerError struct {
	Server string    `json:"server"` // its ip:port
	Error  string    `json:"error"`
	_      [0]func() // not comparable: no equality function in the router binary
}

// EntrySelf is this node as an entry node.
type EntrySelf struct {
	EntryNode bool   `json:"entry_node"`         // [vlayer] entry_node
	Endpoint  string `json:"endpoint,omitempty"` // [vlayer] endpoint
	PublicKey string `json:"public_key,omitempty"`
	// EligibleInSec is the time until the daemon has been up
	// entry_after; 0 once it has.
	EligibleInSec float64 `json:"eligible_in_s"`
	// Listed: a server accepted our update within the servers' expiry.
	Listed bool `json:"listed"`
	// LastAcceptedAgoSec is the time since a server last accepted our
	// update; -1: never.
	LastAcceptedAgoSec float64 `json:"last_accepted_ago_s"`
	Accepted           uint64  `json:"accepted"` // updates accepted, counted per server
	Failed             uint64  `json:"failed"`   // updates refused or not delivered, per server
	// Errors are the refusals (with their status) and failures of the
	// last round of updates.
	Errors []EntryServerError `json:"errors"`
}

// EntryNode is one entry node of the list.
type EntryNode struct {
	PublicKey string  `json:"public_key"` // its Ed25519 key, the list's key
	TunnelKey string  `json:"tunnel_key"` // its WireGuard public key
	Endpoint  string  `json:"endpoint"`   // its Internet ip:port
	UptimeSec float64 `json:"uptime_s"`   // since it says it is up
	// DistanceKm is the great-circle distance from us; -1: unknown (our
	// coordinates or its are missing).
	DistanceKm float64   `json:"distance_km"`
	Latitude   *float64  `json:"latitude,omitempty"`
	Longitude  *float64  `json:"longitude,omitempty"`
	Hops       int       `json:"hops"`           // servers that passed the record on
	Self       bool      `json:"self,omitempty"` // it is this node
	_          [0]func() // not comparable: no equality function in the router binary
}

// Wifi is what the driver says of the station behind a neighbour.
type Wifi struct {
	SignalDBm      int     `json:"signal_dbm"`
	TxBitrate      int     `json:"tx_bitrate"` // bit/s
	RetryRatio     float64 `json:"retry_ratio"`
	FailRatio      float64 `json:"fail_ratio"`
	InactiveMillis int64   `json:"inactive_ms"`
}

// Level is one level's map.
type Level struct {
	Level    int       `json:"level"`
	Round    uint32    `json:"round"`
	Settled  bool      `json:"settled"`
	Nonce    uint32    `json:"nonce"`
	Members  int       `json:"members"`
	Elements []Element `json:"elements"`
}

// Element is a node (level 0) or gnode (above) with its routes, best first.
type Element struct {
	ID     int        `json:"id"`
	Prefix string     `json:"prefix"`
	Routes []MapRoute `json:"routes"`
}

// MapRoute is one route of a map: through an rnode, at a cost.
type MapRoute struct {
	Rnode int    `json:"rnode"`
	Via   string `json:"via,omitempty"` // the rnode's mesh address
	Cost  uint32 `json:"cost"`
}

// Routes answers CmdRoutes: what we want in the kernel and what it holds.
type Routes struct {
	Table   int      `json:"table"`
	Ours    []Route  `json:"ours"`
	Kernel  []Route  `json:"kernel"`
	Missing []string `json:"missing"` // ours, not in the kernel
	Extra   []string `json:"extra"`   // in the kernel with our protocol, not ours
}

// Route is one kernel route.
type Route struct {
	Dst  string `json:"dst"`
	Hops []Hop  `json:"hops"`
}

// Hop is one nexthop.
type Hop struct {
	Via    string `json:"via"`
	Dev    string `json:"dev"`
	Weight int    `json:"weight"`
	Cost   uint32 `json:"cost,omitempty"` // ours only
}

// QSPN answers CmdQSPN.
type QSPN struct {
	WaitRoundSec float64           `json:"wait_round_s"`
	Levels       []QSPNLevel       `json:"levels"`
	RoundsWanted map[string]uint64 `json:"rounds_wanted"` // why rounds were asked for
	Rehooks      uint64            `json:"rehooks"`
	RehookWhy    map[string]uint64 `json:"rehook_why"`
	Created      uint64            `json:"gnodes_created"`
	LossesSent   uint64            `json:"losses_sent"` // ROUTE_LOSS announcements (each to every neighbour in scope)
	LossesHeld   uint64            `json:"losses_held"` // left to the round by the announcement budget
	// RoundsDeferred: floods of a newer round heard less than a quarter of
	// the round settle time after ours began; that round was entered later.
	RoundsDeferred uint64 `json:"rounds_deferred"`
}

// QSPNLevel is the round state of one level.
type QSPNLevel struct {
	Level   int    `json:"level"`
	Round   uint32 `json:"round"`
	Settled bool   `json:"settled"`
}

// Counters answers CmdCounters.
type Counters struct {
	Sent     map[string]Count  `json:"sent"`     // by op, protocol packets the node sent
	Received map[string]Count  `json:"received"` // by op, as the transport got them
	Dropped  map[string]uint64 `json:"dropped"`  // by reason: malformed, rate limited, ...
	Kernel   KernelCounters    `json:"kernel"`
}

// Count is packets and bytes.
type Count struct {
	Packets uint64 `json:"packets"`
	Bytes   uint64 `json:"bytes"`
}

// KernelCounters count route syncs.
type KernelCounters struct {
	Syncs   uint64 `json:"syncs"`
	Added   uint64 `json:"added"`
	Changed uint64 `json:"changed"`
	Removed uint64 `json:"removed"`
	Resyncs uint64 `json:"resyncs"`
	Errors  uint64 `json:"errors"`
}

// Gateways answers "gateways": Internet gateway sharing (docs/IGS.md).
type Gateways struct {
	Sharing GatewaySharing `json:"sharing"`
	// OwnDefaultRoute: the main table has a default route, which wins
	// over the gateways'.
	OwnDefaultRoute bool          `json:"own_default_route"`
	Table           int           `json:"table"`
	Gateways        []GatewayInfo `json:"gateways"`
	Error           string        `json:"error,omitempty"` // the last failure setting the route
}

// GatewaySharing is this node as a gateway.
type GatewaySharing struct {
	Enabled   bool   `json:"enabled"`
	Uplink    string `json:"uplink"`
	Up        bool   `json:"up"`
	Bandwidth uint32 `json:"bandwidth"` // kbit/s announced; 0 while down
	Why       string `json:"why"`       // the last probe's result
}

// GatewayInfo is one gateway the maps hold, best first.
type GatewayInfo struct {
	Address   string  `json:"address"`
	Level     int     `json:"level"`
	Bandwidth uint32  `json:"bandwidth"`
	CostMS    float64 `json:"cost_ms"`
	Selected  bool    `json:"selected"`
	Weight    int     `json:"weight,omitempty"`
}
