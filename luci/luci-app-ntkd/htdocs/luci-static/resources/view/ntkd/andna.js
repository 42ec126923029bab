'use strict';
'require view';
'require rpc';
'require poll';
'require dom';
'require ui';
'require ntkd.shape as shape';

// ANDNA, the mesh's own names: the names this node registers and their
// state, register and unregister (write access), resolve a name or an
// address, and the records this node keeps for others.

var callList = rpc.declare({ object: 'ntkd', method: 'andna_list', expect: { '': {} } });
var callCache = rpc.declare({ object: 'ntkd', method: 'andna_cache', expect: { '': {} } });
var callResolve = rpc.declare({ object: 'ntkd', method: 'andna_resolve', params: [ 'name' ], expect: { '': {} } });
var callReverse = rpc.declare({ object: 'ntkd', method: 'andna_reverse', params: [ 'address' ], expect: { '': {} } });
var callRegister = rpc.declare({ object: 'ntkd', method: 'andna_register', params: [ 'name' ], expect: { '': {} } });
var callUnregister = rpc.declare({ object: 'ntkd', method: 'andna_unregister', params: [ 'name' ], expect: { '': {} } });

var isReadonlyView = !L.hasViewPermission() || null;

function safe(p) {
	return p.catch(function(err) { return { error: String((err && err.message) || err) }; });
}

function titles(list) {
	return E('tr', { 'class': 'tr table-titles' }, list.map(function(t) { return E('th', { 'class': 'th' }, [ t ]); }));
}

return view.extend({
	load: function() {
		return Promise.all([ safe(callList()), safe(callCache()) ]);
	},

	update: function(root, data) {
		var list = shape.unwrap(data[0], 'andna_list'),
		    cache = shape.unwrap(data[1], 'andna_cache');
		var alert = root.querySelector('.ntkd-andna-error');
		var err = list.error || cache.error;

		alert.style.display = err ? '' : 'none';
		dom.content(alert, err ? [ _('ntkd does not answer'), E('br'), err ] : null);

		var names = (list.data || []).slice().sort(function(a, b) { return a.name < b.name ? -1 : a.name > b.name ? 1 : 0; });
		var rows = shape.andnaRows(names).map(L.bind(function(row, i) {
			return row.concat([ E('button', {
				'class': 'btn cbi-button cbi-button-remove',
				'disabled': isReadonlyView,
				'click': ui.createHandlerFn(this, 'handleUnregister', root, names[i].name)
			}, [ _('Unregister') ]) ]);
		}, this));
		cbi_update_table(root.querySelector('#ntkd-andna-names'), rows, E('em', [ _('This node registers no names') ]));

		cbi_update_table(root.querySelector('#ntkd-andna-cache'), (cache.data || []).map(function(r) {
			return [ shape.esc(r.name || '#' + String(r.hash).substr(0, 16)), shape.esc(r.owner),
				shape.esc(r.backup ? _('backup') : _('hash gnode')), shape.esc(shape.fmtDuration(r.expires_in_s)) ];
		}), E('em', [ _('No records kept for others') ]));
	},

	refresh: function(root) {
		return this.load().then(L.bind(this.update, this, root));
	},

	checked: function(input) {
		var name = input.value.trim().toLowerCase();
		var e = shape.checkName(name);
		if (e) {
			ui.addNotification(null, E('p', [ _('Invalid name: %s').format(e) ]), 'warning');
			return null;
		}
		return name;
	},

	handleRegister: function(root, input) {
		var name = this.checked(input);
		if (!name)
			return;
		return safe(callRegister(name)).then(L.bind(function(res) {
			if (res.error)
				ui.addNotification(null, E('p', [ _('Could not register %s: %s').format(name, res.error) ]), 'danger');
			else
				input.value = '';
			return this.refresh(root);
		}, this));
	},

	handleUnregister: function(root, name) {
		if (!confirm(_('Stop updating the name %s? It expires in the mesh when its registration runs out.').format(name)))
			return;
		return safe(callUnregister(name)).then(L.bind(function(res) {
			if (res.error)
				ui.addNotification(null, E('p', [ _('Could not unregister %s: %s').format(name, res.error) ]), 'danger');
			return this.refresh(root);
		}, this));
	},

	handleResolve: function(input, out) {
		var q = input.value.trim().toLowerCase();
		var call;
		if (shape.parseIP(q))
			call = callReverse(q);
		else if (this.checked(input))
			call = callResolve(q);
		else
			return;
		dom.content(out, E('em', [ _('Asking the mesh…') ]));
		return safe(call).then(function(res) {
			dom.content(out, [ shape.resolveText(res) ]);
		});
	},

	render: function(data) {
		var regInput = E('input', { 'type': 'text', 'class': 'cbi-input-text', 'placeholder': 'myrouter', 'disabled': isReadonlyView });
		var resInput = E('input', { 'type': 'text', 'class': 'cbi-input-text', 'placeholder': _('name or address') });
		var resOut = E('p');
		var root = E('div', {}, [
			E('h2', [ _('Netsukuku mesh: names (ANDNA)') ]),
			E('p', [ _('ANDNA is the mesh\'s own name system: nodes register names, the mesh keeps them, there is no central server. Names are lowercase letters, digits and hyphens, with dots between labels; other nodes find them as NAME.ntk when the DNS wrapper is on.') ]),
			E('div', { 'class': 'alert-message warning ntkd-andna-error', 'style': 'display:none' }),
			E('h3', [ _('Names of this node') ]),
			E('table', { 'class': 'table', 'id': 'ntkd-andna-names' }, [
				titles([ _('Name'), _('State'), _('Expires in'), _('Error'), '' ])
			]),
			E('div', { 'class': 'cbi-value' }, [
				E('label', { 'class': 'cbi-value-title' }, [ _('Register a name') ]),
				E('div', { 'class': 'cbi-value-field' }, [
					regInput, ' ',
					E('button', {
						'class': 'btn cbi-button cbi-button-add',
						'disabled': isReadonlyView,
						'click': ui.createHandlerFn(this, function() { return this.handleRegister(root, regInput); })
					}, [ _('Register') ]),
					E('div', { 'class': 'cbi-value-description' }, [
						_('A name registered here lasts until ntkd restarts; list it in the settings to keep it.')
					])
				])
			]),
			E('h3', [ _('Resolve') ]),
			E('div', { 'class': 'cbi-value' }, [
				E('label', { 'class': 'cbi-value-title' }, [ _('Name or address') ]),
				E('div', { 'class': 'cbi-value-field' }, [
					resInput, ' ',
					E('button', {
						'class': 'btn cbi-button cbi-button-action',
						'click': ui.createHandlerFn(this, function() { return this.handleResolve(resInput, resOut); })
					}, [ _('Resolve') ]),
					resOut
				])
			]),
			E('h3', [ _('Records kept for others') ]),
			E('p', [ _('Registrations this node stores as a member of a hash gnode or a backup gnode.') ]),
			E('table', { 'class': 'table', 'id': 'ntkd-andna-cache' }, [
				titles([ _('Name'), _('Owner'), _('Role'), _('Expires in') ])
			])
		]);

		this.update(root, data);
		poll.add(L.bind(this.refresh, this, root), 10);

		return root;
	},

	handleSaveApply: null,
	handleSave: null,
	handleReset: null
});
