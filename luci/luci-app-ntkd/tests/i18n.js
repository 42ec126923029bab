// The package's translatable texts: what LuCI's i18n scanner takes, the
// _('...') calls of the JavaScript files and the menu titles.
//
//   node luci/luci-app-ntkd/tests/i18n.js pot   rewrite po/templates/ntkd.pot
//
// i18n.test.js checks that the template is up to date and that every
// translation covers it.
'use strict';

const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');

function walk(dir) {
	return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
		e.isDirectory() ? walk(path.join(dir, e.name)) : [ path.join(dir, e.name) ]);
}

function unescapeJS(s) {
	return s.replace(/\\(u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|.)/g, (m, c) => {
		if (c[0] === 'u' || c[0] === 'x')
			return String.fromCharCode(parseInt(c.substr(1), 16));
		return { n: '\n', t: '\t' }[c] || c;
	});
}

// scan(): Map msgid -> [ "file:line", ... ], files relative to the package.
function scan() {
	const found = new Map();
	const add = (id, file, src, index) => {
		const line = src.slice(0, index).split('\n').length;
		const ref = path.relative(root, file) + ':' + line;
		if (!found.has(id))
			found.set(id, []);
		found.get(id).push(ref);
	};
	for (const f of walk(path.join(root, 'htdocs')).filter((f) => f.endsWith('.js'))) {
		const src = fs.readFileSync(f, 'utf8');
		const re = /\b_\(\s*(?:'((?:[^'\\\n]|\\.)*)'|"((?:[^"\\\n]|\\.)*)")\s*[,)]/g;
		let m;
		while ((m = re.exec(src)) !== null)
			add(unescapeJS(m[1] !== undefined ? m[1] : m[2]), f, src, m.index);
	}
	for (const f of walk(path.join(root, 'root/usr/share/luci/menu.d'))) {
		const src = fs.readFileSync(f, 'utf8');
		const re = /"title":\s*"((?:[^"\\]|\\.)*)"/g;
		let m;
		while ((m = re.exec(src)) !== null)
			add(JSON.parse('"' + m[1] + '"'), f, src, m.index);
	}
	return found;
}

function poString(s) {
	return '"' + s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\t/g, '\\t') + '"';
}

// pot(): the template, entries sorted by msgid as LuCI's templates are.
function pot() {
	const found = scan();
	const out = [ 'msgid ""', 'msgstr "Content-Type: text/plain; charset=UTF-8"', '' ];
	for (const id of [ ...found.keys() ].sort()) {
		for (const ref of found.get(id))
			out.push('#: ' + ref);
		out.push('msgid ' + poString(id), 'msgstr ""', '');
	}
	return out.join('\n');
}

// parsePo(text): Map msgid -> msgstr (continued strings joined).
function parsePo(text) {
	const entries = new Map();
	let cur = null, field = null;
	const str = (q) => JSON.parse(q.replace(/\\t/g, '\\t'));
	for (const line of text.split('\n')) {
		let m;
		if ((m = /^msgid (".*")$/.exec(line))) {
			cur = { id: str(m[1]), str: '' };
			field = 'id';
		} else if ((m = /^msgstr (".*")$/.exec(line))) {
			cur.str = str(m[1]);
			field = 'str';
		} else if ((m = /^(".*")$/.exec(line)) && cur) {
			cur[field] += str(m[1]);
		} else if (line.trim() === '' && cur) {
			entries.set(cur.id, cur.str);
			cur = null;
		}
	}
	if (cur)
		entries.set(cur.id, cur.str);
	entries.delete('');
	return entries;
}

module.exports = { scan, pot, parsePo, root };

if (require.main === module) {
	if (process.argv[2] !== 'pot') {
		console.error('usage: node i18n.js pot');
		process.exit(2);
	}
	const file = path.join(root, 'po/templates/ntkd.pot');
	fs.mkdirSync(path.dirname(file), { recursive: true });
	fs.writeFileSync(file, pot());
	console.log(`${file}: ${scan().size} texts`);
}
