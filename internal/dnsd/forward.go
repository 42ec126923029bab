package dnsd

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

var errMismatch = errors.New("answer does not match the query")

// forward relays req to the upstream servers in turn and returns the first
// answer, with the client's ID, or SERVFAIL. nil: the server is closing.
func (s *Server) forward(ctx context.Context, req *request) []byte {
	wait := time.NewTimer(s.cfg.UpstreamTimeout)
	defer wait.Stop()
	select {
	case s.fwdSlots <- struct{}{}:
		defer func() { <-s.fwdSlots }()
	case <-wait.C:
		// Every slot is taken by upstreams that do not answer.
		s.stats.upstreamErrors.Add(1)
		return s.pack(req, &reply{rcode: dnsmessage.RCodeServerFailure})
	case <-ctx.Done():
		return nil
	}
	// Our own random ID: the client's could be guessed by whoever spoofs
	// upstream answers, and two clients may use the same one.
	id := uint16(rand.Uint32())
	msg := slices.Clone(req.raw)
	binary.BigEndian.PutUint16(msg, id)
	for _, up := range s.cfg.Upstream {
		resp, err := s.exchange(ctx, up, msg, id, req)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			s.stats.upstreamErrors.Add(1)
			s.log.Debug("dnsd: upstream failed", "upstream", up, "name", req.q.Name.String(), "err", err)
			continue
		}
		return s.relay(req, resp)
	}
	return s.pack(req, &reply{rcode: dnsmessage.RCodeServerFailure})
}

// relay turns an upstream answer into ours: the client's ID, and TC when it
// is more than the client takes.
func (s *Server) relay(req *request, resp []byte) []byte {
	s.stats.forwarded.Add(1)
	if len(resp) > req.maxSize {
		s.stats.truncated.Add(1)
		rcode := dnsmessage.RCode(binary.BigEndian.Uint16(resp[2:]) & 0xf)
		if msg, err := s.build(req, &reply{rcode: rcode}, true); err == nil {
			return msg
		}
		return bareResponse(req.hdr.ID, dnsmessage.RCodeServerFailure)
	}
	binary.BigEndian.PutUint16(resp, req.hdr.ID)
	return resp
}

// exchange asks one upstream over UDP and, when the answer is truncated,
// again over TCP. If TCP fails the truncated answer is still an answer:
// the client can retry over TCP itself.
func (s *Server) exchange(ctx context.Context, up netip.AddrPort, msg []byte, id uint16, req *request) ([]byte, error) {
	uctx, cancel := context.WithTimeout(ctx, s.cfg.UpstreamTimeout)
	resp, err := s.exchangeUDP(uctx, up, msg, id, req)
	cancel()
	if err != nil || binary.BigEndian.Uint16(resp[2:])&(1<<9) == 0 {
		return resp, err
	}
	tctx, cancel := context.WithTimeout(ctx, s.cfg.UpstreamTimeout)
	defer cancel()
	full, err := s.exchangeTCP(tctx, up, msg, id, req)
	if err != nil {
		s.stats.upstreamErrors.Add(1)
		s.log.Debug("dnsd: upstream TCP retry failed", "upstream", up, "err", err)
		return resp, nil
	}
	return full, nil
}

func (s *Server) exchangeUDP(ctx context.Context, up netip.AddrPort, msg []byte, id uint16, req *request) ([]byte, error) {
	// DialUDP with a netip address: a string would link Go's DNS resolver
	// into the router binary (some 100 KB).
	var d net.Dialer
	c, err := d.DialUDP(ctx, "udp", netip.AddrPort{}, up)
	if err != nil {
		return nil, fmt.Errorf("udp %v: %w", up, err)
	}
	defer c.Close()
	stop := deadlineFromContext(ctx, c)
	defer stop()
	if _, err := c.Write(msg); err != nil {
		return nil, fmt.Errorf("udp %v: %w", up, err)
	}
	bp := s.upBufs.Get().(*[maxMsgSize]byte)
	defer s.upBufs.Put(bp)
	buf := bp[:]
	for {
		n, err := c.Read(buf)
		if err != nil {
			return nil, fmt.Errorf("udp %v: %w", up, err)
		}
		// A connected socket only hears the upstream's address; a wrong
		// ID or question is a late or forged answer: keep listening.
		if matches(buf[:n], id, req) {
			return slices.Clone(buf[:n]), nil
		}
	}
}

func (s *Server) exchangeTCP(ctx context.Context, up netip.AddrPort, msg []byte, id uint16, req *request) ([]byte, error) {
	var d net.Dialer
	c, err := d.DialTCP(ctx, "tcp", netip.AddrPort{}, up)
	if err != nil {
		return nil, fmt.Errorf("tcp %v: %w", up, err)
	}
	defer c.Close()
	stop := deadlineFromContext(ctx, c)
	defer stop()
	out := binary.BigEndian.AppendUint16(make([]byte, 0, 2+len(msg)), uint16(len(msg)))
	if _, err := c.Write(append(out, msg...)); err != nil {
		return nil, fmt.Errorf("tcp %v: %w", up, err)
	}
	var l [2]byte
	if _, err := io.ReadFull(c, l[:]); err != nil {
		return nil, fmt.Errorf("tcp %v: %w", up, err)
	}
	resp := make([]byte, binary.BigEndian.Uint16(l[:]))
	if _, err := io.ReadFull(c, resp); err != nil {
		return nil, fmt.Errorf("tcp %v: %w", up, err)
	}
	if !matches(resp, id, req) {
		return nil, fmt.Errorf("tcp %v: %w", up, errMismatch)
	}
	return resp, nil
}

// matches says whether resp answers our forwarded req (sent with id): same
// ID and question. Error answers may leave the question out.
func matches(resp []byte, id uint16, req *request) bool {
	var p dnsmessage.Parser
	h, err := p.Start(resp)
	if err != nil || h.ID != id || !h.Response {
		return false
	}
	q, err := p.Question()
	if err == dnsmessage.ErrSectionDone {
		return h.RCode != dnsmessage.RCodeSuccess
	}
	return err == nil && q.Type == req.q.Type && q.Class == req.q.Class &&
		asciiLower(q.Name.String()) == req.lname
}

// deadlineFromContext makes c's I/O fail when ctx ends (its deadline, or
// the server closing). Call stop when done with c: it also waits for the
// goroutine that ctx's end may have started, so none outlives Close.
func deadlineFromContext(ctx context.Context, c net.Conn) (stop func()) {
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	done := make(chan struct{})
	stopAfter := context.AfterFunc(ctx, func() {
		c.SetDeadline(time.Unix(1, 0))
		close(done)
	})
	return func() {
		if !stopAfter() {
			<-done
		}
	}
}
