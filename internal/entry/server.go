package entry

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ntkd/ntkd/internal/logx"
)

// Defaults of ServerConfig.
const (
	DefaultSourceRate = 60 // messages per minute from one address
	DefaultMaxConns   = 64
	ioTimeout         = 10 * time.Second
	msgsPerConn       = 64  // then the connection is closed: one slow peer holds one slot briefly
	forwardQueue      = 512 // updates waiting per peer; beyond, they are dropped and counted
	maxSources        = 4096
)

// ServerConfig configures an entry server.
type ServerConfig struct {
	Key        ed25519.PrivateKey
	Peers      []Peer // trusted servers: accepted from, and forwarded to when they have an address
	Mirror     bool
	List       ListConfig // Self, Trusted and Mirror are set from the fields above
	SourceRate int        // messages per minute per source address, trusted peers aside
	MaxConns   int        // connections served at once
	Logger     *logx.Logger
}

// ServerStats counts what a server did besides Apply.
type ServerStats struct {
	Malformed    uint64 // messages that did not decode
	SourceLimit  uint64 // messages refused by the per-address rate
	Lists        uint64 // lists served
	Forwarded    uint64 // updates delivered to peers
	ForwardDrops uint64 // updates dropped: a peer's queue was full
	ForwardErrs  uint64 // deliveries that failed or were refused
}

// Server is an entry server: it keeps a List, answers LIST requests and
// passes accepted updates on to its peers.
type Server struct {
	cfg     ServerConfig
	log     *logx.Logger
	sem     chan struct{}
	queues  []chan []byte // per peer; nil for peers we do not send to
	client  Client
	mu      sync.Mutex
	list    *List
	limiter *Limiter
	stats   struct {
		malformed, sourceLimit, lists, forwarded, drops, fwdErrs atomic.Uint64
	}
}

// NewServer checks cfg and returns a server ready to Serve.
func NewServer(cfg ServerConfig) (*Server, error) {
	if len(cfg.Key) != ed25519.PrivateKeySize {
		return nil, errors.New("entry: server needs an Ed25519 key")
	}
	if cfg.SourceRate <= 0 {
		cfg.SourceRate = DefaultSourceRate
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = DefaultMaxConns
	}
	if cfg.Logger == nil {
		cfg.Logger = logx.Discard()
	}
	lc := cfg.List
	lc.Self = PublicKeyOf(cfg.Key)
	lc.Mirror = cfg.Mirror
	lc.Trusted = make(map[PublicKey]bool, len(cfg.Peers))
	for _, p := range cfg.Peers {
		if p.Key == lc.Self {
			return nil, fmt.Errorf("entry: peer %v is this server's own key", p.Key)
		}
		lc.Trusted[p.Key] = true
	}
	s := &Server{cfg: cfg, log: cfg.Logger, sem: make(chan struct{}, cfg.MaxConns),
		list: NewList(lc), limiter: NewLimiter(cfg.SourceRate, time.Minute, maxSources),
		queues: make([]chan []byte, len(cfg.Peers))}
	for i, p := range cfg.Peers {
		if p.Addr.IsValid() && (!cfg.Mirror || p.Mirror) {
			s.queues[i] = make(chan []byte, forwardQueue)
		}
	}
	return s, nil
}

// PublicKey is the server's key, which its peers and clients configure.
func (s *Server) PublicKey() PublicKey { return PublicKeyOf(s.cfg.Key) }

// Snapshot returns the current list, oldest entry node first.
func (s *Server) Snapshot() []Entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.list.Expire(time.Now())
	return s.list.Snapshot()
}

// Stats returns the list's counters and the server's.
func (s *Server) Stats() (Counters, ServerStats) {
	s.mu.Lock()
	c := s.list.Counters()
	s.mu.Unlock()
	return c, ServerStats{Malformed: s.stats.malformed.Load(), SourceLimit: s.stats.sourceLimit.Load(),
		Lists: s.stats.lists.Load(), Forwarded: s.stats.forwarded.Load(),
		ForwardDrops: s.stats.drops.Load(), ForwardErrs: s.stats.fwdErrs.Load()}
}

// Serve answers on ln until ctx is done, then closes ln, waits for the
// connections and forwarders and returns nil.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for i, q := range s.queues {
		if q != nil {
			wg.Go(func() { s.forwarder(ctx, s.cfg.Peers[i], q) })
		}
	}
	wg.Go(func() {
		t := time.NewTicker(time.Minute)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-t.C:
				s.mu.Lock()
				n := s.list.Expire(now)
				left := s.list.Len()
				s.mu.Unlock()
				if n > 0 {
					s.log.Info("entry nodes expired", "dropped", n, "left", left)
				}
			}
		}
	})
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	var err error
	for {
		var conn net.Conn
		conn, err = ln.Accept()
		if err != nil {
			break
		}
		select {
		case s.sem <- struct{}{}:
		default:
			conn.Close() // at capacity: the client tries another server
			continue
		}
		wg.Go(func() {
			defer func() { <-s.sem }()
			s.serveConn(ctx, conn)
		})
	}
	cancel()
	wg.Wait()
	if ctx.Err() != nil {
		return nil
	}
	return fmt.Errorf("entry: accept: %w", err)
}

func (s *Server) serveConn(ctx context.Context, conn net.Conn) {
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	src := netip.Addr{}
	if ap, err := netip.ParseAddrPort(conn.RemoteAddr().String()); err == nil {
		src = ap.Addr().Unmap()
	}
	for range msgsPerConn {
		conn.SetDeadline(time.Now().Add(ioTimeout))
		typ, p, err := ReadMsg(conn, 1) // no LIST reply comes this way
		if err != nil {
			if errors.Is(err, ErrMalformed) {
				s.stats.malformed.Add(1)
				s.log.Debug("malformed message", "from", src, "err", err)
			}
			return
		}
		var ok bool
		switch typ {
		case MsgUpdate:
			ok = s.update(conn, src, p)
		case MsgListRequest:
			ok = s.listReply(conn, src, p)
		default:
			s.stats.malformed.Add(1)
			return
		}
		if !ok {
			return
		}
	}
}

// update handles one UPDATE and answers its status; false closes the
// connection.
func (s *Server) update(conn net.Conn, src netip.Addr, p []byte) bool {
	e, err := DecodeEntry(p)
	if err != nil {
		s.stats.malformed.Add(1)
		s.log.Debug("malformed update", "from", src, "err", err)
		WriteMsg(conn, MsgResult, []byte{byte(StatusMalformed)})
		return false
	}
	now := time.Now()
	// Trusted peers pass on every node's updates: the per-address rate is
	// for entry nodes and strangers.
	if last, fwd := e.LastSigner(); !fwd || !s.list.cfg.Trusted[last] {
		if !s.limiter.Allow(src, now) {
			s.stats.sourceLimit.Add(1)
			WriteMsg(conn, MsgResult, []byte{byte(StatusRate)})
			return false
		}
	}
	s.mu.Lock()
	err = s.list.Apply(e, now)
	s.mu.Unlock()
	st := StatusOf(err)
	if err != nil {
		s.log.Debug("update refused", "from", src, "node", e.Node, "err", err)
	} else {
		s.log.Debug("update accepted", "from", src, "node", e.Node, "endpoint", e.Endpoint, "hops", len(e.Hops))
		s.forward(e)
	}
	return WriteMsg(conn, MsgResult, []byte{byte(st)}) == nil
}

// forward signs e as one more hop and queues it for its targets.
func (s *Server) forward(e Entry) {
	targets := Targets(s.cfg.Peers, &e, s.cfg.Mirror)
	if len(targets) == 0 || len(e.Hops) >= s.list.cfg.MaxHops {
		return
	}
	f := e.Forwarded(s.cfg.Key)
	b := f.AppendBinary(nil)
	for _, i := range targets {
		select {
		case s.queues[i] <- b:
		default:
			s.stats.drops.Add(1)
		}
	}
}

// forwarder delivers queued updates to one peer, all that are waiting
// over one connection.
func (s *Server) forwarder(ctx context.Context, p Peer, q <-chan []byte) {
	for {
		var batch [][]byte
		select {
		case <-ctx.Done():
			return
		case b := <-q:
			batch = append(batch, b)
		}
	drain:
		for len(batch) < msgsPerConn {
			select {
			case b := <-q:
				batch = append(batch, b)
			default:
				break drain
			}
		}
		if err := s.deliver(ctx, p, batch); err != nil {
			s.stats.fwdErrs.Add(1)
			s.log.Warn("forwarding to a peer", "peer", p.Addr, "updates", len(batch), "err", err)
		}
	}
}

func (s *Server) deliver(ctx context.Context, p Peer, batch [][]byte) error {
	ctx, cancel := context.WithTimeout(ctx, ioTimeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialTCP(ctx, "tcp", netip.AddrPort{}, p.Addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	for _, b := range batch {
		if err := WriteMsg(conn, MsgUpdate, b); err != nil {
			return err
		}
		typ, r, err := ReadMsg(conn, 1)
		if err != nil {
			return err
		}
		if typ != MsgResult {
			return fmt.Errorf("answered with message type %d: %w", typ, ErrMalformed)
		}
		st, err := DecodeResult(r)
		if err != nil {
			return err
		}
		// Stale is the normal answer of a peer that had it from another
		// path; other refusals are worth a line.
		switch st {
		case StatusOK:
			s.stats.forwarded.Add(1)
		case StatusStale, StatusLoop:
		default:
			s.stats.fwdErrs.Add(1)
			s.log.Warn("peer refused an update", "peer", p.Addr, "status", st)
		}
	}
	return nil
}

// listReply answers a LIST request with the list, signed.
func (s *Server) listReply(conn net.Conn, src netip.Addr, p []byte) bool {
	q, err := DecodeListRequest(p)
	if err != nil {
		s.stats.malformed.Add(1)
		return false
	}
	now := time.Now()
	if !s.limiter.Allow(src, now) {
		s.stats.sourceLimit.Add(1)
		return false
	}
	s.mu.Lock()
	s.list.Expire(now)
	es := s.list.Snapshot()
	s.mu.Unlock()
	if q.Limit > 0 && uint64(len(es)) > uint64(q.Limit) {
		es = es[:q.Limit]
	}
	l := ListReply{Nonce: q.Nonce, Stamp: now.UnixNano(), Entries: es}
	l.Sign(s.cfg.Key)
	s.stats.lists.Add(1)
	return WriteMsg(conn, MsgList, l.AppendBinary(nil)) == nil
}

// Limiter counts messages per source address in fixed windows. It keeps
// at most maxSources addresses per window; beyond, new ones wait for the
// next window.
type Limiter struct {
	rate       int
	window     time.Duration
	maxSources int
	start      time.Time
	mu         sync.Mutex
	counts     map[netip.Addr]int
}

// NewLimiter allows rate messages per window from each address.
func NewLimiter(rate int, window time.Duration, maxSources int) *Limiter {
	return &Limiter{rate: rate, window: window, maxSources: maxSources, counts: make(map[netip.Addr]int)}
}

// Allow counts one message from src at now and says whether it is within
// the rate.
func (l *Limiter) Allow(src netip.Addr, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.start) >= l.window || now.Before(l.start) {
		l.start = now
		clear(l.counts)
	}
	n, ok := l.counts[src]
	if !ok && len(l.counts) >= l.maxSources {
		return false
	}
	if n >= l.rate {
		return false
	}
	l.counts[src] = n + 1
	return true
}
