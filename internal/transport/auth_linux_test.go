package transport

import (
	"bytes"
	"testing"
	"time"

	"github.com/ntkd/ntkd/internal/node"
	"github.com/ntkd/ntkd/internal/radar"
	"github.com/ntkd/ntkd/internal/wire"
)

// The network key over real sockets: a veth pair between two namespaces
// (lab_linux_test.go).

// keyedPair is a pair whose ends use the given keys (none: open).
func keyedPair(t *testing.T, keysA, keysB []Key) *pair {
	t.Helper()
	p := newPair(t, Config{DialTimeout: 500 * time.Millisecond}, Config{DialTimeout: 500 * time.Millisecond})
	p.a.SetKeys(keysA...)
	p.b.SetKeys(keysB...)
	return p
}

// exchange checks that a datagram and a stream packet go each way and
// arrive as the plain packets that were sent.
func exchange(t *testing.T, p *pair) {
	t.Helper()
	p.introduce(t)
	for i, dir := range []struct {
		from, to *Transport
		iface    int
		peer     radar.PeerID
	}{{p.a, p.b, ifaceA, p.pB}, {p.b, p.a, ifaceB, p.pA}} {
		small := frame(wire.OpEchoMe, uint32(10+i), []byte("probe"))
		send(t, dir.from, node.Send{Iface: dir.iface, To: dir.peer, Op: wire.OpEchoMe, Data: small})
		if got := expectPacket(t, dir.to); !bytes.Equal(got.Data, small) {
			t.Fatalf("datagram %d: got % x, want % x", i, got.Data, small)
		}
		for j := range 3 { // several frames: the frame numbers advance
			big := frame(wire.OpTracerPkt, uint32(20+j), bytes.Repeat([]byte{byte(j)}, 3000))
			send(t, dir.from, node.Send{Iface: dir.iface, To: dir.peer, Reliable: true, Op: wire.OpTracerPkt, Data: big})
			if got := expectPacket(t, dir.to); !bytes.Equal(got.Data, big) {
				t.Fatalf("stream %d frame %d: got %d bytes, want the %d sent", i, j, len(got.Data), len(big))
			}
		}
	}
	if d := p.a.Stats().Dropped; len(d) != 0 {
		t.Errorf("A dropped %v", d)
	}
	if d := p.b.Stats().Dropped; len(d) != 0 {
		t.Errorf("B dropped %v", d)
	}
}

func TestNetworkKeySameKey(t *testing.T) {
	exchange(t, keyedPair(t, []Key{keyOld}, []Key{keyOld}))
}

// Rotation: the middle step, new key sent and the old one accepted on one
// end, the old sent and the new accepted on the other.
func TestNetworkKeyRotation(t *testing.T) {
	exchange(t, keyedPair(t, []Key{keyNew, keyOld}, []Key{keyOld, keyNew}))
}

// refused sends a datagram and a stream packet from A to B (B has heard
// A's hello on an open mesh first) and checks that B counts both as why
// and delivers nothing.
func refused(t *testing.T, p *pair, why string, streamReachesB bool) {
	t.Helper()
	// Hello and reply in the open, so that each end knows the other's
	// PeerID; then the keys.
	keysA, keysB := p.a.keySet(), p.b.keySet()
	p.a.keys.Store(nil)
	p.b.keys.Store(nil)
	p.introduce(t)
	p.a.keys.Store(keysA)
	p.b.keys.Store(keysB)

	send(t, p.a, node.Send{Iface: ifaceA, To: radar.Broadcast, Op: wire.OpEchoMe, Data: frame(wire.OpEchoMe, 1, nil)})
	waitFor(t, "datagram dropped as "+why, func() bool { return p.b.Stats().Dropped[why] == 1 })
	send(t, p.a, node.Send{Iface: ifaceA, To: p.pB, Reliable: true, Op: wire.OpTracerPkt, Data: frame(wire.OpTracerPkt, 2, []byte("x"))})
	if streamReachesB {
		waitFor(t, "stream frame dropped as "+why, func() bool { return p.b.Stats().Dropped[why] == 2 })
	} else {
		// A waits for a challenge that an open mesh never sends.
		waitFor(t, "A's stream failed", func() bool { return p.a.Stats().Dropped[DropDialFailed] == 1 })
	}
	select {
	case pkt := <-p.b.Recv():
		t.Fatalf("B delivered % x", pkt.Data)
	case <-time.After(100 * time.Millisecond):
	}
}

func TestNetworkKeyWrongKeyRefused(t *testing.T) {
	refused(t, keyedPair(t, []Key{keyForeign}, []Key{keyOld}), DropBadTag, true)
}

func TestNetworkKeyKeylessRefused(t *testing.T) {
	refused(t, keyedPair(t, nil, []Key{keyOld}), DropUnauthenticated, true)
}

func TestNetworkKeyOpenMeshRefusesTagged(t *testing.T) {
	refused(t, keyedPair(t, []Key{keyOld}, nil), DropUnauthenticated, false)
}

// A key turned on and off while streams are open: both ends follow, the
// streams connect again, nothing is delivered that the mode refuses.
func TestNetworkKeySetLive(t *testing.T) {
	p := keyedPair(t, nil, nil)
	exchange(t, p)
	p.a.SetKeys(keyOld)
	p.b.SetKeys(keyOld)
	exchange(t, p)
	p.b.SetKeys(keyOld, keyNew) // rotation, live: B accepts the new key,
	p.a.SetKeys(keyNew, keyOld) // then A sends with it
	exchange(t, p)
	p.a.SetKeys()
	p.b.SetKeys()
	exchange(t, p)
}

// A recorded stream played into a new connection is refused: the new
// connection's challenge differs.
func TestNetworkKeyStreamReplay(t *testing.T) {
	p := keyedPair(t, []Key{keyOld}, []Key{keyOld})
	p.introduce(t)
	// What A's writer would send on a connection whose challenge was
	// all zeros, as a recording of an older connection.
	pkt := frame(wire.OpTracerPkt, 5, []byte("old"))
	rec := p.a.keySet().seal(pkt, &authCtx{domain: domainStream, src: p.aAddr, challenge: make([]byte, challengeLen)})
	conn := rawDial(t, p.nsA, p.ifA, p.aAddr, p.bAddr, wire.DefaultPort)
	var chal [challengeLen]byte
	if err := readChallenge(conn, chal[:], 5*time.Second); err != nil {
		t.Fatalf("no challenge: %v", err)
	}
	if _, err := conn.Write(rec); err != nil {
		t.Fatal(err)
	}
	expectClosed(t, conn)
	if n := p.b.Stats().Dropped[DropBadTag]; n != 1 {
		t.Fatalf("bad_tag %d, want 1", n)
	}
}
