package andna

import (
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"net/netip"
	"strings"

	"github.com/ntkd/ntkd/internal/addr"
	"github.com/ntkd/ntkd/internal/wire"
)

// Canonical lowercases a name and checks it is a hostname ANDNA carries.
func Canonical(name string) (string, error) {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	if err := wire.ValidHostname(name); err != nil {
		return "", fmt.Errorf("andna: %w", err)
	}
	return name, nil
}

// NameHash is SHA-256 of the canonical name.
func NameHash(name string) [32]byte { return sha256.Sum256([]byte(name)) }

// backupHash is the hash of the i-th backup gnode of a name (i >= 1): an
// independent place in the address space, so a backup does not die with
// the hash gnode's neighbourhood.
func backupHash(h [32]byte, i int) [32]byte {
	return sha256.Sum256(append(h[:], byte(i)))
}

// keyHash places a key's counter gnode (DESIGN: derived from the public
// key, not from the owner's address, so a new address does not reset the
// count).
func keyHash(pub [wire.PubKeySize]byte) [32]byte {
	return sha256.Sum256(append([]byte("ntkd-andna-counter\x00"), pub[:]...))
}

// hashAddr maps a hash onto the address space: the id at each level is
// taken from one byte of the hash.
func hashAddr(s *addr.Scheme, h [32]byte) netip.Addr {
	var p addr.Position
	for l := 0; l < s.Levels(); l++ {
		p[l] = uint8(int(h[l]) % s.Size(l))
		if s.ValidID(l, p[l]) != nil {
			p[l] = 1 // ids reserved at level 0 (.0, .255): the nearest valid one does as well
		}
	}
	a, err := s.Addr(p)
	if err != nil {
		panic(err) // every id is below Size(l)
	}
	return a
}

// sign fills in the signature of a registration.
func (e *Engine) sign(r *wire.Register) {
	b, err := r.SignedBytes()
	if err != nil {
		panic(err) // built from a canonical name and our own address
	}
	copy(r.Signature[:], ed25519.Sign(e.key, b))
}

// verify checks a registration's signature.
func verify(r *wire.Register) bool {
	b, err := r.SignedBytes()
	return err == nil && ed25519.Verify(ed25519.PublicKey(r.PubKey[:]), b, r.Signature[:])
}
