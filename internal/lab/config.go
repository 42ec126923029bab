package lab

import (
	"fmt"
	"os"
	"strings"

	"github.com/ntkd/ntkd/internal/config"
)

// nodeConfig returns the daemon configuration of node n: its veths as
// interfaces, its control socket and key directory inside its own state
// directory, ANDNA registering the node's name (n1, n2, ...) and the DNS
// wrapper on the namespace's own loopback (DNSPort), answering NAME.ntk;
// nothing leaves the lab. It is checked with config.Parse, the daemon's own
// parser, before it is used.
func nodeConfig(s *State, n *Node) ([]byte, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by ntkd lab for node %s (namespace %s, topology %s).\n", n.Name, n.Namespace, s.Topology)
	fmt.Fprintf(&b, "# Every key not here keeps its default: see ntkd.example.toml.\n\n")
	fmt.Fprintf(&b, "log_level = \"info\"\n")
	if s.ExtraConfig != "" {
		// Here, before the lab's own tables, its top-level keys stay
		// top-level; its tables end where the lab's begin.
		fmt.Fprintf(&b, "\n# Added with ntkd lab up --config.\n%s\n", s.ExtraConfig)
	}
	for _, ifc := range n.Interfaces {
		fmt.Fprintf(&b, "\n[[interface]]\nname = %s\nwifi_metrics = false\n", tomlString(ifc))
	}
	if n.Island > 0 {
		fmt.Fprintf(&b, "\n[address]\nfirst = %s\n", tomlString(FirstAddress))
		b.WriteString(vlayerConfig(s, n))
	}
	b.WriteString(igsConfig(s, n))
	fmt.Fprintf(&b, "\n[control]\nsocket = %s\n", tomlString(n.Socket))
	fmt.Fprintf(&b, "\n[andna]\nenabled = true\nkey_dir = %s\nnames = [%s]\n", tomlString(n.Dir), tomlString(n.Name))
	fmt.Fprintf(&b, "\n[dns]\nenabled = true\nlisten = \"127.0.0.1:%d\"\nsuffix = \"ntk\"\n", DNSPort)
	data := []byte(b.String())

	c, err := config.Parse(n.Config, data)
	if err != nil {
		return nil, fmt.Errorf("config of %s: %w", n.Name, err)
	}
	// A round trip through the parser catches quoting mistakes that would
	// still parse, into other values.
	if c.Control.Socket != n.Socket || c.ANDNA.KeyDir != n.Dir || len(c.Interfaces) != len(n.Interfaces) {
		return nil, fmt.Errorf("config of %s: the daemon would read other values than the lab wrote", n.Name)
	}
	if g, err := s.Gateway(n.Name); err == nil && (!c.IGS.ShareInternet || c.IGS.Uplink != g.Device) {
		return nil, fmt.Errorf("config of %s: a gateway whose config does not share %s ([igs] in --config?)", n.Name, g.Device)
	}
	return data, nil
}

// DNSPort is where each lab node's DNS wrapper listens, on the loopback of
// its own namespace: `ntkd lab exec n5 -- dig @127.0.0.1 -p 5373 n1.ntk`.
const DNSPort = 5373

// writeConfig writes node n's configuration file.
func writeConfig(s *State, n *Node) error {
	data, err := nodeConfig(s, n)
	if err != nil {
		return err
	}
	if err := os.WriteFile(n.Config, data, 0o644); err != nil {
		return fmt.Errorf("writing config of %s: %w", n.Name, err)
	}
	return nil
}

// tomlString quotes s as a TOML basic string. Go's strconv.Quote is close
// but may emit \x escapes, which TOML does not have.
func tomlString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, "\\u%04x", r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
