package node

import (
	"testing"
	"time"

	"github.com/ntkd/ntkd/internal/addr"
	"github.com/ntkd/ntkd/internal/radar"
	"github.com/ntkd/ntkd/internal/wire"
)

func decodeEcho(t *testing.T, s Send) *wire.Echo {
	t.Helper()
	_, p, err := wire.Decode(s.Data)
	if err != nil {
		t.Fatalf("%v: %v", s.Op, err)
	}
	return p.(*wire.Echo)
}

// Which ECHO_ME the node answers, and how: a plain hello not at all, a
// hello asking for it and a unicast probe with a reply carrying the same
// burst/seq, the hello flag copied, our nonce and address.
func TestEchoAnswers(t *testing.T) {
	n, now := hookedPair(t)
	nb := n.Radar().Lookup(0, 7)
	nbAddr := nb.Addr
	hello := func(flags wire.EchoFlags, ihu ...wire.IHU) []byte {
		b, err := wire.Encode(9, &wire.Echo{Kind: wire.OpEchoMe, Burst: 1, Seq: 2, Flags: wire.EchoHello | flags, Nonce: 99, Addr: nbAddr, Interval: 500, IHU: ihu})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	probe, _ := wire.Encode(9, &wire.Echo{Kind: wire.OpEchoMe, Burst: 3, Seq: 4, Nonce: 99, Addr: nbAddr})
	cases := []struct {
		name   string
		data   []byte
		answer bool
		flags  wire.EchoFlags
	}{
		{"plain hello", hello(0, wire.IHU{Nonce: n.nonce, Heard: 16}), false, 0},
		{"hello asking for replies", hello(wire.EchoReplyWanted, wire.IHU{Nonce: n.nonce, Heard: 16}), true, wire.EchoHello},
		{"unicast probe", probe, true, 0},
	}
	for _, c := range cases {
		now += 10 * time.Millisecond
		n.HandlePacket(now, 0, 7, c.data)
		out := n.Outbox()
		if !c.answer {
			if len(out) != 0 {
				t.Fatalf("%s: answered %v", c.name, out)
			}
			continue
		}
		if len(out) != 1 || out[0].Op != wire.OpEchoReply || out[0].To != 7 || out[0].Iface != 0 || out[0].Reliable {
			t.Fatalf("%s: sent %+v, want one ECHO_REPLY datagram to peer 7", c.name, out)
		}
		h, _, _ := wire.Decode(out[0].Data)
		e := decodeEcho(t, out[0])
		_, in, _ := wire.Decode(c.data)
		if h.ID != 9 || e.Burst != in.(*wire.Echo).Burst || e.Seq != in.(*wire.Echo).Seq || e.Flags != c.flags || e.Nonce != n.nonce || e.Addr != n.Addr() {
			t.Fatalf("%s: reply %+v (id %d)", c.name, e, h.ID)
		}
	}
	if nb := n.Radar().Lookup(0, 7); nb.State != radar.Alive || nb.Interval != 5*time.Second {
		t.Fatalf("neighbour after its hellos: %+v", *nb)
	}
	// A full list without us may be a rotating part: no conclusion. A
	// short one without us says it does not hear us: probe it.
	full := make([]wire.IHU, wire.MaxIHU)
	for i := range full {
		full[i] = wire.IHU{Nonce: uint32(1000 + i), Heard: 16}
	}
	now += 10 * time.Millisecond
	n.HandlePacket(now, 0, 7, hello(0, full...))
	if nb := n.Radar().Lookup(0, 7); nb.State != radar.Alive {
		t.Fatalf("after a full list without us: %v", nb.State)
	}
	now += 10 * time.Millisecond
	n.HandlePacket(now, 0, 7, hello(0, full[:3]...))
	if nb := n.Radar().Lookup(0, 7); nb.State != radar.Suspect {
		t.Fatalf("after a short list without us: %v", nb.State)
	}
	n.Tick(now)
	out := n.Outbox()
	if len(out) != 1 || out[0].To != 7 || out[0].Op != wire.OpEchoMe || decodeEcho(t, out[0]).Flags != 0 {
		t.Fatalf("probing a neighbour that does not hear us: %+v", out)
	}
}

// What the node's hellos carry: the hello flag and number, the interval,
// what it hears of each neighbour, and replies wanted only when asked for.
func TestHellosOnTheWire(t *testing.T) {
	n, now := hookedPair(t)
	nbAddr := n.Radar().Lookup(0, 7).Addr
	var hellos []*wire.Echo
	for end, seq := now+30*time.Second, 0; now < end; now += 100 * time.Millisecond {
		if seq%50 == 0 { // its own hellos keep it alive
			b, _ := wire.Encode(1, &wire.Echo{Kind: wire.OpEchoMe, Burst: 0, Seq: uint8(seq / 50), Flags: wire.EchoHello, Nonce: 99, Addr: nbAddr,
				Interval: 500, IHU: []wire.IHU{{Nonce: n.nonce, Heard: 16}}})
			n.HandlePacket(now, 0, 7, b)
		}
		seq++
		n.Tick(now)
		for _, s := range n.Outbox() {
			if s.Op == wire.OpEchoMe && s.To == radar.Broadcast {
				hellos = append(hellos, decodeEcho(t, s))
			}
		}
	}
	if len(hellos) != 6 {
		t.Fatalf("%d hellos in 30 s, want 6", len(hellos))
	}
	wanting := 0
	for i, e := range hellos {
		if e.Flags&wire.EchoHello == 0 || e.Interval != 500 || e.Nonce != n.nonce || e.Addr != n.Addr() {
			t.Fatalf("hello %d: %+v", i, e)
		}
		if i > 0 && int(e.Burst)<<8|int(e.Seq) != int(hellos[i-1].Burst)<<8|int(hellos[i-1].Seq)+1 {
			t.Fatalf("hello %d not numbered after the previous one", i)
		}
		if len(e.IHU) != 1 || e.IHU[0].Nonce != 99 {
			t.Fatalf("hello %d lists %v, want the neighbour's nonce 99", i, e.IHU)
		}
		if e.Flags&wire.EchoReplyWanted != 0 {
			wanting++
		}
	}
	if wanting > 1 {
		t.Fatalf("%d of 6 hellos asked for replies, want at most one (every %d intervals)", wanting, radar.DefaultConfig().RefreshEvery)
	}
	// While hooking the hellos carry the hooking flag and the lowest nonce.
	cfg := DefaultConfig(addr.Default())
	cfg.Seed = 3
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.IfaceUp(0, 0)
	h.Outbox()
	h.Start(0)
	out := h.Outbox()
	if len(out) != 1 {
		t.Fatalf("start: %+v", out)
	}
	if e := decodeEcho(t, out[0]); e.Flags != wire.EchoHooking|wire.EchoHello|wire.EchoReplyWanted || e.Lowest != h.nonce || e.Addr.IsValid() {
		t.Fatalf("first hello of a hooking node: %+v", e)
	}
}
