package daemon

import (
	"context"
	"net"
	"strings"
	"time"

	"github.com/ntkd/ntkd/internal/entry"
	"github.com/ntkd/ntkd/internal/tunnel"
)

// vplama's own list (seed 000 §6 "Entry servers"): a vnode keeps the
// vrnodes that have lived at least 3 days and sends the list to whoever
// asks. It answers a LIST request on its TCP port (the one of hooks and
// swaps) as an entry server does, signed with its node key, so a node
// whose [[vlayer.entry_server]] names a vnode (its endpoint and node key)
// fetches from it like from any server. The list holds the entry records
// of those vrnodes: a record signed by the vrnode itself is what the
// client can check, so a vrnode that lists itself nowhere is not in it.

// vrnodeAge is seed 000's 3 days.
const vrnodeAge = 72 * time.Hour

// trackVRNodes (event loop) notes since when each tunnel has been up:
// made and not found dead. A tunnel on standby because a physical path
// replaced it still counts: its vrnode lives.
func (d *Daemon) trackVRNodes() {
	h := d.vhook
	now := d.entries.clock.Now()
	up := map[string]bool{}
	for _, in := range d.opt.VLinks.List() {
		if in.Err == "" && !strings.HasPrefix(in.Standby, "dead") {
			up[in.PublicKey.String()] = true
		}
	}
	for k := range h.aliveSince {
		if !up[k] {
			delete(h.aliveSince, k)
		}
	}
	for k := range up {
		if _, ok := h.aliveSince[k]; !ok {
			h.aliveSince[k] = now
		}
	}
}

// serveVRNodes answers a LIST request with our old vrnodes.
func (d *Daemon) serveVRNodes(ctx context.Context, conn net.Conn, p []byte) {
	q, err := entry.DecodeListRequest(p)
	if err != nil {
		entry.WriteMsg(conn, entry.MsgResult, []byte{byte(entry.StatusMalformed)})
		return
	}
	var reply entry.ListReply
	if d.Do(ctx, func() { reply = d.vrnodeList(&q) }) != nil {
		return
	}
	entry.WriteMsg(conn, entry.MsgList, reply.AppendBinary(nil))
}

// vrnodeList (event loop) is the signed list: the entry records, in the
// list's order (oldest uptime first), of the vrnodes alive vrnodeAge.
func (d *Daemon) vrnodeList(q *entry.ListRequest) entry.ListReply {
	h, l := d.vhook, d.entries
	now := l.clock.Now()
	var es []entry.Entry
	for _, e := range l.entries() {
		if q.Limit > 0 && len(es) >= int(q.Limit) {
			break
		}
		if since, ok := h.aliveSince[tunnel.Key(e.TunnelKey).String()]; ok && now.Sub(since) >= h.vrnodeAge {
			es = append(es, e)
		}
	}
	reply := entry.ListReply{Nonce: q.Nonce, Stamp: now.UnixNano(), Entries: es}
	reply.Sign(h.key)
	return reply
}
