package tunnel

import (
	"crypto/ecdh"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func hexKey(t testing.TB, s string) Key {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 32 {
		t.Fatalf("bad test key %q: %v", s, err)
	}
	return Key(b)
}

// TestKeyPublicRFC7748 checks Public against RFC 7748's test vectors.
func TestKeyPublicRFC7748(t *testing.T) {
	for _, tc := range []struct{ name, private, public string }{
		// §6.1, Alice and Bob.
		{"alice", "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
			"8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"},
		{"bob", "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb",
			"de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"},
		// §5.2, the first iteration: k = u = 9, an unclamped scalar.
		{"iteration1", "0900000000000000000000000000000000000000000000000000000000000000",
			"422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079"},
	} {
		if got := hexKey(t, tc.private).Public(); got != hexKey(t, tc.public) {
			t.Errorf("%s: Public() = %x, want %s", tc.name, got, tc.public)
		}
	}
}

// TestKeyPublicMatchesECDH compares Public with the standard library's
// X25519 on random keys (crypto/ecdh is fine in a test binary).
func TestKeyPublicMatchesECDH(t *testing.T) {
	for range 50 {
		k, err := GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		priv, err := ecdh.X25519().NewPrivateKey(k[:])
		if err != nil {
			t.Fatal(err)
		}
		if got, want := k.Public(), Key(priv.PublicKey().Bytes()); got != want {
			t.Fatalf("Public(%x) = %x, crypto/ecdh says %x", k, got, want)
		}
	}
}

// TestKeyX25519RFC7748 checks the ladder with points other than the base
// point: RFC 7748 §5.2's two vectors (unclamped scalars, a u with its top
// bit set) and its iterated function, 1000 times.
func TestKeyX25519RFC7748(t *testing.T) {
	for _, tc := range []struct{ scalar, u, out string }{
		{"a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
			"e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
			"c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552"},
		{"4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
			"e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
			"95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957"},
	} {
		scalar, u := hexKey(t, tc.scalar), hexKey(t, tc.u)
		if got := x25519(&scalar, &u); got != hexKey(t, tc.out) {
			t.Errorf("x25519(%s, %s) = %x, want %s", tc.scalar, tc.u, got[:], tc.out)
		}
	}
	k, u := basePoint, basePoint
	for range 1000 {
		k, u = x25519(&k, &u), k
	}
	if want := hexKey(t, "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51"); k != want {
		t.Errorf("1000 iterations: %x, want %x", k[:], want[:])
	}
}

// TestKeyX25519MatchesECDH compares the ladder with the standard library on
// random scalars (unclamped) and random points (other keys' public keys).
func TestKeyX25519MatchesECDH(t *testing.T) {
	for range 50 {
		var a, b Key
		if _, err := rand.Read(a[:]); err != nil {
			t.Fatal(err)
		}
		if _, err := rand.Read(b[:]); err != nil {
			t.Fatal(err)
		}
		pa, err := ecdh.X25519().NewPrivateKey(a[:])
		if err != nil {
			t.Fatal(err)
		}
		pb, err := ecdh.X25519().NewPrivateKey(b[:])
		if err != nil {
			t.Fatal(err)
		}
		shared, err := pa.ECDH(pb.PublicKey())
		if err != nil {
			t.Fatal(err)
		}
		pubB := b.Public()
		if got := x25519(&a, &pubB); got != Key(shared) {
			t.Fatalf("x25519(%x, %x) = %x, crypto/ecdh says %x", a[:], pubB[:], got[:], shared)
		}
	}
}

func TestGenerateKey(t *testing.T) {
	a, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	b, err := GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	if a == b || a == (Key{}) {
		t.Fatalf("GenerateKey gave %x and %x", a, b)
	}
	for _, k := range []Key{a, b} {
		if k[0]&7 != 0 || k[31]&128 != 0 || k[31]&64 == 0 {
			t.Errorf("key %x is not clamped", k)
		}
	}
	if a.Public() == b.Public() {
		t.Error("two keys with one public key")
	}
}

func TestKeyText(t *testing.T) {
	k := hexKey(t, "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
	const text = "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo="
	b, err := k.MarshalText()
	if err != nil || string(b) != text {
		t.Fatalf("MarshalText = %q, %v; want %q", b, err, text)
	}
	var back Key
	if err := back.UnmarshalText([]byte(text)); err != nil || back != k {
		t.Fatalf("UnmarshalText(%q) = %x, %v", text, back, err)
	}
	// JSON (and TOML) use the text form.
	j, err := json.Marshal(map[string]Key{"k": k})
	if err != nil || string(j) != `{"k":"`+text+`"}` {
		t.Fatalf("json = %s, %v", j, err)
	}

	for _, tc := range []struct{ in, want string }{
		{"", "0 characters"},
		{text[:43], "43 characters"},
		{text + "A", "45 characters"},
		{" " + text[1:], "not base64"},
		{"dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LC*=", "not base64"},
		// 44 characters, but the last one has bits the padding must zero.
		{"dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCp=", "not base64"},
		// 44 characters of 33 bytes (no padding).
		{"dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCoA", "33 bytes"},
		{"dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25L===", "not base64"},
	} {
		var k Key
		err := k.UnmarshalText([]byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "tunnel: key") {
			t.Errorf("UnmarshalText(%q) = %v, want an error with %q", tc.in, err, tc.want)
		}
		if k != (Key{}) {
			t.Errorf("UnmarshalText(%q) changed the key on error", tc.in)
		}
	}
}

func TestKeyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "vlayer.key")

	k, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", st.Mode().Perm())
	}
	b, _ := os.ReadFile(path)
	text, _ := k.MarshalText()
	if string(b) != string(text)+"\n" {
		t.Errorf("key file holds %q, want the base64 key and a newline (as wg genkey writes)", b)
	}
	again, err := LoadOrCreateKey(path)
	if err != nil || again != k {
		t.Fatalf("second LoadOrCreateKey = %x, %v; want the saved %x", again, err, k)
	}

	// The wg tool's files: white space around the key is fine.
	k2 := hexKey(t, "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb")
	text2, _ := k2.MarshalText()
	os.WriteFile(path, []byte("  "+string(text2)+"\r\n\n"), 0o600)
	if got, err := LoadKey(path); err != nil || got != k2 {
		t.Errorf("LoadKey with white space = %x, %v", got, err)
	}

	// SaveKey replaces and leaves no temporary file.
	if err := SaveKey(path, k); err != nil {
		t.Fatal(err)
	}
	if got, err := LoadKey(path); err != nil || got != k {
		t.Errorf("LoadKey after SaveKey = %x, %v", got, err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("directory holds %d files after SaveKey, want 1", len(ents))
	}

	// A file that is not a key is an error and is left alone.
	os.WriteFile(path, []byte("not a key\n"), 0o600)
	if _, err := LoadOrCreateKey(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("LoadOrCreateKey of a bad file = %v, want an error naming it", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "not a key\n" {
		t.Errorf("LoadOrCreateKey overwrote a bad key file with %q", b)
	}

	// Missing: LoadKey says so; no directory: LoadOrCreateKey cannot save.
	if _, err := LoadKey(filepath.Join(dir, "none")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("LoadKey of a missing file = %v, want ErrNotExist", err)
	}
	if _, err := LoadOrCreateKey(filepath.Join(dir, "no", "such", "dir")); err == nil {
		t.Error("LoadOrCreateKey in a missing directory succeeded")
	}
	if err := SaveKey(filepath.Join(dir, "no", "k"), k); err == nil || !strings.HasPrefix(err.Error(), "tunnel: save key") {
		t.Errorf("SaveKey in a missing directory = %v", err)
	}
}

func FuzzKeyUnmarshalText(f *testing.F) {
	f.Add("dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=")
	f.Add("dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCp=")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		var k Key
		if err := k.UnmarshalText([]byte(s)); err != nil {
			return
		}
		// One text per key.
		if back, _ := k.MarshalText(); string(back) != s {
			t.Fatalf("%q decodes to %x, which encodes as %q", s, k, back)
		}
	})
}
