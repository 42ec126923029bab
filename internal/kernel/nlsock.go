package kernel

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/ntkd/ntkd/internal/netnsrun"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// nlSocket is a NETLINK_ROUTE socket read through the runtime's poller
// into one buffer it keeps. netlink's own socket receives into a 64 KiB
// array that escapes to the heap on every read, and a goroutine parked in
// it keeps a 128 KiB stack: on a router that was a third of ntkd's heap.
type nlSocket struct {
	mu  sync.Mutex // one request at a time: answers are read in order
	f   *os.File
	rc  syscall.RawConn
	buf []byte
	pid uint32 // our port id, where the kernel's answers go
	seq uint32
}

// nlBufSize is the receive buffer to start with: the kernel packs dumps
// into datagrams of about the size we read with, and a notification is a
// single message of a few hundred bytes.
const nlBufSize = 8 << 10

// nlMaxDatagram bounds how far the buffer grows for one datagram.
const nlMaxDatagram = 1 << 20

var errDumpInterrupted = errors.New("kernel: dump interrupted (the table changed meanwhile)")

// openNlSocket opens a NETLINK_ROUTE socket in ns (None: the current
// namespace) joined to the multicast groups (RTNLGRP_* numbers).
func openNlSocket(ns netns.NsHandle, groups ...uint) (*nlSocket, error) {
	var mask uint32
	for _, g := range groups {
		if g == 0 || g > 32 {
			return nil, fmt.Errorf("kernel: netlink group %d out of 1..32", g)
		}
		mask |= 1 << (g - 1)
	}
	var fd int
	err := netnsrun.Do(ns, func() (err error) {
		fd, err = unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, unix.NETLINK_ROUTE)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("kernel: netlink socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: mask}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("kernel: netlink bind: %w", err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("kernel: netlink getsockname: %w", err)
	}
	nsa, ok := sa.(*unix.SockaddrNetlink)
	if !ok {
		unix.Close(fd)
		return nil, fmt.Errorf("kernel: netlink getsockname: %T", sa)
	}
	f := os.NewFile(uintptr(fd), "rtnetlink")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("kernel: netlink socket: %w", err)
	}
	return &nlSocket{f: f, rc: rc, buf: make([]byte, nlBufSize), pid: nsa.Pid}, nil
}

func (s *nlSocket) close() error { return s.f.Close() }

// setReceiveBuffer sets the socket's kernel receive queue (SO_RCVBUFFORCE,
// past rmem_max: we are root) so a burst of notifications does not
// overrun it.
func (s *nlSocket) setReceiveBuffer(n int) error {
	var serr error
	err := s.rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, n)
	})
	return errors.Join(err, serr)
}

// recv reads one datagram into s.buf, grown first to the datagram's size,
// and returns it with the sender's port id. It blocks in the poller until
// one arrives, the deadline passes or the socket is closed.
func (s *nlSocket) recv() ([]byte, uint32, error) {
	var (
		n    int
		from unix.Sockaddr
		rerr error
	)
	err := s.rc.Read(func(fd uintptr) bool {
		// MSG_TRUNC makes the kernel report the datagram's full length.
		n, _, rerr = unix.Recvfrom(int(fd), nil, unix.MSG_PEEK|unix.MSG_TRUNC)
		if rerr == unix.EAGAIN {
			return false
		}
		if rerr != nil {
			return true
		}
		if n > len(s.buf) {
			if n > nlMaxDatagram {
				rerr = fmt.Errorf("kernel: netlink datagram of %d bytes", n)
				return true
			}
			s.buf = make([]byte, n)
		}
		n, from, rerr = unix.Recvfrom(int(fd), s.buf, 0)
		return rerr != unix.EAGAIN
	})
	if err == nil {
		err = rerr
	}
	if err != nil {
		return nil, 0, err
	}
	nsa, ok := from.(*unix.SockaddrNetlink)
	if !ok {
		return nil, 0, fmt.Errorf("kernel: netlink datagram from %T", from)
	}
	return s.buf[:n], nsa.Pid, nil
}

// nlMessage is one message of a datagram.
type nlMessage struct {
	hdr  unix.NlMsghdr
	data []byte // after the header, up to the header's length
}

// splitMessages splits a datagram into its messages, checking each
// header's length against what is there.
func splitMessages(b []byte, f func(nlMessage) error) error {
	for len(b) >= unix.SizeofNlMsghdr {
		h := unix.NlMsghdr{
			Len:   binary.NativeEndian.Uint32(b[0:4]),
			Type:  binary.NativeEndian.Uint16(b[4:6]),
			Flags: binary.NativeEndian.Uint16(b[6:8]),
			Seq:   binary.NativeEndian.Uint32(b[8:12]),
			Pid:   binary.NativeEndian.Uint32(b[12:16]),
		}
		if h.Len < unix.SizeofNlMsghdr || int(h.Len) > len(b) {
			return fmt.Errorf("kernel: netlink message length %d of %d bytes", h.Len, len(b))
		}
		// A copy: the decoders keep slices of it (addresses, names) and
		// the buffer is read into again.
		if err := f(nlMessage{hdr: h, data: slices.Clone(b[unix.SizeofNlMsghdr:h.Len])}); err != nil {
			return err
		}
		next := nlmAlign(int(h.Len))
		if next >= len(b) {
			return nil
		}
		b = b[next:]
	}
	if len(b) != 0 {
		return fmt.Errorf("kernel: %d bytes after the last netlink message", len(b))
	}
	return nil
}

func nlmAlign(n int) int { return (n + unix.NLMSG_ALIGNTO - 1) &^ (unix.NLMSG_ALIGNTO - 1) }

// exec sends the request msg (a whole netlink message whose header's
// sequence number and port id it fills in) and reads the answers until
// the ACK, the error or the end of the dump, handing each answer that is
// not one of those to f. Once f fails the rest of the answers are read
// and dropped, so the next request does not find them; f's error is
// returned. A dump the kernel interrupted returns errDumpInterrupted.
func (s *nlSocket) exec(msg []byte, f func(typ uint16, data []byte) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	seq := s.seq
	binary.NativeEndian.PutUint32(msg[8:12], seq)
	binary.NativeEndian.PutUint32(msg[12:16], s.pid)
	if err := s.f.SetDeadline(time.Now().Add(netlinkTimeout)); err != nil {
		return err
	}
	var serr error
	err := s.rc.Write(func(fd uintptr) bool {
		serr = unix.Sendto(int(fd), msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK})
		return serr != unix.EAGAIN
	})
	if err = errors.Join(err, serr); err != nil {
		return fmt.Errorf("kernel: netlink send: %w", err)
	}
	var ferr error
	interrupted := false
	for {
		b, from, err := s.recv()
		if err != nil {
			return fmt.Errorf("kernel: netlink receive: %w", err)
		}
		if from != 0 {
			continue // not the kernel
		}
		done := false
		err = splitMessages(b, func(m nlMessage) error {
			if m.hdr.Seq != seq || m.hdr.Pid != s.pid {
				return nil // a late answer to an earlier request
			}
			if m.hdr.Flags&unix.NLM_F_DUMP_INTR != 0 {
				interrupted = true
			}
			switch m.hdr.Type {
			case unix.NLMSG_DONE:
				done = true
				return nil
			case unix.NLMSG_ERROR:
				done = true
				if len(m.data) < 4 {
					return fmt.Errorf("kernel: short netlink error message")
				}
				if errno := int32(binary.NativeEndian.Uint32(m.data)); errno != 0 {
					return syscall.Errno(-errno)
				}
				return nil
			}
			if ferr == nil && f != nil {
				ferr = f(m.hdr.Type, m.data)
			}
			if m.hdr.Flags&unix.NLM_F_MULTI == 0 {
				done = true
			}
			return nil
		})
		if err != nil {
			return err
		}
		if done {
			break
		}
	}
	if interrupted {
		return errors.Join(ferr, errDumpInterrupted)
	}
	return ferr
}
