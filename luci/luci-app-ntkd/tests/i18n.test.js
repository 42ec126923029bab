// The translation files: the template lists exactly the texts of the
// views (regenerate with `node luci/luci-app-ntkd/tests/i18n.js pot`), and
// every translation translates each of them, keeping the placeholders.
'use strict';

const test = require('node:test');
const assert = require('node:assert');
const path = require('node:path');
const fs = require('node:fs');
const { scan, pot, parsePo, root } = require('./i18n.js');

const placeholders = (s) => (s.match(/%[sdh]/g) || []).join(' ');

test('po/templates/ntkd.pot is up to date', () => {
	const committed = fs.readFileSync(path.join(root, 'po/templates/ntkd.pot'), 'utf8');
	assert.strictEqual(committed, pot(), 'run: node luci/luci-app-ntkd/tests/i18n.js pot');
	assert.ok(scan().size > 100);
});

test('every translation covers the template', () => {
	const ids = [ ...scan().keys() ];
	const langs = fs.readdirSync(path.join(root, 'po')).filter((d) => d !== 'templates');
	assert.ok(langs.includes('it'), 'an Italian translation');
	for (const lang of langs) {
		const po = parsePo(fs.readFileSync(path.join(root, 'po', lang, 'ntkd.po'), 'utf8'));
		for (const id of ids) {
			assert.ok(po.has(id), `${lang}: missing ${JSON.stringify(id)}`);
			assert.notStrictEqual(po.get(id), '', `${lang}: untranslated ${JSON.stringify(id)}`);
			assert.strictEqual(placeholders(po.get(id)), placeholders(id), `${lang}: placeholders of ${JSON.stringify(id)}`);
		}
		for (const id of po.keys())
			assert.ok(ids.includes(id), `${lang}: obsolete ${JSON.stringify(id)}`);
	}
});
