package igs

import (
	"fmt"
	"net/netip"
)

// NATTable is the nftables table a gateway keeps its NAT in: a table of its
// own, so fw4 (OpenWrt) or anyone else's rules are left alone.
const NATTable = "ip ntkd"

// NATRemove deletes the table, present or not.
const NATRemove = "table " + NATTable + "\ndelete table " + NATTable + "\n"

// NATRuleset replaces the table with one that masquerades what the mesh
// sends out of uplink (clients' packets keep their mesh source inside the
// VXLAN).
func NATRuleset(uplink string, mesh netip.Prefix) string {
	return NATRemove + fmt.Sprintf(`table %s {
	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		oifname %q ip saddr %s masquerade
	}
}
`, NATTable, uplink, mesh.Masked())
}
