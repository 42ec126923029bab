#!/usr/bin/env bash
# openwrt/tests/ipk.sh DIST VERSION: check the packages `./build.sh ipk`
# made: the outer gzipped tar and its three members (the form opkg and
# the packages feed's CI read), control fields, conffiles, scripts, every
# path with its mode and owner, and the binary of each architecture run
# under its qemu (natively for x86_64), through the feed's test.sh too.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
[ $# -eq 2 ] || { echo "usage: $0 DIST VERSION-RELEASE" >&2; exit 2; }
dist=$(realpath "$1")
pkgver=$2
ver=${pkgver%-*}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() { echo "FAIL: ${ipk##*/}: $*"; : > "$tmp/failed"; }

field() { sed -ne "s/^$1: //p" "$tmp/x/control"; }

# unpack IPK: into $tmp/x (members, control files) and $tmp/x/data.
unpack() {
	ipk=$1
	rm -rf "$tmp/x"
	mkdir -p "$tmp/x/data"
	local members
	members=$(tar -tzf "$ipk" | tr '\n' ' ')
	[ "$members" = "./debian-binary ./data.tar.gz ./control.tar.gz " ] || fail "members: $members"
	[ "$(tar -xzOf "$ipk" ./debian-binary)" = 2.0 ] || fail "debian-binary is not 2.0"
	# As the packages feed's CI reads it.
	(cd "$tmp/x" && tar -xzOf "$ipk" ./control.tar.gz | tar xzf - ./control) || fail "no ./control"
	tar -xzOf "$ipk" ./control.tar.gz > "$tmp/x/control.tar.gz"
	tar -xzOf "$ipk" ./data.tar.gz > "$tmp/x/data.tar.gz"
	tar -xzf "$tmp/x/control.tar.gz" -C "$tmp/x"
	tar -xzf "$tmp/x/data.tar.gz" -C "$tmp/x/data"
	# Every entry owned by root.
	if tar -tvzf "$tmp/x/data.tar.gz" | awk '$2 != "0/0"' | grep -q .; then fail "data not owned by root"; fi
	if tar -tvzf "$tmp/x/control.tar.gz" | awk '$2 != "0/0"' | grep -q .; then fail "control not owned by root"; fi
	local size
	size=$(gzip -dc "$tmp/x/data.tar.gz" | wc -c)
	[ "$(field Installed-Size)" = "$size" ] || fail "Installed-Size $(field Installed-Size), data is $size"
	[ "$(field Version)" = "$pkgver" ] || fail "Version $(field Version)"
	[ -n "$(field Maintainer)" ] || fail "no Maintainer"
	grep -q '^Description:  [A-Z]' "$tmp/x/control" || fail "no Description"
	# shellcheck disable=SC2016 # the script's own text
	grep -qx 'default_postinst $0 $@' "$tmp/x/postinst" || fail "postinst is not OpenWrt's"
	# shellcheck disable=SC2016
	grep -qx 'default_prerm $0 $@' "$tmp/x/prerm" || fail "prerm is not OpenWrt's"
	local ctl
	ctl=$(tar -tvzf "$tmp/x/control.tar.gz" | awk '{print $1, $6}' | sort | tr '\n' ';')
	case "$(field Package)" in
	ntkd) want="-rw-r--r-- ./conffiles;-rw-r--r-- ./control;-rwxr-xr-x ./postinst;-rwxr-xr-x ./prerm;drwxr-xr-x ./;" ;;
	*) want="-rw-r--r-- ./control;-rwxr-xr-x ./postinst;-rwxr-xr-x ./postinst-pkg;-rwxr-xr-x ./prerm;drwxr-xr-x ./;" ;;
	esac
	[ "$ctl" = "$want" ] || fail "control.tar.gz: $ctl"
}

# listing: "MODE PATH" of every data entry, sorted.
listing() { tar -tvzf "$tmp/x/data.tar.gz" | awk '{print $1, $6}' | sort; }

declare -A qemu=([mips_24kc]=qemu-mips-static [mipsel_24kc]=qemu-mipsel-static
	[arm_cortex-a7_neon-vfpv4]=qemu-arm-static [aarch64_cortex-a53]=qemu-aarch64-static [x86_64]="")
n=0
for arch in mips_24kc mipsel_24kc arm_cortex-a7_neon-vfpv4 aarch64_cortex-a53 x86_64; do
	ipk=$dist/ntkd_${pkgver}_${arch}.ipk
	[ -f "$ipk" ] || { fail "missing"; continue; }
	unpack "$ipk"
	n=$((n + 1))
	[ "$(field Package)" = ntkd ] || fail "Package $(field Package)"
	[ "$(field Architecture)" = "$arch" ] || fail "Architecture $(field Architecture)"
	[ "$(field Depends)" = "libc, kmod-wireguard, kmod-vxlan" ] || fail "Depends $(field Depends)"
	[ "$(cat "$tmp/x/conffiles")" = /etc/config/ntkd ] || fail "conffiles: $(cat "$tmp/x/conffiles")"
	cat > "$tmp/want" <<-'LIST'
	-rw------- ./etc/config/ntkd
	-rw-r--r-- ./lib/upgrade/keep.d/ntkd
	-rwxr-xr-x ./etc/init.d/ntkd
	-rwxr-xr-x ./etc/uci-defaults/90-ntkd
	-rwxr-xr-x ./usr/sbin/ntkd
	drwxr-xr-x ./
	drwxr-xr-x ./etc/
	drwxr-xr-x ./etc/config/
	drwxr-xr-x ./etc/init.d/
	drwxr-xr-x ./etc/uci-defaults/
	drwxr-xr-x ./lib/
	drwxr-xr-x ./lib/upgrade/
	drwxr-xr-x ./lib/upgrade/keep.d/
	drwxr-xr-x ./usr/
	drwxr-xr-x ./usr/sbin/
	LIST
	listing | diff -u "$tmp/want" - || fail "data paths or modes differ"
	cmp -s "$tmp/x/data/etc/init.d/ntkd" "$root/files/etc/init.d/ntkd" || fail "init script differs"
	[ "$(cat "$tmp/x/data/lib/upgrade/keep.d/ntkd")" = /etc/ntkd/ ] || fail "keep.d"
	# The binary of this architecture, under its emulator.
	b=$tmp/x/data/usr/sbin/ntkd
	emu=${qemu[$arch]}
	got=$(${emu:+"$emu"} "$b" --version) || fail "--version failed"
	[ "$got" = "ntkd $ver" ] || fail "--version printed '$got'"
	got=$(${emu:+"$emu"} "$b" uci-render -c "$tmp/x/data/etc/config/ntkd" --networks | tr '\n' ' ')
	[ "$got" = "enabled 0 " ] || fail "uci-render --networks printed '$got'"
	if [ -z "$emu" ] && [ "$(id -u)" = 0 ]; then
		# The feed's test.sh, in the unpacked package as its root (with
		# busybox for /bin/sh), as on a router after opkg install.
		mkdir -p "$tmp/x/data/bin"
		cp /bin/busybox "$tmp/x/data/bin/busybox"
		ln -s busybox "$tmp/x/data/bin/sh"
		cp "$root/openwrt/test.sh" "$tmp/x/data/test.sh"
		PATH=/usr/sbin:/bin chroot "$tmp/x/data" /bin/sh /test.sh ntkd "$ver" || fail "the feed's test.sh failed"
		PATH=/usr/sbin:/bin chroot "$tmp/x/data" /bin/sh /test.sh ntkd 9.9.9 2>/dev/null && fail "test.sh passed a wrong version"
	fi
	echo "ok ${ipk##*/}: $(field Installed-Size) bytes installed, runs as $got"
done

ipk=$dist/luci-app-ntkd_${pkgver}_all.ipk
src=${NTKD_LUCI_DIR:-$root/luci/luci-app-ntkd}
if [ -d "$src/htdocs" ] || [ -d "$src/root" ]; then
	if [ -f "$ipk" ]; then
		unpack "$ipk"
		n=$((n + 1))
		[ "$(field Package)" = luci-app-ntkd ] || fail "Package $(field Package)"
		[ "$(field Architecture)" = all ] || fail "Architecture $(field Architecture)"
		[ "$(field Depends)" = "libc, ntkd, luci-base" ] || fail "Depends $(field Depends)"
		# Every file of htdocs/ under /www and of root/ under /, with its
		# executable bit, and nothing else.
		{
			for d in htdocs root; do
				[ -d "$src/$d" ] || continue
				(cd "$src/$d" && find . -type f) | while read -r f; do
					p=${f#./}
					[ "$d" = htdocs ] && p=www/$p
					if [ -x "$src/$d/$f" ]; then echo "-rwxr-xr-x ./$p"; else echo "-rw-r--r-- ./$p"; fi
				done
			done
		} | sort > "$tmp/want"
		listing | grep -v '^d' | diff -u "$tmp/want" - || fail "files differ from $src"
		if listing | grep '^d' | grep -v '^drwxr-xr-x ' | grep -q .; then fail "a directory is not 0755"; fi
		echo "ok ${ipk##*/}: $(field Installed-Size) bytes installed"
	else
		ipk=$ipk fail "missing"
	fi
fi

[ ! -e "$tmp/failed" ] || exit 1
echo "openwrt/tests/ipk.sh: $n packages checked"
