# shellcheck shell=sh disable=SC3043
# Test stand-ins for OpenWrt's /lib/functions/procd.sh, jshn and the
# commands an init script calls: every call is appended to $RECORD, one
# line each, so that a test compares what the script asked procd for.

rec() { printf '%s\n' "$*" >> "$RECORD"; }

procd_open_service() { rec procd_open_service "$@"; }
procd_close_service() {
	# As procd.sh does: the triggers are part of the service message.
	rec "procd_open_trigger"
	service_triggers
	rec "procd_close_trigger"
	rec "procd_close_service"
}
procd_open_instance() { rec procd_open_instance "$@"; }
procd_close_instance() { rec "procd_close_instance"; }
procd_set_param() { rec procd_set_param "$@"; }
procd_open_data() { rec "procd_open_data"; }
procd_close_data() { rec "procd_close_data"; }
procd_add_reload_trigger() { rec procd_add_reload_trigger "$@"; }
procd_add_interface_trigger() { rec procd_add_interface_trigger "$@"; }
procd_set_config_changed() { rec procd_set_config_changed "$@"; }

json_add_object() { rec "json_add_object '$1'"; }
json_close_object() { rec "json_close_object"; }
json_add_array() { rec "json_add_array $1"; }
json_close_array() { rec "json_close_array"; }
json_add_string() { rec "json_add_string '$1' '$2'"; }

# Functions, not programs: busybox may prefer its own applets to $PATH.
logger() { printf '%s\n' "$*" >> "$LOG"; }

# fw4 -q network NET | device DEV: the firewall zone, from $FWZONES (lines
# "NETWORK-OR-DEVICE ZONE"); fails when there is none, as fw4 does.
fw4() {
	[ "$1" = -q ] && shift
	local __fw_k __fw_z
	while read -r __fw_k __fw_z; do
		if [ "$__fw_k" = "$2" ]; then
			echo "$__fw_z"
			return 0
		fi
	done < "$FWZONES"
	return 1
}

# uci: a key=value store in $UCI_STORE (one line per value; a list has a
# line per element). Enough for `uci -q get`, add_list and commit.
uci() {
	[ "$1" = -q ] && shift
	local cmd="$1" arg="$2" vals
	case "$cmd" in
	get)
		vals=$(grep -F "$arg=" "$UCI_STORE" | while IFS= read -r l; do
			[ "${l%%=*}" = "$arg" ] && printf '%s ' "${l#*=}"
		done)
		[ -n "$vals" ] || return 1
		echo "${vals% }"
		;;
	add_list) printf '%s\n' "$arg" >> "$UCI_STORE" ;;
	commit) rec "uci commit $arg" ;;
	*) echo "uci stub: $*" >&2; return 1 ;;
	esac
}
