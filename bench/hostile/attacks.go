package main

import (
	"context"
	"crypto/ed25519"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ntkd/ntkd/internal/ctl"
	"github.com/ntkd/ntkd/internal/wire"
)

// attack is one kind of hostile traffic. run sends until ctx ends and
// counts every packet (or stream frame, or connection) it sends in sent.
type attack struct {
	name, what string
	// neighbour: the main identity must be a measured neighbour first.
	neighbour bool
	// probeConns: sample whether an honest neighbour can still open a
	// stream to the victim while it runs.
	probeConns bool
	run        func(ctx context.Context, a *attacker) error
}

// attacker is the state the attacks share.
type attacker struct {
	w     *world
	nb    *neighbour
	sent  atomic.Uint64 // packets, frames or connections sent
	extra sync.Map      // name -> *atomic.Uint64, notes for the report
	rng   *rand.Rand
}

func (a *attacker) note(name string, n uint64) {
	v, _ := a.extra.LoadOrStore(name, new(atomic.Uint64))
	v.(*atomic.Uint64).Add(n)
}

var attacks = []attack{
	{name: "echo-storm", what: "one source: unicast ECHO_ME probes, hellos with REPLY_WANTED and 32 IHU entries, unsolicited ECHO_REPLYs, as fast as UDP goes",
		run: echoStorm},
	{name: "spoofed-echo", what: "the same echoes, each from the next of 1200 spoofed link-local sources (more than the 1024-peer table), claiming random addresses in the victim's gnode, half of them hooking with lowest nonce 1",
		run: spoofedEcho},
	{name: "map-requests", what: "GET_INT_MAP / GET_EXT_MAP / GET_BNODE_MAP / GET_FREE_NODES / GET_QSPN_ROUND / ANDNA_GET_CACHE / ANDNA_REVERSE over UDP from 64 sources and back to back on 16 streams; every reply makes the victim dial us",
		run: mapRequests},
	{name: "qspn-garbage", what: "oversized (256 chunks + bnode blocks, ~64 KB; and 200 KB) and inconsistent (wrong gnode, ids out of range, bit flips) TRACER_PKT / QSPN_CLOSE / QSPN_OPEN on 16 streams from strangers and on one from the measured neighbour",
		neighbour: true, run: qspnGarbage},
	{name: "qspn-rounds", what: "from the measured neighbour (150/s): QSPN_CLOSE / TRACER_PKT with absurd round ids (each +2^31-1 ahead, or random), ROUTE_LOSS saying every honest node is unreachable or costs 1",
		neighbour: true, run: qspnRounds},
	{name: "andna", what: "from the measured neighbour (150/s): ROUTED carrying ANDNA_REGISTERs (new names under one key, one registration replayed, bad signatures, n3's name under our key), 600-record ANDNA_PUT_CACHEs, ANDNA_GET_CACHE, resolves",
		neighbour: true, run: andnaFlood},
	{name: "garbage", what: "random bytes, truncated, bit-flipped and header-mangled (flags, reserved, unknown op, lying length) packets over UDP from 256 sources, and on 16 streams reconnecting after each close",
		run: garbage},
	{name: "idle-conns", what: "as many stream connections as the victim accepts (400 tried, 4 per source), left open and silent; honest n3 tries a fresh connection every second",
		probeConns: true, run: idleConns},
	{name: "lying-length", what: "streams whose header promises 65000 bytes and sends 100 (then stalls), promises 262144, or says 0 and carries bytes; reconnecting; honest n3 probes",
		probeConns: true, run: lyingLength},
	{name: "lowest-nonce", what: "every 5 s ONE unsolicited ECHO_REPLY from a fresh spoofed source (never measured, never a neighbour): not hooking, an address inside the victim's gnode, lowest (top-level gnode nonce) 1",
		run: lowestNonce},
	{name: "hook-collide", what: "from the measured neighbour every 5 s: a TRACER_PKT whose origin chunk is the victim's own id with nonce 1, and hellos claiming the victim's address with nonce 1; GET_FREE_NODES at 100/s",
		neighbour: true, run: hookCollide},
}

func enc(id uint32, p wire.Payload) []byte {
	b, err := wire.Encode(id, p)
	if err != nil {
		panic(fmt.Sprintf("hostile: encoding %v: %v", p.Op(), err))
	}
	return b
}

// udpFlood sends pkts round-robin from conns to the victim with workers
// goroutines until ctx ends.
func (a *attacker) udpFlood(ctx context.Context, conns []*net.UDPConn, pkts [][]byte, workers int) {
	dst := udpAddr(a.w.victimLL, wire.DefaultPort)
	var wg sync.WaitGroup
	for k := range workers {
		wg.Go(func() {
			i := k
			for ctx.Err() == nil {
				for range 64 {
					c := conns[i%len(conns)]
					if _, err := c.WriteToUDP(pkts[i%len(pkts)], dst); err == nil {
						a.sent.Add(1)
					} else {
						a.note("udp send errors", 1)
					}
					i += workers
				}
			}
		})
	}
	wg.Wait()
}

// streamFlood keeps nconn streams open from the spoofed sources (4 per
// source at most) and writes frames from next to each, reconnecting after
// the victim closes one.
func (a *attacker) streamFlood(ctx context.Context, nconn int, srcOff int, next func(r *rand.Rand) []byte) {
	var wg sync.WaitGroup
	for k := range nconn {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(k), 7))
			src := a.w.srcs[(srcOff+k/4)%len(a.w.srcs)]
			for ctx.Err() == nil {
				c, err := a.w.dialStream(src)
				if err != nil {
					a.note("stream dial errors", 1)
					sleep(ctx, 50*time.Millisecond)
					continue
				}
				a.note("stream connections", 1)
				stop := context.AfterFunc(ctx, func() { c.Close() })
				for ctx.Err() == nil {
					c.SetWriteDeadline(time.Now().Add(2 * time.Second))
					if _, err := c.Write(next(r)); err != nil {
						a.note("streams closed by the victim", 1)
						break
					}
					a.sent.Add(1)
				}
				stop()
				c.Close()
			}
		})
	}
	wg.Wait()
}

// paced calls send rate times a second (in 10 ms steps) until ctx ends.
func paced(ctx context.Context, rate int, send func()) {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	carry := 0.0
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		carry += float64(rate) / 100
		for ; carry >= 1; carry-- {
			send()
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// neighbourStream is a stream from the main identity; reconnect on error.
type neighbourStream struct {
	a *attacker
	c *net.TCPConn
}

func (s *neighbourStream) send(b []byte) {
	if s.c == nil {
		c, err := s.a.w.dialStream(mainLL)
		if err != nil {
			s.a.note("stream dial errors", 1)
			return
		}
		s.c = c
	}
	s.c.SetWriteDeadline(time.Now().Add(time.Second))
	if _, err := s.c.Write(b); err != nil {
		s.a.note("streams closed by the victim", 1)
		s.c.Close()
		s.c = nil
		return
	}
	s.a.sent.Add(1)
}

func (s *neighbourStream) close() {
	if s.c != nil {
		s.c.Close()
	}
}

// ---- the attacks ----

func echoes(w *world, r *rand.Rand, spoof bool) [][]byte {
	var out [][]byte
	base := w.victimAddr.As4()
	for i := range 256 {
		addr := w.atkAddr
		if spoof {
			b := base
			b[3] = uint8(r.IntN(256))
			addr = netip.AddrFrom4(b)
		}
		e := &wire.Echo{Kind: wire.OpEchoMe, Burst: uint16(r.Uint32()), Seq: uint8(i), Nonce: r.Uint32() | 1, Lowest: w.topNonce, Addr: addr}
		switch i % 4 {
		case 1:
			e.Flags = wire.EchoHello | wire.EchoReplyWanted
			e.Interval = uint16(1 + r.IntN(1000))
			for range wire.MaxIHU {
				e.IHU = append(e.IHU, wire.IHU{Nonce: r.Uint32(), Heard: uint8(r.IntN(17))})
			}
		case 2:
			e.Kind = wire.OpEchoReply
		case 3:
			if spoof {
				e.Flags, e.Lowest, e.Addr = wire.EchoHooking|wire.EchoHello|wire.EchoReplyWanted, 1, netip.Addr{}
				e.Interval = 1
			}
		}
		out = append(out, enc(r.Uint32(), e))
	}
	return out
}

func echoStorm(ctx context.Context, a *attacker) error {
	conns, err := a.w.bindSources(1)
	if err != nil {
		return err
	}
	defer closeAll(conns)
	a.udpFlood(ctx, conns, echoes(a.w, a.rng, false), 2)
	return nil
}

func spoofedEcho(ctx context.Context, a *attacker) error {
	conns, err := a.w.bindSources(len(a.w.srcs))
	if err != nil {
		return err
	}
	defer closeAll(conns)
	a.udpFlood(ctx, conns, echoes(a.w, a.rng, true), 2)
	return nil
}

func closeAll(cs []*net.UDPConn) {
	for _, c := range cs {
		c.Close()
	}
}

var requestOps = []wire.Op{wire.OpGetIntMap, wire.OpGetExtMap, wire.OpGetBnodeMap, wire.OpGetFreeNodes, wire.OpGetQSPNRound, wire.OpAndnaReverse}

func requests(r *rand.Rand) [][]byte {
	var out [][]byte
	for i := range 256 {
		if i%7 == 6 {
			out = append(out, enc(r.Uint32(), &wire.GetCache{}))
			continue
		}
		out = append(out, enc(r.Uint32(), &wire.Empty{Kind: requestOps[i%len(requestOps)]}))
	}
	return out
}

func mapRequests(ctx context.Context, a *attacker) error {
	conns, err := a.w.bindSources(64)
	if err != nil {
		return err
	}
	defer closeAll(conns)
	pkts := requests(a.rng)
	var wg sync.WaitGroup
	wg.Go(func() { a.udpFlood(ctx, conns, pkts, 1) })
	wg.Go(func() {
		a.streamFlood(ctx, 16, 100, func(r *rand.Rand) []byte { return pkts[r.IntN(len(pkts))] })
	})
	wg.Wait()
	return nil
}

// broadcasts are valid-looking and broken tracer/QSPN packets in the
// victim's level-0 scope.
func broadcasts(w *world, r *rand.Rand, atkID uint8) [][]byte {
	scope := uint8(w.levels[1].ID)
	ops := []wire.Op{wire.OpTracerPkt, wire.OpQSPNClose, wire.OpQSPNOpen}
	var out [][]byte
	for i := range 48 {
		b := &wire.Broadcast{Kind: ops[i%3], Gnode: scope, Level: 0, Round: r.Uint32(), Nonce: r.Uint32(), TTL: 255}
		if b.Kind == wire.OpTracerPkt {
			b.Flags = wire.BcastTracer
		}
		for c := range 256 {
			b.Chunks = append(b.Chunks, wire.Chunk{Node: uint8(c), Cost: r.Uint32()})
		}
		b.Chunks[0] = wire.Chunk{Node: atkID}
		switch i % 6 {
		case 0, 1: // the largest that fits in 64 KiB: 256 chunks, bnode blocks
			b.Flags |= wire.BcastBBlock
			for k := range 40 {
				blk := wire.BnodeBlock{Bnode: uint8(k)}
				for range 255 {
					blk.Links = append(blk.Links, wire.BnodeLink{Gnode: uint8(r.IntN(256)), Level: uint8(r.IntN(3)), Cost: r.Uint32()})
				}
				b.Blocks = append(b.Blocks, blk)
			}
		case 2: // another gnode
			b.Gnode = scope + 1
		case 3: // gateways at absurd positions
			b.Flags |= wire.BcastGateways
			b.Level = 1
			b.Gnode = uint8(w.levels[2].ID)
			b.Gateways = []wire.Gateway{{Bandwidth: 1, Position: [wire.MaxLevels]uint8{255}}}
		case 4: // 200 KB: above the transport's 64 KiB limit
			b.Flags |= wire.BcastBBlock
			for k := range 130 {
				blk := wire.BnodeBlock{Bnode: uint8(k)}
				for range 255 {
					blk.Links = append(blk.Links, wire.BnodeLink{Cost: 1})
				}
				b.Blocks = append(b.Blocks, blk)
			}
		}
		p := enc(r.Uint32(), b)
		if i%6 == 5 { // bit flips in the payload, framing kept
			for range 8 {
				p[wire.HeaderLen+r.IntN(len(p)-wire.HeaderLen)] ^= byte(1 << r.IntN(8))
			}
		}
		out = append(out, p)
	}
	return out
}

func qspnGarbage(ctx context.Context, a *attacker) error {
	pkts := broadcasts(a.w, a.rng, a.w.atkAddr.As4()[3])
	var wg sync.WaitGroup
	wg.Go(func() {
		a.streamFlood(ctx, 16, 200, func(r *rand.Rand) []byte { return pkts[r.IntN(len(pkts))] })
	})
	wg.Go(func() {
		s := &neighbourStream{a: a}
		defer s.close()
		r := rand.New(rand.NewPCG(3, 3))
		paced(ctx, 100, func() { s.send(pkts[r.IntN(len(pkts))]) })
	})
	wg.Wait()
	return nil
}

func (w *world) qspnRound(ctx context.Context) uint32 {
	var q ctl.QSPN
	if _, err := ctl.Call(ctx, w.victim.Socket, ctl.Request{Cmd: ctl.CmdQSPN}, &q); err != nil || len(q.Levels) == 0 {
		return 0
	}
	return q.Levels[0].Round
}

func qspnRounds(ctx context.Context, a *attacker) error {
	w := a.w
	round := w.qspnRound(ctx)
	a.note("victim level-0 round at start", uint64(round))
	scope := uint8(w.levels[1].ID)
	me := w.atkAddr.As4()[3]
	s := &neighbourStream{a: a}
	defer s.close()
	r := a.rng
	i := 0
	paced(ctx, 150, func() {
		i++
		switch i % 3 {
		case 0, 1:
			rd := r.Uint32()
			if i%3 == 0 {
				round += 0x7fffffff
				rd = round
			}
			b := &wire.Broadcast{Kind: wire.OpQSPNClose, Gnode: scope, Round: rd, Nonce: w.atkNonce, TTL: 32,
				Chunks: []wire.Chunk{{Node: me}}}
			if i%2 == 0 {
				b.Kind, b.Flags = wire.OpTracerPkt, wire.BcastTracer
			}
			s.send(enc(rd, b))
		case 2:
			l := &wire.Loss{Gnode: scope, Level: 0, Round: round}
			for _, id := range w.honestIDs {
				cost := uint32(0xffffffff)
				if i%2 == 0 {
					cost = 1
				}
				l.Entries = append(l.Entries, wire.LossEntry{ID: id, Cost: cost})
			}
			s.send(enc(r.Uint32(), l))
		}
	})
	a.note("victim level-0 round at end", uint64(w.qspnRound(context.Background())))
	return nil
}

func andnaFlood(ctx context.Context, a *attacker) error {
	w := a.w
	r := a.rng
	var seed [32]byte
	binary.LittleEndian.PutUint64(seed[:], r.Uint64())
	key := ed25519.NewKeyFromSeed(seed[:])
	register := func(name string, counter uint32, bad bool) []byte {
		reg := &wire.Register{Hostname: name, Counter: counter, Addr: w.atkAddr}
		copy(reg.PubKey[:], key.Public().(ed25519.PublicKey))
		sb, err := reg.SignedBytes()
		if err != nil {
			panic(err)
		}
		copy(reg.Signature[:], ed25519.Sign(key, sb))
		if bad {
			reg.Signature[3] ^= 0x40
		}
		return enc(r.Uint32(), reg)
	}
	var recs []wire.CacheRecord
	for range 600 {
		var rec wire.CacheRecord
		for k := range rec.Hash {
			rec.Hash[k] = byte(r.Uint32())
		}
		copy(rec.PubKey[:], key.Public().(ed25519.PublicKey))
		rec.Counter, rec.ExpiresIn, rec.Addr = r.Uint32(), 1<<30, w.atkAddr
		recs = append(recs, rec)
	}
	putCache := enc(r.Uint32(), &wire.PutCache{Records: recs})
	replay := register("replayed", 0, false)
	routed := func(inner []byte) []byte {
		return enc(r.Uint32(), &wire.Routed{TTL: 8, Dst: w.victimAddr, Src: w.atkAddr, Inner: inner})
	}
	s := &neighbourStream{a: a}
	defer s.close()
	i := 0
	paced(ctx, 150, func() {
		i++
		var inner []byte
		switch i % 8 {
		case 0:
			inner = register(fmt.Sprintf("x%d", i), 0, false)
		case 1:
			inner = replay
		case 2:
			inner = register(fmt.Sprintf("y%d", i), uint32(i), true)
		case 3:
			inner = register("n3", uint32(i), false)
		case 4:
			inner = putCache
		case 5:
			inner = enc(r.Uint32(), &wire.GetCache{})
		case 6:
			inner = enc(r.Uint32(), &wire.Resolve{Hostname: fmt.Sprintf("n%d", 1+i%4)})
		case 7:
			s.send(putCache) // bare, not ROUTED
			return
		}
		s.send(routed(inner))
	})
	return nil
}

// mangled are valid packets broken in every way the framing allows and
// some it does not.
func mangled(w *world, r *rand.Rand) [][]byte {
	valid := append(requests(r)[:32], echoes(w, r, false)[:32]...)
	valid = append(valid, enc(1, &wire.Nack{Code: wire.CodeBusy, Reason: "hi"}), enc(2, &wire.Empty{Kind: wire.OpAck}))
	var out [][]byte
	for i := range 512 {
		p := append([]byte(nil), valid[r.IntN(len(valid))]...)
		switch i % 8 {
		case 0: // random bytes
			p = make([]byte, 1+r.IntN(1500))
			for k := range p {
				p[k] = byte(r.Uint32())
			}
		case 1: // truncated
			p = p[:r.IntN(len(p))]
		case 2: // bit flips anywhere
			for range 1 + r.IntN(4) {
				p[r.IntN(len(p))] ^= byte(1 << r.IntN(8))
			}
		case 3: // header flags / reserved
			p[4+r.IntN(4)] = byte(1 + r.IntN(255))
		case 4: // unknown or reserved op
			p[3] = byte(0x42 + r.IntN(0xbd))
		case 5: // lying length
			binary.BigEndian.PutUint32(p[12:], r.Uint32())
		case 6: // trailing bytes
			p = append(p, 0, 1, 2)
			binary.BigEndian.PutUint32(p[12:], uint32(len(p)-wire.HeaderLen))
		case 7: // bad version
			p[2] = byte(2 + r.IntN(250))
		}
		out = append(out, p)
	}
	return out
}

func garbage(ctx context.Context, a *attacker) error {
	conns, err := a.w.bindSources(256)
	if err != nil {
		return err
	}
	defer closeAll(conns)
	pkts := mangled(a.w, a.rng)
	var wg sync.WaitGroup
	wg.Go(func() { a.udpFlood(ctx, conns, pkts, 2) })
	wg.Go(func() {
		a.streamFlood(ctx, 16, 300, func(r *rand.Rand) []byte { return pkts[r.IntN(len(pkts))] })
	})
	wg.Wait()
	return nil
}

// holdConns opens up to n connections (4 per source, from srcOff on),
// sends each one's opening bytes and keeps it; a closed one is reopened
// after a second.
func (a *attacker) holdConns(ctx context.Context, n, srcOff int, opening func(k int) []byte) {
	var wg sync.WaitGroup
	for k := range n {
		wg.Go(func() {
			src := a.w.srcs[(srcOff+k/4)%len(a.w.srcs)]
			for ctx.Err() == nil {
				c, err := a.w.dialStream(src)
				if err != nil {
					a.note("stream dial errors", 1)
					sleep(ctx, time.Second)
					continue
				}
				a.sent.Add(1)
				if b := opening(k); len(b) > 0 {
					c.Write(b)
				}
				// Wait for the victim to close it, or for the end.
				done := make(chan struct{})
				go func() {
					buf := make([]byte, 4096)
					for {
						if _, err := c.Read(buf); err != nil {
							close(done)
							return
						}
					}
				}()
				select {
				case <-done:
					a.note("streams closed by the victim", 1)
					c.Close()
					sleep(ctx, time.Second)
				case <-ctx.Done():
					c.Close()
				}
			}
		})
	}
	wg.Wait()
}

func idleConns(ctx context.Context, a *attacker) error {
	a.holdConns(ctx, 400, 400, func(int) []byte { return nil })
	return nil
}

func lyingLength(ctx context.Context, a *attacker) error {
	hdr := func(length uint32) []byte {
		b := enc(0, &wire.Empty{Kind: wire.OpGetIntMap})
		binary.BigEndian.PutUint32(b[12:], length)
		return b
	}
	a.holdConns(ctx, 200, 600, func(k int) []byte {
		switch k % 3 {
		case 0:
			return append(hdr(65000), make([]byte, 100)...)
		case 1:
			return append(hdr(wire.MaxPayload), make([]byte, 100)...)
		default:
			return append(hdr(0), make([]byte, 64)...)
		}
	})
	return nil
}

func hookCollide(ctx context.Context, a *attacker) error {
	w := a.w
	honest := a.nb.claim.Load()
	defer a.nb.claim.Store(honest)
	s := &neighbourStream{a: a}
	defer s.close()
	conns, err := a.w.bindSources(8)
	if err != nil {
		return err
	}
	defer closeAll(conns)
	var wg sync.WaitGroup
	wg.Go(func() {
		req := enc(1, &wire.Empty{Kind: wire.OpGetFreeNodes})
		dst := udpAddr(w.victimLL, wire.DefaultPort)
		i := 0
		paced(ctx, 100, func() {
			i++
			if _, err := conns[i%len(conns)].WriteToUDP(req, dst); err == nil {
				a.sent.Add(1)
			}
		})
	})
	for round := 0; ctx.Err() == nil; round++ {
		var st ctl.Status
		if _, err := ctl.Call(ctx, w.victim.Socket, ctl.Request{Cmd: ctl.CmdStatus}, &st); err == nil && len(st.Gnodes) > 1 {
			if addr, err := netip.ParseAddr(st.Address); err == nil {
				if round%2 == 0 {
					b := &wire.Broadcast{Kind: wire.OpTracerPkt, Flags: wire.BcastTracer, Gnode: uint8(st.Gnodes[1].ID),
						Round: w.qspnRound(ctx), Nonce: 1, TTL: 32, Chunks: []wire.Chunk{{Node: uint8(st.Gnodes[0].ID)}}}
					s.send(enc(a.rng.Uint32(), b))
					a.note("collision tracers sent", 1)
				} else {
					a.nb.claim.Store(&claim{addr: addr, nonce: 1})
					a.note("address claims (hellos for 3 s)", 1)
					sleep(ctx, 3*time.Second)
					a.nb.claim.Store(honest)
				}
			}
		}
		sleep(ctx, 5*time.Second)
	}
	wg.Wait()
	return nil
}

func lowestNonce(ctx context.Context, a *attacker) error {
	w := a.w
	dst := udpAddr(w.victimLL, wire.DefaultPort)
	for i := 0; ctx.Err() == nil; i++ {
		var st ctl.Status
		if _, err := ctl.Call(ctx, w.victim.Socket, ctl.Request{Cmd: ctl.CmdStatus}, &st); err == nil {
			if addr, err := netip.ParseAddr(st.Address); err == nil && addr.Is4() {
				b := addr.As4()
				b[3] ^= 0x55 // another node of its gnode
				e := &wire.Echo{Kind: wire.OpEchoReply, Burst: 7, Seq: 7, Nonce: 12345, Lowest: 1, Addr: netip.AddrFrom4(b)}
				conns, err := w.bindSources(len(w.srcs))
				if err == nil {
					if _, err := conns[len(conns)-1-i%len(conns)].WriteToUDP(enc(7, e), dst); err == nil {
						a.sent.Add(1)
					}
					closeAll(conns)
				}
			}
		}
		sleep(ctx, 5*time.Second)
	}
	return nil
}
