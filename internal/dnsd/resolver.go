package dnsd

import (
	"context"
	"errors"
	"net/netip"
	"time"
)

// ErrNotFound is what a Resolver returns for a name or address that ANDNA
// does not know; the server answers NXDOMAIN and caches that.
var ErrNotFound = errors.New("dnsd: not found")

// Resolver is the server's only view of ANDNA. Both methods must return
// when ctx is done: Server.Close waits for the calls in flight.
type Resolver interface {
	// Resolve returns the addresses of a mesh name (lowercase, without the
	// suffix, e.g. "files.myrouter") and how long the answer stays valid,
	// or ErrNotFound. A name that exists without addresses returns none.
	Resolve(ctx context.Context, name string) ([]netip.Addr, time.Duration, error)
	// Reverse returns the names (without the suffix) registered by the
	// node that holds addr and how long they stay valid, or ErrNotFound.
	Reverse(ctx context.Context, addr netip.Addr) ([]string, time.Duration, error)
}
