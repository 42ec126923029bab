package main

import (
	"fmt"

	"github.com/ntkd/ntkd/internal/config"
	"github.com/ntkd/ntkd/internal/daemon"
	"github.com/ntkd/ntkd/internal/kernel"
	"github.com/ntkd/ntkd/internal/logx"
	"github.com/ntkd/ntkd/internal/tunnel"
	"github.com/ntkd/ntkd/internal/vlink"
	"github.com/vishvananda/netns"
)

// openVLinks loads (or makes) the tunnel key and picks the tunnel backend:
// kernel WireGuard, or in developer builds wireguard-go where the module is
// missing. Router builds have only the kernel backend (tunnel.DefaultBackend
// is build-tagged), so there a missing module is an error naming the
// package that brings it.
func openVLinks(cfg *config.Config, k *kernel.Kernel, log *logx.Logger) (daemon.VLinks, error) {
	key, err := tunnel.LoadOrCreateKey(cfg.VLayer.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("virtual layer: %w", err)
	}
	backend, err := tunnel.DefaultBackend(netns.None(), log.With("part", "tunnel"))
	if err != nil {
		return nil, fmt.Errorf("virtual layer: %w (on OpenWrt: opkg install kmod-wireguard)", err)
	}
	m := vlink.New(backend, k, key)
	log.Info("virtual layer on", "public_key", m.PublicKey().String(), "links", len(cfg.VLayer.Links))
	return m, nil
}
