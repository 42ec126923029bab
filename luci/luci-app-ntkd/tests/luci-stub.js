// Loads LuCI client-side modules in node, as LuCI's L.require does in the
// browser: the file's 'require NAME [as ALIAS]' directives name the
// arguments of a function whose body is the file (a top-level return gives
// the module). compile() only parses; load() runs the file with stubs.
'use strict';

const fs = require('node:fs');

// requires(src): the argument names the directives declare, in order.
function requires(src) {
	const names = [];
	const re = /^\s*['"]require\s+([A-Za-z0-9_.]+)(?:\s+as\s+([A-Za-z_$][A-Za-z0-9_$]*))?['"];?\s*$/gm;
	let m;
	while ((m = re.exec(src)) !== null)
		names.push({ module: m[1], arg: m[2] || m[1].replace(/.*\./, '') });
	return names;
}

// compile(path): a SyntaxError if the file does not parse as LuCI parses it.
function compile(path) {
	const src = fs.readFileSync(path, 'utf8');
	const args = requires(src).map((r) => r.arg);
	// eslint-disable-next-line no-new-func
	return new Function(...args, '_', 'N_', 'E', 'L', src + '\n//# sourceURL=' + path);
}

// load(path, stubs, globals): runs the file with stubs[module] for each
// directive (baseclass defaults to one whose extend() returns the object),
// _ as the identity and globals.E, globals.L for LuCI's E() and L.
function load(path, stubs = {}, globals = {}) {
	const src = fs.readFileSync(path, 'utf8');
	const deps = requires(src).map((r) => {
		if (r.module in stubs)
			return stubs[r.module];
		if (r.module === 'baseclass')
			return { extend: (o) => o };
		throw new Error(`${path}: no stub for 'require ${r.module}'`);
	});
	const ident = (s) => s;
	return compile(path)(...deps, ident, ident, globals.E, globals.L);
}

module.exports = { requires, compile, load };
