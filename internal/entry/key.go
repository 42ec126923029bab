package entry

import (
	"crypto/ed25519"
	"fmt"

	"github.com/ntkd/ntkd/internal/keyfile"
)

// LoadOrCreateKey reads an Ed25519 key from path (the form of the
// daemon's ANDNA key), creating it, mode 0600, when the file does not
// exist. Whoever holds it signs for the server.
func LoadOrCreateKey(path string) (ed25519.PrivateKey, error) {
	k, err := keyfile.LoadOrCreate(path)
	if err != nil {
		return nil, fmt.Errorf("entry: %w", err)
	}
	return k, nil
}
