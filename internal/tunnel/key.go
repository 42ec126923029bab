package tunnel

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"filippo.io/edwards25519"
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
// filippo.io/edwards25519 is the code the standard library's copy came
// from: [clamp(k)]B on the Edwards curve, then its Montgomery u-coordinate,
// is X25519 of the base point (RFC 7748 §4.1's birational map). ScalarMult
// rather than ScalarBaseMult, which would keep a 30 KB table in memory for
// a computation done once.
func (k Key) Public() Key {
	s, err := edwards25519.NewScalar().SetBytesWithClamping(k[:])
	if err != nil {
		// Cannot happen: the only error is for a length other than 32.
		panic("tunnel: X25519 scalar: " + err.Error())
	}
	return Key(new(edwards25519.Point).ScalarMult(s, edwards25519.NewGeneratorPoint()).BytesMontgomery())
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
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*") // made with mode 0600
	if err != nil {
		return fmt.Errorf("tunnel: save key: %w", err)
	}
	_, err = f.Write(append(text, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("tunnel: save key: %w", err)
	}
	// The rename itself survives a power cut once the directory is synced.
	if dir, err := os.Open(filepath.Dir(path)); err == nil {
		dir.Sync()
		dir.Close()
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
