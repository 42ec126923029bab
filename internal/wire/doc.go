// Package wire encodes and decodes every ntkd packet.
//
// The format is version 1 of the ntkd wire protocol, specified byte by byte in
// docs/PROTOCOL.md: a 16-byte header (magic "NK", version, op, flags, packet
// id, payload length) followed by a payload whose layout depends on the op.
// Everything is big-endian and fixed-width, so the same bytes mean the same
// thing on a big-endian MIPS router and on an amd64 simulator.
//
// The package depends on the standard library only, because the router
// binary links it and has no flash to spare: gopacket is not linked there.
// The gopacket layers of these packets (for `ntkd dump` and tests) are in
// internal/wire/wirelayers, which wraps this package's values.
//
// Entry points:
//
//   - Encode / Append build a whole packet from an id and a Payload.
//   - Decode parses a whole packet into fresh values that do not alias the
//     input.
//   - Decoder parses into values it owns and reuses (zero allocations in steady
//     state); they alias the input and stay valid until the next call.
//   - PayloadLen and ReadFrame frame packets on TCP streams.
//   - Header.Decode and each payload's Decode, AppendHeader and
//     AppendPayload work on one part of a packet, for tools that handle the
//     parts separately (wirelayers).
//
// Decoders never panic and never size an allocation from a length field
// before checking it against both the bytes present and a hard limit. Every
// rejection is an *Error that wraps one of the sentinel errors (ErrTruncated,
// ErrOversized, ErrBadMagic, ErrBadVersion, ErrUnknownOp, ErrInconsistent), so
// callers test it with errors.Is.
//
// The encoding is canonical: every byte string that decodes re-encodes to the
// same bytes. Encoders refuse any value the decoder would refuse.
package wire
