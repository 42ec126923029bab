package kernel

import (
	"encoding/binary"
	"syscall"

	"golang.org/x/sys/unix"
)

// parseAttrs splits a run of rtnetlink attributes, as nl.ParseRouteAttr
// does, but never slices past the end: the library's version panics when
// the last attribute's length is not a multiple of 4 and its padding is
// missing (fuzzing found it; the kernel always pads). The values alias b.
func parseAttrs(b []byte) ([]syscall.NetlinkRouteAttr, error) {
	var attrs []syscall.NetlinkRouteAttr
	for len(b) >= unix.SizeofRtAttr {
		n := int(binary.NativeEndian.Uint16(b))
		if n < unix.SizeofRtAttr || n > len(b) {
			return nil, unix.EINVAL
		}
		attrs = append(attrs, syscall.NetlinkRouteAttr{
			Attr:  syscall.RtAttr{Len: uint16(n), Type: binary.NativeEndian.Uint16(b[2:])},
			Value: b[unix.SizeofRtAttr:n],
		})
		b = b[min(len(b), (n+unix.RTA_ALIGNTO-1)&^(unix.RTA_ALIGNTO-1)):]
	}
	return attrs, nil
}
