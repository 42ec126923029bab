package memtrim

import (
	"bufio"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

func TestReadOnlyMappings(t *testing.T) {
	maps := `00400000-0068b000 r-xp 00000000 08:01 123 /usr/sbin/ntkd
0068b000-0094c000 r--p 0028b000 08:01 123 /usr/sbin/ntkd
0094c000-00972000 rw-p 0054c000 08:01 123 /usr/sbin/ntkd
00972000-009a0000 rw-p 00000000 00:00 0
c000000000-c000400000 rw-p 00000000 00:00 0
7ffd1000-7ffd3000 r-xp 00000000 00:00 0 [vdso]
01000000-01001000 r--s 00000000 08:01 123 /usr/sbin/ntkd
02000000-02001000 r-xp 00000000 08:01 9 /usr/sbin/ntkd-other
`
	got, err := readOnlyMappings(bufio.NewScanner(strings.NewReader(maps)), "/usr/sbin/ntkd")
	if err != nil {
		t.Fatal(err)
	}
	want := []region{{0x400000, 0x68b000}, {0x68b000, 0x94c000}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("got %x, want %x", got, want)
	}
	if _, err := readOnlyMappings(bufio.NewScanner(strings.NewReader("zz-1 r-xp 0 0:0 1 /x\n")), "/x"); err == nil {
		t.Fatal("a bad range was accepted")
	}
}

// rssFile reads RssFile of this process in KiB.
func rssFile(t *testing.T) int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "RssFile:"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	t.Skip("no RssFile")
	return 0
}

// The test binary itself: its file pages go, and it keeps running (a GC
// walks the stacks, reading the pclntab it dropped).
func TestDropExecutablePages(t *testing.T) {
	before := rssFile(t)
	n, err := DropExecutablePages()
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("no mapping of the executable found")
	}
	after := rssFile(t)
	runtime.GC()
	if after >= before {
		t.Fatalf("RssFile %d KiB before, %d after", before, after)
	}
	t.Logf("RssFile %d -> %d KiB (%d KiB of mappings)", before, after, n>>10)
}
