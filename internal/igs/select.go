// Package igs is Internet gateway sharing's logic outside the protocol core
// (docs/IGS.md): which gateways a client uses and with what weight, and the
// uplink prober of a gateway. No sockets, clocks or kernel calls: the
// daemon feeds it and applies what it says.
package igs

import (
	"net/netip"
	"slices"
	"sort"

	"github.com/ntkd/ntkd/internal/node"
)

// Choice is a gateway in the default route.
type Choice struct {
	Addr   netip.Addr
	Weight int // 1..255, the kernel's nexthop weight
}

// Score orders gateways: bandwidth over path cost (cost in microseconds,
// as the maps hold it). A gateway twice as fast and twice as far scores
// about the same as the nearer one.
func Score(g node.Gateway) uint64 {
	return uint64(g.Bandwidth) * 1_000_000 / (1000 + uint64(g.Cost))
}

// keepMargin: a newcomer replaces a chosen gateway only when it scores a
// quarter more, so costs that wobble do not move flows between gateways.
const keepMarginNum, keepMarginDen = 5, 4

// Select picks, per level, up to perLevel of the candidates, keeping those
// of prev (the last choice) while they are still candidates and no
// newcomer beats the worst of them by keepMargin. The weights are the
// scores scaled to 1..255. The result is sorted by address.
func Select(cands []node.Gateway, prev []Choice, perLevel int) []Choice {
	if perLevel < 1 || len(cands) == 0 {
		return nil
	}
	byLevel := map[int][]node.Gateway{}
	for _, g := range cands {
		byLevel[g.Level] = append(byLevel[g.Level], g)
	}
	var chosen []node.Gateway
	for _, gs := range byLevel {
		chosen = append(chosen, selectLevel(gs, prev, perLevel)...)
	}
	var top uint64
	for _, g := range chosen {
		top = max(top, Score(g))
	}
	out := make([]Choice, 0, len(chosen))
	for _, g := range chosen {
		w := 255
		if top > 0 {
			w = max(1, int(Score(g)*255/top))
		}
		out = append(out, Choice{Addr: g.Addr, Weight: w})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Addr.Less(out[j].Addr) })
	return out
}

func selectLevel(gs []node.Gateway, prev []Choice, n int) []node.Gateway {
	// Best first; ties by address so every run picks the same.
	// sort, not slices: no new generic sort in the router binary.
	sort.Slice(gs, func(i, j int) bool {
		si, sj := Score(gs[i]), Score(gs[j])
		return si > sj || (si == sj && gs[i].Addr.Less(gs[j].Addr))
	})
	var kept, rest []node.Gateway
	seen := map[netip.Addr]bool{}
	for _, g := range gs {
		if seen[g.Addr] {
			continue
		}
		seen[g.Addr] = true
		if slices.ContainsFunc(prev, func(c Choice) bool { return c.Addr == g.Addr }) && len(kept) < n {
			kept = append(kept, g)
		} else {
			rest = append(rest, g)
		}
	}
	// Fill free places with the best of the rest, then let a newcomer
	// take the place of the worst kept one only with a clear lead.
	for len(kept) < n && len(rest) > 0 {
		kept, rest = append(kept, rest[0]), rest[1:]
	}
	for len(rest) > 0 {
		worst := 0
		for i := range kept {
			if Score(kept[i]) < Score(kept[worst]) {
				worst = i
			}
		}
		if Score(rest[0])*keepMarginDen <= Score(kept[worst])*keepMarginNum {
			break
		}
		kept[worst], rest = rest[0], rest[1:]
	}
	return kept
}
