//go:build router

package main

import (
	"errors"
	"log/slog"

	"github.com/ntkd/ntkd/internal/config"
	"github.com/ntkd/ntkd/internal/daemon"
	"github.com/ntkd/ntkd/internal/kernel"
)

// openVLinks refuses in router builds for now: the tunnel code (+131 KB of
// mips binary) does not fit the 5 MiB budget until the control socket's
// JSON and the TOML parser make room (docs/VLAYER.md).
func openVLinks(*config.Config, *kernel.Kernel, *slog.Logger) (daemon.VLinks, error) {
	return nil, errors.New("virtual layer: not in this build yet (router builds leave the tunnels out until they fit the size budget); set [vlayer] enabled = false")
}
