package wire

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error returned by this package wraps exactly one of
// them, so receivers can pick a reaction (drop, NACK, close the stream) with
// errors.Is without parsing messages.
var (
	// ErrTruncated: fewer bytes than a field or a count needs.
	ErrTruncated = errors.New("truncated")
	// ErrOversized: a length above MaxPayload or another hard limit.
	ErrOversized = errors.New("oversized")
	// ErrBadMagic: the packet does not start with "NK".
	ErrBadMagic = errors.New("bad magic")
	// ErrBadVersion: a protocol version this package does not speak.
	ErrBadVersion = errors.New("unsupported version")
	// ErrUnknownOp: an op not defined in version 1 (including the range
	// reserved for the virtual layer).
	ErrUnknownOp = errors.New("unknown op")
	// ErrInconsistent: the bytes are all there but do not make sense: unknown
	// flag bits, non-zero reserved fields, counts above their limits, bad
	// address families, invalid hostnames, trailing bytes.
	ErrInconsistent = errors.New("inconsistent")
)

// Error describes a rejected packet or value. It wraps one of the sentinel
// errors above.
type Error struct {
	Layer  string // "header" or the name of the op whose payload was rejected
	Field  string // the field at fault
	Offset int    // byte offset of the field within the layer; -1 when encoding
	Detail string // what was wrong with it, with the offending value
	Err    error  // the sentinel
}

func (e *Error) Error() string {
	if e.Offset < 0 {
		return fmt.Sprintf("wire: %s: %s: %s: %v", e.Layer, e.Field, e.Detail, e.Err)
	}
	return fmt.Sprintf("wire: %s: %s at offset %d: %s: %v", e.Layer, e.Field, e.Offset, e.Detail, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// encErr builds an encoding-side error (no offset: the bytes do not exist yet).
func encErr(sentinel error, layer, field, format string, args ...any) error {
	return &Error{Layer: layer, Field: field, Offset: -1, Detail: fmt.Sprintf(format, args...), Err: sentinel}
}
