//go:build !router

package tunnel

import (
	"fmt"

	"github.com/ntkd/ntkd/internal/logx"
	"github.com/ntkd/ntkd/internal/netnsrun"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
	"golang.zx2c4.com/wireguard/conn"
	"golang.zx2c4.com/wireguard/device"
	"golang.zx2c4.com/wireguard/tun"
)

// tunMTU is the MTU of a new tun device: WireGuard's default (1500 minus
// the IPv6, UDP and WireGuard headers), which kernel links get by themselves.
const tunMTU = 1420

// Userspace makes devices with wireguard-go, running in this process on
// /dev/net/tun: for machines without the kernel module.
type Userspace struct {
	ns  netns.NsHandle
	log *logx.Logger
}

// NewUserspace returns the userspace backend for the network namespace ns
// (netns.None(): the calling thread's). ns must stay open while Create
// runs. wireguard-go's errors go to log (nil: nowhere).
func NewUserspace(ns netns.NsHandle, log *logx.Logger) *Userspace {
	return &Userspace{ns: ns, log: log}
}

// Create makes the tun device and starts wireguard-go on it. Everything
// that belongs to a namespace is made inside it, on one locked thread: the
// tun device, wireguard-go's netlink socket, our ioctl socket and (by
// bringing wireguard-go up there) the UDP sockets. wireguard-go would
// reopen its UDP sockets from its own goroutine, in whatever namespace
// that runs in, when the link goes down and up: the tun's up and down
// events are therefore not passed on, and wireguard-go stays up, its
// sockets open, from Create to Close (the kernel drops packets of a link
// that is down anyway).
func (u *Userspace) Create(name string, private Key, listenPort int) (Device, error) {
	if err := checkCreate(name, listenPort); err != nil {
		return nil, fmt.Errorf("tunnel: create %s: %w", name, err)
	}
	var d *wgDevice
	err := netnsrun.Do(u.ns, func() (err error) {
		d, err = u.create(name, private, listenPort)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("tunnel: create %s: %w", name, err)
	}
	return d, nil
}

func (u *Userspace) create(name string, private Key, listenPort int) (*wgDevice, error) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("ioctl socket: %w", err)
	}
	tdev, err := tun.CreateTUN(name, tunMTU)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("tun: %w", err)
	}
	t := &nsTun{Device: tdev, fd: fd, events: make(chan tun.Event, 5)}
	go t.forward()
	index, err := t.ifreq(unix.SIOCGIFINDEX)
	if err != nil {
		t.Close()
		return nil, fmt.Errorf("tun index: %w", err)
	}
	dev := device.NewDevice(t, conn.NewDefaultBind(), u.logger(name))
	if err := dev.IpcSet(uapiCreate(private, listenPort)); err != nil {
		dev.Close()
		return nil, fmt.Errorf("configure: %w", err)
	}
	if err := dev.Up(); err != nil {
		dev.Close()
		return nil, fmt.Errorf("open UDP port %d: %w", listenPort, err)
	}
	return &wgDevice{name: name, index: index, self: private.Public(), drv: userDevice{dev}}, nil
}

// logger passes wireguard-go's errors on; its chatter (verbose) is dropped.
func (u *Userspace) logger(name string) *device.Logger {
	l := &device.Logger{Verbosef: device.DiscardLogf, Errorf: device.DiscardLogf}
	if u.log != nil && u.log.Enabled(logx.LevelError) {
		log := u.log.With("dev", name)
		l.Errorf = func(format string, args ...any) { log.Error("wireguard-go: " + fmt.Sprintf(format, args...)) }
	}
	return l
}

// nsTun is the tun device with the two changes Create explains: no up and
// down events, and the MTU asked on a socket of the device's namespace
// (wireguard-go's own MTU opens a socket in the namespace of whichever
// thread calls it, and looks the name up there).
type nsTun struct {
	tun.Device
	fd     int // AF_INET socket in the device's namespace, for ioctls
	events chan tun.Event
}

func (t *nsTun) forward() {
	for e := range t.Device.Events() {
		if e &^= tun.EventUp | tun.EventDown; e != 0 {
			t.events <- e
		}
	}
	close(t.events)
}

func (t *nsTun) Events() <-chan tun.Event { return t.events }

func (t *nsTun) MTU() (int, error) { return t.ifreq(unix.SIOCGIFMTU) }

// ifreq asks the kernel for one integer about the device, by name.
func (t *nsTun) ifreq(req uint) (int, error) {
	name, err := t.Name()
	if err != nil {
		return 0, err
	}
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return 0, err
	}
	if err := unix.IoctlIfreq(t.fd, req, ifr); err != nil {
		return 0, err
	}
	return int(int32(ifr.Uint32())), nil
}

func (t *nsTun) Close() error {
	err := t.Device.Close()
	unix.Close(t.fd)
	return err
}

// userDevice drives a wireguard-go device.
type userDevice struct{ dev *device.Device }

func (d userDevice) setPeer(p Peer, keepalive uint16, replace bool) error {
	return d.dev.IpcSet(uapiPeer(p, keepalive, replace))
}

func (d userDevice) state() (wgState, error) {
	text, err := d.dev.IpcGet()
	if err != nil {
		return wgState{}, err
	}
	return parseUAPI(text)
}

// remove stops wireguard-go; closing the tun file removes the link.
func (d userDevice) remove() error {
	d.dev.Close()
	return nil
}
