// Package transport is the I/O boundary of the ntkd daemon: one UDP socket
// for datagrams (radar probes, small requests) and one TCP listener for the
// reliable per-neighbour streams (tracer, QSPN, map transfers), shared by
// every mesh interface. It turns node.Send actions into packets on the wire
// and received packets into Packets for the event loop; it knows nothing of
// the protocol beyond the 16-byte wire header that frames every packet.
//
// # One socket pair for all interfaces
//
// The two sockets listen on [::]:DatagramPort and [::]:StreamPort, bound to
// no device, and are read by one goroutine each, however many interfaces
// there are: a node with a dozen neighbours, each on its own link, pays for
// two sockets, not for two dozen sockets and their goroutines. They are
// opened when the first interface is bound and closed when the last one is
// removed, so that a node without mesh interfaces refuses connections. Two
// transports in one network namespace need their own ports.
//
// The interface is the kernel's interface index. A link-local source
// carries it as its scope: sin6_scope_id of a datagram's source is the
// interface it arrived on, and the kernel binds an accepted link-local
// connection to the interface it came in on (its peer's scope). Sends name
// it: a datagram, unicast or to ff02::1, carries an IPV6_PKTINFO with the
// interface and our link-local address on it as the source; a stream is
// dialled from a socket bound to the device (SO_BINDTODEVICE). The datagram
// socket needs no group membership for ff02::1 (the kernel joins it on
// every IPv6 interface, and IPV6_MULTICAST_ALL delivers it); multicast
// loopback is off and the hop limit 1.
//
// What arrives on an interface that is not added, not bound yet, or
// removed is dropped and counted (foreign_iface), connections closed at
// once: the sockets see every interface of the namespace, including those
// that are not the mesh's (the WAN's firewall zone should keep the ports
// closed), and what comes from them never reaches the node. A peer that
// connects on an interface we removed is accepted and then closed, where a
// listener of that interface alone would have refused it.
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
// address detection): it cannot be bound, and the kernel refuses it as a
// source, until then. So AddIface returns at once and a goroutine per
// interface tries to bind a throwaway socket to the address until it works,
// then ends; other interfaces are not held up. Sends on an interface that
// is not bound yet are refused and counted.
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
// # Closed mesh
//
// With network keys (SetKeys; docs/PROTOCOL.md §11) every datagram and
// stream frame sent carries a trailer, a key id and a 16-byte HMAC-SHA256
// tag over the sender's link-local address and the packet (on a stream
// also the challenge the acceptor sent first and the frame's number), and
// header flag bit 0. What arrives is checked and stripped back to the
// plain packet before Recv; what fails is dropped and counted
// (unauthenticated, bad_tag), a stream closed. Without keys nothing
// changes on the wire.
//
// # Accepted connections
//
// Anyone on a link can connect from any link-local address, so a
// connection counts against the limits only once it has proven itself
// with a valid frame (framing, and the network key's tag on a closed
// mesh). Until then it is fresh: it must send that frame within
// Config.FreshTimeout, and fresh connections have a small pool of their
// own where a newcomer closes an older one, on the busiest interface, from
// a source we have not heard datagrams from first. Proven connections are
// limited per source (its newest wins over its least active) and in total;
// each bound interface is sure of an even share of the total and takes it
// back from an interface above its own. So silent connections never keep
// a neighbour out, and on an open mesh a stranger that sends valid frames
// holds at most its own link's slots (conns.go).
//
// # Bounds
//
// Nothing a peer sends makes memory grow without bound: every source has a
// token bucket over all it sends us, accepted connections are limited
// (fresh ones, proven ones per source and in total), packets above
// Config.MaxPacket are dropped, a malformed stream frame closes its
// connection, the outgoing queue of each stream is bounded, and stream
// readers block (TCP pushes back) when the receive channel is full, while
// datagrams are then dropped. Every drop is counted in Stats by reason. In
// the worst case the transport holds about (RecvQueue + MaxConns +
// MaxFreshConns) * MaxPacket bytes of received packets.
package transport
