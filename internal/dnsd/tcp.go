package dnsd

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"time"
)

// serveTCP accepts connections from l until it is closed, at most
// MaxTCPConns open at a time.
func (s *Server) serveTCP(l *net.TCPListener) {
	for {
		c, err := l.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: do not spin.
			s.log.Warn("dnsd: tcp accept", "err", err)
			select {
			case <-s.ctx.Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		select {
		case s.tcpSlots <- struct{}{}:
		default:
			s.stats.drop(dropTCPLimit)
			c.Close()
			continue
		}
		if !s.track(c) {
			<-s.tcpSlots
			c.Close()
			return
		}
		s.wg.Go(func() {
			defer func() { <-s.tcpSlots }()
			defer s.untrack(c)
			s.serveConn(c)
		})
	}
}

// track registers c so that Close can close it; false when already closed.
func (s *Server) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.tcpConns[c] = struct{}{}
	return true
}

func (s *Server) untrack(c net.Conn) {
	s.mu.Lock()
	delete(s.tcpConns, c)
	s.mu.Unlock()
	c.Close()
}

// serveConn answers the queries of one connection in order (RFC 7766
// allows it), each framed by a 2-byte length. The client has TCPTimeout
// to send each query, idle time included, and to take each answer.
func (s *Server) serveConn(c net.Conn) {
	buf := make([]byte, MaxQuerySize)
	for {
		c.SetReadDeadline(time.Now().Add(s.cfg.TCPTimeout))
		if k, err := io.ReadFull(c, buf[:2]); err != nil {
			// Nothing read yet: the client is done, idle or gone, and
			// no query is lost.
			if k > 0 {
				s.tcpDrop(err)
			}
			return
		}
		n := int(binary.BigEndian.Uint16(buf))
		if n > MaxQuerySize {
			// The stream cannot be resynchronised cheaply: close it.
			s.stats.queries.Add(1)
			s.stats.drop(dropTooBig)
			return
		}
		if _, err := io.ReadFull(c, buf[:n]); err != nil {
			s.tcpDrop(err)
			return
		}
		s.stats.queries.Add(1)
		resp := s.handle(s.ctx, buf[:n], true)
		if resp == nil {
			continue
		}
		out := binary.BigEndian.AppendUint16(make([]byte, 0, 2+len(resp)), uint16(len(resp)))
		c.SetWriteDeadline(time.Now().Add(s.cfg.TCPTimeout))
		if _, err := c.Write(append(out, resp...)); err != nil {
			s.tcpDrop(err)
			return
		}
		s.stats.answered.Add(1)
	}
}

// tcpDrop counts a connection lost in the middle of a message, unless the
// server closed it.
func (s *Server) tcpDrop(err error) {
	switch {
	case s.ctx.Err() != nil:
		s.stats.drop(dropClosed)
	case errors.Is(err, os.ErrDeadlineExceeded):
		s.stats.drop(dropTCPTimeout)
	default:
		s.stats.drop(dropTCPBroken)
	}
}
