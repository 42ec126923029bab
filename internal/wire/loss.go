package wire

import (
	"slices"
)

// LossUnreachable is the cost of a LossEntry whose element the sender no
// longer reaches, or reaches only back through the receiver.
const LossUnreachable = ^uint32(0)

// LossEntry is the sender's new cost to one element of the packet's level.
type LossEntry struct {
	ID   uint8
	Cost uint32
}

// Loss is ROUTE_LOSS: a node that lost its best route to some elements
// tells each neighbour, at once, what those routes cost through it now, so
// that nodes upstream stop sending into the loss before the QSPN round
// repairs the maps (docs/QSPN.md "Losses").
//
//	off  size  field
//	0    1     gnode id: the gnode of level L+1 the elements are in
//	1    1     level L (< 16)
//	2    4     QSPN round id of level L at the sender
//	6    2     entry count n (1..256)
//	8    5n    {element id u8, cost u32}; 0xffffffff: unreachable through the sender
type Loss struct {
	Gnode   uint8
	Level   uint8
	Round   uint32
	Entries []LossEntry
}

const lossEntryLen = 5

func (p *Loss) Op() Op { return OpRouteLoss }

// Decode decodes the payload bytes of one packet into p.
func (p *Loss) Decode(data []byte) error {
	*p = Loss{Entries: p.Entries[:0]}
	r := start(data, OpRouteLoss)
	p.Gnode = r.u8("gnode")
	p.Level = r.level("level")
	p.Round = r.u32("round")
	off := r.off
	n := int(r.u16("entry count"))
	if r.err == nil && (n == 0 || n > MaxChunks) {
		r.setErr(ErrInconsistent, "entry count", off, "%d entries, want 1..%d", n, MaxChunks)
	}
	if r.need(n*lossEntryLen, "entries") {
		p.Entries = slices.Grow(p.Entries, n)
		for i := 0; i < n; i++ {
			p.Entries = append(p.Entries, LossEntry{ID: r.u8("element id"), Cost: r.u32("cost")})
		}
	}
	return r.done()
}

func (p *Loss) size() (int, error) {
	if p.Level >= MaxLevels {
		return 0, encErr(ErrInconsistent, OpRouteLoss.String(), "level", "level %d >= %d", p.Level, MaxLevels)
	}
	if n := len(p.Entries); n == 0 || n > MaxChunks {
		return 0, encErr(ErrInconsistent, OpRouteLoss.String(), "entry count", "%d entries, want 1..%d", n, MaxChunks)
	}
	return 8 + lossEntryLen*len(p.Entries), nil
}

func (p *Loss) put(b []byte) {
	w := writer{b: b}
	w.u8(p.Gnode)
	w.u8(p.Level)
	w.u32(p.Round)
	w.u16(uint16(len(p.Entries)))
	for _, e := range p.Entries {
		w.u8(e.ID)
		w.u32(e.Cost)
	}
}
