#!/usr/bin/env bash
# build.sh: router builds and the project's test entry point. No OpenWrt SDK needed.
#
#   ./build.sh            static binaries for every router architecture into dist/
#                         (-tags router: the simulator and other developer
#                         tools are left out; `go build ./ntkd` has them)
#   ./build.sh lab        the demo (root): 8 real daemons in network namespaces
#                         converge, traffic crosses the ring; the lab stays up
#   ./build.sh test       everything CI runs: format, vet, unit tests, big-endian
#                         MIPS tests under qemu-mips-static, shell checks
#   ./build.sh fuzz [T]   every fuzz target for T each (default 30s), one at a time
#   ./build.sh router OUT the router build for this machine (what the
#                         benchmarks measure), written to OUT
set -euo pipefail
cd "$(dirname "$0")"

VERSION=${NTKD_VERSION:-$(cat VERSION)}
LDFLAGS="-s -w -X main.version=${VERSION}"
# Router builds inline only in the runtime: ntkd's CPU time is a few
# hundred control packets a minute, and flash and RAM are what routers
# lack. It takes about 8 % off the binary (and off the RSS its pages take).
# Crypto is not inlined either: ANDNA signs and checks a signature per
# registration, not per packet, and inlining made Ed25519 ~25 % quicker for
# 7 KB of tables (docs/BENCHMARKS.md, "Router binary size with the tunnels").
ROUTER_GCFLAGS=(-gcflags=all=-l -gcflags=runtime= "-gcflags=internal/runtime/...=")
DIST=dist

# name GOARCH extra-env: the targets OpenWrt routers run.
TARGETS=(
	"mips    mips   GOMIPS=softfloat"   # ath79 and other big-endian MIPS
	"mipsle  mipsle GOMIPS=softfloat"   # ramips (MT7621/MT76x8)
	"armv7   arm    GOARM=7"            # ipq40xx, mvebu, bcm27xx
	"arm64   arm64  "                   # mediatek filogic, rockchip, bcm27xx 64-bit
	"x86_64  amd64  "                   # x86 routers and VMs
)

# Packages whose tests must also pass on big-endian MIPS: the codecs and maps.
# PKG or PKG:REGEXP (only the tests matching it: the codecs, not the
# namespace tests, which qemu-user cannot run).
MIPS_TEST_PKGS=(./internal/addr ./internal/maps ./internal/wire ./internal/config ./internal/wifi ./internal/andna ./internal/dnsd ./internal/jsondec
	"./internal/tunnel:^(TestKey|TestUAPI|TestAttr|TestCheck)")

build_one() { # name goarch [VAR=value]
	local name=$1 goarch=$2 extra=${3:-}
	local out="$DIST/ntkd_linux_${name}"
	local envs=(CGO_ENABLED=0 GOOS=linux "GOARCH=$goarch")
	[ -z "$extra" ] || envs+=("$extra")
	env "${envs[@]}" go build -tags router -trimpath "${ROUTER_GCFLAGS[@]}" -ldflags "$LDFLAGS" -o "$out" ./ntkd
	local size xzsize
	size=$(stat -c %s "$out")
	xzsize=$(xz -9 -c "$out" | wc -c)
	printf '%-8s %9d bytes  xz -9 %9d bytes  %s\n' "$name" "$size" "$xzsize" "$out"
}

cmd_build() {
	mkdir -p "$DIST"
	echo "ntkd ${VERSION}"
	local t
	for t in "${TARGETS[@]}"; do
		# shellcheck disable=SC2086 # word splitting of the target line is intended
		build_one $t
	done
}

cmd_test() {
	echo "== gofmt"
	local unformatted
	unformatted=$(gofmt -l ntkd internal)
	if [ -n "$unformatted" ]; then
		echo "not gofmt-clean:"; echo "$unformatted"; return 1
	fi
	echo "== go vet"
	go vet ./...
	go vet -tags router ./ntkd
	echo "== go test"
	go test -count=1 ./...
	echo "== big-endian MIPS (qemu-mips-static)"
	local tmp pkg bin
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' RETURN
	local entry run
	for entry in "${MIPS_TEST_PKGS[@]}"; do
		pkg=${entry%%:*} run=.
		[ "$pkg" = "$entry" ] || run=${entry#*:}
		bin="$tmp/$(basename "$pkg").test"
		CGO_ENABLED=0 GOOS=linux GOARCH=mips GOMIPS=softfloat go test -c -o "$bin" "$pkg"
		(cd "$pkg" && qemu-mips-static "$bin" -test.count=1 -test.run "$run") | tail -n 1 | sed "s|^|$pkg: |"
		# The test binary exits non-zero on failure; pipefail carries it here.
	done
	CGO_ENABLED=0 GOOS=linux GOARCH=mips GOMIPS=softfloat go build -tags router -trimpath \
		"${ROUTER_GCFLAGS[@]}" -ldflags "$LDFLAGS" -o "$tmp/ntkd.mips" ./ntkd
	local size budget=$((5 << 20))
	size=$(stat -c %s "$tmp/ntkd.mips")
	echo "mips binary: $size bytes (budget $budget)"
	[ "$size" -le "$budget" ] || { echo "the mips binary is over its budget"; return 1; }
	local got
	got=$(qemu-mips-static "$tmp/ntkd.mips" --version)
	[ "$got" = "ntkd ${VERSION}" ] || { echo "mips --version printed '$got'"; return 1; }
	echo "mips binary: $got"
	echo "== shell"
	local scripts=(build.sh .ci/run)
	shellcheck "${scripts[@]}"
	shellcheck -s sh files/etc/init.d/ntkd
	busybox ash -n files/etc/init.d/ntkd
	echo "all tests passed"
}

cmd_lab() {
	local bin="$DIST/ntkd"
	mkdir -p "$DIST"
	go build -trimpath -ldflags "-X main.version=${VERSION}" -o "$bin" ./ntkd
	"$bin" lab down >/dev/null
	"$bin" lab up --topology ring --nodes 8
	local far
	far=$("$bin" lab exec n5 -- ip -4 -brief addr show scope global | awk 'NR == 1 { sub("/.*", "", $3); print $3 }')
	echo "== traffic from n1 to n5 (the far side of the ring)"
	"$bin" lab exec n1 -- ping -c 3 -i 0.2 "$far"
	echo "the lab stays up: $bin lab status | exec | cut | kill ... ; $bin lab down removes it"
}

cmd_fuzz() {
	local t=${1:-30s} pkg f
	for pkg in $(go list ./...); do
		for f in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
			echo "== $pkg $f ($t)"
			go test -run '^$' -fuzz "^${f}\$" -fuzztime "$t" -parallel 1 "$pkg"
		done
	done
}

cmd_router() { # OUT
	[ $# -eq 1 ] || { echo "usage: $0 router OUT" >&2; return 2; }
	CGO_ENABLED=0 go build -tags router -trimpath "${ROUTER_GCFLAGS[@]}" -ldflags "$LDFLAGS" -o "$1" ./ntkd
}

case "${1:-build}" in
build) cmd_build ;;
test) cmd_test ;;
lab) cmd_lab ;;
fuzz) shift; cmd_fuzz "$@" ;;
router) shift; cmd_router "$@" ;;
*) echo "usage: $0 [build|test|lab|fuzz [duration]|router OUT]" >&2; exit 2 ;;
esac
