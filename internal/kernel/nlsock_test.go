package kernel

import (
	"encoding/binary"
	"testing"

	"golang.org/x/sys/unix"
)

// nlmsg builds one netlink message of type typ carrying data, padded to
// the 4-byte alignment the kernel uses between messages.
func nlmsg(typ uint16, flags uint16, data []byte) []byte {
	b := make([]byte, unix.SizeofNlMsghdr, nlmAlign(unix.SizeofNlMsghdr+len(data)))
	binary.NativeEndian.PutUint32(b[0:4], uint32(unix.SizeofNlMsghdr+len(data)))
	binary.NativeEndian.PutUint16(b[4:6], typ)
	binary.NativeEndian.PutUint16(b[6:8], flags)
	b = append(b, data...)
	return b[:cap(b)]
}

func TestSplitMessages(t *testing.T) {
	one := nlmsg(unix.RTM_NEWLINK, unix.NLM_F_MULTI, []byte{1, 2, 3}) // padded to 20
	two := nlmsg(unix.NLMSG_DONE, unix.NLM_F_MULTI, []byte{0, 0, 0, 0})
	var got []nlMessage
	if err := splitMessages(append(one, two...), func(m nlMessage) error {
		got = append(got, m)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].hdr.Type != unix.RTM_NEWLINK || string(got[0].data) != "\x01\x02\x03" || got[1].hdr.Type != unix.NLMSG_DONE {
		t.Fatalf("got %+v", got)
	}
	// The data is a copy: decoders keep slices of it while the socket's
	// buffer is read into again.
	b := append(one[:0:0], one...)
	var kept []byte
	_ = splitMessages(b, func(m nlMessage) error { kept = m.data; return nil })
	b[unix.SizeofNlMsghdr] = 9
	if kept[0] != 1 {
		t.Fatal("message data aliases the receive buffer")
	}

	bad := map[string][]byte{
		"length beyond the datagram": func() []byte { m := append([]byte(nil), one...); binary.NativeEndian.PutUint32(m, 64); return m }(),
		"length below the header":    func() []byte { m := append([]byte(nil), one...); binary.NativeEndian.PutUint32(m, 8); return m }(),
		"trailing bytes":             append(append([]byte(nil), two...), 1, 2, 3),
	}
	for name, b := range bad {
		if err := splitMessages(b, func(nlMessage) error { return nil }); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// FuzzSplitMessages: any datagram splits without a panic, and every
// message handed on lies inside the datagram.
func FuzzSplitMessages(f *testing.F) {
	f.Add(nlmsg(unix.RTM_NEWROUTE, 0, make([]byte, unix.SizeofRtMsg)))
	f.Add(append(nlmsg(unix.RTM_NEWLINK, unix.NLM_F_MULTI, []byte{1}), nlmsg(unix.NLMSG_DONE, 0, nil)...))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		total := 0
		_ = splitMessages(b, func(m nlMessage) error {
			if int(m.hdr.Len) != unix.SizeofNlMsghdr+len(m.data) {
				t.Fatalf("header says %d, data %d", m.hdr.Len, len(m.data))
			}
			total += int(m.hdr.Len)
			if total > len(b) {
				t.Fatalf("messages span %d of %d bytes", total, len(b))
			}
			return nil
		})
	})
}
