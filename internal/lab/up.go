package lab

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/ntkd/ntkd/internal/topo"
)

// UpOptions says what lab to build.
type UpOptions struct {
	Topology *topo.Topology
	// Name says where the topology came from ("ring", a file name); it is
	// only recorded. Default: Topology.Name.
	Name string
	Seed uint64 // only recorded: NewTopology already used it
	// Ntkd is the daemon binary, started as `Ntkd run -c CONFIG` in each
	// namespace. Required.
	Ntkd string
	// ExtraConfig is TOML added to every node's configuration (tables the
	// lab does not write itself, e.g. faster [qspn] or [radar] timers).
	ExtraConfig string
	// Islands, when 2 or more, makes the lab that many copies of Topology
	// (see IslandTopology), every node started from FirstAddress, the
	// first node of each island a gate on a shared internet with a tunnel
	// to every other gate. The internet stays disconnected until Connect.
	Islands int
	// Gateways names the nodes (n1, ...) that get an uplink to a
	// stand-in Internet, a namespace of its own with an echo server, and
	// share it with the mesh ([igs] share_internet); see planGateways.
	Gateways []string
	// GatewayProbeInterval is the gateways' [igs] probe_interval
	// (zero: GatewayProbeInterval, 2 s).
	GatewayProbeInterval time.Duration
	// EntryServer, with Islands, joins the islands by virtual hooks
	// instead of configured tunnels: an entry server runs on the
	// internet, every gate is an entry node listed there, and a gate
	// without a tunnel asks the nearest other one for one (see planEntry).
	EntryServer bool
}

// Up builds the lab: a namespace per node, a veth pair per link, a config
// file per node, and the daemons started. It refuses to run while anything
// of an earlier lab with the same directory or prefix is left (Down removes
// it). When a step fails, Up removes what it made. Up does not wait for the
// daemons to converge: see Wait.
func (l Lab) Up(ctx context.Context, opt UpOptions) (*State, error) {
	if err := l.check(); err != nil {
		return nil, err
	}
	if opt.Topology == nil {
		return nil, errors.New("no topology")
	}
	t := opt.Topology
	if opt.Islands > 1 {
		var err error
		if t, err = IslandTopology(t, opt.Islands); err != nil {
			return nil, err
		}
	} else if err := checkTopology(t); err != nil {
		return nil, err
	}
	ntkd, err := checkBinary(opt.Ntkd)
	if err != nil {
		return nil, err
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return nil, fmt.Errorf("the lab needs ip (iproute2): %w", err)
	}
	name := opt.Name
	if name == "" {
		name = t.Name
	}
	s := l.plan(t, name, opt.Seed, ntkd)
	s.ExtraConfig = opt.ExtraConfig
	if err := planGateways(s, l.Dir, opt.Gateways); err != nil {
		return nil, err
	}
	if opt.EntryServer {
		if opt.Islands < 2 {
			return nil, errors.New("an entry server joins islands: it needs 2 islands or more")
		}
		s.Entry = &EntryServer{Dir: filepath.Join(l.Dir, entryDirName)}
	}
	if s.WAN != nil {
		s.WAN.ProbeInterval = opt.GatewayProbeInterval
	}
	if err := l.checkNothingLeft(); err != nil {
		return nil, err
	}

	if err := os.MkdirAll(l.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating lab directory: %w", err)
	}
	if err := os.WriteFile(filepath.Join(l.Dir, markerFile), []byte("ntkd lab state directory: `ntkd lab down` deletes it\n"), 0o644); err != nil {
		return nil, fmt.Errorf("creating lab directory: %w", err)
	}
	if err := l.build(ctx, s, opt.Islands); err != nil {
		if _, derr := l.Down(); derr != nil {
			err = errors.Join(err, fmt.Errorf("cleaning up: %w", derr))
		}
		return nil, err
	}
	return s, nil
}

func (l Lab) build(ctx context.Context, s *State, islands int) error {
	for i := range s.Nodes {
		if err := os.Mkdir(s.Nodes[i].Dir, 0o755); err != nil {
			return fmt.Errorf("node %s: %w", s.Nodes[i].Name, err)
		}
	}
	if islands > 1 {
		if err := planIslands(s, islands); err != nil {
			return err
		}
	}
	for i := range s.Nodes {
		n := &s.Nodes[i]
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := writeConfig(s, n); err != nil {
			return err
		}
		if err := addNamespace(n.Namespace); err != nil {
			return err
		}
	}
	for _, lk := range s.Links {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := addLink(s.Prefix, lk); err != nil {
			return err
		}
	}
	if len(s.Islands) > 0 {
		if err := buildInternet(s); err != nil {
			return err
		}
	}
	if s.WAN != nil {
		if err := buildWAN(s); err != nil {
			return err
		}
	}
	// The state file comes before the daemons, so that a daemon that fails
	// to start can be looked at with the other commands.
	if err := l.save(s); err != nil {
		return err
	}
	// The echo server first: the gateways probe it from their start.
	if s.WAN != nil {
		if _, err := startEcho(s); err != nil {
			return err
		}
	}
	if s.Entry != nil {
		if _, err := startEntry(s); err != nil {
			return err
		}
	}
	for i := range s.Nodes {
		if err := ctx.Err(); err != nil {
			return err
		}
		if _, err := startDaemon(s, &s.Nodes[i]); err != nil {
			return err
		}
	}
	return nil
}

// addLink creates the veth pair of lk with each end directly in its node's
// namespace (named after the peer, so the names never meet in one
// namespace) and brings both ends up.
func addLink(prefix string, lk Link) error {
	nsB, err := netns.GetFromName(prefix + lk.B)
	if err != nil {
		return fmt.Errorf("link %s-%s: %w", lk.A, lk.B, err)
	}
	defer nsB.Close()
	err = withHandle(prefix+lk.A, func(h *netlink.Handle) error {
		veth := &netlink.Veth{
			LinkAttrs:     netlink.LinkAttrs{Name: lk.IfA},
			PeerName:      lk.IfB,
			PeerNamespace: netlink.NsFd(nsB),
		}
		if err := h.LinkAdd(veth); err != nil {
			return err
		}
		return setLink(h, lk.IfA, true)
	})
	if err == nil {
		err = withHandle(prefix+lk.B, func(h *netlink.Handle) error { return setLink(h, lk.IfB, true) })
	}
	if err != nil {
		return fmt.Errorf("link %s-%s: %w", lk.A, lk.B, err)
	}
	return nil
}

// setLink brings the interface called name up or down.
func setLink(h *netlink.Handle, name string, up bool) error {
	link, err := h.LinkByName(name)
	if err != nil {
		return fmt.Errorf("interface %s: %w", name, err)
	}
	if up {
		err = h.LinkSetUp(link)
	} else {
		err = h.LinkSetDown(link)
	}
	if err != nil {
		return fmt.Errorf("interface %s: %w", name, err)
	}
	return nil
}

// checkBinary returns the absolute path of the daemon binary, which must be
// an executable file: the daemons run in another directory.
func checkBinary(path string) (string, error) {
	if path == "" {
		return "", errors.New("no ntkd binary given")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("ntkd binary: %w", err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return "", fmt.Errorf("ntkd binary: %w", err)
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return "", fmt.Errorf("ntkd binary %s is not an executable file", abs)
	}
	return abs, nil
}

// checkNothingLeft fails when a lab, or what is left of one, uses the
// directory or the namespace prefix.
func (l Lab) checkNothingLeft() error {
	var left []string
	if _, err := os.Stat(filepath.Join(l.Dir, stateFile)); err == nil {
		left = append(left, "a lab is up in "+l.Dir)
	} else if _, err := os.Stat(filepath.Join(l.Dir, markerFile)); err == nil {
		left = append(left, "an earlier lab left "+l.Dir)
	} else if entries, err := os.ReadDir(l.Dir); err == nil && len(entries) > 0 {
		return fmt.Errorf("%s is not empty and is not a lab directory: choose another --dir", l.Dir)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("lab directory: %w", err)
	}
	names, err := namespaces(l.Prefix)
	if err != nil {
		return err
	}
	if len(names) > 0 {
		left = append(left, fmt.Sprintf("%d namespaces named %s* exist", len(names), l.Prefix))
	}
	if len(left) > 0 {
		return fmt.Errorf("%s: run `ntkd lab down` first", strings.Join(left, "; "))
	}
	return nil
}
