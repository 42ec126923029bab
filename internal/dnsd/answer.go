package dnsd

import (
	"context"

	"golang.org/x/net/dns/dnsmessage"
)

// typeIXFR is missing from dnsmessage (RFC 1995).
const typeIXFR dnsmessage.Type = 251

// answer returns the response to a well-formed query. With block false it
// answers only what needs neither the Resolver nor an upstream (cache hits,
// errors, the zone apexes) and reports ok false for the rest, which the
// caller then hands to a goroutine that calls answer again with block true.
// A nil response with ok true means: send nothing.
func (s *Server) answer(ctx context.Context, req *request, block bool) (resp []byte, ok bool) {
	t := s.classify(req.lname)
	if t.kind == kindOutside {
		if len(s.cfg.Upstream) == 0 {
			return s.pack(req, &reply{rcode: dnsmessage.RCodeRefused}), true
		}
		if !block {
			return nil, false
		}
		return s.forward(ctx, req), true
	}
	switch req.q.Type {
	case dnsmessage.TypeAXFR, typeIXFR:
		// There is no zone to transfer: ANDNA is not enumerable.
		return s.pack(req, &reply{rcode: dnsmessage.RCodeRefused}), true
	}
	if req.q.Class != dnsmessage.ClassINET {
		return s.pack(req, &reply{rcode: dnsmessage.RCodeRefused}), true
	}
	r := reply{aa: true, soa: t.apex, ttl: s.negTTL}
	switch t.kind {
	case kindMeshApex, kindRevInner:
		// The apex and the names between it and whole addresses exist but
		// hold nothing except the apex's SOA.
		if req.q.Type == dnsmessage.TypeSOA && req.lname == t.apex {
			r.soaAnswer = true
		}
	case kindMeshBad, kindRevBad:
		r.rcode = dnsmessage.RCodeNameError
	case kindMesh:
		return s.answerMesh(ctx, req, t, block)
	case kindRevAddr:
		if req.q.Type == dnsmessage.TypePTR || req.q.Type == dnsmessage.TypeALL {
			return s.answerPTR(ctx, req, t, block)
		}
	}
	return s.pack(req, &r), true
}

// answerMesh answers a name under the suffix from the A and AAAA entries
// that one Resolve call fills.
func (s *Server) answerMesh(ctx context.Context, req *request, t target, block bool) ([]byte, bool) {
	types := []dnsmessage.Type{dnsmessage.TypeA}
	switch req.q.Type {
	case dnsmessage.TypeAAAA:
		types[0] = dnsmessage.TypeAAAA
	case dnsmessage.TypeALL:
		types = append(types, dnsmessage.TypeAAAA)
	}
	r := reply{aa: true}
	for i, typ := range types {
		e, st := s.lookup(ctx, key{t.name, typ}, block, func(ctx context.Context) ([]cacheItem, error) {
			return s.resolve(ctx, t.name)
		})
		switch st {
		case lookupPending:
			return nil, false
		case lookupFailed:
			return s.pack(req, &reply{rcode: dnsmessage.RCodeServerFailure}), true
		case lookupClosed:
			return nil, true
		}
		if ttl := e.ttl(s.cfg.Now()); i == 0 || ttl < r.ttl {
			r.ttl = ttl
		}
		if e.notFound {
			return s.pack(req, negative(dnsmessage.RCodeNameError, t.apex, r.ttl)), true
		}
		if typ == req.q.Type || req.q.Type == dnsmessage.TypeALL {
			r.addrs = append(r.addrs, e.addrs...)
		}
	}
	if len(r.addrs) == 0 {
		// The name exists (the A entry says so) but not with this type.
		return s.pack(req, negative(dnsmessage.RCodeSuccess, t.apex, min(r.ttl, s.negTTL))), true
	}
	return s.pack(req, &r), true
}

// answerPTR answers the reverse name of a mesh address from Reverse.
func (s *Server) answerPTR(ctx context.Context, req *request, t target, block bool) ([]byte, bool) {
	e, st := s.lookup(ctx, key{req.lname, dnsmessage.TypePTR}, block, func(ctx context.Context) ([]cacheItem, error) {
		return s.reverse(ctx, req.lname, t.addr)
	})
	switch st {
	case lookupPending:
		return nil, false
	case lookupFailed:
		return s.pack(req, &reply{rcode: dnsmessage.RCodeServerFailure}), true
	case lookupClosed:
		return nil, true
	}
	ttl := e.ttl(s.cfg.Now())
	switch {
	case e.notFound:
		return s.pack(req, negative(dnsmessage.RCodeNameError, t.apex, ttl)), true
	case len(e.names) == 0:
		return s.pack(req, negative(dnsmessage.RCodeSuccess, t.apex, ttl)), true
	}
	return s.pack(req, &reply{aa: true, ttl: ttl, ptrs: e.names}), true
}

// negative is NXDOMAIN or NODATA with the zone's SOA, cached by clients
// for ttl.
func negative(rcode dnsmessage.RCode, apex string, ttl uint32) *reply {
	return &reply{rcode: rcode, aa: true, soa: apex, ttl: ttl}
}
