//go:build !router

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSimDumpAndCheckDump(t *testing.T) {
	dump := filepath.Join(t.TempDir(), "routes.json")
	code, out, errs := run(t, "sim", "--topology", "grid", "--nodes", "25", "--seed", "3", "--check", "--dump", dump)
	if code != exitOK || !strings.Contains(out, "delivery: 600/600 pairs ok") {
		t.Fatalf("sim: %d\n%s\n%s", code, out, errs)
	}
	if code, out, _ := run(t, "check-dump", dump); code != exitOK || !strings.Contains(out, "0 failed") {
		t.Fatalf("check-dump of a good dump: %d %s", code, out)
	}
	// Break one node's routes: every route of node 0 now points to a
	// neighbour that sends it back, a loop the oracle must report.
	var d map[string]any
	b, _ := os.ReadFile(dump)
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	routes := d["routes"].([]any)
	kept := routes[:0]
	for _, r := range routes {
		if r.(map[string]any)["node"].(float64) != 0 {
			kept = append(kept, r)
		}
	}
	d["routes"] = kept
	b, _ = json.Marshal(d)
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, b, 0o600)
	if code, out, _ := run(t, "check-dump", bad); code != exitFail || !strings.Contains(out, "no-route") {
		t.Fatalf("check-dump of a dump without node 0's routes: %d %s", code, out)
	}
	if code, _, _ := run(t, "check-dump"); code != exitUsage {
		t.Fatalf("no file: %d", code)
	}
}
