package dnsd

import (
	"errors"
	"net/netip"
	"slices"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

func TestAnswerA(t *testing.T) {
	f := newFakeResolver()
	s := newTestServer(t, Config{}, f)
	m := ask(t, s, "myrouter.ntk.", dnsmessage.TypeA)
	if m.Header.RCode != dnsmessage.RCodeSuccess || !m.Header.Authoritative || m.Header.ID != 0xbeef || !m.Header.RecursionDesired {
		t.Fatalf("header %+v", m.Header)
	}
	if m.Header.RecursionAvailable {
		t.Error("RA set without upstream")
	}
	if got := addrsOf(m); !slices.Equal(got, []netip.Addr{netip.MustParseAddr("10.0.0.1")}) {
		t.Fatalf("answers %v, want only 10.0.0.1", got)
	}
	if len(m.Questions) != 1 || m.Questions[0].Name.String() != "myrouter.ntk." {
		t.Fatalf("question %v", m.Questions)
	}
	if h := m.Answers[0].Header; h.TTL != 60 || h.Name.String() != "myrouter.ntk." || h.Class != dnsmessage.ClassINET {
		t.Fatalf("answer header %+v", h)
	}
	if len(m.Authorities) != 0 || len(m.Additionals) != 0 {
		t.Fatalf("extra sections %v %v", m.Authorities, m.Additionals)
	}
}

func TestAnswerAAAA(t *testing.T) {
	s := newTestServer(t, Config{}, newFakeResolver())
	m := ask(t, s, "myrouter.ntk.", dnsmessage.TypeAAAA)
	if got := addrsOf(m); !slices.Equal(got, []netip.Addr{netip.MustParseAddr("fd00::1")}) {
		t.Fatalf("answers %v, want only fd00::1", got)
	}
}

func TestAnswerANY(t *testing.T) {
	s := newTestServer(t, Config{}, newFakeResolver())
	m := ask(t, s, "myrouter.ntk.", dnsmessage.TypeALL)
	want := []netip.Addr{netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("fd00::1")}
	if got := addrsOf(m); !slices.Equal(got, want) {
		t.Fatalf("answers %v, want %v", got, want)
	}
}

func TestMultiLabelName(t *testing.T) {
	f := newFakeResolver()
	s := newTestServer(t, Config{}, f)
	m := ask(t, s, "files.myrouter.ntk.", dnsmessage.TypeA)
	if got := addrsOf(m); !slices.Equal(got, []netip.Addr{netip.MustParseAddr("10.0.0.2")}) {
		t.Fatalf("answers %v", got)
	}
	if f.calls("files.myrouter") != 1 {
		t.Fatalf("resolver calls %v", f.resolves)
	}
}

func TestNoData(t *testing.T) {
	s := newTestServer(t, Config{}, newFakeResolver())
	for _, tc := range []struct {
		name string
		typ  dnsmessage.Type
	}{
		{"files.myrouter.ntk.", dnsmessage.TypeAAAA}, // v4 only
		{"v6only.ntk.", dnsmessage.TypeA},
		{"noaddr.ntk.", dnsmessage.TypeA},
		{"myrouter.ntk.", dnsmessage.TypeMX}, // other types
		{"myrouter.ntk.", dnsmessage.TypeTXT},
		{"myrouter.ntk.", dnsmessage.TypePTR},
	} {
		m := ask(t, s, tc.name, tc.typ)
		if m.Header.RCode != dnsmessage.RCodeSuccess || len(m.Answers) != 0 {
			t.Errorf("%s %v: rcode %v, %d answers; want NODATA", tc.name, tc.typ, m.Header.RCode, len(m.Answers))
			continue
		}
		h, soa := soaOf(t, m)
		// SOA TTL and minimum: the negative TTL (10s), under the record's 60s.
		if h.Name.String() != "ntk." || h.TTL != 10 || soa.MinTTL != 10 {
			t.Errorf("%s %v: SOA %+v %+v", tc.name, tc.typ, h, soa)
		}
	}
	if st := s.Stats(); st.NoData != 6 {
		t.Errorf("Stats.NoData %d, want 6", st.NoData)
	}
}

func TestNXDomain(t *testing.T) {
	f := newFakeResolver()
	s := newTestServer(t, Config{NegativeTTL: 45e9}, f)
	for _, typ := range []dnsmessage.Type{dnsmessage.TypeA, dnsmessage.TypeAAAA, dnsmessage.TypeMX} {
		m := ask(t, s, "nobody.ntk.", typ)
		if m.Header.RCode != dnsmessage.RCodeNameError || !m.Header.Authoritative || len(m.Answers) != 0 {
			t.Fatalf("%v: header %+v, %d answers", typ, m.Header, len(m.Answers))
		}
		h, soa := soaOf(t, m)
		if h.Name.String() != "ntk." || h.TTL != 45 || soa.MinTTL != 45 || soa.NS.String() != "ntk." {
			t.Fatalf("%v: SOA %+v %+v", typ, h, soa)
		}
	}
	if f.calls("nobody") != 1 {
		t.Errorf("resolver asked %d times, want 1 (negative answer cached)", f.calls("nobody"))
	}
	// Names no ANDNA name can look like are not even asked.
	for _, n := range []string{"under_score.ntk.", "-x.ntk.", "a\\032b.ntk."} {
		m := ask(t, s, n, dnsmessage.TypeA)
		if m.Header.RCode != dnsmessage.RCodeNameError {
			t.Errorf("%s: rcode %v, want NXDOMAIN", n, m.Header.RCode)
		}
	}
	if len(f.resolves) != 1 {
		t.Errorf("resolver asked for %v", f.resolves)
	}
	if st := s.Stats(); st.NXDomain != 6 {
		t.Errorf("Stats.NXDomain %d, want 6", st.NXDomain)
	}
}

func TestCaseInsensitive(t *testing.T) {
	f := newFakeResolver()
	s := newTestServer(t, Config{Suffix: "NTK."}, f) // suffix normalised too
	m := ask(t, s, "MyRouter.Ntk.", dnsmessage.TypeA)
	if got := addrsOf(m); len(got) != 1 {
		t.Fatalf("answers %v", got)
	}
	// The client's spelling is echoed (0x20 randomisation relies on it).
	if m.Questions[0].Name.String() != "MyRouter.Ntk." || m.Answers[0].Header.Name.String() != "MyRouter.Ntk." {
		t.Fatalf("names %v %v", m.Questions[0].Name, m.Answers[0].Header.Name)
	}
	ask(t, s, "MYROUTER.NTK.", dnsmessage.TypeA)
	if f.calls("myrouter") != 1 {
		t.Fatalf("resolver calls %v, want one for myrouter", f.resolves)
	}
}

func TestMultiLabelSuffix(t *testing.T) {
	f := newFakeResolver()
	s := newTestServer(t, Config{Suffix: "mesh.lan"}, f)
	if got := addrsOf(ask(t, s, "myrouter.mesh.lan.", dnsmessage.TypeA)); len(got) != 1 {
		t.Fatalf("answers %v", got)
	}
	m := ask(t, s, "lan.", dnsmessage.TypeA) // above the suffix: not ours
	if m.Header.RCode != dnsmessage.RCodeRefused {
		t.Fatalf("lan.: rcode %v", m.Header.RCode)
	}
}

func TestApex(t *testing.T) {
	f := newFakeResolver()
	s := newTestServer(t, Config{}, f)
	m := ask(t, s, "ntk.", dnsmessage.TypeSOA)
	if m.Header.RCode != dnsmessage.RCodeSuccess || len(m.Answers) != 1 {
		t.Fatalf("SOA: rcode %v, %d answers", m.Header.RCode, len(m.Answers))
	}
	if soa, ok := m.Answers[0].Body.(*dnsmessage.SOAResource); !ok || soa.MBox.String() != "hostmaster.ntk." {
		t.Fatalf("SOA answer %v", m.Answers[0])
	}
	for _, typ := range []dnsmessage.Type{dnsmessage.TypeA, dnsmessage.TypeAAAA, dnsmessage.TypeNS} {
		m := ask(t, s, "NTK.", typ)
		if m.Header.RCode != dnsmessage.RCodeSuccess || len(m.Answers) != 0 {
			t.Fatalf("%v: rcode %v, %d answers; want NODATA", typ, m.Header.RCode, len(m.Answers))
		}
		soaOf(t, m)
	}
	if len(f.resolves) != 0 {
		t.Fatalf("resolver asked for %v", f.resolves)
	}
}

func TestPTR(t *testing.T) {
	f := newFakeResolver()
	s := newTestServer(t, Config{}, f)
	ptrs := func(m dnsmessage.Message) []string {
		var out []string
		for _, r := range m.Answers {
			if p, ok := r.Body.(*dnsmessage.PTRResource); ok {
				out = append(out, p.PTR.String())
			}
		}
		return out
	}
	m := ask(t, s, "1.0.0.10.IN-ADDR.ARPA.", dnsmessage.TypePTR)
	if got := ptrs(m); !slices.Equal(got, []string{"myrouter.ntk.", "files.myrouter.ntk."}) || m.Answers[0].Header.TTL != 60 {
		t.Fatalf("PTR answers %v %+v", got, m.Answers)
	}
	v6 := reverseName(netip.MustParseAddr("fd00::1"), 128)
	if got := ptrs(ask(t, s, v6, dnsmessage.TypePTR)); !slices.Equal(got, []string{"myrouter.ntk."}) {
		t.Fatalf("%s: %v", v6, got)
	}
	// Names that are not ANDNA names are left out.
	if got := ptrs(ask(t, s, "9.0.0.10.in-addr.arpa.", dnsmessage.TypePTR)); !slices.Equal(got, []string{"ok.ntk."}) {
		t.Fatalf("9.0.0.10: %v", got)
	}
	for _, tc := range []struct {
		name  string
		typ   dnsmessage.Type
		rcode dnsmessage.RCode
		soa   bool // an SOA in authority
	}{
		{"2.0.0.10.in-addr.arpa.", dnsmessage.TypePTR, dnsmessage.RCodeNameError, true}, // unknown address
		{"1.0.0.10.in-addr.arpa.", dnsmessage.TypeA, dnsmessage.RCodeSuccess, true},     // not PTR: NODATA
		{"0.10.in-addr.arpa.", dnsmessage.TypePTR, dnsmessage.RCodeSuccess, true},       // above addresses
		{"10.in-addr.arpa.", dnsmessage.TypePTR, dnsmessage.RCodeSuccess, true},
		{"x.0.0.10.in-addr.arpa.", dnsmessage.TypePTR, dnsmessage.RCodeNameError, true},   // not a number
		{"1.1.0.0.10.in-addr.arpa.", dnsmessage.TypePTR, dnsmessage.RCodeNameError, true}, // too long
		{"01.0.0.10.in-addr.arpa.", dnsmessage.TypePTR, dnsmessage.RCodeNameError, true},  // leading zero
		{"256.0.0.10.in-addr.arpa.", dnsmessage.TypePTR, dnsmessage.RCodeNameError, true},
		{"1.1.168.192.in-addr.arpa.", dnsmessage.TypePTR, dnsmessage.RCodeRefused, false}, // not a mesh range
		{"1.1.200.172.in-addr.arpa.", dnsmessage.TypePTR, dnsmessage.RCodeRefused, false}, // outside 172.16/12
		{"1.1.20.172.in-addr.arpa.", dnsmessage.TypePTR, dnsmessage.RCodeNameError, true}, // inside 172.16/12
		{"in-addr.arpa.", dnsmessage.TypePTR, dnsmessage.RCodeRefused, false},
		{"g.d.f.ip6.arpa.", dnsmessage.TypePTR, dnsmessage.RCodeNameError, true},
		{"1.0.0.2.ip6.arpa.", dnsmessage.TypePTR, dnsmessage.RCodeRefused, false},
	} {
		m := ask(t, s, tc.name, tc.typ)
		if m.Header.RCode != tc.rcode || len(m.Answers) != 0 || (len(m.Authorities) == 1) != tc.soa {
			t.Errorf("%s %v: rcode %v, %d answers, %d authority; want %v soa=%v",
				tc.name, tc.typ, m.Header.RCode, len(m.Answers), len(m.Authorities), tc.rcode, tc.soa)
		}
	}
	m = ask(t, s, "10.in-addr.arpa.", dnsmessage.TypeSOA)
	if len(m.Answers) != 1 || m.Answers[0].Header.Type != dnsmessage.TypeSOA {
		t.Fatalf("SOA of 10.in-addr.arpa: %v", m.Answers)
	}
}

func TestRefused(t *testing.T) {
	f := newFakeResolver()
	s := newTestServer(t, Config{}, f)
	for _, tc := range []struct {
		name string
		opts []qopt
		typ  dnsmessage.Type
	}{
		{"example.com.", nil, dnsmessage.TypeA},
		{".", nil, dnsmessage.TypeNS},
		{"ntkx.", nil, dnsmessage.TypeA},
		{"myrouter.ntk.", []qopt{withClass(dnsmessage.ClassCHAOS)}, dnsmessage.TypeA},
		{"ntk.", nil, dnsmessage.TypeAXFR},
	} {
		m := ask(t, s, tc.name, tc.typ, tc.opts...)
		if m.Header.RCode != dnsmessage.RCodeRefused {
			t.Errorf("%s: rcode %v, want REFUSED", tc.name, m.Header.RCode)
		}
	}
	if len(f.resolves) != 0 {
		t.Fatalf("resolver asked for %v", f.resolves)
	}
	if st := s.Stats(); st.Refused != 5 {
		t.Fatalf("Stats.Refused %d", st.Refused)
	}
}

func TestResolverFailure(t *testing.T) {
	f := newFakeResolver()
	f.err = errors.New("mesh not hooked yet")
	s := newTestServer(t, Config{}, f)
	for range 2 {
		if m := ask(t, s, "myrouter.ntk.", dnsmessage.TypeA); m.Header.RCode != dnsmessage.RCodeServerFailure {
			t.Fatalf("rcode %v, want SERVFAIL", m.Header.RCode)
		}
	}
	if f.calls("myrouter") != 2 {
		t.Fatalf("failures must not be cached: %d calls", f.calls("myrouter"))
	}
	if m := ask(t, s, "1.0.0.10.in-addr.arpa.", dnsmessage.TypePTR); m.Header.RCode != dnsmessage.RCodeServerFailure {
		t.Fatalf("PTR rcode %v, want SERVFAIL", m.Header.RCode)
	}
	if st := s.Stats(); st.ServFail != 3 || st.ResolverErrors != 3 {
		t.Fatalf("stats %+v", st)
	}
}
