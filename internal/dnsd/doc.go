// Package dnsd is the DNS wrapper of seed 001 §7.9: a small DNS server that
// answers names under a mesh suffix (default "ntk") from ANDNA, so that
// programs resolve mesh names with no change. On OpenWrt dnsmasq owns port
// 53 and forwards the suffix to us (list server '/ntk/127.0.0.1#5373').
//
// # What is answered
//
// Under the suffix, "myrouter.ntk" asks the Resolver for "myrouter": A and
// AAAA get the addresses of that family (none: NODATA), an unknown name gets
// NXDOMAIN with an SOA in the authority section so that resolvers cache the
// negative answer, other types get NODATA. The suffix itself answers SOA.
// PTR queries for addresses in Config.ReverseZones (the mesh's ranges) ask
// the Resolver's Reverse. Everything else is forwarded to Config.Upstream,
// or REFUSED when there is none.
//
// TTLs are the validity the Resolver returned, cut to Config.MaxTTL and at
// least one second. A bounded LRU cache keeps each (name, type) answer until
// exactly that validity ends, counting down the TTLs it serves, so the
// Resolver (which may go over the mesh) is asked again only when the record
// would have expired anyway.
//
// # Bounds
//
// Nothing a client sends makes memory or goroutines grow without bound:
// queries that wait for the Resolver or an upstream run in at most
// Config.MaxPending goroutines (UDP queries over that are dropped), TCP
// connections are limited to Config.MaxTCPConns with a deadline on every
// message, forwarded queries to Config.MaxForward at a time, and the cache
// to Config.CacheSize entries. Every dropped request is counted in Stats by
// reason.
package dnsd
