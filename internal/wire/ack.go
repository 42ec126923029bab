package wire

import ()

// Nack is the payload of NACK: a request was refused.
//
//	off size field
//	0   2    error code (Code, never 0)
//	2   1    reason length n (0..255)
//	3   n    reason: printable ASCII (0x20..0x7e), for logs only
//
// Receivers act on Code alone; codes they do not know mean CodeInternal.
type Nack struct {
	Code   Code
	Reason string
}

func (p *Nack) Op() Op { return OpNack }

// Decode decodes the payload bytes of one packet into p.
func (p *Nack) Decode(data []byte) error {
	old := p.Reason
	*p = Nack{}
	r := start(data, OpNack)
	p.Code = Code(r.u16("code"))
	if r.err == nil && p.Code == CodeOK {
		r.setErr(ErrInconsistent, "code", 0, "NACK with code 0")
	}
	n := int(r.u8("reason length"))
	off := r.off
	if b := r.take(n, "reason"); b != nil {
		if i := nonPrintable(b); i >= 0 {
			r.setErr(ErrInconsistent, "reason", off+i, "byte 0x%02x is not printable ASCII", b[i])
		} else {
			p.Reason = internString(old, b)
		}
	}
	return r.done()
}

func nonPrintable[T string | []byte](s T) int {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return i
		}
	}
	return -1
}

func (p *Nack) size() (int, error) {
	op := OpNack.String()
	if p.Code == CodeOK {
		return 0, encErr(ErrInconsistent, op, "code", "NACK with code 0")
	}
	if len(p.Reason) > MaxReasonLen {
		return 0, encErr(ErrInconsistent, op, "reason", "%d bytes > %d", len(p.Reason), MaxReasonLen)
	}
	if i := nonPrintable(p.Reason); i >= 0 {
		return 0, encErr(ErrInconsistent, op, "reason", "byte %d (0x%02x) is not printable ASCII", i, p.Reason[i])
	}
	return 3 + len(p.Reason), nil
}

func (p *Nack) put(b []byte) {
	w := writer{b: b}
	w.u16(uint16(p.Code))
	w.u8(uint8(len(p.Reason)))
	w.str(p.Reason)
}
