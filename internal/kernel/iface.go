package kernel

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/ntkd/ntkd/internal/netnsrun"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// SetAddr puts the address a (the node's address, usually a /32 or /128) on
// the interface ifindex. It is idempotent.
func (k *Kernel) SetAddr(ifindex int, a netip.Prefix) error {
	addr, err := k.netlinkAddr(ifindex, a)
	if err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.rt == nil {
		return ErrClosed
	}
	// Replace rather than add: adding an address that is already there fails.
	if err := k.rt.addr(unix.RTM_NEWADDR, addr); err != nil {
		return fmt.Errorf("kernel: add address %v to link %d: %w", a, ifindex, err)
	}
	return nil
}

// DelAddr removes the address a from the interface ifindex; an address that
// is not there is no error.
func (k *Kernel) DelAddr(ifindex int, a netip.Prefix) error {
	addr, err := k.netlinkAddr(ifindex, a)
	if err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.rt == nil {
		return ErrClosed
	}
	if err := k.rt.addr(unix.RTM_DELADDR, addr); err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) && !errors.Is(err, unix.ENODEV) {
		return fmt.Errorf("kernel: delete address %v from link %d: %w", a, ifindex, err)
	}
	return nil
}

func (k *Kernel) netlinkAddr(ifindex int, a netip.Prefix) (*netlink.Addr, error) {
	if !a.IsValid() || !k.familyOK(a.Addr()) {
		return nil, fmt.Errorf("kernel: address %v is not an %s prefix", a, familyName(k.cfg.Family))
	}
	if ifindex <= 0 {
		return nil, fmt.Errorf("kernel: address %v: link index %d", a, ifindex)
	}
	ip := a.Addr().WithZone("")
	return &netlink.Addr{
		IPNet:     &net.IPNet{IP: ip.AsSlice(), Mask: net.CIDRMask(a.Bits(), ip.BitLen())},
		LinkIndex: ifindex,
	}, nil
}

// PrepareIface makes the interface name fit for mesh traffic. For IPv4 it turns
// reverse-path filtering off on it, and loosens the global setting from strict
// (1) to loose (2) if needed, because the kernel applies the larger of "all" and
// the interface's value: packets from a neighbour whose address has no route
// through that interface would be dropped. It also makes sure IPv6 is enabled on
// the interface (link-local addresses); a kernel without IPv6 is fine for an IPv4 mesh.
func (k *Kernel) PrepareIface(name string) error {
	if err := checkIfName(name); err != nil {
		return err
	}
	s := k.sysctls()
	return k.inNetns(func() error {
		var errs []error
		if k.cfg.Family == unix.AF_INET {
			if err := s.ensure("net/ipv4/conf/"+name+"/rp_filter", "0"); err != nil {
				errs = append(errs, err)
			}
			all, err := s.read("net/ipv4/conf/all/rp_filter")
			if err != nil {
				errs = append(errs, err)
			} else if all == "1" {
				if err := s.write("net/ipv4/conf/all/rp_filter", "2"); err != nil {
					errs = append(errs, err)
				}
			}
		}
		err := s.ensure("net/ipv6/conf/"+name+"/disable_ipv6", "0")
		if err != nil && !(k.cfg.Family == unix.AF_INET && errors.Is(err, os.ErrNotExist)) {
			errs = append(errs, err)
		}
		return errors.Join(errs...)
	})
}

// EnableForwarding turns on forwarding for the mesh's family.
// Note that IPv6 forwarding makes the kernel ignore router advertisements
// (unless accept_ra is 2), as a router should.
func (k *Kernel) EnableForwarding() error {
	s := k.sysctls()
	key := "net/ipv4/ip_forward"
	if k.cfg.Family == unix.AF_INET6 {
		key = "net/ipv6/conf/all/forwarding"
	}
	return k.inNetns(func() error { return s.ensure(key, "1") })
}

// NeighbourMAC looks ip up in the kernel's neighbour table on link ifindex and
// returns its hardware address if the entry is usable.
func (k *Kernel) NeighbourMAC(ifindex int, ip netip.Addr) (net.HardwareAddr, bool) {
	ip = ip.Unmap().WithZone("")
	family := unix.AF_INET6
	if ip.Is4() {
		family = unix.AF_INET
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.rt == nil || !ip.IsValid() {
		return nil, false
	}
	neighs, err := k.rt.neighbours(ifindex, family)
	if err != nil {
		return nil, false
	}
	const unusable = netlink.NUD_NONE | netlink.NUD_INCOMPLETE | netlink.NUD_FAILED
	for _, n := range neighs {
		a, ok := netip.AddrFromSlice(n.IP)
		if !ok || a.Unmap() != ip || len(n.HardwareAddr) == 0 || n.State&unusable != 0 || n.State == 0 {
			continue
		}
		return n.HardwareAddr, true
	}
	return nil, false
}

// checkIfName refuses names that could not be an interface and would escape
// the sysctl directory.
func checkIfName(name string) error {
	if name == "" || len(name) >= unix.IFNAMSIZ || name == "." || name == ".." ||
		strings.ContainsAny(name, "/\x00") || strings.ContainsFunc(name, func(r rune) bool { return r <= ' ' }) {
		return fmt.Errorf("kernel: %q is not an interface name", name)
	}
	return nil
}

// sysctl reads and writes keys ("net/ipv4/ip_forward") as files under a root,
// "/proc/sys" on a real system.
type sysctl struct{ root string }

func (k *Kernel) sysctls() sysctl { return sysctl{root: k.cfg.SysctlRoot} }

func (s sysctl) path(key string) string { return filepath.Join(s.root, filepath.FromSlash(key)) }

func (s sysctl) read(key string) (string, error) {
	b, err := os.ReadFile(s.path(key))
	if err != nil {
		return "", fmt.Errorf("kernel: sysctl %s: %w", key, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// write never creates a file: a missing key means the kernel lacks the feature
// or the interface, in /proc/sys and in a test's directory alike.
func (s sysctl) write(key, value string) error {
	f, err := os.OpenFile(s.path(key), os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return fmt.Errorf("kernel: sysctl %s: %w", key, err)
	}
	_, err = f.WriteString(value + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("kernel: sysctl %s=%s: %w", key, value, err)
	}
	return nil
}

// ensure writes value unless the key holds it already.
func (s sysctl) ensure(key, value string) error {
	cur, err := s.read(key)
	if err != nil {
		return err
	}
	if cur == value {
		return nil
	}
	return s.write(key, value)
}

// inNetns runs f in our network namespace: /proc/sys/net shows the namespace
// of the thread that opens a file. Opened with Open, f runs right here.
func (k *Kernel) inNetns(f func() error) error {
	if !k.ns.IsOpen() {
		return f()
	}
	// Copy the handle so that a concurrent Close cannot pull it away.
	k.mu.Lock()
	if k.rt == nil {
		k.mu.Unlock()
		return ErrClosed
	}
	ns, err := dupNetns(k.ns)
	k.mu.Unlock()
	if err != nil {
		return err
	}
	defer ns.Close()
	return netnsrun.Do(ns, f)
}

// UpWithLinkLocal puts the IPv6 link-local address ll on the link index
// and sets the link up: what a tunnel device needs to be a mesh interface,
// since the kernel gives no link-local address to a link without a
// hardware address. Without duplicate address detection: the address is
// derived from a key (internal/vlink) and usable at once.
func (k *Kernel) UpWithLinkLocal(index int, ll netip.Prefix) error {
	if !ll.IsValid() || !ll.Addr().Is6() || !ll.Addr().IsLinkLocalUnicast() || ll.Addr().Zone() != "" {
		return fmt.Errorf("kernel: %v is not an IPv6 link-local prefix", ll)
	}
	if index <= 0 {
		return fmt.Errorf("kernel: link-local address %v: link index %d", ll, index)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.rt == nil {
		return ErrClosed
	}
	err := k.rt.addr(unix.RTM_NEWADDR, &netlink.Addr{
		IPNet:     &net.IPNet{IP: ll.Addr().AsSlice(), Mask: net.CIDRMask(ll.Bits(), 128)},
		LinkIndex: index,
		Flags:     unix.IFA_F_NODAD,
	})
	if err != nil {
		return fmt.Errorf("kernel: add address %v to link %d: %w", ll, index, err)
	}
	lm := nl.NewIfInfomsg(unix.AF_UNSPEC)
	lm.Index = int32(index)
	lm.Flags = unix.IFF_UP
	lm.Change = unix.IFF_UP
	if err := k.rt.do(unix.RTM_NEWLINK, unix.NLM_F_ACK, lm); err != nil {
		return fmt.Errorf("kernel: set link %d up: %w", index, err)
	}
	return nil
}
