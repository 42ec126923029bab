package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/vishvananda/netns"

	"github.com/ntkd/ntkd/internal/ctl"
	"github.com/ntkd/ntkd/internal/netnsrun"
	"github.com/ntkd/ntkd/internal/wire"
)

// sample is one second of the victim's and the lab's state.
type sample struct {
	full         bool
	minReaches   int // fewest other lab nodes any lab node reaches
	victimRoutes int // proto ntk routes in the victim's kernel
	honestNbrs   int // the victim's alive neighbours that are lab nodes
	nbrs         int // all its neighbours (the attacker's sources included)
	rssKB        int
	cpuTicks     int // utime + stime of the victim
	heapAlloc    uint64
	goroutines   int
	pidChanged   bool
	connProbe    int // 1: honest n3 got a stream accepted, -1: refused, 0: not probed
}

// sampleNow reads one sample. Errors of the ctl calls leave fields zero:
// a victim too busy to answer its control socket is itself a finding.
func (w *world) sampleNow(ctx context.Context, probe bool) sample {
	var s sample
	s.minReaches = -1
	if st, err := w.l.Status(); err == nil {
		s.full = st.Full
		for _, n := range st.Nodes {
			if s.minReaches < 0 || n.Reaches < s.minReaches {
				s.minReaches = n.Reaches
			}
			if n.Name == w.victim.Name {
				s.victimRoutes = n.Routes
				s.pidChanged = n.PID != w.victimPID
			}
		}
	}
	cctx, cancel := context.WithTimeout(ctx, 900*time.Millisecond)
	defer cancel()
	var nbs []ctl.Neighbour
	if _, err := ctl.Call(cctx, w.victim.Socket, ctl.Request{Cmd: ctl.CmdNeighbours}, &nbs); err == nil {
		s.nbrs = len(nbs)
		for _, nb := range nbs {
			if nb.Interface != victimIf && nb.State == "alive" {
				s.honestNbrs++
			}
		}
	} else {
		s.honestNbrs = -1
	}
	var st ctl.Status
	if _, err := ctl.Call(cctx, w.victim.Socket, ctl.Request{Cmd: ctl.CmdStatus}, &st); err == nil {
		s.heapAlloc, s.goroutines = st.Memory.HeapAlloc, st.Memory.Goroutines
	}
	s.rssKB, s.cpuTicks = procStats(w.victimPID)
	if probe {
		s.connProbe = w.honestConnect()
	}
	return s
}

// procStats reads VmRSS (kB) and utime+stime (clock ticks) of pid.
func procStats(pid int) (rss, ticks int) {
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
				rss, _ = strconv.Atoi(f[1])
			}
		}
	}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		s := string(b)
		if i := strings.LastIndexByte(s, ')'); i > 0 {
			f := strings.Fields(s[i+1:])
			// Fields after the name: state is [0], utime [11], stime [12].
			if len(f) > 12 {
				u, _ := strconv.Atoi(f[11])
				k, _ := strconv.Atoi(f[12])
				ticks = u + k
			}
		}
	}
	return rss, ticks
}

// honestConnect opens a fresh stream from the honest node on the victim's
// other side (n3, or n1) to the victim, as that node's daemon would after
// a broken stream: 1 when the victim keeps it open for 1 s, -1 when it
// is refused or closed at once.
func (w *world) honestConnect() int {
	var peer, peerIf, victimSide string
links:
	for _, lk := range w.st.Links {
		switch {
		case lk.A == w.victim.Name:
			peer, peerIf, victimSide = lk.B, lk.IfB, lk.IfA
		case lk.B == w.victim.Name:
			peer, peerIf, victimSide = lk.A, lk.IfA, lk.IfB
		default:
			continue
		}
		if peer == "n3" {
			break links
		}
	}
	if peer == "" {
		return 0
	}
	vll, err := linkLocal(w.victim.Namespace, victimSide)
	if err != nil {
		return 0
	}
	h, err := netns.GetFromName(w.l.Prefix + peer)
	if err != nil {
		return 0
	}
	defer h.Close()
	res := 0
	netnsrun.Do(h, func() error {
		d := net.Dialer{Timeout: time.Second}
		c, err := d.Dial("tcp6", (&net.TCPAddr{IP: vll.AsSlice(), Port: wire.DefaultPort, Zone: peerIf}).String())
		if err != nil {
			res = -1
			return nil
		}
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(time.Second))
		_, err = c.Read(make([]byte, 1))
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			res = 1
		} else {
			res = -1
		}
		return nil
	})
	return res
}

// drops reads the victim's drop counters.
func (w *world) drops(ctx context.Context) map[string]uint64 {
	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	var c ctl.Counters
	if _, err := ctl.Call(cctx, w.victim.Socket, ctl.Request{Cmd: ctl.CmdCounters}, &c); err != nil {
		return nil
	}
	return c.Dropped
}

// rehooks reads the victim's re-hooks by reason (ctl qspn) and its address.
func (w *world) rehooks(ctx context.Context) (map[string]uint64, string) {
	cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	var q ctl.QSPN
	var st ctl.Status
	ctl.Call(cctx, w.victim.Socket, ctl.Request{Cmd: ctl.CmdQSPN}, &q)
	ctl.Call(cctx, w.victim.Socket, ctl.Request{Cmd: ctl.CmdStatus}, &st)
	return q.RehookWhy, st.Address
}
