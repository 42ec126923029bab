// Package transport is the I/O boundary of the ntkd daemon: per mesh
// interface a UDP socket for datagrams (radar probes, small requests) and a
// TCP listener for the reliable per-neighbour streams (tracer, QSPN, map
// transfers). It turns node.Send actions into packets on the wire and
// received packets into Packets for the event loop; it knows nothing of
// the protocol beyond the 16-byte wire header that frames every packet.
//
// # Link-local only
//
// All ntkd control traffic runs over the IPv6 link-local addresses
// (fe80::/64) of the mesh interfaces, whatever the mesh's own address
// family. A router that is still hooking has no mesh address yet but must
// probe and ask its neighbours; link-local needs no configuration and scopes
// everything to one link. Probes go to ff02::1 (all nodes) on the interface,
// unicast to fe80::x%iface. Enabling IPv6 on the interface is the kernel
// package's job, not ours.
//
// A fresh link-local address is tentative for a second or two (duplicate
// address detection) and cannot be bound until then, so AddIface returns at
// once and a goroutine per interface retries the binding until the address
// is usable; other interfaces are not held up. Sends on an interface that is
// not bound yet are refused and counted.
//
// # Peers
//
// The transport names neighbours: one radar.PeerID per (interface,
// link-local source address), never 0 (radar.Broadcast), stable while the
// process runs. A TCP connection from fe80::x gets the same PeerID as the
// datagrams from fe80::x. The table is bounded (Config.MaxPeers): when it is
// full the least recently heard peer without open streams is forgotten, and
// comes back with a new PeerID if it speaks again.
//
// # Streams
//
// Each direction has its own TCP connection: we dial a peer (lazily, on the
// first reliable send; again on the next send after an error) for what we
// send to it, and accept its connections only to read from them. Ordering per
// direction is kept and simultaneous connects need no tie-break. A stream is
// packets back to back, each framed by its header's length field.
//
// # Bounds
//
// Nothing a peer sends makes memory grow without bound: every source has a
// token bucket over all it sends us, accepted connections are limited per
// source and in total, packets above Config.MaxPacket are dropped, a
// malformed stream frame closes its connection, the outgoing queue of each
// stream is bounded, and stream readers block (TCP pushes back) when the
// receive channel is full, while datagrams are then dropped. Every drop is
// counted in Stats by reason. In the worst case the transport holds about
// (RecvQueue + MaxConns) * MaxPacket bytes of received packets.
package transport
