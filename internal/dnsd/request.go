package dnsd

import (
	"errors"

	"golang.org/x/net/dns/dnsmessage"
)

var errSeveralQuestions = errors.New("more than one question")

const (
	minUDPSize = 512   // what every client takes over UDP (RFC 1035)
	maxMsgSize = 65535 // the most a TCP length prefix can say

	// MaxQuerySize bounds a query we read: a question and an OPT record
	// take a few hundred bytes, and each UDP socket and TCP connection
	// keeps a buffer of this size rather than of 64 KiB.
	MaxQuerySize = 4096

	rcodeBadVers dnsmessage.RCode = 16 // RFC 6891, needs the OPT record's extended bits
)

// request is a parsed query.
type request struct {
	raw     []byte // as received, for forwarding
	hdr     dnsmessage.Header
	q       dnsmessage.Question
	lname   string // q.Name lowercased (ASCII), dot-terminated
	edns    bool   // the client sent an OPT record: we answer with one
	maxSize int    // the largest response the client takes
}

// parseRequest reads a query. A query we cannot answer gets back the error
// response to send instead (FORMERR, NOTIMP, BADVERS); one whose header is
// unusable gets a drop reason.
func (s *Server) parseRequest(raw []byte, tcp bool) (req request, errResp []byte, drop dropReason) {
	var p dnsmessage.Parser
	h, err := p.Start(raw)
	if err != nil {
		return req, nil, dropShort
	}
	if h.Response {
		return req, nil, dropResponse
	}
	req = request{raw: raw, hdr: h, maxSize: minUDPSize}
	if tcp {
		req.maxSize = maxMsgSize
	}
	q, qerr := p.Question()
	if qerr == nil {
		req.q = q
		if _, err := p.Question(); err != dnsmessage.ErrSectionDone {
			qerr = errSeveralQuestions // or garbage after the first
		}
	}
	hasQ := qerr == nil
	switch {
	case h.OpCode != 0:
		return req, s.pack(&req, &reply{rcode: dnsmessage.RCodeNotImplemented, noQuestion: !hasQ}), dropNone
	case !hasQ:
		return req, s.pack(&req, &reply{rcode: dnsmessage.RCodeFormatError, noQuestion: true}), dropNone
	}
	formErr := func() (request, []byte, dropReason) {
		return req, s.pack(&req, &reply{rcode: dnsmessage.RCodeFormatError}), dropNone
	}
	if p.SkipAllAnswers() != nil || p.SkipAllAuthorities() != nil {
		return formErr()
	}
	var badVers bool
	for {
		rh, err := p.AdditionalHeader()
		if err == dnsmessage.ErrSectionDone {
			break
		}
		if err != nil {
			return formErr()
		}
		if rh.Type == dnsmessage.TypeOPT {
			// RFC 6891 §6.1.1: one OPT, owned by the root.
			if req.edns || rh.Name.Length != 1 || rh.Name.Data[0] != '.' {
				return formErr()
			}
			req.edns = true
			badVers = rh.TTL>>16&0xff != 0
			if !tcp {
				req.maxSize = min(max(int(rh.Class), minUDPSize), s.cfg.UDPSize)
			}
		}
		if p.SkipAdditional() != nil {
			return formErr()
		}
	}
	if badVers {
		return req, s.pack(&req, &reply{rcode: rcodeBadVers}), dropNone
	}
	req.lname = asciiLower(req.q.Name.String())
	return req, nil, dropNone
}
