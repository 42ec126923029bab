// Package memtrim gives back the pages of the daemon's own binary that it
// no longer runs.
//
// A Go binary is touched nearly everywhere while it starts (package
// initialisation, the configuration parser, the first garbage collections
// reading type and stack maps), and the kernel maps 64 KiB around every
// page fault of a file mapping, so a few seconds after start nearly the
// whole binary counts in the daemon's RSS: 4.5 MiB of a 4.7 MiB binary,
// more than its heap, stacks and runtime together. Dropping those mappings
// once start-up is over lets the kernel map back only what the steady
// state runs; the pages stay in the page cache, where a router short of
// memory can reclaim the cold ones instead of keeping them pinned by a
// mapping nobody uses. Measured in a ring-8 lab: 4,580 KiB of file pages
// before, 2,800 right after, 4,208 a minute later (the collector reads
// type and stack maps spread over the whole read-only data, and each
// fault maps 64 KiB), so the steady state is 370 KiB smaller.
package memtrim

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// DropExecutablePages unmaps the resident pages of the read-only mappings
// of the running executable (its code and read-only data; never its
// writable data). The process keeps running: touched pages fault back in.
// It returns how many bytes of mappings it gave back.
func DropExecutablePages() (int64, error) {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return 0, fmt.Errorf("memtrim: %w", err)
	}
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return 0, fmt.Errorf("memtrim: %w", err)
	}
	defer f.Close()
	regions, err := readOnlyMappings(bufio.NewScanner(f), exe)
	if err != nil {
		return 0, fmt.Errorf("memtrim: /proc/self/maps: %w", err)
	}
	var total int64
	for _, r := range regions {
		// Syscall, not unix.Madvise: the region is not a Go slice.
		if _, _, errno := unix.Syscall(unix.SYS_MADVISE, r.start, r.end-r.start, unix.MADV_DONTNEED); errno != 0 {
			return total, fmt.Errorf("memtrim: madvise %#x-%#x: %w", r.start, r.end, errno)
		}
		total += int64(r.end - r.start)
	}
	return total, nil
}

type region struct{ start, end uintptr }

// readOnlyMappings lists the private, non-writable mappings of path in a
// /proc/PID/maps listing ("start-end perms offset dev inode path").
func readOnlyMappings(s *bufio.Scanner, path string) ([]region, error) {
	var out []region
	for s.Scan() {
		fields := bytes.Fields(s.Bytes())
		if len(fields) < 6 || string(fields[5]) != path {
			continue
		}
		perms := fields[1]
		if len(perms) != 4 || perms[1] == 'w' || perms[3] != 'p' {
			continue
		}
		lo, hi, ok := bytes.Cut(fields[0], []byte{'-'})
		if !ok {
			return nil, fmt.Errorf("bad address range %q", fields[0])
		}
		start, err1 := strconv.ParseUint(string(lo), 16, 64)
		end, err2 := strconv.ParseUint(string(hi), 16, 64)
		if err1 != nil || err2 != nil || end <= start {
			return nil, fmt.Errorf("bad address range %q", fields[0])
		}
		out = append(out, region{uintptr(start), uintptr(end)})
	}
	return out, s.Err()
}
