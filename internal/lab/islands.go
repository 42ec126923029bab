package lab

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"strconv"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/ntkd/ntkd/internal/topo"
	"github.com/ntkd/ntkd/internal/tunnel"
)

// Islands: K copies of one topology, each grown on its own from the same
// first address (so their gnode ids collide at every level), whose gates
// (the first node of each island) share an "internet": a bridge in a
// namespace of its own, with addresses of the documentation range
// 192.0.2.0/24. Every pair of gates holds a virtual link, set in their
// configs; the bridge ports stay down until Connect, so that the islands
// first converge apart and then join through their tunnels.
const (
	// FirstAddress is the [address] first of every island node.
	FirstAddress = "10.1.1.1"
	// MaxIslands bounds the address plan below (one /24 for the gates).
	MaxIslands     = 64
	internetName   = "inet"    // namespace suffix of the internet
	internetBridge = "inet0"   // the bridge inside it
	gateIface      = "inet"    // a gate's interface on the internet
	tunnelPortBase = 27000     // a gate's tunnel to island j listens on base+j
	internetNet    = "192.0.2" // TEST-NET-1 (RFC 5737): never routed anywhere
)

// Island is one island of a lab: its nodes, its gate and the gate's place
// on the internet.
type Island struct {
	Nodes     []string   `json:"nodes"`
	Gate      string     `json:"gate"`
	Address   netip.Addr `json:"address"`    // the gate's internet address
	PublicKey string     `json:"public_key"` // the gate's tunnel key
	Port      string     `json:"port"`       // the internet bridge's port towards the gate
}

// IslandTopology lays k copies of t side by side, island by island: node i
// of island j is node j*t.Nodes+i. No link joins two islands.
func IslandTopology(t *topo.Topology, k int) (*topo.Topology, error) {
	if k < 2 || k > MaxIslands {
		return nil, fmt.Errorf("%d islands: want 2..%d", k, MaxIslands)
	}
	if err := checkTopology(t); err != nil {
		return nil, err
	}
	if k*t.Nodes > MaxNodes {
		return nil, fmt.Errorf("%d islands of %d nodes: a lab has at most %d nodes", k, t.Nodes, MaxNodes)
	}
	all := &topo.Topology{Name: fmt.Sprintf("%d islands of %s", k, t.Name), Nodes: k * t.Nodes}
	for j := range k {
		base := j * t.Nodes
		for _, l := range t.Links {
			l.A += base
			l.B += base
			all.Links = append(all.Links, l)
		}
	}
	return all, nil
}

// planIslands splits the nodes of s into k islands of equal size and gives
// each gate its internet address, tunnel key and bridge port. The keys are
// made here, in the gates' directories, so that every config can list the
// other gates' public keys before any daemon starts.
func planIslands(s *State, k int) error {
	per := len(s.Nodes) / k
	s.Internet = s.Prefix + internetName
	for j := range k {
		is := Island{
			Gate:    s.Nodes[j*per].Name,
			Address: netip.MustParseAddr(internetNet + "." + strconv.Itoa(j+1)),
			Port:    "g" + s.Nodes[j*per].Name,
		}
		for i := range per {
			s.Nodes[j*per+i].Island = j + 1
			is.Nodes = append(is.Nodes, s.Nodes[j*per+i].Name)
		}
		gate := &s.Nodes[j*per]
		key, err := tunnel.LoadOrCreateKey(gate.keyFile())
		if err != nil {
			return fmt.Errorf("tunnel key of %s: %w", gate.Name, err)
		}
		is.PublicKey = key.Public().String()
		s.Islands = append(s.Islands, is)
	}
	if s.Entry != nil {
		return planEntry(s)
	}
	return nil
}

func (n *Node) keyFile() string { return filepath.Join(n.Dir, "vlayer.key") }

// gateOf returns the index of the island whose gate is node n and the
// island, or -1 and nil.
func (s *State) gateOf(n *Node) (int, *Island) {
	for j := range s.Islands {
		if s.Islands[j].Gate == n.Name {
			return j, &s.Islands[j]
		}
	}
	return -1, nil
}

// vlayerConfig is the TOML of gate n: its tunnel key and one virtual link
// to every other gate. The link towards island j is named after j's gate
// and listens on tunnelPortBase+j, so both ends of a tunnel know each
// other's port without asking.
func vlayerConfig(s *State, n *Node) string {
	me, is := s.gateOf(n)
	if me < 0 {
		return ""
	}
	if s.Entry != nil {
		return entryVLayerConfig(s, n, is)
	}
	out := fmt.Sprintf("\n[vlayer]\nenabled = true\nkey_file = %s\n", tomlString(n.keyFile()))
	for j, is := range s.Islands {
		if j == me {
			continue
		}
		out += fmt.Sprintf("\n[[vlayer.link]]\nname = %s\nlisten_port = %d\npublic_key = %s\nendpoint = %s\n",
			tomlString("v"+is.Gate), tunnelPortBase+j, tomlString(is.PublicKey),
			tomlString(netip.AddrPortFrom(is.Address, uint16(tunnelPortBase+me)).String()))
	}
	return out
}

// buildInternet makes the internet namespace and its bridge, and puts each
// gate on it: a veth "inet" in the gate's namespace with its address, whose
// other end is a port of the bridge, left down until Connect.
func buildInternet(s *State) error {
	if err := addNamespace(s.Internet); err != nil {
		return err
	}
	err := withHandle(s.Internet, func(h *netlink.Handle) error {
		br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: internetBridge}}
		if err := h.LinkAdd(br); err != nil {
			return fmt.Errorf("bridge: %w", err)
		}
		if s.Entry != nil {
			if err := addEntryAddress(h); err != nil {
				return fmt.Errorf("the entry server's address: %w", err)
			}
		}
		return setLink(h, internetBridge, true)
	})
	if err != nil {
		return fmt.Errorf("internet %s: %w", s.Internet, err)
	}
	inet, err := netns.GetFromName(s.Internet)
	if err != nil {
		return fmt.Errorf("internet %s: %w", s.Internet, err)
	}
	defer inet.Close()
	for _, is := range s.Islands {
		gate, err := s.Node(is.Gate)
		if err != nil {
			return err
		}
		err = withHandle(gate.Namespace, func(h *netlink.Handle) error {
			veth := &netlink.Veth{
				LinkAttrs:     netlink.LinkAttrs{Name: gateIface},
				PeerName:      is.Port,
				PeerNamespace: netlink.NsFd(inet),
			}
			if err := h.LinkAdd(veth); err != nil {
				return err
			}
			link, err := h.LinkByName(gateIface)
			if err != nil {
				return err
			}
			a, err := netlink.ParseAddr(netip.PrefixFrom(is.Address, 24).String())
			if err != nil {
				return err
			}
			if err := h.AddrAdd(link, a); err != nil {
				return err
			}
			return h.LinkSetUp(link)
		})
		if err == nil {
			err = withHandle(s.Internet, func(h *netlink.Handle) error {
				port, err := h.LinkByName(is.Port)
				if err != nil {
					return err
				}
				br, err := h.LinkByName(internetBridge)
				if err != nil {
					return err
				}
				return h.LinkSetMaster(port, br)
			})
		}
		if err != nil {
			return fmt.Errorf("gate %s on the internet: %w", is.Gate, err)
		}
	}
	return nil
}

// Connect brings the internet bridge's port towards each island's gate up
// (up true) or down: with them down the islands live apart, with them up
// their tunnels can reach each other. islands selects them by number
// (1..K); none means all.
func (l Lab) Connect(up bool, islands ...int) error {
	s, err := l.Load()
	if err != nil {
		return err
	}
	if len(s.Islands) == 0 {
		return fmt.Errorf("this lab has no islands (ntkd lab up --islands K)")
	}
	if len(islands) == 0 {
		for j := range s.Islands {
			islands = append(islands, j+1)
		}
	}
	return withHandle(s.Internet, func(h *netlink.Handle) error {
		for _, j := range islands {
			if j < 1 || j > len(s.Islands) {
				return fmt.Errorf("no island %d (the lab has 1..%d)", j, len(s.Islands))
			}
			if err := setLink(h, s.Islands[j-1].Port, up); err != nil {
				return err
			}
		}
		return nil
	})
}
