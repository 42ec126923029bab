#!/bin/sh
# Runtime test of the OpenWrt packages feed's CI: it installs the package
# in an OpenWrt container and runs `sh test.sh PACKAGE VERSION` (VERSION
# without the release). ntkd must report that version.

case "$1" in
ntkd)
	out=$(ntkd --version) || exit 1
	[ "$out" = "ntkd $2" ] || {
		echo "ntkd --version printed '$out', want 'ntkd $2'" >&2
		exit 1
	}
	# The init script's renderer is in the router build and reads the
	# shipped /etc/config/ntkd.
	out=$(ntkd uci-render -c /etc/config/ntkd --networks) || exit 1
	case "$out" in
	"enabled "*) ;;
	*) echo "ntkd uci-render --networks printed '$out'" >&2; exit 1 ;;
	esac
	;;
esac
