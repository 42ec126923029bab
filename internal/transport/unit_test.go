package transport

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net/netip"
	"runtime"
	"testing"
	"testing/iotest"
	"time"

	"github.com/ntkd/ntkd/internal/node"
	"github.com/ntkd/ntkd/internal/radar"
	"github.com/ntkd/ntkd/internal/wire"
)

// These tests need no root: the parts that do not touch sockets.

func testFrame(op wire.Op, id uint32, payload []byte) []byte {
	b := make([]byte, wire.HeaderLen+len(payload))
	b[0], b[1], b[2], b[3] = wire.Magic0, wire.Magic1, wire.Version, byte(op)
	binary.BigEndian.PutUint32(b[8:], id)
	binary.BigEndian.PutUint32(b[12:], uint32(len(payload)))
	copy(b[wire.HeaderLen:], payload)
	return b
}

func TestConfigDefaults(t *testing.T) {
	c, err := Config{}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if c.DatagramPort != 269 || c.StreamPort != 269 || c.MaxPacket != 64<<10 || c.PerSourceBurst != 2*c.PerSourceRate || c.DialTimeout != 2*time.Second {
		t.Errorf("defaults: %+v", c)
	}
	c, err = Config{DatagramPort: 300, StreamPort: 301, PerSourceRate: 10}.withDefaults()
	if err != nil || c.DatagramPort != 300 || c.StreamPort != 301 || c.PerSourceBurst != 20 {
		t.Errorf("kept values: %+v, %v", c, err)
	}
	for _, bad := range []Config{
		{DatagramPort: 70000},
		{StreamPort: -1},
		{MaxPacket: 10},
		{MaxPacket: wire.HeaderLen + wire.MaxPayload + 1},
		{PerSourceRate: -1},
		{PerSourceBurst: 0.5},
		{MaxConns: -1},
		{QueueLen: -3},
		{DialTimeout: -time.Second},
	} {
		if _, err := bad.withDefaults(); err == nil {
			t.Errorf("accepted %+v", bad)
		}
	}
	if _, err := New(Config{MaxPacket: 1}, nil); err == nil {
		t.Error("New accepted a bad config")
	}
}

func TestCheckFrame(t *testing.T) {
	good := testFrame(wire.OpEchoMe, 1, []byte("abc"))
	if err := checkFrame(good); err != nil {
		t.Fatal(err)
	}
	// An unknown op is well framed: the node may NACK it.
	if err := checkFrame(testFrame(0x7f, 1, nil)); err != nil {
		t.Errorf("unknown op refused: %v", err)
	}
	long := append(append([]byte(nil), good...), 0)
	badMagic := append([]byte(nil), good...)
	badMagic[0] = 'X'
	for name, pkt := range map[string][]byte{
		"short":     good[:10],
		"truncated": good[:len(good)-1],
		"trailing":  long,
		"magic":     badMagic,
		"empty":     nil,
	} {
		if checkFrame(pkt) == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestReadFrame(t *testing.T) {
	small := testFrame(wire.OpTracerPkt, 1, []byte("hello"))
	big := testFrame(wire.OpPutIntMap, 2, bytes.Repeat([]byte{1}, 100000))
	huge := testFrame(wire.OpPutExtMap, 3, make([]byte, 3000))
	var stream bytes.Buffer
	stream.Write(small)
	stream.Write(huge) // above the limit below: skipped
	stream.Write(big)
	stream.Write(small)
	// One byte per Read: framing must not depend on how TCP cuts the data.
	r := iotest.OneByteReader(bytes.NewReader(stream.Bytes()))
	got, err := readFrame(r, new([wire.HeaderLen]byte), len(big))
	if err != nil || !bytes.Equal(got, small) {
		t.Fatalf("first: %x, %v", got, err)
	}
	if got, err = readFrame(r, new([wire.HeaderLen]byte), 2000); !errors.Is(err, errTooBig) {
		t.Fatalf("oversized: %d bytes, %v", len(got), err)
	}
	if got, err = readFrame(r, new([wire.HeaderLen]byte), len(big)); err != nil || !bytes.Equal(got, big) {
		t.Fatalf("big: %d bytes, %v", len(got), err)
	}
	if got, err = readFrame(r, new([wire.HeaderLen]byte), len(big)); err != nil || !bytes.Equal(got, small) {
		t.Fatalf("last: %x, %v", got, err)
	}
	if _, err = readFrame(r, new([wire.HeaderLen]byte), len(big)); err != io.EOF {
		t.Fatalf("end: %v, want io.EOF", err)
	}

	// Broken framing, cut frames.
	bad := append([]byte(nil), small...)
	bad[2] = 9 // version
	if _, err := readFrame(bytes.NewReader(bad), new([wire.HeaderLen]byte), 1000); !errors.Is(err, errMalformed) {
		t.Errorf("bad version: %v", err)
	}
	if _, err := readFrame(bytes.NewReader(small[:len(small)-2]), new([wire.HeaderLen]byte), 1000); err != io.ErrUnexpectedEOF {
		t.Errorf("cut payload: %v", err)
	}
	if _, err := readFrame(bytes.NewReader(small[:5]), new([wire.HeaderLen]byte), 1000); err != io.ErrUnexpectedEOF {
		t.Errorf("cut header: %v", err)
	}
	if _, err := readFrame(bytes.NewReader(huge[:100]), new([wire.HeaderLen]byte), 1000); err != io.ErrUnexpectedEOF {
		t.Errorf("cut oversized frame: %v", err)
	}
}

// A header promising a big payload costs memory only as the payload comes.
func TestReadFrameGrowsWithData(t *testing.T) {
	hdr := testFrame(wire.OpPutIntMap, 1, nil)
	binary.BigEndian.PutUint32(hdr[12:], wire.MaxPayload)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 10 {
		if _, err := readFrame(bytes.NewReader(hdr), new([wire.HeaderLen]byte), wire.HeaderLen+wire.MaxPayload); err != io.ErrUnexpectedEOF {
			t.Fatal(err)
		}
	}
	runtime.ReadMemStats(&after)
	if per := (after.TotalAlloc - before.TotalAlloc) / 10; per > 2*frameGrowStep {
		t.Errorf("a bare header cost %d bytes", per)
	}
}

func TestPeerTable(t *testing.T) {
	now := time.Unix(0, 0)
	pt := newPeerTable(3, 5)
	key := func(i int) peerKey {
		return peerKey{iface: 1, ip: netip.AddrFrom16([16]byte{0: 0xfe, 1: 0x80, 15: byte(i)})}
	}
	a, b, c := pt.get(key(1), now), pt.get(key(2), now), pt.get(key(3), now)
	if a.id == radar.Broadcast || a.id == b.id || b.id == c.id {
		t.Fatalf("ids %d %d %d", a.id, b.id, c.id)
	}
	if pt.get(key(1), now) != a {
		t.Fatal("same source, new peer")
	}
	if other := pt.get(peerKey{iface: 2, ip: key(1).ip}, now); other == nil || other.id == a.id {
		t.Fatal("same address on another interface must be another peer")
	}
	// The table held 3: the least recently used (b: a was just used) left.
	if pt.byID[b.id] != nil || pt.byID[a.id] != a {
		t.Fatal("wrong peer evicted")
	}
	// Pinned peers stay; with all pinned, new sources are refused.
	for _, p := range pt.byKey {
		p.inConns = 1
	}
	if pt.get(key(9), now) != nil {
		t.Fatal("evicted a pinned peer")
	}
	// An evicted source comes back under a new id; old ids are not reused.
	a.inConns = 0
	nb := pt.get(key(2), now)
	if nb == nil || nb.id == b.id || pt.byID[a.id] != nil {
		t.Fatalf("b came back as %+v", nb)
	}
}

func TestTokenBucket(t *testing.T) {
	now := time.Unix(100, 0)
	p := &peer{tokens: 3, refilled: now}
	for i := range 3 {
		if !p.allow(now, 2, 3) {
			t.Fatalf("token %d refused", i)
		}
	}
	if p.allow(now, 2, 3) {
		t.Fatal("empty bucket allowed")
	}
	now = now.Add(500 * time.Millisecond) // one token at 2/s
	if !p.allow(now, 2, 3) || p.allow(now, 2, 3) {
		t.Fatal("refill wrong")
	}
	now = now.Add(time.Hour) // capped at the burst
	n := 0
	for p.allow(now, 2, 3) {
		n++
	}
	if n != 3 {
		t.Fatalf("%d tokens after a long pause, want the burst 3", n)
	}
}

func TestSendWithoutInterfaces(t *testing.T) {
	tr, err := New(Config{MaxPacket: 100}, nil)
	if err != nil {
		t.Fatal(err)
	}
	pkt := testFrame(wire.OpEchoMe, 1, nil)
	if tr.Send(node.Send{Iface: 1, Op: wire.OpEchoMe, Data: pkt}) == nil {
		t.Error("sent on no interface")
	}
	if tr.Send(node.Send{Iface: 1, Op: wire.OpEchoMe, Data: testFrame(wire.OpEchoMe, 1, make([]byte, 100))}) == nil {
		t.Error("sent above MaxPacket")
	}
	if tr.Send(node.Send{Iface: 1, Op: wire.OpEchoMe, Data: pkt[:10]}) == nil {
		t.Error("sent a cut packet")
	}
	d := tr.Stats().Dropped
	if d[DropUnknownIface] != 1 || d[DropTooBig] != 1 || d[DropMalformed] != 1 {
		t.Errorf("drops %v", d)
	}
	if _, _, ok := tr.PeerAddr(1); ok {
		t.Error("a peer out of nowhere")
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	if _, open := <-tr.Recv(); open {
		t.Error("Recv open after Close")
	}
	if tr.Send(node.Send{Iface: 1, Op: wire.OpEchoMe, Data: pkt}) != ErrClosed {
		t.Error("Send after Close")
	}
	if tr.AddIface(1, "lo") != ErrClosed {
		t.Error("AddIface after Close")
	}
	if tr.Close() != nil {
		t.Error("second Close")
	}
}
