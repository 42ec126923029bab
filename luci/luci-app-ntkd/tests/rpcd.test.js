// The rpcd plugin under busybox ash without a daemon: `gateways` through a
// stand-in ntkd (tests/ntkd-stub.sh) answering docs/IGS.md's JSON, checked
// against check-rpcd.js's schema; a daemon without the command gives
// {"error": ...}. luci/test.sh runs the other methods against real daemons.
'use strict';

const test = require('node:test');
const assert = require('node:assert');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { check, SCHEMA } = require('./check-rpcd.js');

const root = path.join(__dirname, '..');
const plugin = path.join(root, 'root/usr/libexec/rpcd/ntkd');

function call(method, env) {
	const out = execFileSync('busybox', [ 'ash', plugin, 'call', method ], {
		input: '{}', encoding: 'utf8',
		env: Object.assign({}, process.env, {
			NTKD_BIN: path.join(__dirname, 'ntkd-stub.sh'), NTKD_CONF: '/nonexistent/ntkd.toml',
			JSHN: path.join(__dirname, 'jshn.sh'), NTKD_STUB_REAL: ''
		}, env)
	});
	return JSON.parse(out);
}

test('gateways: the daemon\'s answer as it is, with the documented fields', () => {
	for (const fixture of [ 'gateways', 'gateways-client' ]) {
		const v = call('gateways', { NTKD_STUB_GATEWAYS: fixture });
		assert.deepStrictEqual(check(v, SCHEMA.gateways, fixture), []);
		assert.deepStrictEqual(v, require(`./fixtures/${fixture}.json`));
	}
});

test('gateways: a daemon without the command gives an error', () => {
	const v = call('gateways', { NTKD_STUB_GATEWAYS: 'fail' });
	assert.deepStrictEqual(Object.keys(v), [ 'error' ]);
	assert.match(v.error, /^unknown command "gateways"/);
});
