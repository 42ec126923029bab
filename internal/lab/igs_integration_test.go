package lab

import (
	"context"
	"strings"
	"testing"
	"time"
)

// Internet Gateway Sharing end to end (docs/IGS.md), in a line of 5 with
// gateways n1 and n5: a node without an uplink (n3) reaches the stand-in
// Internet's echo server over TCP and UDP through a gateway; when gateway
// n1 crashes, a fresh connection from its neighbour n2 gets an echo
// through n5 within 15 s; a gateway's own traffic keeps to its own uplink,
// never the mesh.
func TestIntegrationIGS(t *testing.T) {
	l, _, _ := startGatewayLab(t, "W", 5, "n1", "n5")

	routeGet := func(node string) string {
		t.Helper()
		out, err := l.Exec(context.Background(), node, "ip", "route", "get", EchoAddr.Addr().String())
		if err != nil {
			t.Fatalf("%s: ip route get: %v %s", node, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	if r := routeGet("n1"); !strings.Contains(r, "dev "+UplinkName) {
		t.Errorf("n1's own traffic to the echo server leaves through %q, not %s", r, UplinkName)
	}

	// The gateways announce themselves in the floods and the clients set
	// their default route over them: allow a few QSPN rounds.
	for _, network := range []string{"tcp", "udp"} {
		waitEcho(t, l, "n3", network, "", 45*time.Second)
	}
	if r := routeGet("n1"); !strings.Contains(r, "dev "+UplinkName) {
		t.Errorf("with IGS running, n1's own traffic to the echo server leaves through %q, not %s", r, UplinkName)
	}
	if r := routeGet("n5"); !strings.Contains(r, "dev "+UplinkName) {
		t.Errorf("with IGS running, n5's own traffic to the echo server leaves through %q, not %s", r, UplinkName)
	}

	// n2 reaches the Internet now (through n1, its nearest gateway, or
	// n5); n1 crashes; a fresh connection from n2 gets through n5.
	waitEcho(t, l, "n2", "tcp", "", 30*time.Second)
	if _, err := l.Kill("n1", false); err != nil {
		t.Fatal(err)
	}
	waitEcho(t, l, "n2", "tcp", "", 15*time.Second)
	waitEcho(t, l, "n2", "udp", "", 15*time.Second)
	// n5's own uplink still carries its own traffic.
	if r := routeGet("n5"); !strings.Contains(r, "dev "+UplinkName) {
		t.Errorf("n5's own traffic to the echo server leaves through %q, not %s", r, UplinkName)
	}
}
