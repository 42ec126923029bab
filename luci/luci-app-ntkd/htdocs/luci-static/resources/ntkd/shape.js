'use strict';
'require baseclass';

/*
 * The pure logic of luci-app-ntkd's views: no DOM, no rpc, no uci. It turns
 * the daemon's answers (docs/CTL.md, through the rpcd plugin) into table
 * rows and an SVG picture, checks the settings' values, and plans the uci
 * changes of the mesh wifi helper. The views load it with
 * 'require ntkd.shape as shape'; luci/luci-app-ntkd/tests loads the same
 * file in node with a stub baseclass.
 *
 * Every string a function returns for a table cell or the SVG is HTML-safe:
 * LuCI puts cell strings in with innerHTML, and names, addresses and errors
 * come from the network.
 */

function esc(s) {
	return String(s == null ? '' : s)
		.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
		.replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

function num(v) {
	return (typeof v === 'number' && isFinite(v)) ? v : null;
}

/* Texts go through LuCI's global _() (the identity in the tests), so that
 * LuCI's i18n scanner finds them. fmt() fills %s and %d in order, like
 * LuCI's String.format does for those two. */
function fmt(s) {
	const args = Array.prototype.slice.call(arguments, 1);
	let i = 0;
	return String(s).replace(/%[sd]/g, function() { return String(args[i++]); });
}

/* unwrap(answer, key): an rpcd answer as {error} or {data}. Arrays come
 * wrapped under the method's name; a missing answer is an error. */
function unwrap(res, key) {
	if (res == null || typeof res !== 'object')
		return { error: _('No answer from the rpcd plugin') };
	if (typeof res.error === 'string')
		return { error: res.error };
	if (key != null) {
		if (!Array.isArray(res[key]))
			return { error: fmt(_('Unexpected answer: no %s list'), key) };
		return { data: res[key] };
	}
	return { data: res };
}

/* Formatting. */

function fmtDuration(sec) {
	sec = num(sec);
	if (sec == null || sec < 0)
		return '-';
	sec = Math.floor(sec);
	const d = Math.floor(sec / 86400), h = Math.floor(sec % 86400 / 3600),
		m = Math.floor(sec % 3600 / 60), s = sec % 60;
	if (d > 0)
		return d + 'd ' + h + 'h';
	if (h > 0)
		return h + 'h ' + m + 'm';
	if (m > 0)
		return m + 'm ' + s + 's';
	return s + 's';
}

function fmtRTT(us) {
	us = num(us);
	if (us == null || us <= 0)
		return '-';
	const ms = us / 1000;
	return (ms < 10 ? ms.toFixed(2) : ms < 100 ? ms.toFixed(1) : ms.toFixed(0)) + ' ms';
}

function fmtLoss(f) {
	f = num(f);
	if (f == null)
		return '-';
	const p = Math.min(Math.max(f, 0), 1) * 100;
	return (p === 0 || p === 100 ? p.toFixed(0) : p.toFixed(1)) + ' %';
}

function fmtBitrate(bps) {
	bps = num(bps);
	if (bps == null || bps <= 0)
		return '-';
	if (bps >= 1e9)
		return (bps / 1e9).toFixed(2) + ' Gbit/s';
	if (bps >= 1e6)
		return (bps / 1e6).toFixed(1) + ' Mbit/s';
	return (bps / 1e3).toFixed(0) + ' kbit/s';
}

function fmtBytes(n) {
	n = num(n);
	if (n == null || n < 0)
		return '-';
	const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
	let u = 0;
	while (n >= 1024 && u < units.length - 1) {
		n /= 1024;
		u++;
	}
	return (u === 0 ? n.toFixed(0) : n.toFixed(1)) + ' ' + units[u];
}

function fmtHex32(n) {
	n = num(n);
	if (n == null)
		return '-';
	return ('00000000' + (n >>> 0).toString(16)).slice(-8);
}

/* signalQuality: a 0..100 bar for a signal in dBm, -90 dBm (unusable) to
 * -40 dBm (excellent), as wifi tools draw it. */
function signalQuality(dbm) {
	dbm = num(dbm);
	if (dbm == null || dbm >= 0)
		return null;
	return Math.round(Math.min(Math.max((dbm + 90) * 2, 0), 100));
}

function stateLabel(s) {
	const labels = {
		idle: _('idle'),
		scanning: _('looking for neighbours'),
		joining: _('joining'),
		hooked: _('hooked'),
		measuring: _('measuring'),
		alive: _('alive'),
		suspect: _('suspect'),
		registering: _('registering'),
		registered: _('registered'),
		unregistered: _('unregistered')
	};
	if (typeof s === 'string' && s.indexOf('refused: ') === 0)
		return fmt(_('refused (%s)'), s.substr(9));
	return labels[s] || String(s == null ? '-' : s);
}

/* Tables: arrays of rows, each an array of HTML-safe cell strings. */

function statusInfo(st) {
	const mem = st.memory || {};
	return [
		[ esc(_('State')), esc(stateLabel(st.state)) ],
		[ esc(_('Address')), esc(st.address || _('none yet')) ],
		[ esc(_('Mesh prefix')), esc(st.prefix || '-') ],
		[ esc(_('Neighbours')), esc(num(st.neighbours) != null ? st.neighbours : '-') ],
		[ esc(_('Routes')), esc(num(st.routes) != null ? st.routes : '-') ],
		[ esc(_('Version')), esc(st.version || '-') ],
		[ esc(_('Uptime')), esc(fmtDuration(st.uptime_s)) ],
		[ esc(_('Memory')), esc(fmt(_('%s live heap, %s from the system'),
			fmtBytes(mem.heap_alloc), fmtBytes(mem.sys))) ]
	];
}

function gnodeRows(st) {
	return (st.gnodes || []).slice().sort(function(a, b) { return a.level - b.level; }).map(function(g) {
		return [
			esc(g.level),
			esc(g.level === 0 ? _('node') : _('gnode')),
			esc(g.id),
			esc(g.members),
			esc(fmtHex32(g.nonce))
		];
	});
}

function interfaceRows(st) {
	const kinds = {
		wired: _('wired'), adhoc: _('ad-hoc wifi'), mesh: _('802.11s mesh'),
		sta: _('wifi client'), ap: _('wifi access point'), other: _('other')
	};
	return (st.interfaces || []).map(function(i) {
		return [
			esc(i.name),
			esc(i.up ? _('up') : (i.ifindex ? _('down') : _('missing'))),
			esc(kinds[i.kind] || i.kind || '-')
		];
	});
}

function neighbourRows(list) {
	return (list || []).slice().sort(function(a, b) { return a.rnode - b.rnode; }).map(function(n) {
		const w = n.wifi;
		let state = stateLabel(n.state);
		if (n.hooking)
			state += ' (' + _('hooking') + ')';
		return [
			esc(n.rnode),
			esc(n.interface),
			esc(n.address || _('hooking')),
			esc(state),
			esc(num(n.cost) != null ? n.cost : '-'),
			esc(fmtRTT(n.rtt_us)),
			esc(fmtLoss(n.loss)),
			esc(w ? w.signal_dbm + ' dBm' : '-'),
			esc(w ? fmtBitrate(w.tx_bitrate) : '-'),
			esc(num(n.penalty) != null && n.penalty !== 1 ? '\u00d7' + n.penalty.toFixed(2) : '-')
		];
	});
}

function hopText(h) {
	let s = h.via + ' ' + _('dev') + ' ' + h.dev;
	if (num(h.weight) != null)
		s += ' ' + _('weight') + ' ' + h.weight;
	if (num(h.cost) != null && h.cost > 0)
		s += ' ' + _('cost') + ' ' + h.cost;
	return s;
}

/* routeRows: what the node wants, each marked installed or missing; then
 * the kernel's routes with our protocol that the node does not want. */
function routeRows(r) {
	const missing = {};
	(r.missing || []).forEach(function(p) { missing[p] = true; });
	const rows = (r.ours || []).map(function(rt) {
		return [
			esc(rt.dst),
			(rt.hops || []).map(function(h) { return esc(hopText(h)); }).join('<br />'),
			esc(missing[rt.dst] ? _('missing from the kernel') : _('installed'))
		];
	});
	(r.extra || []).forEach(function(p) {
		rows.push([ esc(p), '-', esc(_('in the kernel, not wanted')) ]);
	});
	return rows;
}

function vlinkRows(v) {
	return ((v && v.links) || []).map(function(l) {
		let state = l.neighbour ? _('neighbour') : _('no neighbour');
		if (l.error)
			state = fmt(_('error: %s'), l.error);
		return [
			esc(l.interface),
			esc(l.public_key),
			esc(l.endpoint || '-'),
			esc(l.listen_port),
			esc(num(l.handshake_ago_sec) != null && l.handshake_ago_sec >= 0
				? fmt(_('%s ago'), fmtDuration(l.handshake_ago_sec)) : _('never')),
			esc(l.neighbour ? fmtRTT(l.rtt_us) : '-'),
			esc(fmtBytes(l.rx_bytes) + ' / ' + fmtBytes(l.tx_bytes)),
			esc(state)
		];
	});
}

/* Internet gateway sharing (docs/IGS.md, `ntkd ctl gateways`).
 * gatewayInfo: this node as a gateway and as a client, key-value rows. */
function gatewayInfo(g) {
	const sh = g.sharing || {};
	let sharing = _('no');
	if (sh.enabled)
		sharing = fmt(sh.up ? _('yes, through %s: up') : _('yes, through %s: down'), sh.uplink || _('the default route'));
	const rows = [
		[ esc(_('Shares its Internet uplink')), esc(sharing) ]
	];
	if (sh.enabled) {
		rows.push([ esc(_('Announced bandwidth')), esc(sh.up ? fmtBitrate(num(sh.bandwidth) * 1000) : '-') ]);
		rows.push([ esc(_('Last probe')), esc(sh.why || '-') ]);
	}
	rows.push([ esc(_('Internet route')), esc(g.own_default_route
		? _('its own default route (the gateways are not used)')
		: fmt(_('through the gateways marked used (table %s)'), num(g.table) != null ? g.table : '-')) ]);
	if (g.error)
		rows.push([ esc(_('Error')), esc(g.error) ]);
	return rows;
}

/* gatewayRows: the candidates, best first as the daemon lists them. */
function gatewayRows(g) {
	return ((g && g.gateways) || []).map(function(gw) {
		return [
			esc(gw.address),
			esc(gw.level),
			esc(fmtBitrate(num(gw.bandwidth) * 1000)),
			esc(num(gw.cost_ms) != null ? fmtRTT(gw.cost_ms * 1000) : '-'),
			esc(gw.selected ? fmt(_('yes, weight %s'), num(gw.weight) != null ? gw.weight : '-') : _('no'))
		];
	});
}

function andnaRows(list) {
	return (list || []).slice().sort(function(a, b) {
		return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
	}).map(function(n) {
		return [
			esc(n.name),
			esc(stateLabel(n.state)),
			esc(num(n.expires_in_s) > 0 ? fmtDuration(n.expires_in_s) : '-'),
			esc(n.error || '')
		];
	});
}

function resolveText(res) {
	if (res == null || typeof res !== 'object')
		return _('No answer from the rpcd plugin');
	if (res.error)
		return fmt(_('Not resolved: %s'), res.error);
	if (res.names)
		return fmt(_('%s is %s (valid for %s more)'), res.address, res.names.join(', '), fmtDuration(res.ttl_s));
	return fmt(_('%s is %s (valid for %s more)'), res.name, res.address, fmtDuration(res.ttl_s));
}

/* Addresses. parseIP returns {v4, bytes} or null. */

function parseIPv4(s) {
	const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
	if (!m)
		return null;
	const b = [];
	for (let i = 1; i <= 4; i++) {
		if (m[i].length > 1 && m[i][0] === '0')
			return null; // ntkd (Go's netip) refuses leading zeros
		const v = +m[i];
		if (v > 255)
			return null;
		b.push(v);
	}
	return b;
}

function parseIPv6(s) {
	if (!/^[0-9a-fA-F:.]+$/.test(s) || s.indexOf(':::') >= 0)
		return null;
	let tail = [];
	const lastColon = s.lastIndexOf(':');
	if (s.indexOf('.') >= 0) {
		tail = parseIPv4(s.substr(lastColon + 1));
		if (!tail)
			return null;
		s = s.substr(0, lastColon + 1) + '0:0';
	}
	const halves = s.split('::');
	if (halves.length > 2)
		return null;
	const groups = function(h) { return h === '' ? [] : h.split(':'); };
	const head = groups(halves[0]), rest = halves.length === 2 ? groups(halves[1]) : [];
	const all = head.concat(rest);
	if (all.some(function(g) { return !/^[0-9a-fA-F]{1,4}$/.test(g); }))
		return null;
	if (halves.length === 1 ? all.length !== 8 : all.length > 7)
		return null;
	const words = head.concat(new Array(8 - all.length).fill('0'), rest).map(function(g) { return parseInt(g, 16); });
	const b = [];
	words.forEach(function(w) { b.push(w >> 8, w & 255); });
	if (tail.length)
		b.splice(12, 4, tail[0], tail[1], tail[2], tail[3]);
	return b;
}

function parseIP(s) {
	if (typeof s !== 'string')
		return null;
	if (s.indexOf(':') < 0) {
		const b = parseIPv4(s);
		return b ? { v4: true, bytes: b } : null;
	}
	const b = parseIPv6(s);
	return b ? { v4: false, bytes: b } : null;
}

/* inPrefix(bytes, pbytes, bits): the first bits of both agree. */
function inPrefix(bytes, pbytes, bits) {
	for (let i = 0; i < bits; i++) {
		const mask = 0x80 >> (i % 8);
		if ((bytes[i >> 3] & mask) !== (pbytes[i >> 3] & mask))
			return false;
	}
	return true;
}

function parsePrefix(s) {
	const m = /^([^/]+)\/(\d{1,3})$/.exec(typeof s === 'string' ? s.trim() : '');
	if (!m)
		return null;
	const ip = parseIP(m[1]), bits = +m[2];
	if (!ip || bits > ip.bytes.length * 8)
		return null;
	return { v4: ip.v4, bytes: ip.bytes, bits: bits };
}

/* Validators for the settings: null when fine, else the reason. */

const PRIVATE = [
	{ text: '10.0.0.0/8', p: parsePrefix('10.0.0.0/8') },
	{ text: '172.16.0.0/12', p: parsePrefix('172.16.0.0/12') },
	{ text: 'fc00::/7', p: parsePrefix('fc00::/7') }
];

function checkPrefix(s) {
	const p = parsePrefix(s);
	if (!p)
		return _('Want an address range such as 10.0.0.0/8 or fd00::/8');
	const r = PRIVATE.filter(function(r) {
		return r.p.v4 === p.v4 && p.bits >= r.p.bits && inPrefix(p.bytes, r.p.bytes, r.p.bits);
	})[0];
	if (!r)
		return _('The range must be inside 10.0.0.0/8, 172.16.0.0/12 or fc00::/7');
	for (let i = p.bits; i < p.bytes.length * 8; i++)
		if (p.bytes[i >> 3] & (0x80 >> (i % 8)))
			return _('The address has bits set after the prefix length');
	if (p.bytes.length * 8 - p.bits < 2)
		return _('The range is too small: nodes need at least 2 bits');
	return null;
}

const SIZE_UNITS = { B: 1, KiB: 1024, MiB: 1048576, GiB: 1073741824 };

/* parseSize: ntkd's sizes, "16MiB", "512KiB", "0" (internal/config). */
function parseSize(s) {
	const m = /^\s*(\d+)\s*(B|KiB|MiB|GiB)?\s*$/.exec(typeof s === 'string' ? s : '');
	if (!m)
		return null;
	if (!m[2])
		return +m[1] === 0 ? 0 : null;
	return +m[1] * SIZE_UNITS[m[2]];
}

function checkMemoryLimit(s) {
	const n = parseSize(s);
	if (n == null)
		return _('Want a size with a binary unit, such as 16MiB or 512KiB, or 0 for no limit');
	if (n !== 0 && n < 4 * 1048576)
		return _('At least 4MiB (or 0 for no limit)');
	return null;
}

/* checkName: an ANDNA name, as ntkd's configuration takes it. */
function checkName(s) {
	if (typeof s !== 'string' || s === '')
		return _('Empty name');
	if (s.length > 253)
		return _('At most 253 characters');
	if (/[A-Z]/.test(s))
		return _('Names are lowercase');
	const labels = s.split('.');
	for (let i = 0; i < labels.length; i++) {
		const l = labels[i];
		if (l === '')
			return _('Empty label: no dots at the ends, no two dots in a row');
		if (l.length > 63)
			return _('A label is at most 63 characters');
		if (!/^[a-z0-9-]+$/.test(l))
			return _('Use only a-z, 0-9, hyphens and dots');
		if (l[0] === '-' || l[l.length - 1] === '-')
			return _('A label does not start or end with a hyphen');
	}
	return null;
}

/* checkHostPort: "ip:port" or "[ipv6]:port"; empty allowed when optional. */
function checkHostPort(s, optional) {
	if ((s == null || s === '') && optional)
		return null;
	const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(s || '');
	if (!m || !parseIP(m[1] || m[2]) || (m[2] && !parseIPv4(m[2])) || +m[3] < 1 || +m[3] > 65535)
		return _('Want an address and a port, such as 127.0.0.1:5373 or [fd00::1]:53');
	return null;
}

function checkSuffix(s) {
	return checkName(s);
}

/* checkWgKey: a WireGuard public key, 44 characters of base64. */
function checkWgKey(s) {
	if (!/^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/.test(s || ''))
		return _('Want a WireGuard public key: 44 characters of base64, as wg pubkey prints');
	return null;
}

/* checkEntryServer: an entry server as the vlayer section lists it,
 * "IP:port KEY": its literal address, a space, its Ed25519 key (44
 * characters of base64, as ntkd entry-server -print-key prints it). */
function checkEntryServer(s) {
	const f = String(s || '').trim().split(/\s+/);
	if (f.length !== 2 || checkHostPort(f[0]) || !/^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/.test(f[1]))
		return _('Want the server\'s address and key separated by a space: 198.51.100.2:27100, then 44 characters of base64 as ntkd entry-server -print-key prints');
	return null;
}

/* checkCoordinate: a latitude (max 90) or a longitude (max 180) in
 * degrees; other is the other one's value: both or neither. */
function checkCoordinate(s, max, other) {
	const set = (v) => v != null && v !== '';
	if (set(s) !== set(other))
		return _('Set both latitude and longitude, or neither');
	if (set(s) && (!/^[-+]?(\d+(\.\d*)?|\.\d+)$/.test(String(s)) || Math.abs(+s) > max))
		return fmt(_('Want degrees, -%s..%s, such as 45.46'), max, max);
	return null;
}

/* checkEndpoint: this router's public ip:port for tunnels, which an entry
 * node (entryNode true) lists on its entry servers (servers: how many). */
function checkEndpoint(s, entryNode, servers) {
	if (s == null || s === '')
		return entryNode ? _('An entry node lists its public endpoint: set it') : null;
	if (entryNode && !servers)
		return _('An entry node lists itself on entry servers: add one');
	return checkHostPort(s);
}

function checkPort(s, allowZero) {
	if (!/^\d{1,5}$/.test(String(s)) || +s > 65535 || (+s === 0 && !allowZero))
		return allowZero ? _('Want a port 0..65535') : _('Want a port 1..65535');
	return null;
}

/* checkGogc: the collector's target, a percentage >= 1, or -1 (off),
 * which needs a memory limit. */
function checkGogc(s, memoryLimit) {
	if (!/^-?\d{1,6}$/.test(String(s)) || (+s < 1 && +s !== -1))
		return _('Want a percentage of at least 1, or -1 (off, with a memory limit)');
	if (+s === -1 && !parseSize(memoryLimit == null || memoryLimit === '' ? '16MiB' : memoryLimit))
		return _('-1 turns the collector off: it needs a memory limit');
	return null;
}

function checkMaxProcs(s) {
	if (!/^\d{1,3}$/.test(String(s)) || +s > 256)
		return _('Want 0..256 (0: one per CPU)');
	return null;
}

function checkTable(s) {
	if (s !== 'main' && !(/^\d{1,3}$/.test(String(s)) && +s >= 1 && +s <= 252))
		return _('Want main or a table number 1..252');
	return null;
}

/* checkRange: a whole number min..max (IGS bandwidth, max gateways). */
function checkRange(s, min, max) {
	if (!/^\d{1,10}$/.test(String(s)) || +s < min || +s > max)
		return fmt(_('Want a whole number %s..%s'), min, max);
	return null;
}

/* checkProbeInterval: a duration 1s..10m, as [igs] probe_interval. */
function checkProbeInterval(s) {
	const e = checkDuration(s, 600);
	if (e)
		return e === fmt(_('At most %s seconds'), 600) ? _('Want 1s..10m') : e;
	const m = /^(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?(?:(\d+)ms)?$/.exec(s);
	if ((+(m[1] || 0)) * 3600 + (+(m[2] || 0)) * 60 + (+(m[3] || 0)) + (+(m[4] || 0)) / 1000 < 1)
		return _('Want 1s..10m');
	return null;
}

/* checkProbe: an [igs] probe target, "IP:port". */
function checkProbe(s) {
	if (checkHostPort(s))
		return _('Want an address and a port, such as 203.0.113.1:80 or [2001:db8::1]:443');
	return null;
}

/* checkUplink: the uplink, a network or device that is not a mesh
 * interface (meshIfaces: the main section's interface list). */
function checkUplink(s, meshIfaces) {
	const e = checkIfaceName(s);
	if (e)
		return e;
	if ((meshIfaces || []).indexOf(s) >= 0)
		return _('This is a mesh interface: the uplink must be another one');
	return null;
}

/* checkAndnaPort: ANDNA's port (UDP and TCP) differs from radar's (UDP)
 * and stream's (TCP); those two may share one. */
function checkAndnaPort(andna, radar, stream) {
	const e = checkPort(andna);
	if (e)
		return e;
	if (+andna === +(radar || 269) || +andna === +(stream || 269))
		return _('ANDNA needs a port of its own, not the radar or stream port');
	return null;
}

/* checkDuration: a Go duration such as 25s, 1m30s or 0s, at most maxSec. */
function checkDuration(s, maxSec) {
	const m = /^(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?(?:(\d+)ms)?$/.exec(s || '');
	if (!m || s === '')
		return _('Want a duration with units, such as 25s, 1m30s or 0s');
	const sec = (+(m[1] || 0)) * 3600 + (+(m[2] || 0)) * 60 + (+(m[3] || 0)) + (+(m[4] || 0)) / 1000;
	if (maxSec != null && sec > maxSec)
		return fmt(_('At most %s seconds'), maxSec);
	return null;
}

function checkAbsPath(s) {
	if (!/^\/[^\0]*$/.test(s || ''))
		return _('Want an absolute path');
	return null;
}

/* checkNetworkKey: a closed mesh's network key, 64 hex digits (32 random
   bytes), or the absolute path of a file holding them (ntkd's [mesh]). */
function checkNetworkKey(s) {
	s = String(s || '');
	if (s.charAt(0) === '/')
		return checkAbsPath(s);
	if (!/^[0-9a-fA-F]{64}$/.test(s))
		return _('Want 64 hex digits (openssl rand -hex 32) or the absolute path of a file holding them');
	return null;
}

/* The mesh wifi helper. */

function checkSSID(s) {
	const n = typeof s === 'string' ? unescape(encodeURIComponent(s)).length : 0;
	if (n < 1 || n > 32)
		return _('Want 1..32 bytes');
	return null;
}

/* checkIfaceName: an entry of the interface list: a logical network of
 * /etc/config/network ("mesh") or a Linux interface name ("wlan0-1"). */
function checkIfaceName(s) {
	if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}$/.test(s || ''))
		return _('Want a network name: up to 15 letters, digits, underscores, dots or hyphens');
	return null;
}

/* checkNetworkName: a new logical interface of /etc/config/network. */
function checkNetworkName(s, existing) {
	if (!/^[a-zA-Z0-9_]{1,15}$/.test(s || ''))
		return _('Want 1..15 letters, digits or underscores');
	if ((existing || []).indexOf(s) >= 0)
		return _('A network with this name exists already');
	return null;
}

/* meshWifiPlan(opts, radios, networks): the uci changes that put a radio
 * in the mesh. opts: radio, mode ('mesh' 802.11s or 'adhoc'), id (mesh id
 * or SSID), network (new logical interface), key (SAE key, 802.11s only,
 * '' for an open mesh). radios: the wifi-device section names; networks:
 * the existing network interface names. Returns {errors: {field: reason}}
 * or {ops: [...]}, ops being
 *   {op: 'add', config, type, name, values}   a section with options
 *   {op: 'list_add', config, section, option, value}
 * which the settings view stages with uci.add/uci.set. */
function meshWifiPlan(opts, radios, networks) {
	const errors = {};
	let e;
	if ((radios || []).indexOf(opts.radio) < 0)
		errors.radio = _('Pick a radio');
	if (opts.mode !== 'mesh' && opts.mode !== 'adhoc')
		errors.mode = _('Pick 802.11s or ad-hoc');
	if ((e = checkSSID(opts.id)))
		errors.id = e;
	if ((e = checkNetworkName(opts.network, networks)))
		errors.network = e;
	if (opts.key && opts.mode !== 'mesh')
		errors.key = _('Ad-hoc networks are open: encryption needs 802.11s');
	else if (opts.key && (opts.key.length < 8 || opts.key.length > 63))
		errors.key = _('Want 8..63 characters');
	if (Object.keys(errors).length)
		return { errors: errors };

	const iface = { device: opts.radio, mode: opts.mode, network: opts.network };
	if (opts.mode === 'mesh') {
		iface.mesh_id = opts.id;
		iface.mesh_fwding = '0'; // ntkd routes; 802.11s must not forward on its own
		iface.encryption = opts.key ? 'sae' : 'none';
		if (opts.key)
			iface.key = opts.key;
	} else {
		iface.ssid = opts.id;
		iface.encryption = 'none';
	}
	return {
		ops: [
			// proto none: ntkd needs only the link-local address the kernel gives
			{ op: 'add', config: 'network', type: 'interface', name: opts.network, values: { proto: 'none' } },
			{ op: 'add', config: 'wireless', type: 'wifi-iface', name: null, values: iface },
			{ op: 'list_add', config: 'ntkd', section: 'main', option: 'interface', value: opts.network }
		]
	};
}

/* Topology. layout(status, maps, neighbours, level) places our node (or
 * gnode) in the middle, the rnodes around it and the level's other
 * elements on an outer ring next to their best gateway. At level 0 an
 * element that is itself a neighbour sits on the inner ring. */

function prefixHolds(prefix, addr) {
	const p = parsePrefix(prefix), a = parseIP(addr);
	return !!(p && a && p.v4 === a.v4 && inPrefix(a.bytes, p.bytes, p.bits));
}

function layout(st, maps, neighbours, level) {
	level = level || 0;
	const map = (maps || []).filter(function(l) { return l.level === level; })[0] || { elements: [] };
	const own = ((st && st.gnodes) || []).filter(function(g) { return g.level === level; })[0];
	const nodes = [], edges = [];
	const self = {
		key: 'self', kind: 'self', ring: 0,
		label: own ? String(own.id) : '?',
		title: level === 0 ? fmt(_('this node, %s'), (st && st.address) || _('no address yet'))
			: fmt(_('our gnode at level %d'), level)
	};
	nodes.push(self);

	// The rnodes: every neighbour, indexed by rnode number.
	const rnodes = {};
	(neighbours || []).slice().sort(function(a, b) { return a.rnode - b.rnode; }).forEach(function(n) {
		const node = {
			key: 'r' + n.rnode, kind: n.state === 'alive' ? 'rnode' : 'rnode-weak', ring: 1,
			label: n.address ? n.address.replace(/^.*[.:]/, '') : '#' + n.rnode,
			title: fmt(_('neighbour %s on %s, %s'), n.address || '#' + n.rnode, n.interface, stateLabel(n.state))
		};
		rnodes[n.rnode] = node;
		nodes.push(node);
		edges.push({ from: 'self', to: node.key, kind: 'link', cost: num(n.cost), title: fmt(_('link cost %s, RTT %s'), n.cost, fmtRTT(n.rtt_us)) });
	});

	// A route through an rnode we do not know (it went away) still gets one.
	const gateway = function(rt) {
		if (!rnodes[rt.rnode]) {
			const node = { key: 'r' + rt.rnode, kind: 'rnode-weak', ring: 1,
				label: rt.via ? rt.via.replace(/^.*[.:]/, '') : '#' + rt.rnode,
				title: fmt(_('gateway %s'), rt.via || '#' + rt.rnode) };
			rnodes[rt.rnode] = node;
			nodes.push(node);
		}
		return rnodes[rt.rnode];
	};

	(map.elements || []).slice().sort(function(a, b) { return a.id - b.id; }).forEach(function(el) {
		const routes = el.routes || [];
		let node = null;
		if (level === 0)
			(neighbours || []).forEach(function(n) {
				if (!node && n.address && prefixHolds(el.prefix, n.address))
					node = rnodes[n.rnode];
			});
		if (node) {
			node.label = String(el.id);
			node.title += ' · ' + el.prefix;
			return;
		}
		node = {
			key: 'e' + el.id, kind: routes.length ? 'element' : 'lost', ring: 2,
			label: String(el.id),
			title: fmt(level === 0 ? _('node %s') : _('gnode %s'), el.prefix) +
				(routes.length ? '' : ' · ' + _('no route'))
		};
		nodes.push(node);
		routes.forEach(function(rt, i) {
			const gw = gateway(rt);
			edges.push({ from: gw.key, to: node.key, kind: i === 0 ? 'best' : 'alt', cost: num(rt.cost),
				title: fmt(_('via %s, cost %s'), rt.via || '#' + rt.rnode, rt.cost) });
			if (i === 0)
				node.gateway = gw.key;
		});
	});

	// Positions: rings around the middle; the outer ring ordered by
	// gateway so that lines from one rnode fan out together.
	const ring1 = nodes.filter(function(n) { return n.ring === 1; });
	const order = {};
	ring1.forEach(function(n, i) { order[n.key] = i; });
	const ring2 = nodes.filter(function(n) { return n.ring === 2; }).sort(function(a, b) {
		const ga = a.gateway in order ? order[a.gateway] : 1e9, gb = b.gateway in order ? order[b.gateway] : 1e9;
		return ga - gb || (+a.label - +b.label);
	});
	const r1 = Math.max(90, ring1.length * 14), r2 = r1 + Math.max(110, ring2.length * 5);
	const margin = 70, size = 2 * ((ring2.length ? r2 : r1) + margin);
	const c = size / 2;
	self.x = c;
	self.y = c;
	const place = function(list, r) {
		list.forEach(function(n, i) {
			const a = -Math.PI / 2 + 2 * Math.PI * i / list.length;
			n.x = Math.round((c + r * Math.cos(a)) * 10) / 10;
			n.y = Math.round((c + r * Math.sin(a)) * 10) / 10;
		});
	};
	place(ring1, r1);
	place(ring2, r2);
	return { level: level, width: size, height: size, nodes: nodes, edges: edges };
}

const STYLE = {
	self: { r: 20, fill: '#2a7ab0' },
	rnode: { r: 15, fill: '#3c9a50' },
	'rnode-weak': { r: 15, fill: '#d08a1c' },
	element: { r: 11, fill: '#8a95a0' },
	lost: { r: 11, fill: '#c0392b' }
};

/* svg(layout): the picture as an SVG string, self-contained: presentation
 * attributes only (an inline <style> would leak into the page), no links,
 * no scripts, every text escaped. */
function svg(lay) {
	const at = {};
	lay.nodes.forEach(function(n) { at[n.key] = n; });
	const out = [];
	out.push('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ' + lay.width + ' ' + lay.height +
		'" width="100%" style="max-width:' + lay.width + 'px" role="img" aria-label="' +
		esc(fmt(_('Map of level %d'), lay.level)) + '">');
	out.push('<g fill="none">');
	lay.edges.forEach(function(e) {
		const a = at[e.from], b = at[e.to];
		const dash = e.kind === 'alt' ? ' stroke-dasharray="4 4"' : '';
		const width = e.kind === 'alt' ? 1 : 2;
		const color = e.kind === 'link' ? '#3c9a50' : '#8a95a0';
		out.push('<line x1="' + a.x + '" y1="' + a.y + '" x2="' + b.x + '" y2="' + b.y +
			'" stroke="' + color + '" stroke-width="' + width + '"' + dash + '><title>' + esc(e.title) + '</title></line>');
	});
	out.push('</g>');
	lay.edges.forEach(function(e) {
		if (e.kind === 'alt' || e.cost == null)
			return;
		const a = at[e.from], b = at[e.to];
		out.push('<text x="' + Math.round((a.x + b.x) / 2) + '" y="' + Math.round((a.y + b.y) / 2 - 3) +
			'" font-size="10" text-anchor="middle" fill="currentColor" opacity="0.7">' + esc(e.cost) + '</text>');
	});
	lay.nodes.forEach(function(n) {
		const s = STYLE[n.kind];
		out.push('<g><title>' + esc(n.title) + '</title><circle cx="' + n.x + '" cy="' + n.y + '" r="' + s.r +
			'" fill="' + s.fill + '" stroke="#fff" stroke-width="2"/><text x="' + n.x + '" y="' + (n.y + 4) +
			'" font-size="' + (n.ring === 2 ? 9 : 11) + '" text-anchor="middle" fill="#fff">' + esc(n.label) + '</text></g>');
	});
	// Legend.
	const legend = [
		[ 'self', lay.level === 0 ? _('this node') : _('our gnode') ],
		[ 'rnode', _('neighbour') ],
		[ 'rnode-weak', _('neighbour, not alive') ],
		[ 'element', lay.level === 0 ? _('node') : _('gnode') ],
		[ 'lost', _('no route') ]
	];
	legend.forEach(function(l, i) {
		const y = lay.height - 12 - (legend.length - 1 - i) * 16;
		out.push('<circle cx="14" cy="' + (y - 4) + '" r="5" fill="' + STYLE[l[0]].fill + '"/><text x="24" y="' + y +
			'" font-size="11" fill="currentColor">' + esc(l[1]) + '</text>');
	});
	out.push('</svg>');
	return out.join('');
}

function topology(st, maps, neighbours, level) {
	return svg(layout(st, maps, neighbours, level));
}

return baseclass.extend({
	esc: esc,
	fmt: fmt,
	unwrap: unwrap,
	fmtDuration: fmtDuration,
	fmtRTT: fmtRTT,
	fmtLoss: fmtLoss,
	fmtBitrate: fmtBitrate,
	fmtBytes: fmtBytes,
	fmtHex32: fmtHex32,
	signalQuality: signalQuality,
	stateLabel: stateLabel,
	statusInfo: statusInfo,
	gnodeRows: gnodeRows,
	interfaceRows: interfaceRows,
	neighbourRows: neighbourRows,
	routeRows: routeRows,
	vlinkRows: vlinkRows,
	andnaRows: andnaRows,
	gatewayInfo: gatewayInfo,
	gatewayRows: gatewayRows,
	resolveText: resolveText,
	parseIP: parseIP,
	parsePrefix: parsePrefix,
	parseSize: parseSize,
	checkPrefix: checkPrefix,
	checkMemoryLimit: checkMemoryLimit,
	checkName: checkName,
	checkHostPort: checkHostPort,
	checkSuffix: checkSuffix,
	checkWgKey: checkWgKey,
	checkEntryServer: checkEntryServer,
	checkCoordinate: checkCoordinate,
	checkEndpoint: checkEndpoint,
	checkPort: checkPort,
	checkIfaceName: checkIfaceName,
	checkGogc: checkGogc,
	checkMaxProcs: checkMaxProcs,
	checkTable: checkTable,
	checkAndnaPort: checkAndnaPort,
	checkRange: checkRange,
	checkProbeInterval: checkProbeInterval,
	checkProbe: checkProbe,
	checkUplink: checkUplink,
	checkDuration: checkDuration,
	checkAbsPath: checkAbsPath,
	checkNetworkKey: checkNetworkKey,
	checkSSID: checkSSID,
	checkNetworkName: checkNetworkName,
	meshWifiPlan: meshWifiPlan,
	prefixHolds: prefixHolds,
	layout: layout,
	svg: svg,
	topology: topology
});
