// Helper of tests/jshn.sh: prints shell assignments for the top-level
// members of the JSON object in argv[2], values single-quoted.
'use strict';

let obj;
try {
	obj = JSON.parse(process.argv[2]);
} catch (e) {
	process.exit(0); // jshn's json_load loads nothing from bad JSON
}
if (obj === null || typeof obj !== 'object' || Array.isArray(obj))
	process.exit(0);

const quote = (s) => "'" + String(s).replace(/'/g, "'\\''") + "'";
let tables = 0;
for (const [k, v] of Object.entries(obj)) {
	const key = k.replace(/[^a-zA-Z0-9_]/g, '_');
	let text;
	if (v === null)
		text = '';
	else if (typeof v === 'boolean')
		text = v ? '1' : '0';
	else if (typeof v === 'object')
		text = (Array.isArray(v) ? 'J_A' : 'J_T') + ++tables;
	else
		text = String(v);
	process.stdout.write(`__jshn_s_${key}=1; __jshn_v_${key}=${quote(text)};\n`);
}
