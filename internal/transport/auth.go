package transport

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding"
	"encoding/binary"
	"hash"
	"net/netip"
	"sync"

	"github.com/ntkd/ntkd/internal/wire"
)

// A closed mesh (docs/PROTOCOL.md, "Closed mesh: network key"): with a
// network key every packet sent carries a trailer, a key id and a tag
// (HMAC-SHA256 truncated to 16 bytes), and header flag bit 0; a received
// packet is checked and stripped back to the plain version 1 packet
// before the node sees it. Without a key nothing changes on the wire.

// KeyLen is the length of a network key.
const KeyLen = 32

// Key is a network key: 32 random bytes shared by every node of a closed
// mesh.
type Key [KeyLen]byte

const (
	tagLen = 16
	// TrailerLen is what a network key adds to each packet: the key id
	// and the tag.
	TrailerLen = 1 + tagLen
	// flagAuth is header flag bit 0 (byte 5 of the header): the packet
	// ends with a trailer.
	flagAuth = 0x01
	// challengeLen is the random challenge the accepting end of a stream
	// sends first; every frame's tag covers it, so a recorded stream
	// cannot be played into a new connection.
	challengeLen = 16
)

// Tag domains: a datagram's tag cannot pass for a stream frame's.
const (
	domainDatagram = 'D'
	domainStream   = 'S'
)

// netKey is one key with its id and its HMAC-SHA256 (RFC 2104): the
// SHA-256 states after the inner and the outer padded key, and a pool of
// hashes to resume them in (used by several goroutines: Send, the
// datagram reader, stream readers and writers). Written here on
// crypto/sha256 rather than with crypto/hmac, which links SHA-3 and the
// FIPS 140 checks into the router binary (+36 KB); TestHMAC compares the
// two.
type netKey struct {
	id      byte
	in, out []byte // marshalled SHA-256 states
	pool    sync.Pool
}

func newNetKey(k Key) *netKey {
	var ipad, opad [sha256.BlockSize]byte
	for i := range ipad {
		ipad[i], opad[i] = 0x36, 0x5c
	}
	for i, b := range k { // a 32-byte key is shorter than the block: used as it is
		ipad[i] ^= b
		opad[i] ^= b
	}
	nk := &netKey{id: KeyID(k)}
	nk.pool.New = func() any { return &macState{h: sha256.New()} }
	state := func(pad []byte) []byte {
		h := sha256.New()
		h.Write(pad)
		b, _ := h.(encoding.BinaryMarshaler).MarshalBinary() // cannot fail
		return b
	}
	nk.in, nk.out = state(ipad[:]), state(opad[:])
	return nk
}

// macState is a hash and scratch that would otherwise escape to the heap
// at each packet.
type macState struct {
	h     hash.Hash
	pre   [1 + 16 + challengeLen + 8]byte
	inner [sha256.Size]byte
	sum   [sha256.Size]byte
}

// mac computes HMAC-SHA256 of m.pre[:n] and msg under k into m.sum.
func (k *netKey) mac(m *macState, n int, msg []byte) {
	h := m.h
	h.(encoding.BinaryUnmarshaler).UnmarshalBinary(k.in)
	h.Write(m.pre[:n])
	h.Write(msg)
	h.Sum(m.inner[:0])
	h.(encoding.BinaryUnmarshaler).UnmarshalBinary(k.out)
	h.Write(m.inner[:])
	h.Sum(m.sum[:0])
}

// keySet is what the transport sends with (keys[0]) and accepts (all of
// keys). A nil *keySet is an open mesh.
type keySet struct {
	keys []*netKey
}

// KeyID is the one-byte id of k that travels in the trailer: the first
// byte of SHA-256("ntkd network key id" || k). It lets the receiver pick
// the key; two keys with the same id are both tried.
func KeyID(k Key) byte {
	h := sha256.New()
	h.Write([]byte("ntkd network key id"))
	h.Write(k[:])
	return h.Sum(nil)[0]
}

func newKeySet(keys []Key) *keySet {
	if len(keys) == 0 {
		return nil
	}
	s := &keySet{}
	for i, k := range keys {
		dup := false
		for _, o := range keys[:i] {
			dup = dup || o == k
		}
		if !dup {
			s.keys = append(s.keys, newNetKey(k))
		}
	}
	return s
}

// authCtx is what a tag covers besides the packet: the domain, the
// sender's link-local address and, on a stream, the challenge and the
// frame's number on the connection.
type authCtx struct {
	domain    byte
	src       netip.Addr
	challenge []byte // streams only
	seq       uint64 // streams only
}

// tag computes k's tag of ctx and msg (the packet up to the tag) into
// out[:tagLen].
func (k *netKey) tag(out []byte, ctx *authCtx, msg []byte) {
	m := k.pool.Get().(*macState)
	pre := &m.pre
	pre[0] = ctx.domain
	a := ctx.src.As16()
	copy(pre[1:17], a[:])
	n := 17
	if ctx.domain == domainStream {
		n += copy(pre[n:], ctx.challenge)
		binary.BigEndian.PutUint64(pre[n:], ctx.seq)
		n += 8
	}
	k.mac(m, n, msg)
	copy(out[:tagLen], m.sum[:])
	k.pool.Put(m)
}

// seal returns a new buffer: pkt (one whole version 1 packet, checkFrame
// passed) with header flag bit 0 set, its length grown by TrailerLen and
// the trailer of the sending key appended.
func (s *keySet) seal(pkt []byte, ctx *authCtx) []byte {
	k := s.keys[0]
	out := make([]byte, len(pkt)+TrailerLen)
	copy(out, pkt)
	out[5] |= flagAuth
	binary.BigEndian.PutUint32(out[12:16], binary.BigEndian.Uint32(pkt[12:16])+TrailerLen)
	out[len(pkt)] = k.id
	k.tag(out[len(pkt)+1:], ctx, out[:len(pkt)+1])
	return out
}

// open checks the trailer of pkt (a well-framed packet) and returns the
// packet the node must see, in pkt's own bytes: the trailer cut off,
// flag bit 0 cleared, the length back to the payload's. It returns a drop
// reason when the packet must be dropped: dropUnauthenticated when the
// packet's flag does not match s (a keyless packet on a closed mesh, or a
// tagged one on an open mesh), dropBadTag when no accepted key gives its
// tag.
func (s *keySet) open(pkt []byte, ctx *authCtx) ([]byte, dropReason, bool) {
	tagged := len(pkt) >= wire.HeaderLen && pkt[5]&flagAuth != 0
	switch {
	case s == nil && !tagged:
		return pkt, 0, true
	case s == nil || !tagged:
		return nil, dropUnauthenticated, false
	case len(pkt) < wire.HeaderLen+TrailerLen:
		return nil, dropBadTag, false
	}
	end := len(pkt) - TrailerLen
	id := pkt[end]
	var want [tagLen]byte
	for _, k := range s.keys {
		if k.id != id {
			continue
		}
		k.tag(want[:], ctx, pkt[:end+1])
		if subtle.ConstantTimeCompare(want[:], pkt[end+1:]) == 1 {
			pkt[5] &^= flagAuth
			binary.BigEndian.PutUint32(pkt[12:16], binary.BigEndian.Uint32(pkt[12:16])-TrailerLen)
			return pkt[:end], 0, true
		}
	}
	return nil, dropBadTag, false
}

// SetKeys makes the mesh closed: what is sent carries the tag of keys[0],
// what arrives must carry the tag of one of keys. No keys make it open
// again (no trailer, and tagged packets are refused). It may be called at
// any time: a stream whose connection was made under the other mode is
// connected again (outgoing) or closed (incoming) at its next frame.
func (t *Transport) SetKeys(keys ...Key) {
	s := newKeySet(keys)
	t.keys.Store(s)
	if s == nil {
		t.log.Info("transport: open mesh: packets carry no network key")
		return
	}
	t.log.Info("transport: closed mesh: packets are authenticated with the network key", "key_id", int(s.keys[0].id), "keys", len(s.keys))
}

// keySet is the current key set, nil for an open mesh.
func (t *Transport) keySet() *keySet { return t.keys.Load() }

// trailer is the bytes a packet grows by under s.
func (s *keySet) trailer() int {
	if s == nil {
		return 0
	}
	return TrailerLen
}
