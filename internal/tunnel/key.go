package tunnel

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"filippo.io/edwards25519/field"
	"github.com/ntkd/ntkd/internal/atomicfile"
)

// Key is a Curve25519 key, private or public, as WireGuard uses it. Its text
// form is standard base64 (44 characters), the form of `wg genkey`, so key
// files and configuration are interchangeable with the wg tool.
type Key [32]byte

// GenerateKey returns a new random private key, clamped like `wg genkey`.
func GenerateKey() (Key, error) {
	var k Key
	if _, err := rand.Read(k[:]); err != nil {
		return Key{}, fmt.Errorf("tunnel: generate key: %w", err)
	}
	// Clamping changes nothing X25519 computes (it clamps again), but
	// keeps our keys byte-identical to what WireGuard's tools make.
	k[0] &= 248
	k[31] = k[31]&127 | 64
	return k, nil
}

// Public returns the public key of the private key k: X25519(k, 9).
//
// Not crypto/ecdh: its init runs a P-256 self-test that links the NIST
// curves, ~136 KB of a mips build, which the router's 5 MiB did not take.
// Nor filippo.io/edwards25519's points and scalars (~31 KB of mips code for
// one computation at start-up): this is RFC 7748's Montgomery ladder, as in
// the standard library's crypto/internal/fips140/ecdh, over the field
// arithmetic of filippo.io/edwards25519/field alone.
func (k Key) Public() Key {
	return x25519(&k, &basePoint)
}

// basePoint is the u-coordinate 9 of X25519's base point.
var basePoint = Key{9}

// x25519 returns X25519(scalar, point) (RFC 7748 §5). It runs in constant
// time in the scalar.
func x25519(scalar, point *Key) Key {
	e := *scalar
	e[0] &= 248
	e[31] &= 127
	e[31] |= 64

	var x1, x2, z2, x3, z3, tmp0, tmp1 field.Element
	if _, err := x1.SetBytes(point[:]); err != nil {
		// Cannot happen: the only error is for a length other than 32.
		panic("tunnel: X25519 point: " + err.Error())
	}
	x2.One()
	x3.Set(&x1)
	z3.One()

	swap := 0
	for pos := 254; pos >= 0; pos-- {
		b := int(e[pos/8]>>uint(pos&7)) & 1
		swap ^= b
		x2.Swap(&x3, swap)
		z2.Swap(&z3, swap)
		swap = b

		tmp0.Subtract(&x3, &z3)
		tmp1.Subtract(&x2, &z2)
		x2.Add(&x2, &z2)
		z2.Add(&x3, &z3)
		z3.Multiply(&tmp0, &x2)
		z2.Multiply(&z2, &tmp1)
		tmp0.Square(&tmp1)
		tmp1.Square(&x2)
		x3.Add(&z3, &z2)
		z2.Subtract(&z3, &z2)
		x2.Multiply(&tmp1, &tmp0)
		tmp1.Subtract(&tmp1, &tmp0)
		z2.Square(&z2)

		z3.Mult32(&tmp1, 121666) // (A+2)/4 of Curve25519
		x3.Square(&x3)
		tmp0.Add(&tmp0, &z3)
		z3.Multiply(&x1, &z2)
		z2.Multiply(&tmp1, &tmp0)
	}
	x2.Swap(&x3, swap)
	z2.Swap(&z3, swap)

	z2.Invert(&z2)
	x2.Multiply(&x2, &z2)
	return Key(x2.Bytes())
}

const keyTextLen = 44 // base64 of 32 bytes, with one '=' of padding

// MarshalText returns k in standard base64.
func (k Key) MarshalText() ([]byte, error) {
	b := make([]byte, keyTextLen)
	base64.StdEncoding.Encode(b, k[:])
	return b, nil
}

// UnmarshalText reads a key in standard base64. Only the canonical form is
// accepted, so every key has exactly one text.
func (k *Key) UnmarshalText(text []byte) error {
	if len(text) != keyTextLen {
		return fmt.Errorf("tunnel: key is %d characters, want %d (base64 of 32 bytes)", len(text), keyTextLen)
	}
	var b [33]byte // DecodedLen(44) is 33: room for the padding's byte
	n, err := base64.StdEncoding.Strict().Decode(b[:], text)
	if err != nil {
		return fmt.Errorf("tunnel: key is not base64: %w", err)
	}
	if n != len(k) {
		return fmt.Errorf("tunnel: key decodes to %d bytes, want %d", n, len(k))
	}
	copy(k[:], b[:n])
	return nil
}

// LoadKey reads a key file: the base64 key, surrounding white space ignored.
func LoadKey(path string) (Key, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Key{}, fmt.Errorf("tunnel: load key: %w", err)
	}
	var k Key
	if err := k.UnmarshalText(bytes.TrimSpace(b)); err != nil {
		return Key{}, fmt.Errorf("tunnel: load key %s: %w", path, err)
	}
	return k, nil
}

// SaveKey writes k to a key file of mode 0600. The file is written aside
// and renamed into place, so a power cut leaves the old key or the new one,
// never a torn file that would stop the daemon from starting.
func SaveKey(path string, k Key) error {
	text, _ := k.MarshalText()
	if err := atomicfile.Write(path, append(text, '\n')); err != nil {
		return fmt.Errorf("tunnel: save key: %w", err)
	}
	return nil
}

// LoadOrCreateKey loads the private key in path, or makes a new one and
// saves it there when the file does not exist. A file that exists but does
// not hold a key is an error, never replaced: the key is the node's identity
// in the virtual layer.
func LoadOrCreateKey(path string) (Key, error) {
	k, err := LoadKey(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return k, err
	}
	if k, err = GenerateKey(); err != nil {
		return Key{}, err
	}
	if err := SaveKey(path, k); err != nil {
		return Key{}, err
	}
	return k, nil
}

// String is the key's base64 text form: for a private key, mind where it goes.
func (k Key) String() string {
	b, _ := k.MarshalText()
	return string(b)
}
