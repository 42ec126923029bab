package wire

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// Limits. They bound every count and length on the wire, so a decoder's
// memory use is bounded by the packet it was given.
const (
	HeaderLen       = 16
	MaxPayload      = 262144 // bytes after the header
	MaxLevels       = 16     // levels are < MaxLevels (IPv6 ULA uses 15)
	MaxChunks       = 256    // chunks in a TRACER_PKT / QSPN_* packet
	MaxBnodeBlocks  = 256    // bnode blocks in a TRACER_PKT / QSPN_* packet
	MaxBnodeLinks   = 255    // links in one bnode block (uint8 count)
	MaxQSPNLevels   = MaxLevels
	MaxHostnameLen  = 253 // DNS limit on a presentation-format name
	MaxReverseNames = 255 // names in one ANDNA_REVERSE_REPLY (uint8 count)
	MaxCacheRecords = 4096
	MaxQueue        = 5 // MAX_ANDNA_QUEUE of the seed
	MaxReasonLen    = 255
	MaxBitsPerLevel = 8 // ids are one byte

	PubKeySize    = 32 // Ed25519 public key
	SignatureSize = 64 // Ed25519 signature
	HashSize      = 32 // SHA-256

	// Default ports; all are configurable.
	DefaultPort      = 269 // UDP: radar and small requests; TCP: per-rnode streams
	DefaultANDNAPort = 277 // UDP and TCP
)

// Address family bytes.
const (
	FamilyNone = 0 // no address (e.g. a node still hooking)
	FamilyV4   = 4
	FamilyV6   = 6
)

// reader walks a layer's bytes. The first failure sticks, so decoders read
// field after field and check r.err only where a count drives a loop.
type reader struct {
	b     []byte
	off   int
	layer string
	err   error
}

func (r *reader) rem() int { return len(r.b) - r.off }

func (r *reader) setErr(sentinel error, field string, off int, format string, args ...any) {
	if r.err == nil {
		r.err = &Error{Layer: r.layer, Field: field, Offset: off, Detail: fmt.Sprintf(format, args...), Err: sentinel}
	}
}

// need fails with ErrTruncated unless n more bytes are present. Decoders call
// it with count*minimum-size before looping over a count, so a forged count
// never makes them grow a slice beyond what the packet can fill.
func (r *reader) need(n int, field string) bool {
	if r.err != nil {
		return false
	}
	if n > r.rem() {
		r.setErr(ErrTruncated, field, r.off, "need %d bytes, have %d", n, r.rem())
		return false
	}
	return true
}

func (r *reader) u8(field string) uint8 {
	if !r.need(1, field) {
		return 0
	}
	v := r.b[r.off]
	r.off++
	return v
}

func (r *reader) u16(field string) uint16 {
	if !r.need(2, field) {
		return 0
	}
	v := binary.BigEndian.Uint16(r.b[r.off:])
	r.off += 2
	return v
}

func (r *reader) u32(field string) uint32 {
	if !r.need(4, field) {
		return 0
	}
	v := binary.BigEndian.Uint32(r.b[r.off:])
	r.off += 4
	return v
}

// take returns the next n bytes (aliasing the input), or nil on failure.
func (r *reader) take(n int, field string) []byte {
	if !r.need(n, field) {
		return nil
	}
	v := r.b[r.off : r.off+n : r.off+n]
	r.off += n
	return v
}

func (r *reader) array32(field string) (v [32]byte) {
	if b := r.take(32, field); b != nil {
		v = [32]byte(b)
	}
	return v
}

// level reads a level byte and checks it is < MaxLevels.
func (r *reader) level(field string) uint8 {
	off := r.off
	v := r.u8(field)
	if r.err == nil && v >= MaxLevels {
		r.setErr(ErrInconsistent, field, off, "level %d >= %d", v, MaxLevels)
	}
	return v
}

// flags reads a flag byte and rejects bits outside known.
func (r *reader) flags(field string, known uint8) uint8 {
	off := r.off
	v := r.u8(field)
	if r.err == nil && v&^known != 0 {
		r.setErr(ErrInconsistent, field, off, "unknown flag bits 0x%02x", v&^known)
	}
	return v
}

// addr reads a family byte and 0, 4 or 16 address bytes. The unspecified
// addresses 0.0.0.0 and :: are refused so that "no address" has exactly one
// encoding (family 0).
func (r *reader) addr(field string, allowNone bool) netip.Addr {
	off := r.off
	fam := r.u8(field)
	if r.err != nil {
		return netip.Addr{}
	}
	var a netip.Addr
	switch fam {
	case FamilyNone:
		if !allowNone {
			r.setErr(ErrInconsistent, field, off, "address required, got family 0")
		}
		return netip.Addr{}
	case FamilyV4:
		b := r.take(4, field)
		if b == nil {
			return netip.Addr{}
		}
		a = netip.AddrFrom4([4]byte(b))
	case FamilyV6:
		b := r.take(16, field)
		if b == nil {
			return netip.Addr{}
		}
		a = netip.AddrFrom16([16]byte(b))
	default:
		r.setErr(ErrInconsistent, field, off, "address family %d", fam)
		return netip.Addr{}
	}
	if a.IsUnspecified() {
		r.setErr(ErrInconsistent, field, off, "unspecified address %v (use family 0)", a)
	}
	return a
}

// hostname reads a uint8 length and that many hostname bytes, validated.
func (r *reader) hostname(field string) []byte {
	off := r.off
	n := int(r.u8(field))
	b := r.take(n, field)
	if r.err != nil {
		return nil
	}
	if msg := hostnameProblem(b); msg != "" {
		r.setErr(ErrInconsistent, field, off, "%s", msg)
		return nil
	}
	return b
}

// done fails unless every byte was consumed: trailing garbage is rejected
// everywhere so the encoding stays canonical.
func (r *reader) done() error {
	if r.err == nil && r.off != len(r.b) {
		r.setErr(ErrInconsistent, "end", r.off, "%d trailing bytes", len(r.b)-r.off)
	}
	return r.err
}

// start prepares a reader for one payload layer and applies the whole-payload
// size limit, which also holds when a payload is decoded without a header.
func start(b []byte, op Op) reader {
	r := reader{b: b, layer: op.String()}
	if len(b) > MaxPayload {
		r.setErr(ErrOversized, "payload", 0, "%d bytes > %d", len(b), MaxPayload)
	}
	return r
}

// internString returns old when b spells it, so a reused decoder does not
// allocate a new string for a name it decoded last time.
func internString(old string, b []byte) string {
	if old == string(b) {
		return old
	}
	return string(b)
}

// writer fills a slice whose size was computed beforehand by size(), so its
// methods need no bounds logic of their own.
type writer struct {
	b   []byte
	off int
}

func (w *writer) u8(v uint8) {
	w.b[w.off] = v
	w.off++
}

func (w *writer) u16(v uint16) {
	binary.BigEndian.PutUint16(w.b[w.off:], v)
	w.off += 2
}

func (w *writer) u32(v uint32) {
	binary.BigEndian.PutUint32(w.b[w.off:], v)
	w.off += 4
}

func (w *writer) bytes(p []byte) {
	w.off += copy(w.b[w.off:], p)
}

func (w *writer) str(s string) {
	w.off += copy(w.b[w.off:], s)
}

func (w *writer) addr(a netip.Addr) {
	switch {
	case !a.IsValid():
		w.u8(FamilyNone)
	case a.Is4():
		w.u8(FamilyV4)
		b := a.As4()
		w.bytes(b[:])
	default:
		w.u8(FamilyV6)
		b := a.As16()
		w.bytes(b[:])
	}
}

// hostname writes the uint8 length then the bytes; checkHostname must have
// passed.
func (w *writer) hostname(s string) {
	w.u8(uint8(len(s)))
	w.str(s)
}

// addrLen validates a for encoding and returns its encoded size.
func addrLen(op Op, field string, a netip.Addr, allowNone bool) (int, error) {
	switch {
	case !a.IsValid():
		if !allowNone {
			return 0, encErr(ErrInconsistent, op.String(), field, "address required")
		}
		return 1, nil
	case a.Zone() != "":
		// Zones are local interface names: meaningless to the receiver.
		return 0, encErr(ErrInconsistent, op.String(), field, "address %v has a zone", a)
	case a.IsUnspecified():
		return 0, encErr(ErrInconsistent, op.String(), field, "unspecified address %v (use the zero netip.Addr)", a)
	case a.Is4():
		return 1 + 4, nil
	default:
		return 1 + 16, nil
	}
}

func checkLevel(op Op, field string, l uint8) error {
	if l >= MaxLevels {
		return encErr(ErrInconsistent, op.String(), field, "level %d >= %d", l, MaxLevels)
	}
	return nil
}

func checkFlags(op Op, field string, v, known uint8) error {
	if v&^known != 0 {
		return encErr(ErrInconsistent, op.String(), field, "unknown flag bits 0x%02x", v&^known)
	}
	return nil
}

// hostnameLen validates s for encoding and returns its encoded size.
func hostnameLen(op Op, field, s string) (int, error) {
	if msg := hostnameProblem(s); msg != "" {
		return 0, encErr(ErrInconsistent, op.String(), field, "%q: %s", s, msg)
	}
	return 1 + len(s), nil
}

// ValidHostname reports whether s may be carried as an ANDNA hostname:
// 1..253 bytes of lowercase letters, digits, '-' and '.', made of labels of
// 1..63 bytes that neither start nor end with '-' (RFC 1123). Callers
// lowercase names before asking; the wire never carries uppercase so that
// one name has one hash.
func ValidHostname(s string) error {
	if msg := hostnameProblem(s); msg != "" {
		return &Error{Layer: "ANDNA", Field: "hostname", Offset: -1, Detail: fmt.Sprintf("%q: %s", s, msg), Err: ErrInconsistent}
	}
	return nil
}

// hostnameProblem returns "" for a valid hostname, else a constant
// description (no allocation on the decode path).
func hostnameProblem[T string | []byte](s T) string {
	if len(s) == 0 {
		return "empty hostname"
	}
	if len(s) > MaxHostnameLen {
		return "hostname longer than 253 bytes"
	}
	label := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			label++
		case c == '-':
			if label == 0 {
				return "label starts with '-'"
			}
			if i+1 == len(s) || s[i+1] == '.' {
				return "label ends with '-'"
			}
			label++
		case c == '.':
			if label == 0 {
				return "empty label"
			}
			label = 0
			continue
		default:
			return "character outside [a-z0-9.-]"
		}
		if label > 63 {
			return "label longer than 63 bytes"
		}
	}
	if label == 0 {
		return "empty label"
	}
	return ""
}
