//go:build !router

package tunnel

import (
	"os"
	"testing"

	"github.com/vishvananda/netns"
)

func testBackends() []Backend {
	return []Backend{NewKernel(netns.None()), NewUserspace(netns.None(), nil)}
}

func TestUserspaceTunnel(t *testing.T) {
	needRoot(t)
	if _, err := os.Stat("/dev/net/tun"); err != nil {
		t.Skipf("no tun device: %v", err)
	}
	tunnelTest(t, func(ns netns.NsHandle) Backend { return NewUserspace(ns, nil) })
}

func TestDefaultBackend(t *testing.T) {
	needRoot(t)
	ns := newNS(t, "d")
	b, err := DefaultBackend(ns.h, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, isKernel := b.(*Kernel)
	if want := NewKernel(ns.h).Available() == nil; isKernel != want {
		t.Errorf("DefaultBackend = %T with kernel WireGuard %v", b, want)
	}
	if _, isUser := b.(*Userspace); !isKernel && !isUser {
		t.Errorf("DefaultBackend = %T", b)
	}
}
