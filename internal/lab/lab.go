// Package lab runs a mesh of real ntkd daemons on one machine: one network
// namespace per node, veth pairs for the links of a topology, and the
// daemon started inside each namespace. It is what `ntkd lab` drives, and
// integration tests drive it through the same API.
//
// A lab is named by a state directory and a namespace prefix (Lab). Up
// writes the state file DIR/lab.json once; every other operation reads it
// and asks the kernel for the rest, so separate `ntkd lab` invocations need
// no daemon of their own. Down finds leftovers by the namespace prefix, so it
// also cleans up after a lab whose state file is gone.
package lab

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/vishvananda/netlink"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ntkd/ntkd/internal/topo"
)

// Defaults, and the environment variables that override them so that tests
// (and a second lab) never touch the default one.
const (
	DefaultDir    = "/run/ntkd-lab"
	DefaultPrefix = "ntkdlab-"
	EnvDir        = "NTKD_LAB_DIR"
	EnvPrefix     = "NTKD_LAB_PREFIX"

	// MaxNodes bounds a lab: every node is a daemon with its own namespace,
	// and a typo should not ask for a million of them.
	MaxNodes = 512
)

// File names inside the state directory.
const (
	stateFile  = "lab.json"
	markerFile = ".ntkd-lab" // written first: Down only deletes a directory that has it
	configName = "ntkd.toml"
	logName    = "ntkd.log"
	pidName    = "pid"
	socketName = "ctl.sock"
)

// ErrNoLab is returned when the state directory holds no lab.
var ErrNoLab = errors.New("no lab is up")

// Lab locates a lab: the directory holding its state and the prefix of its
// namespace names. The zero value is not usable; see FromEnv.
type Lab struct {
	Dir    string
	Prefix string
	// Protocol is the route protocol Status counts: 0 means ntkd's (15);
	// the babeld comparison runs babeld (42) in the same lab.
	Protocol int
}

func (l Lab) protocol() netlink.RouteProtocol {
	if l.Protocol == 0 {
		return RouteProtocol
	}
	return netlink.RouteProtocol(l.Protocol)
}

// FromEnv returns the lab named by NTKD_LAB_DIR and NTKD_LAB_PREFIX, or the
// defaults when they are unset.
func FromEnv() Lab {
	l := Lab{Dir: os.Getenv(EnvDir), Prefix: os.Getenv(EnvPrefix)}
	if l.Dir == "" {
		l.Dir = DefaultDir
	}
	if l.Prefix == "" {
		l.Prefix = DefaultPrefix
	}
	return l
}

// check rejects a Dir or Prefix that could make Down delete the wrong
// things.
func (l Lab) check() error {
	if !filepath.IsAbs(l.Dir) || filepath.Clean(l.Dir) == "/" {
		return fmt.Errorf("lab directory %q: want an absolute path other than /", l.Dir)
	}
	if l.Prefix == "" || len(l.Prefix) > 32 {
		return fmt.Errorf("namespace prefix %q: want 1..32 characters", l.Prefix)
	}
	for _, c := range l.Prefix {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return fmt.Errorf("namespace prefix %q: only letters, digits, '-', '_' and '.'", l.Prefix)
		}
	}
	return nil
}

// State is the content of DIR/lab.json, written once by Up.
type State struct {
	Topology string    `json:"topology"` // generator kind or file the topology came from
	Seed     uint64    `json:"seed"`
	Ntkd     string    `json:"ntkd"`   // the daemon binary
	Prefix   string    `json:"prefix"` // namespace prefix
	Created  time.Time `json:"created"`
	Nodes    []Node    `json:"nodes"`
	Links    []Link    `json:"links"`
	// ExtraConfig is TOML appended to every node's configuration.
	ExtraConfig string `json:"extra_config,omitempty"`
	// Islands, when the lab has them, are its islands in order, and
	// Internet the namespace of the bridge their gates share.
	Islands  []Island `json:"islands,omitempty"`
	Internet string   `json:"internet,omitempty"`
	// Gateways, when the lab has them, are the nodes with an uplink to
	// the stand-in Internet WAN, in the order given (see planGateways).
	Gateways []Gateway `json:"gateways,omitempty"`
	WAN      *WAN      `json:"wan,omitempty"`
	// Entry, in a lab of islands joined by virtual hooks, is the entry
	// server on the internet (see planEntry); nil when the gates' tunnels
	// are configured.
	Entry *EntryServer `json:"entry,omitempty"`
}

// Node is one daemon of the lab and the files it uses.
type Node struct {
	Name       string   `json:"name"`      // n1, n2, ...
	Namespace  string   `json:"namespace"` // prefix + name
	Dir        string   `json:"dir"`
	Config     string   `json:"config"`
	Log        string   `json:"log"` // the daemon's stdout and stderr
	PIDFile    string   `json:"pid_file"`
	Socket     string   `json:"socket"`           // control socket
	Interfaces []string `json:"interfaces"`       // veths inside the namespace, each named after its peer
	Island     int      `json:"island,omitempty"` // 1..K in a lab of islands, else 0
}

// Link is a veth pair between two nodes.
type Link struct {
	A   string `json:"a"`    // node name
	B   string `json:"b"`    // node name
	IfA string `json:"if_a"` // interface in A's namespace, towards B
	IfB string `json:"if_b"` // interface in B's namespace, towards A
}

// Node returns the node called name.
func (s *State) Node(name string) (*Node, error) {
	for i := range s.Nodes {
		if s.Nodes[i].Name == name {
			return &s.Nodes[i], nil
		}
	}
	return nil, fmt.Errorf("no node %q in the lab (nodes are %s)", name, s.nodeRange())
}

// Link returns the link between nodes a and b, in either order.
func (s *State) Link(a, b string) (*Link, error) {
	if _, err := s.Node(a); err != nil {
		return nil, err
	}
	if _, err := s.Node(b); err != nil {
		return nil, err
	}
	for i, l := range s.Links {
		if l.A == a && l.B == b || l.A == b && l.B == a {
			return &s.Links[i], nil
		}
	}
	return nil, fmt.Errorf("no link between %s and %s", a, b)
}

func (s *State) nodeRange() string {
	switch len(s.Nodes) {
	case 0:
		return "none"
	case 1:
		return s.Nodes[0].Name
	}
	return s.Nodes[0].Name + ".." + s.Nodes[len(s.Nodes)-1].Name
}

// NodeName is the name of the node at topology index i.
func NodeName(i int) string { return "n" + strconv.Itoa(i+1) }

// ifName is the name of the veth towards peer: the peer's name, which
// NodeName keeps far below the 15-byte limit of Linux interface names.
func ifName(peer string) string { return peer }

// plan lays out the state of a lab of topology t without touching anything.
func (l Lab) plan(t *topo.Topology, name string, seed uint64, ntkd string) *State {
	s := &State{Topology: name, Seed: seed, Ntkd: ntkd, Prefix: l.Prefix, Created: time.Now().UTC()}
	for i := range t.Nodes {
		n := NodeName(i)
		dir := filepath.Join(l.Dir, n)
		s.Nodes = append(s.Nodes, Node{
			Name:      n,
			Namespace: l.Prefix + n,
			Dir:       dir,
			Config:    filepath.Join(dir, configName),
			Log:       filepath.Join(dir, logName),
			PIDFile:   filepath.Join(dir, pidName),
			Socket:    filepath.Join(dir, socketName),
		})
	}
	for _, tl := range t.Links {
		a, b := NodeName(tl.A), NodeName(tl.B)
		s.Links = append(s.Links, Link{A: a, B: b, IfA: ifName(b), IfB: ifName(a)})
		s.Nodes[tl.A].Interfaces = append(s.Nodes[tl.A].Interfaces, ifName(b))
		s.Nodes[tl.B].Interfaces = append(s.Nodes[tl.B].Interfaces, ifName(a))
	}
	for i := range s.Nodes {
		slices.SortFunc(s.Nodes[i].Interfaces, compareNames)
	}
	return s
}

// compareNames orders n2 before n10.
func compareNames(a, b string) int {
	if len(a) != len(b) {
		return len(a) - len(b)
	}
	return strings.Compare(a, b)
}

// Load reads the state file. It returns an error wrapping ErrNoLab when
// there is none.
func (l Lab) Load() (*State, error) {
	if err := l.check(); err != nil {
		return nil, err
	}
	path := filepath.Join(l.Dir, stateFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w in %s (ntkd lab up starts one)", ErrNoLab, l.Dir)
	}
	if err != nil {
		return nil, fmt.Errorf("reading lab state: %w", err)
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("reading lab state %s: %w", path, err)
	}
	return &s, nil
}

// save writes the state file atomically, so a concurrent reader never sees
// half of it.
func (l Lab) save(s *State) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding lab state: %w", err)
	}
	path := filepath.Join(l.Dir, stateFile)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing lab state: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("writing lab state: %w", err)
	}
	return nil
}

// NewTopology makes the topology of a lab. spec is a generator kind
// (topo.Kinds: ring, line, grid, random, ...) or the path of a topology
// file; to read a file named like a kind, write it as ./ring. nodes is the
// node count of a generator; for a file it must be 0 or the file's count.
// seed drives the random generators exactly as in `ntkd sim`, so both show
// the same topology for the same seed.
func NewTopology(spec string, nodes int, seed uint64) (*topo.Topology, error) {
	if slices.Contains(topo.Kinds(), spec) {
		if nodes < 2 || nodes > MaxNodes {
			return nil, fmt.Errorf("%d nodes: a lab has 2..%d", nodes, MaxNodes)
		}
		return topo.Generate(spec, nodes, rand.New(rand.NewPCG(seed, 0x746f706f)), topo.Options{})
	}
	f, err := os.Open(spec)
	if err != nil {
		return nil, fmt.Errorf("topology %q is neither a file nor one of %s: %w", spec, strings.Join(topo.Kinds(), ", "), err)
	}
	defer f.Close()
	t, err := topo.Parse(spec, f)
	if err != nil {
		return nil, err
	}
	if nodes != 0 && nodes != t.Nodes {
		return nil, fmt.Errorf("%s has %d nodes, not %d", spec, t.Nodes, nodes)
	}
	return t, nil
}

// checkTopology rejects what cannot make a lab that converges: every daemon
// needs at least one interface, and every node must be able to reach every
// other.
func checkTopology(t *topo.Topology) error {
	if err := t.Validate(); err != nil {
		return err
	}
	if t.Nodes < 2 || t.Nodes > MaxNodes {
		return fmt.Errorf("topology %q has %d nodes: a lab has 2..%d", t.Name, t.Nodes, MaxNodes)
	}
	if !t.Connected() {
		comps := t.Components()
		return fmt.Errorf("topology %q is not connected (%d parts): some nodes could never reach each other", t.Name, len(comps))
	}
	return nil
}
