package entry

import (
	"crypto/ed25519"
	"encoding/binary"
	"fmt"
	"io"
)

// Message types. Every message is an 8-byte header, magic "NE", version 1,
// the type and the payload's length (uint32, big-endian), then the payload.
const (
	MsgUpdate      byte = 1 // an entry, from its entry node or a peer server
	MsgResult      byte = 2 // a server's answer to an UPDATE: one status byte
	MsgListRequest byte = 3 // nonce[16], limit uint32 (0: all)
	MsgList        byte = 4 // a signed list: see DecodeList
)

const (
	headerSize = 8
	magic0     = 'N'
	magic1     = 'E'
	nonceSize  = 16
	// maxUpdatePayload is a full entry with MaxHops hops.
	maxUpdatePayload = maxEntrySize
	// DefaultMaxList bounds a LIST reply a client reads: 4096 entries with
	// a few hops each.
	DefaultMaxList = 4 << 20
)

// Status is the result of an UPDATE.
type Status byte

const (
	StatusOK Status = iota
	StatusMalformed
	StatusBadSignature
	StatusUntrusted
	StatusRefused // a mirror takes no update from an entry node
	StatusStale   // older than what the server has, or than the expiry
	StatusFuture  // signed too far ahead of the server's clock
	StatusRate    // too soon after the last one
	StatusFull    // the list is at its cap
	StatusLoop    // the chain already holds this server
	numStatus
)

var statusText = [numStatus]string{"ok", "malformed", "bad signature", "untrusted", "refused",
	"stale", "in the future", "rate limited", "full", "loop"}

func (s Status) String() string {
	if s < numStatus {
		return statusText[s]
	}
	return fmt.Sprintf("status %d", byte(s))
}

// WriteMsg writes one framed message.
func WriteMsg(w io.Writer, typ byte, payload []byte) error {
	b := make([]byte, headerSize, headerSize+len(payload))
	b[0], b[1], b[2], b[3] = magic0, magic1, version, typ
	binary.BigEndian.PutUint32(b[4:], uint32(len(payload)))
	if _, err := w.Write(append(b, payload...)); err != nil {
		return fmt.Errorf("entry: writing message %d: %w", typ, err)
	}
	return nil
}

// maxPayload is the largest payload each type may carry; maxList is what
// the reader accepts for MsgList.
func maxPayload(typ byte, maxList int) (int, bool) {
	switch typ {
	case MsgUpdate:
		return maxUpdatePayload, true
	case MsgResult:
		return 1, true
	case MsgListRequest:
		return nonceSize + 4, true
	case MsgList:
		return maxList, true
	}
	return 0, false
}

// ReadMsg reads one framed message, refusing unknown types and payloads
// longer than their type allows before reading them. maxList bounds LIST
// replies (<= 0: DefaultMaxList).
func ReadMsg(r io.Reader, maxList int) (byte, []byte, error) {
	if maxList <= 0 {
		maxList = DefaultMaxList
	}
	var h [headerSize]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, nil, fmt.Errorf("entry: reading a header: %w", err)
	}
	typ, n, err := parseHeader(h[:], maxList)
	if err != nil {
		return 0, nil, err
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(r, p); err != nil {
		return 0, nil, fmt.Errorf("entry: reading a %d-byte payload: %w", n, err)
	}
	return typ, p, nil
}

func parseHeader(h []byte, maxList int) (byte, int, error) {
	if h[0] != magic0 || h[1] != magic1 {
		return 0, 0, fmt.Errorf("entry: bad magic %q: %w", h[:2], ErrMalformed)
	}
	if h[2] != version {
		return 0, 0, fmt.Errorf("entry: version %d: %w", h[2], ErrMalformed)
	}
	limit, ok := maxPayload(h[3], maxList)
	if !ok {
		return 0, 0, fmt.Errorf("entry: unknown message type %d: %w", h[3], ErrMalformed)
	}
	n := binary.BigEndian.Uint32(h[4:])
	if uint64(n) > uint64(limit) {
		return 0, 0, fmt.Errorf("entry: message type %d of %d bytes, at most %d: %w", h[3], n, limit, ErrMalformed)
	}
	return h[3], int(n), nil
}

// DecodeResult decodes a RESULT payload.
func DecodeResult(p []byte) (Status, error) {
	if len(p) != 1 || Status(p[0]) >= numStatus {
		return 0, fmt.Errorf("entry: result %x: %w", p, ErrMalformed)
	}
	return Status(p[0]), nil
}

// ListRequest asks a server for its list. Nonce comes back signed in the
// reply, so an old reply cannot be played again.
type ListRequest struct {
	Nonce [nonceSize]byte
	Limit uint32 // at most this many entries, oldest first; 0: all
}

func (q *ListRequest) AppendBinary(b []byte) []byte {
	b = append(b, q.Nonce[:]...)
	return binary.BigEndian.AppendUint32(b, q.Limit)
}

// DecodeListRequest decodes a LIST request payload.
func DecodeListRequest(p []byte) (ListRequest, error) {
	var q ListRequest
	if len(p) != nonceSize+4 {
		return q, fmt.Errorf("entry: list request of %d bytes, want %d: %w", len(p), nonceSize+4, ErrMalformed)
	}
	copy(q.Nonce[:], p)
	q.Limit = binary.BigEndian.Uint32(p[nonceSize:])
	return q, nil
}

// ListReply is a server's list, signed by the server:
//
//	nonce[16] stamp(int64, unix ns) server(32) count(uint32)
//	count × (length uint16, entry) signature(64)
//
// The signature covers listDomain and everything before it.
type ListReply struct {
	Nonce   [nonceSize]byte
	Stamp   int64
	Server  PublicKey
	Entries []Entry
	Sig     [ed25519.SignatureSize]byte
}

func (l *ListReply) appendBody(b []byte) []byte {
	b = append(b, l.Nonce[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(l.Stamp))
	b = append(b, l.Server[:]...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(l.Entries)))
	for i := range l.Entries {
		b = binary.BigEndian.AppendUint16(b, uint16(l.Entries[i].Size()))
		b = l.Entries[i].AppendBinary(b)
	}
	return b
}

// Sign sets the server key and signs the reply.
func (l *ListReply) Sign(priv ed25519.PrivateKey) {
	l.Server = PublicKeyOf(priv)
	copy(l.Sig[:], ed25519.Sign(priv, l.appendBody(append([]byte(nil), listDomain...))))
}

func (l ListReply) AppendBinary(b []byte) []byte {
	return append(l.appendBody(b), l.Sig[:]...)
}

// Verify checks the server's signature over the reply, then every entry.
func (l *ListReply) Verify() error {
	if !ed25519.Verify(l.Server[:], l.appendBody(append([]byte(nil), listDomain...)), l.Sig[:]) {
		return fmt.Errorf("list from %v: %w", l.Server, ErrBadSignature)
	}
	for i := range l.Entries {
		if err := l.Entries[i].Verify(); err != nil {
			return fmt.Errorf("list from %v, entry %d: %w", l.Server, i, err)
		}
	}
	return nil
}

// DecodeList decodes a LIST reply payload; signatures are left to Verify.
func DecodeList(p []byte) (ListReply, error) {
	var l ListReply
	const fixed = nonceSize + 8 + 32 + 4
	if len(p) < fixed+ed25519.SignatureSize {
		return l, fmt.Errorf("entry: list of %d bytes: %w", len(p), ErrMalformed)
	}
	copy(l.Nonce[:], p)
	l.Stamp = int64(binary.BigEndian.Uint64(p[nonceSize:]))
	copy(l.Server[:], p[nonceSize+8:])
	n := binary.BigEndian.Uint32(p[fixed-4:])
	body := p[fixed : len(p)-ed25519.SignatureSize]
	// Each entry takes at least 2+RecordSize+1 bytes: a count beyond that
	// is refused before anything is allocated for it.
	if uint64(n)*(2+RecordSize+1) > uint64(len(body)) {
		return l, fmt.Errorf("entry: list of %d entries in %d bytes: %w", n, len(body), ErrMalformed)
	}
	l.Entries = make([]Entry, 0, n)
	for i := uint32(0); i < n; i++ {
		if len(body) < 2 {
			return l, fmt.Errorf("entry: list entry %d: truncated: %w", i, ErrMalformed)
		}
		m := int(binary.BigEndian.Uint16(body))
		if len(body) < 2+m {
			return l, fmt.Errorf("entry: list entry %d: %d bytes, %d left: %w", i, m, len(body)-2, ErrMalformed)
		}
		e, err := DecodeEntry(body[2 : 2+m])
		if err != nil {
			return l, fmt.Errorf("entry: list entry %d: %w", i, err)
		}
		l.Entries = append(l.Entries, e)
		body = body[2+m:]
	}
	if len(body) != 0 {
		return l, fmt.Errorf("entry: list: %d bytes after the entries: %w", len(body), ErrMalformed)
	}
	copy(l.Sig[:], p[len(p)-ed25519.SignatureSize:])
	if l.Stamp < 0 {
		return l, fmt.Errorf("entry: list stamp %d: %w", l.Stamp, ErrMalformed)
	}
	return l, nil
}
