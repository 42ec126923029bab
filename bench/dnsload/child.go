package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/ntkd/ntkd/internal/dnsd"
)

// childEnv marks the process that runs the wrapper: a process of its own,
// like dnsmasq, so that the load tool does not share its Go runtime.
const childEnv = "DNSLOAD_CHILD"

// meshName and meshAddr are the one name the fake ANDNA holds.
const (
	meshName = "host"
	meshAddr = "10.1.2.3"
)

// oneName is a Resolver that knows meshName only.
type oneName struct{}

func (oneName) Resolve(_ context.Context, name string) ([]netip.Addr, time.Duration, error) {
	if name != meshName {
		return nil, 0, dnsd.ErrNotFound
	}
	return []netip.Addr{netip.MustParseAddr(meshAddr)}, time.Hour, nil
}

func (oneName) Reverse(context.Context, netip.Addr) ([]string, time.Duration, error) {
	return nil, 0, dnsd.ErrNotFound
}

// runChild serves until stdin closes, then prints the server's Stats as
// JSON. The first line of output is the bound address.
func runChild() error {
	s, err := dnsd.New(dnsd.Config{
		Listen: []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:0")},
		MaxTTL: time.Hour, // no expiry during a run: every answer but the first is cached
	}, oneName{}, nil)
	if err != nil {
		return err
	}
	if err := s.Start(); err != nil {
		return err
	}
	fmt.Println(s.Addrs()[0])
	io.Copy(io.Discard, os.Stdin)
	if err := s.Close(); err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(s.Stats())
}

// wrapper is a running child.
type wrapper struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Reader
	addr  netip.AddrPort
}

// startWrapper runs the wrapper in a child process with GOMAXPROCS procs
// (0: the Go default).
func startWrapper(procs int) (*wrapper, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find own executable: %w", err)
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), childEnv+"=1")
	if procs > 0 {
		cmd.Env = append(cmd.Env, fmt.Sprintf("GOMAXPROCS=%d", procs))
	}
	cmd.Stderr = os.Stderr
	w := &wrapper{cmd: cmd}
	if w.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start wrapper: %w", err)
	}
	w.out = bufio.NewReader(stdout)
	line, err := w.out.ReadString('\n')
	if err == nil {
		w.addr, err = netip.ParseAddrPort(strings.TrimSpace(line))
	}
	if err != nil {
		w.stdin.Close()
		cmd.Wait()
		return nil, fmt.Errorf("wrapper address: %w", err)
	}
	return w, nil
}

// stop ends the child and returns its Stats.
func (w *wrapper) stop() (dnsd.Stats, error) {
	w.stdin.Close()
	var st dnsd.Stats
	err := json.NewDecoder(w.out).Decode(&st)
	if werr := w.cmd.Wait(); err == nil {
		err = werr
	}
	if err != nil {
		return st, fmt.Errorf("wrapper stats: %w", err)
	}
	return st, nil
}
