package entry

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"time"
)

// Peer is an entry server as another server or a client knows it: its
// address (literal IP:port, no DNS) and its Ed25519 key.
type Peer struct {
	Addr   netip.AddrPort // invalid for a peer we only receive from
	Key    PublicKey
	Mirror bool // a read-only server: a mirror passes updates on only to mirrors
}

// DefaultTimeout bounds one exchange with a server.
const DefaultTimeout = 10 * time.Second

// Client fetches the list from entry servers and sends an entry node's
// updates.
type Client struct {
	Servers []Peer
	Timeout time.Duration // per server; 0: DefaultTimeout
	Limit   uint32        // entries asked of each server; 0: all
	MaxList int           // bytes of a reply read at most; 0: DefaultMaxList
}

// exchange dials s, sends one message and reads the answer.
func (c *Client) exchange(ctx context.Context, s Peer, typ byte, payload []byte) (byte, []byte, error) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	// DialTCP with a netip.AddrPort: a string address would link Go's DNS
	// resolver into the router binary.
	var d net.Dialer
	conn, err := d.DialTCP(ctx, "tcp", netip.AddrPort{}, s.Addr)
	if err != nil {
		return 0, nil, err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	if err := WriteMsg(conn, typ, payload); err != nil {
		return 0, nil, err
	}
	return ReadMsg(conn, c.MaxList)
}

// Fetch asks s for its list and returns the entries once the reply's
// signature is s's, the nonce ours, and every entry's signatures check.
func (c *Client) Fetch(ctx context.Context, s Peer) ([]Entry, error) {
	var q ListRequest
	if _, err := rand.Read(q.Nonce[:]); err != nil {
		return nil, fmt.Errorf("entry: list from %v: %w", s.Addr, err)
	}
	q.Limit = c.Limit
	typ, p, err := c.exchange(ctx, s, MsgListRequest, q.AppendBinary(nil))
	if err != nil {
		return nil, fmt.Errorf("entry: list from %v: %w", s.Addr, err)
	}
	if typ != MsgList {
		return nil, fmt.Errorf("entry: list from %v: answered with message type %d: %w", s.Addr, typ, ErrMalformed)
	}
	l, err := DecodeList(p)
	if err != nil {
		return nil, fmt.Errorf("entry: list from %v: %w", s.Addr, err)
	}
	switch {
	case l.Server != s.Key:
		return nil, fmt.Errorf("entry: list from %v: signed by %v, want %v: %w", s.Addr, l.Server, s.Key, ErrBadSignature)
	case l.Nonce != q.Nonce:
		return nil, fmt.Errorf("entry: list from %v: not an answer to our request: %w", s.Addr, ErrStale)
	}
	if err := l.Verify(); err != nil {
		return nil, fmt.Errorf("entry: list from %v: %w", s.Addr, err)
	}
	return l.Entries, nil
}

// FetchAll fetches from every server one after the other and merges what
// came. It fails only when no server answered; the error then joins every
// server's.
func (c *Client) FetchAll(ctx context.Context) ([]Entry, error) {
	var lists [][]Entry
	var errs []error
	for _, s := range c.Servers {
		es, err := c.Fetch(ctx, s)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		lists = append(lists, es)
	}
	if len(lists) == 0 {
		if len(errs) == 0 {
			return nil, errors.New("entry: no entry server configured")
		}
		return nil, errors.Join(errs...)
	}
	return Merge(lists...), nil
}

// Send sends an entry node's update to s and returns the server's status
// as an error (nil for StatusOK).
func (c *Client) Send(ctx context.Context, s Peer, e Entry) error {
	typ, p, err := c.exchange(ctx, s, MsgUpdate, e.AppendBinary(nil))
	if err != nil {
		return fmt.Errorf("entry: update to %v: %w", s.Addr, err)
	}
	if typ != MsgResult {
		return fmt.Errorf("entry: update to %v: answered with message type %d: %w", s.Addr, typ, ErrMalformed)
	}
	st, err := DecodeResult(p)
	if err != nil {
		return fmt.Errorf("entry: update to %v: %w", s.Addr, err)
	}
	if st != StatusOK {
		return &StatusError{Status: st}
	}
	return nil
}

// StatusError is a server's refusal of an update.
type StatusError struct{ Status Status }

func (e *StatusError) Error() string { return "entry: update refused: " + e.Status.String() }

// Merge keeps, per entry node, the entry with the newest stamp, and orders
// the result by uptime. The inputs are not changed.
func Merge(lists ...[]Entry) []Entry {
	byKey := make(map[PublicKey]int)
	var out []Entry
	for _, es := range lists {
		for _, e := range es {
			if i, ok := byKey[e.Node]; ok {
				if e.Stamp > out[i].Stamp {
					out[i] = e
				}
				continue
			}
			byKey[e.Node] = len(out)
			out = append(out, e)
		}
	}
	SortByUptime(out)
	return out
}

// NewUpdate makes and signs an entry node's record, stamped now.
func NewUpdate(priv ed25519.PrivateKey, tunnelKey [32]byte, endpoint netip.AddrPort, pos Position, since, now time.Time) (Entry, error) {
	r := Record{TunnelKey: tunnelKey, Endpoint: endpoint, HasCoords: pos.HasCoords,
		Since: since.Unix(), Stamp: now.UnixNano()}
	if pos.HasCoords {
		r.Lat, r.Lon = pos.Lat, pos.Lon
	}
	if len(priv) != ed25519.PrivateKeySize {
		return Entry{}, fmt.Errorf("entry: private key of %d bytes, want %d", len(priv), ed25519.PrivateKeySize)
	}
	r.Sign(priv)
	if err := r.check(); err != nil {
		return Entry{}, fmt.Errorf("entry: update: %w", err)
	}
	return Entry{Record: r}, nil
}

// The cache file: magic, count (uint32), then count × (length uint16,
// entry), as in a LIST reply without the server's signature: every entry
// carries its own, checked again at load.
var cacheMagic = []byte("NTKDENC1")

// maxCache bounds what LoadCache reads.
const maxCache = 16 << 20

// SaveCache writes es to path atomically: a power cut leaves the old file
// or the new one, never half of one.
func SaveCache(path string, es []Entry) error {
	b := append([]byte(nil), cacheMagic...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(es)))
	for i := range es {
		b = binary.BigEndian.AppendUint16(b, uint16(es[i].Size()))
		b = es[i].AppendBinary(b)
	}
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".new*")
	if err != nil {
		return fmt.Errorf("entry: cache: %w", err)
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("entry: cache: %w", err)
	}
	return nil
}

// LoadCache reads a cache written by SaveCache, checking every signature.
// A missing file is an empty list.
func LoadCache(path string) ([]Entry, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("entry: cache: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxCache+1))
	if err != nil {
		return nil, fmt.Errorf("entry: cache: %w", err)
	}
	if len(b) > maxCache {
		return nil, fmt.Errorf("entry: cache %s: larger than %d bytes", path, maxCache)
	}
	es, err := DecodeCache(b)
	if err != nil {
		return nil, fmt.Errorf("entry: cache %s: %w", path, err)
	}
	return es, nil
}

// DecodeCache decodes a cache file's bytes and checks every entry.
func DecodeCache(b []byte) ([]Entry, error) {
	if !bytes.HasPrefix(b, cacheMagic) || len(b) < len(cacheMagic)+4 {
		return nil, fmt.Errorf("not an entry cache: %w", ErrMalformed)
	}
	b = b[len(cacheMagic):]
	n := binary.BigEndian.Uint32(b)
	b = b[4:]
	if uint64(n)*(2+RecordSize+1) > uint64(len(b)) {
		return nil, fmt.Errorf("%d entries in %d bytes: %w", n, len(b), ErrMalformed)
	}
	es := make([]Entry, 0, n)
	for i := uint32(0); i < n; i++ {
		if len(b) < 2 || len(b) < 2+int(binary.BigEndian.Uint16(b)) {
			return nil, fmt.Errorf("entry %d: truncated: %w", i, ErrMalformed)
		}
		m := int(binary.BigEndian.Uint16(b))
		e, err := DecodeEntry(b[2 : 2+m])
		if err != nil {
			return nil, fmt.Errorf("entry %d: %w", i, err)
		}
		if err := e.Verify(); err != nil {
			return nil, fmt.Errorf("entry %d: %w", i, err)
		}
		es = append(es, e)
		b = b[2+m:]
	}
	if len(b) != 0 {
		return nil, fmt.Errorf("%d bytes after the entries: %w", len(b), ErrMalformed)
	}
	return es, nil
}
