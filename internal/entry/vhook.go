package entry

import (
	"crypto/ed25519"
	"encoding/binary"
	"net/netip"
	"time"
)

// Virtual hooking (seed 002, docs/VLAYER.md "Virtual hooking"): a vnode H
// that has no vlink asks an entry node picked from the list for one. It
// sends a VHOOK over TCP to the entry node's listed endpoint (the same
// port number as its WireGuard endpoint, on TCP), signed with H's own key;
// the entry node, as H's anchorage node, makes a tunnel to H and answers
// with a VHOOK_ACK signed with its key (the one the list names it by),
// carrying H's random id back, the endpoint of that tunnel, the TCP port
// it swaps links on and its coordinates. The codec and the anchorage
// node's checks are here, sans I/O; the daemon dials, listens and makes
// the tunnels.

// Message types of virtual hooking, framed like the list's (WriteMsg).
const (
	MsgVHook    byte = 5 // a VHook
	MsgVHookAck byte = 6 // a VHookAck; a refusal is a RESULT
)

// VHook is H's request for a vlink.
type VHook struct {
	Node      PublicKey      // H's Ed25519 key: it signs the request
	TunnelKey [32]byte       // H's WireGuard public key
	Endpoint  netip.AddrPort // H's public endpoint; invalid when H cannot be reached (NAT): it dials
	Listen    uint16         // TCP port H takes swap links on (SwapLink); 0: none, and only with an Endpoint
	Swap      bool           // I_AM_VHOOKING: H asks for link swapping (a SwapOffer), or H's half of a SwapLink
	Want      uint8          // anchor_links: how many anchorage nodes H wants, 1..MaxWant; 0 is sent as 1 (see VHookChain)
	// Keep: H keeps the vlinks it has and asks for anchorage nodes besides
	// them (one died: seed 002 replaces it through the remaining ones); a
	// vnode that anchors H already neither makes its tunnel again nor
	// counts as a new one. Without it, an anchorage node asked again
	// replaces its tunnel (H restarted).
	Keep      bool
	HasCoords bool
	Lat, Lon  int32  // microdegrees, as in a Record
	ID        uint64 // random; comes back in the ACK
	Stamp     int64  // unix nanoseconds of signing
	Sig       [ed25519.SignatureSize]byte
	_         [0]func() // not comparable: no equality function in the router binary
}

// VHookAck is the anchorage node's answer: the tunnel it made for H,
// where H swaps links with it (Listen) and where it is (the coordinates,
// by which H measures the vnodes it links).
type VHookAck struct {
	Node      PublicKey      // the anchorage node's key: the list's key of the entry node asked
	TunnelKey [32]byte       // its WireGuard public key
	Endpoint  netip.AddrPort // where H sends its tunnel's packets; always a unicast address and port
	Listen    uint16         // TCP port it takes link swaps on (I_AM_VHOOKING, SwapLink), at Endpoint's address; 0: none
	HasCoords bool
	Lat, Lon  int32  // its coordinates, microdegrees, as in a Record; 0 without HasCoords
	ID        uint64 // H's
	Stamp     int64
	Sig       [ed25519.SignatureSize]byte
	_         [0]func()
}

// Wire sizes: version, flags, keys, endpoint, listen port, coordinates,
// id, stamp, signature; a VHOOK and a VHOOK_ACK have the same layout
// (their flags differ).
const (
	vhookBody    = 2 + 32 + 32 + 18 + 2 + 8 + 8 + 8     // 110
	VHookSize    = vhookBody + ed25519.SignatureSize    // 174
	vhookAckBody = 2 + 32 + 32 + 18 + 2 + 8 + 8 + 8     // 110
	VHookAckSize = vhookAckBody + ed25519.SignatureSize // 174
	// VHook flags; flagCoords (1) is the record's. Bits 4..6 (flagWant)
	// hold Want-1; bit 7 is unknown, and refused. A VHookAck's flags are
	// flagCoords alone; any other bit is refused.
	flagEndpoint = 2
	flagSwap     = 4
	flagKeep     = 8
	flagWant     = 7 << wantShift
	wantShift    = 4
	flagTooMany  = 0x80 // what AppendBinary writes for a Want above MaxWant: DecodeVHook refuses it
	// MaxWant bounds VHook.Want: the anchorage nodes one request asks for.
	MaxWant = 8
)

var (
	vhookDomain    = []byte("ntkd vhook v1\x00")
	vhookAckDomain = []byte("ntkd vhook ack v1\x00")
)

func appendEndpoint(b []byte, ep netip.AddrPort) []byte {
	var a [16]byte
	if ep.IsValid() {
		a = ep.Addr().As16() // IPv4 as ::ffff:a.b.c.d
	}
	b = append(b, a[:]...)
	return binary.BigEndian.AppendUint16(b, ep.Port())
}

func decodeEndpoint(b []byte) netip.AddrPort {
	a := netip.AddrFrom16([16]byte(b[:16])).Unmap()
	return netip.AddrPortFrom(a, binary.BigEndian.Uint16(b[16:18]))
}

// unicastEndpoint says whether ep can carry a tunnel.
func unicastEndpoint(ep netip.AddrPort) bool {
	a := ep.Addr()
	return a.IsValid() && !a.IsUnspecified() && !a.IsMulticast() && a.Zone() == "" && ep.Port() != 0
}

func (v *VHook) appendBody(b []byte) []byte {
	var flags byte
	if v.HasCoords {
		flags |= flagCoords
	}
	if v.Endpoint.IsValid() {
		flags |= flagEndpoint
	}
	if v.Swap {
		flags |= flagSwap
	}
	if v.Keep {
		flags |= flagKeep
	}
	switch {
	case v.Want > MaxWant:
		flags |= flagWant | flagTooMany
	case v.Want > 1:
		flags |= (v.Want - 1) << wantShift
	}
	h := hookBody{v.Node, v.TunnelKey, v.Endpoint, v.Listen, v.Lat, v.Lon, v.ID, v.Stamp}
	return h.append(b, flags)
}

// hookBody is the layout a VHOOK and a VHOOK_ACK share, after their flags.
type hookBody struct {
	node      PublicKey
	tunnelKey [32]byte
	endpoint  netip.AddrPort
	listen    uint16
	lat, lon  int32
	id        uint64
	stamp     int64
}

func (h *hookBody) append(b []byte, flags byte) []byte {
	b = append(b, version, flags)
	b = append(b, h.node[:]...)
	b = append(b, h.tunnelKey[:]...)
	b = appendEndpoint(b, h.endpoint)
	b = binary.BigEndian.AppendUint16(b, h.listen)
	b = binary.BigEndian.AppendUint32(b, uint32(h.lat))
	b = binary.BigEndian.AppendUint32(b, uint32(h.lon))
	b = binary.BigEndian.AppendUint64(b, h.id)
	return binary.BigEndian.AppendUint64(b, uint64(h.stamp))
}

// readHookBody reads the shared layout from b, vhookBody bytes at least.
func readHookBody(b []byte) hookBody {
	var h hookBody
	copy(h.node[:], b[2:34])
	copy(h.tunnelKey[:], b[34:66])
	h.endpoint = decodeEndpoint(b[66:84])
	h.listen = binary.BigEndian.Uint16(b[84:86])
	h.lat = int32(binary.BigEndian.Uint32(b[86:90]))
	h.lon = int32(binary.BigEndian.Uint32(b[90:94]))
	h.id = binary.BigEndian.Uint64(b[94:102])
	h.stamp = int64(binary.BigEndian.Uint64(b[102:110]))
	return h
}

// checkCoords holds the rules of coordinates on the wire: none without
// their flag, and on the globe.
func checkCoords(has bool, lat, lon int32) error {
	switch {
	case !has && (lat != 0 || lon != 0):
		return malformed("coordinates without their flag")
	case lat < -maxLat || lat > maxLat || lon < -maxLon || lon > maxLon:
		return malformed("coordinates out of range")
	}
	return nil
}

// AppendBinary appends the request's wire form (VHookSize bytes). A
// request that breaks the rules (Want above MaxWant, a listen port
// without an endpoint, ...) is written as it is, flagTooMany set for the
// Want, and refused by DecodeVHook.
func (v *VHook) AppendBinary(b []byte) []byte { return append(v.appendBody(b), v.Sig[:]...) }

// Sign sets v.Node to priv's public key and signs v.
func (v *VHook) Sign(priv ed25519.PrivateKey) {
	v.Node = PublicKeyOf(priv)
	copy(v.Sig[:], ed25519.Sign(priv, v.appendBody(append([]byte(nil), vhookDomain...))))
}

// Verify checks H's signature.
func (v *VHook) Verify() error {
	if !ed25519.Verify(v.Node[:], v.appendBody(append([]byte(nil), vhookDomain...)), v.Sig[:]) {
		return ErrBadSignature
	}
	return nil
}

// DecodeVHook reads a VHOOK payload; only the canonical form is accepted.
func DecodeVHook(b []byte) (VHook, error) {
	var v VHook
	switch {
	case len(b) != VHookSize:
		return v, malformed("vhook length")
	case b[0] != version:
		return v, malformed("vhook version")
	case b[1]&^(flagCoords|flagEndpoint|flagSwap|flagKeep|flagWant) != 0:
		return v, malformed("vhook flags")
	}
	v.HasCoords = b[1]&flagCoords != 0
	v.Swap = b[1]&flagSwap != 0
	v.Keep = b[1]&flagKeep != 0
	v.Want = (b[1]&flagWant)>>wantShift + 1
	h := readHookBody(b)
	ep := h.endpoint
	v.Node, v.TunnelKey, v.Listen, v.Lat, v.Lon, v.ID, v.Stamp = h.node, h.tunnelKey, h.listen, h.lat, h.lon, h.id, h.stamp
	copy(v.Sig[:], b[vhookBody:])
	if b[1]&flagEndpoint != 0 {
		if !unicastEndpoint(ep) {
			return VHook{}, malformed("vhook endpoint not a unicast address and port")
		}
		v.Endpoint = ep
	} else if [18]byte(b[66:84]) != [18]byte{} {
		return VHook{}, malformed("vhook endpoint without its flag")
	} else if v.Listen != 0 {
		return VHook{}, malformed("vhook listen port without an endpoint")
	}
	if err := checkCoords(v.HasCoords, v.Lat, v.Lon); err != nil {
		return VHook{}, err
	}
	if v.Stamp < 0 {
		return VHook{}, malformed("vhook stamp")
	}
	return v, nil
}

func (a *VHookAck) appendBody(b []byte) []byte {
	var flags byte
	if a.HasCoords {
		flags |= flagCoords
	}
	h := hookBody{a.Node, a.TunnelKey, a.Endpoint, a.Listen, a.Lat, a.Lon, a.ID, a.Stamp}
	return h.append(b, flags)
}

// AppendBinary appends the answer's wire form (VHookAckSize bytes). An
// answer that breaks the rules (coordinates without HasCoords or out of
// range, no endpoint, ...) is written as it is and refused by
// DecodeVHookAck.
func (a *VHookAck) AppendBinary(b []byte) []byte { return append(a.appendBody(b), a.Sig[:]...) }

// Sign sets a.Node to priv's public key and signs a.
func (a *VHookAck) Sign(priv ed25519.PrivateKey) {
	a.Node = PublicKeyOf(priv)
	copy(a.Sig[:], ed25519.Sign(priv, a.appendBody(append([]byte(nil), vhookAckDomain...))))
}

// Verify checks that the answer is the anchorage node's (anchor: the key
// the list names the entry node asked by) and is about our request id.
func (a *VHookAck) Verify(anchor PublicKey, id uint64) error {
	switch {
	case a.Node != anchor:
		return malformed("vhook ack from another node than the one asked")
	case a.ID != id:
		return malformed("vhook ack for another request")
	case !ed25519.Verify(a.Node[:], a.appendBody(append([]byte(nil), vhookAckDomain...)), a.Sig[:]):
		return ErrBadSignature
	}
	return nil
}

// DecodeVHookAck reads a VHOOK_ACK payload; only the canonical form is
// accepted: flags of flagCoords alone, coordinates 0 without it and in
// range with it, a unicast endpoint, a stamp >= 0. A listen port of 0 is
// no swap listener.
func DecodeVHookAck(b []byte) (VHookAck, error) {
	var a VHookAck
	switch {
	case len(b) != VHookAckSize:
		return a, malformed("vhook ack length")
	case b[0] != version:
		return a, malformed("vhook ack version")
	case b[1]&^flagCoords != 0:
		return a, malformed("vhook ack flags")
	}
	a.HasCoords = b[1]&flagCoords != 0
	h := readHookBody(b)
	a.Node, a.TunnelKey, a.Endpoint, a.Listen, a.Lat, a.Lon, a.ID, a.Stamp = h.node, h.tunnelKey, h.endpoint, h.listen, h.lat, h.lon, h.id, h.stamp
	copy(a.Sig[:], b[vhookAckBody:])
	if !unicastEndpoint(a.Endpoint) {
		return VHookAck{}, malformed("vhook ack endpoint not a unicast address and port")
	}
	if err := checkCoords(a.HasCoords, a.Lat, a.Lon); err != nil {
		return VHookAck{}, err
	}
	if a.Stamp < 0 {
		return VHookAck{}, malformed("vhook ack stamp")
	}
	return a, nil
}

// AnchorConfig bounds what an anchorage node accepts.
type AnchorConfig struct {
	MaxSkew time.Duration // a request's stamp may be this far from our clock either way; default 5 min
	MaxSeen int           // requests remembered against replays; default 1024
}

// Anchor is the anchorage node's side of virtual hooking, sans I/O: it
// decides on each request; the daemon makes the tunnel on StatusOK and
// rate-limits sources (Limiter) before calling it.
type Anchor struct {
	cfg  AnchorConfig
	seen map[vhookKey]int64 // request -> its stamp, until it is older than MaxSkew
}

type vhookKey struct {
	node PublicKey
	id   uint64
}

// NewAnchor returns an anchor with cfg's zero values defaulted.
func NewAnchor(cfg AnchorConfig) *Anchor {
	if cfg.MaxSkew <= 0 {
		cfg.MaxSkew = 5 * time.Minute
	}
	if cfg.MaxSeen <= 0 {
		cfg.MaxSeen = 1024
	}
	return &Anchor{cfg: cfg, seen: map[vhookKey]int64{}}
}

// Timely says whether a message signed at stamp (unix ns) is within
// MaxSkew of now: StatusOK, StatusStale (older) or StatusFuture.
func (a *Anchor) Timely(now time.Time, stamp int64) Status {
	ns, skew := now.UnixNano(), a.cfg.MaxSkew.Nanoseconds()
	switch {
	case stamp < ns-skew:
		return StatusStale
	case stamp > ns+skew:
		return StatusFuture
	}
	return StatusOK
}

// Check decides on a decoded request at now: StatusOK (remembered, so a
// replay of it is StatusStale), StatusBadSignature, StatusStale (a replay,
// or signed more than MaxSkew ago), StatusFuture (more than MaxSkew ahead)
// or StatusFull (full: the daemon has no room for another vlink, or too
// many requests within MaxSkew to remember).
func (a *Anchor) Check(now time.Time, v *VHook, full bool) Status {
	if st := a.Timely(now, v.Stamp); st != StatusOK {
		return st
	}
	if v.Verify() != nil {
		return StatusBadSignature
	}
	k := vhookKey{v.Node, v.ID}
	if _, ok := a.seen[k]; ok {
		return StatusStale
	}
	if full {
		return StatusFull
	}
	if len(a.seen) >= a.cfg.MaxSeen {
		for x, st := range a.seen {
			if a.Timely(now, st) == StatusStale {
				delete(a.seen, x)
			}
		}
		if len(a.seen) >= a.cfg.MaxSeen {
			return StatusFull
		}
	}
	a.seen[k] = v.Stamp
	return StatusOK
}
