package kernel

import (
	"encoding/binary"
	"reflect"
	"testing"

	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// FuzzParseAttrs: parseAttrs never panics, and on every input the
// library's parser survives, both agree.
func FuzzParseAttrs(f *testing.F) {
	f.Add(append(nl.NewRtAttr(unix.RTA_DST, []byte{10, 0, 0, 1}).Serialize(), nl.NewRtAttr(unix.RTA_OIF, nl.Uint32Attr(3)).Serialize()...))
	f.Add(nl.NewRtAttr(unix.RTA_PRIORITY, []byte{1, 2, 3}).Serialize()) // padded to 8
	f.Add(attr(7, 1, 1, 2, 3))                                          // 7 bytes, padding missing: the library panics
	f.Add(attr(3, 1, 9))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := parseAttrs(b)
		want, wantErr, panicked := libraryAttrs(b)
		if panicked {
			return
		}
		if (err == nil) != (wantErr == nil) || !reflect.DeepEqual(got, want) {
			t.Fatalf("parseAttrs(%x) = %v, %v; the library says %v, %v", b, got, err, want, wantErr)
		}
	})
}

func libraryAttrs(b []byte) (attrs any, err error, panicked bool) {
	defer func() {
		if recover() != nil {
			panicked = true
		}
	}()
	a, err := nl.ParseRouteAttr(b)
	return a, err, false
}

// attr is an rtattr header of length n and type typ (native byte order, as
// the kernel sends it) followed by value, unpadded.
func attr(n, typ uint16, value ...byte) []byte {
	b := binary.NativeEndian.AppendUint16(nil, n)
	return append(binary.NativeEndian.AppendUint16(b, typ), value...)
}

func TestParseAttrsUnpadded(t *testing.T) {
	attrs, err := parseAttrs(attr(7, 1, 1, 2, 3))
	if err != nil || len(attrs) != 1 || len(attrs[0].Value) != 3 || attrs[0].Attr.Type != 1 {
		t.Fatalf("got %v, %v", attrs, err)
	}
	if _, err := parseAttrs(attr(9, 1, 1, 2, 3)); err == nil {
		t.Fatal("an attribute longer than the buffer was accepted")
	}
}
