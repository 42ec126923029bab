# shellcheck shell=sh
# A stand-in for OpenWrt's /usr/share/libubox/jshn.sh, for luci/test.sh only
# (Debian has no jshn): json_load and json_get_var, the two functions the
# rpcd plugin uses, with jshn's behaviour. json_load reads an object's
# top-level members (nested objects and arrays become a table name, as in
# jshn; bad JSON loads nothing); json_get_var VAR KEY [DEFAULT] sets VAR and
# fails when KEY is absent and no DEFAULT is given. The JSON is parsed by
# node (jshn-load.js next to this file, found through $JSHN) into
# single-quoted shell assignments.

json_load() {
	eval "$(node "${JSHN%/*}/jshn-load.js" "$1")"
}

json_get_var() {
	__jshn_k=$(printf '%s' "$2" | tr -c 'a-zA-Z0-9_' '_')
	if eval "[ -n \"\${__jshn_s_$__jshn_k+x}\" ]"; then
		eval "$1=\"\${__jshn_v_$__jshn_k}\""
		return 0
	fi
	if [ $# -ge 3 ]; then
		eval "$1=\"\$3\""
		return 0
	fi
	eval "$1="
	return 1
}
