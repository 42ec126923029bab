#!/usr/bin/env bash
# openwrt/tests/run.sh NTKD: the init script and the uci-defaults script
# under busybox ash (OpenWrt's shell), with stand-ins for OpenWrt's shell
# library (stubs/) and the real ntkd binary NTKD. Each case checks what the
# script asked procd for (command, environment, files, respawn, triggers,
# firewall rules), the TOML it rendered and what it logged.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
[ $# -eq 1 ] || { echo "usage: $0 NTKD_BINARY" >&2; exit 2; }
bin=$(realpath "$1")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
case=$tmp/case

# fail runs in subshells too (the right side of a pipe): a file marks it.
fail() { echo "FAIL: $name: $*"; : > "$tmp/failed"; }

# new_case NAME: an empty fixture; the init script copied with its paths
# pointing into it (the binary, /etc/config/ntkd, /var/etc, network.sh).
new_case() {
	name=$1
	rm -rf "$case"
	mkdir -p "$case"
	: > "$case/record"; : > "$case/log"; : > "$case/uci"; : > "$case/netdevs"; : > "$case/fwzones"
	sed -e "s|/usr/sbin/ntkd|$bin|" \
		-e "s|/etc/config/ntkd|$case/ntkd|" \
		-e "s|/var/etc/ntkd.toml|$case/var/etc/ntkd.toml|" \
		-e "s|/lib/functions/network.sh|$here/stubs/lib/functions/network.sh|" \
		"$root/files/etc/init.d/ntkd" > "$case/init"
}

# run_init ACTION: the init script under busybox ash; sets rc.
run_init() {
	rc=0
	RECORD=$case/record LOG=$case/log UCI_STORE=$case/uci NETDEVS=$case/netdevs FWZONES=$case/fwzones \
		busybox ash "$here/stubs/rc.common" "$case/init" "$1" > "$case/stdout" 2> "$case/stderr" || rc=$?
}

# expect_record: stdin (@BIN@, @CASE@ replaced) is exactly the record.
expect_record() {
	sed -e "s|@BIN@|$bin|g" -e "s|@CASE@|$case|g" > "$case/want"
	diff -u "$case/want" "$case/record" > "$case/diff" || fail "procd calls differ:
$(cat "$case/diff")"
}

expect_log() { # TEXT: a line of the log contains TEXT
	grep -qF -- "$1" "$case/log" || fail "log lacks '$1':
$(cat "$case/log")"
}

fw_rule() { # NAME DEVICE PROTO PORT...
	local n=$1 d=$2 p=$3
	shift 3
	echo "json_add_object ''"
	echo "json_add_string 'type' 'rule'"
	echo "json_add_string 'name' '$n'"
	echo "json_add_string 'src' '*'"
	echo "json_add_string 'device' '$d'"
	echo "json_add_string 'proto' '$p'"
	echo "json_add_array dest_port"
	for port; do echo "json_add_string '' '$port'"; done
	echo "json_close_array"
	echo "json_add_string 'target' 'ACCEPT'"
	echo "json_close_object"
}

fw_forward() { # NAME DEVICE ZONE
	echo "json_add_object ''"
	echo "json_add_string 'type' 'rule'"
	echo "json_add_string 'name' '$1'"
	echo "json_add_string 'src' '*'"
	echo "json_add_string 'device' '$2'"
	echo "json_add_string 'dest' '$3'"
	echo "json_add_string 'proto' 'all'"
	echo "json_add_string 'target' 'ACCEPT'"
	echo "json_close_object"
}

echo "== init script: enabled, a logical network, a device, the virtual layer"
new_case running
cat > "$case/ntkd" <<'UCI'
config ntkd 'main'
	option enabled '1'
	option memory_limit '12MiB'
	list interface 'mesh'
	list interface 'eth2'

config vlayer 'vlayer'
	option enabled '1'
	option internet 'wan'
	list entry_server '198.51.100.2:27100 A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg='
	option endpoint '203.0.113.5:27100'
	option entry_node '1'

config vlink
	option public_key 'FfYCXBOnNccsIra4nFZjnrm0oSN5vXHSCVwnFj+icIw='
	option listen_port '27000'
UCI
printf 'network.mesh=interface\nnetwork.wan=interface\n' > "$case/uci"
printf 'mesh wlan0-mesh\nwan eth0\n' > "$case/netdevs"
run_init start
[ "$rc" = 0 ] || fail "exit $rc: $(cat "$case/stderr")"
{
	echo "procd_open_service ntkd @CASE@/init"
	echo "procd_open_instance"
	echo "procd_set_param command @BIN@ run --log-split -c @CASE@/var/etc/ntkd.toml"
	echo "procd_set_param env GOMEMLIMIT=12MiB GOGC=25"
	echo "procd_set_param file @CASE@/var/etc/ntkd.toml"
	echo "procd_set_param respawn 3600 5 5"
	echo "procd_set_param stdout 1"
	echo "procd_set_param stderr 1"
	echo "procd_open_data"
	echo "json_add_array firewall"
	for dev in wlan0-mesh eth2 ntkv0; do
		fw_rule "Allow-ntkd-$dev-udp" "$dev" udp 269 277
		fw_rule "Allow-ntkd-$dev-tcp" "$dev" tcp 269 277
	done
	fw_rule Allow-ntkd-vlayer eth0 udp 27000 27101-27116
	fw_rule Allow-ntkd-vhook eth0 tcp 27100
	echo "json_close_array"
	echo "procd_close_data"
	echo "procd_close_instance"
	echo "procd_open_trigger"
	echo "procd_add_reload_trigger ntkd"
	echo "procd_add_interface_trigger interface.* mesh /etc/init.d/ntkd reload"
	echo "procd_add_interface_trigger interface.* eth2 /etc/init.d/ntkd reload"
	echo "procd_add_interface_trigger interface.* wan /etc/init.d/ntkd reload"
	echo "procd_close_trigger"
	echo "procd_close_service"
	echo "procd_set_config_changed firewall"
} | expect_record
cat > "$case/want.toml" <<TOML
# Generated from $case/ntkd by ntkd uci-render: edit that file, not this one.
memory_limit = "12MiB"
vlayer.enabled = true
vlayer.endpoint = "203.0.113.5:27100"
vlayer.entry_node = true

[[interface]]
name = "wlan0-mesh"

[[interface]]
name = "eth2"

[[vlayer.entry_server]]
address = "198.51.100.2:27100"
public_key = "A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg="

[[vlayer.link]]
public_key = "FfYCXBOnNccsIra4nFZjnrm0oSN5vXHSCVwnFj+icIw="
listen_port = 27000
TOML
diff -u "$case/want.toml" "$case/var/etc/ntkd.toml" || fail "rendered TOML differs"
"$bin" check-config -q -c "$case/var/etc/ntkd.toml" || fail "the rendered TOML does not check"

echo "== init script: reload after the mesh network went down"
: > "$case/record"
printf 'wan eth0\n' > "$case/netdevs"
run_init reload
[ "$rc" = 0 ] || fail "exit $rc"
grep -q '^procd_open_instance' "$case/record" || fail "no instance for eth2"
expect_log "not up yet, left out until they are: mesh"
grep -qx 'procd_add_interface_trigger interface.\* mesh /etc/init.d/ntkd reload' "$case/record" || fail "no trigger for mesh"
grep -q 'name = "eth2"' "$case/var/etc/ntkd.toml" || fail "eth2 left out"
grep -q 'wlan0-mesh' "$case/var/etc/ntkd.toml" && fail "wlan0-mesh still in the TOML"

echo "== init script: waiting for the only mesh network"
new_case waiting
printf "config ntkd 'main'\n\toption enabled '1'\n\tlist interface 'mesh'\n" > "$case/ntkd"
printf 'network.mesh=interface\n' > "$case/uci"
run_init start
[ "$rc" = 0 ] || fail "exit $rc"
grep -q '^procd_open_instance' "$case/record" && fail "an instance without an interface"
expect_log "waiting: no mesh interface is up yet (mesh); ntkd starts when one comes up"
grep -qx 'procd_add_interface_trigger interface.\* mesh /etc/init.d/ntkd reload' "$case/record" || fail "no trigger for mesh"

echo "== init script: an Internet gateway (IGS), the uplink a network in the wan zone"
new_case igs
cat > "$case/ntkd" <<'UCI'
config ntkd 'main'
	option enabled '1'
	list interface 'mesh'

config vlayer 'vlayer'
	option internet 'wan'

config igs 'igs'
	option share_internet '1'
	option uplink 'wan'
	option bandwidth '20000'
	list probe '203.0.113.1:80'
UCI
printf 'network.mesh=interface\nnetwork.wan=interface\n' > "$case/uci"
printf 'mesh wlan0-mesh\nwan eth0\n' > "$case/netdevs"
printf 'lan lan\nwan wan\n' > "$case/fwzones"
run_init start
[ "$rc" = 0 ] || fail "exit $rc: $(cat "$case/stderr")"
{
	echo "procd_open_service ntkd @CASE@/init"
	echo "procd_open_instance"
	echo "procd_set_param command @BIN@ run --log-split -c @CASE@/var/etc/ntkd.toml"
	echo "procd_set_param env GOMEMLIMIT=16MiB GOGC=25"
	echo "procd_set_param file @CASE@/var/etc/ntkd.toml"
	echo "procd_set_param respawn 3600 5 5"
	echo "procd_set_param stdout 1"
	echo "procd_set_param stderr 1"
	echo "procd_open_data"
	echo "json_add_array firewall"
	fw_rule "Allow-ntkd-wlan0-mesh-udp" wlan0-mesh udp 269 277 4790
	fw_rule "Allow-ntkd-wlan0-mesh-tcp" wlan0-mesh tcp 269 277
	fw_forward Allow-ntkd-wlan0-mesh-igs wlan0-mesh wan
	fw_forward Allow-ntkd-ntkgw-igs ntkgw wan
	echo "json_close_array"
	echo "procd_close_data"
	echo "procd_close_instance"
	echo "procd_open_trigger"
	echo "procd_add_reload_trigger ntkd"
	echo "procd_add_interface_trigger interface.* mesh /etc/init.d/ntkd reload"
	echo "procd_add_interface_trigger interface.* wan /etc/init.d/ntkd reload"
	echo "procd_close_trigger"
	echo "procd_close_service"
	echo "procd_set_config_changed firewall"
} | expect_record
cat > "$case/want.toml" <<TOML
# Generated from $case/ntkd by ntkd uci-render: edit that file, not this one.
igs.share_internet = true
igs.bandwidth = 20000
igs.probe = ["203.0.113.1:80"]
igs.uplink = "eth0"

[[interface]]
name = "wlan0-mesh"
TOML
diff -u "$case/want.toml" "$case/var/etc/ntkd.toml" || fail "rendered TOML differs"
"$bin" check-config -q -c "$case/var/etc/ntkd.toml" || fail "the rendered TOML does not check"

echo "== init script: IGS, the uplink down and in no firewall zone"
: > "$case/record"; : > "$case/log"; : > "$case/fwzones"
printf 'mesh wlan0-mesh\n' > "$case/netdevs"
run_init reload
[ "$rc" = 0 ] || fail "exit $rc: $(cat "$case/stderr")"
expect_log "igs: the uplink wan is in no firewall zone: the mesh's traffic to it is not forwarded"
expect_log "igs: the uplink wan is not up yet"
grep -q "'dest'" "$case/record" && fail "a forward rule without a zone"
grep -qx "json_add_string '' '4790'" "$case/record" || fail "the VXLAN port is not open"
grep -qx 'procd_add_interface_trigger interface.\* wan /etc/init.d/ntkd reload' "$case/record" || fail "no trigger for the uplink"
grep -q 'igs.uplink' "$case/var/etc/ntkd.toml" && fail "an uplink that is not up in the TOML"
"$bin" check-config -q -c "$case/var/etc/ntkd.toml" || fail "the rendered TOML does not check"

echo "== init script: IGS, the uplink a device name in a zone"
: > "$case/record"; : > "$case/log"
sed -i "s/option uplink 'wan'/option uplink 'eth1'/" "$case/ntkd"
printf 'eth1 wan2\n' > "$case/fwzones"
run_init reload
[ "$rc" = 0 ] || fail "exit $rc: $(cat "$case/stderr")"
grep -qx "json_add_string 'dest' 'wan2'" "$case/record" || fail "no forward rule to the device's zone"
grep -q 'igs.uplink = "eth1"' "$case/var/etc/ntkd.toml" || fail "the uplink device is not in the TOML"
grep -q 'interface.\* wan ' "$case/record" && fail "a trigger for wan, which is no longer used"
[ ! -s "$case/log" ] || fail "logged: $(cat "$case/log")"

echo "== init script: IGS off: no VXLAN port, no forwarding, no uplink trigger"
: > "$case/record"
sed -i "s/option share_internet '1'/option share_internet '0'/" "$case/ntkd"
printf 'eth1 wan2\nwan wan\n' > "$case/fwzones"
run_init reload
[ "$rc" = 0 ] || fail "exit $rc: $(cat "$case/stderr")"
grep -q "4790\|'dest'\|eth1" "$case/record" && fail "IGS firewall rules or trigger while not sharing"
grep -q 'igs.uplink' "$case/var/etc/ntkd.toml" && fail "an uplink in the TOML while not sharing"

echo "== init script: the shipped config (disabled)"
new_case shipped
cp "$root/files/etc/config/ntkd" "$case/ntkd"
run_init start
[ "$rc" = 0 ] || fail "exit $rc"
{
	echo "procd_open_service ntkd @CASE@/init"
	echo "procd_open_trigger"
	echo "procd_add_reload_trigger ntkd"
	echo "procd_close_trigger"
	echo "procd_close_service"
	echo "procd_set_config_changed firewall"
} | expect_record
expect_log "disabled: pick the mesh interfaces"
[ ! -e "$case/var/etc/ntkd.toml" ] || fail "rendered a TOML while disabled"

echo "== init script: a bad value"
new_case bad
printf "config ntkd 'main'\n\toption enabled '1'\n\tlist interface 'eth0'\n\toption prefix '11.0.0.0/8'\n" > "$case/ntkd"
run_init start
[ "$rc" = 1 ] || fail "exit $rc, want 1"
grep -q '^procd_open_instance' "$case/record" && fail "an instance with a bad config"
expect_log "$case/ntkd:4:16: ntkd.main.prefix: 11.0.0.0/8: prefix is not inside 10.0.0.0/8"
expect_log "not started: $case/ntkd is invalid"

echo "== init script: a syntax error"
new_case syntax
printf "config ntkd 'main'\n\toption enabled '1\n" > "$case/ntkd"
run_init start
[ "$rc" = 1 ] || fail "exit $rc, want 1"
grep -q '^procd_open_instance' "$case/record" && fail "an instance with a broken file"
expect_log "$case/ntkd:2:17: unterminated '"

echo "== uci-defaults: dnsmasq forwards the suffix (twice: idempotent)"
new_case uci-defaults
printf 'dhcp.@dnsmasq[0]=dnsmasq\ndhcp.@dnsmasq[0].server=/lan/192.168.1.2\nntkd.dns.listen=[::1]:5353\n' > "$case/uci"
for i in 1 2; do
	rc=0
	UCI_STORE=$case/uci RECORD=$case/record LOG=$case/log busybox ash -c \
		". '$here/stubs/lib/functions/procd.sh'; ( cd '$root/files/etc/uci-defaults' && . ./90-ntkd )" || rc=$?
	[ "$rc" = 0 ] || fail "run $i: exit $rc"
done
cat > "$case/want" <<'STORE'
dhcp.@dnsmasq[0]=dnsmasq
dhcp.@dnsmasq[0].server=/lan/192.168.1.2
ntkd.dns.listen=[::1]:5353
dhcp.@dnsmasq[0].server=/ntk/::1#5353
dhcp.@dnsmasq[0].rebind_domain=ntk
STORE
diff -u "$case/want" "$case/uci" || fail "dhcp config differs"
[ "$(grep -c 'uci commit dhcp' "$case/record")" = 2 ] || fail "uci commit dhcp not run each time"

echo "== uci-defaults: no dnsmasq"
: > "$case/uci"
rc=0
UCI_STORE=$case/uci RECORD=$case/record LOG=$case/log busybox ash -c \
	". '$here/stubs/lib/functions/procd.sh'; ( cd '$root/files/etc/uci-defaults' && . ./90-ntkd )" || rc=$?
{ [ "$rc" = 0 ] && [ ! -s "$case/uci" ]; } || fail "exit $rc, store: $(cat "$case/uci")"

[ ! -e "$tmp/failed" ] || exit 1
echo "openwrt/tests: all passed"
