package dnsd

import (
	"encoding/binary"
	"net/netip"

	"golang.org/x/net/dns/dnsmessage"
)

// reply is a response of ours before packing.
type reply struct {
	rcode      dnsmessage.RCode // BADVERS and other extended codes go in the OPT
	aa         bool             // authoritative: names under the suffix and reverse zones
	ttl        uint32           // of every record, and the SOA minimum
	addrs      []netip.Addr     // A and AAAA records
	ptrs       []string         // PTR targets, dot-terminated
	soa        string           // zone apex: an SOA record in the authority section
	soaAnswer  bool             // the SOA goes in the answer section instead
	noQuestion bool             // the question could not be read
}

// pack builds the response to req and counts its outcome. An answer larger
// than the client takes is sent empty with TC set, so that it asks again
// over TCP.
func (s *Server) pack(req *request, r *reply) []byte {
	s.countReply(r)
	msg, err := s.build(req, r, false)
	if err == nil && len(msg) > req.maxSize {
		s.stats.truncated.Add(1)
		msg, err = s.build(req, r, true)
	}
	if err != nil {
		// Only a bug gets here: fall back to a bare SERVFAIL.
		s.log.Error("dnsd: cannot build response", "name", req.q.Name.String(), "err", err)
		return bareResponse(req.hdr.ID, dnsmessage.RCodeServerFailure)
	}
	return msg
}

func (s *Server) countReply(r *reply) {
	s.stats.local.Add(1)
	switch r.rcode {
	case dnsmessage.RCodeSuccess:
		if len(r.addrs) == 0 && len(r.ptrs) == 0 && !r.soaAnswer {
			s.stats.nodata.Add(1)
		}
	case dnsmessage.RCodeNameError:
		s.stats.nxdomain.Add(1)
	case dnsmessage.RCodeRefused:
		s.stats.refused.Add(1)
	case dnsmessage.RCodeServerFailure:
		s.stats.servfail.Add(1)
	case dnsmessage.RCodeFormatError:
		s.stats.formerr.Add(1)
	case dnsmessage.RCodeNotImplemented:
		s.stats.notimp.Add(1)
	case rcodeBadVers:
		s.stats.badvers.Add(1)
	}
}

// header is the response header for req.
func (s *Server) header(req *request, rcode dnsmessage.RCode, aa, tc bool) dnsmessage.Header {
	return dnsmessage.Header{
		ID:                 req.hdr.ID,
		Response:           true,
		OpCode:             req.hdr.OpCode,
		Authoritative:      aa,
		Truncated:          tc,
		RecursionDesired:   req.hdr.RecursionDesired,
		RecursionAvailable: len(s.cfg.Upstream) > 0,
		CheckingDisabled:   req.hdr.CheckingDisabled,
		RCode:              rcode & 0xf,
	}
}

// build packs r; truncated leaves the answer and authority sections out.
func (s *Server) build(req *request, r *reply, truncated bool) ([]byte, error) {
	b := dnsmessage.NewBuilder(make([]byte, 0, 512), s.header(req, r.rcode, r.aa, truncated))
	b.EnableCompression()
	if !r.noQuestion {
		if err := b.StartQuestions(); err != nil {
			return nil, err
		}
		if err := b.Question(req.q); err != nil {
			return nil, err
		}
	}
	if !truncated {
		if err := s.buildRecords(&b, req, r); err != nil {
			return nil, err
		}
	}
	if req.edns {
		if err := b.StartAdditionals(); err != nil {
			return nil, err
		}
		var rh dnsmessage.ResourceHeader
		if err := rh.SetEDNS0(s.cfg.UDPSize, r.rcode, false); err != nil {
			return nil, err
		}
		if err := b.OPTResource(rh, dnsmessage.OPTResource{}); err != nil {
			return nil, err
		}
	}
	return b.Finish()
}

func (s *Server) buildRecords(b *dnsmessage.Builder, req *request, r *reply) error {
	if err := b.StartAnswers(); err != nil {
		return err
	}
	rh := dnsmessage.ResourceHeader{Name: req.q.Name, Class: dnsmessage.ClassINET, TTL: r.ttl}
	for _, a := range r.addrs {
		var err error
		if a.Is4() {
			rh.Type = dnsmessage.TypeA
			err = b.AResource(rh, dnsmessage.AResource{A: a.As4()})
		} else {
			rh.Type = dnsmessage.TypeAAAA
			err = b.AAAAResource(rh, dnsmessage.AAAAResource{AAAA: a.As16()})
		}
		if err != nil {
			return err
		}
	}
	rh.Type = dnsmessage.TypePTR
	for _, p := range r.ptrs {
		n, err := dnsmessage.NewName(p)
		if err != nil {
			return err
		}
		if err := b.PTRResource(rh, dnsmessage.PTRResource{PTR: n}); err != nil {
			return err
		}
	}
	if r.soa == "" {
		return nil
	}
	if !r.soaAnswer {
		if err := b.StartAuthorities(); err != nil {
			return err
		}
	}
	apex, err := dnsmessage.NewName(r.soa)
	if err != nil {
		return err
	}
	mbox, err := dnsmessage.NewName("hostmaster." + r.soa)
	if err != nil {
		return err
	}
	rh = dnsmessage.ResourceHeader{Name: apex, Type: dnsmessage.TypeSOA, Class: dnsmessage.ClassINET, TTL: r.ttl}
	return b.SOAResource(rh, dnsmessage.SOAResource{
		NS: apex, MBox: mbox, Serial: 1,
		Refresh: 3600, Retry: 600, Expire: 86400, // nobody transfers this zone
		MinTTL: r.ttl, // RFC 2308: negative answers are cached min(TTL, MINIMUM)
	})
}

// bareResponse is a response with only a header.
func bareResponse(id uint16, rcode dnsmessage.RCode) []byte {
	b := make([]byte, 12)
	binary.BigEndian.PutUint16(b[0:], id)
	binary.BigEndian.PutUint16(b[2:], 1<<15|uint16(rcode&0xf))
	return b
}
