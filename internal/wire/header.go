package wire

import (
	"encoding/binary"
	"io"
	"slices"
)

// Header constants.
const (
	Magic0  = 'N'
	Magic1  = 'K'
	Version = 1
)

// HeaderFlags are the header's flag bits. Version 1 defines none: decoders
// reject any set bit and encoders refuse them. Bit 0 is reserved for a future
// "authenticated" trailer (see docs/PROTOCOL.md).
type HeaderFlags uint16

// Header is the 16-byte header in front of every packet.
type Header struct {
	Op    Op
	Flags HeaderFlags // always 0 in version 1
	// ID matches replies to requests; in broadcasts (TRACER_PKT, QSPN_*) it
	// is the broadcast id that the broadcast cache compares.
	ID uint32
	// Length is the number of payload bytes after the header. Encode and
	// Append fill it in.
	Length uint32
}

// PayloadLen validates the framing fields of a header (magic, version,
// length <= MaxPayload) in the first HeaderLen bytes of hdr and returns how
// many payload bytes follow. Stream readers use it to cut frames; flags,
// reserved bits and the op are checked later by the decoder, so a stream can
// skip (and NACK) a well-framed packet it does not understand without losing
// sync.
func PayloadLen(hdr []byte) (int, error) {
	if len(hdr) < HeaderLen {
		return 0, &Error{Layer: "header", Field: "header", Offset: 0, Detail: "short header", Err: ErrTruncated}
	}
	r := reader{b: hdr[:HeaderLen], layer: "header"}
	checkFraming(&r)
	if r.err != nil {
		return 0, r.err
	}
	return int(binary.BigEndian.Uint32(hdr[12:16])), nil
}

// checkFraming checks magic, version and the length limit.
func checkFraming(r *reader) {
	if r.b[0] != Magic0 || r.b[1] != Magic1 {
		r.setErr(ErrBadMagic, "magic", 0, "0x%02x%02x", r.b[0], r.b[1])
		return
	}
	if r.b[2] != Version {
		r.setErr(ErrBadVersion, "version", 2, "version %d, want %d", r.b[2], Version)
		return
	}
	if n := binary.BigEndian.Uint32(r.b[12:16]); n > MaxPayload {
		r.setErr(ErrOversized, "length", 12, "%d > %d", n, MaxPayload)
	}
}

// ReadFrame reads one packet (header and payload) from a stream into buf,
// growing it if needed, and returns the frame. It returns io.EOF only when
// the stream ends cleanly between frames. The frame still needs Decode.
func ReadFrame(r io.Reader, buf []byte) ([]byte, error) {
	buf = slices.Grow(buf[:0], HeaderLen)[:HeaderLen]
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, err
	}
	n, err := PayloadLen(buf)
	if err != nil {
		return nil, err
	}
	buf = slices.Grow(buf, n)[:HeaderLen+n]
	if _, err := io.ReadFull(r, buf[HeaderLen:]); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return buf, nil
}

// Decode decodes a whole datagram's header: data must hold exactly
// the header and Length payload bytes (a shorter buffer is ErrTruncated, a
// longer one ErrInconsistent).
//
// When the frame itself is sound but the header is not acceptable (unknown
// op, flag or reserved bits), the error is returned with Op, ID and Length
// filled in, so the receiver can still NACK the request by id. After any
// other error the Header is zero.
func (h *Header) Decode(data []byte) error {
	*h = Header{}
	r := reader{b: data, layer: "header"}
	if !r.need(HeaderLen, "header") {
		return r.err
	}
	checkFraming(&r)
	if r.err != nil {
		return r.err
	}
	r.off = 3
	op := Op(r.u8("op"))
	flags := HeaderFlags(r.u16("flags"))
	reserved := r.u16("reserved")
	id := r.u32("id")
	length := r.u32("length")
	// Framing first: an intact frame with an unknown op may deserve a NACK,
	// a damaged one does not.
	if int64(length) > int64(r.rem()) {
		r.setErr(ErrTruncated, "payload", HeaderLen, "length %d, have %d bytes", length, r.rem())
		return r.err
	}
	if int64(length) < int64(r.rem()) {
		r.setErr(ErrInconsistent, "end", HeaderLen+int(length), "%d trailing bytes after length %d", r.rem()-int(length), length)
		return r.err
	}
	h.Op, h.Flags, h.ID, h.Length = op, flags, id, length
	if flags != 0 {
		r.setErr(ErrInconsistent, "flags", 4, "unknown header flag bits 0x%04x", uint16(flags))
	}
	if reserved != 0 {
		r.setErr(ErrInconsistent, "reserved", 6, "0x%04x, must be zero", reserved)
	}
	checkOp(&r, op)
	return r.err
}

func checkOp(r *reader, op Op) {
	switch {
	case op.Known():
	case op >= OpVirtualFirst && op <= OpVirtualLast:
		r.setErr(ErrUnknownOp, "op", 3, "0x%02x is reserved for the virtual layer", uint8(op))
	default:
		r.setErr(ErrUnknownOp, "op", 3, "0x%02x", uint8(op))
	}
}

// AppendHeader appends the 16 bytes of h to dst, with Length as it is: it is
// for tools that build frames piece by piece (the gopacket layers of
// wire/wirelayers, tests crafting bad frames); Encode and Append compute the
// length themselves. Like them it refuses an op version 1 does not define
// and any flag bit.
func AppendHeader(dst []byte, h Header) ([]byte, error) {
	if !h.Op.Known() {
		return dst, encErr(ErrUnknownOp, "header", "op", "0x%02x", uint8(h.Op))
	}
	if h.Flags != 0 {
		return dst, encErr(ErrInconsistent, "header", "flags", "unknown header flag bits 0x%04x", uint16(h.Flags))
	}
	off := len(dst)
	dst = slices.Grow(dst, HeaderLen)[:off+HeaderLen]
	putHeader(dst[off:], h.Op, h.ID, h.Length)
	return dst, nil
}

func putHeader(b []byte, op Op, id, length uint32) {
	b[0], b[1], b[2], b[3] = Magic0, Magic1, Version, byte(op)
	binary.BigEndian.PutUint16(b[4:], 0) // flags
	binary.BigEndian.PutUint16(b[6:], 0) // reserved
	binary.BigEndian.PutUint32(b[8:], id)
	binary.BigEndian.PutUint32(b[12:], length)
}
