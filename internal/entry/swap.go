package entry

import (
	"crypto/ed25519"
	"encoding/binary"
	"net/netip"
)

// Link swapping (seed 002, "Reordering the virtual layer"; docs/ENTRY.md
// "Link swapping"). H has just vhooked to its anchorage node L:
//
//  1. H sends L a VHook with Swap set (I_AM_VHOOKING), as MsgVHook.
//  2. L answers a SwapOffer, signed by L: its vrnodes vR nearer to H than
//     to L, each with the TCP endpoint where it takes swap links.
//  3. H sends each vR a SwapLink: its own VHook (Swap set, fresh id)
//     with L's offer as proof that L hands vR over. vR answers a
//     VHookAck, or a RESULT refusal.
//  4. On the connection of step 1, H sends L a SwapDone, signed by H:
//     the vR it linked. L answers a RESULT and drops its links to them.
//
// The codec is here, sans I/O; the daemon dials, listens and decides.

// Message types of link swapping, framed like the others (WriteMsg).
const (
	MsgSwapOffer byte = 7
	MsgSwapLink  byte = 8
	MsgSwapDone  byte = 9
	// MaxSwapPeers bounds the vrnodes one offer or one done names.
	MaxSwapPeers = 8
)

// Wire sizes: a fixed part, then count entries. The largest payloads
// (swapOfferMaxSize, swapLinkMaxSize, swapDoneMaxSize) are the bounds of
// the message types for ReadMsg.
const (
	swapOfferFixed   = 1 + 1 + 32 + 32 + 8 + 8 // version, count, anchor, asker, id, stamp: 82
	swapPeerSize     = 32 + 18                 // node key, endpoint
	swapOfferMinSize = swapOfferFixed + ed25519.SignatureSize
	swapOfferMaxSize = swapOfferMinSize + MaxSwapPeers*swapPeerSize // 546
	swapLinkMinSize  = VHookSize + swapOfferMinSize                 // 320
	swapLinkMaxSize  = VHookSize + swapOfferMaxSize                 // 720
	swapDoneFixed    = 1 + 1 + 32 + 8                               // version, count, asker, id: 42
	swapDoneMinSize  = swapDoneFixed + ed25519.SignatureSize
	swapDoneMaxSize  = swapDoneMinSize + MaxSwapPeers*32 // 362
)

var (
	swapOfferDomain = []byte("ntkd swap offer v1\x00")
	swapDoneDomain  = []byte("ntkd swap done v1\x00")
)

// SwapPeer is a vrnode offered: its node key and where it takes swap links (TCP).
type SwapPeer struct {
	Node     PublicKey
	Endpoint netip.AddrPort
}

// SwapOffer is the anchorage node L's answer to an I_AM_VHOOKING.
type SwapOffer struct {
	Anchor PublicKey  // L: it signs
	Asker  PublicKey  // H
	ID     uint64     // H's request id
	Stamp  int64      // unix ns of signing
	Peers  []SwapPeer // at most MaxSwapPeers, no key twice, endpoints unicast (unicastEndpoint)
	Sig    [ed25519.SignatureSize]byte
	_      [0]func()
}

func (o *SwapOffer) appendBody(b []byte) []byte {
	b = append(b, version, byte(len(o.Peers)))
	b = append(b, o.Anchor[:]...)
	b = append(b, o.Asker[:]...)
	b = binary.BigEndian.AppendUint64(b, o.ID)
	b = binary.BigEndian.AppendUint64(b, uint64(o.Stamp))
	for i := range o.Peers {
		b = append(b, o.Peers[i].Node[:]...)
		b = appendEndpoint(b, o.Peers[i].Endpoint)
	}
	return b
}

// AppendBinary appends the offer's wire form (146 + 50 bytes a peer).
// An offer that breaks the rules (more than MaxSwapPeers peers, a key
// twice, ...) is written as it is and refused by DecodeSwapOffer.
func (o *SwapOffer) AppendBinary(b []byte) []byte {
	return append(o.appendBody(b), o.Sig[:]...)
}

// Sign sets o.Anchor to priv's public key and signs o.
func (o *SwapOffer) Sign(priv ed25519.PrivateKey) {
	o.Anchor = PublicKeyOf(priv)
	copy(o.Sig[:], ed25519.Sign(priv, o.appendBody(append([]byte(nil), swapOfferDomain...))))
}

// Verify checks L's signature (by o.Anchor).
func (o *SwapOffer) Verify() error {
	if !ed25519.Verify(o.Anchor[:], o.appendBody(append([]byte(nil), swapOfferDomain...)), o.Sig[:]) {
		return ErrBadSignature
	}
	return nil
}

// Offers says whether node is among the peers offered.
func (o *SwapOffer) Offers(node PublicKey) bool {
	for i := range o.Peers {
		if o.Peers[i].Node == node {
			return true
		}
	}
	return false
}

// DecodeSwapOffer reads a SwapOffer payload; only the canonical form is
// accepted. Signatures are left to Verify.
func DecodeSwapOffer(b []byte) (SwapOffer, error) {
	var o SwapOffer
	switch {
	case len(b) < swapOfferMinSize:
		return o, malformed("swap offer truncated")
	case b[0] != version:
		return o, malformed("swap offer version")
	case b[1] > MaxSwapPeers:
		return o, malformed("swap offer of more than MaxSwapPeers peers")
	case len(b) != swapOfferMinSize+int(b[1])*swapPeerSize:
		return o, malformed("swap offer length not that of its count")
	}
	copy(o.Anchor[:], b[2:34])
	copy(o.Asker[:], b[34:66])
	o.ID = binary.BigEndian.Uint64(b[66:74])
	o.Stamp = int64(binary.BigEndian.Uint64(b[74:82]))
	copy(o.Sig[:], b[len(b)-ed25519.SignatureSize:])
	switch {
	case o.Stamp < 0:
		return SwapOffer{}, malformed("swap offer stamp")
	case o.Anchor == o.Asker:
		return SwapOffer{}, malformed("swap offer to its own anchor")
	}
	if n := int(b[1]); n > 0 {
		o.Peers = make([]SwapPeer, n)
		p := b[swapOfferFixed:]
		for i := range o.Peers {
			pr := &o.Peers[i]
			copy(pr.Node[:], p[:32])
			pr.Endpoint = decodeEndpoint(p[32:swapPeerSize])
			p = p[swapPeerSize:]
			switch {
			case !unicastEndpoint(pr.Endpoint):
				return SwapOffer{}, malformed("swap peer endpoint not a unicast address and port")
			case pr.Node == o.Anchor || pr.Node == o.Asker:
				return SwapOffer{}, malformed("swap peer is the anchor or the asker")
			}
			for j := range i {
				if o.Peers[j].Node == pr.Node {
					return SwapOffer{}, malformed("swap peer twice")
				}
			}
		}
	}
	return o, nil
}

// SwapLink is H's request to a vrnode vR that L offered.
type SwapLink struct {
	Hook  VHook     // H's, Swap set, signed by H
	Offer SwapOffer // L's, naming H as Asker and vR among Peers
	_     [0]func()
}

// AppendBinary appends the request's wire form: the hook's VHookSize
// bytes, then the offer's.
func (s *SwapLink) AppendBinary(b []byte) []byte {
	return s.Offer.AppendBinary(s.Hook.AppendBinary(b))
}

// DecodeSwapLink reads a SwapLink payload; both parts only in their
// canonical form, the hook with Swap set and the offer made to the
// hook's node. Signatures are not checked: the daemon calls Verify on
// both (and Anchor.Check on the hook), checks that the offer names it
// (Offers) and comes from one of its vrnodes, and that it is fresh.
func DecodeSwapLink(b []byte) (SwapLink, error) {
	var s SwapLink
	if len(b) < swapLinkMinSize {
		return s, malformed("swap link truncated")
	}
	var err error
	if s.Hook, err = DecodeVHook(b[:VHookSize]); err != nil {
		return SwapLink{}, err
	}
	if s.Offer, err = DecodeSwapOffer(b[VHookSize:]); err != nil {
		return SwapLink{}, err
	}
	switch {
	case !s.Hook.Swap:
		return SwapLink{}, malformed("swap link hook without the swap flag")
	case s.Offer.Asker != s.Hook.Node:
		return SwapLink{}, malformed("swap link offer made to another node")
	}
	return s, nil
}

// SwapDone is H's report to L of the vrnodes it linked.
type SwapDone struct {
	Asker  PublicKey   // H: it signs
	ID     uint64      // the id of H's I_AM_VHOOKING
	Linked []PublicKey // at most MaxSwapPeers, no key twice
	Sig    [ed25519.SignatureSize]byte
	_      [0]func()
}

func (d *SwapDone) appendBody(b []byte) []byte {
	b = append(b, version, byte(len(d.Linked)))
	b = append(b, d.Asker[:]...)
	b = binary.BigEndian.AppendUint64(b, d.ID)
	for i := range d.Linked {
		b = append(b, d.Linked[i][:]...)
	}
	return b
}

// AppendBinary appends the report's wire form (106 + 32 bytes a node).
func (d *SwapDone) AppendBinary(b []byte) []byte {
	return append(d.appendBody(b), d.Sig[:]...)
}

// Sign sets d.Asker to priv's public key and signs d.
func (d *SwapDone) Sign(priv ed25519.PrivateKey) {
	d.Asker = PublicKeyOf(priv)
	copy(d.Sig[:], ed25519.Sign(priv, d.appendBody(append([]byte(nil), swapDoneDomain...))))
}

// Verify checks H's signature (by d.Asker).
func (d *SwapDone) Verify() error {
	if !ed25519.Verify(d.Asker[:], d.appendBody(append([]byte(nil), swapDoneDomain...)), d.Sig[:]) {
		return ErrBadSignature
	}
	return nil
}

// DecodeSwapDone reads a SwapDone payload; only the canonical form.
// Signatures are left to Verify.
func DecodeSwapDone(b []byte) (SwapDone, error) {
	var d SwapDone
	switch {
	case len(b) < swapDoneMinSize:
		return d, malformed("swap done truncated")
	case b[0] != version:
		return d, malformed("swap done version")
	case b[1] > MaxSwapPeers:
		return d, malformed("swap done of more than MaxSwapPeers nodes")
	case len(b) != swapDoneMinSize+int(b[1])*32:
		return d, malformed("swap done length not that of its count")
	}
	copy(d.Asker[:], b[2:34])
	d.ID = binary.BigEndian.Uint64(b[34:42])
	copy(d.Sig[:], b[len(b)-ed25519.SignatureSize:])
	if n := int(b[1]); n > 0 {
		d.Linked = make([]PublicKey, n)
		p := b[swapDoneFixed:]
		for i := range d.Linked {
			copy(d.Linked[i][:], p[:32])
			p = p[32:]
			if d.Linked[i] == d.Asker {
				return SwapDone{}, malformed("swap done names its asker")
			}
			for j := range i {
				if d.Linked[j] == d.Linked[i] {
					return SwapDone{}, malformed("swap done names a node twice")
				}
			}
		}
	}
	return d, nil
}
