'use strict';
'require view';
'require rpc';
'require poll';
'require dom';
'require ntkd.shape as shape';

// A picture of one level's map, drawn here as inline SVG (no scripts from
// elsewhere: mesh routers are often offline): this node or gnode in the
// middle, the neighbours around it, the level's other nodes or gnodes
// outside, each tied to the neighbour its best route goes through.

var callStatus = rpc.declare({ object: 'ntkd', method: 'status', expect: { '': {} } });
var callNeighbours = rpc.declare({ object: 'ntkd', method: 'neighbours', expect: { '': {} } });
var callMaps = rpc.declare({ object: 'ntkd', method: 'maps', params: [ 'level' ], expect: { '': {} } });

function safe(p) {
	return p.catch(function(err) { return { error: String((err && err.message) || err) }; });
}

return view.extend({
	level: 0,

	load: function() {
		return Promise.all([ safe(callStatus()), safe(callNeighbours()), safe(callMaps(this.level)) ]);
	},

	update: function(root, data) {
		var st = shape.unwrap(data[0]),
		    nb = shape.unwrap(data[1], 'neighbours'),
		    mp = shape.unwrap(data[2], 'maps');
		var err = st.error || nb.error || mp.error;
		var picture = root.querySelector('.ntkd-topology'),
		    select = root.querySelector('select'),
		    info = root.querySelector('.ntkd-topology-info');

		if (err) {
			dom.content(picture, E('div', { 'class': 'alert-message warning' }, [ _('ntkd does not answer'), E('br'), err ]));
			return;
		}

		// One choice per level the node has.
		var levels = (st.data.gnodes || []).map(function(g) { return g.level; });
		if (select.options.length !== levels.length) {
			dom.content(select, levels.map(L.bind(function(l) {
				return E('option', { 'value': l, 'selected': l === this.level ? '' : null },
					[ l === 0 ? _('Level 0: nodes of our gnode') : _('Level %d: gnodes').format(l) ]);
			}, this)));
		}

		var lvl = (mp.data || []).filter(L.bind(function(l) { return l.level === this.level; }, this))[0];
		dom.content(info, lvl ? _('Round %d, %s, %d members').format(lvl.round,
			lvl.settled ? _('settled') : _('flooding'), lvl.members) : '');
		// shape.topology escapes every text: the string is safe as HTML.
		picture.innerHTML = shape.topology(st.data, mp.data, nb.data, this.level);
	},

	render: function(data) {
		var select = E('select', {
			'class': 'cbi-input-select',
			'change': L.bind(function(ev) {
				this.level = +ev.target.value;
				return this.load().then(L.bind(this.update, this, root));
			}, this)
		});
		var root = E('div', {}, [
			E('h2', [ _('Netsukuku mesh: topology') ]),
			E('p', [ _('Solid lines: links to neighbours and the best route to each node or gnode (with its cost); dashed lines: alternative routes. Hover for details.') ]),
			E('div', { 'class': 'cbi-value' }, [
				E('label', { 'class': 'cbi-value-title' }, [ _('Level') ]),
				E('div', { 'class': 'cbi-value-field' }, [ select ])
			]),
			E('p', { 'class': 'ntkd-topology-info' }),
			E('div', { 'class': 'ntkd-topology', 'style': 'text-align:center' })
		]);

		this.update(root, data);
		poll.add(L.bind(function() {
			return this.load().then(L.bind(this.update, this, root));
		}, this), 10);

		return root;
	},

	handleSaveApply: null,
	handleSave: null,
	handleReset: null
});
