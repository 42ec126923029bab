package lab

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"

	"github.com/vishvananda/netlink"

	"github.com/ntkd/ntkd/internal/entry"
)

// Islands joined by virtual hooks (docs/VLAYER.md "Virtual hooking"): an
// entry server runs in the internet's namespace, on the bridge's own
// address, and every gate is an entry node listed there after a minute;
// a gate without a tunnel asks the nearest other gate for one. No tunnel
// is configured.
const (
	entryDirName   = "entry"              // its directory in the lab's
	entryAddr      = internetNet + ".254" // on the internet bridge
	entryPort      = 27100                // TCP
	entryAfter     = "1m"                 // the gates' entry_after: the shortest allowed
	gateVHookPort  = tunnelPortBase       // a gate's vlayer.endpoint port
	entryConfig    = "entry-server.toml"
	entryKey       = "entry.key"
	entryLogFile   = "entry-server.log"
	entryPIDFile   = "entry-server.pid"
	entryBridgeLen = 24 // the bridge address's prefix length
)

// EntryServer is the lab's entry server.
type EntryServer struct {
	Address   netip.AddrPort `json:"address"`
	PublicKey string         `json:"public_key"`
	Dir       string         `json:"dir"`
	Config    string         `json:"config"`
	Log       string         `json:"log"`
	PIDFile   string         `json:"pid_file"`
}

// planEntry makes the entry server's key and configuration.
func planEntry(s *State) error {
	e := s.Entry
	e.Address = netip.AddrPortFrom(netip.MustParseAddr(entryAddr), entryPort)
	e.Config, e.Log, e.PIDFile = filepath.Join(e.Dir, entryConfig), filepath.Join(e.Dir, entryLogFile), filepath.Join(e.Dir, entryPIDFile)
	if err := os.MkdirAll(e.Dir, 0o755); err != nil {
		return fmt.Errorf("entry server: %w", err)
	}
	keyFile := filepath.Join(e.Dir, entryKey)
	k, err := entry.LoadOrCreateKey(keyFile)
	if err != nil {
		return fmt.Errorf("entry server: %w", err)
	}
	e.PublicKey = entry.PublicKeyOf(k).String()
	conf := fmt.Sprintf("listen = %s\nkey_file = %s\nlog_level = \"debug\"\n", tomlString(e.Address.String()), tomlString(keyFile))
	if err := os.WriteFile(e.Config, []byte(conf), 0o644); err != nil {
		return fmt.Errorf("entry server: %w", err)
	}
	return nil
}

// entryVLayerConfig is the [vlayer] of gate n (island j) in a lab of
// virtual hooks: its endpoint on the internet, listed as an entry node,
// the lab's entry server.
func entryVLayerConfig(s *State, n *Node, is *Island) string {
	ep := netip.AddrPortFrom(is.Address, gateVHookPort)
	return fmt.Sprintf("\n[vlayer]\nenabled = true\nkey_file = %s\nendpoint = %s\nentry_node = true\nentry_after = %s\nentry_cache = %s\n"+
		"\n[[vlayer.entry_server]]\naddress = %s\npublic_key = %s\n",
		tomlString(n.keyFile()), tomlString(ep.String()), tomlString(entryAfter), tomlString(filepath.Join(n.Dir, "entry.cache")),
		tomlString(s.Entry.Address.String()), tomlString(s.Entry.PublicKey))
}

// addEntryAddress puts the entry server's address on the internet bridge.
func addEntryAddress(h *netlink.Handle) error {
	br, err := h.LinkByName(internetBridge)
	if err != nil {
		return err
	}
	a, err := netlink.ParseAddr(entryAddr + "/" + strconv.Itoa(entryBridgeLen))
	if err != nil {
		return err
	}
	return h.AddrAdd(br, a)
}

// startEntry starts the entry server: the lab's ntkd binary, `ntkd
// entry-server -c FILE` (a developer command, as the lab is).
func startEntry(s *State) (int, error) {
	e := s.Entry
	return startProcess(s.Internet, "entry server", e.Dir, e.Log, e.PIDFile, s.Ntkd, "entry-server", "-c", e.Config)
}

// EntryPID returns the pid of the lab's entry server, or 0.
func (s *State) EntryPID() int {
	if s.Entry == nil {
		return 0
	}
	return pidIn(s.Entry.PIDFile, s.Internet)
}
