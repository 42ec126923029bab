package dnsd

import (
	"context"
	"net/netip"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

func TestFormErr(t *testing.T) {
	s := newTestServer(t, Config{}, newFakeResolver())
	q := dnsmessage.Question{Name: dnsmessage.MustNewName("myrouter.ntk."), Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET}
	pack := func(m dnsmessage.Message) []byte {
		b, err := m.Pack()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	opt := func(name string) dnsmessage.Resource {
		var rh dnsmessage.ResourceHeader
		rh.SetEDNS0(1232, 0, false)
		rh.Name = dnsmessage.MustNewName(name)
		return dnsmessage.Resource{Header: rh, Body: &dnsmessage.OPTResource{}}
	}
	valid := query(t, "myrouter.ntk.", dnsmessage.TypeA)
	for _, tc := range []struct {
		name string
		raw  []byte
	}{
		{"two questions", pack(dnsmessage.Message{Header: dnsmessage.Header{ID: 7}, Questions: []dnsmessage.Question{q, q}})},
		{"no question", pack(dnsmessage.Message{Header: dnsmessage.Header{ID: 7}})},
		{"cut question", valid[:len(valid)-3]},
		{"count beyond the data", append([]byte{0, 7, 1, 0, 0, 2, 0, 0, 0, 0, 0, 0}, valid[12:]...)},
		{"two OPT", pack(dnsmessage.Message{Questions: []dnsmessage.Question{q}, Additionals: []dnsmessage.Resource{opt("."), opt(".")}})},
		{"OPT not at root", pack(dnsmessage.Message{Questions: []dnsmessage.Question{q}, Additionals: []dnsmessage.Resource{opt("x.")}})},
		{"cut additional", append(append([]byte{}, valid[:11]...), append([]byte{1}, valid[12:]...)...)},
		{"name with a compression loop", []byte{0, 7, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1}},
	} {
		resp := s.handle(context.Background(), tc.raw, false)
		m := unpack(t, resp)
		if m.Header.RCode != dnsmessage.RCodeFormatError {
			t.Errorf("%s: rcode %v, want FORMERR", tc.name, m.Header.RCode)
		}
		if m.Header.ID != uint16(tc.raw[0])<<8|uint16(tc.raw[1]) {
			t.Errorf("%s: ID %d", tc.name, m.Header.ID)
		}
	}
	if st := s.Stats(); st.FormErr != 8 {
		t.Errorf("Stats.FormErr %d, want 8", st.FormErr)
	}
}

func TestDropped(t *testing.T) {
	s := newTestServer(t, Config{}, newFakeResolver())
	resp := query(t, "myrouter.ntk.", dnsmessage.TypeA)
	resp[2] |= 0x80 // QR: a response must never be answered
	for _, raw := range [][]byte{nil, {1}, make([]byte, 11), resp} {
		if got := s.handle(context.Background(), raw, false); got != nil {
			t.Errorf("% x: answered % x", raw, got)
		}
	}
	st := s.Stats()
	if st.Dropped[DropShort] != 3 || st.Dropped[DropResponse] != 1 {
		t.Fatalf("drops %v", st.Dropped)
	}
}

func TestNotImp(t *testing.T) {
	s := newTestServer(t, Config{}, newFakeResolver())
	for _, op := range []dnsmessage.OpCode{1, 2, 4, 5} { // IQUERY STATUS NOTIFY UPDATE
		m := ask(t, s, "ntk.", dnsmessage.TypeSOA, withOpCode(op))
		if m.Header.RCode != dnsmessage.RCodeNotImplemented || m.Header.OpCode != op {
			t.Errorf("opcode %d: header %+v, want NOTIMP", op, m.Header)
		}
		if len(m.Questions) != 1 {
			t.Errorf("opcode %d: question not echoed", op)
		}
	}
}

func TestBadVers(t *testing.T) {
	s := newTestServer(t, Config{}, newFakeResolver())
	m := ask(t, s, "myrouter.ntk.", dnsmessage.TypeA, withEDNS(1232, 1))
	if len(m.Additionals) != 1 || m.Additionals[0].Header.Type != dnsmessage.TypeOPT {
		t.Fatalf("no OPT in %+v", m.Additionals)
	}
	if rc := m.Additionals[0].Header.ExtendedRCode(m.Header.RCode); rc != rcodeBadVers {
		t.Fatalf("extended rcode %v, want BADVERS", rc)
	}
	if len(m.Answers) != 0 {
		t.Fatal("answered a query with an unknown EDNS version")
	}
}

func TestEDNS(t *testing.T) {
	s := newTestServer(t, Config{}, newFakeResolver())
	m := ask(t, s, "myrouter.ntk.", dnsmessage.TypeA, withEDNS(4096, 0))
	if len(m.Additionals) != 1 || m.Additionals[0].Header.Type != dnsmessage.TypeOPT || m.Additionals[0].Header.Class != 1232 {
		t.Fatalf("OPT %+v, want ours with size 1232", m.Additionals)
	}
	if len(m.Answers) != 1 {
		t.Fatalf("answers %v", m.Answers)
	}
	if m := ask(t, s, "myrouter.ntk.", dnsmessage.TypeA); len(m.Additionals) != 0 {
		t.Fatal("OPT in the answer to a query without")
	}
}

// manyAddrs makes a resolver whose "big" name has n AAAA addresses.
func manyAddrs(n int) *fakeResolver {
	f := newFakeResolver()
	for i := range n {
		f.names["big"] = append(f.names["big"], netip.AddrFrom16([16]byte{0: 0xfd, 15: byte(i + 1)}))
	}
	return f
}

func TestTruncation(t *testing.T) {
	// 20 AAAA: 12 (header) + 13 (question) + 20*28 (compressed owner) + 11
	// (OPT) = 596 bytes.
	s := newTestServer(t, Config{}, manyAddrs(20))
	for _, tc := range []struct {
		name    string
		opts    []qopt
		tcp     bool
		wantTC  bool
		wantLen int // answers
	}{
		{"plain UDP: 512", nil, false, true, 0},
		{"EDNS 1232", []qopt{withEDNS(1232, 0)}, false, false, 20},
		{"EDNS 596", []qopt{withEDNS(596, 0)}, false, false, 20},
		{"EDNS 595", []qopt{withEDNS(595, 0)}, false, true, 0},
		{"EDNS below 512 means 512", []qopt{withEDNS(100, 0)}, false, true, 0},
		{"TCP", nil, true, false, 20},
	} {
		raw := query(t, "big.ntk.", dnsmessage.TypeAAAA, tc.opts...)
		resp := s.handle(context.Background(), raw, tc.tcp)
		m := unpack(t, resp)
		if m.Header.Truncated != tc.wantTC || len(m.Answers) != tc.wantLen {
			t.Errorf("%s: TC %v, %d answers (%d bytes); want TC %v, %d answers",
				tc.name, m.Header.Truncated, len(m.Answers), len(resp), tc.wantTC, tc.wantLen)
		}
		if len(m.Questions) != 1 {
			t.Errorf("%s: question missing", tc.name)
		}
		if !tc.tcp && len(resp) > 512 && len(m.Additionals) == 0 {
			t.Errorf("%s: %d bytes over plain UDP", tc.name, len(resp))
		}
	}
	// The cap: a Resolver that returns a thousand addresses costs 32.
	s = newTestServer(t, Config{}, manyAddrs(200))
	m := unpack(t, s.handle(context.Background(), query(t, "big.ntk.", dnsmessage.TypeAAAA), true))
	if len(m.Answers) != maxAddrsPerFamily {
		t.Fatalf("%d answers, want %d", len(m.Answers), maxAddrsPerFamily)
	}
}
