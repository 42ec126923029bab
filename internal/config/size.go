package config

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Size is a number of bytes, written in the file as a string with a binary
// unit ("6MiB", "512KiB", "100B") or "0". Binary units only: "MB" would be
// ambiguous, and GOMEMLIMIT itself counts in powers of two.
type Size int64

const (
	KiB Size = 1 << 10
	MiB Size = 1 << 20
	GiB Size = 1 << 30
)

// sizeUnits lists the units from largest to smallest, so that String picks
// the largest exact one.
func sizeUnits() [4]struct {
	name string
	mult Size
} {
	return [...]struct {
		name string
		mult Size
	}{{"GiB", GiB}, {"MiB", MiB}, {"KiB", KiB}, {"B", 1}}
}

var errSizeSyntax = errors.New(`want a whole number and a unit B, KiB, MiB or GiB, like "6MiB", or "0"`)

// ParseSize reads a Size: digits, optional spaces, then B, KiB, MiB or GiB.
// A bare number is accepted only for "0", where the unit does not matter.
func ParseSize(s string) (Size, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, errSizeSyntax
	}
	n, err := strconv.ParseInt(t[:i], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is too large", s)
	}
	unit := strings.TrimSpace(t[i:])
	if unit == "" {
		if n == 0 {
			return 0, nil
		}
		return 0, errSizeSyntax
	}
	for _, u := range sizeUnits() {
		if unit == u.name {
			if n > math.MaxInt64/int64(u.mult) {
				return 0, fmt.Errorf("%q is too large", s)
			}
			return Size(n) * u.mult, nil
		}
	}
	return 0, errSizeSyntax
}

// String renders s with the largest unit that divides it, so that
// ParseSize(s.String()) == s.
func (s Size) String() string {
	if s == 0 {
		return "0"
	}
	if s < 0 {
		return strconv.FormatInt(int64(s), 10) + "B"
	}
	u := sizeUnits()[0]
	for _, u = range sizeUnits() {
		if s%u.mult == 0 {
			break
		}
	}
	return strconv.FormatInt(int64(s/u.mult), 10) + u.name // the last unit, B, divides anything
}
