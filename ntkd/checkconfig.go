package main

import (
	"fmt"
	"io"

	"github.com/ntkd/ntkd/internal/config"
)

// defaultConfigPath is where the OpenWrt init script renders UCI.
const defaultConfigPath = "/var/etc/ntkd.toml"

func runCheckConfig(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("check-config", stderr)
	path := fs.String("c", defaultConfigPath, "configuration `file`")
	quiet := fs.Bool("q", false, "print nothing when the file is valid")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	cfg, err := config.Load(*path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return exitFail
	}
	if !*quiet {
		fmt.Fprintf(stdout, "%s: ok\n%s", *path, cfg.Summary())
	}
	return exitOK
}
