package dnsd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/ntkd/ntkd/internal/logx"
)

// ErrClosed is returned by Start on a closed server.
var ErrClosed = errors.New("dnsd: server closed")

// Server is the DNS wrapper. Create it with New, then Start and Close it.
type Server struct {
	cfg      Config
	resolver Resolver
	log      *logx.Logger
	apex     string // the suffix, dot-terminated: "ntk."
	negTTL   uint32 // NegativeTTL in seconds

	ctx   context.Context // cancelled by Close: ends every goroutine
	stop  context.CancelFunc
	wg    sync.WaitGroup
	stats counters
	cache *cache

	pending  chan struct{} // a token per UDP query waiting for the Resolver or upstream
	fwdSlots chan struct{} // a token per query being forwarded
	tcpSlots chan struct{} // a token per open TCP connection

	flightMu sync.Mutex
	flights  map[key]*flight

	// upBufs holds receive buffers for upstream answers: one may be as
	// large as the client's EDNS size, up to 64 KiB, too much to allocate
	// per forwarded query on a router.
	upBufs sync.Pool

	mu       sync.Mutex
	started  bool
	closed   bool
	addrs    []netip.AddrPort
	udp      []*net.UDPConn
	tcp      []*net.TCPListener
	tcpConns map[net.Conn]struct{}
}

// New checks cfg and returns a server that answers mesh names from r. It
// listens only once started. logger may be nil.
func New(cfg Config, r Resolver, logger *logx.Logger) (*Server, error) {
	if r == nil {
		return nil, errors.New("dnsd: nil Resolver")
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = logx.Discard()
	}
	ctx, stop := context.WithCancel(context.Background())
	return &Server{
		cfg: cfg, resolver: r, log: logger,
		apex:     cfg.Suffix + ".",
		negTTL:   uint32(cfg.NegativeTTL / time.Second),
		ctx:      ctx,
		stop:     stop,
		cache:    newCache(cfg.CacheSize),
		pending:  make(chan struct{}, cfg.MaxPending),
		fwdSlots: make(chan struct{}, cfg.MaxForward),
		tcpSlots: make(chan struct{}, cfg.MaxTCPConns),
		flights:  make(map[key]*flight),
		upBufs:   sync.Pool{New: func() any { return new([maxMsgSize]byte) }},
		tcpConns: make(map[net.Conn]struct{}),
	}, nil
}

// Start binds every Config.Listen address over UDP and TCP and starts
// serving. On error nothing stays bound.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return ErrClosed
	case s.started:
		return errors.New("dnsd: already started")
	}
	var (
		udp   []*net.UDPConn
		tcp   []*net.TCPListener
		addrs []netip.AddrPort
	)
	for _, l := range s.cfg.Listen {
		u, t, err := listenPair(l)
		if err != nil {
			for i := range udp {
				udp[i].Close()
				tcp[i].Close()
			}
			return fmt.Errorf("dnsd: listen on %v: %w", l, err)
		}
		udp, tcp = append(udp, u), append(tcp, t)
		addrs = append(addrs, u.LocalAddr().(*net.UDPAddr).AddrPort())
	}
	s.udp, s.tcp, s.addrs = udp, tcp, addrs
	s.started = true
	for i := range s.udp {
		for range s.cfg.UDPReaders {
			s.wg.Go(func() { s.serveUDP(s.udp[i]) })
		}
		s.wg.Go(func() { s.serveTCP(s.tcp[i]) })
	}
	s.log.Info("dnsd: serving", "addrs", s.addrs, "suffix", s.cfg.Suffix, "upstream", s.cfg.Upstream)
	return nil
}

// Addrs returns the bound addresses, in Config.Listen order, each serving
// UDP and TCP on the same port.
func (s *Server) Addrs() []netip.AddrPort {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]netip.AddrPort(nil), s.addrs...)
}

// Close stops serving and returns once every goroutine has ended: queries
// waiting for the Resolver or an upstream are abandoned unanswered.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.stop()
	s.closeListenersLocked()
	for c := range s.tcpConns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

func (s *Server) closeListenersLocked() {
	for _, u := range s.udp {
		u.Close()
	}
	for _, t := range s.tcp {
		t.Close()
	}
}

// Stats returns what the server has done so far.
func (s *Server) Stats() Stats {
	st := s.stats.snapshot()
	st.CacheEntries = s.cache.len()
	s.mu.Lock()
	st.TCPConns = len(s.tcpConns)
	s.mu.Unlock()
	return st
}

// handle answers one request completely, as the TCP path does: the
// response to send, or nil for none (the drop is counted).
func (s *Server) handle(ctx context.Context, raw []byte, tcp bool) []byte {
	req, resp, drop := s.parseRequest(raw, tcp)
	if drop != dropNone {
		s.stats.drop(drop)
		return nil
	}
	if resp == nil {
		resp, _ = s.answer(ctx, &req, true)
		if resp == nil {
			s.stats.drop(dropClosed)
		}
	}
	return resp
}
