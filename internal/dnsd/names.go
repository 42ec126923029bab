package dnsd

import (
	"fmt"
	"net/netip"
	"strings"
)

// kind is what a query name is to us.
type kind uint8

const (
	kindOutside  kind = iota // not ours: forwarded or refused
	kindMeshApex             // the suffix itself
	kindMesh                 // a name under the suffix
	kindMeshBad              // under the suffix, but no ANDNA name can look like this
	kindRevAddr              // the reverse name of one address in a reverse zone
	kindRevInner             // a reverse name inside a zone above whole addresses
	kindRevBad               // a malformed reverse name inside a zone
)

// target is a classified query name.
type target struct {
	kind kind
	name string     // kindMesh: the name for Resolver.Resolve
	addr netip.Addr // kindRevAddr: the address for Resolver.Reverse
	apex string     // every kind but kindOutside: the zone apex for the SOA
}

// classify says what the lowercase, dot-terminated name lname is to us.
func (s *Server) classify(lname string) target {
	if lname == s.apex {
		return target{kind: kindMeshApex, apex: s.apex}
	}
	if rest, ok := strings.CutSuffix(lname, "."+s.apex); ok {
		if checkHostname(rest) != "" {
			// Nothing in ANDNA can match: do not bother the mesh.
			return target{kind: kindMeshBad, apex: s.apex}
		}
		return target{kind: kindMesh, name: rest, apex: s.apex}
	}
	p, valid, ok := parseReverse(lname)
	if !ok {
		return target{kind: kindOutside}
	}
	for _, z := range s.cfg.ReverseZones {
		if z.Addr().Is4() != p.Addr().Is4() || z.Bits() > p.Bits() || !z.Contains(p.Addr()) {
			continue
		}
		t := target{kind: kindRevInner, apex: reverseApex(z)}
		switch {
		case !valid:
			t.kind = kindRevBad
		case p.IsSingleIP():
			t.kind, t.addr = kindRevAddr, p.Addr()
		}
		return t
	}
	return target{kind: kindOutside}
}

// checkHostname checks a name as ANDNA accepts it: dot-separated labels of
// 1..63 lowercase letters, digits and inner hyphens, at most 253 bytes. It
// returns what is wrong, or "".
func checkHostname(name string) string {
	switch {
	case name == "":
		return "empty name"
	case len(name) > 253:
		return fmt.Sprintf("%d bytes long, DNS names have at most 253", len(name))
	}
	for label := range strings.SplitSeq(name, ".") {
		switch {
		case label == "":
			return "empty label"
		case len(label) > 63:
			return "label longer than 63 bytes"
		case label[0] == '-' || label[len(label)-1] == '-':
			return fmt.Sprintf("label %q starts or ends with a hyphen", label)
		}
		for i := 0; i < len(label); i++ {
			if ch := label[i]; !(ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '-') {
				return fmt.Sprintf("label %q has %q, only a-z, 0-9 and - are allowed", label, ch)
			}
		}
	}
	return ""
}

// asciiLower lowercases ASCII letters only: DNS names compare
// case-insensitively in ASCII (RFC 4343), and other bytes must survive
// as they are (strings.ToLower would rewrite invalid UTF-8).
func asciiLower(s string) string {
	i := 0
	for i < len(s) && !(s[i] >= 'A' && s[i] <= 'Z') {
		i++
	}
	if i == len(s) {
		return s
	}
	b := []byte(s)
	for ; i < len(b); i++ {
		if c := b[i]; c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
