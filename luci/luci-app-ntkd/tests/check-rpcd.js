// Checks the rpcd plugin's answers that luci/test.sh collected from a real
// ntkd (gateways: from tests/ntkd-stub.sh's canned docs/IGS.md answer):
// node check-rpcd.js DIR. Each DIR/METHOD.json must be one JSON
// object with the fields docs/CTL.md documents, of the documented types
// (fields it does not know are allowed: clients ignore new keys).
'use strict';

const fs = require('node:fs');
const path = require('node:path');

const int = 'int', num = 'number', str = 'string', bool = 'bool', obj = 'object';
const opt = (t) => ({ optional: t });
const arr = (t) => ({ array: t });

const gnode = { level: int, id: int, nonce: int, members: int };
const iface = { name: str, ifindex: opt(int), up: bool, kind: { oneOf: [ 'wired', 'adhoc', 'mesh', 'sta', 'ap', 'other' ] } };
const memory = { heap_alloc: int, heap_sys: int, heap_inuse: int, heap_released: int, metadata: int, stack_inuse: int, sys: int, limit: int, gc_cycles: int, goroutines: int };
const wifi = { signal_dbm: int, tx_bitrate: int, retry_ratio: num, fail_ratio: num, inactive_ms: int };
const neighbour = { interface: str, link_local: opt(str), address: opt(str), rnode: int, state: { oneOf: [ 'measuring', 'alive', 'suspect' ] },
	hooking: bool, rtt_us: int, loss: num, cost: int, penalty: num, wifi: opt(wifi) };
const level = { level: int, round: int, settled: bool, nonce: int, members: int,
	elements: arr({ id: int, prefix: str, routes: arr({ rnode: int, via: opt(str), cost: int }) }) };
const hop = { via: str, dev: str, weight: int, cost: opt(int) };
const route = { dst: str, hops: arr(hop) };
const vlink = { interface: str, public_key: str, endpoint: opt(str), listen_port: int, handshake_ago_sec: num,
	rx_bytes: int, tx_bytes: int, neighbour: bool, rtt_us: opt(int), error: opt(str) };
const count = { packets: int, bytes: int };
const andnaName = { name: str, state: str, expires_in_s: num, error: opt(str), hash: opt(str), public_key: opt(str) };

const SCHEMA = {
	status: { version: str, pid: int, uptime_s: num, state: { oneOf: [ 'idle', 'scanning', 'joining', 'hooked' ] },
		address: opt(str), prefix: str, gnodes: arr(gnode), interfaces: arr(iface), neighbours: int, routes: int, memory: memory },
	neighbours: { neighbours: arr(neighbour) },
	maps: { maps: arr(level) },
	'maps-0': { maps: arr(level) },
	routes: { table: int, ours: arr(route), kernel: arr(route), missing: arr(str), extra: arr(str) },
	qspn: { wait_round_s: num, levels: arr({ level: int, round: int, settled: bool }), rounds_wanted: { values: int },
		rehooks: int, rehook_why: { values: int }, gnodes_created: int, losses_sent: int, losses_held: int },
	vlinks: { enabled: bool, public_key: opt(str), links: arr(vlink) },
	counters: { sent: { values: count }, received: { values: count }, dropped: { values: int },
		kernel: { syncs: int, added: int, changed: int, removed: int, resyncs: int, errors: int } },
	andna_list: { andna_list: arr(andnaName) },
	andna_register: andnaName,
	andna_unregister: andnaName,
	andna_resolve: { name: str, address: str, ttl_s: num },
	andna_reverse: { address: str, names: arr(str), ttl_s: num },
	andna_cache: { andna_cache: arr({ name: opt(str), hash: str, owner: str, queued: int, counter: int, backup: bool, expires_in_s: num }) },
	andna_counters: { andna_counters: arr({ public_key: str, names: int }) },
	gateways: { sharing: { enabled: bool, uplink: str, up: bool, bandwidth: int, why: str }, own_default_route: bool, table: int,
		gateways: arr({ address: str, level: int, bandwidth: int, cost_ms: num, selected: bool, weight: opt(int) }), error: opt(str) }
};

// check(value, type, where): the list of problems.
function check(v, t, where) {
	if (t && t.optional)
		return v === undefined ? [] : check(v, t.optional, where);
	if (v === undefined)
		return [ `${where}: missing` ];
	if (t === int)
		return Number.isInteger(v) ? [] : [ `${where}: want an integer, got ${JSON.stringify(v)}` ];
	if (t === num)
		return typeof v === 'number' ? [] : [ `${where}: want a number, got ${JSON.stringify(v)}` ];
	if (t === str)
		return typeof v === 'string' ? [] : [ `${where}: want a string, got ${JSON.stringify(v)}` ];
	if (t === bool)
		return typeof v === 'boolean' ? [] : [ `${where}: want a boolean, got ${JSON.stringify(v)}` ];
	if (t.oneOf)
		return t.oneOf.includes(v) ? [] : [ `${where}: want one of ${t.oneOf.join(' ')}, got ${JSON.stringify(v)}` ];
	if (t.array) {
		if (!Array.isArray(v))
			return [ `${where}: want an array` ];
		return v.flatMap((x, i) => check(x, t.array, `${where}[${i}]`));
	}
	if (v === null || typeof v !== 'object' || Array.isArray(v))
		return [ `${where}: want an object` ];
	if (t.values)
		return Object.entries(v).flatMap(([ k, x ]) => check(x, t.values, `${where}.${k}`));
	return Object.entries(t).flatMap(([ k, tk ]) => check(v[k], tk, `${where}.${k}`));
}

// Facts of the two-node network luci/test.sh builds: node A asks, B is
// its neighbour, A registers luci-a, B registers luci-b.
const FACTS = {
	status: (s) => s.state === 'hooked' && s.neighbours === 1 && s.gnodes.length > 0 && s.interfaces.length === 1,
	neighbours: (n) => n.neighbours.length === 1 && n.neighbours[0].state === 'alive' && n.neighbours[0].interface === 'veth0',
	maps: (m) => m.maps.length === m.maps[m.maps.length - 1].level + 1,
	'maps-0': (m) => m.maps.length === 1 && m.maps[0].level === 0 && m.maps[0].elements.length === 1,
	andna_list: (l) => l.andna_list.some((n) => n.name === 'luci-a'),
	andna_resolve: (r) => r.name === 'luci-b',
	andna_reverse: (r) => r.names.includes('luci-b'),
	andna_register: (r) => r.name === 'luci-extra' && [ 'registering', 'registered' ].includes(r.state),
	andna_unregister: (r) => r.name === 'luci-extra' && r.state === 'unregistered',
	gateways: (g) => g.sharing.uplink === 'eth0' && g.gateways.length === 3 && g.gateways[0].selected
};

function main(dir) {
	let failed = 0;
	for (const [ method, schema ] of Object.entries(SCHEMA)) {
		const file = path.join(dir, method + '.json');
		let problems;
		try {
			const v = JSON.parse(fs.readFileSync(file, 'utf8'));
			if (v && typeof v.error === 'string')
				problems = [ `answered an error: ${v.error}` ];
			else {
				problems = check(v, schema, method);
				if (!problems.length && FACTS[method] && !FACTS[method](v))
					problems = [ `unexpected content: ${JSON.stringify(v).slice(0, 300)}` ];
			}
		} catch (e) {
			problems = [ String(e.message || e) ];
		}
		for (const p of problems)
			console.error(`${method}: ${p}`);
		console.log(`${problems.length ? 'FAIL' : 'ok  '} ${method}`);
		failed += problems.length ? 1 : 0;
	}
	return failed;
}

module.exports = { check, SCHEMA };

if (require.main === module) {
	const failed = main(process.argv[2]);
	process.exit(failed ? 1 : 0);
}
