//go:build router

package daemon

// runNft does nothing in router builds: on OpenWrt the firewall (fw4 or
// fw3) masquerades what leaves through the wan zone, and the init script
// gives it the forwarding from the mesh devices into the uplink's zone
// (files/etc/init.d/ntkd). Starting nft from here would cost the router
// binary 22 KB of process code for rules the firewall already holds.
func runNft(string) error { return nil }
