package andna

import (
	"net/netip"
	"time"

	"github.com/ntkd/ntkd/internal/wire"
)

// Resolve asks for the address of name; the answer comes out of Results
// with the returned token.
func (e *Engine) Resolve(now time.Duration, name string) (uint64, error) {
	e.now = now
	c, err := Canonical(name)
	if err != nil {
		return 0, err
	}
	t := e.nextToken()
	e.resolve(c, func(a netip.Addr, ttl time.Duration, err error) {
		e.result(Result{Token: t, Name: c, Addr: a, TTL: ttl, Err: err})
	})
	return t, nil
}

// resolve finds name: the resolved cache, else (optionally) a border node
// of our gnode that resolves for us (seed §7.8.1), else the hash gnode and
// then the backup gnodes.
func (e *Engine) resolve(name string, done func(netip.Addr, time.Duration, error)) {
	if r, ok := e.resolved[name]; ok && r.expires > e.now {
		done(r.addr, r.expires-e.now, nil)
		return
	}
	if !e.addr.IsValid() {
		done(netip.Addr{}, 0, ErrNoAddr)
		return
	}
	if e.cfg.ViaBnode {
		if b, ok := e.host.Bnode(); ok && b != e.addr {
			q := &wire.Resolve{Flags: wire.ResolveRecursive, Hostname: name}
			e.request(Out{Dst: b, P: q}, func(_ netip.Addr, p wire.Payload) {
				e.resolved1(name, p, func(a netip.Addr, ttl time.Duration, err error) {
					if err == ErrTimeout {
						e.ask(name, 0, false, done)
						return
					}
					done(a, ttl, err)
				})
			}, func() { e.ask(name, 0, false, done) })
			return
		}
	}
	e.ask(name, 0, false, done)
}

// ask tries the hash gnode (i = 0), then backup gnode i.
func (e *Engine) ask(name string, i int, notFound bool, done func(netip.Addr, time.Duration, error)) {
	if i > e.cfg.BackupGnodes {
		if notFound {
			done(netip.Addr{}, 0, ErrNotFound)
		} else {
			done(netip.Addr{}, 0, ErrTimeout)
		}
		return
	}
	h := NameHash(name)
	out := Out{Dst: hashAddr(e.scheme, h), Level: 1, Nearest: true, P: &wire.Resolve{Hostname: name}}
	if i > 0 {
		out.Dst, out.Level = hashAddr(e.scheme, backupHash(h, i)), 0
	}
	e.request(out, func(_ netip.Addr, p wire.Payload) {
		e.resolved1(name, p, func(a netip.Addr, ttl time.Duration, err error) {
			if err != nil {
				e.ask(name, i+1, notFound || err == ErrNotFound, done)
				return
			}
			done(a, ttl, nil)
		})
	}, func() { e.ask(name, i+1, notFound, done) })
}

// resolved1 reads one answer to a resolution and caches a good one until
// the registration expires.
func (e *Engine) resolved1(name string, p wire.Payload, done func(netip.Addr, time.Duration, error)) {
	switch p := p.(type) {
	case *wire.ResolveReply:
		ttl := secondsDur(p.ExpiresIn)
		if e.cfg.ResolvedTTL > 0 {
			ttl = min(ttl, e.cfg.ResolvedTTL)
		}
		e.cacheResolved(name, p.Addr, ttl)
		done(p.Addr, ttl, nil)
	case *wire.Nack:
		if p.Code == wire.CodeNotFound {
			done(netip.Addr{}, 0, ErrNotFound)
			return
		}
		done(netip.Addr{}, 0, &RefusedError{Code: p.Code})
	default:
		done(netip.Addr{}, 0, ErrTimeout)
	}
}

// Reverse asks the node holding a for its names (seed §7.8.2).
func (e *Engine) Reverse(now time.Duration, a netip.Addr) uint64 {
	e.now = now
	t := e.nextToken()
	if !e.addr.IsValid() {
		e.result(Result{Token: t, Err: ErrNoAddr})
		return t
	}
	e.request(Out{Dst: a, P: &wire.Empty{Kind: wire.OpAndnaReverse}}, func(_ netip.Addr, p wire.Payload) {
		switch p := p.(type) {
		case *wire.ReverseReply:
			r := Result{Token: t, Addr: a}
			var ttl time.Duration
			for _, n := range p.Names {
				r.Names = append(r.Names, n.Hostname)
				if d := secondsDur(n.ExpiresIn); ttl == 0 || d < ttl {
					ttl = d
				}
			}
			r.TTL = ttl
			if len(r.Names) == 0 {
				r.Err = ErrNotFound
			}
			e.result(r)
		case *wire.Nack:
			e.result(Result{Token: t, Addr: a, Err: &RefusedError{Code: p.Code}})
		}
	}, func() { e.result(Result{Token: t, Addr: a, Err: ErrTimeout}) })
	return t
}

// Queue asks the hash gnode for the claims on name, owner first (seed
// §7.1.7: a resolver falls back on them).
func (e *Engine) Queue(now time.Duration, name string) (uint64, error) {
	e.now = now
	c, err := Canonical(name)
	if err != nil {
		return 0, err
	}
	t := e.nextToken()
	out := Out{Dst: hashAddr(e.scheme, NameHash(c)), Level: 1, Nearest: true, P: &wire.GetQueue{Hostname: c}}
	e.request(out, func(_ netip.Addr, p wire.Payload) {
		switch p := p.(type) {
		case *wire.PutQueue:
			r := Result{Token: t, Name: c}
			for _, q := range p.Entries {
				r.Queue = append(r.Queue, q.Addr)
			}
			e.result(r)
		case *wire.Nack:
			e.result(Result{Token: t, Name: c, Err: codeErr(p.Code)})
		}
	}, func() { e.result(Result{Token: t, Name: c, Err: ErrTimeout}) })
	return t, nil
}

func codeErr(c wire.Code) error {
	if c == wire.CodeNotFound {
		return ErrNotFound
	}
	return &RefusedError{Code: c}
}

// Hooked is the ANDNA hook (seed §7.1.1): a node that joined a gnode takes
// the records its members keep from one of its rnodes inside it.
func (e *Engine) Hooked(now time.Duration, rnodes []netip.Addr) {
	e.now = now
	e.hookFrom(rnodes)
}

func (e *Engine) hookFrom(rnodes []netip.Addr) {
	if len(rnodes) == 0 {
		return
	}
	e.request(Out{Dst: rnodes[0], P: &wire.GetCache{}}, func(_ netip.Addr, p wire.Payload) {
		if pc, ok := p.(*wire.PutCache); ok {
			e.importRecords(pc.Records, false)
			return
		}
		e.hookFrom(rnodes[1:])
	}, func() { e.hookFrom(rnodes[1:]) })
}
