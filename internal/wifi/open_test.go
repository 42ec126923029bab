package wifi

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"testing"
)

func TestOpen(t *testing.T) {
	fake := &fakeSource{}
	for _, c := range []struct {
		name      string
		newClient func() (Source, error)
		noWifi    bool // want ErrNoWifi
		fails     bool
	}{
		// genetlink's GetFamily fails with ENOENT when nl80211 is absent.
		{"nl80211 family missing", func() (Source, error) { return nil, fmt.Errorf("netlink receive: %w", syscall.ENOENT) }, true, true},
		{"os.ErrNotExist", func() (Source, error) { return nil, os.ErrNotExist }, true, true},
		{"permission denied", func() (Source, error) { return nil, syscall.EPERM }, false, true},
		{"available", func() (Source, error) { return fake, nil }, false, false},
	} {
		src, err := open(c.newClient)
		if got := errors.Is(err, ErrNoWifi); got != c.noWifi {
			t.Errorf("%s: errors.Is(%v, ErrNoWifi) = %v", c.name, err, got)
		}
		if (err != nil) != c.fails {
			t.Errorf("%s: err = %v", c.name, err)
		}
		if c.fails && src != nil {
			t.Errorf("%s: a non-nil Source with an error", c.name)
		}
		if !c.fails && src != Source(fake) {
			t.Errorf("%s: got %v, want the constructed source", c.name, src)
		}
	}
}
