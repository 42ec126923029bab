// Package entry keeps the public list of entry nodes (seed 002, "Entry
// nodes and servers"): signed records of vnodes that accept to be the first
// contact of a hooking vnode, the entry servers that collect them and pass
// them on to each other (each hop signing), and the client that fetches,
// checks, merges, caches the list and picks the nearest entry node.
//
// The core (records, chains, List) does no I/O; the TCP server and client
// are thin layers on top. The client side stays small enough for router
// builds: no net/http, no encoding/json, no DNS resolver.
package entry

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
)

// PublicKey is an Ed25519 public key: an entry node's identity (the kind of
// key the daemon signs ANDNA registrations with) or an entry server's.
// Its text form is standard base64, like the tunnel keys.
type PublicKey [ed25519.PublicKeySize]byte

func (k PublicKey) String() string { return base64.StdEncoding.EncodeToString(k[:]) }

// MarshalText and UnmarshalText let configurations hold keys as base64.
func (k PublicKey) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

func (k *PublicKey) UnmarshalText(text []byte) error {
	// The length first: Decode writes past a buffer shorter than the text
	// needs (fuzzing found the panic).
	var b [ed25519.PublicKeySize + 3]byte
	if len(text) != 44 {
		return fmt.Errorf("entry: public key %q: want %d bytes in standard base64", text, ed25519.PublicKeySize)
	}
	n, err := base64.StdEncoding.Decode(b[:], text)
	if err != nil || n != ed25519.PublicKeySize {
		return fmt.Errorf("entry: public key %q: want %d bytes in standard base64", text, ed25519.PublicKeySize)
	}
	copy(k[:], b[:n])
	return nil
}

// PublicKeyOf returns the public half of priv.
func PublicKeyOf(priv ed25519.PrivateKey) PublicKey {
	var k PublicKey
	copy(k[:], priv.Public().(ed25519.PublicKey))
	return k
}

// Record is what an entry node says about itself, signed with its own key.
type Record struct {
	Node      PublicKey      // the entry node's Ed25519 identity; the list is keyed by it
	TunnelKey [32]byte       // its WireGuard (Curve25519) public key
	Endpoint  netip.AddrPort // its Internet endpoint: the vlayer/WireGuard side
	HasCoords bool           // Lat and Lon are set
	Lat, Lon  int32          // microdegrees: [-90e6, 90e6] and [-180e6, 180e6]
	Since     int64          // unix seconds: up since (the uptime the list is ordered by)
	Stamp     int64          // unix nanoseconds when signed; newer replaces older, replays are refused
	Sig       [ed25519.SignatureSize]byte
}

// Hop is one entry server's signature on a forwarded update.
type Hop struct {
	Signer PublicKey
	Sig    [ed25519.SignatureSize]byte
}

// Entry is a record with the chain of servers that passed it on, oldest
// hop first. It is the unit of UPDATE messages, LIST replies and the cache.
type Entry struct {
	Record
	Hops []Hop
}

// Wire sizes.
const (
	recordBody = 108                                // the signed part of a record
	RecordSize = recordBody + ed25519.SignatureSize // 172
	hopSize    = 32 + ed25519.SignatureSize
	// MaxHops bounds a chain on the wire; servers may set a lower limit.
	MaxHops      = 16
	maxEntrySize = RecordSize + 1 + MaxHops*hopSize
	version      = 1
	flagCoords   = 1
	maxLat       = 90_000_000
	maxLon       = 180_000_000
)

// Domain prefixes keep a signature of one kind from passing as another.
var (
	recordDomain = []byte("ntkd entry record v1\x00")
	hopDomain    = []byte("ntkd entry hop v1\x00")
	listDomain   = []byte("ntkd entry list v1\x00")
)

// Errors of decoding and checking. Servers count them by kind.
var (
	ErrMalformed    = errors.New("malformed")
	ErrBadSignature = errors.New("bad signature")
)

// malformed is a decoding error of fixed text: no fmt in the decoders,
// which keeps the router binary's share of this package small.
type malformed string

func (e malformed) Error() string        { return "malformed: " + string(e) }
func (e malformed) Is(target error) bool { return target == ErrMalformed }

// appendBody appends the signed part of r.
func (r *Record) appendBody(b []byte) []byte {
	var flags byte
	if r.HasCoords {
		flags |= flagCoords
	}
	b = append(b, version, flags)
	b = append(b, r.Node[:]...)
	b = append(b, r.TunnelKey[:]...)
	a := r.Endpoint.Addr().As16() // IPv4 as ::ffff:a.b.c.d
	b = append(b, a[:]...)
	b = binary.BigEndian.AppendUint16(b, r.Endpoint.Port())
	b = binary.BigEndian.AppendUint32(b, uint32(r.Lat))
	b = binary.BigEndian.AppendUint32(b, uint32(r.Lon))
	b = binary.BigEndian.AppendUint64(b, uint64(r.Since))
	return binary.BigEndian.AppendUint64(b, uint64(r.Stamp))
}

// AppendBinary appends the record's wire form (RecordSize bytes).
func (r *Record) AppendBinary(b []byte) []byte {
	return append(r.appendBody(b), r.Sig[:]...)
}

// Sign sets r.Node to priv's public key and signs r with it.
func (r *Record) Sign(priv ed25519.PrivateKey) {
	r.Node = PublicKeyOf(priv)
	msg := r.appendBody(append([]byte(nil), recordDomain...))
	copy(r.Sig[:], ed25519.Sign(priv, msg))
}

// Verify checks the entry node's signature.
func (r *Record) Verify() error {
	msg := r.appendBody(append([]byte(nil), recordDomain...))
	if !ed25519.Verify(r.Node[:], msg, r.Sig[:]) {
		return fmt.Errorf("record of %v: %w", r.Node, ErrBadSignature)
	}
	return nil
}

// check holds the rules every record obeys, whoever made it.
func (r *Record) check() error {
	a := r.Endpoint.Addr()
	switch {
	case !a.IsValid() || a.IsUnspecified() || a.IsMulticast() || a.Zone() != "":
		return malformed("endpoint not a unicast address")
	case r.Endpoint.Port() == 0:
		return malformed("endpoint port 0")
	case r.Since < 0 || r.Stamp < 0 || r.Since > r.Stamp/1e9:
		return malformed("up since after the update's time")
	}
	return checkCoords(r.HasCoords, r.Lat, r.Lon)
}

// decodeRecord reads one record from the first RecordSize bytes of b.
// Only the canonical form is accepted: one record, one encoding.
func decodeRecord(b []byte) (Record, error) {
	var r Record
	switch {
	case len(b) < RecordSize:
		return r, malformed("record truncated")
	case b[0] != version:
		return r, malformed("record version")
	case b[1]&^flagCoords != 0:
		return r, malformed("record flags")
	}
	r.HasCoords = b[1]&flagCoords != 0
	copy(r.Node[:], b[2:34])
	copy(r.TunnelKey[:], b[34:66])
	a := netip.AddrFrom16([16]byte(b[66:82])).Unmap()
	r.Endpoint = netip.AddrPortFrom(a, binary.BigEndian.Uint16(b[82:84]))
	r.Lat = int32(binary.BigEndian.Uint32(b[84:88]))
	r.Lon = int32(binary.BigEndian.Uint32(b[88:92]))
	r.Since = int64(binary.BigEndian.Uint64(b[92:100]))
	r.Stamp = int64(binary.BigEndian.Uint64(b[100:108]))
	copy(r.Sig[:], b[recordBody:RecordSize])
	if err := r.check(); err != nil {
		return Record{}, err
	}
	return r, nil
}

// AppendBinary appends the entry's wire form: the record, the number of
// hops (one byte), then each hop's signer and signature.
func (e Entry) AppendBinary(b []byte) []byte {
	b = e.Record.AppendBinary(b)
	b = append(b, byte(len(e.Hops)))
	for _, h := range e.Hops {
		b = append(b, h.Signer[:]...)
		b = append(b, h.Sig[:]...)
	}
	return b
}

// Size is the length of the entry's wire form.
func (e Entry) Size() int { return RecordSize + 1 + len(e.Hops)*hopSize }

// DecodeEntry decodes exactly one entry: trailing bytes are an error.
// Signatures are not checked here (Verify does).
func DecodeEntry(b []byte) (Entry, error) {
	r, err := decodeRecord(b)
	if err != nil {
		return Entry{}, err
	}
	if len(b) < RecordSize+1 {
		return Entry{}, malformed("entry without hop count")
	}
	n := int(b[RecordSize])
	switch {
	case n > MaxHops:
		return Entry{}, malformed("entry with too many hops")
	case len(b) != RecordSize+1+n*hopSize:
		return Entry{}, malformed("entry length and hop count disagree")
	}
	e := Entry{Record: r}
	if n > 0 {
		e.Hops = make([]Hop, n)
		for i := range e.Hops {
			h := b[RecordSize+1+i*hopSize:]
			copy(e.Hops[i].Signer[:], h[:32])
			copy(e.Hops[i].Sig[:], h[32:hopSize])
		}
	}
	return e, nil
}

// hopMessage is what the i-th hop signs: the record and every hop before
// it, so that a chain cannot be cut or reordered without breaking it.
func (e *Entry) hopMessage(i int) []byte {
	b := append([]byte(nil), hopDomain...)
	b = e.Record.AppendBinary(b)
	b = append(b, byte(i))
	for _, h := range e.Hops[:i] {
		b = append(b, h.Signer[:]...)
		b = append(b, h.Sig[:]...)
	}
	return b
}

// Forwarded returns a copy of e with one more hop signed by priv.
func (e Entry) Forwarded(priv ed25519.PrivateKey) Entry {
	e.Hops = append(e.Hops[:len(e.Hops):len(e.Hops)], Hop{Signer: PublicKeyOf(priv)})
	i := len(e.Hops) - 1
	copy(e.Hops[i].Sig[:], ed25519.Sign(priv, e.hopMessage(i)))
	return e
}

// Verify checks the record's signature and every hop's.
func (e *Entry) Verify() error {
	if err := e.Record.check(); err != nil {
		return err
	}
	if len(e.Hops) > MaxHops {
		return malformed("entry with too many hops")
	}
	if err := e.Record.Verify(); err != nil {
		return err
	}
	for i, h := range e.Hops {
		if !ed25519.Verify(h.Signer[:], e.hopMessage(i), h.Sig[:]) {
			return fmt.Errorf("record of %v, hop %d (%v): %w", e.Node, i+1, h.Signer, ErrBadSignature)
		}
	}
	return nil
}

// LastSigner is the server that passed e on last, or false when e came
// straight from its entry node.
func (e *Entry) LastSigner() (PublicKey, bool) {
	if len(e.Hops) == 0 {
		return PublicKey{}, false
	}
	return e.Hops[len(e.Hops)-1].Signer, true
}
