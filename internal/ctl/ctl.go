// Package ctl is the control interface of a running ntkd: a unix socket
// that only root may use, one JSON request and one JSON answer per
// connection. `ntkd ctl` and LuCI's rpcd plugin are its clients; the
// schema of every answer is in docs/CTL.md and must stay stable (add keys,
// never change or remove one).
package ctl

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/ntkd/ntkd/internal/jsondec"
	"github.com/ntkd/ntkd/internal/jsonenc"
	"github.com/ntkd/ntkd/internal/logx"
)

// Commands the daemon answers.
const (
	CmdStatus     = "status"
	CmdNeighbours = "neighbours"
	CmdMaps       = "maps"
	CmdRoutes     = "routes"
	CmdQSPN       = "qspn"
	CmdCounters   = "counters"
	CmdVLinks     = "vlinks"
	CmdGateways   = "gateways"
	// CmdVLinkAdd and CmdVLinkDel are `ntkd ctl vlink add|del`: tunnels
	// made by hand at run time (Request.VLink).
	CmdVLinkAdd = "vlink-add"
	CmdVLinkDel = "vlink-del"
	// CmdEntryNodes is the list of entry nodes fetched from the entry
	// servers, nearest first, and this node's own listing.
	CmdEntryNodes = "entry-nodes"
)

// Commands lists them in the order `ntkd ctl help` shows.
var Commands = []string{CmdStatus, CmdNeighbours, CmdMaps, CmdRoutes, CmdQSPN, CmdCounters, CmdVLinks, CmdGateways, CmdEntryNodes}

// Request is what a client sends.
type Request struct {
	Cmd   string `json:"cmd"`
	Level int    `json:"level,omitempty"` // maps: only this level (-1: all)
	Arg   string `json:"arg,omitempty"`   // andna-*: the name or address; vlink-*: the endpoint (del: or interface)
	// VLink is the tunnel of vlink-add.
	VLink *VLinkSpec `json:"vlink,omitempty"`
}

// VLinkSpec is a tunnel to make by hand: the other vnode's endpoint
// (Request.Arg) and public key, and this end's port and interface name.
type VLinkSpec struct {
	PublicKey  string `json:"public_key"`
	ListenPort int    `json:"listen_port,omitempty"` // 0: a free port
	Name       string `json:"name,omitempty"`        // "": ntkm0, ntkm1, ...
}

// Response wraps every answer: Error is set instead of Data on failure.
type Response struct {
	Error string             `json:"error,omitempty"`
	Data  jsondec.RawMessage `json:"data,omitempty"`
}

// maxRequest bounds what a client may send.
const maxRequest = 4096

// Handler answers one request; it runs on the connection's goroutine and
// must do its own synchronisation with the daemon's loop.
type Handler func(ctx context.Context, req Request) (any, error)

// Server accepts control connections on a unix socket.
type Server struct {
	ln      *net.UnixListener
	path    string
	handler Handler
	log     *logx.Logger
	// allowUID is the uid allowed besides root (the daemon's own, so that
	// tests run unprivileged); -1 means root only.
	allowUID int
}

// Listen creates the socket at path (replacing a stale one left by a
// crash) with mode 0600, so that only root, or the daemon's user, connects.
func Listen(path string, h Handler, log *logx.Logger) (*Server, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	d := net.Dialer{Timeout: 200 * time.Millisecond}
	if c, err := d.DialUnix(context.Background(), "unix", nil, unixAddr(path)); err == nil {
		c.Close()
		return nil, fmt.Errorf("control socket %s: another ntkd is running", path)
	}
	_ = os.Remove(path)
	old := syscall.Umask(0o177)
	ln, err := net.ListenUnix("unix", unixAddr(path))
	syscall.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	allow := os.Geteuid()
	if allow == 0 {
		allow = -1
	}
	return &Server{ln: ln, path: path, handler: h, log: log, allowUID: allow}, nil
}

// Serve answers connections until ctx is done or Close is called.
func (s *Server) Serve(ctx context.Context) error {
	go func() {
		<-ctx.Done()
		s.ln.Close()
	}()
	for {
		c, err := s.ln.AcceptUnix()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("control socket: %w", err)
		}
		go s.serve(ctx, c)
	}
}

// Close stops the server and removes the socket.
func (s *Server) Close() error {
	err := s.ln.Close()
	os.Remove(s.path)
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

func (s *Server) serve(ctx context.Context, c *net.UnixConn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if uid, ok := peerUID(c); !ok || (uid != 0 && uid != s.allowUID) {
		writeResponse(c, nil, fmt.Errorf("permission denied: the control socket is for root"))
		return
	}
	line, err := bufio.NewReader(io.LimitReader(c, maxRequest)).ReadBytes('\n')
	if err != nil && len(line) == 0 {
		return
	}
	var req Request
	if err := jsondec.Unmarshal(line, &req); err != nil {
		writeResponse(c, nil, fmt.Errorf("bad request: %w", err))
		return
	}
	data, err := s.handler(ctx, req)
	writeResponse(c, data, err)
}

// unixAddr is the socket's address. Dialling it, rather than a string,
// keeps Go's DNS resolver out of the router build.
func unixAddr(path string) *net.UnixAddr { return &net.UnixAddr{Name: path, Net: "unix"} }

func peerUID(c *net.UnixConn) (int, bool) {
	raw, err := c.SyscallConn()
	if err != nil {
		return 0, false
	}
	var cred *syscall.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil || cerr != nil {
		return 0, false
	}
	return int(cred.Uid), true
}

func writeResponse(w io.Writer, data any, err error) {
	var r Response
	if err != nil {
		r.Error = err.Error()
	} else if b, merr := jsonenc.Marshal(data); merr != nil {
		r.Error = "encoding the answer: " + merr.Error()
	} else {
		r.Data = b
	}
	b, _ := jsonenc.Marshal(r)
	w.Write(append(b, '\n'))
}

// Call sends one request to the daemon at path and decodes the answer's
// data into out (nil: keep it raw in the returned message).
func Call(ctx context.Context, path string, req Request, out any) (jsondec.RawMessage, error) {
	var d net.Dialer
	c, err := d.DialUnix(ctx, "unix", nil, unixAddr(path))
	if err != nil {
		return nil, fmt.Errorf("cannot reach ntkd at %s (is it running? are you root?): %w", path, err)
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	b, _ := jsonenc.Marshal(req)
	if _, err := c.Write(append(b, '\n')); err != nil {
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	r, err := readResponse(io.LimitReader(c, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("control socket %s: reading the answer: %w", path, err)
	}
	if r.Error != "" {
		return nil, fmt.Errorf("ntkd: %s", r.Error)
	}
	if out != nil {
		if err := jsondec.Unmarshal(r.Data, out); err != nil {
			return nil, fmt.Errorf("control socket %s: decoding the answer: %w", path, err)
		}
	}
	return r.Data, nil
}

// readResponse reads the answer and decodes it (jsondec, not encoding/json's
// decoder: see package jsondec). The server writes one line; like the
// json.Decoder this replaces, it reads on while the value is incomplete,
// and reports an answer cut short as io.ErrUnexpectedEOF, none as io.EOF.
func readResponse(rd io.Reader) (Response, error) {
	var r Response
	br := bufio.NewReader(rd)
	var buf []byte
	for {
		line, err := br.ReadBytes('\n')
		buf = append(buf, line...)
		if err != nil && err != io.EOF {
			return r, err
		}
		blank := len(bytes.TrimSpace(buf)) == 0
		if !blank {
			if derr := jsondec.Unmarshal(buf, &r); !jsondec.Truncated(derr) {
				return r, derr
			}
		}
		if err == io.EOF {
			if blank {
				return r, io.EOF
			}
			return r, io.ErrUnexpectedEOF
		}
	}
}
