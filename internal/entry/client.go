package entry

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"time"

	"github.com/ntkd/ntkd/internal/atomicfile"
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
	es, err := c.fetch(ctx, s)
	if err != nil {
		return nil, fmt.Errorf("entry: list from %v: %w", s.Addr, err)
	}
	return es, nil
}

func (c *Client) fetch(ctx context.Context, s Peer) ([]Entry, error) {
	var q ListRequest
	if _, err := rand.Read(q.Nonce[:]); err != nil {
		return nil, err
	}
	q.Limit = c.Limit
	typ, p, err := c.exchange(ctx, s, MsgListRequest, q.AppendBinary(nil))
	if err != nil {
		return nil, err
	}
	if typ != MsgList {
		return nil, malformed("answer of another type")
	}
	l, err := DecodeList(p)
	switch {
	case err != nil:
		return nil, err
	case l.Server != s.Key:
		return nil, fmt.Errorf("signed by %v: %w", l.Server, ErrBadSignature)
	case l.Nonce != q.Nonce:
		return nil, fmt.Errorf("not an answer to our request: %w", ErrStale)
	}
	if err := l.Verify(); err != nil {
		return nil, err
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

// Send sends an entry node's update to s. A refusal is a *StatusError.
func (c *Client) Send(ctx context.Context, s Peer, e Entry) error {
	typ, p, err := c.exchange(ctx, s, MsgUpdate, e.AppendBinary(nil))
	if err == nil && typ != MsgResult {
		err = malformed("answer of another type")
	}
	var st Status
	if err == nil {
		st, err = DecodeResult(p)
	}
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
		return Entry{}, errors.New("entry: update: not an Ed25519 private key")
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
	if err := atomicfile.Write(path, appendEntries(append([]byte(nil), cacheMagic...), es)); err != nil {
		return fmt.Errorf("entry: cache: %w", err)
	}
	return nil
}

// LoadCache reads a cache written by SaveCache, checking every signature.
// A missing file is an empty list.
func LoadCache(path string) ([]Entry, error) {
	es, err := loadCache(path)
	if err != nil {
		return nil, fmt.Errorf("entry: cache %s: %w", path, err)
	}
	return es, nil
}

func loadCache(path string) ([]Entry, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxCache+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxCache {
		return nil, errors.New("file too large")
	}
	return DecodeCache(b)
}

// DecodeCache decodes a cache file's bytes and checks every entry.
func DecodeCache(b []byte) ([]Entry, error) {
	if !bytes.HasPrefix(b, cacheMagic) {
		return nil, malformed("not an entry cache")
	}
	es, err := decodeEntries(b[len(cacheMagic):])
	if err != nil {
		return nil, err
	}
	for i := range es {
		if err := es[i].Verify(); err != nil {
			return nil, err
		}
	}
	return es, nil
}
