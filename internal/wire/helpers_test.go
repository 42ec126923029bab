package wire

import (
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden vectors in testdata/*.hex")

// parseHex reads a golden file: '#' lines are comments, whitespace is
// ignored, the rest is hex.
func parseHex(text string) ([]byte, error) {
	var sb strings.Builder
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		sb.WriteString(strings.Join(strings.Fields(line), ""))
	}
	return hex.DecodeString(sb.String())
}

func formatHex(op Op, id uint32, b []byte) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "# %s, packet id 0x%08x, %d bytes (16 header + %d payload).\n", op, id, len(b), len(b)-HeaderLen)
	sb.WriteString("# Golden vector: regenerate with `go test ./internal/wire -run TestGolden -update`.\n")
	for i := 0; i < len(b); i += 16 {
		end := min(i+16, len(b))
		parts := make([]string, 0, 16)
		for _, c := range b[i:end] {
			parts = append(parts, fmt.Sprintf("%02x", c))
		}
		sb.WriteString(strings.Join(parts, " "))
		sb.WriteString("\n")
	}
	return sb.String()
}

func readGolden(tb testing.TB, op Op) []byte {
	tb.Helper()
	text, err := os.ReadFile(goldenName(op))
	if err != nil {
		tb.Fatalf("%v (run with -update to create)", err)
	}
	b, err := parseHex(string(text))
	if err != nil {
		tb.Fatalf("%s: %v", goldenName(op), err)
	}
	return b
}

// wantErr fails unless err wraps sentinel and is an *Error.
func wantErr(tb testing.TB, err, sentinel error, what string) {
	tb.Helper()
	if err == nil {
		tb.Fatalf("%s: no error, want %v", what, sentinel)
	}
	if !errors.Is(err, sentinel) {
		tb.Fatalf("%s: error %v, want %v", what, err, sentinel)
	}
	var e *Error
	if !errors.As(err, &e) {
		tb.Fatalf("%s: error %T is not *Error", what, err)
	}
}

// must returns b, panicking on err: for building samples.
func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}
