//go:build !router

package tunnel

import (
	"github.com/ntkd/ntkd/internal/logx"
	"github.com/vishvananda/netns"
)

// DefaultBackend returns the kernel backend for ns when the kernel has
// WireGuard, and otherwise wireguard-go (developer builds only; router
// builds have no userspace backend). log gets wireguard-go's errors.
func DefaultBackend(ns netns.NsHandle, log *logx.Logger) (Backend, error) {
	if k := NewKernel(ns); k.Available() == nil {
		return k, nil
	}
	return NewUserspace(ns, log), nil
}
