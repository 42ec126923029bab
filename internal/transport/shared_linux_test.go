package transport

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"testing"

	"github.com/ntkd/ntkd/internal/node"
	"github.com/ntkd/ntkd/internal/radar"
	"github.com/ntkd/ntkd/internal/wire"
)

// star is A in the middle with one link to B and one to C, as a mesh node
// with two neighbours, each on its own interface, sees them. B's and C's
// ends have the same MAC address, hence the same link-local address: only
// the interface tells them apart.
type star struct {
	nsA, nsB, nsC string
	toB, toC      string // A's interfaces
	bAddr, cAddr  netip.Addr
}

const starMAC = "02:00:00:00:00:bc"

func newStar(t *testing.T) *star {
	t.Helper()
	requireRoot(t)
	removeStaleNamespaces(t)
	n := labSeq.Add(1)
	s := &star{toB: "a-b", toC: "a-c"}
	var l lab // for prepare
	for _, x := range []struct {
		ns  *string
		tag string
	}{{&s.nsA, "a"}, {&s.nsB, "b"}, {&s.nsC, "c"}} {
		ns := fmt.Sprintf("%s%d-%d-%s", nsPrefix, os.Getpid(), n, x.tag)
		*x.ns = ns
		run(t, "ip", "netns", "add", ns)
		t.Cleanup(func() {
			if out, err := exec.Command("ip", "netns", "del", ns).CombinedOutput(); err != nil {
				t.Errorf("ip netns del %s: %v: %s", ns, err, out)
			}
		})
		run(t, "ip", "-n", ns, "link", "set", "lo", "up")
	}
	for _, x := range []struct{ aIf, ns string }{{s.toB, s.nsB}, {s.toC, s.nsC}} {
		run(t, "ip", "link", "add", x.aIf, "netns", s.nsA, "type", "veth", "peer", "name", "to-a", "netns", x.ns)
		run(t, "ip", "-n", x.ns, "link", "set", "to-a", "address", starMAC)
		l.prepare(t, s.nsA, x.aIf, false)
		l.prepare(t, x.ns, "to-a", false)
		run(t, "ip", "-n", s.nsA, "link", "set", x.aIf, "up")
		run(t, "ip", "-n", x.ns, "link", "set", "to-a", "up")
	}
	return s
}

// Interface numbers on A.
const ifToB, ifToC = 1, 2

func TestTwoInterfacesSameNeighbourAddress(t *testing.T) {
	s := newStar(t)
	a := newTransport(t, s.nsA, Config{}, ifToB, s.toB)
	if err := a.AddIface(ifToC, s.toC); err != nil {
		t.Fatal(err)
	}
	b := newTransport(t, s.nsB, Config{}, 1, "to-a")
	c := newTransport(t, s.nsC, Config{}, 1, "to-a")
	waitBound(t, a, ifToB)
	waitBound(t, a, ifToC)
	bAddr, cAddr := waitBound(t, b, 1), waitBound(t, c, 1)
	if bAddr != cAddr {
		t.Fatalf("B is %v and C %v: the test wants the same address", bAddr, cAddr)
	}

	// Each probe arrives on the interface it came in on, from its own peer.
	send(t, b, node.Send{Iface: 1, To: radar.Broadcast, Op: wire.OpEchoMe, Data: frame(wire.OpEchoMe, 1, []byte("B"))})
	fromB := expectPacket(t, a)
	send(t, c, node.Send{Iface: 1, To: radar.Broadcast, Op: wire.OpEchoMe, Data: frame(wire.OpEchoMe, 2, []byte("C"))})
	fromC := expectPacket(t, a)
	if fromB.Iface != ifToB || !bytes.Equal(fromB.Data[wire.HeaderLen:], []byte("B")) {
		t.Fatalf("B's probe: %+v, want it on interface %d", fromB, ifToB)
	}
	if fromC.Iface != ifToC || !bytes.Equal(fromC.Data[wire.HeaderLen:], []byte("C")) {
		t.Fatalf("C's probe: %+v, want it on interface %d", fromC, ifToC)
	}
	pB, pC := fromB.From, fromC.From
	if pB == pC {
		t.Fatalf("B and C share PeerID %d", pB)
	}
	for _, x := range []struct {
		p     radar.PeerID
		iface int
	}{{pB, ifToB}, {pC, ifToC}} {
		if ifc, ip, ok := a.PeerAddr(x.p); !ok || ifc != x.iface || ip != bAddr {
			t.Fatalf("PeerAddr(%d) = %d %v %v, want %d %v", x.p, ifc, ip, ok, x.iface, bAddr)
		}
	}

	// Replies (unicast to the same address) and broadcasts leave by the
	// interface named, and only by it.
	send(t, a, node.Send{Iface: ifToC, To: pC, Op: wire.OpEchoReply, Data: frame(wire.OpEchoReply, 3, nil)})
	send(t, a, node.Send{Iface: ifToC, To: radar.Broadcast, Op: wire.OpEchoMe, Data: frame(wire.OpEchoMe, 4, nil)})
	send(t, a, node.Send{Iface: ifToB, To: pB, Op: wire.OpEchoReply, Data: frame(wire.OpEchoReply, 5, nil)})
	var pAatC radar.PeerID
	for _, want := range []uint32{3, 4} {
		got := expectPacket(t, c)
		if binary.BigEndian.Uint32(got.Data[8:]) != want {
			t.Fatalf("C got packet %d, want %d", binary.BigEndian.Uint32(got.Data[8:]), want)
		}
		pAatC = got.From
	}
	if got := expectPacket(t, b); binary.BigEndian.Uint32(got.Data[8:]) != 5 {
		t.Fatalf("B got packet %d, want 5 (and nothing sent on A's other interface)", binary.BigEndian.Uint32(got.Data[8:]))
	}

	// Streams: A's to C, and C's to A, which A accepts on the right
	// interface with C's PeerID.
	send(t, a, node.Send{Iface: ifToC, To: pC, Reliable: true, Op: wire.OpTracerPkt, Data: frame(wire.OpTracerPkt, 6, nil)})
	if got := expectPacket(t, c); binary.BigEndian.Uint32(got.Data[8:]) != 6 {
		t.Fatalf("C's stream: got %+v", got)
	}
	send(t, c, node.Send{Iface: 1, To: pAatC, Reliable: true, Op: wire.OpTracerPkt, Data: frame(wire.OpTracerPkt, 7, nil)})
	if got := expectPacket(t, a); got.Iface != ifToC || got.From != pC || binary.BigEndian.Uint32(got.Data[8:]) != 7 {
		t.Fatalf("A got %+v on its stream from C, want packet 7 from %d on %d", got, pC, ifToC)
	}
	if d := a.Stats().Dropped; len(d) != 0 {
		t.Errorf("A dropped %v", d)
	}
	if n := len(b.Recv()); n != 0 {
		t.Errorf("B has %d more packets: A's sends to C leaked to B", n)
	}
}

func TestForeignInterfaceDropped(t *testing.T) {
	s := newStar(t)
	// A uses only its link to B: what C sends on the other is not ours.
	a := newTransport(t, s.nsA, Config{}, ifToB, s.toB)
	b := newTransport(t, s.nsB, Config{}, 1, "to-a")
	c := newTransport(t, s.nsC, Config{}, 1, "to-a")
	waitBound(t, a, ifToB)
	waitBound(t, b, 1)
	waitBound(t, c, 1)
	send(t, c, node.Send{Iface: 1, To: radar.Broadcast, Op: wire.OpEchoMe, Data: frame(wire.OpEchoMe, 1, nil)})
	waitFor(t, "C's probe dropped", func() bool { return a.Stats().Dropped[DropForeignIface] == 1 })

	// A connection on the foreign interface is closed at once.
	aOnC, _ := linkLocalOf(t, s.nsA, s.toC)
	aOnCAddr := netip.MustParsePrefix(aOnC).Addr()
	cAddr, _ := c.LocalAddr(1)
	conn := rawDial(t, s.nsC, "to-a", cAddr, aOnCAddr, wire.DefaultPort)
	expectClosed(t, conn)
	waitFor(t, "C's connection dropped", func() bool { return a.Stats().Dropped[DropForeignIface] == 2 })

	// B, on the interface added, gets through; C was never a peer.
	send(t, b, node.Send{Iface: 1, To: radar.Broadcast, Op: wire.OpEchoMe, Data: frame(wire.OpEchoMe, 2, nil)})
	if got := expectPacket(t, a); got.Iface != ifToB || binary.BigEndian.Uint32(got.Data[8:]) != 2 {
		t.Fatalf("A got %+v, want B's probe", got)
	}
	if st := a.Stats(); st.Peers != 1 || st.InStreams != 0 || st.Received.Packets[wire.OpEchoMe] != 1 {
		t.Fatalf("A has %d peers, %d streams, received %d probes; want B's one", st.Peers, st.InStreams, st.Received.Packets[wire.OpEchoMe])
	}
}

func TestRemoveOneInterfaceKeepsTheOther(t *testing.T) {
	s := newStar(t)
	a := newTransport(t, s.nsA, Config{}, ifToB, s.toB)
	if err := a.AddIface(ifToC, s.toC); err != nil {
		t.Fatal(err)
	}
	b := newTransport(t, s.nsB, Config{}, 1, "to-a")
	c := newTransport(t, s.nsC, Config{}, 1, "to-a")
	waitBound(t, a, ifToB)
	waitBound(t, a, ifToC)
	waitBound(t, b, 1)
	waitBound(t, c, 1)
	// Everyone knows everyone; streams both ways on both links.
	send(t, a, node.Send{Iface: ifToB, To: radar.Broadcast, Op: wire.OpEchoMe, Data: frame(wire.OpEchoMe, 1, nil)})
	send(t, a, node.Send{Iface: ifToC, To: radar.Broadcast, Op: wire.OpEchoMe, Data: frame(wire.OpEchoMe, 1, nil)})
	pAatB, pAatC := expectPacket(t, b).From, expectPacket(t, c).From
	send(t, b, node.Send{Iface: 1, To: pAatB, Reliable: true, Op: wire.OpTracerPkt, Data: frame(wire.OpTracerPkt, 2, nil)})
	pB := expectPacket(t, a).From
	send(t, c, node.Send{Iface: 1, To: pAatC, Reliable: true, Op: wire.OpTracerPkt, Data: frame(wire.OpTracerPkt, 3, nil)})
	pC := expectPacket(t, a).From
	send(t, a, node.Send{Iface: ifToB, To: pB, Reliable: true, Op: wire.OpTracerPkt, Data: frame(wire.OpTracerPkt, 4, nil)})
	expectPacket(t, b)
	send(t, a, node.Send{Iface: ifToC, To: pC, Reliable: true, Op: wire.OpTracerPkt, Data: frame(wire.OpTracerPkt, 5, nil)})
	expectPacket(t, c)
	if st := a.Stats(); st.InStreams != 2 || st.OutStreams != 2 {
		t.Fatalf("A has %d in and %d out streams, want 2 each", st.InStreams, st.OutStreams)
	}

	if err := a.RemoveIface(ifToB); err != nil {
		t.Fatal(err)
	}
	if st := a.Stats(); st.InStreams != 1 || st.OutStreams != 1 {
		t.Fatalf("after removing B's interface A has %d in and %d out streams, want C's: 1 each", st.InStreams, st.OutStreams)
	}
	// What B sends now is dropped and counted.
	send(t, b, node.Send{Iface: 1, To: pAatB, Op: wire.OpEchoReply, Data: frame(wire.OpEchoReply, 6, nil)})
	waitFor(t, "B's datagram dropped", func() bool { return a.Stats().Dropped[DropForeignIface] == 1 })

	// C's link goes on: datagrams and both streams, kept across the removal.
	send(t, c, node.Send{Iface: 1, To: pAatC, Op: wire.OpEchoReply, Data: frame(wire.OpEchoReply, 7, nil)})
	send(t, c, node.Send{Iface: 1, To: pAatC, Reliable: true, Op: wire.OpTracerPkt, Data: frame(wire.OpTracerPkt, 8, nil)})
	expectIDs(t, a, func(got Packet) bool { return got.Iface == ifToC && got.From == pC }, 7, 8)
	send(t, a, node.Send{Iface: ifToC, To: pC, Op: wire.OpEchoReply, Data: frame(wire.OpEchoReply, 9, nil)})
	send(t, a, node.Send{Iface: ifToC, To: pC, Reliable: true, Op: wire.OpTracerPkt, Data: frame(wire.OpTracerPkt, 10, nil)})
	expectIDs(t, c, func(Packet) bool { return true }, 9, 10)
	if err := a.Send(node.Send{Iface: ifToB, To: pB, Op: wire.OpEchoMe, Data: frame(wire.OpEchoMe, 11, nil)}); err == nil {
		t.Fatal("send on the removed interface worked")
	}
	if st := a.Stats(); st.InStreams != 1 || st.OutStreams != 1 {
		t.Fatalf("A has %d in and %d out streams, want C's: 1 each", st.InStreams, st.OutStreams)
	}
	if d := c.Stats().Dropped; len(d) != 0 {
		t.Errorf("C dropped %v", d)
	}
}

// expectIDs receives len(ids) packets, in any order (a datagram can pass a
// stream), and checks that they carry ids and pass ok.
func expectIDs(t *testing.T, tr *Transport, ok func(Packet) bool, ids ...uint32) {
	t.Helper()
	want := make(map[uint32]bool)
	for _, id := range ids {
		want[id] = true
	}
	for range ids {
		got := expectPacket(t, tr)
		id := binary.BigEndian.Uint32(got.Data[8:])
		if !want[id] || !ok(got) {
			t.Fatalf("got packet %d on %d from %d, want one of %v", id, got.Iface, got.From, ids)
		}
		delete(want, id)
	}
}
