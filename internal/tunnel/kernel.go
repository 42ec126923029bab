package tunnel

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
	"github.com/ntkd/ntkd/internal/netnsrun"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// ErrNoKernelWireGuard is wrapped when the kernel has no WireGuard (on
// OpenWrt: kmod-wireguard is not installed).
var ErrNoKernelWireGuard = errors.New("kernel has no WireGuard (kmod-wireguard)")

// netlinkTimeout bounds each request, so a wedged kernel answer cannot hang
// the daemon.
const netlinkTimeout = 10 * time.Second

// Kernel makes devices with the kernel's WireGuard.
type Kernel struct {
	ns netns.NsHandle
}

// NewKernel returns the kernel backend for the network namespace ns
// (netns.None(): the calling thread's). ns must stay open while Create runs.
func NewKernel(ns netns.NsHandle) *Kernel { return &Kernel{ns: ns} }

// Available reports whether the kernel has WireGuard, as an error wrapping
// ErrNoKernelWireGuard when it has not. Asking for the generic netlink
// family makes the kernel load the module if it can.
func (k *Kernel) Available() error {
	return netnsrun.Do(k.ns, func() error {
		c, _, err := dialWG()
		if err != nil {
			return err
		}
		c.Close()
		return nil
	})
}

// dialWG opens a generic netlink socket and finds the wireguard family.
func dialWG() (*genetlink.Conn, uint16, error) {
	c, err := genetlink.Dial(nil)
	if err != nil {
		return nil, 0, fmt.Errorf("generic netlink: %w", err)
	}
	fam, err := c.GetFamily(unix.WG_GENL_NAME)
	if err != nil {
		c.Close()
		if errors.Is(err, os.ErrNotExist) {
			return nil, 0, ErrNoKernelWireGuard
		}
		return nil, 0, fmt.Errorf("generic netlink family %s: %w", unix.WG_GENL_NAME, err)
	}
	return c, fam.ID, nil
}

// Create makes the link, gives it the key and port, and returns it with its
// two netlink sockets, opened in the backend's namespace.
func (k *Kernel) Create(name string, private Key, listenPort int) (Device, error) {
	if err := checkCreate(name, listenPort); err != nil {
		return nil, fmt.Errorf("tunnel: create %s: %w", name, err)
	}
	var d *wgDevice
	err := netnsrun.Do(k.ns, func() (err error) {
		d, err = createKernel(name, private, listenPort)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("tunnel: create %s: %w", name, err)
	}
	return d, nil
}

func createKernel(name string, private Key, listenPort int) (*wgDevice, error) {
	// The family first: without WireGuard, fail before anything is made.
	gc, family, err := dialWG()
	if err != nil {
		return nil, err
	}
	rt, err := netlink.Dial(unix.NETLINK_ROUTE, nil)
	if err != nil {
		gc.Close()
		return nil, fmt.Errorf("rtnetlink: %w", err)
	}
	d := &kernelDevice{name: name, gc: gc, family: family, rt: rt}
	msg, err := encodeNewLink(name)
	if err == nil {
		err = d.rtnl(unix.RTM_NEWLINK, netlink.Create|netlink.Excl, msg)
	}
	if err != nil {
		d.closeSockets()
		return nil, fmt.Errorf("add link: %w", err)
	}
	// The index from WireGuard itself: it also proves the link is ours to
	// configure. From here on a failure deletes the link again.
	st, err := d.get(0)
	if err == nil {
		d.index = st.ifindex
		msg, err = encodeSetKey(d.index, private, listenPort)
	}
	if err == nil {
		err = d.set(msg)
	}
	if err != nil {
		// Without the index, by name: RTM_NEWLINK with NLM_F_EXCL made
		// the link of that name, so it is ours.
		if msg, derr := encodeDelLink(d.index, name); derr == nil {
			d.rtnl(unix.RTM_DELLINK, 0, msg)
		}
		d.closeSockets()
		return nil, fmt.Errorf("configure: %w", err)
	}
	return &wgDevice{name: name, index: d.index, self: private.Public(), drv: d}, nil
}

// kernelDevice drives a kernel WireGuard link over its two netlink
// sockets (wgDevice serialises the calls).
type kernelDevice struct {
	name   string
	index  int
	family uint16
	gc     *genetlink.Conn
	rt     *netlink.Conn
}

// rtnl sends an rtnetlink request and waits for the kernel's acknowledgement.
func (d *kernelDevice) rtnl(typ uint16, flags netlink.HeaderFlags, data []byte) error {
	if err := d.rt.SetDeadline(time.Now().Add(netlinkTimeout)); err != nil {
		return err
	}
	_, err := d.rt.Execute(netlink.Message{
		Header: netlink.Header{Type: netlink.HeaderType(typ), Flags: netlink.Request | netlink.Acknowledge | flags},
		Data:   data,
	})
	return err
}

// get asks WireGuard for the device, by name while the index is unknown (0).
func (d *kernelDevice) get(index int) (wgState, error) {
	var st wgState
	data, err := encodeGetDevice(index, d.name)
	if err != nil {
		return st, err
	}
	if err := d.gc.SetDeadline(time.Now().Add(netlinkTimeout)); err != nil {
		return st, err
	}
	msgs, err := d.gc.Execute(genetlink.Message{
		Header: genetlink.Header{Command: unix.WG_CMD_GET_DEVICE, Version: unix.WG_GENL_VERSION},
		Data:   data,
	}, d.family, netlink.Request|netlink.Dump)
	if err != nil {
		return st, fmt.Errorf("get device: %w", err)
	}
	for _, m := range msgs {
		if err := parseDevice(m.Data, &st); err != nil {
			return st, fmt.Errorf("get device: %w", err)
		}
	}
	if st.ifindex <= 0 {
		return st, errors.New("get device: answer without an interface index")
	}
	return st, nil
}

// set sends a WG_CMD_SET_DEVICE.
func (d *kernelDevice) set(data []byte) error {
	if err := d.gc.SetDeadline(time.Now().Add(netlinkTimeout)); err != nil {
		return err
	}
	_, err := d.gc.Execute(genetlink.Message{
		Header: genetlink.Header{Command: unix.WG_CMD_SET_DEVICE, Version: unix.WG_GENL_VERSION},
		Data:   data,
	}, d.family, netlink.Request|netlink.Acknowledge)
	if err != nil {
		return fmt.Errorf("set device: %w", err)
	}
	return nil
}

func (d *kernelDevice) setPeer(p Peer, keepalive uint16, replace bool) error {
	data, err := encodeSetPeer(d.index, p, keepalive, replace)
	if err != nil {
		return err
	}
	return d.set(data)
}

func (d *kernelDevice) state() (wgState, error) { return d.get(d.index) }

// remove deletes the link; one that is already gone counts as deleted.
func (d *kernelDevice) remove() error {
	msg, err := encodeDelLink(d.index, d.name)
	if err == nil {
		err = d.rtnl(unix.RTM_DELLINK, 0, msg)
	}
	d.closeSockets()
	if err != nil && !errors.Is(err, unix.ENODEV) {
		return fmt.Errorf("delete link: %w", err)
	}
	return nil
}

func (d *kernelDevice) closeSockets() {
	d.gc.Close()
	d.rt.Close()
}
