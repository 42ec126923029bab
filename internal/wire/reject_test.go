package wire

import (
	"encoding/binary"
	"errors"
	"math"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// frame builds a packet by hand around payload, so rejection tests do not
// depend on the encoder (which refuses to produce these bytes).
func frame(op Op, payload []byte) []byte {
	b := make([]byte, HeaderLen, HeaderLen+len(payload))
	b[0], b[1], b[2], b[3] = 'N', 'K', 1, byte(op)
	binary.BigEndian.PutUint32(b[8:], 77)
	binary.BigEndian.PutUint32(b[12:], uint32(len(payload)))
	return append(b, payload...)
}

// cat joins byte pieces; strings are taken literally.
func cat(parts ...any) []byte {
	var b []byte
	for _, p := range parts {
		switch v := p.(type) {
		case int:
			b = append(b, byte(v))
		case []byte:
			b = append(b, v...)
		case string:
			b = append(b, v...)
		case [32]byte:
			b = append(b, v[:]...)
		case [64]byte:
			b = append(b, v[:]...)
		default:
			panic("cat: bad part")
		}
	}
	return b
}

func u16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }
func u32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
func i32(v int32) []byte  { return u32(uint32(v)) }

func rep(n int, b ...byte) []byte {
	var out []byte
	for i := 0; i < n; i++ {
		out = append(out, b...)
	}
	return out
}

// vroute builds a VHOOK_ROUTE payload: flags, hops, coordinates, then rest
// (origin, exclude count and addresses, body length and body).
func vroute(flags, hops int, lat, lon int32, rest ...any) []byte {
	return cat(append([]any{flags, hops, i32(lat), i32(lon)}, rest...)...)
}

var (
	ip4 = cat(4, 10, 0, 0, 1)
	ip6 = cat(6, rep(16, 0xfd))
	// vpoint is a valid vnode point at level 0: lat, lon, count.
	vpoint = cat(i32(45000000), i32(-9000000), u16(2))
	// registerBody is a valid ANDNA_REGISTER payload, for embedding.
	registerBody = cat(3, "abc", fill32(1), u32(1), 0, ip4, fill64(2))
)

func TestPayloadRejects(t *testing.T) {
	bitmap := func(ids ...int) []byte {
		b := make([]byte, 32)
		for _, id := range ids {
			b[id/8] |= 0x80 >> (id % 8)
		}
		return b
	}
	bcast := func(flags int, rest ...any) []byte {
		return cat(append([]any{1, 0, 0, flags, u32(1), u32(7), u32(5), u32(6), 8}, rest...)...)
	}
	cases := []struct {
		name    string
		op      Op
		payload []byte
		want    error
	}{
		// Addresses.
		{"echo family 5", OpEchoMe, cat(0, 1, 1, 0, 0, 0, 0, 9, 0, 0, 0, 0, 5, 1, 2, 3, 4), ErrInconsistent},
		{"echo family 4 short", OpEchoMe, cat(0, 1, 1, 0, 0, 0, 0, 9, 0, 0, 0, 0, 4, 1, 2, 3), ErrTruncated},
		{"echo family 6 short", OpEchoMe, cat(0, 1, 1, 0, 0, 0, 0, 9, 0, 0, 0, 0, 6, rep(15, 1)), ErrTruncated},
		{"echo 0.0.0.0", OpEchoMe, cat(0, 1, 1, 0, 0, 0, 0, 9, 0, 0, 0, 0, 4, 0, 0, 0, 0), ErrInconsistent},
		{"echo ::", OpEchoReply, cat(0, 1, 1, 0, 0, 0, 0, 9, 0, 0, 0, 0, 6, rep(16, 0)), ErrInconsistent},
		{"echo no address byte", OpEchoMe, cat(0, 1, 1, 0, 0, 0, 0, 9, 0, 0, 0, 0), ErrTruncated},
		{"echo short nonce", OpEchoMe, cat(0, 1, 1, 0, 0, 0), ErrTruncated},
		{"echo unknown flag", OpEchoMe, cat(0, 1, 1, 8, 0, 0, 0, 9, 0, 0, 0, 0, 0), ErrInconsistent},
		{"echo trailing", OpEchoMe, cat(0, 1, 1, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0), ErrInconsistent},
		// Hellos: flags, the interval, the IHU list.
		{"echo reply wanted without hello", OpEchoMe, cat(0, 1, 1, 4, 0, 0, 0, 9, 0, 0, 0, 0, 0), ErrInconsistent},
		{"echo reply with reply wanted", OpEchoReply, cat(0, 1, 1, 6, 0, 0, 0, 9, 0, 0, 0, 0, 0), ErrInconsistent},
		{"echo reply with a hello part", OpEchoReply, cat(0, 1, 1, 2, 0, 0, 0, 9, 0, 0, 0, 0, 0, u16(500), 0), ErrInconsistent},
		{"echo probe with a hello part", OpEchoMe, cat(0, 1, 1, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, u16(500), 0), ErrInconsistent},
		{"hello without interval", OpEchoMe, cat(0, 1, 1, 2, 0, 0, 0, 9, 0, 0, 0, 0, 0), ErrTruncated},
		{"hello short interval", OpEchoMe, cat(0, 1, 1, 2, 0, 0, 0, 9, 0, 0, 0, 0, 0, 1), ErrTruncated},
		{"hello interval 0", OpEchoMe, cat(0, 1, 1, 2, 0, 0, 0, 9, 0, 0, 0, 0, 0, u16(0), 0), ErrInconsistent},
		{"hello without ihu count", OpEchoMe, cat(0, 1, 1, 2, 0, 0, 0, 9, 0, 0, 0, 0, 0, u16(500)), ErrTruncated},
		{"hello 33 ihu", OpEchoMe, cat(0, 1, 1, 2, 0, 0, 0, 9, 0, 0, 0, 0, 0, u16(500), 33, rep(33, 0, 0, 0, 1, 16)), ErrInconsistent},
		{"hello ihu count beyond the data", OpEchoMe, cat(0, 1, 1, 2, 0, 0, 0, 9, 0, 0, 0, 0, 0, u16(500), 2, u32(5), 16), ErrTruncated},
		{"hello ihu entry cut", OpEchoMe, cat(0, 1, 1, 2, 0, 0, 0, 9, 0, 0, 0, 0, 0, u16(500), 1, u32(5)), ErrTruncated},
		{"hello ihu heard 17", OpEchoMe, cat(0, 1, 1, 2, 0, 0, 0, 9, 0, 0, 0, 0, 0, u16(500), 2, u32(5), 16, u32(6), 17), ErrInconsistent},
		{"hello trailing", OpEchoMe, cat(0, 1, 1, 6, 0, 0, 0, 9, 0, 0, 0, 0, ip4, u16(500), 1, u32(5), 16, 0), ErrInconsistent},
		{"empty with a byte", OpGetFreeNodes, cat(0), ErrInconsistent},
		{"ack with a byte", OpAck, cat(1), ErrInconsistent},

		// PUT_FREE_NODES.
		{"free level 16", OpPutFreeNodes, cat(16, 8, bitmap(1), ip4), ErrInconsistent},
		{"free bits 0", OpPutFreeNodes, cat(0, 0, bitmap(), ip4), ErrInconsistent},
		{"free bits 9", OpPutFreeNodes, cat(0, 9, bitmap(), ip4), ErrInconsistent},
		{"free id beyond bits", OpPutFreeNodes, cat(0, 4, bitmap(3, 16), ip4), ErrInconsistent},
		{"free no address", OpPutFreeNodes, cat(0, 8, bitmap(3), 0), ErrInconsistent},
		{"free short bitmap", OpPutFreeNodes, cat(0, 8, rep(31, 0)), ErrTruncated},

		// PUT_QSPN_ROUND.
		{"round count 17", OpPutQSPNRound, cat(17, rep(17*8, 0)), ErrInconsistent},
		{"round count short", OpPutQSPNRound, cat(2, rep(15, 0)), ErrTruncated},
		{"round trailing", OpPutQSPNRound, cat(1, rep(13, 0)), ErrInconsistent},

		// ROUTE_LOSS.
		{"loss level 16", OpRouteLoss, cat(0, 16, u32(1), u16(1), 4, u32(9)), ErrInconsistent},
		{"loss no entries", OpRouteLoss, cat(0, 1, u32(1), u16(0)), ErrInconsistent},
		{"loss 257 entries", OpRouteLoss, cat(0, 1, u32(1), u16(257), rep(257*5, 0)), ErrInconsistent},
		{"loss entries beyond the data", OpRouteLoss, cat(0, 1, u32(1), u16(2), 4, u32(9)), ErrTruncated},
		{"loss trailing", OpRouteLoss, cat(0, 1, u32(1), u16(1), 4, u32(9), 0), ErrInconsistent},

		// TRACER_PKT / QSPN_*.
		{"bcast level 16", OpTracerPkt, cat(1, 16, 0, 1, u32(1), u32(7), u32(5), u32(6), rep(16, 0), 8, u16(0)), ErrInconsistent},
		{"bcast GATEWAYS, no count", OpTracerPkt, bcast(0x20, u16(0)), ErrTruncated},
		{"bcast GATEWAYS, 0 gateways", OpTracerPkt, bcast(0x20, u16(0), 0), ErrInconsistent},
		{"bcast GATEWAYS, 5 gateways", OpTracerPkt, bcast(0x20, u16(0), 5, rep(20, 1)), ErrInconsistent},
		{"bcast GATEWAYS, no bandwidth", OpTracerPkt, bcast(0x20, u16(0), 1, u32(0)), ErrInconsistent},
		{"bcast GATEWAYS, cut", OpTracerPkt, bcast(0x20, u16(0), 2, u32(1)), ErrTruncated},
		{"bcast VNODES, no count", OpTracerPkt, bcast(0x40, u16(0)), ErrTruncated},
		{"bcast VNODES, 0 points", OpTracerPkt, bcast(0x40, u16(0), 0), ErrInconsistent},
		{"bcast VNODES, 5 points", OpTracerPkt, bcast(0x40, u16(0), 5, rep(5, vpoint...)), ErrInconsistent},
		{"bcast VNODES, count 0", OpTracerPkt, bcast(0x40, u16(0), 1, i32(1), i32(1), u16(0)), ErrInconsistent},
		{"bcast VNODES, lat 90000001", OpTracerPkt, bcast(0x40, u16(0), 1, i32(90000001), i32(0), u16(1)), ErrInconsistent},
		{"bcast VNODES, lat -90000001", OpTracerPkt, bcast(0x40, u16(0), 1, i32(-90000001), i32(0), u16(1)), ErrInconsistent},
		{"bcast VNODES, lon 180000001", OpQSPNOpen, bcast(0x40, u16(0), 1, i32(0), i32(180000001), u16(1)), ErrInconsistent},
		{"bcast VNODES, lon -180000001", OpQSPNClose, bcast(0x40, u16(0), 1, i32(0), i32(-180000001), u16(1)), ErrInconsistent},
		{"bcast VNODES, second point bad", OpTracerPkt, bcast(0x40, u16(0), 2, vpoint, i32(0), i32(0), u16(0)), ErrInconsistent},
		{"bcast VNODES, cut", OpTracerPkt, bcast(0x40, u16(0), 2, vpoint), ErrTruncated},
		{"bcast VNODES, position cut", OpTracerPkt, cat(1, 2, 0, 0x40, u32(1), u32(7), u32(5), u32(6), 3, 4, 8, u16(0), 1, vpoint, 9), ErrTruncated},
		{"bcast vnode points without VNODES", OpTracerPkt, bcast(0, u16(0), 1, vpoint), ErrInconsistent},
		{"bcast VNODES before GATEWAYS", OpTracerPkt, bcast(0x60, u16(0), 1, vpoint, 1, u32(1000)), ErrInconsistent},
		{"bcast unknown flag 0x80", OpQSPNClose, bcast(0x80, u16(0)), ErrInconsistent},
		{"bcast 257 chunks", OpTracerPkt, bcast(1, u16(257), rep(257, 1, 0, 0, 0, 1)), ErrInconsistent},
		{"bcast chunks short", OpTracerPkt, bcast(1, u16(3), rep(2, 1, 0, 0, 0, 1)), ErrTruncated},
		{"bcast huge chunk count", OpTracerPkt, bcast(1, u16(0xffff)), ErrInconsistent},
		{"bcast blocks without BBLOCK", OpTracerPkt, bcast(1, u16(0), u16(1), 5, 0), ErrInconsistent},
		{"bcast BBLOCK without blocks", OpQSPNOpen, bcast(2, u16(0)), ErrTruncated},
		{"bcast BBLOCK zero blocks", OpQSPNOpen, bcast(2, u16(0), u16(0)), ErrInconsistent},
		{"bcast 257 blocks", OpQSPNOpen, bcast(2, u16(0), u16(257), rep(257, 1, 0)), ErrInconsistent},
		{"bcast block links short", OpQSPNOpen, bcast(2, u16(0), u16(1), 5, 2, 1, 0, u32(1)), ErrTruncated},
		{"bcast link level 16", OpQSPNOpen, bcast(2, u16(0), u16(1), 5, 1, 1, 16, u32(1)), ErrInconsistent},
		{"bcast blocks short", OpQSPNOpen, bcast(2, u16(0), u16(2), 5, 0), ErrTruncated},
		{"bcast trailing", OpQSPNClose, bcast(0, u16(1), 1, u32(2), 0), ErrInconsistent},

		// ANDNA_REGISTER.
		{"register empty hostname", OpAndnaRegister, cat(0, fill32(1), u32(1), 0, ip4, fill64(2)), ErrInconsistent},
		{"register uppercase", OpAndnaRegister, cat(3, "aBc", fill32(1), u32(1), 0, ip4, fill64(2)), ErrInconsistent},
		{"register underscore", OpAndnaRegister, cat(3, "a_c", fill32(1), u32(1), 0, ip4, fill64(2)), ErrInconsistent},
		{"register double dot", OpAndnaRegister, cat(4, "a..c", fill32(1), u32(1), 0, ip4, fill64(2)), ErrInconsistent},
		{"register 254-byte name", OpAndnaRegister, cat(254, rep(254, 'a'), fill32(1), u32(1), 0, ip4, fill64(2)), ErrInconsistent},
		{"register name longer than packet", OpAndnaRegister, cat(200, "abc"), ErrTruncated},
		{"register unknown flag", OpAndnaRegister, cat(3, "abc", fill32(1), u32(1), 2, ip4, fill64(2)), ErrInconsistent},
		{"register no address", OpAndnaRegister, cat(3, "abc", fill32(1), u32(1), 0, 0, fill64(2)), ErrInconsistent},
		{"register short signature", OpAndnaRegister, cat(3, "abc", fill32(1), u32(1), 0, ip4, rep(63, 0)), ErrTruncated},
		{"register trailing", OpAndnaRegister, cat(registerBody, 0), ErrInconsistent},

		// ANDNA_CHECK_COUNTER.
		{"check no asker", OpAndnaCheckCounter, cat(0, u16(uint16(len(registerBody))), registerBody), ErrInconsistent},
		{"check length too long", OpAndnaCheckCounter, cat(ip4, u16(uint16(len(registerBody)+1)), registerBody), ErrTruncated},
		{"check length too short", OpAndnaCheckCounter, cat(ip4, u16(uint16(len(registerBody)-1)), registerBody), ErrTruncated},
		{"check inner trailing", OpAndnaCheckCounter, cat(ip4, u16(uint16(len(registerBody)+1)), registerBody, 0), ErrInconsistent},
		{"check bad inner hostname", OpAndnaCheckCounter, cat(ip4, u16(uint16(len(registerBody))), 3, "A-c", registerBody[4:]), ErrInconsistent},
		{"check trailing", OpAndnaCheckCounter, cat(ip4, u16(uint16(len(registerBody))), registerBody, 0), ErrInconsistent},

		// Other ANDNA payloads.
		{"counter reply short", OpAndnaCounterReply, cat(0, 1, 0), ErrTruncated},
		{"counter reply trailing", OpAndnaCounterReply, cat(0, 1, 0, 0, 0), ErrInconsistent},
		{"resolve unknown flag", OpAndnaResolve, cat(0x80, 1, "a"), ErrInconsistent},
		{"resolve trailing dot", OpAndnaResolve, cat(0, 2, "a."), ErrInconsistent},
		{"resolve label ends with hyphen", OpAndnaResolve, cat(0, 4, "ab-."), ErrInconsistent},
		{"resolve high byte", OpAndnaResolve, cat(0, 2, "a", 0xc3), ErrInconsistent},
		{"resolve label 64", OpAndnaResolve, cat(0, 64, rep(64, 'x')), ErrInconsistent},
		{"resolve reply no address", OpAndnaResolveReply, cat(u32(1), u32(1), 0), ErrInconsistent},
		{"reverse reply count short", OpAndnaReverseReply, cat(2, u32(1), 1, "a"), ErrTruncated},
		{"reverse reply bad name", OpAndnaReverseReply, cat(1, u32(1), 1, "-"), ErrInconsistent},
		{"reverse reply empty name", OpAndnaReverseReply, cat(1, u32(1), 0, 0), ErrInconsistent},
		{"get cache level 16", OpAndnaGetCache, cat(16), ErrInconsistent},
		{"get cache two bytes", OpAndnaGetCache, cat(1, 1), ErrInconsistent},
		{"put cache 4097", OpAndnaPutCache, cat(u16(4097)), ErrInconsistent},
		{"put cache count short", OpAndnaPutCache, cat(u16(2), fill32(0), fill32(0), u32(0), u32(0), 0, ip4), ErrTruncated},
		{"put cache queue position 5", OpAndnaPutCache, cat(u16(1), fill32(0), fill32(0), u32(0), u32(0), 5, ip4), ErrInconsistent},
		{"put cache no address", OpAndnaPutCache, cat(u16(1), fill32(0), fill32(0), u32(0), u32(0), 0, 0, 0, 0, 0, 0), ErrInconsistent},
		{"get queue bad name", OpAndnaGetQueue, cat(3, "a b"), ErrInconsistent},
		{"get queue empty payload", OpAndnaGetQueue, nil, ErrTruncated},
		{"put queue 6", OpAndnaPutQueue, cat(6, rep(6, 0, 0, 0, 1, 4, 10, 0, 0, 1)), ErrInconsistent},
		{"put queue no address", OpAndnaPutQueue, cat(1, u32(1), 0, 0, 0, 0, 0), ErrInconsistent},
		{"put queue short", OpAndnaPutQueue, cat(2, u32(1), ip4), ErrTruncated},

		// ROUTED.
		{"routed ttl 0", OpRouted, cat(0, 0, 0, ip4, ip4, u16(16), rep(16, 0)), ErrInconsistent},
		{"routed ttl 65", OpRouted, cat(0, 65, 0, ip4, ip4, u16(16), rep(16, 0)), ErrInconsistent},
		{"routed unknown flag", OpRouted, cat(2, 1, 0, ip4, ip4, u16(16), rep(16, 0)), ErrInconsistent},
		{"routed level 16", OpRouted, cat(0, 1, 16, ip4, ip4, u16(16), rep(16, 0)), ErrInconsistent},
		{"routed families differ", OpRouted, cat(0, 1, 0, ip4, ip6, u16(16), rep(16, 0)), ErrInconsistent},
		{"routed inner too short", OpRouted, cat(0, 1, 0, ip4, ip4, u16(15), rep(15, 0)), ErrInconsistent},
		{"routed inner cut", OpRouted, cat(0, 1, 0, ip4, ip4, u16(20), rep(16, 0)), ErrTruncated},

		// VHOOK_ROUTE.
		{"vroute unknown flag", OpVHookRoute, vroute(4, 0, 0, 0, ip4, 0, u16(0)), ErrInconsistent},
		{"vroute hops 33", OpVHookRoute, vroute(0, 33, 0, 0, ip4, 0, u16(0)), ErrInconsistent},
		{"vroute hops 255", OpVHookRoute, vroute(1, 255, 0, 0, ip4, 0, u16(0)), ErrInconsistent},
		{"vroute lat 90000001", OpVHookRoute, vroute(2, 0, 90000001, 0, ip4, 0, u16(0)), ErrInconsistent},
		{"vroute lat -90000001", OpVHookRoute, vroute(2, 0, -90000001, 0, ip4, 0, u16(0)), ErrInconsistent},
		{"vroute lon 180000001", OpVHookRoute, vroute(2, 0, 0, 180000001, ip4, 0, u16(0)), ErrInconsistent},
		{"vroute lon -180000001", OpVHookRoute, vroute(2, 0, 0, -180000001, ip4, 0, u16(0)), ErrInconsistent},
		{"vroute coordinates without COORDS", OpVHookRoute, vroute(1, 0, 0, 1, ip4, 0, u16(0)), ErrInconsistent},
		{"vroute no origin", OpVHookRoute, vroute(0, 0, 0, 0, 0, 0, u16(0)), ErrInconsistent},
		{"vroute origin 0.0.0.0", OpVHookRoute, vroute(0, 0, 0, 0, 4, 0, 0, 0, 0, 0, u16(0)), ErrInconsistent},
		{"vroute origin family 5", OpVHookRoute, vroute(0, 0, 0, 0, 5, 1, 2, 3, 4, 0, u16(0)), ErrInconsistent},
		{"vroute 9 excludes", OpVHookRoute, vroute(0, 0, 0, 0, ip4, 9, rep(9, ip4...), u16(0)), ErrInconsistent},
		{"vroute huge exclude count", OpVHookRoute, vroute(0, 0, 0, 0, ip4, 255), ErrInconsistent},
		{"vroute excludes beyond the data", OpVHookRoute, vroute(0, 0, 0, 0, ip4, 3, ip4, u16(0)), ErrTruncated},
		{"vroute v6 exclude, v4 origin", OpVHookRoute, vroute(0, 0, 0, 0, ip4, 1, ip6, u16(0)), ErrInconsistent},
		{"vroute v4 exclude, v6 origin", OpVHookRoute, vroute(0, 0, 0, 0, ip6, 2, ip6, ip4, rep(12, 0), u16(0)), ErrInconsistent},
		{"vroute exclude family 0", OpVHookRoute, vroute(0, 0, 0, 0, ip4, 1, 0, 0, 0, 0, 0, u16(0)), ErrInconsistent},
		{"vroute exclude unspecified", OpVHookRoute, vroute(0, 0, 0, 0, ip4, 1, 4, 0, 0, 0, 0, u16(0)), ErrInconsistent},
		{"vroute body 2049", OpVHookRoute, vroute(0, 0, 0, 0, ip4, 0, u16(2049), rep(2049, 'x')), ErrInconsistent},
		{"vroute body 65535", OpVHookRoute, vroute(0, 0, 0, 0, ip4, 0, u16(0xffff)), ErrInconsistent},
		{"vroute body cut", OpVHookRoute, vroute(0, 0, 0, 0, ip4, 0, u16(5), "abc"), ErrTruncated},
		{"vroute no body length", OpVHookRoute, vroute(0, 0, 0, 0, ip4, 0), ErrTruncated},
		{"vroute short coordinates", OpVHookRoute, cat(2, 0, i32(1), 0, 0), ErrTruncated},
		{"vroute trailing", OpVHookRoute, vroute(0, 0, 0, 0, ip4, 0, u16(1), "a", 0), ErrInconsistent},

		// NACK.
		{"nack code 0", OpNack, cat(u16(0), 0), ErrInconsistent},
		{"nack reason newline", OpNack, cat(u16(1), 2, "a\n"), ErrInconsistent},
		{"nack reason del", OpNack, cat(u16(1), 1, 0x7f), ErrInconsistent},
		{"nack reason short", OpNack, cat(u16(1), 5, "abc"), ErrTruncated},
		{"nack trailing", OpNack, cat(u16(1), 0, 0), ErrInconsistent},
	}
	var d Decoder
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := NewPayload(c.op)
			wantErr(t, p.Decode(c.payload), c.want, "payload Decode")
			b := frame(c.op, c.payload)
			h, _, err := Decode(b)
			wantErr(t, err, c.want, "Decode")
			if h.ID != 77 || h.Op != c.op {
				t.Fatalf("header not kept after a payload error: %+v", h)
			}
			_, _, err = d.Decode(b)
			wantErr(t, err, c.want, "Decoder.Decode")
		})
	}
}

// Hand-built bytes that must be accepted: the edges of each limit.
func TestPayloadAcceptsLimits(t *testing.T) {
	cases := []struct {
		name    string
		op      Op
		payload []byte
	}{
		{"echo v6", OpEchoMe, cat(0, 1, 1, 1, 0, 0, 0, 9, 0, 0, 0, 0, 6, rep(16, 1))},
		{"hello 32 ihu, longest interval", OpEchoMe, cat(0, 1, 1, 7, 0, 0, 0, 9, 0, 0, 0, 0, 6, rep(16, 1), u16(0xffff), 32, rep(32, 0xff, 0xff, 0xff, 0xff, 16))},
		{"hello no ihu", OpEchoMe, cat(0, 1, 1, 2, 0, 0, 0, 9, 0, 0, 0, 0, 0, u16(1), 0)},
		{"reply to a hello", OpEchoReply, cat(0, 1, 1, 3, 0, 0, 0, 9, 0, 0, 0, 0, 0)},
		{"free bits 1", OpPutFreeNodes, cat(15, 1, 0xc0, rep(31, 0), ip4)},
		{"16 rounds", OpPutQSPNRound, cat(16, rep(16*12, 9))},
		{"0 rounds", OpPutQSPNRound, cat(0)},
		{"256 chunks", OpTracerPkt, cat(1, 15, 0, 0x1f, u32(1), u32(7), u32(5), u32(6), rep(15, 2), 0, u16(256), rep(256, 1, 0, 0, 0, 1), u16(1), 1, 0)},
		{"256 blocks of 255 links would not fit; 256 small ones do", OpQSPNOpen, cat(1, 0, 0, 2, u32(1), u32(7), u32(5), u32(6), 0, u16(0), u16(256), rep(256, 1, 1, 2, 3, 0, 0, 0, 4))},
		{"253-byte name", OpAndnaResolve, cat(0, 253, rep(63, 'a'), ".", rep(63, 'b'), ".", rep(63, 'c'), ".", rep(61, 'd'))},
		{"empty reverse reply", OpAndnaReverseReply, cat(0)},
		{"get cache all", OpAndnaGetCache, nil},
		{"empty put cache", OpAndnaPutCache, cat(u16(0))},
		{"5 queue entries", OpAndnaPutQueue, cat(5, rep(5, 0, 0, 0, 1, 4, 10, 0, 0, 1))},
		{"nack unknown code, empty reason", OpNack, cat(u16(999), 0)},
		{"nack 255-byte reason", OpNack, cat(u16(1), 255, rep(255, '~'))},
		{"empty map body", OpPutExtMap, nil},
		{"4 vnode points at level 15, at the coordinate edges", OpQSPNClose, cat(1, 15, 0, 0x40, u32(1), u32(7), u32(5), u32(6), rep(15, 2), 0, u16(0), 4,
			i32(90000000), i32(180000000), u16(1), rep(15, 0xff), i32(-90000000), i32(-180000000), u16(0xffff), rep(15, 0),
			i32(0), i32(0), u16(1), rep(15, 1), i32(1), i32(-1), u16(2), rep(15, 3))},
		{"gateways and vnode points at level 0", OpTracerPkt, cat(1, 0, 0, 0x61, u32(1), u32(7), u32(5), u32(6), 8, u16(1), 0, u32(0), 1, u32(1000), 1, vpoint)},
		{"vroute minimal", OpVHookRoute, vroute(0, 0, 0, 0, ip4, 0, u16(0))},
		{"vroute at every limit", OpVHookRoute, vroute(3, 32, -90000000, 180000000, ip6, 8, rep(8, ip6...), u16(2048), rep(2048, 0xff))},
		{"vroute coordinates 0 with COORDS", OpVHookRoute, vroute(2, 1, 0, 0, ip6, 1, cat(6, rep(16, 1)), u16(1), 0)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := frame(c.op, c.payload)
			_, p, err := Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			b2, err := Encode(77, p)
			if err != nil {
				t.Fatal(err)
			}
			if string(b2) != string(b) {
				t.Fatalf("re-encoded\n%x\nwant\n%x", b2, b)
			}
		})
	}
}

func TestSizeLimits(t *testing.T) {
	// A map body of exactly MaxPayload bytes is fine, one more is not.
	body := make([]byte, MaxPayload)
	b, err := Encode(1, &MapBody{Kind: OpPutIntMap, Body: body})
	if err != nil || len(b) != HeaderLen+MaxPayload {
		t.Fatalf("max body: %v", err)
	}
	if _, _, err := Decode(b); err != nil {
		t.Fatal(err)
	}
	_, err = Encode(1, &MapBody{Kind: OpPutIntMap, Body: make([]byte, MaxPayload+1)})
	wantErr(t, err, ErrOversized, "body over MaxPayload")
	wantErr(t, (&MapBody{Kind: OpPutIntMap}).Decode(make([]byte, MaxPayload+1)), ErrOversized, "decode body over MaxPayload")

	// 4096 cache records with IPv6 addresses do not fit in MaxPayload.
	pc := &PutCache{Records: make([]CacheRecord, MaxCacheRecords)}
	for i := range pc.Records {
		pc.Records[i].Addr = v6a
	}
	_, err = Encode(1, pc)
	wantErr(t, err, ErrOversized, "4096 IPv6 records")
	pc.Records = pc.Records[:MaxPayload/(cacheRecordFixed+17)]
	if _, err := Encode(1, pc); err != nil {
		t.Fatalf("%d IPv6 records: %v", len(pc.Records), err)
	}

	// 256 bnode blocks of 255 links each exceed MaxPayload.
	big := sampleTracer(OpTracerPkt, 256, 256, 255)
	_, err = Encode(1, big)
	wantErr(t, err, ErrOversized, "maximal tracer")
	big = sampleTracer(OpTracerPkt, 256, 150, 255)
	b, err = Encode(1, big)
	if err != nil {
		t.Fatalf("large tracer: %v", err)
	}
	if _, _, err := Decode(b); err != nil {
		t.Fatal(err)
	}
}

func TestEncodeRejects(t *testing.T) {
	zoned := netip.MustParseAddr("fe80::1%eth0")
	reg := sampleRegister()
	cases := []struct {
		name string
		p    Payload
		want error
	}{
		{"nil", nil, ErrUnknownOp},
		{"empty zero kind", &Empty{}, ErrUnknownOp},
		{"empty wrong kind", &Empty{Kind: OpEchoMe}, ErrUnknownOp},
		{"echo zero kind", &Echo{}, ErrUnknownOp},
		{"map zero kind", &MapBody{}, ErrUnknownOp},
		{"broadcast zero kind", &Broadcast{}, ErrUnknownOp},
		{"broadcast echo kind", &Broadcast{Kind: OpEchoMe}, ErrUnknownOp},
		{"echo zoned", &Echo{Kind: OpEchoMe, Addr: zoned}, ErrInconsistent},
		{"echo unspecified", &Echo{Kind: OpEchoMe, Addr: netip.IPv4Unspecified()}, ErrInconsistent},
		{"echo flag", &Echo{Kind: OpEchoMe, Flags: 0x10}, ErrInconsistent},
		{"echo reply wanted without hello", &Echo{Kind: OpEchoMe, Flags: EchoReplyWanted}, ErrInconsistent},
		{"echo reply with reply wanted", &Echo{Kind: OpEchoReply, Flags: EchoHello | EchoReplyWanted}, ErrInconsistent},
		{"echo interval on a probe", &Echo{Kind: OpEchoMe, Interval: 500}, ErrInconsistent},
		{"echo ihu on a reply", &Echo{Kind: OpEchoReply, Flags: EchoHello, IHU: []IHU{{Nonce: 1, Heard: 1}}}, ErrInconsistent},
		{"hello interval 0", &Echo{Kind: OpEchoMe, Flags: EchoHello}, ErrInconsistent},
		{"hello 33 ihu", &Echo{Kind: OpEchoMe, Flags: EchoHello, Interval: 500, IHU: make([]IHU, 33)}, ErrInconsistent},
		{"hello heard 17", &Echo{Kind: OpEchoMe, Flags: EchoHello, Interval: 500, IHU: []IHU{{Nonce: 1, Heard: 17}}}, ErrInconsistent},
		{"free no addr", &PutFreeNodes{Bits: 8}, ErrInconsistent},
		{"free bits 0", &PutFreeNodes{Addr: v4a}, ErrInconsistent},
		{"free level", &PutFreeNodes{Level: 16, Bits: 8, Addr: v4a}, ErrInconsistent},
		{"free beyond", &PutFreeNodes{Bits: 2, Free: [32]byte{0x08}, Addr: v4a}, ErrInconsistent},
		{"rounds 17", &PutQSPNRound{Rounds: make([]QSPNRound, 17)}, ErrInconsistent},
		{"loss no entries", &Loss{Level: 1}, ErrInconsistent},
		{"loss level", &Loss{Level: 16, Entries: []LossEntry{{}}}, ErrInconsistent},
		{"loss 257 entries", &Loss{Entries: make([]LossEntry, 257)}, ErrInconsistent},
		{"bcast level", &Broadcast{Kind: OpTracerPkt, Level: 16}, ErrInconsistent},
		{"bcast origin beyond level", &Broadcast{Kind: OpTracerPkt, Level: 1, Origin: [MaxLevels]uint8{1, 2}}, ErrInconsistent},
		{"bcast flag", &Broadcast{Kind: OpTracerPkt, Flags: 0x80}, ErrInconsistent},
		{"bcast 257 chunks", &Broadcast{Kind: OpTracerPkt, Chunks: make([]Chunk, 257)}, ErrInconsistent},
		{"bcast BBLOCK no blocks", &Broadcast{Kind: OpTracerPkt, Flags: BcastBBlock}, ErrInconsistent},
		{"bcast GATEWAYS none", &Broadcast{Kind: OpTracerPkt, Flags: BcastGateways}, ErrInconsistent},
		{"bcast gateways no flag", &Broadcast{Kind: OpTracerPkt, Gateways: []Gateway{{Bandwidth: 1}}}, ErrInconsistent},
		{"bcast 5 gateways", &Broadcast{Kind: OpTracerPkt, Flags: BcastGateways, Gateways: make([]Gateway, 5)}, ErrInconsistent},
		{"bcast gateway no bandwidth", &Broadcast{Kind: OpTracerPkt, Flags: BcastGateways, Gateways: []Gateway{{}}}, ErrInconsistent},
		{"bcast gateway beyond level", &Broadcast{Kind: OpTracerPkt, Level: 1, Flags: BcastGateways, Gateways: []Gateway{{Bandwidth: 1, Position: [MaxLevels]uint8{1, 2}}}}, ErrInconsistent},
		{"bcast VNODES none", &Broadcast{Kind: OpTracerPkt, Flags: BcastVnodes}, ErrInconsistent},
		{"bcast vnodes no flag", &Broadcast{Kind: OpTracerPkt, Vnodes: []VnodePoint{{Count: 1}}}, ErrInconsistent},
		{"bcast 5 vnode points", &Broadcast{Kind: OpTracerPkt, Flags: BcastVnodes, Vnodes: slices.Repeat([]VnodePoint{{Count: 1}}, 5)}, ErrInconsistent},
		{"bcast vnode count 0", &Broadcast{Kind: OpTracerPkt, Flags: BcastVnodes, Vnodes: []VnodePoint{{Count: 1}, {Lat: 1, Lon: 1}}}, ErrInconsistent},
		{"bcast vnode lat 90000001", &Broadcast{Kind: OpTracerPkt, Flags: BcastVnodes, Vnodes: []VnodePoint{{Lat: 90000001, Count: 1}}}, ErrInconsistent},
		{"bcast vnode lat -90000001", &Broadcast{Kind: OpTracerPkt, Flags: BcastVnodes, Vnodes: []VnodePoint{{Lat: -90000001, Count: 1}}}, ErrInconsistent},
		{"bcast vnode lon 180000001", &Broadcast{Kind: OpTracerPkt, Flags: BcastVnodes, Vnodes: []VnodePoint{{Lon: 180000001, Count: 1}}}, ErrInconsistent},
		{"bcast vnode lon min int32", &Broadcast{Kind: OpTracerPkt, Flags: BcastVnodes, Vnodes: []VnodePoint{{Lon: math.MinInt32, Count: 1}}}, ErrInconsistent},
		{"bcast vnode position beyond level", &Broadcast{Kind: OpTracerPkt, Level: 1, Flags: BcastVnodes, Vnodes: []VnodePoint{{Count: 1, Position: [MaxLevels]uint8{1, 2}}}}, ErrInconsistent},
		{"bcast vnode position at level 0", &Broadcast{Kind: OpTracerPkt, Flags: BcastVnodes, Vnodes: []VnodePoint{{Count: 1, Position: [MaxLevels]uint8{15: 1}}}}, ErrInconsistent},
		{"bcast blocks no BBLOCK", &Broadcast{Kind: OpTracerPkt, Blocks: []BnodeBlock{{}}}, ErrInconsistent},
		{"bcast 257 blocks", &Broadcast{Kind: OpTracerPkt, Flags: BcastBBlock, Blocks: make([]BnodeBlock, 257)}, ErrInconsistent},
		{"bcast 256 links", &Broadcast{Kind: OpTracerPkt, Flags: BcastBBlock, Blocks: []BnodeBlock{{Links: make([]BnodeLink, 256)}}}, ErrInconsistent},
		{"bcast link level", &Broadcast{Kind: OpTracerPkt, Flags: BcastBBlock, Blocks: []BnodeBlock{{Links: []BnodeLink{{Level: 99}}}}}, ErrInconsistent},
		{"register bad name", &Register{Hostname: "a_b", Addr: v4a}, ErrInconsistent},
		{"register no addr", &Register{Hostname: "ab"}, ErrInconsistent},
		{"register flag", &Register{Hostname: "ab", Addr: v4a, Flags: 4}, ErrInconsistent},
		{"check no asker", &CheckCounter{Request: reg}, ErrInconsistent},
		{"check bad request", &CheckCounter{Asker: v4a}, ErrInconsistent},
		{"resolve bad name", &Resolve{Hostname: "x."}, ErrInconsistent},
		{"resolve flag", &Resolve{Hostname: "x", Flags: 4}, ErrInconsistent},
		{"resolve reply no addr", &ResolveReply{}, ErrInconsistent},
		{"reverse 256 names", &ReverseReply{Names: make([]ReverseName, 256)}, ErrInconsistent},
		{"reverse bad name", &ReverseReply{Names: []ReverseName{{Hostname: "UP"}}}, ErrInconsistent},
		{"get cache level without flag", &GetCache{Level: 1}, ErrInconsistent},
		{"get cache level 16", &GetCache{HasLevel: true, Level: 16}, ErrInconsistent},
		{"put cache 4097", &PutCache{Records: make([]CacheRecord, 4097)}, ErrInconsistent},
		{"put cache queue pos", &PutCache{Records: []CacheRecord{{QueuePos: 5, Addr: v4a}}}, ErrInconsistent},
		{"put cache no addr", &PutCache{Records: []CacheRecord{{}}}, ErrInconsistent},
		{"get queue empty name", &GetQueue{}, ErrInconsistent},
		{"put queue 6", &PutQueue{Entries: make([]QueueEntry, 6)}, ErrInconsistent},
		{"put queue zoned", &PutQueue{Entries: []QueueEntry{{Addr: zoned}}}, ErrInconsistent},
		{"vroute flag", &VHookRoute{Flags: 4, Origin: v4a}, ErrInconsistent},
		{"vroute hops 33", &VHookRoute{Hops: 33, Origin: v4a}, ErrInconsistent},
		{"vroute lat 90000001", &VHookRoute{Flags: VRouteCoords, Lat: 90000001, Origin: v4a}, ErrInconsistent},
		{"vroute lon -180000001", &VHookRoute{Flags: VRouteCoords, Lon: -180000001, Origin: v4a}, ErrInconsistent},
		{"vroute coordinates without COORDS", &VHookRoute{Lat: 1, Origin: v4a}, ErrInconsistent},
		{"vroute no origin", &VHookRoute{}, ErrInconsistent},
		{"vroute zoned origin", &VHookRoute{Origin: zoned}, ErrInconsistent},
		{"vroute unspecified origin", &VHookRoute{Origin: netip.IPv6Unspecified()}, ErrInconsistent},
		{"vroute 9 excludes", &VHookRoute{Origin: v4a, Exclude: slices.Repeat([]netip.Addr{v4b}, 9)}, ErrInconsistent},
		{"vroute mixed families", &VHookRoute{Origin: v4a, Exclude: []netip.Addr{v4b, v6a}}, ErrInconsistent},
		{"vroute v4 exclude, v6 origin", &VHookRoute{Origin: v6a, Exclude: []netip.Addr{v4b}}, ErrInconsistent},
		{"vroute zero exclude", &VHookRoute{Origin: v4a, Exclude: []netip.Addr{{}}}, ErrInconsistent},
		{"vroute zoned exclude", &VHookRoute{Origin: v6a, Exclude: []netip.Addr{zoned}}, ErrInconsistent},
		{"vroute body 2049", &VHookRoute{Origin: v4a, Body: make([]byte, MaxVRouteBody+1)}, ErrInconsistent},
		{"nack code 0", &Nack{}, ErrInconsistent},
		{"nack long reason", &Nack{Code: 1, Reason: strings.Repeat("a", 256)}, ErrInconsistent},
		{"nack non-ascii reason", &Nack{Code: 1, Reason: "né"}, ErrInconsistent},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Encode(1, c.p)
			wantErr(t, err, c.want, "Encode")
			if c.p == nil {
				return
			}
			_, err = Append(nil, 1, c.p)
			wantErr(t, err, c.want, "Append")
		})
	}
	// AppendHeader refuses what the decoder would refuse.
	bad := []Header{{Op: 0}, {Op: 0x80}, {Op: OpAck, Flags: 1}}
	for _, h := range bad {
		if b, err := AppendHeader([]byte("x"), h); err == nil || string(b) != "x" {
			t.Fatalf("header %+v appended: %x %v", h, b, err)
		}
	}
	// So does AppendPayload, and it leaves dst alone.
	if b, err := AppendPayload([]byte("x"), &Nack{}); !errors.Is(err, ErrInconsistent) || string(b) != "x" {
		t.Fatalf("AppendPayload of a NACK with code 0: %x %v", b, err)
	}
}
