package config

import (
	"encoding/hex"
	"fmt"
	"os"
	"strings"
)

// Mesh is the [mesh] table: a closed mesh (docs/PROTOCOL.md, "Closed
// mesh: network key").
type Mesh struct {
	// NetworkKey closes the mesh: every packet is sent with its tag and
	// every packet received must carry the tag of NetworkKey or
	// NetworkKeyAccept. It is 64 hex digits (32 random bytes), or the
	// absolute path of a file holding them, readable by its owner only
	// (0600). "" is an open mesh. Default "".
	NetworkKey string `toml:"network_key"`
	// NetworkKeyAccept is a second key accepted but never sent with,
	// during a key change; same forms. Needs NetworkKey. Default "".
	NetworkKeyAccept string `toml:"network_key_accept"`
}

// keyHexLen is a network key's length in hex digits.
const keyHexLen = 64

// validateMesh checks [mesh] without reading the key files (Keys does).
func (c *Config) validateMesh(v *validator) {
	m := &c.Mesh
	for _, k := range []struct{ key, val string }{{"mesh.network_key", m.NetworkKey}, {"mesh.network_key_accept", m.NetworkKeyAccept}} {
		if k.val == "" {
			continue
		}
		if strings.HasPrefix(k.val, "/") {
			if msg := checkAbsPath(k.val); msg != "" {
				v.errf(k.key, "%s", msg)
			}
			continue
		}
		if _, msg := parseKeyHex(k.val); msg != "" {
			v.errf(k.key, "%s", msg)
		}
	}
	if m.NetworkKeyAccept != "" && m.NetworkKey == "" {
		v.cross("mesh.network_key_accept", []string{"mesh.network_key"},
			"a key accepted during a key change needs network_key, the key sent with")
	}
}

// parseKeyHex reads 64 hex digits; the message says what is wrong
// without showing the value (a secret).
func parseKeyHex(s string) ([]byte, string) {
	if len(s) != keyHexLen {
		return nil, fmt.Sprintf("want 64 hex digits (32 random bytes, e.g. from `openssl rand -hex 32`) or an absolute file path; have %d characters", len(s))
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, "want 64 hex digits (0-9, a-f) or an absolute file path"
	}
	return b, ""
}

// NetworkKeys returns the network keys, the one sent with first, reading
// the files the keys name: none for an open mesh.
func (m Mesh) NetworkKeys() ([][32]byte, error) {
	var out [][32]byte
	for _, k := range []struct{ key, val string }{{"mesh.network_key", m.NetworkKey}, {"mesh.network_key_accept", m.NetworkKeyAccept}} {
		if k.val == "" {
			continue
		}
		text, where := k.val, k.key
		if strings.HasPrefix(k.val, "/") {
			where = k.key + ": " + k.val
			st, err := os.Stat(k.val)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k.key, err)
			}
			if st.Mode().Perm()&0o077 != 0 {
				return nil, fmt.Errorf("%s: mode %v: a network key file must be readable by its owner only (chmod 600)", where, st.Mode().Perm())
			}
			data, err := os.ReadFile(k.val)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k.key, err)
			}
			text = strings.TrimSpace(string(data))
		}
		b, msg := parseKeyHex(text)
		if msg != "" {
			return nil, fmt.Errorf("%s: %s", where, msg)
		}
		out = append(out, [32]byte(b))
	}
	return out, nil
}
