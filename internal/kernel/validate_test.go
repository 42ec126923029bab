package kernel

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestConfigDefaults(t *testing.T) {
	cfg, err := Config{Family: unix.AF_INET}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Table != MainTable || cfg.Protocol != 15 || cfg.RulePriority != DefaultRulePriority || cfg.SysctlRoot != "/proc/sys" {
		t.Errorf("defaults: %+v", cfg)
	}
	cfg, err = Config{Family: unix.AF_INET6, Table: 254}.withDefaults()
	if err != nil || cfg.Table != MainTable {
		t.Errorf("table 254: %+v, %v", cfg, err)
	}
	for _, bad := range []Config{
		{},                                  // no family
		{Family: unix.AF_PACKET},            // not an IP family
		{Family: unix.AF_INET, Table: 253},  // default table
		{Family: unix.AF_INET, Table: 255},  // local table
		{Family: unix.AF_INET, Table: -1},   // nonsense
		{Family: unix.AF_INET, Protocol: 4}, // static: Flush would delete the administrator's routes
		{Family: unix.AF_INET, Protocol: 2}, // kernel
		{Family: unix.AF_INET, Protocol: 256},
		{Family: unix.AF_INET, Table: 100, RulePriority: -5},
	} {
		if _, err := bad.withDefaults(); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

func TestValidate(t *testing.T) {
	k4 := &Kernel{cfg: Config{Family: unix.AF_INET}}
	k6 := &Kernel{cfg: Config{Family: unix.AF_INET6}}
	cases := []struct {
		name string
		k    *Kernel
		r    Route
		want string // "" for valid
	}{
		{"single", k4, route("10.1.0.0/16", hop("10.0.0.2", 3, 1)), ""},
		{"multipath", k4, route("10.1.0.0/16", hop("10.0.0.2", 3, 1), hop("10.0.0.3", 4, 256)), ""},
		{"default route", k4, route("0.0.0.0/0", hop("10.0.0.2", 3, 1)), ""},
		{"ipv6 link-local", k6, route("fd00::/8", hop("fe80::1%va", 3, 1)), ""},
		{"no prefix", k4, Route{Nexthops: []Nexthop{hop("10.0.0.2", 3, 1)}}, "destination prefix not set"},
		{"v6 prefix on v4", k4, route("fd00::/8", hop("10.0.0.2", 3, 1)), "not an IPv4 prefix"},
		{"v4 prefix on v6", k6, route("10.0.0.0/8", hop("fe80::1", 3, 1)), "not an IPv6 prefix"},
		{"mapped v4 on v6", k6, route("::ffff:10.0.0.0/104", hop("fe80::1", 3, 1)), "not an IPv6 prefix"},
		{"host bits", k4, route("10.1.2.3/16", hop("10.0.0.2", 3, 1)), "host bits set"},
		{"no nexthops", k4, route("10.1.0.0/16"), "no nexthops"},
		{"no gateway", k4, route("10.1.0.0/16", Nexthop{LinkIndex: 3, Weight: 1}), "no gateway"},
		{"gateway family", k4, route("10.1.0.0/16", hop("fe80::1", 3, 1)), "is not IPv4"},
		{"gateway unspecified", k4, route("10.1.0.0/16", hop("0.0.0.0", 3, 1)), "cannot be a neighbour"},
		{"gateway multicast", k6, route("fd00::/8", hop("ff02::1", 3, 1)), "cannot be a neighbour"},
		{"no link", k4, route("10.1.0.0/16", hop("10.0.0.2", 0, 1)), "link index 0"},
		{"weight 0", k4, route("10.1.0.0/16", hop("10.0.0.2", 3, 0)), "weight 0 out of range"},
		{"weight 257", k4, route("10.1.0.0/16", hop("10.0.0.2", 3, 1), hop("10.0.0.3", 3, 257)), "weight 257 out of range"},
		{"duplicate nexthop", k4, route("10.1.0.0/16", hop("10.0.0.2", 3, 1), hop("10.0.0.2", 3, 2)), "given twice"},
	}
	for _, c := range cases {
		got, err := c.k.validate(c.r)
		if c.want == "" {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			} else if !sameRoute(got, c.r) && c.r.Nexthops[0].Gw.Zone() == "" {
				t.Errorf("%s: canonical form %v differs from %v", c.name, got, c.r)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: accepted", c.name)
			continue
		}
		if !errors.Is(err, ErrInvalidRoute) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %q, want ErrInvalidRoute mentioning %q", c.name, err, c.want)
		}
	}

	// The zone of a link-local gateway is dropped: the link index says where.
	got, err := k6.validate(route("fd00::/8", hop("fe80::1%va", 3, 1)))
	if err != nil || got.Nexthops[0].Gw != netip.MustParseAddr("fe80::1") {
		t.Errorf("zone kept: %v, %v", got, err)
	}
}

func TestValidateAllKeepsGoodRoutes(t *testing.T) {
	k := &Kernel{cfg: Config{Family: unix.AF_INET}}
	valid, errs := k.validateAll([]Route{
		route("10.1.0.0/16", hop("10.0.0.2", 3, 1)),
		route("10.2.0.0/16"),
		route("10.3.0.0/16", hop("10.0.0.2", 3, 300)),
		route("10.4.0.0/16", hop("10.0.0.2", 3, 1)),
		route("10.1.0.0/16", hop("10.0.0.9", 3, 1)),
	})
	if len(valid) != 2 || valid[pfx("10.1.0.0/16")].Nexthops[0].Gw != netip.MustParseAddr("10.0.0.2") {
		t.Errorf("valid routes: %v", valid)
	}
	if len(errs) != 3 {
		t.Errorf("errors: %v", errs)
	}
}

func TestSameRoute(t *testing.T) {
	a := route("10.1.0.0/16", hop("10.0.0.2", 3, 2), hop("10.0.0.3", 4, 1))
	cases := []struct {
		name string
		b    Route
		same bool
	}{
		{"identical", route("10.1.0.0/16", hop("10.0.0.2", 3, 2), hop("10.0.0.3", 4, 1)), true},
		{"other order", route("10.1.0.0/16", hop("10.0.0.3", 4, 1), hop("10.0.0.2", 3, 2)), true},
		{"other weight", route("10.1.0.0/16", hop("10.0.0.2", 3, 1), hop("10.0.0.3", 4, 1)), false},
		{"other gateway", route("10.1.0.0/16", hop("10.0.0.2", 3, 2), hop("10.0.0.4", 4, 1)), false},
		{"other link", route("10.1.0.0/16", hop("10.0.0.2", 3, 2), hop("10.0.0.3", 5, 1)), false},
		{"fewer nexthops", route("10.1.0.0/16", hop("10.0.0.2", 3, 2)), false},
		{"other destination", route("10.2.0.0/16", hop("10.0.0.2", 3, 2), hop("10.0.0.3", 4, 1)), false},
		{"unknown state", Route{Dst: pfx("10.1.0.0/16")}, false},
	}
	for _, c := range cases {
		if got := sameRoute(a, c.b); got != c.same {
			t.Errorf("%s: sameRoute = %v", c.name, got)
		}
	}
	// The kernel keeps no weight for a single path.
	if !sameRoute(route("10.1.0.0/16", hop("10.0.0.2", 3, 5)), route("10.1.0.0/16", hop("10.0.0.2", 3, 1))) {
		t.Error("single-path routes differing in weight only are not the same")
	}
	if sameRoute(Route{Dst: pfx("10.1.0.0/16")}, Route{Dst: pfx("10.1.0.0/16")}) {
		t.Error("two routes of unknown state are the same")
	}
}
