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
	case MsgVHook:
		return VHookSize, true
	case MsgVHookAck:
		return VHookAckSize, true
	case MsgSwapOffer:
		return swapOfferMaxSize, true
	case MsgSwapLink:
		return swapLinkMaxSize, true
	case MsgSwapDone:
		return swapDoneMaxSize, true
	case MsgVHookChain:
		return vhookChainMaxSize, true
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
	if h[0] != magic0 || h[1] != magic1 || h[2] != version {
		return 0, 0, malformed("message magic or version")
	}
	limit, ok := maxPayload(h[3], maxList)
	if !ok {
		return 0, 0, malformed("message type")
	}
	n := binary.BigEndian.Uint32(h[4:])
	if uint64(n) > uint64(limit) {
		return 0, 0, malformed("message too long for its type")
	}
	return h[3], int(n), nil
}

// DecodeResult decodes a RESULT payload.
func DecodeResult(p []byte) (Status, error) {
	if len(p) != 1 || Status(p[0]) >= numStatus {
		return 0, malformed("result")
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
		return q, malformed("list request length")
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
	return appendEntries(b, l.Entries)
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
		return l, malformed("list truncated")
	}
	copy(l.Nonce[:], p)
	l.Stamp = int64(binary.BigEndian.Uint64(p[nonceSize:]))
	copy(l.Server[:], p[nonceSize+8:])
	if l.Stamp < 0 {
		return l, malformed("list stamp")
	}
	var err error
	l.Entries, err = decodeEntries(p[fixed-4 : len(p)-ed25519.SignatureSize])
	copy(l.Sig[:], p[len(p)-ed25519.SignatureSize:])
	return l, err
}

// decodeEntries decodes a count (uint32) and as many length-prefixed
// entries filling b exactly: the body of LIST replies and of the cache.
func decodeEntries(b []byte) ([]Entry, error) {
	if len(b) < 4 {
		return nil, malformed("entry count truncated")
	}
	n := binary.BigEndian.Uint32(b)
	b = b[4:]
	// Each entry takes at least 2+RecordSize+1 bytes: a count beyond that
	// is refused before anything is allocated for it.
	if uint64(n)*(2+RecordSize+1) > uint64(len(b)) {
		return nil, malformed("entry count larger than the data")
	}
	es := make([]Entry, 0, n)
	for range n {
		if len(b) < 2 || len(b) < 2+int(binary.BigEndian.Uint16(b)) {
			return nil, malformed("entry truncated")
		}
		m := int(binary.BigEndian.Uint16(b))
		e, err := DecodeEntry(b[2 : 2+m])
		if err != nil {
			return nil, err
		}
		es = append(es, e)
		b = b[2+m:]
	}
	if len(b) != 0 {
		return nil, malformed("bytes after the entries")
	}
	return es, nil
}

// appendEntries is the inverse of decodeEntries.
func appendEntries(b []byte, es []Entry) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(es)))
	for i := range es {
		b = binary.BigEndian.AppendUint16(b, uint16(es[i].Size()))
		b = es[i].AppendBinary(b)
	}
	return b
}
