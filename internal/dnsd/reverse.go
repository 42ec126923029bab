package dnsd

import (
	"net/netip"
	"strconv"
	"strings"
)

const (
	arpa4 = "in-addr.arpa."
	arpa6 = "ip6.arpa."
)

// parseReverse reads a lowercase, dot-terminated name under in-addr.arpa.
// or ip6.arpa. (ok false for other names). Labels are read from the right,
// most significant first; p is the prefix the valid ones spell (a whole
// address when there are 4 or 32), and valid says whether every label was
// valid and there were no more than a whole address.
func parseReverse(lname string) (p netip.Prefix, valid, ok bool) {
	var body string
	is4 := false
	switch {
	case lname == arpa4 || strings.HasSuffix(lname, "."+arpa4):
		body, is4 = lname[:len(lname)-len(arpa4)], true
	case lname == arpa6 || strings.HasSuffix(lname, "."+arpa6):
		body = lname[:len(lname)-len(arpa6)]
	default:
		return netip.Prefix{}, false, false
	}
	var b [16]byte
	n, valid := 0, true
	for body != "" {
		body = body[:len(body)-1] // the dot after the label
		label := body[strings.LastIndexByte(body, '.')+1:]
		body = body[:len(body)-len(label)]
		if is4 {
			v, good := parseOctet(label)
			if !good || n == 4 {
				valid = false
				break
			}
			b[n] = v
		} else {
			v, good := parseNibble(label)
			if !good || n == 32 {
				valid = false
				break
			}
			b[n/2] |= v << (4 * (1 - n%2))
		}
		n++
	}
	if is4 {
		return netip.PrefixFrom(netip.AddrFrom4([4]byte(b[:4])), 8*n), valid, true
	}
	return netip.PrefixFrom(netip.AddrFrom16(b), 4*n), valid, true
}

// parseOctet reads a decimal 0..255 without leading zeros.
func parseOctet(s string) (byte, bool) {
	if s == "" || len(s) > 3 || len(s) > 1 && s[0] == '0' {
		return 0, false
	}
	v := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		v = v*10 + int(s[i]-'0')
	}
	return byte(v), v <= 255
}

// parseNibble reads one lowercase hex digit.
func parseNibble(s string) (byte, bool) {
	if len(s) != 1 {
		return 0, false
	}
	switch c := s[0]; {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// reverseApex is the reverse name of z cut to whole labels (octets or
// nibbles), the owner of the SOA we give for the zone.
func reverseApex(z netip.Prefix) string {
	return reverseName(z.Addr(), z.Bits())
}

// reverseName is the reverse name of the first bits of a (cut down to whole
// labels), dot-terminated: reverseName(10.1.2.3, 32) is
// "3.2.1.10.in-addr.arpa.".
func reverseName(a netip.Addr, bits int) string {
	var sb strings.Builder
	if a.Is4() {
		b := a.As4()
		for i := bits/8 - 1; i >= 0; i-- {
			sb.WriteString(strconv.Itoa(int(b[i])))
			sb.WriteByte('.')
		}
		sb.WriteString(arpa4)
		return sb.String()
	}
	const hex = "0123456789abcdef"
	b := a.As16()
	for i := bits/4 - 1; i >= 0; i-- {
		sb.WriteByte(hex[b[i/2]>>(4*(1-i%2))&0xf])
		sb.WriteByte('.')
	}
	sb.WriteString(arpa6)
	return sb.String()
}
