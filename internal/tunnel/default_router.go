//go:build router

package tunnel

import (
	"fmt"

	"github.com/ntkd/ntkd/internal/logx"
	"github.com/vishvananda/netns"
)

// DefaultBackend returns the kernel backend for ns, or an error wrapping
// ErrNoKernelWireGuard when the kernel lacks it: router builds leave
// wireguard-go out (~1.2 MB of mips binary) and the package depends on
// kmod-wireguard instead. log is unused here.
func DefaultBackend(ns netns.NsHandle, log *logx.Logger) (Backend, error) {
	k := NewKernel(ns)
	if err := k.Available(); err != nil {
		return nil, fmt.Errorf("tunnel: %w", err)
	}
	return k, nil
}
