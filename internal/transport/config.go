package transport

import (
	"fmt"
	"time"

	"github.com/ntkd/ntkd/internal/wire"
)

// Config sets ports and limits. Zero fields take the defaults below.
type Config struct {
	// DatagramPort is the UDP port of radar probes and small requests
	// (config ports.radar). Default wire.DefaultPort (269).
	DatagramPort int
	// StreamPort is the TCP port of the per-neighbour streams (config
	// ports.stream). Default wire.DefaultPort (269).
	StreamPort int
	// MaxPacket is the largest packet, header included, accepted or sent on
	// datagrams and streams; bigger ones are dropped and counted. Datagrams
	// are further limited to what UDP carries (65527 bytes). Default 64 KiB.
	MaxPacket int
	// PerSourceRate and PerSourceBurst are the token bucket of each source
	// (interface, link-local address) over everything it sends us, in
	// packets per second and packets. Defaults 200 and 400.
	PerSourceRate  float64
	PerSourceBurst float64
	// MaxConnsPerSource and MaxConns bound the accepted stream connections
	// that have sent a valid frame, per source and in total; each bound
	// interface is sure of an even share of MaxConns (conns.go). Defaults
	// 4 and 32.
	MaxConnsPerSource int
	MaxConns          int
	// MaxFreshConns bounds the accepted connections that have not sent a
	// valid frame yet: when they are that many, a new one closes the
	// oldest. FreshTimeout is how long such a connection may take to send
	// its first frame, whole (an honest dialer sends it right away).
	// Defaults 8 and 10s.
	MaxFreshConns int
	FreshTimeout  time.Duration
	// QueueLen bounds the packets waiting on each outgoing stream; more are
	// dropped and counted. Default 256.
	QueueLen int
	// RecvQueue is the capacity of the Recv channel. Default 128.
	RecvQueue int
	// MaxPeers bounds the peer table. Default 1024.
	MaxPeers int
	// DialTimeout bounds a stream connect. Default 2s.
	DialTimeout time.Duration
	// WriteTimeout closes a stream whose peer has not taken our data for
	// this long. Default 30s.
	WriteTimeout time.Duration
	// IdleTimeout closes an outgoing stream unused for this long; an accepted
	// one silent for twice as long is closed too. Default 5m.
	IdleTimeout time.Duration
}

// maxDatagram is the largest packet sent or accepted as a datagram. The
// node sends only radar probes and replies unreliably (tens of bytes);
// everything bigger goes on a stream. Each interface keeps a receive
// buffer of this size, so it is not the 64 KiB UDP allows.
const maxDatagram = 2048

// withDefaults returns c with zero fields set to their defaults, or an
// error for values that make no sense.
func (c Config) withDefaults() (Config, error) {
	setInt := func(v *int, def int) {
		if *v == 0 {
			*v = def
		}
	}
	setInt(&c.DatagramPort, wire.DefaultPort)
	setInt(&c.StreamPort, wire.DefaultPort)
	setInt(&c.MaxPacket, 64<<10)
	setInt(&c.MaxConnsPerSource, 4)
	setInt(&c.MaxConns, 32)
	setInt(&c.MaxFreshConns, 8)
	setInt(&c.QueueLen, 256)
	setInt(&c.RecvQueue, 128)
	setInt(&c.MaxPeers, 1024)
	if c.PerSourceRate == 0 {
		c.PerSourceRate = 200
	}
	if c.PerSourceBurst == 0 {
		c.PerSourceBurst = 2 * c.PerSourceRate
	}
	setDur := func(v *time.Duration, def time.Duration) {
		if *v == 0 {
			*v = def
		}
	}
	setDur(&c.DialTimeout, 2*time.Second)
	setDur(&c.WriteTimeout, 30*time.Second)
	setDur(&c.IdleTimeout, 5*time.Minute)
	setDur(&c.FreshTimeout, 10*time.Second)

	switch {
	case c.DatagramPort < 1 || c.DatagramPort > 65535 || c.StreamPort < 1 || c.StreamPort > 65535:
		return c, fmt.Errorf("transport: ports %d/udp and %d/tcp, want 1..65535", c.DatagramPort, c.StreamPort)
	case c.MaxPacket < wire.HeaderLen || c.MaxPacket > wire.HeaderLen+wire.MaxPayload:
		return c, fmt.Errorf("transport: max packet %d, want %d..%d", c.MaxPacket, wire.HeaderLen, wire.HeaderLen+wire.MaxPayload)
	case c.PerSourceRate < 0 || c.PerSourceBurst < 1:
		return c, fmt.Errorf("transport: per-source rate %g/s burst %g, want rate > 0 and burst >= 1", c.PerSourceRate, c.PerSourceBurst)
	case c.MaxConnsPerSource < 1 || c.MaxConns < 1 || c.MaxFreshConns < 1 || c.QueueLen < 1 || c.RecvQueue < 1 || c.MaxPeers < 1:
		return c, fmt.Errorf("transport: connection, queue and peer limits must be positive")
	case c.DialTimeout < 0 || c.WriteTimeout < 0 || c.IdleTimeout < 0 || c.FreshTimeout < 0:
		return c, fmt.Errorf("transport: timeouts must be positive")
	}
	return c, nil
}
