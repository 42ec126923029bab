package daemon

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ntkd/ntkd/internal/config"
	"github.com/ntkd/ntkd/internal/entry"
)

// TestVRNodeList: a vnode lists, to whoever asks on its TCP port, the
// vrnodes that have lived vrnodeAge (seed 000 §6; 3 days, shortened
// here), as a list signed with its node key that the entry client
// fetches and checks like an entry server's. Before that age the list
// is empty; a tunnel that dies starts the count again.
func TestVRNodeList(t *testing.T) {
	es := startEntryServer(t, 1, false)
	clk := &fakeClock{now: time.Now()}
	london := startVHookDaemon(t, clk, 91, func(v *config.VLayer) {
		v.EntryServers = []config.EntryServer{es.conf()}
		v.Endpoint = fmt.Sprintf("127.0.0.91:%d", freeTCPPort(t))
		v.EntryNode, v.EntryAfter = true, time.Minute
	})
	london.d.Do(context.Background(), func() { london.d.vhook.inFlight = true }) // it only anchors
	waitFor(t, "London listed", 20*time.Second, func() (bool, string) {
		clk.Advance(10 * time.Second)
		return len(es.srv.Snapshot()) == 1, "not yet"
	})
	athens := startVHookDaemon(t, clk, 92, func(v *config.VLayer) {
		v.EntryServers = []config.EntryServer{es.conf()}
		v.Endpoint = fmt.Sprintf("127.0.0.92:%d", freeTCPPort(t))
	})
	athens.d.Do(context.Background(), func() { athens.d.vhook.vrnodeAge = 5 * time.Minute })
	waitFor(t, "Athens hooked to London", 20*time.Second, func() (bool, string) {
		return len(athens.manual(t)) == 1, "not yet"
	})
	c := entry.Client{Servers: []entry.Peer{{Addr: athens.d.vhook.endpoint, Key: athens.nodeKey()}}}
	fetch := func() []entry.Entry {
		t.Helper()
		l, err := c.Fetch(context.Background(), c.Servers[0])
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	// Fetches are few: the port takes 10 requests a minute per address.
	// age is the tunnel's, -1 while it is not counted.
	age := func() time.Duration {
		a := time.Duration(-1)
		athens.d.Do(context.Background(), func() {
			for _, since := range athens.d.vhook.aliveSince {
				a = clk.Now().Sub(since)
			}
		})
		return a
	}
	waitFor(t, "the tunnel to London counted", 20*time.Second, func() (bool, string) {
		return age() >= 0, "not yet"
	})
	if l := fetch(); len(l) != 0 {
		t.Fatalf("a vrnode of a few seconds listed: %+v", l)
	}
	waitFor(t, "the tunnel to London 5 minutes old", 20*time.Second, func() (bool, string) {
		clk.Advance(30 * time.Second)
		a := age()
		return a >= 5*time.Minute, fmt.Sprint(a)
	})
	if l := fetch(); len(l) != 1 || l[0].Node != london.nodeKey() {
		t.Fatalf("Athens's list of old vrnodes: %+v", l)
	}
	// The tunnel dies: London leaves the list.
	name := athens.manual(t)[0].Name
	athens.d.opt.VLinks.(keyedVLinks).setStandby(name, "dead: no answer over it")
	waitFor(t, "the dead tunnel's count cleared", 20*time.Second, func() (bool, string) {
		a := age()
		return a < 0, fmt.Sprint(a)
	})
	if l := fetch(); len(l) != 0 {
		t.Fatalf("a dead vrnode still listed: %+v", l)
	}
	// A list signed by another key is refused by the client.
	c.Servers[0].Key = london.nodeKey()
	if _, err := c.Fetch(context.Background(), c.Servers[0]); err == nil {
		t.Error("a list signed by the vnode was taken for London's")
	}
}
