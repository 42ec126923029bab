package main

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ntkd/ntkd/internal/config"
	"github.com/ntkd/ntkd/internal/logx"
	"github.com/ntkd/ntkd/internal/tunnel"
	"github.com/vishvananda/netns"
)

// TestOpenVLinks: developer builds fall back to wireguard-go; router builds
// have only the kernel module, and without it the error says how to get it.
func TestOpenVLinks(t *testing.T) {
	cfg := config.Default()
	cfg.VLayer.KeyFile = filepath.Join(t.TempDir(), "vlayer.key")
	vl, err := openVLinks(cfg, nil, logx.Discard())
	router := toolCommands() == nil
	if router && tunnel.NewKernel(netns.None()).Available() != nil {
		if err == nil || !errors.Is(err, tunnel.ErrNoKernelWireGuard) || !strings.Contains(err.Error(), "opkg install kmod-wireguard") {
			t.Fatalf("router build without the module: openVLinks = %v, %v; want ErrNoKernelWireGuard and the opkg hint", vl, err)
		}
		t.Logf("router build without the module: %v", err)
		return
	}
	if err != nil || vl == nil {
		t.Fatalf("openVLinks = %v, %v", vl, err)
	}
	if _, err := tunnel.LoadKey(cfg.VLayer.KeyFile); err != nil {
		t.Errorf("the key was not saved: %v", err)
	}
}
