//go:build !router

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/ntkd/ntkd/internal/pcapdump"
)

// runDump dissects a capture file (or stdin: tcpdump -w - | ntkd dump -)
// or, with -i, what crosses an interface until interrupted.
func runDump(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("dump", stderr)
	iface := fs.String("i", "", "capture live on this `interface` (root) instead of reading a file")
	count := fs.Int("c", 0, "stop after this many ntk packets (0: all)")
	hexOut := fs.Bool("x", false, "add a hex dump of each packet")
	udp := fs.Uint("udp-port", 269, "UDP `port` of the radar datagrams")
	tcp := fs.Uint("tcp-port", 269, "TCP `port` of the streams")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: ntkd dump [-c N] [-x] FILE.pcap|-\n       ntkd dump -i IFACE [-c N] [-x]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	live, file := *iface != "" && fs.NArg() == 0, *iface == "" && fs.NArg() == 1
	if !live && !file || *udp == 0 || *udp > 65535 || *tcp == 0 || *tcp > 65535 {
		fs.Usage()
		return exitUsage
	}
	opts := pcapdump.Options{DatagramPort: uint16(*udp), StreamPort: uint16(*tcp), Count: *count, Hex: *hexOut}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var (
		src gopacket.PacketDataSource
		lt  layers.LinkType
	)
	if *iface != "" {
		h, err := pcapgo.NewEthernetHandle(*iface)
		if err != nil {
			fmt.Fprintf(stderr, "ntkd dump: capture on %s: %v\n", *iface, err)
			return exitNoPermissionOr(err)
		}
		defer h.Close()
		go func() { <-ctx.Done(); h.Close() }()
		src, lt = h, layers.LinkTypeEthernet
	} else {
		var r io.Reader = os.Stdin
		if name := fs.Arg(0); name != "-" {
			f, err := os.Open(name)
			if err != nil {
				fmt.Fprintf(stderr, "ntkd dump: %v\n", err)
				return exitUsage
			}
			defer f.Close()
			r = f
		}
		var err error
		if src, lt, err = pcapdump.OpenCapture(r); err != nil {
			fmt.Fprintf(stderr, "ntkd dump: %s: %v\n", fs.Arg(0), err)
			return exitFail
		}
	}
	st, err := pcapdump.Dissect(src, lt, stdout, opts)
	fmt.Fprintf(stdout, "\n%s", st.Summary())
	if err != nil && ctx.Err() == nil {
		fmt.Fprintf(stderr, "ntkd dump: %v\n", err)
		return exitFail
	}
	return exitOK
}

func exitNoPermissionOr(err error) int {
	if errors.Is(err, os.ErrPermission) {
		return exitPerm
	}
	return exitFail
}
