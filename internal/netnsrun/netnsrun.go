// Package netnsrun runs a function inside a network namespace.
package netnsrun

import (
	"fmt"
	"runtime"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Do runs f on a thread in ns, or right here when ns is not open. The
// thread is locked and never unlocked, so the runtime retires it with its
// goroutine instead of running other goroutines in the wrong namespace.
// Sockets and files f opens keep ns after it returns.
func Do(ns netns.NsHandle, f func() error) error {
	if !ns.IsOpen() {
		return f()
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := unix.Setns(int(ns), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("enter netns: %w", err)
			return
		}
		errc <- f()
	}()
	return <-errc
}
