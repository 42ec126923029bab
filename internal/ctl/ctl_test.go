package ctl

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// serveTest runs a control server with handler h on a socket in a test
// directory until the test ends, and returns its path and a context that
// bounds the test's calls.
func serveTest(t *testing.T, h func(context.Context, Request) (any, error)) (string, context.Context) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ctl.sock")
	s, err := Listen(path, h, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	go s.Serve(ctx)
	t.Cleanup(func() { s.Close() })
	return path, ctx
}

// TestCallRoundTrip runs a server and a client over a real socket: the
// request arrives as sent and the answer decodes as encoding/json would.
func TestCallRoundTrip(t *testing.T) {
	want := Status{Version: "v", PID: 7, UptimeSec: 1.5, State: "hooked", Prefix: "10.0.0.0/8",
		Gnodes: []Gnode{{Level: 1, ID: 2, Nonce: 4294967295, Members: 3}},
		Memory: Memory{Limit: 9223372036854775807, Sys: 18446744073709551615}}
	var got Request
	path, ctx := serveTest(t, func(_ context.Context, req Request) (any, error) {
		got = req
		if req.Cmd != CmdStatus {
			return nil, errors.New("no such command")
		}
		return want, nil
	})

	var st Status
	raw, err := Call(ctx, path, Request{Cmd: CmdStatus, Level: 2, Arg: "x"}, &st)
	if err != nil {
		t.Fatal(err)
	}
	if got != (Request{Cmd: CmdStatus, Level: 2, Arg: "x"}) {
		t.Errorf("the server got %+v", got)
	}
	if !reflect.DeepEqual(st, want) {
		t.Errorf("Call decoded %+v, want %+v", st, want)
	}
	var viaJSON Status
	if err := json.Unmarshal(raw, &viaJSON); err != nil || !reflect.DeepEqual(viaJSON, want) {
		t.Errorf("raw answer %s: %v", raw, err)
	}
	if _, err := Call(ctx, path, Request{Cmd: "nope"}, nil); err == nil || err.Error() != "ntkd: no such command" {
		t.Errorf("an unknown command: %v", err)
	}
}

// TestBadRequest: a request that is not JSON gets encoding/json's words.
func TestBadRequest(t *testing.T) {
	path, _ := serveTest(t, func(context.Context, Request) (any, error) { return "ok", nil })
	for _, req := range []string{`{"cmd":`, `{"cmd":1}`, `status`, `{"level":"x","cmd":"status"}`} {
		c, err := net.Dial("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte(req + "\n"))
		answer, err := io.ReadAll(c)
		c.Close()
		if err != nil {
			t.Fatal(err)
		}
		var r Request
		want, _ := json.Marshal(Response{Error: "bad request: " + json.Unmarshal([]byte(req+"\n"), &r).Error()})
		if string(answer) != string(want)+"\n" {
			t.Errorf("request %s: answer %s, want %s", req, answer, want)
		}
	}
}

// TestReadResponse compares readResponse with the json.Decoder it
// replaces, on whole, cut and broken answers.
func TestReadResponse(t *testing.T) {
	for _, in := range []string{
		"", "  \n", `{"data":{"a":[1,2]}}` + "\n", `{"error":"boom"}` + "\n", `{"data":1}`, `{"data":`,
		`{"data":[1,2` + "\n", `{"data":}` + "\n", `nope` + "\n", `{"error":5}` + "\n",
		"\n\n" + `{"data":` + "\n" + `[1]}` + "\n", `{"data":` + "\n" + `[1}` + "\n",
	} {
		var want Response
		werr := json.NewDecoder(strings.NewReader(in)).Decode(&want)
		got, gerr := readResponse(strings.NewReader(in))
		if errString(gerr) != errString(werr) || !reflect.DeepEqual(got, want) {
			t.Errorf("%q: readResponse = %+v, %v; json.Decoder: %+v, %v", in, got, gerr, want, werr)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestEntryNodesRoundTrip: the entry-nodes answer, with its optional
// coordinates, decodes as sent.
func TestEntryNodesRoundTrip(t *testing.T) {
	lat, lon, plat := 51.5074, -0.1278, 48.8566
	want := EntryNodes{Enabled: true, Servers: 2, Latitude: &lat, Longitude: &lon, LastFetchAgoSec: -1, NextFetchInSec: 60,
		FetchFailures: 1, Errors: []EntryServerError{{Server: "198.51.100.2:27100", Error: "connection refused"}},
		Self: EntrySelf{EntryNode: true, Endpoint: "203.0.113.5:27000", EligibleInSec: 30, LastAcceptedAgoSec: -1, Errors: []EntryServerError{}},
		Nodes: []EntryNode{{PublicKey: "k", TunnelKey: "t", Endpoint: "192.0.2.11:27000", UptimeSec: 3600, DistanceKm: 343.5,
			Latitude: &plat, Longitude: &lon, Hops: 2}, {PublicKey: "s", DistanceKm: -1, Self: true}}}
	path, ctx := serveTest(t, func(context.Context, Request) (any, error) { return want, nil })
	var got EntryNodes
	raw, err := Call(ctx, path, Request{Cmd: CmdEntryNodes}, &got)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Call decoded %+v, want %+v", got, want)
	}
	if strings.Count(string(raw), "latitude") != 2 {
		t.Errorf("absent coordinates should be left out: %s", raw)
	}
}
