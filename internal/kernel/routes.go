package kernel

import (
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sort"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// validate checks r against our family and returns a canonical copy: gateway
// zones dropped (the link index says where), nexthops copied so that the caller
// may reuse its slices.
func (k *Kernel) validate(r Route) (Route, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w %v: %s", ErrInvalidRoute, r.Dst, fmt.Sprintf(format, args...))
	}
	if !r.Dst.IsValid() {
		return Route{}, fmt.Errorf("%w: destination prefix not set", ErrInvalidRoute)
	}
	if !k.familyOK(r.Dst.Addr()) {
		return Route{}, bad("not an %s prefix", familyName(k.cfg.Family))
	}
	if r.Dst.Addr().Zone() != "" {
		return Route{}, bad("prefix has a zone")
	}
	if r.Dst.Masked() != r.Dst {
		return Route{}, bad("host bits set (want %v)", r.Dst.Masked())
	}
	if len(r.Nexthops) == 0 {
		return Route{}, bad("no nexthops")
	}
	out := Route{Dst: r.Dst, Nexthops: make([]Nexthop, len(r.Nexthops))}
	type gwLink struct {
		gw   netip.Addr
		link int
	}
	seen := make(map[gwLink]bool, len(r.Nexthops))
	for i, nh := range r.Nexthops {
		gw := nh.Gw.WithZone("")
		switch {
		case !gw.IsValid():
			return Route{}, bad("nexthop %d: no gateway", i)
		case !k.familyOK(gw):
			return Route{}, bad("nexthop %d: gateway %v is not %s", i, nh.Gw, familyName(k.cfg.Family))
		case gw.IsUnspecified() || gw.IsMulticast() || gw.IsLoopback():
			return Route{}, bad("nexthop %d: gateway %v cannot be a neighbour", i, nh.Gw)
		case nh.LinkIndex <= 0:
			return Route{}, bad("nexthop %d: link index %d", i, nh.LinkIndex)
		case nh.Weight < 1 || nh.Weight > MaxWeight:
			return Route{}, bad("nexthop %d: weight %d out of range 1..%d", i, nh.Weight, MaxWeight)
		case seen[gwLink{gw, nh.LinkIndex}]:
			return Route{}, bad("nexthop %d: gateway %v on link %d given twice", i, gw, nh.LinkIndex)
		}
		seen[gwLink{gw, nh.LinkIndex}] = true
		out.Nexthops[i] = Nexthop{Gw: gw, LinkIndex: nh.LinkIndex, Weight: nh.Weight}
	}
	return out, nil
}

// validateAll keeps the valid routes of want, keyed by destination, and
// describes the others; a bad route does not stop the rest.
func (k *Kernel) validateAll(want []Route) (map[netip.Prefix]Route, []error) {
	valid := make(map[netip.Prefix]Route, len(want))
	var errs []error
	for _, r := range want {
		c, err := k.validate(r)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if _, dup := valid[c.Dst]; dup {
			errs = append(errs, fmt.Errorf("%w %v: given twice, the first one is kept", ErrInvalidRoute, c.Dst))
			continue
		}
		valid[c.Dst] = c
	}
	return valid, errs
}

// sameRoute compares destinations and nexthop sets, whatever their order. A
// single-path route has no weight in the kernel, so its weight does not count.
func sameRoute(a, b Route) bool {
	if a.Dst != b.Dst || len(a.Nexthops) != len(b.Nexthops) || len(a.Nexthops) == 0 {
		return false
	}
	if len(a.Nexthops) == 1 {
		x, y := a.Nexthops[0], b.Nexthops[0]
		return x.Gw == y.Gw && x.LinkIndex == y.LinkIndex
	}
	x, y := sortedHops(a.Nexthops), sortedHops(b.Nexthops)
	return slices.Equal(x, y)
}

// The sorts of this package go through sort.Slice: slices.SortFunc would
// compile a sorting algorithm for every element type, ~12 KB of router code each.

func sortedHops(hops []Nexthop) []Nexthop {
	s := slices.Clone(hops)
	sort.Slice(s, func(i, j int) bool {
		a, b := s[i], s[j]
		if c := cmp.Compare(a.LinkIndex, b.LinkIndex); c != 0 {
			return c < 0
		}
		if c := a.Gw.Compare(b.Gw); c != 0 {
			return c < 0
		}
		return a.Weight < b.Weight
	})
	return s
}

// toNetlink builds the kernel form of a validated route.
func (k *Kernel) toNetlink(r Route) *netlink.Route {
	nr := &netlink.Route{
		Dst:      prefixToIPNet(r.Dst),
		Family:   k.cfg.Family,
		Table:    k.cfg.Table,
		Protocol: netlink.RouteProtocol(k.cfg.Protocol),
		Scope:    netlink.SCOPE_UNIVERSE,
		Type:     unix.RTN_UNICAST,
	}
	if len(r.Nexthops) == 1 {
		nh := r.Nexthops[0]
		nr.Gw = nh.Gw.AsSlice()
		nr.LinkIndex = nh.LinkIndex
		nr.Flags = int(netlink.FLAG_ONLINK)
		return nr
	}
	for _, nh := range r.Nexthops {
		nr.MultiPath = append(nr.MultiPath, &netlink.NexthopInfo{
			LinkIndex: nh.LinkIndex,
			Gw:        nh.Gw.AsSlice(),
			Hops:      nh.Weight - 1, // rtnh_hops is the weight minus one
			Flags:     int(netlink.FLAG_ONLINK),
		})
	}
	return nr
}

// fromNetlink reads a kernel route back; a nexthop without gateway (a device
// route someone added by hand) gets an invalid Gw.
func (k *Kernel) fromNetlink(nr netlink.Route) Route {
	r := Route{Dst: k.dstPrefix(nr.Dst)}
	if len(nr.MultiPath) == 0 {
		r.Nexthops = []Nexthop{{Gw: k.ipToAddr(nr.Gw), LinkIndex: nr.LinkIndex, Weight: 1}}
		return r
	}
	for _, nh := range nr.MultiPath {
		r.Nexthops = append(r.Nexthops, Nexthop{Gw: k.ipToAddr(nh.Gw), LinkIndex: nh.LinkIndex, Weight: nh.Hops + 1})
	}
	return r
}

// listOurs dumps the routes of our protocol in our table and family.
func (k *Kernel) listOurs() ([]netlink.Route, error) {
	rs, err := k.rt.routes(k.cfg.Family, k.cfg.Table, k.cfg.Protocol)
	if err != nil {
		return nil, fmt.Errorf("kernel: list routes of protocol %d in table %d: %w", k.cfg.Protocol, k.cfg.Table, err)
	}
	return rs, nil
}

func (k *Kernel) replace(r Route) error {
	if err := k.rt.replaceRoute(k.toNetlink(r)); err != nil {
		return fmt.Errorf("kernel: install %v: %w", r, err)
	}
	return nil
}

// del deletes our route to dst, whatever its nexthops; a route already gone is fine.
func (k *Kernel) del(dst netip.Prefix) error {
	return k.delKernel(&netlink.Route{Dst: prefixToIPNet(dst)})
}

// delKernel deletes the route nr describes (destination, tos, metric) of our
// protocol in our table. Scope "nowhere" matches any scope, so that routes a
// person added with `ip route add ... proto 15` go too.
func (k *Kernel) delKernel(nr *netlink.Route) error {
	d := &netlink.Route{
		Dst:      nr.Dst,
		Family:   k.cfg.Family,
		Table:    k.cfg.Table,
		Protocol: netlink.RouteProtocol(k.cfg.Protocol),
		Scope:    netlink.SCOPE_NOWHERE,
		Tos:      nr.Tos,
		Priority: nr.Priority,
	}
	if d.Dst == nil {
		d.Dst = prefixToIPNet(k.dstPrefix(nil))
	}
	if err := k.rt.delRoute(d); err != nil && !errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("kernel: delete route %v: %w", k.dstPrefix(nr.Dst), err)
	}
	return nil
}

func (k *Kernel) setWant(w map[netip.Prefix]Route) {
	k.wantMu.Lock()
	k.want = w
	k.wantMu.Unlock()
}

// wanted reports whether dst is among the routes last given to Sync.
func (k *Kernel) wanted(dst netip.Prefix) bool {
	k.wantMu.Lock()
	defer k.wantMu.Unlock()
	_, ok := k.want[dst]
	return ok
}

// Sync makes the kernel hold exactly the valid routes of want among ours. It
// compares with what it installed before and sends only the differences:
// a replace for each new or changed route, a delete for each one gone. Invalid
// routes are left out (and an installed route to their destination removed);
// their errors, and those of failed kernel requests, come back joined while
// everything else is still installed.
func (k *Kernel) Sync(want []Route) (SyncStats, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	var st SyncStats
	if k.rt == nil {
		return st, ErrClosed
	}
	valid, errs := k.validateAll(want)
	k.setWant(valid)
	if err := k.ensureRule(); err != nil {
		errs = append(errs, err)
	}
	// Replacements first, deletions after: a destination moving to a wider
	// prefix keeps a route all along.
	for _, dst := range sortedKeys(valid) {
		r := valid[dst]
		cur, had := k.installed[dst]
		if had && sameRoute(cur, r) {
			st.Unchanged++
			continue
		}
		if err := k.replace(r); err != nil {
			errs = append(errs, err)
			if had {
				k.installed[dst] = Route{Dst: dst} // the old route may or may not be there
			}
			continue
		}
		k.installed[dst] = r
		if had {
			st.Changed++
		} else {
			st.Added++
		}
	}
	for _, dst := range sortedKeys(k.installed) {
		if _, ok := valid[dst]; ok {
			continue
		}
		if err := k.del(dst); err != nil {
			errs = append(errs, err)
			continue
		}
		delete(k.installed, dst)
		st.Removed++
	}
	return st, errors.Join(errs...)
}

// Resync compares the routes last given to Sync with what the kernel really
// holds of ours and repairs every difference: missing or altered routes are
// installed again, and routes of our protocol that are not wanted (someone
// else's doing, or a crashed earlier run) are deleted. It also puts back our ip
// rule. Call it when Watch says ResyncNeeded.
func (k *Kernel) Resync() (SyncStats, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	var st SyncStats
	if k.rt == nil {
		return st, ErrClosed
	}
	var errs []error
	k.ruleOK = false
	if err := k.ensureRule(); err != nil {
		errs = append(errs, err)
	}
	krs, err := k.listOurs()
	if err != nil {
		return st, errors.Join(append(errs, err)...)
	}
	inKernel := map[netip.Prefix][]netlink.Route{}
	for _, nr := range krs {
		dst := k.dstPrefix(nr.Dst)
		inKernel[dst] = append(inKernel[dst], nr)
	}
	k.wantMu.Lock()
	want := k.want
	k.wantMu.Unlock()

	installed := make(map[netip.Prefix]Route, len(want))
	for _, dst := range sortedKeys(want) {
		r := want[dst]
		have := inKernel[dst]
		if len(have) == 1 && sameRoute(k.fromNetlink(have[0]), r) {
			installed[dst] = r
			st.Unchanged++
			continue
		}
		// Several routes of ours to one destination (say, another metric added by
		// hand) would shadow each other: keep only ours.
		if len(have) > 1 {
			for i := range have {
				if err := k.delKernel(&have[i]); err != nil {
					errs = append(errs, err)
				}
			}
		}
		if err := k.replace(r); err != nil {
			errs = append(errs, err)
			if len(have) > 0 {
				installed[dst] = Route{Dst: dst}
			}
			continue
		}
		installed[dst] = r
		if len(have) == 0 {
			st.Added++
		} else {
			st.Changed++
		}
	}
	for _, dst := range sortedKeys(inKernel) {
		if _, ok := want[dst]; ok {
			continue
		}
		var failed bool
		for i := range inKernel[dst] {
			if err := k.delKernel(&inKernel[dst][i]); err != nil {
				errs = append(errs, err)
				failed = true
			}
		}
		if failed {
			installed[dst] = Route{Dst: dst}
			continue
		}
		st.Removed++
	}
	k.installed = installed
	return st, errors.Join(errs...)
}

// Installed lists the routes of ours the kernel holds right now, by destination.
func (k *Kernel) Installed() ([]Route, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.rt == nil {
		return nil, ErrClosed
	}
	krs, err := k.listOurs()
	if err != nil {
		return nil, err
	}
	out := make([]Route, 0, len(krs))
	for _, nr := range krs {
		out = append(out, k.fromNetlink(nr))
	}
	sort.Slice(out, func(i, j int) bool { return comparePrefix(out[i].Dst, out[j].Dst) < 0 })
	return out, nil
}

// Wanted lists the valid routes last given to Sync, by destination.
func (k *Kernel) Wanted() []Route {
	k.wantMu.Lock()
	defer k.wantMu.Unlock()
	out := make([]Route, 0, len(k.want))
	for _, dst := range sortedKeys(k.want) {
		r := k.want[dst]
		r.Nexthops = slices.Clone(r.Nexthops)
		out = append(out, r)
	}
	return out
}

// Flush deletes every route of our protocol in our table, also those a crashed
// earlier run left, and our ip rule; it forgets the wanted routes, so a later
// Resync does not bring them back. Call it at startup and on exit.
func (k *Kernel) Flush() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.rt == nil {
		return ErrClosed
	}
	k.setWant(map[netip.Prefix]Route{})
	k.installed = map[netip.Prefix]Route{}
	var errs []error
	krs, err := k.listOurs()
	if err != nil {
		errs = append(errs, err)
	}
	for i := range krs {
		if err := k.delKernel(&krs[i]); err != nil {
			errs = append(errs, err)
		}
	}
	if k.ownTable() {
		if err := k.deleteRules(); err != nil {
			errs = append(errs, err)
		}
	}
	k.ruleOK = false
	return errors.Join(errs...)
}

// findRules lists the rules that are ours: our table and priority, no selector.
func (k *Kernel) findRules() ([]ipRule, error) {
	rules, err := k.rt.rules(k.cfg.Family)
	if err != nil {
		return nil, fmt.Errorf("kernel: list ip rules: %w", err)
	}
	var ours []ipRule
	for _, r := range rules {
		if r.table == k.cfg.Table && r.priority == k.cfg.RulePriority && !r.selector {
			ours = append(ours, r)
		}
	}
	return ours, nil
}

// ensureRule adds our ip rule for an own table unless it is known to be there.
func (k *Kernel) ensureRule() error {
	if !k.ownTable() || k.ruleOK {
		return nil
	}
	rules, err := k.findRules()
	if err != nil {
		return err
	}
	if len(rules) == 0 {
		err := k.rt.rule(unix.RTM_NEWRULE, k.cfg.Family, k.cfg.Table, k.cfg.RulePriority, uint8(k.cfg.Protocol))
		if err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("kernel: add ip rule lookup %d priority %d: %w", k.cfg.Table, k.cfg.RulePriority, err)
		}
	}
	k.ruleOK = true
	return nil
}

func (k *Kernel) deleteRules() error {
	rules, err := k.findRules()
	if err != nil {
		return err
	}
	var errs []error
	for _, found := range rules {
		// Delete with the protocol the kernel reports: a rule added by hand has
		// none, and a rule with another protocol does not match ours.
		err := k.rt.rule(unix.RTM_DELRULE, k.cfg.Family, k.cfg.Table, k.cfg.RulePriority, found.protocol)
		if err != nil && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, fmt.Errorf("kernel: delete ip rule lookup %d priority %d: %w", k.cfg.Table, k.cfg.RulePriority, err))
		}
	}
	return errors.Join(errs...)
}

func comparePrefix(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return cmp.Compare(a.Bits(), b.Bits())
}

// sortedKeys gives a stable order, so that requests and errors are reproducible.
func sortedKeys[V any](m map[netip.Prefix]V) []netip.Prefix {
	keys := make([]netip.Prefix, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return comparePrefix(keys[i], keys[j]) < 0 })
	return keys
}
