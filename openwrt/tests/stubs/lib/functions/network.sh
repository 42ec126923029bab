# shellcheck shell=sh disable=SC3043
# Test stand-in for OpenWrt's /lib/functions/network.sh: the devices of
# the logical networks come from $NETDEVS, lines "NETWORK DEVICE". Like
# the real one, it sets the caller's variable $1 (so its own locals have
# names no caller uses).
network_get_device() {
	local __nd_net __nd_dev
	while read -r __nd_net __nd_dev; do
		if [ "$__nd_net" = "$2" ] && [ -n "$__nd_dev" ]; then
			eval "$1=\$__nd_dev"
			return 0
		fi
	done < "$NETDEVS"
	unset "$1"
	return 1
}
