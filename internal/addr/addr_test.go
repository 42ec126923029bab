package addr

import (
	"errors"
	"math/rand/v2"
	"net/netip"
	"testing"
)

func mustScheme(t *testing.T, prefix string, bits ...uint8) *Scheme {
	t.Helper()
	p := netip.MustParsePrefix(prefix)
	if bits == nil {
		bits = DefaultBits(p)
	}
	s, err := NewScheme(p, bits)
	if err != nil {
		t.Fatalf("NewScheme(%s, %v): %v", prefix, bits, err)
	}
	return s
}

func TestDefaultBits(t *testing.T) {
	cases := map[string][]uint8{
		"10.0.0.0/8":    {8, 8, 8},
		"172.16.0.0/12": {8, 8, 4},
		"10.42.0.0/16":  {8, 8},
		"fd00::/8":      {8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8},
	}
	for p, want := range cases {
		got := DefaultBits(netip.MustParsePrefix(p))
		if len(got) != len(want) {
			t.Errorf("%s: %v, want %v", p, got, want)
			continue
		}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("%s: %v, want %v", p, got, want)
			}
		}
	}
}

func TestNewSchemeRejects(t *testing.T) {
	cases := []struct {
		prefix string
		bits   []uint8
		want   error
	}{
		{"192.0.2.0/24", []uint8{8}, ErrNotPrivate},
		{"8.0.0.0/8", []uint8{8, 8, 8}, ErrNotPrivate},
		{"10.0.0.0/7", []uint8{8, 8, 8}, ErrNotPrivate}, // wider than the private range
		{"2001:db8::/32", []uint8{8}, ErrNotPrivate},
		{"10.0.0.0/8", nil, ErrBadBits},
		{"10.0.0.0/8", []uint8{8, 8, 9}, ErrBadBits},
		{"10.0.0.0/8", []uint8{8, 0, 8}, ErrBadBits},
		{"10.0.0.0/8", []uint8{1, 8}, ErrBadBits},
		{"10.0.0.0/8", []uint8{8, 8, 8, 1}, ErrBadBits},
		{"10.0.0.0/24", []uint8{8, 8}, ErrBadBits},
		{"fd00::/8", make17(), ErrBadBits},
	}
	for _, c := range cases {
		_, err := NewScheme(netip.MustParsePrefix(c.prefix), c.bits)
		if !errors.Is(err, c.want) {
			t.Errorf("NewScheme(%s, %v) = %v, want %v", c.prefix, c.bits, err, c.want)
		}
	}
}

func make17() []uint8 {
	b := make([]uint8, 17)
	for i := range b {
		b[i] = 4
	}
	return b
}

func TestPositionRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	schemes := []*Scheme{
		Default(),
		mustScheme(t, "172.16.0.0/12"),
		mustScheme(t, "fd00::/8"),
		mustScheme(t, "10.0.0.0/8", 3, 5, 7, 2),
		mustScheme(t, "fd00::/8", 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7),
	}
	for _, s := range schemes {
		for i := 0; i < 500; i++ {
			p := s.RandomPosition(r)
			a, err := s.Addr(p)
			if err != nil {
				t.Fatalf("%v: Addr(%v): %v", s, p, err)
			}
			if !s.Contains(a) {
				t.Fatalf("%v: %v outside the prefix", s, a)
			}
			q, err := s.Position(a)
			if err != nil {
				t.Fatalf("%v: Position(%v): %v", s, a, err)
			}
			if q != p {
				t.Fatalf("%v: %v -> %v -> %v", s, p, a, q)
			}
			for l := 0; l < s.Levels(); l++ {
				if s.ID(a, l) != p[l] {
					t.Fatalf("%v: ID(%v, %d) = %d, want %d", s, a, l, s.ID(a, l), p[l])
				}
			}
		}
	}
}

func TestKnownAddresses(t *testing.T) {
	s := Default()
	a := netip.MustParseAddr("10.1.2.3")
	p, err := s.Position(a)
	if err != nil {
		t.Fatal(err)
	}
	if p[0] != 3 || p[1] != 2 || p[2] != 1 {
		t.Fatalf("ids of %v = %v, want [3 2 1]", a, p[:3])
	}
	want := map[int]string{0: "10.1.2.3/32", 1: "10.1.2.0/24", 2: "10.1.0.0/16"}
	for l, w := range want {
		got, err := s.ElementPrefix(p, l)
		if err != nil || got.String() != w {
			t.Errorf("ElementPrefix(level %d) = %v, %v; want %s", l, got, err, w)
		}
	}
	if g, _ := s.GnodePrefix(p, 3); g.String() != "10.0.0.0/8" {
		t.Errorf("GnodePrefix(top) = %v", g)
	}
	if g, _ := s.GnodePrefix(p, 1); g.String() != "10.1.2.0/24" {
		t.Errorf("GnodePrefix(1) = %v", g)
	}

	s6 := mustScheme(t, "fd00::/8")
	a6 := netip.MustParseAddr("fd01:0203:0405:0607:0809:0a0b:0c0d:0e0f")
	p6, err := s6.Position(a6)
	if err != nil {
		t.Fatal(err)
	}
	for l := 0; l < 15; l++ {
		if p6[l] != uint8(15-l) {
			t.Fatalf("ipv6 ids = %v", p6[:15])
		}
	}
	if pr, _ := s6.ElementPrefix(p6, 1); pr.String() != "fd01:203:405:607:809:a0b:c0d:e00/120" {
		t.Errorf("ipv6 level 1 prefix = %v", pr)
	}

	s12 := mustScheme(t, "172.16.0.0/12")
	if _, err := s12.Position(netip.MustParseAddr("172.31.255.254")); err != nil {
		t.Errorf("172.31.255.254: %v", err)
	}

	// Smaller schemes leave the high host bits zero and refuse addresses using them.
	small := mustScheme(t, "10.0.0.0/8", 4, 4)
	if _, err := small.Position(netip.MustParseAddr("10.0.1.5")); !errors.Is(err, ErrOutOfScheme) {
		t.Errorf("bits above the top level: %v", err)
	}
	if pr, _ := small.ElementPrefix(Position{5, 3}, 1); pr.String() != "10.0.0.48/28" {
		t.Errorf("small level 1 prefix = %v", pr)
	}
}

func TestReservedIDs(t *testing.T) {
	s := Default()
	for _, a := range []string{"10.1.2.0", "10.1.2.255"} {
		if _, err := s.Position(netip.MustParseAddr(a)); !errors.Is(err, ErrReservedID) {
			t.Errorf("%s: %v, want reserved", a, err)
		}
	}
	for _, a := range []string{"10.0.0.1", "10.255.255.254", "10.1.0.1", "10.0.255.1"} {
		if _, err := s.Position(netip.MustParseAddr(a)); err != nil {
			t.Errorf("%s: %v", a, err)
		}
	}
	for _, a := range []string{"11.0.0.1", "fd00::1", "::ffff:11.0.0.1"} {
		if _, err := s.Position(netip.MustParseAddr(a)); !errors.Is(err, ErrOutOfScheme) {
			t.Errorf("%s: %v, want out of scheme", a, err)
		}
	}
	s6 := mustScheme(t, "fd00::/8")
	if err := s6.ValidID(0, 255); err != nil {
		t.Errorf("ipv6 id 255 at level 0: %v", err)
	}
	if err := s6.ValidID(0, 0); !errors.Is(err, ErrReservedID) {
		t.Errorf("ipv6 id 0 at level 0: %v", err)
	}
	small := mustScheme(t, "10.0.0.0/8", 3, 2)
	if err := small.ValidID(0, 8); !errors.Is(err, ErrIDOutOfRange) {
		t.Errorf("id 8 in 3 bits: %v", err)
	}
	if err := small.ValidID(1, 0); err != nil {
		t.Errorf("id 0 at level 1: %v", err)
	}
	if err := small.ValidID(2, 0); !errors.Is(err, ErrBadLevel) {
		t.Errorf("level 2 of 2: %v", err)
	}
	if _, err := small.Addr(Position{7}); !errors.Is(err, ErrReservedID) {
		t.Errorf("Addr with a broadcast id: %v", err)
	}
}

func TestRandomFreeID(t *testing.T) {
	s := mustScheme(t, "10.0.0.0/8", 3, 8)
	r := rand.New(rand.NewPCG(7, 7))
	var taken IDSet
	seen := map[uint8]int{}
	for i := 0; i < 600; i++ {
		id, err := s.RandomFreeID(0, &taken, r)
		if err != nil {
			t.Fatal(err)
		}
		seen[id]++
	}
	// Level 0 of 3 bits: ids 1..6 usable, each drawn about 100 times.
	if len(seen) != 6 || seen[0] != 0 || seen[7] != 0 {
		t.Fatalf("drawn ids %v", seen)
	}
	for id, n := range seen {
		if n < 50 {
			t.Errorf("id %d drawn %d times of 600: not uniform", id, n)
		}
	}
	for _, id := range []uint8{1, 2, 3, 5, 6} {
		taken.Add(id)
	}
	for i := 0; i < 20; i++ {
		if id, err := s.RandomFreeID(0, &taken, r); err != nil || id != 4 {
			t.Fatalf("only 4 is free, got %d, %v", id, err)
		}
	}
	taken.Add(4)
	if _, err := s.RandomFreeID(0, &taken, r); !errors.Is(err, ErrNoFreeID) {
		t.Fatalf("full level: %v", err)
	}
	free := s.FreeIDs(1, &IDSet{})
	if free.Len() != 256 {
		t.Fatalf("level 1 free ids = %d, want 256", free.Len())
	}
}

func TestDeterministic(t *testing.T) {
	s := Default()
	a := s.RandomPosition(rand.New(rand.NewPCG(42, 0)))
	b := s.RandomPosition(rand.New(rand.NewPCG(42, 0)))
	if a != b {
		t.Fatalf("same seed, different positions: %v %v", a, b)
	}
}

func TestSameGnode(t *testing.T) {
	s := Default()
	a, b := Position{1, 2, 3}, Position{9, 2, 3}
	if !s.SameGnode(a, b, 1) || s.SameGnode(a, Position{1, 4, 3}, 1) || !s.SameGnode(a, Position{1, 4, 3}, 2) {
		t.Fatal("SameGnode")
	}
}

func FuzzPosition(f *testing.F) {
	f.Add([]byte{10, 1, 2, 3})
	f.Add([]byte{0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1})
	schemes := []*Scheme{Default(), must(NewScheme(netip.MustParsePrefix("fd00::/8"), DefaultBits(netip.MustParsePrefix("fd00::/8")))),
		must(NewScheme(netip.MustParsePrefix("10.0.0.0/8"), []uint8{3, 5, 7}))}
	f.Fuzz(func(t *testing.T, b []byte) {
		a, ok := netip.AddrFromSlice(b)
		if !ok {
			return
		}
		for _, s := range schemes {
			p, err := s.Position(a)
			if err != nil {
				continue
			}
			back, err := s.Addr(p)
			if err != nil || back != a.Unmap() {
				t.Fatalf("%v: %v -> %v -> %v, %v", s, a, p, back, err)
			}
		}
	})
}

func must(s *Scheme, err error) *Scheme {
	if err != nil {
		panic(err)
	}
	return s
}
