package daemon

import (
	"context"
	"encoding/hex"
	"fmt"
	"net/netip"
	"sort"

	"github.com/ntkd/ntkd/internal/andna"
	"github.com/ntkd/ntkd/internal/ctl"
)

// handleANDNA answers the andna-* commands. Resolutions wait for the
// network outside the loop.
func (d *Daemon) handleANDNA(ctx context.Context, req ctl.Request) (any, error) {
	switch req.Cmd {
	case ctl.CmdANDNAResolve:
		addrs, ttl, err := d.Resolve(ctx, req.Arg)
		if err != nil {
			return nil, fmt.Errorf("resolving %q: %w", req.Arg, err)
		}
		return ctl.ANDNAResolution{Name: req.Arg, Address: addrs[0].String(), TTLSec: ttl.Seconds()}, nil
	case ctl.CmdANDNAReverse:
		a, err := netip.ParseAddr(req.Arg)
		if err != nil {
			return nil, fmt.Errorf("reverse: %q is not an address", req.Arg)
		}
		names, ttl, err := d.Reverse(ctx, a)
		if err != nil {
			return nil, fmt.Errorf("reverse of %v: %w", a, err)
		}
		return ctl.ANDNAResolution{Address: a.String(), Names: names, TTLSec: ttl.Seconds()}, nil
	}
	var out any
	var err error
	derr := d.Do(ctx, func() {
		e := d.node.ANDNA()
		if e == nil {
			err = ErrNoANDNA
			return
		}
		switch req.Cmd {
		case ctl.CmdANDNARegister:
			if err = e.Register(d.now(), req.Arg); err == nil {
				out = d.andnaName(e, req.Arg)
			}
		case ctl.CmdANDNAUnregister:
			name, cerr := andna.Canonical(req.Arg)
			if cerr != nil || !e.Unregister(name) {
				err = fmt.Errorf("%q is not one of this node's names", req.Arg)
				return
			}
			out = ctl.ANDNAName{Name: name, State: "unregistered"}
		case ctl.CmdANDNAList:
			list := []ctl.ANDNAName{}
			for _, n := range e.Names() {
				list = append(list, d.andnaName(e, n.Name))
			}
			out = list
		case ctl.CmdANDNACache:
			list := []ctl.ANDNARecord{}
			for _, r := range e.Records() {
				list = append(list, ctl.ANDNARecord{Name: r.Name, Hash: hex.EncodeToString(r.Hash[:]), Owner: r.Owner.String(),
					Queued: r.Queue, Counter: r.Counter, Backup: r.Backup, ExpiresSec: r.ExpireIn.Seconds()})
			}
			sort.Slice(list, func(i, j int) bool { return list[i].Hash < list[j].Hash })
			out = list
		case ctl.CmdANDNACounters:
			list := []ctl.ANDNACounter{}
			for k, n := range e.KeyCounts() {
				list = append(list, ctl.ANDNACounter{PublicKey: hex.EncodeToString(k[:]), Names: n})
			}
			sort.Slice(list, func(i, j int) bool { return list[i].PublicKey < list[j].PublicKey })
			out = list
		default:
			err = fmt.Errorf("unknown command %q", req.Cmd)
		}
	})
	if derr != nil {
		return nil, fmt.Errorf("daemon busy or stopping: %w", derr)
	}
	return out, err
}

// andnaName describes one of our names.
func (d *Daemon) andnaName(e *andna.Engine, name string) ctl.ANDNAName {
	c, _ := andna.Canonical(name)
	pub := e.PublicKey()
	h := andna.NameHash(c)
	n := ctl.ANDNAName{Name: c, State: "unknown", Hash: hex.EncodeToString(h[:]), PublicKey: hex.EncodeToString(pub[:])}
	for _, o := range e.Names() {
		if o.Name == c {
			n.State, n.ExpiresSec, n.Error = o.State, o.ExpireIn.Seconds(), o.Error
		}
	}
	return n
}
