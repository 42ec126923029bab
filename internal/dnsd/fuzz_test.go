package dnsd

import (
	"context"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

// FuzzQuery feeds arbitrary bytes to the query handler, over UDP and TCP
// framing rules: it must not panic, and whatever it sends must be a
// well-formed response to that query that fits what the client takes.
func FuzzQuery(f *testing.F) {
	for _, seed := range [][]byte{
		query(f, "myrouter.ntk.", dnsmessage.TypeA),
		query(f, "MyRouter.NTK.", dnsmessage.TypeAAAA, withEDNS(4096, 0)),
		query(f, "big.ntk.", dnsmessage.TypeAAAA),
		query(f, "nobody.ntk.", dnsmessage.TypeMX),
		query(f, "ntk.", dnsmessage.TypeSOA),
		query(f, "1.0.0.10.in-addr.arpa.", dnsmessage.TypePTR),
		query(f, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa.", dnsmessage.TypePTR),
		query(f, "x.10.in-addr.arpa.", dnsmessage.TypePTR),
		query(f, "example.com.", dnsmessage.TypeA),
		query(f, "myrouter.ntk.", dnsmessage.TypeA, withEDNS(512, 1)),
		query(f, "myrouter.ntk.", dnsmessage.TypeA, withOpCode(5)),
		{0, 7, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1},
		{},
	} {
		f.Add(seed, false)
		f.Add(seed, true)
	}
	s, err := New(Config{}, manyAddrs(40), nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw []byte, tcp bool) {
		resp := s.handle(context.Background(), raw, tcp)
		if resp == nil {
			return
		}
		var p dnsmessage.Parser
		h, err := p.Start(resp)
		if err != nil {
			t.Fatalf("unparsable response % x: %v", resp, err)
		}
		if !h.Response || len(raw) < 2 || h.ID != uint16(raw[0])<<8|uint16(raw[1]) {
			t.Fatalf("header %+v for query % x", h, raw)
		}
		var m dnsmessage.Message
		if err := m.Unpack(resp); err != nil {
			t.Fatalf("unpack response % x: %v", resp, err)
		}
		if !tcp && len(resp) > s.cfg.UDPSize {
			t.Fatalf("%d-byte response over UDP", len(resp))
		}
		if !tcp && len(resp) > minUDPSize && len(m.Additionals) == 0 {
			t.Fatalf("%d-byte response to a query without EDNS", len(resp))
		}
		if len(m.Questions) > 1 {
			t.Fatalf("%d questions", len(m.Questions))
		}
	})
}
