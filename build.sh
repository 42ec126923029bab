#!/usr/bin/env bash
# build.sh: router builds and the project's test entry point. No OpenWrt SDK needed.
#
#   ./build.sh            static binaries for every router architecture into dist/
#                         (-tags router: the simulator and other developer
#                         tools are left out; `go build ./ntkd` has them)
#   ./build.sh ipk        those binaries as OpenWrt packages (.ipk, as opkg's
#                         ipkg-build makes them) into dist/, one per router
#                         architecture, and luci-app-ntkd_*_all.ipk
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
# MIPS: segments aligned to 4 KiB pages, the page size of every OpenWrt MIPS
# kernel, instead of Go's 64 KiB default for any MIPS kernel. The padding
# between segments was up to 128 KB of zeros in the file (nothing in RAM,
# nothing after xz) and made the size jump in 64 KiB steps.
MIPS_LDFLAGS="-R 0x1000"
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
MIPS_TEST_PKGS=(./internal/geo ./internal/addr ./internal/maps ./internal/wire ./internal/wire/wirelayers ./internal/config ./internal/wifi ./internal/andna ./internal/dnsd
	./internal/jsondec ./internal/jsonenc ./internal/logx ./internal/uci ./internal/entry
	"./internal/tunnel:^(TestKey|TestUAPI|TestAttr|TestCheck)" "./internal/kernel:^(TestParseAttrs|FuzzParseAttrs)")

build_one() { # name goarch [VAR=value]
	local name=$1 goarch=$2 extra=${3:-}
	local out="$DIST/ntkd_linux_${name}"
	local envs=(CGO_ENABLED=0 GOOS=linux "GOARCH=$goarch")
	[ -z "$extra" ] || envs+=("$extra")
	local ldflags=$LDFLAGS
	case $goarch in mips | mipsle) ldflags="$LDFLAGS $MIPS_LDFLAGS" ;; esac
	env "${envs[@]}" go build -tags router -trimpath "${ROUTER_GCFLAGS[@]}" -ldflags "$ldflags" -o "$out" ./ntkd
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
		"${ROUTER_GCFLAGS[@]}" -ldflags "$LDFLAGS $MIPS_LDFLAGS" -o "$tmp/ntkd.mips" ./ntkd
	local size budget=$((5 << 20))
	size=$(stat -c %s "$tmp/ntkd.mips")
	echo "mips binary: $size bytes (budget $budget)"
	[ "$size" -le "$budget" ] || { echo "the mips binary is over its budget"; return 1; }
	local got
	got=$(qemu-mips-static "$tmp/ntkd.mips" --version)
	[ "$got" = "ntkd ${VERSION}" ] || { echo "mips --version printed '$got'"; return 1; }
	echo "mips binary: $got"
	echo "== shell"
	local scripts=(build.sh .ci/run openwrt/tests/run.sh openwrt/tests/ipk.sh)
	shellcheck "${scripts[@]}"
	# OpenWrt's shell is busybox ash: checked as sh, parsed by ash.
	local ash=(files/etc/init.d/ntkd files/etc/uci-defaults/90-ntkd openwrt/test.sh
		openwrt/tests/stubs/rc.common openwrt/tests/stubs/lib/functions/*.sh)
	shellcheck -s sh "${ash[@]}"
	for f in "${ash[@]}"; do busybox ash -n "$f"; done
	echo "== init script and uci-defaults under busybox ash (openwrt/tests/run.sh)"
	go build -trimpath -ldflags "-X main.version=${VERSION}" -o "$tmp/ntkd" ./ntkd
	openwrt/tests/run.sh "$tmp/ntkd"
	echo "== OpenWrt packages (./build.sh ipk, openwrt/tests/ipk.sh)"
	cmd_ipk
	openwrt/tests/ipk.sh "$DIST" "$VERSION-$PKG_RELEASE"
	echo "== LuCI (luci/test.sh)"
	luci/test.sh
	echo "all tests passed"
}

# OpenWrt's names for the targets' package architectures (the CPUs of
# ath79, ramips mt7621, ipq40xx/bcm2709, mediatek filogic, x86-64).
ipk_arch() {
	case $1 in
	mips) echo mips_24kc ;;
	mipsle) echo mipsel_24kc ;;
	armv7) echo arm_cortex-a7_neon-vfpv4 ;;
	arm64) echo aarch64_cortex-a53 ;;
	x86_64) echo x86_64 ;;
	*) return 1 ;;
	esac
}

PKG_RELEASE=1
MAINTAINER="ntkd developers"

# ipk_pack STAGE OUT: STAGE/data and STAGE/control packed as ipkg-build
# packs them: data.tar.gz, Installed-Size (the data's tar size) into
# control, control.tar.gz, then a gzipped tar (not an ar archive) of
# ./debian-binary ./data.tar.gz ./control.tar.gz, all owned by root, in a
# fixed order and time. opkg (18.06 on) reads this form.
ipk_pack() {
	local stage=$1 out=$2 size epoch
	epoch=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}
	local tarf=(--format=gnu --numeric-owner --owner=0 --group=0 --sort=name "--mtime=@$epoch")
	find "$stage/data" "$stage/control" -type d -exec chmod 755 {} +
	(cd "$stage/data" && tar "${tarf[@]}" -cf - .) | gzip -n -9 > "$stage/data.tar.gz"
	size=$(gzip -dc "$stage/data.tar.gz" | wc -c)
	sed -i "s/^Installed-Size: .*/Installed-Size: $size/" "$stage/control/control"
	(cd "$stage/control" && tar "${tarf[@]}" -cf - .) | gzip -n -9 > "$stage/control.tar.gz"
	echo 2.0 > "$stage/debian-binary"
	(cd "$stage" && tar "${tarf[@]}" -cf - ./debian-binary ./data.tar.gz ./control.tar.gz) | gzip -n -9 > "$out"
	printf '%-44s %9d bytes, installed %9d bytes\n' "${out##*/}" "$(stat -c %s "$out")" "$size"
}

# ipk_control STAGE PACKAGE ARCH DEPENDS SECTION SOURCE DESCRIPTION:
# control as OpenWrt writes it, with OpenWrt's postinst and prerm (which
# enable the init scripts, run the uci-defaults and run postinst-pkg).
ipk_control() {
	local c=$1/control
	mkdir -p "$c"
	cat > "$c/control" <<-EOF
	Package: $2
	Version: ${VERSION}-${PKG_RELEASE}
	Depends: $4
	Source: $6
	SourceName: $2
	License: GPL-2.0-or-later
	Section: $5
	URL: https://github.com/ntkd/ntkd
	Maintainer: ${MAINTAINER}
	Architecture: $3
	Installed-Size: 0
	Description:  $7
	EOF
	cat > "$c/postinst" <<-'EOF'
	#!/bin/sh
	[ "${IPKG_NO_SCRIPT}" = "1" ] && exit 0
	[ -s ${IPKG_INSTROOT}/lib/functions.sh ] || exit 0
	. ${IPKG_INSTROOT}/lib/functions.sh
	default_postinst $0 $@
	EOF
	cat > "$c/prerm" <<-'EOF'
	#!/bin/sh
	[ -s ${IPKG_INSTROOT}/lib/functions.sh ] || exit 0
	. ${IPKG_INSTROOT}/lib/functions.sh
	default_prerm $0 $@
	EOF
	chmod 644 "$c/control"
	chmod 755 "$c/postinst" "$c/prerm"
}

# ipk_ntkd NAME: the ntkd package of target NAME (dist/ntkd_linux_NAME).
ipk_ntkd() {
	local name=$1 arch stage d
	arch=$(ipk_arch "$name")
	stage=$(mktemp -d)
	d=$stage/data
	mkdir -p "$d/usr/sbin" "$d/etc/init.d" "$d/etc/config" "$d/etc/uci-defaults" "$d/lib/upgrade/keep.d"
	install -m 755 "$DIST/ntkd_linux_${name}" "$d/usr/sbin/ntkd"
	install -m 755 files/etc/init.d/ntkd "$d/etc/init.d/ntkd"
	install -m 600 files/etc/config/ntkd "$d/etc/config/ntkd"
	install -m 755 files/etc/uci-defaults/90-ntkd "$d/etc/uci-defaults/90-ntkd"
	# The key directory is a conffile the package does not ship: like the
	# OpenWrt build, list it for sysupgrade to keep.
	echo /etc/ntkd/ > "$d/lib/upgrade/keep.d/ntkd"
	chmod 644 "$d/lib/upgrade/keep.d/ntkd"
	ipk_control "$stage" ntkd "$arch" "libc, kmod-wireguard, kmod-vxlan" net feeds/packages/net/ntkd \
		"Netsukuku mesh routing daemon: routes across a wifi/ethernet mesh with the QSPN protocol and a fractal hierarchy of group nodes, ANDNA names, and Internet tunnels between mesh islands."
	echo /etc/config/ntkd > "$stage/control/conffiles"
	chmod 644 "$stage/control/conffiles"
	ipk_pack "$stage" "$DIST/ntkd_${VERSION}-${PKG_RELEASE}_${arch}.ipk"
	rm -rf "$stage"
}

# ipk_luci: luci-app-ntkd_*_all.ipk from luci/luci-app-ntkd as luci.mk
# installs it (htdocs/* under /www, root/* under /, modes kept); po/ is
# not compiled (po2lmo is the SDK's), so the pages are in English.
ipk_luci() {
	local src=${NTKD_LUCI_DIR:-luci/luci-app-ntkd} stage d f
	if [ ! -d "$src/htdocs" ] && [ ! -d "$src/root" ]; then
		echo "no $src/htdocs or $src/root: luci-app-ntkd not packaged"
		return 0
	fi
	stage=$(mktemp -d)
	d=$stage/data
	mkdir -p "$d"
	if [ -d "$src/htdocs" ]; then mkdir -p "$d/www" && cp -R "$src/htdocs/." "$d/www/"; fi
	if [ -d "$src/root" ]; then cp -R "$src/root/." "$d/"; fi
	# Files keep their executable bit (rpcd plugins), nothing else.
	find "$d" -type f -print0 | while IFS= read -r -d '' f; do
		if [ -x "$f" ]; then chmod 755 "$f"; else chmod 644 "$f"; fi
	done
	ipk_control "$stage" luci-app-ntkd all "libc, ntkd, luci-base" luci feeds/luci/applications/luci-app-ntkd \
		"LuCI support for the Netsukuku mesh daemon (ntkd): status, topology, ANDNA names, virtual links and settings."
	# As luci.mk: new menus, ACLs and the rpcd plugin take effect at once.
	cat > "$stage/control/postinst-pkg" <<-'EOF'
	[ -n "${IPKG_INSTROOT}" ] || {
		rm -f /tmp/luci-indexcache*
		rm -rf /tmp/luci-modulecache/
		killall -HUP rpcd 2>/dev/null
		exit 0
	}
	EOF
	chmod 755 "$stage/control/postinst-pkg"
	ipk_pack "$stage" "$DIST/luci-app-ntkd_${VERSION}-${PKG_RELEASE}_all.ipk"
	rm -rf "$stage"
}

cmd_ipk() {
	cmd_build
	echo "OpenWrt packages:"
	local t name
	for t in "${TARGETS[@]}"; do
		name=${t%% *}
		ipk_ntkd "$name"
	done
	ipk_luci
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
ipk) cmd_ipk ;;
lab) cmd_lab ;;
fuzz) shift; cmd_fuzz "$@" ;;
router) shift; cmd_router "$@" ;;
*) echo "usage: $0 [build|ipk|test|lab|fuzz [duration]|router OUT]" >&2; exit 2 ;;
esac
