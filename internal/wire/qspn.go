package wire

import (
	"slices"
)

// BroadcastFlags are the flag bits of TRACER_PKT / QSPN_CLOSE / QSPN_OPEN.
type BroadcastFlags uint8

const (
	BcastTracer      BroadcastFlags = 0x01 // the packet is a tracer packet
	BcastBBlock      BroadcastFlags = 0x02 // bnode blocks follow the chunks
	BcastStarters    BroadcastFlags = 0x04 // BCAST_TRACER_STARTERS: sent by contiguous starters
	BcastBnodeClosed BroadcastFlags = 0x08 // a bnode of the gnode closed (seed §5.3.1)
	BcastBnodeOpened BroadcastFlags = 0x10 // a bnode of the gnode opened (seed §5.3.1)
	BcastGateways    BroadcastFlags = 0x20 // Internet gateways follow (docs/IGS.md)
	BcastVnodes      BroadcastFlags = 0x40 // the multi-barycenter of the vnodes follows (Viphilama, seed 002)

	bcastFlagsKnown = uint8(BcastTracer | BcastBBlock | BcastStarters | BcastBnodeClosed | BcastBnodeOpened | BcastGateways | BcastVnodes)
)

// MaxGateways bounds the gateways one flood announces.
const MaxGateways = 4

// Gateway is an Internet gateway inside the element that started a flood
// (NTK_RFC 0003): its uplink's bandwidth and where it sits in the element.
type Gateway struct {
	Bandwidth uint32 // kbit/s, > 0
	// Position holds the gateway's ids at levels 0..Level-1 (the flood's
	// level); the ids from Level up are the origin element's. Entries from
	// Level on must be zero.
	Position [MaxLevels]uint8
}

// MaxVnodePoints bounds the points of the multi-barycenter one flood
// announces.
const MaxVnodePoints = 4

// Coordinate ranges, in microdegrees (VnodePoint, VHookRoute).
const (
	maxLat = 90_000_000
	maxLon = 180_000_000
)

// VnodePoint is one barycenter of the multi-barycenter of the vnodes inside
// the element that started a flood (the Viphilama map of the virtual layer,
// seed 002): where a cluster of vnodes sits, how many it holds, and which
// vnode of the cluster requests for that point go to.
type VnodePoint struct {
	Lat, Lon int32  // microdegrees: Lat in -90e6..90e6, Lon in -180e6..180e6
	Count    uint16 // vnodes it stands for, >= 1
	// Position holds, at levels 0..Level-1 (the flood's level), the ids of
	// the vnode of the cluster nearest its barycenter (the one a request
	// for that point is routed to); the ids from Level up are the origin
	// element's. Entries from Level on must be zero.
	Position [MaxLevels]uint8
}

// coordsProblem returns "" when lat and lon are in range, else a
// description (no allocation on the decode path).
func coordsProblem(lat, lon int32) string {
	switch {
	case lat < -maxLat || lat > maxLat:
		return "latitude outside -90e6..90e6"
	case lon < -maxLon || lon > maxLon:
		return "longitude outside -180e6..180e6"
	}
	return ""
}

// Chunk is one hop of the route a tracer packet travelled.
type Chunk struct {
	Node uint8  // IP2MAP id, at the packet's level, of the node that added the chunk
	Cost uint32 // cost of the hop into that node
}

// BnodeLink is one gnode a border node touches.
type BnodeLink struct {
	Gnode uint8 // IP2MAP id of the gnode on the other side
	Level uint8 // its level (< 16)
	Cost  uint32
}

// BnodeBlock lists the gnodes one border node of this gnode touches.
type BnodeBlock struct {
	Bnode uint8 // IP2MAP id of the border node at the packet's level
	Links []BnodeLink
}

// Broadcast is the payload shared by TRACER_PKT, QSPN_CLOSE and QSPN_OPEN.
//
//	off  size  field
//	0    1     gnode id: the gnode inside which the broadcast stays
//	1    1     level (< 16)
//	2    1     sub_id: IP2MAP id of the extreme node that created a qspn_open
//	3    1     flags (BroadcastFlags)
//	4    4     QSPN round id
//	8    4     origin nonce: identity of the element that started the flood
//	12   4     origin sub-nonce: nonce of the starter's element of level L-1
//	16   4     part: digest of the part of the origin gnode the starter reaches
//	20   L     origin position: ids of levels 0..L-1 of the node that started
//	           it (L = level; nothing at level 0)
//	20+L 1     ttl
//	21+L 2     chunk count c (<= 256)
//	23+L 5c    chunks {node id u8, cost u32}
//	then, iff flags has BBLOCK:
//	     2     bnode block count k (1..256)
//	     k x   {bnode id u8, link count l u8, l x {gnode id u8, level u8, cost u32}}
//	then, iff flags has GATEWAYS:
//	     1     gateway count g (1..MaxGateways)
//	     g x   {bandwidth u32 (> 0), position L bytes}
//	then, iff flags has VNODES:
//	     1     vnode point count v (1..MaxVnodePoints)
//	     v x   {lat i32, lon i32 (microdegrees), count u16 (>= 1), position L bytes}
//
// The header's packet id is the broadcast id the broadcast cache compares.
//
// Decoding reuses Chunks, Blocks, each block's Links, Gateways and Vnodes,
// so a Decoder decodes tracer packets without allocating once it has seen
// big ones.
type Broadcast struct {
	Kind  Op // OpTracerPkt, OpQSPNClose or OpQSPNOpen
	Gnode uint8
	Level uint8
	SubID uint8
	Flags BroadcastFlags // BcastBBlock must be set iff Blocks is not empty
	Round uint32
	// Nonce is the random identity of the flood's origin element (a node,
	// or a gnode: drawn by its creator). Two elements claiming the same id
	// carry different nonces, which is how collisions are seen.
	Nonce uint32
	// Origin is the position, below Level, of the node that started the
	// flood: a gnode member that gets its own gnode's flood from outside,
	// started by a member it cannot reach inside, knows the gnode fell
	// apart (NTK_RFC 0001). Entries from Level on must be zero.
	Origin [MaxLevels]uint8
	// SubNonce is the nonce of the starter's element of level Level-1, so
	// that an id reused by another element inside the gnode is not taken
	// for the starter's (0 at level 0).
	SubNonce uint32
	// Part is a digest of the elements of level Level-1 the starter can
	// reach inside the origin gnode. Floods of one gnode with different
	// parts travel as separate floods, so the parts of a gnode that fell
	// apart hear each other (0 at level 0).
	Part   uint32
	TTL    uint8
	Chunks []Chunk
	Blocks []BnodeBlock
	// Gateways are the Internet gateways inside the origin element
	// (BcastGateways must be set iff it is not empty).
	Gateways []Gateway
	// Vnodes is the multi-barycenter of the vnodes inside the origin
	// element (BcastVnodes must be set iff it is not empty).
	Vnodes []VnodePoint
}

const (
	bcastFixedLen = 23 // plus Level bytes of origin position
	chunkLen      = 5
	blockHdrLen   = 2
	linkLen       = 6
	gatewayLen    = 4  // plus Level bytes of position
	vnodePointLen = 10 // plus Level bytes of position
)

func (p *Broadcast) Op() Op { return p.Kind }

func (p *Broadcast) checkKind() error {
	switch p.Kind {
	case OpTracerPkt, OpQSPNClose, OpQSPNOpen:
		return nil
	}
	return kindError("Broadcast", p.Kind)
}

// Decode decodes the payload bytes of one packet into p.
func (p *Broadcast) Decode(data []byte) error {
	chunks, blocks, gws, vps := p.Chunks[:0], p.Blocks[:0], p.Gateways[:0], p.Vnodes[:0]
	*p = Broadcast{Kind: p.Kind}
	if err := p.checkKind(); err != nil {
		return err
	}
	r := start(data, p.Kind)
	p.Gnode = r.u8("gnode")
	p.Level = r.level("level")
	p.SubID = r.u8("sub_id")
	p.Flags = BroadcastFlags(r.flags("flags", bcastFlagsKnown))
	p.Round = r.u32("round")
	p.Nonce = r.u32("nonce")
	p.SubNonce = r.u32("sub nonce")
	p.Part = r.u32("part")
	for i := 0; i < int(p.Level) && r.err == nil; i++ {
		p.Origin[i] = r.u8("origin position")
	}
	p.TTL = r.u8("ttl")

	off := r.off
	nc := int(r.u16("chunk count"))
	if r.err == nil && nc > MaxChunks {
		r.setErr(ErrInconsistent, "chunk count", off, "%d chunks > %d", nc, MaxChunks)
	}
	if r.need(nc*chunkLen, "chunks") {
		chunks = slices.Grow(chunks, nc) // bounded: the bytes are present
		for i := 0; i < nc; i++ {
			chunks = append(chunks, Chunk{Node: r.u8("chunk node"), Cost: r.u32("chunk cost")})
		}
	}
	p.Chunks = chunks

	if r.err == nil && p.Flags&BcastBBlock != 0 {
		off = r.off
		nb := int(r.u16("block count"))
		if r.err == nil && (nb == 0 || nb > MaxBnodeBlocks) {
			r.setErr(ErrInconsistent, "block count", off, "%d blocks with BBLOCK set, want 1..%d", nb, MaxBnodeBlocks)
		}
		if r.need(nb*blockHdrLen, "blocks") {
			blocks = slices.Grow(blocks, nb)
			for i := 0; i < nb && r.err == nil; i++ {
				// Reuse the block slot and its Links backing array from an
				// earlier decode, if any.
				if i < cap(blocks) {
					blocks = blocks[:i+1]
				} else {
					blocks = append(blocks, BnodeBlock{})
				}
				blk := &blocks[i]
				links := blk.Links[:0]
				blk.Bnode = r.u8("bnode id")
				nl := int(r.u8("link count"))
				if r.need(nl*linkLen, "links") {
					links = slices.Grow(links, nl)
					for j := 0; j < nl; j++ {
						links = append(links, BnodeLink{Gnode: r.u8("link gnode"), Level: r.level("link level"), Cost: r.u32("link cost")})
					}
				}
				blk.Links = links
			}
		}
	}
	p.Blocks = blocks
	if r.err == nil && p.Flags&BcastGateways != 0 {
		off := r.off
		ng := int(r.u8("gateway count"))
		if r.err == nil && (ng == 0 || ng > MaxGateways) {
			r.setErr(ErrInconsistent, "gateway count", off, "%d gateways with GATEWAYS set, want 1..%d", ng, MaxGateways)
		}
		if r.need(ng*(gatewayLen+int(p.Level)), "gateways") {
			gws = slices.Grow(gws, ng)
			for i := 0; i < ng && r.err == nil; i++ {
				off := r.off
				g := Gateway{Bandwidth: r.u32("gateway bandwidth")}
				if r.err == nil && g.Bandwidth == 0 {
					r.setErr(ErrInconsistent, "gateway bandwidth", off, "gateway %d with no bandwidth", i)
				}
				for k := 0; k < int(p.Level); k++ {
					g.Position[k] = r.u8("gateway position")
				}
				gws = append(gws, g)
			}
		}
	}
	p.Gateways = gws
	if r.err == nil && p.Flags&BcastVnodes != 0 {
		off := r.off
		nv := int(r.u8("vnode point count"))
		if r.err == nil && (nv == 0 || nv > MaxVnodePoints) {
			r.setErr(ErrInconsistent, "vnode point count", off, "%d vnode points with VNODES set, want 1..%d", nv, MaxVnodePoints)
		}
		if r.need(nv*(vnodePointLen+int(p.Level)), "vnode points") {
			vps = slices.Grow(vps, nv)
			for i := 0; i < nv && r.err == nil; i++ {
				off := r.off
				v := VnodePoint{Lat: int32(r.u32("vnode lat")), Lon: int32(r.u32("vnode lon"))}
				if msg := coordsProblem(v.Lat, v.Lon); r.err == nil && msg != "" {
					r.setErr(ErrInconsistent, "vnode coordinates", off, "vnode point %d: %s (%d, %d)", i, msg, v.Lat, v.Lon)
				}
				off = r.off
				v.Count = r.u16("vnode count")
				if r.err == nil && v.Count == 0 {
					r.setErr(ErrInconsistent, "vnode count", off, "vnode point %d stands for no vnode", i)
				}
				for k := 0; k < int(p.Level); k++ {
					v.Position[k] = r.u8("vnode position")
				}
				vps = append(vps, v)
			}
		}
	}
	p.Vnodes = vps
	return r.done()
}

func (p *Broadcast) size() (int, error) {
	if err := p.checkKind(); err != nil {
		return 0, err
	}
	op := p.Kind.String()
	if err := checkLevel(p.Kind, "level", p.Level); err != nil {
		return 0, err
	}
	if err := checkFlags(p.Kind, "flags", uint8(p.Flags), bcastFlagsKnown); err != nil {
		return 0, err
	}
	if len(p.Chunks) > MaxChunks {
		return 0, encErr(ErrInconsistent, op, "chunks", "%d chunks > %d", len(p.Chunks), MaxChunks)
	}
	for i := int(p.Level); i < MaxLevels; i++ {
		if p.Origin[i] != 0 {
			return 0, encErr(ErrInconsistent, op, "origin", "origin position set at level %d >= %d", i, p.Level)
		}
	}
	n := bcastFixedLen + int(p.Level) + chunkLen*len(p.Chunks)
	gwFlag := p.Flags&BcastGateways != 0
	if gwFlag != (len(p.Gateways) > 0) {
		return 0, encErr(ErrInconsistent, op, "flags", "GATEWAYS flag %v but %d gateways", gwFlag, len(p.Gateways))
	}
	if len(p.Gateways) > MaxGateways {
		return 0, encErr(ErrInconsistent, op, "gateways", "%d gateways > %d", len(p.Gateways), MaxGateways)
	}
	for i, g := range p.Gateways {
		if g.Bandwidth == 0 {
			return 0, encErr(ErrInconsistent, op, "gateways", "gateway %d with no bandwidth", i)
		}
		for k := int(p.Level); k < MaxLevels; k++ {
			if g.Position[k] != 0 {
				return 0, encErr(ErrInconsistent, op, "gateways", "gateway %d: position set at level %d >= %d", i, k, p.Level)
			}
		}
	}
	if gwFlag {
		n += 1 + (gatewayLen+int(p.Level))*len(p.Gateways)
	}
	vnFlag := p.Flags&BcastVnodes != 0
	if vnFlag != (len(p.Vnodes) > 0) {
		return 0, encErr(ErrInconsistent, op, "flags", "VNODES flag %v but %d vnode points", vnFlag, len(p.Vnodes))
	}
	if len(p.Vnodes) > MaxVnodePoints {
		return 0, encErr(ErrInconsistent, op, "vnodes", "%d vnode points > %d", len(p.Vnodes), MaxVnodePoints)
	}
	for i := range p.Vnodes {
		v := &p.Vnodes[i]
		if msg := coordsProblem(v.Lat, v.Lon); msg != "" {
			return 0, encErr(ErrInconsistent, op, "vnodes", "vnode point %d: %s (%d, %d)", i, msg, v.Lat, v.Lon)
		}
		if v.Count == 0 {
			return 0, encErr(ErrInconsistent, op, "vnodes", "vnode point %d stands for no vnode", i)
		}
		for k := int(p.Level); k < MaxLevels; k++ {
			if v.Position[k] != 0 {
				return 0, encErr(ErrInconsistent, op, "vnodes", "vnode point %d: position set at level %d >= %d", i, k, p.Level)
			}
		}
	}
	if vnFlag {
		n += 1 + (vnodePointLen+int(p.Level))*len(p.Vnodes)
	}
	bblock := p.Flags&BcastBBlock != 0
	if bblock != (len(p.Blocks) > 0) {
		return 0, encErr(ErrInconsistent, op, "flags", "BBLOCK flag %v but %d blocks", bblock, len(p.Blocks))
	}
	if !bblock {
		return n, nil
	}
	if len(p.Blocks) > MaxBnodeBlocks {
		return 0, encErr(ErrInconsistent, op, "blocks", "%d blocks > %d", len(p.Blocks), MaxBnodeBlocks)
	}
	n += 2
	for i := range p.Blocks {
		links := p.Blocks[i].Links
		if len(links) > MaxBnodeLinks {
			return 0, encErr(ErrInconsistent, op, "links", "block %d: %d links > %d", i, len(links), MaxBnodeLinks)
		}
		for j := range links {
			if err := checkLevel(p.Kind, "link level", links[j].Level); err != nil {
				return 0, err
			}
		}
		n += blockHdrLen + linkLen*len(links)
	}
	return n, nil
}

func (p *Broadcast) put(b []byte) {
	w := writer{b: b}
	w.u8(p.Gnode)
	w.u8(p.Level)
	w.u8(p.SubID)
	w.u8(uint8(p.Flags))
	w.u32(p.Round)
	w.u32(p.Nonce)
	w.u32(p.SubNonce)
	w.u32(p.Part)
	for i := 0; i < int(p.Level); i++ {
		w.u8(p.Origin[i])
	}
	w.u8(p.TTL)
	w.u16(uint16(len(p.Chunks)))
	for _, c := range p.Chunks {
		w.u8(c.Node)
		w.u32(c.Cost)
	}
	if p.Flags&BcastBBlock != 0 {
		w.u16(uint16(len(p.Blocks)))
		for i := range p.Blocks {
			blk := &p.Blocks[i]
			w.u8(blk.Bnode)
			w.u8(uint8(len(blk.Links)))
			for _, l := range blk.Links {
				w.u8(l.Gnode)
				w.u8(l.Level)
				w.u32(l.Cost)
			}
		}
	}
	if p.Flags&BcastGateways != 0 {
		w.u8(uint8(len(p.Gateways)))
		for _, g := range p.Gateways {
			w.u32(g.Bandwidth)
			for k := 0; k < int(p.Level); k++ {
				w.u8(g.Position[k])
			}
		}
	}
	if p.Flags&BcastVnodes != 0 {
		w.u8(uint8(len(p.Vnodes)))
		for i := range p.Vnodes {
			v := &p.Vnodes[i]
			w.u32(uint32(v.Lat))
			w.u32(uint32(v.Lon))
			w.u16(v.Count)
			for k := 0; k < int(p.Level); k++ {
				w.u8(v.Position[k])
			}
		}
	}
}
