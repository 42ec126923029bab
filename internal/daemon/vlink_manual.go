package daemon

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/ntkd/ntkd/internal/config"
	"github.com/ntkd/ntkd/internal/ctl"
	"github.com/ntkd/ntkd/internal/tunnel"
)

// Tunnels made by hand (`ntkd ctl vlink add|del`, seed 003's control
// client): they join the configured [[vlayer.link]] list for as long as the
// daemon runs, so every rule of configured tunnels holds for them (checks,
// standby, upkeep, removal at exit); a restart forgets them, the config
// file is where a lasting tunnel goes.

// manualPrefix names hand-made tunnels: ntkm0, ntkm1, ...
const manualPrefix = "ntkm"

// withManualVLinks is c with the hand-made tunnels appended to its links.
func (d *Daemon) withManualVLinks(c *config.Config) *config.Config {
	if len(d.manualVLinks) == 0 || !c.VLayer.Enabled {
		return c
	}
	cc := *c
	cc.VLayer.Links = append(slices.Clone(c.VLayer.Links), d.manualVLinks...)
	return &cc
}

// isManualVLink says whether the tunnel called name was made by hand.
func (d *Daemon) isManualVLink(name string) bool {
	return slices.ContainsFunc(d.manualVLinks, func(l config.VLink) bool { return l.Name == name })
}

// addVLink makes a tunnel to the vnode at endpoint with spec; it answers
// the tunnel as `vlinks` shows it.
func (d *Daemon) addVLink(endpoint string, spec *ctl.VLinkSpec) (ctl.VLink, error) {
	if d.opt.VLinks == nil || !d.cfg.VLayer.Enabled {
		return ctl.VLink{}, errors.New("the virtual layer is off ([vlayer] enabled = false)")
	}
	if spec == nil {
		return ctl.VLink{}, errors.New("no public key: vlink add ENDPOINT KEY")
	}
	ep, err := netip.ParseAddrPort(endpoint)
	if err != nil || ep.Port() == 0 || ep.Addr().IsUnspecified() {
		return ctl.VLink{}, fmt.Errorf("endpoint %q: want ADDRESS:PORT, like 198.51.100.7:27000", endpoint)
	}
	return d.addVLinkTo(ep.String(), spec)
}

// addVLinkTo is addVLink with the endpoint checked, or "" for a vnode that
// cannot be reached and sends first (behind NAT: WireGuard learns where
// its packets come from).
func (d *Daemon) addVLinkTo(endpoint string, spec *ctl.VLinkSpec) (ctl.VLink, error) {
	var key tunnel.Key
	if err := key.UnmarshalText([]byte(spec.PublicKey)); err != nil {
		return ctl.VLink{}, fmt.Errorf("public key: %w", err)
	}
	name := spec.Name
	if name == "" {
		taken := map[string]bool{}
		for _, n := range d.withManualVLinks(d.cfg).VLinkNames() {
			taken[n] = true
		}
		for _, ifc := range d.ifaces {
			taken[ifc.name] = !ifc.removed || taken[ifc.name]
		}
		for i := 0; ; i++ {
			if name = fmt.Sprintf("%s%d", manualPrefix, i); !taken[name] {
				break
			}
		}
	}
	l := config.DefaultVLink()
	l.Name, l.ListenPort, l.PublicKey, l.Endpoint = name, spec.ListenPort, key.String(), endpoint
	// The same checks as the config file's: one tunnel per vnode, one
	// port per tunnel, names that are no other interface's.
	cc := *d.withManualVLinks(d.cfg)
	cc.VLayer.Links = append(slices.Clone(cc.VLayer.Links), l)
	if err := cc.Validate(); err != nil {
		at := fmt.Sprintf("vlayer.link[%d].", len(cc.VLayer.Links)-1)
		var mine []string
		for line := range strings.SplitSeq(err.Error(), "\n") {
			if strings.Contains(line, at) {
				mine = append(mine, strings.TrimSpace(strings.Replace(line, at, "", 1)))
			}
		}
		if len(mine) == 0 {
			return ctl.VLink{}, fmt.Errorf("the configuration with this tunnel is not valid: %w", err)
		}
		return ctl.VLink{}, errors.New(strings.Join(mine, "; "))
	}
	d.manualVLinks = append(d.manualVLinks, l)
	d.vlinksChanged()
	for _, v := range d.vlinks().Links {
		if v.Interface == name {
			return v, nil
		}
	}
	return ctl.VLink{Interface: name, Manual: true}, nil
}

// delVLink removes the hand-made tunnel whose interface, endpoint or
// public key is which; configured tunnels stay (the file says what they
// are: remove them there and reload).
func (d *Daemon) delVLink(which string) (ctl.VLink, error) {
	match := func(l config.VLink) bool {
		if l.Name == which || l.PublicKey == which {
			return true
		}
		ep, err := netip.ParseAddrPort(which)
		return err == nil && l.Endpoint == ep.String()
	}
	i := slices.IndexFunc(d.manualVLinks, match)
	if i < 0 {
		if slices.ContainsFunc(d.cfg.VLayer.Links, match) {
			return ctl.VLink{}, fmt.Errorf("%s is a configured tunnel: remove its [[vlayer.link]] and reload", which)
		}
		return ctl.VLink{}, fmt.Errorf("no tunnel made by hand has the interface, endpoint or key %q", which)
	}
	l := d.manualVLinks[i]
	d.manualVLinks = slices.Delete(d.manualVLinks, i, i+1)
	d.vlinksChanged()
	return ctl.VLink{Interface: l.Name, PublicKey: l.PublicKey, Endpoint: l.Endpoint, ListenPort: l.ListenPort, Manual: true}, nil
}

// vlinksChanged makes the tunnels and the interface list follow the
// links now wanted, as a reload does.
func (d *Daemon) vlinksChanged() {
	d.setInterfaces(d.cfg)
	d.applyVLinks(d.cfg)
	d.scanIfaces()
}
