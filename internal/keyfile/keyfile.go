// Package keyfile keeps an Ed25519 private key in a file: its 32-byte
// seed in hex, mode 0600. The daemon's ANDNA key and an entry server's
// key are kept this way.
package keyfile

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// LoadOrCreate reads the key in path, creating it (and its directory,
// 0700) when the file does not exist.
func LoadOrCreate(path string) (ed25519.PrivateKey, error) {
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		seed, derr := hex.DecodeString(strings.TrimSpace(string(b)))
		if derr != nil || len(seed) != ed25519.SeedSize {
			return nil, fmt.Errorf("%s: not a %d-byte hex Ed25519 seed", path, ed25519.SeedSize)
		}
		return ed25519.NewKeyFromSeed(seed), nil
	case !errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("reading the key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("creating %s: %w", filepath.Dir(path), err)
	}
	seed := make([]byte, ed25519.SeedSize)
	if _, err := rand.Read(seed); err != nil {
		return nil, fmt.Errorf("drawing a key: %w", err)
	}
	// Written under another name and renamed, so a power cut never leaves
	// half a key behind.
	tmp := path + ".new"
	if err := os.WriteFile(tmp, []byte(hex.EncodeToString(seed)+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("writing the key: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, fmt.Errorf("writing the key: %w", err)
	}
	return ed25519.NewKeyFromSeed(seed), nil
}
