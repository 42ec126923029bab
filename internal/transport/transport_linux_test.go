package transport

import (
	"bytes"
	"encoding/binary"
	"net"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/ntkd/ntkd/internal/node"
	"github.com/ntkd/ntkd/internal/radar"
	"github.com/ntkd/ntkd/internal/wire"
)

func TestDatagramsAndStreams(t *testing.T) {
	p := newPair(t, Config{}, Config{})

	// A's probe reaches B with a PeerID that B maps back to A's address.
	probe := frame(wire.OpEchoMe, 11, []byte("probe"))
	send(t, p.a, node.Send{Iface: ifaceA, To: radar.Broadcast, Op: wire.OpEchoMe, Data: probe})
	got := expectPacket(t, p.b)
	if got.Iface != ifaceB || got.From == radar.Broadcast || !bytes.Equal(got.Data, probe) {
		t.Fatalf("B got %+v, want A's probe on iface %d", got, ifaceB)
	}
	pA := got.From
	if ifc, ip, ok := p.b.PeerAddr(pA); !ok || ifc != ifaceB || ip != p.aAddr {
		t.Fatalf("B.PeerAddr(%d) = %d %v %v, want %d %v", pA, ifc, ip, ok, ifaceB, p.aAddr)
	}

	// B answers by unicast. A's own probe must not have come back to it:
	// the first thing A receives is B's reply.
	reply := frame(wire.OpEchoReply, 11, []byte("reply"))
	send(t, p.b, node.Send{Iface: ifaceB, To: pA, Op: wire.OpEchoReply, Data: reply})
	got = expectPacket(t, p.a)
	if !bytes.Equal(got.Data, reply) || got.Iface != ifaceA {
		t.Fatalf("A got %+v, want B's reply (its own probe must be ignored)", got)
	}
	pB := got.From
	if ifc, ip, ok := p.a.PeerAddr(pB); !ok || ifc != ifaceA || ip != p.bAddr {
		t.Fatalf("A.PeerAddr(%d) = %d %v %v, want %d %v", pB, ifc, ip, ok, ifaceA, p.bAddr)
	}

	// Reliable packets both ways arrive with the same PeerIDs as the
	// datagrams of the same neighbours.
	tracer := frame(wire.OpTracerPkt, 12, bytes.Repeat([]byte{7}, 3000))
	send(t, p.a, node.Send{Iface: ifaceA, To: pB, Reliable: true, Op: wire.OpTracerPkt, Data: tracer})
	got = expectPacket(t, p.b)
	if got.From != pA || got.Iface != ifaceB || !bytes.Equal(got.Data, tracer) {
		t.Fatalf("B got %d bytes from %d on %d, want A's tracer from %d", len(got.Data), got.From, got.Iface, pA)
	}
	mapBody := frame(wire.OpPutIntMap, 13, bytes.Repeat([]byte{9}, 40000))
	send(t, p.b, node.Send{Iface: ifaceB, To: pA, Reliable: true, Op: wire.OpPutIntMap, Data: mapBody})
	got = expectPacket(t, p.a)
	if got.From != pB || !bytes.Equal(got.Data, mapBody) {
		t.Fatalf("A got %d bytes from %d, want B's map from %d", len(got.Data), got.From, pB)
	}

	// A's writer counts the tracer when its write returns, which can be
	// after B has read it; a reader counts a packet once the channel has
	// taken it, which can be after we have read it.
	waitFor(t, "A's tracer counted", func() bool { return p.a.Stats().Sent.Packets[wire.OpTracerPkt] > 0 })
	waitFor(t, "the packets received counted", func() bool {
		ra, rb := p.a.Stats().Received.Packets, p.b.Stats().Received.Packets
		return ra[wire.OpEchoReply] > 0 && ra[wire.OpPutIntMap] > 0 && rb[wire.OpEchoMe] > 0 && rb[wire.OpTracerPkt] > 0
	})
	sa, sb := p.a.Stats(), p.b.Stats()
	if sa.Sent.Packets[wire.OpEchoMe] != 1 || sa.Sent.Packets[wire.OpTracerPkt] != 1 || sa.Sent.Bytes[wire.OpTracerPkt] != uint64(len(tracer)) {
		t.Errorf("A sent %d ECHO_ME, %d TRACER_PKT (%d bytes)", sa.Sent.Packets[wire.OpEchoMe], sa.Sent.Packets[wire.OpTracerPkt], sa.Sent.Bytes[wire.OpTracerPkt])
	}
	if sa.Received.Packets[wire.OpEchoReply] != 1 || sa.Received.Packets[wire.OpPutIntMap] != 1 || sa.Received.Packets[wire.OpEchoMe] != 0 {
		t.Errorf("A received %d ECHO_REPLY, %d PUT_INT_MAP, %d ECHO_ME", sa.Received.Packets[wire.OpEchoReply], sa.Received.Packets[wire.OpPutIntMap], sa.Received.Packets[wire.OpEchoMe])
	}
	if sb.Received.Packets[wire.OpEchoMe] != 1 || sb.Received.Bytes[wire.OpEchoMe] != uint64(len(probe)) {
		t.Errorf("B received %d ECHO_ME (%d bytes)", sb.Received.Packets[wire.OpEchoMe], sb.Received.Bytes[wire.OpEchoMe])
	}
	if sa.OutStreams != 1 || sb.OutStreams != 1 || sa.Peers != 1 || sb.Peers != 1 {
		t.Errorf("out streams %d/%d, peers %d/%d, want 1 each", sa.OutStreams, sb.OutStreams, sa.Peers, sb.Peers)
	}
	if len(sa.Dropped)+len(sb.Dropped) != 0 {
		t.Errorf("drops: A %v, B %v", sa.Dropped, sb.Dropped)
	}
}

func TestStreamKeepsOrder(t *testing.T) {
	const n = 1000
	p := newPair(t, Config{QueueLen: n}, Config{PerSourceRate: 1e6, PerSourceBurst: 1e6})
	p.introduce(t)
	for i := range n {
		payload := make([]byte, 1+i%700) // mixed sizes, so writes batch and split
		send(t, p.a, node.Send{Iface: ifaceA, To: p.pB, Reliable: true, Op: wire.OpTracerPkt, Data: frame(wire.OpTracerPkt, uint32(i), payload)})
	}
	for i := range n {
		got := expectPacket(t, p.b)
		if id := binary.BigEndian.Uint32(got.Data[8:]); id != uint32(i) || got.From != p.pA {
			t.Fatalf("packet %d: got id %d from %d", i, id, got.From)
		}
	}
}

func TestOwnPacketsIgnored(t *testing.T) {
	// Two interfaces of the same node on one link (a veth pair inside one
	// namespace): what A broadcasts on one arrives on the other from A's
	// own address and must be dropped.
	l := newLab(t, false)
	run(t, "ip", "-n", l.nsA, "link", "add", "loop-1", "type", "veth", "peer", "name", "loop-2")
	l.prepare(t, l.nsA, "loop-1", false)
	l.prepare(t, l.nsA, "loop-2", false)
	run(t, "ip", "-n", l.nsA, "link", "set", "loop-1", "up")
	run(t, "ip", "-n", l.nsA, "link", "set", "loop-2", "up")
	a := newTransport(t, l.nsA, Config{}, 1, "loop-1")
	if err := a.AddIface(2, "loop-2"); err != nil {
		t.Fatal(err)
	}
	waitBound(t, a, 1)
	waitBound(t, a, 2)
	send(t, a, node.Send{Iface: 1, To: radar.Broadcast, Op: wire.OpEchoMe, Data: frame(wire.OpEchoMe, 1, nil)})
	waitFor(t, "own packet dropped", func() bool { return a.Stats().Dropped[DropOwnPacket] == 1 })
	if s := a.Stats(); s.Peers != 0 || s.Received.Packets[wire.OpEchoMe] != 0 {
		t.Fatalf("own packet made %d peers, %d received", s.Peers, s.Received.Packets[wire.OpEchoMe])
	}
}

func TestInterfaceRemovedAndAdded(t *testing.T) {
	p := newPair(t, Config{}, Config{})
	p.introduce(t)
	// Streams both ways, so both sides have connections to lose.
	send(t, p.a, node.Send{Iface: ifaceA, To: p.pB, Reliable: true, Op: wire.OpTracerPkt, Data: frame(wire.OpTracerPkt, 1, nil)})
	expectPacket(t, p.b)
	send(t, p.b, node.Send{Iface: ifaceB, To: p.pA, Reliable: true, Op: wire.OpTracerPkt, Data: frame(wire.OpTracerPkt, 2, nil)})
	expectPacket(t, p.a)

	if err := p.a.RemoveIface(ifaceA); err != nil {
		t.Fatal(err)
	}
	if err := p.a.Send(node.Send{Iface: ifaceA, To: p.pB, Op: wire.OpEchoMe, Data: frame(wire.OpEchoMe, 3, nil)}); err == nil {
		t.Fatal("send on a removed interface worked")
	}
	if s := p.a.Stats(); s.Dropped[DropUnknownIface] != 1 || s.OutStreams != 0 || s.InStreams != 0 {
		t.Fatalf("after removal: drops %v, %d out and %d in streams", s.Dropped, s.OutStreams, s.InStreams)
	}
	if err := p.a.AddIface(ifaceA, p.ifA); err != nil {
		t.Fatal(err)
	}
	waitBound(t, p.a, ifaceA)

	// Same PeerIDs on both sides, datagrams and streams both ways. B's
	// stream to A was closed by A's removal: B must notice and reconnect
	// instead of writing into the dead connection.
	send(t, p.a, node.Send{Iface: ifaceA, To: radar.Broadcast, Op: wire.OpEchoMe, Data: frame(wire.OpEchoMe, 4, nil)})
	if got := expectPacket(t, p.b); got.From != p.pA {
		t.Fatalf("after re-adding, A is %d at B, was %d", got.From, p.pA)
	}
	send(t, p.b, node.Send{Iface: ifaceB, To: p.pA, Op: wire.OpEchoReply, Data: frame(wire.OpEchoReply, 4, nil)})
	if got := expectPacket(t, p.a); got.From != p.pB {
		t.Fatalf("after re-adding, B is %d at A, was %d", got.From, p.pB)
	}
	send(t, p.b, node.Send{Iface: ifaceB, To: p.pA, Reliable: true, Op: wire.OpTracerPkt, Data: frame(wire.OpTracerPkt, 5, nil)})
	if got := expectPacket(t, p.a); binary.BigEndian.Uint32(got.Data[8:]) != 5 || got.From != p.pB {
		t.Fatalf("B's stream after A re-added: got %+v", got)
	}
	send(t, p.a, node.Send{Iface: ifaceA, To: p.pB, Reliable: true, Op: wire.OpTracerPkt, Data: frame(wire.OpTracerPkt, 6, nil)})
	if got := expectPacket(t, p.b); binary.BigEndian.Uint32(got.Data[8:]) != 6 || got.From != p.pA {
		t.Fatalf("A's stream after re-adding: got %+v", got)
	}
	if d := p.b.Stats().Dropped; len(d) != 0 {
		t.Errorf("B dropped %v", d)
	}
}

func TestTentativeAddressBindsLater(t *testing.T) {
	l := newLab(t, true)
	a := newTransport(t, l.nsA, Config{}, ifaceA, l.ifA)
	b := newTransport(t, l.nsB, Config{}, ifaceB, l.ifB)
	// Bound while the kernel still calls the address tentative would be a
	// bug. (Read ours first: tentative afterwards means tentative before.)
	_, bound := a.LocalAddr(ifaceA)
	addr, tentative := linkLocalOf(t, l.nsA, l.ifA)
	t.Logf("%s %s tentative=%v bound=%v", l.ifA, addr, tentative, bound)
	if bound && tentative {
		t.Fatal("bound to a tentative address")
	}
	waitBound(t, a, ifaceA)
	waitBound(t, b, ifaceB)
	if _, tentative := linkLocalOf(t, l.nsA, l.ifA); tentative {
		t.Fatal("bound, yet the address is still tentative")
	}
	send(t, a, node.Send{Iface: ifaceA, To: radar.Broadcast, Op: wire.OpEchoMe, Data: frame(wire.OpEchoMe, 1, nil)})
	pA := expectPacket(t, b).From
	send(t, b, node.Send{Iface: ifaceB, To: pA, Reliable: true, Op: wire.OpEchoReply, Data: frame(wire.OpEchoReply, 1, nil)})
	expectPacket(t, a)
}

func TestBadInputDroppedAndCounted(t *testing.T) {
	p := newPair(t, Config{}, Config{MaxPacket: 1024})
	port := wire.DefaultPort

	// Datagrams: oversized, garbage, inconsistent length, then a good one.
	// UDP keeps order on one socket, so when the good one is in, the
	// others have been judged.
	u := rawUDP(t, p.nsA, p.ifA, p.bAddr, port)
	bad := frame(wire.OpEchoMe, 1, []byte("12345"))
	binary.BigEndian.PutUint32(bad[12:], 10)
	for _, d := range [][]byte{
		frame(wire.OpEchoMe, 1, make([]byte, 2000)),
		[]byte("definitely not a packet"),
		bad,
		frame(wire.OpEchoMe, 2, nil),
	} {
		if _, err := u.Write(d); err != nil {
			t.Fatal(err)
		}
	}
	if got := expectPacket(t, p.b); binary.BigEndian.Uint32(got.Data[8:]) != 2 {
		t.Fatalf("got %x", got.Data)
	}
	if d := p.b.Stats().Dropped; d[DropTooBig] != 1 || d[DropMalformed] != 2 {
		t.Fatalf("datagram drops %v, want 1 too big and 2 malformed", d)
	}

	// Streams: an oversized frame is skipped and the stream goes on...
	c := rawDial(t, p.nsA, p.ifA, p.aAddr, p.bAddr, port)
	var w bytes.Buffer
	w.Write(frame(wire.OpPutIntMap, 3, make([]byte, 5000)))
	w.Write(frame(wire.OpTracerPkt, 4, []byte("after")))
	if _, err := c.Write(w.Bytes()); err != nil {
		t.Fatal(err)
	}
	if got := expectPacket(t, p.b); binary.BigEndian.Uint32(got.Data[8:]) != 4 {
		t.Fatalf("got %x", got.Data)
	}
	// ...while broken framing closes it.
	if _, err := c.Write([]byte("XXXXXXXXXXXXXXXXXXXX")); err != nil {
		t.Fatal(err)
	}
	expectClosed(t, c)
	if d := p.b.Stats().Dropped; d[DropTooBig] != 2 || d[DropMalformed] != 3 {
		t.Fatalf("drops %v, want 2 too big and 3 malformed", d)
	}
	waitFor(t, "stream released", func() bool { return p.b.Stats().InStreams == 0 })

	// What we would send is checked too.
	if err := p.b.Send(node.Send{Iface: ifaceB, To: radar.Broadcast, Op: wire.OpEchoMe, Data: frame(wire.OpEchoMe, 5, make([]byte, 2000))}); err == nil {
		t.Error("sent a packet above MaxPacket")
	}
	if err := p.b.Send(node.Send{Iface: ifaceB, To: radar.Broadcast, Op: wire.OpEchoMe, Data: bad}); err == nil {
		t.Error("sent a malformed packet")
	}
}

func TestRateLimit(t *testing.T) {
	// Five tokens and practically no refill: exactly five get through.
	p := newPair(t, Config{}, Config{PerSourceRate: 0.001, PerSourceBurst: 5})
	const datagrams, reliable = 50, 20
	for i := range datagrams {
		send(t, p.a, node.Send{Iface: ifaceA, To: radar.Broadcast, Op: wire.OpEchoMe, Data: frame(wire.OpEchoMe, uint32(i), nil)})
	}
	pA := expectPacket(t, p.b).From
	send(t, p.b, node.Send{Iface: ifaceB, To: pA, Op: wire.OpEchoReply, Data: frame(wire.OpEchoReply, 0, nil)})
	pB := expectPacket(t, p.a).From
	// The stream shares the source's bucket, which is empty by now.
	for i := range reliable {
		send(t, p.a, node.Send{Iface: ifaceA, To: pB, Reliable: true, Op: wire.OpTracerPkt, Data: frame(wire.OpTracerPkt, uint32(i), nil)})
	}
	waitFor(t, "every packet judged", func() bool {
		s := p.b.Stats()
		return s.Received.Packets[wire.OpEchoMe]+s.Received.Packets[wire.OpTracerPkt]+s.Dropped[DropRateLimited] == datagrams+reliable
	})
	s := p.b.Stats()
	if s.Received.Packets[wire.OpEchoMe] != 5 || s.Received.Packets[wire.OpTracerPkt] != 0 || s.Dropped[DropRateLimited] != datagrams+reliable-5 {
		t.Fatalf("received %d datagrams and %d stream packets, %d rate limited",
			s.Received.Packets[wire.OpEchoMe], s.Received.Packets[wire.OpTracerPkt], s.Dropped[DropRateLimited])
	}
}

func TestConnectionLimits(t *testing.T) {
	p := newPair(t, Config{}, Config{MaxConnsPerSource: 2, MaxConns: 3})
	// A second source address on A's side.
	other := netip.MustParseAddr("fe80::abcd")
	run(t, "ip", "-n", p.nsA, "addr", "add", other.String()+"/64", "dev", p.ifA, "nodad")
	port := wire.DefaultPort
	inStreams := func(n int) func() bool { return func() bool { return p.b.Stats().InStreams == n } }
	// proven dials from src and sends frame id, which B must deliver.
	proven := func(src netip.Addr, id uint32) (*net.TCPConn, radar.PeerID) {
		t.Helper()
		c := rawDial(t, p.nsA, p.ifA, src, p.bAddr, port)
		c.Write(frame(wire.OpTracerPkt, id, nil))
		got := expectPacket(t, p.b)
		if binary.BigEndian.Uint32(got.Data[8:]) != id {
			t.Fatalf("got packet %d, want %d", binary.BigEndian.Uint32(got.Data[8:]), id)
		}
		return c, got.From
	}

	// A connection that sends nothing is only fresh: it takes no slot.
	rawDial(t, p.nsA, p.ifA, other, p.bAddr, port)
	waitFor(t, "a fresh connection", func() bool { return p.b.Stats().FreshStreams == 1 })

	c1, fromA := proven(p.aAddr, 1)
	proven(p.aAddr, 2)
	waitFor(t, "two proven connections", inStreams(3))
	// A third from A: its newest connection wins over its least active
	// one, c1.
	c3, _ := proven(p.aAddr, 3)
	expectClosed(t, c1)
	c4, fromOther := proven(other, 4)
	if fromA == fromOther {
		t.Fatalf("two source addresses share PeerID %d", fromA)
	}
	if _, ip, _ := p.b.PeerAddr(fromOther); ip != other {
		t.Fatalf("second peer is %v, want %v", ip, other)
	}
	// Full: a fifth is refused once it has sent its frame.
	c5 := rawDial(t, p.nsA, p.ifA, other, p.bAddr, port)
	c5.Write(frame(wire.OpTracerPkt, 5, nil))
	expectClosed(t, c5)
	if d := p.b.Stats().Dropped; d[DropTooManyConns] != 1 || d[DropConnEvicted] != 1 {
		t.Fatalf("drops %v, want 1 too_many_conns and 1 conn_evicted", d)
	}

	// The accepted ones work.
	c3.Write(frame(wire.OpTracerPkt, 6, nil))
	if got := expectPacket(t, p.b); got.From != fromA {
		t.Fatalf("packet 6 from %d, want %d", got.From, fromA)
	}
	c4.Write(frame(wire.OpTracerPkt, 7, nil))
	if got := expectPacket(t, p.b); got.From != fromOther {
		t.Fatalf("packet 7 from %d, want %d", got.From, fromOther)
	}

	// A closed connection frees its slot.
	c3.Close()
	waitFor(t, "slot freed", inStreams(3)) // 2 proven, 1 fresh
	proven(p.aAddr, 8)
	if d := p.b.Stats().Dropped; d[DropTooManyConns] != 1 || d[DropConnEvicted] != 1 {
		t.Fatalf("drops %v, want 1 too_many_conns and 1 conn_evicted", d)
	}
	if s := p.b.Stats(); s.InStreams != 4 || s.FreshStreams != 1 {
		t.Fatalf("%d in streams, %d fresh; want 3 proven and 1 fresh", s.InStreams, s.FreshStreams)
	}
}

func TestQueueOverflow(t *testing.T) {
	// B never reads its Recv channel: its stream reader stops, TCP fills
	// up, A's writer blocks and A's queue overflows. Nothing grows.
	p := newPair(t, Config{QueueLen: 4}, Config{RecvQueue: 1, PerSourceRate: 1e6, PerSourceBurst: 1e6})
	send(t, p.b, node.Send{Iface: ifaceB, To: radar.Broadcast, Op: wire.OpEchoMe, Data: frame(wire.OpEchoMe, 1, nil)})
	pB := expectPacket(t, p.a).From
	pkt := frame(wire.OpPutExtMap, 1, make([]byte, 60000))
	refused := 0
	for range 5000 {
		if p.a.Send(node.Send{Iface: ifaceA, To: pB, Reliable: true, Op: wire.OpPutExtMap, Data: pkt}) != nil {
			refused++
		}
	}
	if d := p.a.Stats().Dropped[DropQueueFull]; d == 0 || d != uint64(refused) {
		t.Fatalf("%d queue-full drops, %d sends refused", d, refused)
	}
}

func TestDialFailureAndPeerErrors(t *testing.T) {
	p := newPair(t, Config{}, Config{})
	p.introduce(t)

	if err := p.a.Send(node.Send{Iface: ifaceA, To: 12345, Op: wire.OpEchoMe, Data: frame(wire.OpEchoMe, 1, nil)}); err == nil {
		t.Error("send to an unknown peer worked")
	}
	if err := p.a.Send(node.Send{Iface: 99, To: radar.Broadcast, Op: wire.OpEchoMe, Data: frame(wire.OpEchoMe, 1, nil)}); err == nil {
		t.Error("send on an unknown interface worked")
	}
	if err := p.a.Send(node.Send{Iface: ifaceA, To: radar.Broadcast, Reliable: true, Op: wire.OpTracerPkt, Data: frame(wire.OpTracerPkt, 1, nil)}); err == nil {
		t.Error("reliable broadcast worked")
	}
	if d := p.a.Stats().Dropped; d[DropUnknownPeer] != 2 || d[DropUnknownIface] != 1 {
		t.Errorf("drops %v", d)
	}

	// B stops listening: A's connect is refused and its queue counted.
	if err := p.b.RemoveIface(ifaceB); err != nil {
		t.Fatal(err)
	}
	send(t, p.a, node.Send{Iface: ifaceA, To: p.pB, Reliable: true, Op: wire.OpTracerPkt, Data: frame(wire.OpTracerPkt, 2, nil)})
	waitFor(t, "dial failure counted", func() bool {
		s := p.a.Stats()
		return s.Dropped[DropDialFailed] == 1 && s.OutStreams == 0
	})

	// The next send after the failure dials again.
	if err := p.b.AddIface(ifaceB, p.ifB); err != nil {
		t.Fatal(err)
	}
	waitBound(t, p.b, ifaceB)
	send(t, p.a, node.Send{Iface: ifaceA, To: p.pB, Reliable: true, Op: wire.OpTracerPkt, Data: frame(wire.OpTracerPkt, 3, nil)})
	if got := expectPacket(t, p.b); binary.BigEndian.Uint32(got.Data[8:]) != 3 || got.From != p.pA {
		t.Fatalf("after reconnecting: %+v", got)
	}
}

func TestAddIfaceErrors(t *testing.T) {
	l := newLab(t, false)
	a := newTransport(t, l.nsA, Config{}, 1, l.ifA)
	if err := a.AddIface(2, "no-such-if0"); err == nil {
		t.Error("added a missing interface")
	}
	if err := a.AddIface(1, l.ifA); err == nil {
		t.Error("added interface number 1 twice")
	}
	if err := a.AddIface(2, l.ifA); err == nil {
		t.Error("added the same interface under two numbers")
	}
	if err := a.RemoveIface(2); err == nil {
		t.Error("removed an interface never added")
	}
}

func TestCloseStopsEverything(t *testing.T) {
	before := runtime.NumGoroutine()
	p := newPair(t, Config{}, Config{})
	p.introduce(t)
	for _, s := range []struct {
		from *Transport
		send node.Send
		to   *Transport
	}{
		{p.a, node.Send{Iface: ifaceA, To: p.pB, Reliable: true, Op: wire.OpTracerPkt, Data: frame(wire.OpTracerPkt, 1, nil)}, p.b},
		{p.b, node.Send{Iface: ifaceB, To: p.pA, Reliable: true, Op: wire.OpTracerPkt, Data: frame(wire.OpTracerPkt, 2, nil)}, p.a},
	} {
		send(t, s.from, s.send)
		expectPacket(t, s.to)
	}
	if s := p.a.Stats(); s.InStreams != 1 || s.OutStreams != 1 {
		t.Fatalf("A has %d in and %d out streams, want 1 each", s.InStreams, s.OutStreams)
	}
	p.a.Close()
	p.b.Close()
	for _, tr := range []*Transport{p.a, p.b} {
		if _, open := <-tr.Recv(); open {
			t.Fatal("Recv still open after Close")
		}
		if err := tr.Send(node.Send{Iface: ifaceA, To: radar.Broadcast, Op: wire.OpEchoMe, Data: frame(wire.OpEchoMe, 3, nil)}); err != ErrClosed {
			t.Fatalf("Send after Close: %v", err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// An idle stream keeps its connection but no goroutine; after IdleTimeout
// it is closed, and the next reliable send dials again.
func TestIdleStreamHoldsNoWriter(t *testing.T) {
	const idle = 400 * time.Millisecond
	p := newPair(t, Config{IdleTimeout: idle}, Config{})
	p.introduce(t)
	before := runtime.NumGoroutine()
	send(t, p.a, node.Send{Iface: ifaceA, To: p.pB, Reliable: true, Op: wire.OpTracerPkt, Data: frame(wire.OpTracerPkt, 1, nil)})
	expectPacket(t, p.b)
	// B's reader of the accepted stream stays; A's writer must have left.
	waitFor(t, "A's writer gone once its queue drained", func() bool {
		return runtime.NumGoroutine() == before+1 && p.a.Stats().OutStreams == 1
	})
	waitFor(t, "idle stream closed on both sides", func() bool {
		return p.a.Stats().OutStreams == 0 && p.b.Stats().InStreams == 0
	})
	send(t, p.a, node.Send{Iface: ifaceA, To: p.pB, Reliable: true, Op: wire.OpTracerPkt, Data: frame(wire.OpTracerPkt, 2, nil)})
	if got := expectPacket(t, p.b); binary.BigEndian.Uint32(got.Data[8:]) != 2 {
		t.Fatalf("after the idle close B got packet %d, want 2", binary.BigEndian.Uint32(got.Data[8:]))
	}
	if s := p.a.Stats(); len(s.Dropped) != 0 {
		t.Fatalf("drops: %v", s.Dropped)
	}
}
