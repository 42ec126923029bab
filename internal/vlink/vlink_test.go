package vlink

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/ntkd/ntkd/internal/config"
	"github.com/ntkd/ntkd/internal/tunnel"
)

type fakeDev struct {
	name   string
	port   int
	peer   tunnel.Peer
	closed bool
}

func (d *fakeDev) Name() string                { return d.name }
func (d *fakeDev) Index() int                  { return 7 }
func (d *fakeDev) SetPeer(p tunnel.Peer) error { d.peer = p; return nil }
func (d *fakeDev) Stats() (tunnel.Stats, error) {
	return tunnel.Stats{ListenPort: d.port, PublicKey: d.peer.PublicKey}, nil
}
func (d *fakeDev) Close() error { d.closed = true; return nil }

type fakeBackend struct {
	made []*fakeDev
	fail bool
}

func (b *fakeBackend) Create(name string, _ tunnel.Key, port int) (tunnel.Device, error) {
	if b.fail {
		return nil, errors.New("no wireguard")
	}
	d := &fakeDev{name: name, port: port}
	b.made = append(b.made, d)
	return d, nil
}

type fakeLinks struct{ ups []netip.Prefix }

func (l *fakeLinks) UpWithLinkLocal(_ int, ll netip.Prefix) error {
	l.ups = append(l.ups, ll)
	return nil
}

func key(t *testing.T) tunnel.Key {
	t.Helper()
	k, err := tunnel.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func conf(t *testing.T, links ...config.VLink) *config.Config {
	c := config.Default()
	c.VLayer.Enabled = true
	c.VLayer.Links = links
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestApply(t *testing.T) {
	own, peerA, peerB := key(t), key(t).Public(), key(t).Public()
	b, l := &fakeBackend{}, &fakeLinks{}
	m := New(b, l, own)
	a := config.VLink{PublicKey: peerA.String(), ListenPort: 27000, Endpoint: "192.0.2.7:27000", Keepalive: 25e9}
	err := m.Apply(conf(t, a))
	if err != nil || len(b.made) != 1 || b.made[0].name != "ntkv0" {
		t.Fatalf("first apply: %v, %d devices", err, len(b.made))
	}
	d := b.made[0]
	if d.peer.PublicKey != peerA || d.peer.Endpoint != netip.MustParseAddrPort("192.0.2.7:27000") || d.port != 27000 {
		t.Errorf("device: %+v port %d", d.peer, d.port)
	}
	if len(l.ups) != 1 || l.ups[0] != LinkLocal(own.Public()) || !l.ups[0].Addr().IsLinkLocalUnicast() {
		t.Errorf("link-local: %v", l.ups)
	}

	// A new peer key on the same port keeps the device; a new port makes it again.
	a.PublicKey = peerB.String()
	if err := m.Apply(conf(t, a)); err != nil || len(b.made) != 1 || d.peer.PublicKey != peerB {
		t.Errorf("new peer: %v, %d devices, peer %v", err, len(b.made), d.peer.PublicKey)
	}
	a.ListenPort = 27001
	if err := m.Apply(conf(t, a)); err != nil || len(b.made) != 2 || !d.closed || b.made[1].port != 27001 {
		t.Errorf("new port: %v, %d devices, old closed %v", err, len(b.made), d.closed)
	}

	// Disabled: every device goes.
	c := conf(t, a)
	c.VLayer.Enabled = false
	if err := m.Apply(c); err != nil || !b.made[1].closed || len(m.List()) != 0 {
		t.Errorf("disabled: %v, closed %v, %d listed", err, b.made[1].closed, len(m.List()))
	}
}

func TestApplyFailureIsListedAndRetried(t *testing.T) {
	b := &fakeBackend{fail: true}
	m := New(b, &fakeLinks{}, key(t))
	c := conf(t, config.VLink{PublicKey: key(t).Public().String()})
	if err := m.Apply(c); err == nil {
		t.Fatal("no error from a backend that fails")
	}
	if ls := m.List(); len(ls) != 1 || ls[0].Err == "" {
		t.Errorf("the failed link is not listed with its error: %+v", ls)
	}
	b.fail = false
	if err := m.Apply(c); err != nil || len(b.made) != 1 {
		t.Errorf("retry: %v, %d devices", err, len(b.made))
	}
	if ls := m.List(); len(ls) != 1 || ls[0].Err != "" {
		t.Errorf("after the retry: %+v", ls)
	}
	if err := m.Close(); err != nil || !b.made[0].closed {
		t.Errorf("close: %v", err)
	}
}

func TestLinkLocalDiffersByKey(t *testing.T) {
	a, b := key(t).Public(), key(t).Public()
	if LinkLocal(a) != LinkLocal(a) || LinkLocal(a) == LinkLocal(b) || LinkLocal(a).Bits() != 64 {
		t.Errorf("%v %v", LinkLocal(a), LinkLocal(b))
	}
}

// A link on standby has no device, stays listed with the reason, keeps
// following the configuration, and is made again (with the newest peer)
// when the standby ends.
func TestStandby(t *testing.T) {
	own, peer := key(t), key(t).Public()
	b := &fakeBackend{}
	m := New(b, &fakeLinks{}, own)
	a := config.VLink{PublicKey: peer.String(), ListenPort: 27000, Endpoint: "192.0.2.7:27000"}
	if err := m.Apply(conf(t, a)); err != nil {
		t.Fatal(err)
	}
	if err := m.SetStandby("ntkv0", "physical route to 10.1.1.1"); err != nil {
		t.Fatal(err)
	}
	if !b.made[0].closed {
		t.Fatal("the device stayed on standby")
	}
	list := m.List()
	if len(list) != 1 || list[0].Standby != "physical route to 10.1.1.1" || list[0].Err != "" {
		t.Fatalf("listed as %+v", list)
	}
	a.Endpoint = "192.0.2.8:27000"
	if err := m.Apply(conf(t, a)); err != nil || len(b.made) != 1 {
		t.Fatalf("apply on standby: %v, %d devices made", err, len(b.made))
	}
	if err := m.SetStandby("ntkv0", ""); err != nil {
		t.Fatal(err)
	}
	if len(b.made) != 2 || b.made[1].closed || b.made[1].peer.Endpoint != netip.MustParseAddrPort("192.0.2.8:27000") {
		t.Fatalf("after standby: %d devices, %+v", len(b.made), b.made[len(b.made)-1])
	}
	if m.List()[0].Standby != "" {
		t.Fatal("still listed on standby")
	}
	if err := m.SetStandby("ntkv9", "x"); err == nil {
		t.Fatal("standby of an unknown link")
	}
}
