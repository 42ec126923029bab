#!/bin/sh
# shellcheck shell=sh
# A stand-in for ntkd in the rpcd plugin's tests. `ntkd ctl ... gateways`
# prints tests/fixtures/$NTKD_STUB_GATEWAYS.json (default: gateways, the
# JSON of docs/IGS.md); NTKD_STUB_GATEWAYS=fail fails as a daemon without
# that command does. Anything else runs the real ntkd $NTKD_STUB_REAL
# (luci/test.sh), or fails without one.
for last; do :; done
if [ "$1" = ctl ] && [ "$last" = gateways ]; then
	case ${NTKD_STUB_GATEWAYS:=gateways} in
	fail)
		echo 'ntkd ctl: unknown command "gateways" (known: status, neighbours, maps, routes, qspn, counters, vlinks)' >&2
		exit 1 ;;
	*) exec cat "${0%/*}/fixtures/$NTKD_STUB_GATEWAYS.json" ;;
	esac
fi
[ -n "$NTKD_STUB_REAL" ] || { echo "ntkd stub: no real ntkd for: $*" >&2; exit 1; }
exec "$NTKD_STUB_REAL" "$@"
