// Tests of htdocs/luci-static/resources/ntkd/shape.js, the views' pure
// logic, on the daemon's JSON (fixtures captured from `ntkd ctl --json` in
// a 3-node lab, plus hand-made wifi and tunnel answers).
// Run: node --test luci/luci-app-ntkd/tests/   (node >= 18, no npm modules)
'use strict';

const test = require('node:test');
const assert = require('node:assert');
const path = require('node:path');
const fs = require('node:fs');
const { load } = require('./luci-stub.js');

const root = path.join(__dirname, '..');
const shape = load(path.join(root, 'htdocs/luci-static/resources/ntkd/shape.js'));
const fixture = (name) => JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', name + '.json'), 'utf8'));

const status = fixture('status');
const neighbours = fixture('neighbours');
const maps = fixture('maps');
const routes = fixture('routes');

// A tiny XML well-formedness check: tags balance, attributes are quoted,
// text holds no raw '<' or '&' that is not an entity.
function wellFormed(xml) {
	const stack = [];
	const re = /<(\/?)([a-zA-Z][\w-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|<|&(?!(?:amp|lt|gt|quot|#39);)/g;
	let m;
	while ((m = re.exec(xml)) !== null) {
		if (m[0] === '<' || m[0] === '&')
			throw new Error(`stray ${m[0]} at ${m.index}: ${xml.substr(m.index, 40)}`);
		if (m[1]) {
			const top = stack.pop();
			if (top !== m[2])
				throw new Error(`</${m[2]}> closes <${top}> at ${m.index}`);
		} else if (!m[4]) {
			stack.push(m[2]);
		}
	}
	if (stack.length)
		throw new Error(`unclosed: ${stack.join(' ')}`);
	return true;
}

test('esc makes text HTML-safe', () => {
	assert.strictEqual(shape.esc('<img src=x onerror="a">&\''), '&lt;img src=x onerror=&quot;a&quot;&gt;&amp;&#39;');
	assert.strictEqual(shape.esc(null), '');
	assert.strictEqual(shape.esc(0), '0');
});

test('unwrap: objects, wrapped arrays, errors', () => {
	assert.deepStrictEqual(shape.unwrap({ neighbours: neighbours }, 'neighbours'), { data: neighbours });
	assert.deepStrictEqual(shape.unwrap(status), { data: status });
	assert.deepStrictEqual(shape.unwrap({ error: 'cannot reach ntkd' }, 'neighbours'), { error: 'cannot reach ntkd' });
	assert.ok(shape.unwrap({}, 'maps').error);
	assert.ok(shape.unwrap(null).error);
	assert.ok(shape.unwrap(undefined, 'maps').error);
});

test('formatting', () => {
	assert.strictEqual(shape.fmtDuration(32.5), '32s');
	assert.strictEqual(shape.fmtDuration(125), '2m 5s');
	assert.strictEqual(shape.fmtDuration(7200 + 60), '2h 1m');
	assert.strictEqual(shape.fmtDuration(259183.46), '2d 23h');
	assert.strictEqual(shape.fmtDuration(-1), '-');
	assert.strictEqual(shape.fmtDuration(undefined), '-');
	assert.strictEqual(shape.fmtRTT(427), '0.43 ms');
	assert.strictEqual(shape.fmtRTT(31500), '31.5 ms');
	assert.strictEqual(shape.fmtRTT(250000), '250 ms');
	assert.strictEqual(shape.fmtRTT(0), '-');
	assert.strictEqual(shape.fmtLoss(0), '0 %');
	assert.strictEqual(shape.fmtLoss(0.125), '12.5 %');
	assert.strictEqual(shape.fmtLoss(1.5), '100 %');
	assert.strictEqual(shape.fmtBitrate(65000000), '65.0 Mbit/s');
	assert.strictEqual(shape.fmtBitrate(1.2e9), '1.20 Gbit/s');
	assert.strictEqual(shape.fmtBitrate(6000), '6 kbit/s');
	assert.strictEqual(shape.fmtBytes(474256), '463.1 KiB');
	assert.strictEqual(shape.fmtBytes(512), '512 B');
	assert.strictEqual(shape.fmtHex32(3824511401), 'e3f569a9');
	assert.strictEqual(shape.fmtHex32(1), '00000001');
	assert.strictEqual(shape.signalQuality(-40), 100);
	assert.strictEqual(shape.signalQuality(-67), 46);
	assert.strictEqual(shape.signalQuality(-95), 0);
	assert.strictEqual(shape.signalQuality(undefined), null);
	assert.strictEqual(shape.stateLabel('refused: 3'), 'refused (3)');
});

test('status: node facts, gnodes by level, interfaces', () => {
	const info = shape.statusInfo(status);
	const get = (k) => info.find((r) => r[0] === k)[1];
	assert.strictEqual(get('State'), 'hooked');
	assert.strictEqual(get('Address'), '10.191.41.17');
	assert.strictEqual(get('Mesh prefix'), '10.0.0.0/8');
	assert.strictEqual(get('Neighbours'), '2');
	assert.strictEqual(get('Uptime'), '32s');
	assert.strictEqual(shape.statusInfo({ state: 'scanning' }).find((r) => r[0] === 'Address')[1], 'none yet');

	assert.deepStrictEqual(shape.gnodeRows(status), [
		[ '0', 'node', '17', '3', '2f44aac5' ],
		[ '1', 'gnode', '41', '1', 'e3f569a9' ],
		[ '2', 'gnode', '191', '1', '2cf06cb1' ]
	]);
	assert.deepStrictEqual(shape.interfaceRows(status), [ [ 'n2', 'up', 'wired' ], [ 'n3', 'up', 'wired' ] ]);
	assert.deepStrictEqual(shape.interfaceRows({ interfaces: [ { name: 'mesh0', up: false, kind: 'mesh' } ] }),
		[ [ 'mesh0', 'missing', '802.11s mesh' ] ]);
});

test('neighbours: cost, RTT, loss, wifi signal and bitrate', () => {
	assert.deepStrictEqual(shape.neighbourRows(neighbours), [
		[ '0', 'n2', '10.191.41.133', 'alive', '1292', '0.43 ms', '0 %', '-', '-', '-' ],
		[ '1', 'n3', '10.191.41.105', 'alive', '1165', '0.38 ms', '0 %', '-', '-', '-' ]
	]);
	assert.deepStrictEqual(shape.neighbourRows(fixture('neighbours-wifi')), [
		[ '0', 'mesh0', 'hooking', 'measuring (hooking)', '0', '-', '0 %', '-', '-', '-' ],
		[ '2', 'mesh0', '10.4.7.9', 'suspect', '3120', '2.48 ms', '12.5 %', '-67 dBm', '65.0 Mbit/s', '\u00d71.35' ]
	]);
	const evil = shape.neighbourRows([ { rnode: 0, interface: '<script>', state: 'alive' } ]);
	assert.strictEqual(evil[0][1], '&lt;script&gt;');
});

test('routes: installed, missing, extra', () => {
	const rows = shape.routeRows(routes);
	assert.deepStrictEqual(rows, [
		[ '10.191.41.105/32', '10.191.41.105 dev n3 weight 100 cost 1165', 'installed' ],
		[ '10.191.41.133/32', '10.191.41.133 dev n2 weight 100 cost 1292<br />10.191.41.105 dev n3 weight 54 cost 2375', 'installed' ]
	]);
	const broken = Object.assign({}, routes, { missing: [ '10.191.41.105/32' ], extra: [ '10.9.9.9/32' ] });
	const r2 = shape.routeRows(broken);
	assert.strictEqual(r2[0][2], 'missing from the kernel');
	assert.deepStrictEqual(r2[2], [ '10.9.9.9/32', '-', 'in the kernel, not wanted' ]);
});

test('virtual links', () => {
	assert.deepStrictEqual(shape.vlinkRows(fixture('vlinks')), []);
	assert.deepStrictEqual(shape.vlinkRows(fixture('vlinks-enabled')), [
		[ 'ntkv0', 'FfYCXBOnNccsIra4nFZjnrm0oSN5vXHSCVwnFj+icIw=', '198.51.100.7:27000', '27000', '42s ago', '31.5 ms', '1.5 MiB / 20.0 KiB', 'neighbour' ],
		[ 'ntkv1', 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=', '-', '27001', 'never', '-', '0 B / 0 B', 'error: no such device &lt;ntkv1&gt;' ]
	]);
});

test('Internet gateways: this node, the candidates', () => {
	const g = fixture('gateways');
	assert.deepStrictEqual(shape.gatewayInfo(g), [
		[ 'Shares its Internet uplink', 'yes, through eth0: up' ],
		[ 'Announced bandwidth', '10.0 Mbit/s' ],
		[ 'Last probe', 'probe 203.0.113.1:80 answered' ],
		[ 'Internet route', 'its own default route (the gateways are not used)' ]
	]);
	assert.deepStrictEqual(shape.gatewayRows(g), [
		[ '10.1.1.5', '0', '50.0 Mbit/s', '3.20 ms', 'yes, weight 3' ],
		[ '10.1.2.9', '1', '20.0 Mbit/s', '12.8 ms', 'yes, weight 1' ],
		[ '10.2.0.1', '2', '8.0 Mbit/s', '40.0 ms', 'no' ]
	]);
	const c = fixture('gateways-client');
	assert.deepStrictEqual(shape.gatewayInfo(c), [
		[ 'Shares its Internet uplink', 'no' ],
		[ 'Internet route', 'through the gateways marked used (table 110)' ],
		[ 'Error', 'route add: no such device &lt;ntkgw&gt;' ]
	]);
	assert.deepStrictEqual(shape.gatewayRows(c), []);
	// A gateway whose uplink is down, found by the default route.
	const down = shape.gatewayInfo({ sharing: { enabled: true, uplink: '', up: false, bandwidth: 0, why: 'no default route' }, gateways: [] });
	assert.deepStrictEqual(down.slice(0, 3), [
		[ 'Shares its Internet uplink', 'yes, through the default route: down' ],
		[ 'Announced bandwidth', '-' ],
		[ 'Last probe', 'no default route' ]
	]);
	assert.strictEqual(shape.gatewayRows({ gateways: [ { address: '<b>', level: 0, selected: false } ] })[0][0], '&lt;b&gt;');
});

test('ANDNA: names and resolutions', () => {
	assert.deepStrictEqual(shape.andnaRows(fixture('andna-list')), [ [ 'n1', 'registered', '2d 23h', '' ] ]);
	assert.deepStrictEqual(shape.andnaRows([ fixture('andna-register'), { name: 'a', state: 'refused: 2', expires_in_s: 0, error: 'x' } ]), [
		[ 'a', 'refused (2)', '-', 'x' ],
		[ 'extra-name', 'registering', '-', '' ]
	]);
	assert.strictEqual(shape.resolveText(fixture('andna-resolve')), 'n3 is 10.191.41.105 (valid for 2d 23h more)');
	assert.strictEqual(shape.resolveText(fixture('andna-reverse')), '10.191.41.105 is n3 (valid for 2d 23h more)');
	assert.strictEqual(shape.resolveText({ error: 'resolving "x": andna: name not found' }), 'Not resolved: resolving "x": andna: name not found');
});

test('addresses and prefixes parse', () => {
	assert.deepStrictEqual(shape.parseIP('10.1.2.3'), { v4: true, bytes: [ 10, 1, 2, 3 ] });
	assert.strictEqual(shape.parseIP('10.1.2.256'), null);
	assert.strictEqual(shape.parseIP('10.01.2.3'), null);
	assert.deepStrictEqual(shape.parseIP('fd00::1').bytes, [ 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 ]);
	assert.deepStrictEqual(shape.parseIP('::ffff:10.0.0.1').bytes.slice(10), [ 0xff, 0xff, 10, 0, 0, 1 ]);
	assert.strictEqual(shape.parseIP('1:2:3:4:5:6:7:8:9'), null);
	assert.strictEqual(shape.parseIP('1::2::3'), null);
	assert.strictEqual(shape.parseIP('fd00:::1'), null);
	assert.strictEqual(shape.parseIP('1:2:3:4:5:6:7'), null);
	assert.ok(shape.parseIP('1:2:3:4:5:6:7::'));
	assert.ok(shape.prefixHolds('10.191.41.105/32', '10.191.41.105'));
	assert.ok(!shape.prefixHolds('10.191.41.105/32', '10.191.41.106'));
	assert.ok(shape.prefixHolds('10.191.0.0/16', '10.191.41.106'));
	assert.ok(!shape.prefixHolds('fd00::/8', '10.0.0.1'));
});

test('settings validators', () => {
	for (const ok of [ '10.0.0.0/8', '10.42.0.0/16', '172.16.0.0/12', '172.31.255.0/24', 'fd00::/8', 'fc00::/7', 'fd12:3456::/32', '10.0.0.0/30' ])
		assert.strictEqual(shape.checkPrefix(ok), null, ok);
	for (const bad of [ '', '10.0.0.0', '192.168.0.0/16', '172.32.0.0/12', '10.0.0.0/7', '10.0.0.1/8', '2001:db8::/32',
		'fe80::/10', '10.0.0.0/31', 'fd00::/127', 'x/8', '10.0.0.0/33' ])
		assert.ok(shape.checkPrefix(bad), bad);

	assert.strictEqual(shape.parseSize('16MiB'), 16 << 20);
	assert.strictEqual(shape.parseSize(' 512 KiB '), 512 << 10);
	assert.strictEqual(shape.parseSize('0'), 0);
	assert.strictEqual(shape.parseSize('16'), null);
	assert.strictEqual(shape.parseSize('16MB'), null);
	for (const ok of [ '0', '4MiB', '16MiB', '1GiB', '8192KiB' ])
		assert.strictEqual(shape.checkMemoryLimit(ok), null, ok);
	for (const bad of [ '', '3MiB', '6KiB', '16mb', '-1MiB', '16', '1.5MiB' ])
		assert.ok(shape.checkMemoryLimit(bad), bad);

	for (const ok of [ 'myrouter', 'files.myrouter', 'a-b.c0', 'x'.repeat(63) ])
		assert.strictEqual(shape.checkName(ok), null, ok);
	for (const bad of [ '', 'My', 'a..b', '.a', 'a.', '-a', 'a-', 'a_b', 'a b', 'x'.repeat(64), ('a.').repeat(127) + 'a', 'é' ])
		assert.ok(shape.checkName(bad), bad);

	assert.strictEqual(shape.checkHostPort('127.0.0.1:5373'), null);
	assert.strictEqual(shape.checkHostPort('[fd00::1]:53'), null);
	assert.strictEqual(shape.checkHostPort('', true), null);
	for (const bad of [ '', '127.0.0.1', 'localhost:53', '127.0.0.1:0', '127.0.0.1:65536', 'fd00::1:53' ])
		assert.ok(shape.checkHostPort(bad), bad);

	assert.strictEqual(shape.checkWgKey('FfYCXBOnNccsIra4nFZjnrm0oSN5vXHSCVwnFj+icIw='), null);
	for (const bad of [ '', 'FfYCXBOnNccsIra4nFZjnrm0oSN5vXHSCVwnFj+icIw', 'FfYCXBOnNccsIra4nFZjnrm0oSN5vXHSCVwnFj+icIx=', 'FfYCXBOnNccsIra4nFZjnrm0oSN5vXHSCVwnFj+ic$w=' ])
		assert.ok(shape.checkWgKey(bad), bad);
	for (const ok of [ 'mesh', 'ntk_mesh', 'wlan0-1', 'eth0.2', 'x'.repeat(15) ])
		assert.strictEqual(shape.checkIfaceName(ok), null, ok);
	for (const bad of [ '', '-x', 'a b', 'a/b', 'x'.repeat(16), 'a;b' ])
		assert.ok(shape.checkIfaceName(bad), bad);
	assert.strictEqual(shape.checkGogc('25'), null);
	assert.strictEqual(shape.checkGogc('-1', '16MiB'), null);
	for (const [ g, lim ] of [ [ '0', '' ], [ '-2', '' ], [ 'x', '' ], [ '-1', '0' ], [ '2.5', '' ] ])
		assert.ok(shape.checkGogc(g, lim), g + ' ' + lim);
	assert.strictEqual(shape.checkMaxProcs('0'), null);
	assert.ok(shape.checkMaxProcs('257'));
	assert.strictEqual(shape.checkTable('main'), null);
	assert.strictEqual(shape.checkTable('100'), null);
	for (const bad of [ '0', '253', 'local', '' ])
		assert.ok(shape.checkTable(bad), bad);
	assert.strictEqual(shape.checkAndnaPort('277', '269', '269'), null);
	assert.strictEqual(shape.checkAndnaPort('277', '', ''), null);
	assert.ok(shape.checkAndnaPort('269', '', ''));
	assert.ok(shape.checkAndnaPort('300', '269', '300'));
	assert.ok(shape.checkAndnaPort('0', '269', '269'));
	for (const ok of [ '25s', '0s', '1m30s', '2h', '500ms' ])
		assert.strictEqual(shape.checkDuration(ok, 65535), null, ok);
	for (const bad of [ '', '25', '1.5s', '19h', 's', '5 s' ])
		assert.ok(shape.checkDuration(bad, 65535), bad);
	assert.strictEqual(shape.checkAbsPath('/etc/ntkd'), null);
	assert.strictEqual(shape.checkNetworkKey('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f'), null);
	assert.strictEqual(shape.checkNetworkKey('/etc/ntkd/network.key'), null);
	for (const bad of [ '', 'secret', '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1', 'z'.repeat(64), 'etc/key' ])
		assert.ok(shape.checkNetworkKey(bad), bad);
	assert.ok(shape.checkAbsPath('etc/ntkd'));
	assert.strictEqual(shape.checkPort('27000'), null);
	assert.strictEqual(shape.checkPort('0', true), null);
	assert.ok(shape.checkPort('0'));
	assert.ok(shape.checkPort('65536', true));
});

test('IGS validators: the ranges of internal/config', () => {
	for (const ok of [ '1', '10000', '100000000' ])
		assert.strictEqual(shape.checkRange(ok, 1, 100000000), null, ok);
	for (const bad of [ '0', '100000001', '-5', '1.5', '10 Mbit', '' ])
		assert.ok(shape.checkRange(bad, 1, 100000000), bad);
	assert.strictEqual(shape.checkRange('4', 1, 4), null);
	assert.ok(shape.checkRange('5', 1, 4));
	for (const ok of [ '1s', '10s', '1m30s', '10m', '1000ms' ])
		assert.strictEqual(shape.checkProbeInterval(ok), null, ok);
	for (const bad of [ '0s', '500ms', '10m1s', '1h', '10', 'often' ])
		assert.ok(shape.checkProbeInterval(bad), bad);
	assert.strictEqual(shape.checkProbe('203.0.113.1:80'), null);
	assert.strictEqual(shape.checkProbe('[2001:db8::1]:443'), null);
	for (const bad of [ '203.0.113.1', 'example.com:80', '203.0.113.1:0' ])
		assert.ok(shape.checkProbe(bad), bad);
	assert.strictEqual(shape.checkUplink('wan', [ 'mesh', 'eth2' ]), null);
	assert.strictEqual(shape.checkUplink('eth1'), null);
	assert.ok(shape.checkUplink('eth2', [ 'mesh', 'eth2' ]));
	assert.ok(shape.checkUplink('wan 2'));
});

test('mesh wifi helper plans the uci changes', () => {
	const radios = [ 'radio0', 'radio1' ];
	const nets = [ 'lan', 'wan' ];
	const plan = shape.meshWifiPlan({ radio: 'radio1', mode: 'mesh', id: 'ntk-mesh', network: 'ntkmesh', key: 'secret123' }, radios, nets);
	assert.deepStrictEqual(plan, { ops: [
		{ op: 'add', config: 'network', type: 'interface', name: 'ntkmesh', values: { proto: 'none' } },
		{ op: 'add', config: 'wireless', type: 'wifi-iface', name: null, values: {
			device: 'radio1', mode: 'mesh', network: 'ntkmesh', mesh_id: 'ntk-mesh', mesh_fwding: '0', encryption: 'sae', key: 'secret123' } },
		{ op: 'list_add', config: 'ntkd', section: 'main', option: 'interface', value: 'ntkmesh' }
	] });
	const adhoc = shape.meshWifiPlan({ radio: 'radio0', mode: 'adhoc', id: 'netsukuku', network: 'ntkadhoc', key: '' }, radios, nets);
	assert.deepStrictEqual(adhoc.ops[1].values, { device: 'radio0', mode: 'adhoc', network: 'ntkadhoc', ssid: 'netsukuku', encryption: 'none' });

	const bad = shape.meshWifiPlan({ radio: 'radio9', mode: 'ap', id: '', network: 'lan', key: 'short' }, radios, nets);
	assert.deepStrictEqual(Object.keys(bad.errors).sort(), [ 'id', 'key', 'mode', 'network', 'radio' ]);
	assert.ok(!bad.ops);
	assert.ok(shape.meshWifiPlan({ radio: 'radio0', mode: 'adhoc', id: 'x', network: 'n', key: 'secret123' }, radios, nets).errors.key);
	assert.ok(shape.meshWifiPlan({ radio: 'radio0', mode: 'mesh', id: 'x'.repeat(33), network: 'n' }, radios, nets).errors.id);
	assert.ok(shape.meshWifiPlan({ radio: 'radio0', mode: 'mesh', id: 'x', network: 'bad-name' }, radios, nets).errors.network);
});

test('topology layout: level 0 of the lab', () => {
	const lay = shape.layout(status, maps, neighbours, 0);
	// us, and the two neighbours, which are also the level's two elements
	assert.deepStrictEqual(lay.nodes.map((n) => [ n.key, n.kind, n.ring, n.label ]), [
		[ 'self', 'self', 0, '17' ],
		[ 'r0', 'rnode', 1, '133' ],
		[ 'r1', 'rnode', 1, '105' ]
	]);
	assert.deepStrictEqual(lay.edges.map((e) => [ e.from, e.to, e.kind, e.cost ]), [
		[ 'self', 'r0', 'link', 1292 ],
		[ 'self', 'r1', 'link', 1165 ]
	]);
	for (const n of lay.nodes) {
		assert.ok(Number.isFinite(n.x) && Number.isFinite(n.y), n.key);
		assert.ok(n.x >= 0 && n.x <= lay.width && n.y >= 0 && n.y <= lay.height, n.key);
	}
	assert.deepStrictEqual([ lay.nodes[0].x, lay.nodes[0].y ], [ lay.width / 2, lay.height / 2 ]);
});

test('topology layout: far nodes hang on their best gateway', () => {
	const lvl0 = { level: 0, elements: [
		{ id: 133, prefix: '10.191.41.133/32', routes: [ { rnode: 0, via: '10.191.41.133', cost: 1292 } ] },
		{ id: 7, prefix: '10.191.41.7/32', routes: [ { rnode: 1, via: '10.191.41.105', cost: 2000 }, { rnode: 0, via: '10.191.41.133', cost: 3000 } ] },
		{ id: 9, prefix: '10.191.41.9/32', routes: [ { rnode: 5, via: '10.191.41.200', cost: 4000 } ] },
		{ id: 11, prefix: '10.191.41.11/32', routes: [] }
	] };
	const lay = shape.layout(status, [ lvl0 ], neighbours, 0);
	const byKey = Object.fromEntries(lay.nodes.map((n) => [ n.key, n ]));
	assert.strictEqual(byKey.e7.gateway, 'r1');
	assert.strictEqual(byKey.e9.gateway, 'r5'); // a gateway no longer among the neighbours
	assert.strictEqual(byKey.r5.kind, 'rnode-weak');
	assert.strictEqual(byKey.e11.kind, 'lost');
	assert.strictEqual(byKey.e11.gateway, undefined);
	assert.deepStrictEqual(lay.edges.filter((e) => e.to === 'e7').map((e) => [ e.from, e.kind ]), [ [ 'r1', 'best' ], [ 'r0', 'alt' ] ]);
	// outer ring: grouped by gateway order r0, r1, r5, then unreachable
	const ring2 = lay.nodes.filter((n) => n.ring === 2);
	assert.strictEqual(ring2.length, 3);
	const keys = new Set(lay.nodes.map((n) => n.key));
	assert.strictEqual(keys.size, lay.nodes.length, 'node keys are unique');
	for (const e of lay.edges)
		assert.ok(keys.has(e.from) && keys.has(e.to), `${e.from}->${e.to}`);
});

test('topology layout: upper levels show gnodes', () => {
	const up = [ { level: 1, elements: [ { id: 3, prefix: '10.191.3.0/24', routes: [ { rnode: 1, via: '10.191.41.105', cost: 5000 } ] } ] } ];
	const lay = shape.layout(status, up, neighbours, 1);
	assert.strictEqual(lay.nodes[0].label, '41');
	const g = lay.nodes.find((n) => n.key === 'e3');
	assert.strictEqual(g.ring, 2);
	assert.match(g.title, /gnode 10\.191\.3\.0\/24/);
	// an empty level: only us and the neighbours
	assert.strictEqual(shape.layout(status, maps, neighbours, 2).nodes.length, 3);
	// nothing at all still draws
	assert.strictEqual(shape.layout(null, null, null, 0).nodes.length, 1);
});

test('topology SVG: well-formed, self-contained, escaped, deterministic', () => {
	const out = shape.topology(status, maps, neighbours, 0);
	assert.ok(out.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'));
	assert.ok(wellFormed(out));
	assert.strictEqual((out.match(/<circle /g) || []).length, 3 + 5); // nodes + legend
	assert.strictEqual((out.match(/<line /g) || []).length, 2);
	assert.ok(!/NaN|undefined|<script|href|url\(|<style|https?:\/\/(?!www\.w3\.org\/2000\/svg)/.test(out));
	assert.strictEqual(out, shape.topology(status, maps, neighbours, 0));

	const evil = JSON.parse(JSON.stringify(neighbours));
	evil[0].interface = '"><script>alert(1)</script>';
	evil[0].address = '10.191.41.133<b>';
	const bad = shape.topology(status, maps, evil, 0);
	assert.ok(wellFormed(bad));
	assert.ok(!bad.includes('<script>') && !bad.includes('<b>'));
	assert.ok(bad.includes('&lt;script&gt;'));
});

test('topology SVG of a full level stays well-formed', () => {
	const elements = [];
	for (let id = 1; id < 255; id++)
		if (id !== 17)
			elements.push({ id, prefix: `10.191.41.${id}/32`, routes: [ { rnode: id % 2, via: id % 2 ? '10.191.41.105' : '10.191.41.133', cost: 1000 + id } ] });
	const lay = shape.layout(status, [ { level: 0, elements } ], neighbours, 0);
	assert.strictEqual(lay.nodes.length, 1 + 2 + 251);
	assert.ok(wellFormed(shape.svg(lay)));
});

// The settings form's [limits] fields against the daemon: one per option
// ntkd/uci.go renders into limits.*, each refusing what
// internal/config/validate.go refuses (its intRange bounds, whole numbers
// only), empty allowed, the default of internal/config/config.go as the
// placeholder; streams per source at most the streams in all.
test('settings: the limits fields have the daemon\'s ranges and defaults', () => {
	const repo = path.join(root, '../..');
	const src = (f) => fs.readFileSync(path.join(repo, f), 'utf8');
	const num = (s) => s.split('<<').map(Number).reduce((a, b) => a * 2 ** b);
	const ranges = new Map([ ...src('internal/config/validate.go')
		.matchAll(/v\.intRange\("limits\.(\w+)", lim\.\w+, ([\d<]+), ([\d<]+)\)/g) ].map((m) => [ m[1], [ num(m[2]), num(m[3]) ] ]));
	const cfg = src('internal/config/config.go');
	const tags = new Map([ ...cfg.slice(cfg.indexOf('type Limits struct')).split('\n}')[0]
		.matchAll(/(\w+)\s+int\s+`toml:"(\w+)"`/g) ].map((m) => [ m[1], m[2] ]));
	const defaults = new Map([ ...cfg.match(/Limits: Limits\{([^}]*)\}/)[1].matchAll(/(\w+): (\d+)/g) ]
		.map((m) => [ tags.get(m[1]), m[2] ]));
	const uciKeys = [ ...src('ntkd/uci.go').matchAll(/\{"limits", "(\w+)", "limits\.(\w+)", 'i'\}/g) ];
	assert.strictEqual(ranges.size, 11, 'the limits of validate.go');
	assert.deepStrictEqual([ ...defaults.keys() ].sort(), [ ...ranges.keys() ].sort(), 'a default for each');
	assert.deepStrictEqual(uciKeys.map((m) => m[1]).sort(), [ ...ranges.keys() ].sort(), 'uci-render renders each');
	for (const m of uciKeys)
		assert.strictEqual(m[1], m[2]);

	// The form, with the values being typed in formvalue.
	const typed = {};
	const fields = new Map();
	const section = (type) => ({
		tab() {},
		option(cls, name) {
			const o = { value() {}, section: { formvalue: (sid, n) => typed[n] || '' } };
			if (type === 'limits')
				fields.set(name, o);
			return o;
		},
		taboption(tab, cls, name) { return this.option(cls, name); }
	});
	const form = { Map: function() {
		return { section: (cls, a, b) => section(cls === 'grid' ? a : b), render: () => 'rendered' };
	}, NamedSection: 'named', GridSection: 'grid', Flag: 1, Value: 1, ListValue: 1, DynamicList: 1, Button: 1 };
	const stubs = {
		view: { extend: (o) => o }, form, ui: {}, 'ntkd.shape': shape,
		uci: { load: () => Promise.resolve(), get() {}, sections: () => [] }
	};
	const L = { hasViewPermission: () => true, bind: (f, self, ...a) => f.bind(self, ...a), toArray: (x) => [].concat(x || []) };
	assert.strictEqual(load(path.join(root, 'htdocs/luci-static/resources/view/ntkd/settings.js'), stubs, { L }).render(), 'rendered');

	assert.deepStrictEqual([ ...fields.keys() ].sort(), [ ...ranges.keys() ].sort(), 'a field for each limit');
	const ok = (name, v) => fields.get(name).validate('limits', v) === true;
	// The other of max_conns and max_conns_per_source out of the way.
	Object.assign(typed, { max_conns: '4096', max_conns_per_source: '1' });
	for (const [ name, [ lo, hi ] ] of ranges) {
		const f = fields.get(name);
		assert.strictEqual(f.placeholder, defaults.get(name), `${name}: placeholder`);
		assert.ok(ok(name, ''), `${name}: empty is the default`);
		assert.ok(ok(name, String(lo)) && ok(name, String(hi)) && ok(name, defaults.get(name)), `${name}: ${lo}..${hi}`);
		for (const bad of [ String(lo - 1), String(hi + 1), '1.5', '1e2', '-1', 'x', ' 8' ])
			assert.strictEqual(typeof f.validate('limits', bad), 'string', `${name}: ${JSON.stringify(bad)} refused`);
	}
	typed.max_conns = '8';
	delete typed.max_conns_per_source;
	assert.ok(ok('max_conns_per_source', '8'));
	typed.max_conns_per_source = '9';
	assert.match(fields.get('max_conns_per_source').validate('limits', '9'), /\(9\).*\(8\)/);
	assert.strictEqual(typeof fields.get('max_conns').validate('limits', '8'), 'string');
	delete typed.max_conns_per_source;
	typed.max_conns = '3'; // below the default 4 per source
	assert.strictEqual(typeof fields.get('max_conns').validate('limits', '3'), 'string');
	assert.ok(ok('max_conns_per_source', '2'));
});

// The vlayer section's entry fields against internal/config's
// validateEntry: an entry server is "IP:port KEY", at most 8; latitude
// -90..90 and longitude -180..180, both or neither; an entry node needs
// its endpoint and an entry server.
test('settings: the vlayer entry fields', () => {
	const key = 'A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=';
	for (const ok of [ '198.51.100.2:27100 ' + key, '[2001:db8::2]:27100  ' + key ])
		assert.strictEqual(shape.checkEntryServer(ok), null, ok);
	for (const bad of [ '', '198.51.100.2:27100', key, 'entry.example.org:27100 ' + key, '198.51.100.2 ' + key,
		'198.51.100.2:27100 short', '198.51.100.2:27100 ' + key + ' extra' ])
		assert.ok(shape.checkEntryServer(bad), bad);
	for (const [ v, max, other ] of [ [ '45.46', 90, '9' ], [ '-90', 90, '0' ], [ '180', 180, '0' ], [ '+0.5', 180, '1' ], [ '', 90, '' ], [ '45.', 90, '1' ] ])
		assert.strictEqual(shape.checkCoordinate(v, max, other), null, v);
	for (const [ v, max, other ] of [ [ '90.1', 90, '0' ], [ '-181', 180, '0' ], [ 'north', 90, '0' ], [ '45,46', 90, '0' ],
		[ '1e1', 90, '0' ], [ '45', 90, '' ], [ '', 180, '45' ], [ 'NaN', 90, '0' ] ])
		assert.ok(shape.checkCoordinate(v, max, other), `${v} (other ${JSON.stringify(other)})`);
	assert.strictEqual(shape.checkEndpoint('', false, 0), null);
	assert.strictEqual(shape.checkEndpoint('203.0.113.5:27000', true, 1), null);
	assert.ok(shape.checkEndpoint('', true, 1));
	assert.ok(shape.checkEndpoint('203.0.113.5:27000', true, 0));
	assert.ok(shape.checkEndpoint('me.example.org:27000', false, 0));

	// The form's fields, with the values being typed in formvalue.
	const typed = {};
	const fields = new Map();
	const section = (type) => ({
		tab() {},
		option(cls, name) {
			const o = { value() {}, section: { formvalue: (sid, n) => typed[n] === undefined ? '' : typed[n] } };
			if (type === 'vlayer')
				fields.set(name, o);
			return o;
		},
		taboption(tab, cls, name) { return this.option(cls, name); }
	});
	const form = { Map: function() {
		return { section: (cls, a, b) => section(cls === 'grid' ? a : b), render: () => 'rendered' };
	}, NamedSection: 'named', GridSection: 'grid', Flag: 1, Value: 1, ListValue: 1, DynamicList: 1, Button: 1 };
	const stubs = {
		view: { extend: (o) => o }, form, ui: {}, 'ntkd.shape': shape,
		uci: { load: () => Promise.resolve(), get() {}, sections: () => [] }
	};
	const L = { hasViewPermission: () => true, bind: (f, self, ...a) => f.bind(self, ...a), toArray: (x) => [].concat(x || []) };
	assert.strictEqual(load(path.join(root, 'htdocs/luci-static/resources/view/ntkd/settings.js'), stubs, { L }).render(), 'rendered');
	for (const f of [ 'entry_server', 'latitude', 'longitude', 'entry_node', 'endpoint' ])
		assert.ok(fields.has(f), `a field for ${f}`);
	const check = (name, v) => fields.get(name).validate('vlayer', v);
	typed.entry_server = [ '198.51.100.2:27100 ' + key ];
	assert.strictEqual(check('entry_server', typed.entry_server[0]), true);
	assert.strictEqual(typeof check('entry_server', '198.51.100.2:27100'), 'string');
	typed.entry_server = Array(9).fill('198.51.100.2:27100 ' + key);
	assert.match(check('entry_server', typed.entry_server[0]), /8/);
	typed.longitude = '9.19';
	assert.strictEqual(check('latitude', '45.46'), true);
	assert.strictEqual(typeof check('latitude', '91'), 'string');
	assert.strictEqual(typeof check('latitude', ''), 'string', 'longitude without latitude');
	typed.latitude = '45.46';
	assert.strictEqual(check('longitude', '9.19'), true);
	assert.strictEqual(typeof check('longitude', '181'), 'string');
	typed.entry_node = '1';
	typed.entry_server = [ '198.51.100.2:27100 ' + key ];
	assert.strictEqual(typeof check('endpoint', ''), 'string');
	assert.strictEqual(check('endpoint', '203.0.113.5:27000'), true);
	typed.entry_server = [];
	assert.strictEqual(typeof check('endpoint', '203.0.113.5:27000'), 'string');
	typed.entry_node = '0';
	assert.strictEqual(check('endpoint', ''), true);
});
