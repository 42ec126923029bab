package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"path/filepath"
	"testing"

	"github.com/ntkd/ntkd/internal/ctl"
)

// TestCtlJSONAsEncodingJSON: `ntkd ctl --json` against a control server
// prints every answer as encoding/json did (the answer marshalled by the
// daemon, decoded into an empty interface, printed indented by two
// spaces), byte for byte.
func TestCtlJSONAsEncodingJSON(t *testing.T) {
	lat, lon := 48.85, -2.35e-7
	answers := map[string]any{
		ctl.CmdStatus: ctl.Status{Version: "v<1>", PID: 7, UptimeSec: 5e20, State: "hooked", Address: "10.0.0.1",
			Prefix: "10.0.0.0/8", Gnodes: []ctl.Gnode{{Level: 1, ID: 2, Nonce: math.MaxUint32, Members: 3}},
			Interfaces: []ctl.Interface{{Name: "wlan0\u2028", Up: true, Kind: "adhoc"}, {}},
			Memory:     ctl.Memory{Limit: math.MaxInt64, Sys: math.MaxUint64, HeapAlloc: 1 << 53}},
		ctl.CmdNeighbours: []ctl.Neighbour{{Interface: "eth0", Loss: 1e-7, Penalty: 1.25, Cost: 9,
			Wifi: &ctl.Wifi{SignalDBm: -60, RetryRatio: 0.1}}, {State: "a\"b\\c\x01\xff"}},
		ctl.CmdMaps:       []ctl.Level{{Elements: []ctl.Element{{Routes: []ctl.MapRoute{{Rnode: 1}}}, {}}}},
		ctl.CmdRoutes:     ctl.Routes{Ours: []ctl.Route{{Dst: "10.1.0.0/16", Hops: []ctl.Hop{{Via: "fe80::1", Cost: 3}}}}, Missing: []string{}},
		ctl.CmdQSPN:       ctl.QSPN{WaitRoundSec: 0.000001, RoundsWanted: map[string]uint64{"z": 1, "a": 2, "<": 3}},
		ctl.CmdCounters:   ctl.Counters{Sent: map[string]ctl.Count{"echo": {Packets: 1}}, Dropped: map[string]uint64{}},
		ctl.CmdVLinks:     ctl.VLinks{Enabled: true, Links: []ctl.VLink{{HandshakeAgoSec: -1, RxBytes: 1e15}, {HandshakeAgoSec: 1e21}}},
		ctl.CmdGateways:   ctl.Gateways{Gateways: []ctl.GatewayInfo{{CostMS: 12.5, Selected: true, Weight: 3}}},
		ctl.CmdEntryNodes: ctl.EntryNodes{Enabled: true, Latitude: &lat, Longitude: &lon, Nodes: []ctl.EntryNode{{DistanceKm: -1}}},
		ctl.CmdANDNAList:  []ctl.ANDNAName{{Name: "a.mesh", ExpiresSec: 123.456}},
		ctl.CmdANDNACache: []ctl.ANDNARecord{},
	}
	path := filepath.Join(t.TempDir(), "ctl.sock")
	s, err := ctl.Listen(path, func(_ context.Context, req ctl.Request) (any, error) { return answers[req.Cmd], nil }, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Serve(ctx)
	defer s.Close()
	for cmd, answer := range answers {
		args := []string{"ctl", "-s", path, "--json", cmd}
		if cmd == ctl.CmdANDNAList || cmd == ctl.CmdANDNACache {
			args = []string{"ctl", "-s", path, "--json", "andna", cmd[len("andna-"):]}
		}
		code, out, stderr := run(t, args...)
		if code != exitOK {
			t.Fatalf("%v: exit %d: %s", args, code, stderr)
		}
		b, err := json.Marshal(answer)
		if err != nil {
			t.Fatal(err)
		}
		var v any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatal(err)
		}
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetIndent("", "  ")
		if err := enc.Encode(v); err != nil {
			t.Fatal(err)
		}
		if out != want.String() {
			t.Errorf("%s:\n got %s\nwant %s", cmd, out, want.String())
		}
	}
}
