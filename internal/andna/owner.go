package andna

import (
	"errors"
	"net/netip"
	"sort"
	"time"

	"github.com/ntkd/ntkd/internal/wire"
)

// ownName is a name this node registers and keeps alive.
type ownName struct {
	name    string
	hash    [32]byte
	counter uint32 // updates sent so far
	due     time.Duration
	state   string
	expires time.Duration // of the registration at the hash gnode
	err     error
}

// CounterReserve is how many updates of each name one run may send: a
// run reserves [base, base+CounterReserve) and the next starts above.
// With updates a day apart it lasts for ever; with the shortest interval
// allowed (1 minute) 45 days.
const CounterReserve = 1 << 16

// CounterBase is the first update counter of a run: above the reservation
// the last run left (0: none) and above the clock in minutes (a key file
// restored without the reservation still starts above an older run's
// counters, as long as the clock moved on).
func CounterBase(reserved, minutes uint32) uint32 { return max(reserved, minutes) }

// OwnName is one of our names as `ntkd ctl andna list` shows it.
type OwnName struct {
	Name     string
	State    string // "registering", "registered", "refused: ..."
	ExpireIn time.Duration
	Error    string
}

// Register starts registering name and keeping it alive until Unregister.
func (e *Engine) Register(now time.Duration, name string) error {
	e.now = now
	c, err := Canonical(name)
	if err != nil {
		return err
	}
	if _, ok := e.own[c]; ok {
		return nil
	}
	if len(e.own) >= e.cfg.MaxNamesPerKey {
		return errors.New("andna: this node already registers the most names a key may hold")
	}
	due := now
	if e.addr.IsValid() && now < e.addrAt+e.cfg.Settle {
		due = e.addrAt + e.cfg.Settle
	}
	e.own[c] = &ownName{name: c, hash: NameHash(c), counter: e.cfg.CounterBase, due: due, state: "registering"}
	return nil
}

// Unregister stops updating name; the registration dies when it expires
// (ANDNA has no revocation, seed §7).
func (e *Engine) Unregister(name string) bool {
	c, err := Canonical(name)
	if err != nil {
		return false
	}
	if _, ok := e.own[c]; !ok {
		return false
	}
	delete(e.own, c)
	return true
}

// Names lists our names.
func (e *Engine) Names() []OwnName {
	var out []OwnName
	for _, o := range e.own {
		n := OwnName{Name: o.name, State: o.state}
		if o.expires > e.now {
			n.ExpireIn = o.expires - e.now
		}
		if o.err != nil {
			n.Error = o.err.Error()
		}
		out = append(out, n)
	}
	// sort.Slice, not slices.SortFunc: one shared sort in the router binary.
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// registration builds our signed request for o.
func (e *Engine) registration(o *ownName, backup bool) *wire.Register {
	r := &wire.Register{Hostname: o.name, PubKey: e.pub, Counter: o.counter, Addr: e.addr}
	if backup {
		r.Flags = wire.RegisterBackup
	}
	e.sign(r)
	return r
}

// registerName sends a registration or an update of o to its hash gnode,
// then to its backup gnodes (seed §7.1.4).
func (e *Engine) registerName(o *ownName) {
	o.counter++
	o.due = e.now + e.cfg.UpdateEvery
	// After a failure: again once the last try has had time to fail.
	retry := e.now + 2*e.cfg.RequestTimeout*time.Duration(e.cfg.Retries+1)
	out := Out{Dst: hashAddr(e.scheme, o.hash), Level: 1, Nearest: true, P: e.registration(o, false)}
	e.request(out, func(_ netip.Addr, p wire.Payload) {
		if cur, ok := e.own[o.name]; !ok || cur != o {
			return // unregistered meanwhile
		}
		switch p := p.(type) {
		case *wire.Empty: // ACK
		case *wire.Nack:
			switch p.Code {
			case wire.CodeTooEarly, wire.CodeReplay:
				// An earlier copy of this update got there first.
			default:
				o.state, o.err = "refused: "+p.Code.String(), &RefusedError{Code: p.Code}
				e.Stats.Refused++
				o.due = min(o.due, retry)
				return
			}
		default:
			return
		}
		if o.state != "registered" {
			e.Stats.Registered++
		} else {
			e.Stats.Updated++
		}
		o.state, o.err, o.expires = "registered", nil, e.now+e.cfg.Hibernation
		for i := 1; i <= e.cfg.BackupGnodes; i++ {
			b := Out{Dst: hashAddr(e.scheme, backupHash(o.hash, i)), Level: 1, Nearest: true, P: e.registration(o, true)}
			e.request(b, func(netip.Addr, wire.Payload) {}, func() {})
		}
	}, func() {
		if cur, ok := e.own[o.name]; ok && cur == o {
			o.err = ErrTimeout
			o.due = min(o.due, retry)
		}
	})
}

// onReverse answers a reverse lookup with our names (seed §7.8.2).
func (e *Engine) onReverse(src netip.Addr, id uint32) {
	var rr wire.ReverseReply
	for _, n := range e.Names() {
		if n.State == "registered" && len(rr.Names) < 255 {
			rr.Names = append(rr.Names, wire.ReverseName{ExpiresIn: seconds(n.ExpireIn), Hostname: n.Name})
		}
	}
	e.reply(src, id, &rr)
}

// seconds rounds a duration up to whole seconds for the wire.
func seconds(d time.Duration) uint32 {
	if d <= 0 {
		return 0
	}
	s := (d + time.Second - 1) / time.Second
	return uint32(min(s, 1<<32-1))
}
