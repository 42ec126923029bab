package entry

import (
	"crypto/ed25519"
	"encoding/binary"
)

// Anchor chains (seed 002, anchor_links; docs/ENTRY.md "Virtual
// hooking"). H asks an entry node V for VHook.Want anchorage nodes; V may
// carry the request through the mesh to the vnode nearest to H and on
// along the anchor chain:
//
//  1. V wraps H's VHOOK in a ChainBody (no acks yet) and sends it through
//     the mesh, which carries it as opaque bytes.
//  2. Each anchorage node on the way checks the request (Anchor.Check),
//     makes its tunnel for H, appends its VHookAck (for H's id) to the
//     body and passes it on, until Want acks are gathered or the chain
//     ends; the body then comes back to V.
//  3. V answers H, on H's VHOOK connection, with a VHOOK_CHAIN signed by
//     V: the acks gathered. H checks it with Verify (V's list key, its id)
//     and sends to each anchor's tunnel endpoint.
//
// The codec is here, sans I/O; the daemon carries, dials and decides.

// MsgVHookChain is the entry node's answer to a VHOOK it carried through
// the mesh, framed like the others (WriteMsg); a refusal is a RESULT.
const MsgVHookChain byte = 10

// MaxChainAnchors bounds the anchorage nodes one chain answer holds.
const MaxChainAnchors = 8

// Wire sizes: a fixed part, then count acks of VHookAckSize bytes. The
// largest VHOOK_CHAIN (vhookChainMaxSize) is its type's bound for ReadMsg;
// MaxChainBodySize is what the mesh must carry.
const (
	vhookChainFixed   = 1 + 1 + 32 + 8 + 8 // version, count, node, id, stamp: 50
	vhookChainMinSize = vhookChainFixed + VHookAckSize + ed25519.SignatureSize
	vhookChainMaxSize = vhookChainFixed + MaxChainAnchors*VHookAckSize + ed25519.SignatureSize // 1506
	chainBodyFixed    = 1 + 1 + VHookSize                                                      // version, count, request: 176
	// MaxChainBodySize is the largest ChainBody: MaxChainAnchors acks.
	MaxChainBodySize = chainBodyFixed + MaxChainAnchors*VHookAckSize // 1568
)

var vhookChainDomain = []byte("ntkd vhook chain v1\x00")

// VHookChain is an entry node's answer to a VHOOK it carried through the
// mesh: the acks of the anchorage nodes the request reached, each signed
// by its anchorage node over the asker's id, the whole signed by the
// entry node.
type VHookChain struct {
	Node    PublicKey  // the entry node's (the key its list names it by): it signs
	ID      uint64     // the asker's
	Anchors []VHookAck // 1..MaxChainAnchors, in the order the request reached them
	Stamp   int64      // unix ns of signing
	Sig     [ed25519.SignatureSize]byte
	_       [0]func()
}

func (c *VHookChain) appendBody(b []byte) []byte {
	b = append(b, version, byte(len(c.Anchors)))
	b = append(b, c.Node[:]...)
	b = binary.BigEndian.AppendUint64(b, c.ID)
	b = binary.BigEndian.AppendUint64(b, uint64(c.Stamp))
	for i := range c.Anchors {
		b = c.Anchors[i].AppendBinary(b)
	}
	return b
}

// AppendBinary appends the answer's wire form (114 + 174 bytes an
// anchor). An answer that breaks the rules (no anchor, more than
// MaxChainAnchors, an ack for another id, ...) is written as it is and
// refused by DecodeVHookChain.
func (c *VHookChain) AppendBinary(b []byte) []byte {
	return append(c.appendBody(b), c.Sig[:]...)
}

// Sign sets c.Node to priv's public key and signs c.
func (c *VHookChain) Sign(priv ed25519.PrivateKey) {
	c.Node = PublicKeyOf(priv)
	copy(c.Sig[:], ed25519.Sign(priv, c.appendBody(append([]byte(nil), vhookChainDomain...))))
}

// Verify checks that node signed it for id, and that every anchor's ack
// is signed by the node it names for the same id, and that no two
// anchors share a node key or a tunnel key.
func (c *VHookChain) Verify(node PublicKey, id uint64) error {
	switch {
	case c.Node != node:
		return malformed("vhook chain from another node than the one asked")
	case c.ID != id:
		return malformed("vhook chain for another request")
	case len(c.Anchors) == 0 || len(c.Anchors) > MaxChainAnchors:
		return malformed("vhook chain of no anchor or more than MaxChainAnchors")
	}
	if err := checkAnchors(c.Anchors, id); err != nil {
		return err
	}
	if !ed25519.Verify(c.Node[:], c.appendBody(append([]byte(nil), vhookChainDomain...)), c.Sig[:]) {
		return ErrBadSignature
	}
	for i := range c.Anchors {
		if err := c.Anchors[i].Verify(c.Anchors[i].Node, id); err != nil {
			return err
		}
	}
	return nil
}

// checkAnchors checks what decoders and Verify hold acks to: H's id,
// no node key and no tunnel key twice.
func checkAnchors(as []VHookAck, id uint64) error {
	for i := range as {
		if as[i].ID != id {
			return malformed("vhook chain ack for another request")
		}
		for j := range i {
			if as[j].Node == as[i].Node {
				return malformed("vhook chain anchor twice")
			}
			if as[j].TunnelKey == as[i].TunnelKey {
				return malformed("vhook chain tunnel key twice")
			}
		}
	}
	return nil
}

// decodeAnchors decodes len(as) acks from b, which holds exactly them.
func decodeAnchors(as []VHookAck, b []byte) error {
	for i := range as {
		a, err := DecodeVHookAck(b[:VHookAckSize])
		if err != nil {
			return err
		}
		as[i] = a
		b = b[VHookAckSize:]
	}
	return nil
}

// DecodeVHookChain reads a VHOOK_CHAIN payload; only the canonical form
// is accepted: 1..MaxChainAnchors acks, each canonical and for the
// answer's id, no node key or tunnel key twice. Signatures are left to
// Verify.
func DecodeVHookChain(b []byte) (VHookChain, error) {
	var c VHookChain
	switch {
	case len(b) < vhookChainMinSize:
		return c, malformed("vhook chain truncated")
	case b[0] != version:
		return c, malformed("vhook chain version")
	case b[1] == 0 || b[1] > MaxChainAnchors:
		return c, malformed("vhook chain of no anchor or more than MaxChainAnchors")
	case len(b) != vhookChainFixed+int(b[1])*VHookAckSize+ed25519.SignatureSize:
		return c, malformed("vhook chain length not that of its count")
	}
	copy(c.Node[:], b[2:34])
	c.ID = binary.BigEndian.Uint64(b[34:42])
	c.Stamp = int64(binary.BigEndian.Uint64(b[42:50]))
	copy(c.Sig[:], b[len(b)-ed25519.SignatureSize:])
	if c.Stamp < 0 {
		return VHookChain{}, malformed("vhook chain stamp")
	}
	c.Anchors = make([]VHookAck, b[1])
	if err := decodeAnchors(c.Anchors, b[vhookChainFixed:len(b)-ed25519.SignatureSize]); err != nil {
		return VHookChain{}, err
	}
	if err := checkAnchors(c.Anchors, c.ID); err != nil {
		return VHookChain{}, err
	}
	return c, nil
}

// ChainBody is what travels in the mesh with a carried VHOOK: the
// asker's signed request and the acks gathered so far.
type ChainBody struct {
	Request VHook
	Anchors []VHookAck // 0..MaxChainAnchors, at most Request.Want
	_       [0]func()
}

// AppendBinary appends the body's wire form: version, count, the
// request's VHookSize bytes, then count acks (176 + 174 bytes an ack, at
// most MaxChainBodySize). A body that breaks the rules is written as it
// is and refused by DecodeChainBody.
func (c *ChainBody) AppendBinary(b []byte) []byte {
	b = append(b, version, byte(len(c.Anchors)))
	b = c.Request.AppendBinary(b)
	for i := range c.Anchors {
		b = c.Anchors[i].AppendBinary(b)
	}
	return b
}

// DecodeChainBody reads a ChainBody; only the canonical form is accepted:
// the request as DecodeVHook takes it, at most Request.Want acks, each
// canonical, for the request's id and not from its asker, no node key or
// tunnel key twice. No signature is checked: callers call Request.Verify
// (or Anchor.Check) and each ack's Verify.
func DecodeChainBody(b []byte) (ChainBody, error) {
	var c ChainBody
	switch {
	case len(b) < chainBodyFixed:
		return c, malformed("chain body truncated")
	case b[0] != version:
		return c, malformed("chain body version")
	case b[1] > MaxChainAnchors:
		return c, malformed("chain body of more than MaxChainAnchors anchors")
	case len(b) != chainBodyFixed+int(b[1])*VHookAckSize:
		return c, malformed("chain body length not that of its count")
	}
	var err error
	if c.Request, err = DecodeVHook(b[2:chainBodyFixed]); err != nil {
		return ChainBody{}, err
	}
	n := b[1]
	if n > c.Request.Want {
		return ChainBody{}, malformed("chain body of more anchors than its request wants")
	}
	if n == 0 {
		return c, nil
	}
	c.Anchors = make([]VHookAck, n)
	if err := decodeAnchors(c.Anchors, b[chainBodyFixed:]); err != nil {
		return ChainBody{}, err
	}
	if err := checkAnchors(c.Anchors, c.Request.ID); err != nil {
		return ChainBody{}, err
	}
	for i := range c.Anchors {
		if c.Anchors[i].Node == c.Request.Node {
			return ChainBody{}, malformed("chain body anchor is the asker")
		}
	}
	return c, nil
}
