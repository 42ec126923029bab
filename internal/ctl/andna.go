package ctl

// ANDNA commands. Arg carries the name or the address.
const (
	CmdANDNARegister   = "andna-register"   // Arg: the name to register (kept until the next restart or reload)
	CmdANDNAUnregister = "andna-unregister" // Arg: the name to stop updating
	CmdANDNAList       = "andna-list"       // our names and their state
	CmdANDNAResolve    = "andna-resolve"    // Arg: a name
	CmdANDNAReverse    = "andna-reverse"    // Arg: an address
	CmdANDNACache      = "andna-cache"      // the registrations this node keeps for others
	CmdANDNACounters   = "andna-counters"   // the keys this node counts names for
)

// ANDNACommands are the commands under `ntkd ctl andna SUB`.
var ANDNACommands = []string{CmdANDNARegister, CmdANDNAUnregister, CmdANDNAList, CmdANDNAResolve, CmdANDNAReverse, CmdANDNACache, CmdANDNACounters}

// ANDNAName answers CmdANDNAList (a list) and CmdANDNARegister.
type ANDNAName struct {
	Name       string  `json:"name"`
	State      string  `json:"state"` // registering, registered, refused: CODE
	ExpiresSec float64 `json:"expires_in_s"`
	Error      string  `json:"error,omitempty"`
	Hash       string  `json:"hash,omitempty"`
	PublicKey  string  `json:"public_key,omitempty"`
}

// ANDNAResolution answers CmdANDNAResolve and CmdANDNAReverse.
type ANDNAResolution struct {
	Name    string   `json:"name,omitempty"`
	Address string   `json:"address,omitempty"`
	Names   []string `json:"names,omitempty"`
	TTLSec  float64  `json:"ttl_s"`
}

// ANDNARecord is one line of CmdANDNACache.
type ANDNARecord struct {
	Name       string  `json:"name,omitempty"` // empty when only the hash came (cache transfer)
	Hash       string  `json:"hash"`
	Owner      string  `json:"owner"`
	Queued     int     `json:"queued"` // claims waiting behind the owner
	Counter    uint32  `json:"counter"`
	Backup     bool    `json:"backup"`
	ExpiresSec float64 `json:"expires_in_s"`
}

// ANDNACounter is one line of CmdANDNACounters.
type ANDNACounter struct {
	PublicKey string `json:"public_key"`
	Names     int    `json:"names"`
}
