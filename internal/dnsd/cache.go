package dnsd

import (
	"container/list"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// key names a cache entry: a lowercase name and a query type.
type key struct {
	name string
	typ  dnsmessage.Type
}

// entry is what the Resolver said about one key, until expires.
type entry struct {
	notFound bool         // NXDOMAIN
	addrs    []netip.Addr // A or AAAA: only that family
	names    []string     // PTR: dot-terminated targets
	expires  time.Time
}

// ttl is the TTL to serve at now: the seconds left, rounded up so that a
// fresh answer carries the Resolver's TTL, at least 1 (an entry is served
// only before it expires).
func (e *entry) ttl(now time.Time) uint32 {
	return uint32(max((e.expires.Sub(now)+time.Second-1)/time.Second, 1))
}

// cache is a bounded LRU of entries. Expired entries are removed when met;
// the others that nobody asks for age out by LRU.
type cache struct {
	mu  sync.Mutex
	max int
	ll  list.List // of *cacheItem, most recently used first
	m   map[key]*list.Element
}

type cacheItem struct {
	k key
	e entry
}

func newCache(size int) *cache {
	return &cache{max: size, m: make(map[key]*list.Element)}
}

// get returns the entry of k if it has not expired at now.
func (c *cache) get(k key, now time.Time) (entry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.m[k]
	if !ok {
		return entry{}, false
	}
	it := el.Value.(*cacheItem)
	if !now.Before(it.e.expires) {
		c.ll.Remove(el)
		delete(c.m, k)
		return entry{}, false
	}
	c.ll.MoveToFront(el)
	return it.e, true
}

// put stores e under k, evicting the least recently used entry when full.
func (c *cache) put(k key, e entry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.m[k]; ok {
		el.Value.(*cacheItem).e = e
		c.ll.MoveToFront(el)
		return
	}
	if c.ll.Len() >= c.max {
		old := c.ll.Back()
		c.ll.Remove(old)
		delete(c.m, old.Value.(*cacheItem).k)
	}
	c.m[k] = c.ll.PushFront(&cacheItem{k: k, e: e})
}

func (c *cache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len()
}
