package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"sync"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// result is one load run against one server.
type result struct {
	sent, answered, lost, bad uint64
	elapsed                   time.Duration
	lat                       []time.Duration // sorted; empty from dnsperf
	avgLat                    time.Duration
	cpu                       time.Duration // the server's, during the run
}

func (r result) qps() float64 { return float64(r.answered) / r.elapsed.Seconds() }

// cpuPerAnswer is the server's CPU time per answer, in microseconds.
func (r result) cpuPerAnswer() float64 {
	return r.cpu.Seconds() * 1e6 / float64(max(r.answered, 1))
}

func (r result) quantile(q float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	return r.lat[min(int(q*float64(len(r.lat))), len(r.lat)-1)]
}

// packQuery is an A query for name with recursion desired, as dnsmasq
// forwards them.
func packQuery(name string) ([]byte, error) {
	n, err := dnsmessage.NewName(name + ".")
	if err != nil {
		return nil, err
	}
	m := dnsmessage.Message{
		Header:    dnsmessage.Header{RecursionDesired: true},
		Questions: []dnsmessage.Question{{Name: n, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET}},
	}
	return m.Pack()
}

// runGo is the built-in load: clients goroutines, each with its own UDP
// socket and one query outstanding, for d. A query unanswered after a
// second is lost; an answer without an A record (or with another rcode)
// is bad.
func runGo(addr netip.AddrPort, name string, clients int, d time.Duration) (result, error) {
	q, err := packQuery(name)
	if err != nil {
		return result{}, err
	}
	var (
		mu  sync.Mutex
		all result
		wg  sync.WaitGroup
	)
	start := time.Now()
	deadline := start.Add(d)
	errs := make(chan error, clients)
	for i := range clients {
		wg.Go(func() {
			r, err := client(addr, q, uint16(i)<<10, deadline)
			if err != nil {
				errs <- err
				return
			}
			mu.Lock()
			all.sent += r.sent
			all.answered += r.answered
			all.lost += r.lost
			all.bad += r.bad
			all.lat = append(all.lat, r.lat...)
			mu.Unlock()
		})
	}
	wg.Wait()
	all.elapsed = time.Since(start)
	close(errs)
	if err := <-errs; err != nil {
		return all, err
	}
	slices.Sort(all.lat)
	return all, nil
}

func client(addr netip.AddrPort, query []byte, id uint16, deadline time.Time) (result, error) {
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(addr))
	if err != nil {
		return result{}, fmt.Errorf("client socket: %w", err)
	}
	defer c.Close()
	q := slices.Clone(query)
	buf := make([]byte, 1500)
	var r result
	for time.Now().Before(deadline) {
		id++
		binary.BigEndian.PutUint16(q, id)
		sent := time.Now()
		if _, err := c.Write(q); err != nil {
			return r, fmt.Errorf("send: %w", err)
		}
		r.sent++
		c.SetReadDeadline(sent.Add(time.Second))
		for {
			n, err := c.Read(buf)
			if errors.Is(err, os.ErrDeadlineExceeded) {
				r.lost++
				break
			}
			if err != nil {
				return r, fmt.Errorf("receive: %w", err)
			}
			if n < 12 || binary.BigEndian.Uint16(buf) != id {
				continue // a late answer to a lost query
			}
			r.lat = append(r.lat, time.Since(sent))
			// NOERROR with at least one answer.
			if buf[3]&0xf == 0 && binary.BigEndian.Uint16(buf[6:]) > 0 {
				r.answered++
			} else {
				r.bad++
			}
			break
		}
	}
	return r, nil
}

// check asks addr for name once and wants meshAddr back.
func check(addr netip.AddrPort, name string) error {
	q, err := packQuery(name)
	if err != nil {
		return err
	}
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(addr))
	if err != nil {
		return err
	}
	defer c.Close()
	buf := make([]byte, 1500)
	// dnsmasq may still be starting: until it binds, reads fail at once
	// (ICMP port unreachable) or time out.
	for start := time.Now(); time.Since(start) < 5*time.Second; {
		c.Write(q)
		c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		n, err := c.Read(buf)
		if err != nil {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		var m dnsmessage.Message
		if err := m.Unpack(buf[:n]); err != nil {
			return fmt.Errorf("%v: bad answer: %w", addr, err)
		}
		for _, a := range m.Answers {
			if r, ok := a.Body.(*dnsmessage.AResource); ok && netip.AddrFrom4(r.A).String() == meshAddr {
				return nil
			}
		}
		return fmt.Errorf("%v: %s: got %v %v, want %s", addr, name, m.Header.RCode, m.Answers, meshAddr)
	}
	return fmt.Errorf("%v: no answer for %s", addr, name)
}
