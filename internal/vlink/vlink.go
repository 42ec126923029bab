// Package vlink keeps the daemon's virtual links: one WireGuard device per
// [[vlayer.link]], with its peer set, a link-local address and the link up,
// so that the daemon can take it as one more mesh interface (radar probes it,
// the transport binds its link-local address, routes go through it). The
// tunnels themselves are internal/tunnel's; what makes them virtual for the
// protocol (the forwarding rule of seed 000 §3) is node.SetVirtual.
package vlink

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"sync"
	"time"

	"github.com/ntkd/ntkd/internal/config"
	"github.com/ntkd/ntkd/internal/tunnel"
)

// Links is what the manager needs from the kernel besides the tunnel:
// internal/kernel implements it.
type Links interface {
	// UpWithLinkLocal puts the link-local address ll on the link index
	// (without duplicate address detection: it is derived from a key, and
	// the only other host on the link has another) and sets the link up.
	UpWithLinkLocal(index int, ll netip.Prefix) error
}

// Info is one virtual link as `ntkd ctl vlinks` shows it.
type Info struct {
	Name          string
	PublicKey     tunnel.Key     // the other vnode's
	Endpoint      netip.AddrPort // where its packets come from now; zero: not known yet
	ListenPort    int
	LastHandshake time.Time // zero: none yet
	RxBytes       uint64
	TxBytes       uint64
	Err           string // why the link is not there, when it is not
	// Standby says why the link is held down on purpose (a physical path
	// replaced it: SetStandby); "" when it is not.
	Standby string
}

// Manager creates, updates and removes the devices of the configured links.
// Its methods are safe for concurrent use.
type Manager struct {
	backend tunnel.Backend
	links   Links
	key     tunnel.Key // ours, private

	mu   sync.Mutex
	devs map[string]*link // by interface name
}

type link struct {
	cfg     config.VLink
	dev     tunnel.Device // nil when making it failed or on standby
	err     error
	standby string // why it is held down; "" when it is not
}

// New returns a manager making devices with backend and key.
func New(backend tunnel.Backend, links Links, key tunnel.Key) *Manager {
	return &Manager{backend: backend, links: links, key: key, devs: map[string]*link{}}
}

// PublicKey is the node's tunnel public key, the one other vnodes list.
func (m *Manager) PublicKey() tunnel.Key { return m.key.Public() }

// LinkLocal is the link-local address a node with public key pub puts on
// its tunnels: fe80::/64 and 64 bits of the key's hash, so that it is the
// same at every start and differs from the other end's.
func LinkLocal(pub tunnel.Key) netip.Prefix {
	h := sha256.Sum256(pub[:])
	var a [16]byte
	a[0], a[1] = 0xfe, 0x80
	copy(a[8:], h[:8])
	return netip.PrefixFrom(netip.AddrFrom16(a), 64)
}

// Apply makes the devices match the links of vl (none when the virtual
// layer is disabled): new links are created, changed ones updated (a new
// listen port makes the device again), links no longer listed removed. It
// returns every error met; a link that failed is retried at the next Apply.
// The links' interface names are c.VLinkNames().
func (m *Manager) Apply(c *config.Config) error {
	want := map[string]config.VLink{}
	names := c.VLinkNames()
	for i, name := range names {
		want[name] = c.VLayer.Links[i]
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var errs []error
	for name, l := range m.devs {
		w, keep := want[name]
		if keep && (l.dev != nil || l.standby != "") && w.ListenPort == l.cfg.ListenPort {
			continue
		}
		if l.dev != nil {
			if err := l.dev.Close(); err != nil && !errors.Is(err, tunnel.ErrClosed) {
				errs = append(errs, fmt.Errorf("vlink %s: remove: %w", name, err))
			}
		}
		delete(m.devs, name)
	}
	for _, name := range names {
		w := want[name]
		l := m.devs[name]
		if l != nil && l.standby != "" {
			l.cfg = w
			continue
		}
		if l == nil {
			l = &link{cfg: w}
			l.dev, l.err = m.create(name, w)
			m.devs[name] = l
			if l.err != nil {
				errs = append(errs, l.err)
				continue
			}
		}
		if err := m.setPeer(l.dev, w); err != nil {
			l.err = err
			errs = append(errs, err)
			continue
		}
		l.cfg, l.err = w, nil
	}
	return errors.Join(errs...)
}

func (m *Manager) create(name string, w config.VLink) (tunnel.Device, error) {
	dev, err := m.backend.Create(name, m.key, w.ListenPort)
	if err != nil {
		return nil, fmt.Errorf("vlink %s: %w", name, err)
	}
	if err := m.links.UpWithLinkLocal(dev.Index(), LinkLocal(m.key.Public())); err != nil {
		dev.Close()
		return nil, fmt.Errorf("vlink %s: %w", name, err)
	}
	return dev, nil
}

func (m *Manager) setPeer(dev tunnel.Device, w config.VLink) error {
	var p tunnel.Peer
	if err := p.PublicKey.UnmarshalText([]byte(w.PublicKey)); err != nil {
		return fmt.Errorf("vlink %s: %w", dev.Name(), err) // config.Validate refuses it first
	}
	if w.Endpoint != "" {
		ep, err := netip.ParseAddrPort(w.Endpoint)
		if err != nil {
			return fmt.Errorf("vlink %s: endpoint: %w", dev.Name(), err)
		}
		p.Endpoint = ep
	}
	p.Keepalive = w.Keepalive
	return dev.SetPeer(p)
}

// SetStandby holds the link called name down (why says the reason, shown
// in List) or, with why "", makes it again. Seed 002: a tunnel goes while
// a physical path joins its two ends, and comes back when that path goes.
func (m *Manager) SetStandby(name, why string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	l := m.devs[name]
	if l == nil {
		return fmt.Errorf("vlink %s: no such link", name)
	}
	if why != "" {
		l.standby = why
		if l.dev == nil {
			return nil
		}
		err := l.dev.Close()
		l.dev = nil
		if err != nil && !errors.Is(err, tunnel.ErrClosed) {
			return fmt.Errorf("vlink %s: remove: %w", name, err)
		}
		return nil
	}
	if l.standby == "" {
		return nil
	}
	l.standby = ""
	l.dev, l.err = m.create(name, l.cfg)
	if l.err != nil {
		return l.err
	}
	if err := m.setPeer(l.dev, l.cfg); err != nil {
		l.err = err
		return err
	}
	return nil
}

// List describes every link, in name order.
func (m *Manager) List() []Info {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Info, 0, len(m.devs))
	for name, l := range m.devs {
		in := Info{Name: name, ListenPort: l.cfg.ListenPort, Standby: l.standby}
		_ = in.PublicKey.UnmarshalText([]byte(l.cfg.PublicKey))
		switch {
		case l.standby != "":
		case l.err != nil:
			in.Err = l.err.Error()
		case l.dev != nil:
			st, err := l.dev.Stats()
			if err != nil {
				in.Err = err.Error()
				break
			}
			in.Endpoint, in.ListenPort = st.Endpoint, st.ListenPort
			in.LastHandshake, in.RxBytes, in.TxBytes = st.LastHandshake, st.RxBytes, st.TxBytes
		}
		out = append(out, in)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name }) // shares the code of every sort.Slice; slices.SortFunc would not
	return out
}

// Close removes every device.
func (m *Manager) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var errs []error
	for name, l := range m.devs {
		if l.dev != nil {
			if err := l.dev.Close(); err != nil && !errors.Is(err, tunnel.ErrClosed) {
				errs = append(errs, fmt.Errorf("vlink %s: remove: %w", name, err))
			}
		}
		delete(m.devs, name)
	}
	return errors.Join(errs...)
}
