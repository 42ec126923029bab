package main

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/vishvananda/netns"

	"github.com/ntkd/ntkd/internal/ctl"
	"github.com/ntkd/ntkd/internal/lab"
	"github.com/ntkd/ntkd/internal/netnsrun"
	"github.com/ntkd/ntkd/internal/wire"
)

// The attacker's side of the link, and the victim's.
const (
	atkIf    = "atk0" // in the attacker's namespace
	victimIf = "atk"  // in the victim's namespace, a mesh interface of its daemon
)

// mainLL is the attacker's own link-local address: the identity that
// behaves as a hooked neighbour. The spoofed sources are fe80::a:N.
var mainLL = netip.MustParseAddr("fe80::1")

func spoofLL(i int) netip.Addr {
	return netip.AddrFrom16([16]byte{0: 0xfe, 1: 0x80, 11: 0x0a, 12: byte(i >> 24), 13: byte(i >> 16), 14: byte(i >> 8), 15: byte(i)})
}

// world is everything the attacks need to know about the lab.
type world struct {
	l         lab.Lab
	st        *lab.State
	victim    *lab.Node
	ns        string // attacker namespace
	nsh       netns.NsHandle
	victimLL  netip.Addr // victim's link-local address on victimIf
	victimPID int

	// What the victim told us (ctl status) when the attacks started.
	victimAddr  netip.Addr
	victimNonce uint32
	levels      []ctl.Gnode // victim's gnodes, level 0 first
	topNonce    uint32      // nonce of the victim's top-level gnode
	honestIDs   []uint8     // level-0 ids of the lab's nodes

	// The attacker's hooked-neighbour identity.
	atkAddr  netip.Addr
	atkNonce uint32

	srcs []netip.Addr // spoofed link-local sources on atkIf
	main *net.UDPConn // bound to mainLL:269, read by the responder
}

func (w *world) inNS(f func() error) error { return netnsrun.Do(w.nsh, f) }

func ipCmd(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// addAttacker makes the attacker's namespace, its veth into the victim's
// namespace, nsrc spoofed link-local addresses, and has the victim's
// daemon take its end as a mesh interface (its config gets one more
// [[interface]], then SIGHUP, as lab.AddLink does).
func addAttacker(l lab.Lab, victim string, nsrc int) (*world, error) {
	st, err := l.Load()
	if err != nil {
		return nil, err
	}
	v, err := st.Node(victim)
	if err != nil {
		return nil, err
	}
	w := &world{l: l, st: st, victim: v, ns: l.Prefix + "atk"}
	if err := ipCmd("netns", "add", w.ns); err != nil {
		return nil, err
	}
	steps := [][]string{
		{"-n", w.ns, "link", "set", "lo", "up"},
		{"-n", w.ns, "link", "add", atkIf, "type", "veth", "peer", "name", victimIf, "netns", v.Namespace},
		{"-n", w.ns, "link", "set", atkIf, "up"},
		{"-n", v.Namespace, "link", "set", victimIf, "up"},
		{"-n", w.ns, "addr", "add", mainLL.String() + "/64", "dev", atkIf, "nodad"},
	}
	for _, s := range steps {
		if err := ipCmd(s...); err != nil {
			return w, err
		}
	}
	var batch strings.Builder
	for i := 1; i <= nsrc; i++ {
		a := spoofLL(i)
		w.srcs = append(w.srcs, a)
		fmt.Fprintf(&batch, "addr add %s/64 dev %s nodad\n", a, atkIf)
	}
	cmd := exec.Command("ip", "-n", w.ns, "-batch", "-")
	cmd.Stdin = strings.NewReader(batch.String())
	if out, err := cmd.CombinedOutput(); err != nil {
		return w, fmt.Errorf("adding %d source addresses: %v: %s", nsrc, err, out)
	}
	if w.nsh, err = netns.GetFromName(w.ns); err != nil {
		return w, err
	}
	f, err := os.OpenFile(v.Config, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return w, err
	}
	_, err = fmt.Fprintf(f, "\n# Added by bench/hostile: the attacker's link.\n[[interface]]\nname = %q\nwifi_metrics = false\n", victimIf)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return w, err
	}
	stt, err := l.Status()
	if err != nil {
		return w, err
	}
	for _, n := range stt.Nodes {
		if n.Name == victim {
			w.victimPID = n.PID
		}
	}
	if w.victimPID == 0 {
		return w, fmt.Errorf("%s: the daemon is not running", victim)
	}
	if err := syscall.Kill(w.victimPID, syscall.SIGHUP); err != nil {
		return w, err
	}
	if w.victimLL, err = linkLocal(v.Namespace, victimIf); err != nil {
		return w, err
	}
	return w, nil
}

// removeAttacker deletes the attacker's namespace (the veth goes with it).
// lab.Down would too (it has the lab's prefix); this is for an early stop.
func (w *world) remove() error {
	if w == nil || w.ns == "" {
		return nil
	}
	if w.nsh.IsOpen() {
		w.nsh.Close()
	}
	if _, err := os.Stat("/var/run/netns/" + w.ns); err != nil {
		return nil
	}
	return ipCmd("netns", "delete", w.ns)
}

// linkLocal waits for the fe80:: address of ifc in namespace ns to be
// usable (not tentative).
func linkLocal(ns, ifc string) (netip.Addr, error) {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		out, err := exec.Command("ip", "-n", ns, "-j", "-6", "addr", "show", "dev", ifc, "scope", "link").Output()
		if err != nil {
			continue
		}
		var ifs []struct {
			AddrInfo []struct {
				Local     string `json:"local"`
				Tentative bool   `json:"tentative"`
			} `json:"addr_info"`
		}
		if json.Unmarshal(out, &ifs) != nil {
			continue
		}
		for _, i := range ifs {
			for _, a := range i.AddrInfo {
				if ip, err := netip.ParseAddr(a.Local); err == nil && ip.IsLinkLocalUnicast() && !a.Tentative {
					return ip, nil
				}
			}
		}
	}
	return netip.Addr{}, fmt.Errorf("no link-local address on %s in %s", ifc, ns)
}

// learn asks the victim who it is and picks the attacker's identity: a free
// level-0 id in the victim's gnode.
func (w *world) learn(ctx context.Context) error {
	var s ctl.Status
	if _, err := ctl.Call(ctx, w.victim.Socket, ctl.Request{Cmd: ctl.CmdStatus}, &s); err != nil {
		return err
	}
	a, err := netip.ParseAddr(s.Address)
	if err != nil || !a.Is4() || len(s.Gnodes) < 2 {
		return fmt.Errorf("victim status: address %q, %d levels: this tool wants an IPv4 mesh", s.Address, len(s.Gnodes))
	}
	w.victimAddr, w.levels = a, s.Gnodes
	w.victimNonce = s.Gnodes[0].Nonce
	w.topNonce = s.Gnodes[len(s.Gnodes)-1].Nonce
	st, err := w.l.Status()
	if err != nil {
		return err
	}
	used := map[uint8]bool{}
	w.honestIDs = nil
	for _, n := range st.Nodes {
		if n.Address.Is4() {
			id := n.Address.As4()[3]
			used[id] = true
			w.honestIDs = append(w.honestIDs, id)
		}
	}
	b := a.As4()
	for id := 250; id > 0; id-- {
		if !used[uint8(id)] {
			b[3] = uint8(id)
			break
		}
	}
	w.atkAddr = netip.AddrFrom4(b)
	var nb [4]byte
	rand.Read(nb[:])
	w.atkNonce = binary.BigEndian.Uint32(nb[:])&0x7fffffff | 0x40000000 // never below the victim's by chance of being tiny
	return nil
}

// udpAddr is a link-local address with the attacker interface as its zone.
func udpAddr(a netip.Addr, port int) *net.UDPAddr {
	return &net.UDPAddr{IP: a.AsSlice(), Port: port, Zone: atkIf}
}

// openSockets binds the main identity's datagram socket (port 269) and a
// stream listener that accepts whatever the victim dials us for and
// drains it.
func (w *world) openSockets(ctx context.Context) error {
	return w.inNS(func() error {
		c, err := net.ListenUDP("udp6", udpAddr(mainLL, wire.DefaultPort))
		if err != nil {
			return err
		}
		w.main = c
		ln, err := net.ListenTCP("tcp6", &net.TCPAddr{Port: wire.DefaultPort})
		if err != nil {
			return err
		}
		go func() { <-ctx.Done(); ln.Close() }()
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				go func() {
					buf := make([]byte, 64<<10)
					for {
						if _, err := c.Read(buf); err != nil {
							c.Close()
							return
						}
					}
				}()
			}
		}()
		return nil
	})
}

// dialStream opens a TCP connection from src to the victim's stream port.
func (w *world) dialStream(src netip.Addr) (*net.TCPConn, error) {
	var c *net.TCPConn
	err := w.inNS(func() error {
		d := net.Dialer{Timeout: 2 * time.Second, LocalAddr: &net.TCPAddr{IP: src.AsSlice(), Zone: atkIf}}
		conn, err := d.Dial("tcp6", (&net.TCPAddr{IP: w.victimLL.AsSlice(), Port: wire.DefaultPort, Zone: atkIf}).String())
		if err != nil {
			return err
		}
		c = conn.(*net.TCPConn)
		return nil
	})
	return c, err
}

// bindSources opens one datagram socket per spoofed source.
func (w *world) bindSources(n int) ([]*net.UDPConn, error) {
	var out []*net.UDPConn
	err := w.inNS(func() error {
		for _, a := range w.srcs[:min(n, len(w.srcs))] {
			c, err := net.ListenUDP("udp6", udpAddr(a, 0))
			if err != nil {
				return err
			}
			c.SetWriteBuffer(1 << 20)
			out = append(out, c)
		}
		return nil
	})
	if err != nil {
		for _, c := range out {
			c.Close()
		}
		return nil, err
	}
	return out, nil
}

var errStop = errors.New("stop")
