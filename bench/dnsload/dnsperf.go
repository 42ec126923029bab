package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"time"
)

var (
	perfQPS     = regexp.MustCompile(`Queries per second:\s+([0-9.]+)`)
	perfSent    = regexp.MustCompile(`Queries sent:\s+(\d+)`)
	perfDone    = regexp.MustCompile(`Queries completed:\s+(\d+)`)
	perfLost    = regexp.MustCompile(`Queries lost:\s+(\d+)`)
	perfNoError = regexp.MustCompile(`Response codes:\s+NOERROR (\d+)`)
	perfLatency = regexp.MustCompile(`Average Latency \(s\):\s+([0-9.]+)`)
	perfRunTime = regexp.MustCompile(`Run time \(s\):\s+([0-9.]+)`)
)

// runDnsperf runs dnsperf against addr for d, asking name over and over
// with clients sockets and outstanding queries in flight.
func runDnsperf(bin, dir string, addr netip.AddrPort, name string, clients, outstanding int, d time.Duration) (result, error) {
	data := filepath.Join(dir, name+".queries")
	if err := os.WriteFile(data, []byte(name+" A\n"), 0o644); err != nil {
		return result{}, err
	}
	cmd := exec.Command(bin,
		"-s", addr.Addr().String(), "-p", strconv.Itoa(int(addr.Port())),
		"-d", data, "-l", strconv.Itoa(max(1, int(d.Seconds()))),
		"-c", strconv.Itoa(clients), "-q", strconv.Itoa(outstanding), "-t", "1",
	)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return result{}, fmt.Errorf("dnsperf: %w\n%s", err, out)
	}
	num := func(re *regexp.Regexp) float64 {
		m := re.FindSubmatch(out)
		if m == nil {
			return -1
		}
		v, _ := strconv.ParseFloat(string(m[1]), 64)
		return v
	}
	r := result{
		sent:     uint64(num(perfSent)),
		answered: uint64(max(num(perfNoError), 0)),
		lost:     uint64(num(perfLost)),
		elapsed:  time.Duration(num(perfRunTime) * float64(time.Second)),
		avgLat:   time.Duration(num(perfLatency) * float64(time.Second)),
	}
	r.bad = uint64(num(perfDone)) - r.answered
	if num(perfQPS) < 0 || r.elapsed <= 0 {
		sc := bufio.NewScanner(bytes.NewReader(out))
		for sc.Scan() {
			fmt.Fprintln(os.Stderr, "dnsperf:", sc.Text())
		}
		return r, fmt.Errorf("dnsperf: cannot read its report")
	}
	return r, nil
}
