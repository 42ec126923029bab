#!/usr/bin/env bash
# luci/test.sh: every check of luci-app-ntkd; exits non-zero on a failure.
#
#   shell scripts checked (shellcheck; the rpcd plugin as OpenWrt's sh)
#   node tests: JSON files parse, every view parses and evaluates, views,
#     plugin and ACL agree, shape.js (tables, validators, wifi helper,
#     SVG topology), the translation template and the Italian translation
#   the rpcd plugin under busybox ash (and busybox's tr, sed, cat) against
#     two real ntkd daemons in network namespaces made here (root; skipped
#     otherwise): each method's answer is JSON with docs/CTL.md's fields,
#     bad arguments and a stopped daemon give {"error": ...}; `gateways`
#     (docs/IGS.md) through a stand-in ntkd with a canned answer
#     (tests/ntkd-stub.sh), which the node tests also run without root
#
# Needs node (>= 18), shellcheck, busybox, ip and go (or NTKD_BIN=binary).
# Traffic stays on the veth pair between the two namespaces.
set -euo pipefail
cd "$(dirname "$0")/.."

app=luci/luci-app-ntkd
plugin=$app/root/usr/libexec/rpcd/ntkd

echo "== luci: shellcheck"
shellcheck luci/test.sh
shellcheck -s sh "$plugin" "$app/tests/jshn.sh" "$app/tests/ntkd-stub.sh"
busybox ash -n "$plugin"

echo "== luci: node tests (JSON, views, shape.js, translations)"
node --test "$app"/tests/*.test.js

echo "== luci: rpcd plugin under busybox ash against ntkd"
if [ "$(id -u)" != 0 ]; then
	echo "skipped: the namespaces need root"
	exit 0
fi

tmp=$(mktemp -d /tmp/ntkd-luci.XXXXXX)
ns_a=ntkluci$$a ns_b=ntkluci$$b
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${pids[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	ip netns del "$ns_a" 2>/dev/null || true
	ip netns del "$ns_b" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

bin=${NTKD_BIN:-}
if [ -z "$bin" ]; then
	bin=$tmp/ntkd
	go build -o "$bin" ./ntkd
fi

# OpenWrt's userland: busybox applets first on PATH (node stays reachable
# for the jshn stand-in).
mkdir "$tmp/bin"
busybox --install -s "$tmp/bin"

ip netns add "$ns_a"
ip netns add "$ns_b"
ip -n "$ns_a" link add veth0 type veth peer name veth0 netns "$ns_b"
for ns in "$ns_a" "$ns_b"; do
	ip -n "$ns" link set lo up
	ip -n "$ns" link set veth0 up
done

for n in a b; do
	mkdir "$tmp/$n"
	cat > "$tmp/$n.toml" <<-EOF
		log_level = "info"
		[[interface]]
		name = "veth0"
		wifi_metrics = false
		[control]
		socket = "$tmp/$n.sock"
		[andna]
		key_dir = "$tmp/$n"
		names = ["luci-$n"]
	EOF
done
ip netns exec "$ns_a" "$bin" run -c "$tmp/a.toml" > "$tmp/a.log" 2>&1 &
pids+=($!)
ip netns exec "$ns_b" "$bin" run -c "$tmp/b.toml" > "$tmp/b.log" 2>&1 &
pids+=($!)

out=$tmp/out
mkdir "$out"
# rpc NAME METHOD ARGS [CONF]: the plugin's answer on node A into $out/NAME.json
# (through the stand-in ntkd, which passes all but `ctl gateways` on, when
# $stub is set).
stub=
rpc() {
	printf '%s' "$3" | env PATH="$tmp/bin:$PATH" NTKD_BIN="${stub:-$bin}" NTKD_STUB_REAL="$bin" NTKD_CONF="${4:-$tmp/a.toml}" \
		JSHN="$PWD/$app/tests/jshn.sh" busybox ash "$plugin" call "$2" > "$out/$1.json"
}
field() { # FILE EXPR: a value out of a JSON answer
	node -e 'const v = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log(eval(process.argv[2]) ?? "")' "$1" "$2"
}
fail() {
	echo "FAIL: $*"
	echo "--- node a log"; tail -n 20 "$tmp/a.log"
	echo "--- node b log"; tail -n 20 "$tmp/b.log"
	exit 1
}

# Wait for the two to hook, then for B's name to reach A.
for _ in $(seq 60); do
	rpc status status '{}'
	[ "$(field "$out/status.json" 'v.state === "hooked" && v.neighbours === 1')" = true ] && break
	sleep 1
done
[ "$(field "$out/status.json" 'v.state')" = hooked ] || fail "node a did not hook: $(cat "$out/status.json")"
for _ in $(seq 120); do
	rpc andna_resolve andna_resolve '{"name":"luci-b"}'
	[ -n "$(field "$out/andna_resolve.json" 'v.address')" ] && break
	sleep 1
done

rpc status status '{}'
for m in neighbours maps routes qspn vlinks counters andna_list andna_cache andna_counters; do
	rpc "$m" "$m" '{}'
done
rpc maps-0 maps '{"level": 0}'
stub=$PWD/$app/tests/ntkd-stub.sh
rpc gateways gateways '{}'
rpc status-via-stub status '{}'
[ "$(field "$out/status-via-stub.json" 'v.state')" = hooked ] || fail "the stand-in does not pass status on: $(cat "$out/status-via-stub.json")"
stub=
addr_b=$(field "$out/andna_resolve.json" 'v.address')
rpc andna_reverse andna_reverse "{\"address\":\"$addr_b\"}"
rpc andna_register andna_register '{"name":"luci-extra"}'
rpc andna_unregister andna_unregister '{"name":"luci-extra"}'
node "$app/tests/check-rpcd.js" "$out" || fail "answers without their documented fields"

# list: every method with its arguments.
env PATH="$tmp/bin:$PATH" busybox ash "$plugin" list > "$out/list.json"
[ "$(field "$out/list.json" 'Object.keys(v).length === 15 && v.maps.level === 0 && v.andna_resolve.name')" = name ] ||
	fail "list: $(cat "$out/list.json")"

# Errors: {"error": ...}, and nothing runs that a bad argument names.
expect_error() { # NAME METHOD ARGS PATTERN [CONF]
	rpc "$1" "$2" "$3" "${5:-}"
	local e
	e=$(field "$out/$1.json" 'typeof v.error === "string" && Object.keys(v).length === 1 ? v.error : ""')
	[ -n "$e" ] || fail "$1: want an error, got $(cat "$out/$1.json")"
	case $e in
	*"$4"*) echo "ok   error $1: $e" ;;
	*) fail "$1: error '$e' lacks '$4'" ;;
	esac
}
expect_error unknown-name andna_resolve '{"name":"no-such-name"}' "not found"
expect_error bad-name andna_register "{\"name\":\"x\$(touch $tmp/pwned)\"}" "name: want"
expect_error upper-name andna_resolve '{"name":"Luci-b"}' "name: want"
expect_error no-name andna_unregister '{}' "name: want"
expect_error bad-json andna_resolve 'not json' "name: want"
expect_error bad-address andna_reverse '{"address":"10.0.0.1;id"}' "address: want"
expect_error bad-level maps '{"level":"1 --json"}' "level: want"
expect_error unknown-method reboot '{}' "unknown method"
[ ! -e "$tmp/pwned" ] || fail "a name reached a shell"

# A stopped daemon.
printf '[control]\nsocket = "%s"\n' "$tmp/gone.sock" > "$tmp/gone.toml"
expect_error stopped status '{}' "gone.sock" "$tmp/gone.toml"

echo "luci: all tests passed"
