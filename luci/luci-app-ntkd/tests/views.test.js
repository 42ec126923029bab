// The views and the rest of the package, without a browser: every JS file
// parses as LuCI compiles it, every view evaluates against stub LuCI
// modules and returns a view; the rpc methods the views declare are the
// ones the rpcd plugin lists and the ACL grants (reads under "read",
// register/unregister under "write"); every menu entry names a view that
// exists; every JSON file of the package parses.
'use strict';

const test = require('node:test');
const assert = require('node:assert');
const path = require('node:path');
const fs = require('node:fs');
const { execFileSync } = require('node:child_process');
const { compile, load, requires } = require('./luci-stub.js');

const root = path.join(__dirname, '..');
const res = path.join(root, 'htdocs/luci-static/resources');
const viewDir = path.join(res, 'view/ntkd');
const views = fs.readdirSync(viewDir).filter((f) => f.endsWith('.js')).sort();

function walk(dir) {
	return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
		e.isDirectory() ? walk(path.join(dir, e.name)) : [ path.join(dir, e.name) ]);
}

// Stubs of the LuCI modules the views require; rpc records the declarations.
function stubs(declared) {
	const passthrough = { extend: (o) => o };
	const widget = function() { return { value() {}, render() {} }; };
	return {
		view: passthrough,
		rpc: { declare: (d) => { declared.push(d); return () => Promise.resolve({}); } },
		poll: { add() {} },
		dom: { content() {} },
		ui: { createHandlerFn() {}, addNotification() {}, showModal() {}, hideModal() {} },
		uci: { load: () => Promise.resolve(), get() {}, sections: () => [] },
		form: { Map: widget, NamedSection: 1, GridSection: 1, Flag: 1, Value: 1, ListValue: 1, DynamicList: 1, Button: 1 },
		'ntkd.shape': load(path.join(res, 'ntkd/shape.js'))
	};
}
const L = { hasViewPermission: () => true, bind: (f, self, ...a) => f.bind(self, ...a), resolveDefault: (p) => p, toArray: (x) => [].concat(x || []) };

test('there are the five views', () => {
	assert.deepStrictEqual(views, [ 'andna.js', 'settings.js', 'status.js', 'topology.js', 'vlinks.js' ]);
});

test('every JS file parses as LuCI compiles it', () => {
	for (const f of walk(path.join(root, 'htdocs')).filter((f) => f.endsWith('.js'))) {
		assert.doesNotThrow(() => compile(f), f);
		const src = fs.readFileSync(f, 'utf8');
		assert.ok(src.startsWith("'use strict';\n"), `${f}: starts with 'use strict'`);
		for (const r of requires(src))
			if (r.module.startsWith('ntkd.'))
				assert.ok(fs.existsSync(path.join(res, r.module.replace(/\./g, '/') + '.js')), `${f}: require ${r.module}`);
	}
});

test('every view evaluates to a view with render()', () => {
	for (const v of views) {
		const declared = [];
		const mod = load(path.join(viewDir, v), stubs(declared), { L });
		assert.strictEqual(typeof mod.render, 'function', v);
		if (v !== 'settings.js')
			assert.strictEqual(mod.handleSave, null, `${v}: a status page has no Save button`);
	}
});

test('rpc methods: declared by the views = listed by the plugin = granted by the ACL', () => {
	const declared = [];
	for (const v of views)
		load(path.join(viewDir, v), stubs(declared), { L });
	const used = new Map();
	for (const d of declared) {
		assert.strictEqual(d.object, 'ntkd');
		used.set(d.method, d.params || []);
	}
	const plugin = path.join(root, 'root/usr/libexec/rpcd/ntkd');
	const listed = JSON.parse(execFileSync('busybox', [ 'ash', plugin, 'list' ], { encoding: 'utf8' }));
	for (const [ m, params ] of used) {
		assert.ok(m in listed, `${m} is listed by the plugin`);
		assert.deepStrictEqual(params.slice().sort(), Object.keys(listed[m]).sort(), `${m}: parameters`);
	}
	const acl = JSON.parse(fs.readFileSync(path.join(root, 'root/usr/share/rpcd/acl.d/luci-app-ntkd.json'), 'utf8'))['luci-app-ntkd'];
	const read = acl.read.ubus.ntkd, write = acl.write.ubus.ntkd;
	const writes = [ 'andna_register', 'andna_unregister' ];
	assert.deepStrictEqual(write.slice().sort(), writes);
	for (const m of Object.keys(listed))
		assert.ok(writes.includes(m) ? !read.includes(m) : read.includes(m), `${m}: ${writes.includes(m) ? 'write' : 'read'} only`);
	for (const m of read.concat(write))
		assert.ok(m in listed, `ACL grants ${m}, which the plugin lists`);
	assert.deepStrictEqual(acl.read.uci.slice().sort(), [ 'network', 'ntkd', 'wireless' ]);
	assert.ok(!JSON.stringify(acl).includes('*'), 'no wildcards');
});

test('menu entries lead to existing views', () => {
	const menu = JSON.parse(fs.readFileSync(path.join(root, 'root/usr/share/luci/menu.d/luci-app-ntkd.json'), 'utf8'));
	const paths = Object.values(menu).filter((e) => e.action.type === 'view').map((e) => e.action.path + '.js');
	assert.deepStrictEqual(paths.slice().sort(), views.map((v) => 'ntkd/' + v));
	assert.deepStrictEqual(menu['admin/services/ntkd'].depends.acl, [ 'luci-app-ntkd' ]);
});

test('every JSON file of the package parses', () => {
	const files = walk(root).filter((f) => f.endsWith('.json'));
	assert.ok(files.length >= 2 + 14, `${files.length} JSON files`);
	for (const f of files)
		assert.doesNotThrow(() => JSON.parse(fs.readFileSync(f, 'utf8')), f);
});

// The settings form against the renderer's option table (ntkd/uci.go's
// uciOpts): every option the form binds is one `ntkd uci-render` reads.
test('settings binds only options ntkd uci-render knows', () => {
	const bound = [];
	const option = (sect) => (cls, name) => {
		if (!name.startsWith('_'))
			bound.push(`${sect}.${name}`);
		return { value() {} };
	};
	const section = (type) => ({ tab() {}, option: option(type), taboption: (tab, cls, name) => option(type)(cls, name) });
	const form = { Map: function() {
		return { section: (cls, a, b) => section(cls === 'grid' ? a : b), render: () => 'rendered' };
	}, NamedSection: 'named', GridSection: 'grid', Flag: 1, Value: 1, ListValue: 1, DynamicList: 1, Button: 1 };
	const st = Object.assign(stubs([]), { form, uci: { load: () => Promise.resolve(), get() {}, sections: () => [] } });
	const settings = load(path.join(viewDir, 'settings.js'), st, { L });
	assert.strictEqual(settings.render(), 'rendered');

	const src = fs.readFileSync(path.join(root, '../../ntkd/uci.go'), 'utf8');
	const known = new Set([ ...src.matchAll(/\{"(\w+)", "(\w+)", "[\w.]*", '(\w)'\}/g) ]
		.filter((m) => m[3] !== 'x').map((m) => `${m[1]}.${m[2]}`));
	assert.ok(known.size > 20, 'found the option table in ntkd/uci.go');
	assert.ok(bound.length > 20);
	for (const b of bound)
		assert.ok(known.has(b), `the form binds ${b}, which uci-render does not read`);
});
