package daemon

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ntkd/ntkd/internal/andna"
)

// TestReserveANDNACounters: each run starts above everything the last one
// could send, even with the clock back at the same minute (a router
// without a real-time clock) or behind it, and a corrupt reservation is an
// error, not a start from zero.
func TestReserveANDNACounters(t *testing.T) {
	dir := t.TempDir()
	at := time.Unix(1_800_000_000, 0)
	first, err := ReserveANDNACounters(dir, at)
	if err != nil {
		t.Fatal(err)
	}
	if first != uint32(at.Unix()/60) {
		t.Errorf("first run starts at %d, want the clock's minutes %d", first, at.Unix()/60)
	}
	second, err := ReserveANDNACounters(dir, at) // same minute: no RTC
	if err != nil {
		t.Fatal(err)
	}
	if second != first+andna.CounterReserve {
		t.Errorf("second run starts at %d, want %d", second, first+andna.CounterReserve)
	}
	third, err := ReserveANDNACounters(dir, at.Add(-24*time.Hour)) // clock behind
	if err != nil || third != second+andna.CounterReserve {
		t.Errorf("clock behind: %d %v, want %d", third, err, second+andna.CounterReserve)
	}
	later := at.Add(365 * 24 * time.Hour)
	fourth, err := ReserveANDNACounters(dir, later) // a year on: the clock leads
	if err != nil || fourth != uint32(later.Unix()/60) {
		t.Errorf("a year later: %d %v, want %d", fourth, err, later.Unix()/60)
	}
	path := filepath.Join(dir, CounterFile)
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("reservation file: %v %v", fi, err)
	}
	os.WriteFile(path, []byte("twelve\n"), 0o600)
	if _, err := ReserveANDNACounters(dir, at); err == nil {
		t.Error("a corrupt reservation was taken for none")
	}
	os.WriteFile(path, []byte("4294967290\n"), 0o600)
	if _, err := ReserveANDNACounters(dir, at); err == nil {
		t.Error("a reservation at the top of the counter was accepted")
	}
}
