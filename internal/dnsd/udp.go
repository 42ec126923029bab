package dnsd

import (
	"errors"
	"net"
	"net/netip"
	"slices"
)

// serveUDP reads queries from c until it is closed. Queries answered
// without waiting (cache hits, errors) are answered here; the others go to
// a goroutine each, at most MaxPending at a time, so that a slow Resolver
// or upstream never holds up the cached answers.
func (s *Server) serveUDP(c *net.UDPConn) {
	buf := make([]byte, MaxQuerySize+1) // one more byte shows a longer one
	for {
		n, from, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// ICMP errors of earlier sends and the like: keep serving.
			s.log.Debug("dnsd: udp read", "err", err)
			continue
		}
		s.stats.queries.Add(1)
		if n > MaxQuerySize {
			s.stats.drop(dropTooBig)
			continue
		}
		req, resp, drop := s.parseRequest(buf[:n], false)
		if drop != dropNone {
			s.stats.drop(drop)
			continue
		}
		if resp == nil {
			var ok bool
			if resp, ok = s.answer(s.ctx, &req, false); !ok {
				s.goAnswerUDP(c, from, &req)
				continue
			}
		}
		s.sendUDP(c, from, resp)
	}
}

// goAnswerUDP answers req in its own goroutine if a pending slot is free.
func (s *Server) goAnswerUDP(c *net.UDPConn, from netip.AddrPort, req *request) {
	select {
	case s.pending <- struct{}{}:
	default:
		s.stats.drop(dropBusy)
		return
	}
	r := *req
	r.raw = slices.Clone(req.raw) // buf is reused by the next read
	s.wg.Go(func() {
		defer func() { <-s.pending }()
		resp, _ := s.answer(s.ctx, &r, true)
		s.sendUDP(c, from, resp)
	})
}

// sendUDP sends resp; nil means the server closed while it was computed.
func (s *Server) sendUDP(c *net.UDPConn, to netip.AddrPort, resp []byte) {
	if resp == nil {
		s.stats.drop(dropClosed)
		return
	}
	if _, err := c.WriteToUDPAddrPort(resp, to); err != nil {
		s.stats.drop(dropWriteFailed)
		return
	}
	s.stats.answered.Add(1)
}
