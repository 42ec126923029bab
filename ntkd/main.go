// Command ntkd is the Netsukuku mesh-routing daemon and its tools, in one
// binary so that a router carries a single file.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
)

// version is stamped at build time: -ldflags "-X main.version=1.2.3".
var version = "dev"

// Exit codes: scripts and procd tell failures apart by them.
const (
	exitOK    = 0
	exitFail  = 1 // the command ran and failed (e.g. the config is invalid)
	exitUsage = 2 // bad command line
	// run: why the daemon could not start or went down.
	exitConfig  = 3 // the configuration file is missing or invalid
	exitNoIface = 4 // no mesh interface configured
	exitPerm    = 5 // not root (routes, addresses, sockets on port 269)
)

type command struct {
	summary string
	run     func(args []string, stdout, stderr io.Writer) int
}

// commands lists only what works in this build; `ntkd help` prints it.
func commands() map[string]command {
	cmds := map[string]command{
		"version":      {"print the version", runVersion},
		"help":         {"list the commands", runHelp},
		"check-config": {"validate a configuration file: check-config -c FILE", runCheckConfig},
		"run":          {"run the daemon: run [-c FILE]", runDaemon},
		"ctl":          {"ask the running daemon: ctl status|neighbours|maps|routes|qspn|counters [--json]", runCtl},
		"uci-render":   {"UCI into TOML for the init script: uci-render -c /etc/config/ntkd -o FILE", runUCIRender},
	}
	for name, c := range toolCommands() {
		cmds[name] = c
	}
	return cmds
}

func main() {
	os.Exit(dispatch(os.Args[1:], os.Stdout, os.Stderr))
}

func dispatch(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		runHelp(nil, stderr, stderr)
		return exitUsage
	}
	switch args[0] {
	case "--version", "-version", "-v":
		return runVersion(nil, stdout, stderr)
	case "--help", "-help", "-h":
		return runHelp(nil, stdout, stderr)
	}
	cmd, ok := commands()[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "ntkd: unknown command %q (see 'ntkd help')\n", args[0])
		return exitUsage
	}
	return cmd.run(args[1:], stdout, stderr)
}

func runVersion(_ []string, stdout, _ io.Writer) int {
	fmt.Fprintf(stdout, "ntkd %s\n", version)
	return exitOK
}

func runHelp(_ []string, stdout, _ io.Writer) int {
	fmt.Fprintf(stdout, "ntkd %s: Netsukuku mesh routing daemon\n\nusage: ntkd COMMAND [ARGS]\n\ncommands:\n", version)
	cmds := commands()
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(stdout, "  %-13s %s\n", n, cmds[n].summary)
	}
	return exitOK
}

// newFlags makes a flag set that reports errors instead of exiting.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("ntkd "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

func parseFlags(fs *flag.FlagSet, args []string) (int, bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, false
		}
		return exitUsage, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "%s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		return exitUsage, false
	}
	return 0, true
}
