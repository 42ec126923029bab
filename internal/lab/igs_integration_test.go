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
	l, _, st := startGatewayLab(t, "W", 5, "n1", "n5")
	addrOf := map[string]string{}
	for _, n := range st.Nodes {
		addrOf[n.Name] = n.Address.String()
	}
	// gatewayTable is a client's IGS table (110): its default route's
	// nexthops name the gateways in use.
	gatewayTable := func(node string) string {
		t.Helper()
		out, err := l.Exec(context.Background(), node, "ip", "route", "show", "table", "110")
		if err != nil && strings.Contains(string(out), "table does not exist") {
			// No gateway chosen yet: the kernel has no table 110.
			return ""
		}
		if err != nil {
			t.Fatalf("%s: ip route show table 110: %v %s", node, err, out)
		}
		return string(out)
	}
	// failover waits until client no longer sends to gone and then
	// checks that fresh connections get through: several, since flows
	// hash over the gateways left.
	failover := func(client, gone, why string) {
		t.Helper()
		start := time.Now()
		for strings.Contains(gatewayTable(client), "dst "+addrOf[gone]+" ") {
			if time.Since(start) > 15*time.Second {
				t.Fatalf("%s still sends to %s (%s) 15 s after %s:\n%s", client, gone, addrOf[gone], why, gatewayTable(client))
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Logf("%s stopped using %s %v after %s", client, gone, time.Since(start).Round(100*time.Millisecond), why)
		for range 4 {
			waitEcho(t, l, client, "tcp", "", 5*time.Second)
		}
	}

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

	// Both gateways in use: a route with two encapsulated nexthops.
	waitEcho(t, l, "n4", "tcp", "", 30*time.Second)
	usesBoth := func(c string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			tb := gatewayTable(c)
			if strings.Contains(tb, "dst "+addrOf["n1"]+" ") && strings.Contains(tb, "dst "+addrOf["n5"]+" ") {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s does not use both gateways:\n%s", c, tb)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	usesBoth("n2")
	usesBoth("n4")

	// n5's uplink dies while n5 lives: it withdraws (a probe fails, the
	// next one a second later confirms) and n4 sends through n1 only;
	// then the uplink comes back and n4 uses n5 again.
	if err := l.Uplink("n5", false); err != nil {
		t.Fatal(err)
	}
	failover("n4", "n5", "n5's uplink went down")
	if err := l.Uplink("n5", true); err != nil {
		t.Fatal(err)
	}
	usesBoth("n4")
	usesBoth("n2")

	// n1 crashes: n2 sends through n5 only.
	if _, err := l.Kill("n1", false); err != nil {
		t.Fatal(err)
	}
	failover("n2", "n1", "n1 was killed")
	waitEcho(t, l, "n2", "udp", "", 5*time.Second)
	// n5's own uplink still carries its own traffic.
	if r := routeGet("n5"); !strings.Contains(r, "dev "+UplinkName) {
		t.Errorf("n5's own traffic to the echo server leaves through %q, not %s", r, UplinkName)
	}
}
