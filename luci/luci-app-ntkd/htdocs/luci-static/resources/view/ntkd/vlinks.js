'use strict';
'require view';
'require rpc';
'require poll';
'require dom';
'require ntkd.shape as shape';

// The virtual layer's tunnels to other mesh islands, refreshed every 5 s.

var callVLinks = rpc.declare({ object: 'ntkd', method: 'vlinks', expect: { '': {} } });

function safe(p) {
	return p.catch(function(err) { return { error: String((err && err.message) || err) }; });
}

return view.extend({
	load: function() {
		return safe(callVLinks());
	},

	update: function(root, res) {
		var v = shape.unwrap(res);
		var head = root.querySelector('.ntkd-vlayer');

		if (v.error) {
			dom.content(head, E('div', { 'class': 'alert-message warning' }, [ _('ntkd does not answer'), E('br'), v.error ]));
		} else if (!v.data.enabled) {
			dom.content(head, E('p', [ E('em', [ _('The virtual layer is off. Tunnels are listed but not used until it is enabled in the settings.') ]) ]));
		} else {
			dom.content(head, E('p', [ _('Our public key (what the other vnodes list as public_key):'), ' ',
				E('code', [ v.data.public_key || '-' ]) ]));
		}
		cbi_update_table(root.querySelector('table'), v.data ? shape.vlinkRows(v.data) : [],
			E('em', [ _('No tunnels configured') ]));
	},

	render: function(res) {
		var root = E('div', {}, [
			E('h2', [ _('Netsukuku mesh: virtual links') ]),
			E('p', [ _('Tunnels (WireGuard) join this node to mesh islands elsewhere; radar and QSPN use them like any mesh link.') ]),
			E('div', { 'class': 'ntkd-vlayer' }),
			E('table', { 'class': 'table' }, [
				E('tr', { 'class': 'tr table-titles' }, [
					_('Interface'), _('Peer public key'), _('Endpoint'), _('Port'), _('Last handshake'),
					_('RTT'), _('Received / sent'), _('State')
				].map(function(t) { return E('th', { 'class': 'th' }, [ t ]); }))
			])
		]);

		this.update(root, res);
		poll.add(L.bind(function() {
			return this.load().then(L.bind(this.update, this, root));
		}, this), 5);

		return root;
	},

	handleSaveApply: null,
	handleSave: null,
	handleReset: null
});
