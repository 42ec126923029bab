'use strict';
'require view';
'require rpc';
'require poll';
'require dom';
'require ntkd.shape as shape';

// The node, its gnodes and interfaces, the neighbours with their link
// figures, the routes and the Internet gateways, refreshed every 5 seconds.

var callStatus = rpc.declare({ object: 'ntkd', method: 'status', expect: { '': {} } });
var callNeighbours = rpc.declare({ object: 'ntkd', method: 'neighbours', expect: { '': {} } });
var callRoutes = rpc.declare({ object: 'ntkd', method: 'routes', expect: { '': {} } });
var callGateways = rpc.declare({ object: 'ntkd', method: 'gateways', expect: { '': {} } });

// safe: an rpc failure (no permission, rpcd timeout) as an answer.
function safe(p) {
	return p.catch(function(err) { return { error: String((err && err.message) || err) }; });
}

function table(id, titles) {
	return E('table', { 'class': 'table', 'id': id }, [
		E('tr', { 'class': 'tr table-titles' }, titles.map(function(t) {
			return E('th', { 'class': 'th' }, [ t ]);
		}))
	]);
}

function keyValueRows(rows) {
	return rows.map(function(r) {
		return E('tr', { 'class': 'tr' }, [
			E('td', { 'class': 'td left', 'width': '33%' }, r[0]),
			E('td', { 'class': 'td left' }, r[1])
		]);
	});
}

return view.extend({
	load: function() {
		return Promise.all([ safe(callStatus()), safe(callNeighbours()), safe(callRoutes()), safe(callGateways()) ]);
	},

	update: function(root, data) {
		var $ = function(id) { return root.querySelector('#' + id); };
		var st = shape.unwrap(data[0]),
		    nb = shape.unwrap(data[1], 'neighbours'),
		    rt = shape.unwrap(data[2]),
		    gw = shape.unwrap(data[3]);
		var err = st.error || nb.error || rt.error;
		var alert = $('ntkd-error');

		alert.style.display = err ? '' : 'none';
		dom.content(alert, err ? [
			E('strong', [ _('ntkd does not answer') ]), E('br'), err, E('br'),
			_('Is it enabled and running? Check the settings and the system log.')
		] : null);

		if (st.data) {
			dom.content($('ntkd-node'), keyValueRows(shape.statusInfo(st.data)));
			cbi_update_table($('ntkd-gnodes'), shape.gnodeRows(st.data), E('em', [ _('Not part of a mesh yet') ]));
			cbi_update_table($('ntkd-interfaces'), shape.interfaceRows(st.data), E('em', [ _('No interface configured') ]));
		}
		cbi_update_table($('ntkd-neighbours'), nb.data ? shape.neighbourRows(nb.data) : [],
			E('em', [ nb.data ? _('No neighbours heard yet') : _('Unknown') ]));
		cbi_update_table($('ntkd-routes'), rt.data ? shape.routeRows(rt.data) : [],
			E('em', [ rt.data ? _('No routes yet') : _('Unknown') ]));
		// Not in the alert above: a daemon without IGS answers an error here.
		dom.content($('ntkd-igs'), gw.data ? keyValueRows(shape.gatewayInfo(gw.data)) : null);
		cbi_update_table($('ntkd-gateways'), gw.data ? shape.gatewayRows(gw.data) : [],
			E('em', [ gw.data ? _('No gateway in the mesh') : (st.error ? _('Unknown') : gw.error) ]));
	},

	render: function(data) {
		var root = E('div', {}, [
			E('h2', [ _('Netsukuku mesh: status') ]),
			E('div', { 'class': 'alert-message warning', 'id': 'ntkd-error', 'style': 'display:none' }),
			E('h3', [ _('This node') ]),
			E('table', { 'class': 'table', 'id': 'ntkd-node' }),
			E('h3', [ _('Levels') ]),
			E('p', [ _('The node and the group nodes (gnodes) it belongs to, one per level of the address.') ]),
			table('ntkd-gnodes', [ _('Level'), _('Kind'), _('ID'), _('Members'), _('Nonce') ]),
			E('h3', [ _('Interfaces') ]),
			table('ntkd-interfaces', [ _('Interface'), _('State'), _('Kind') ]),
			E('h3', [ _('Neighbours') ]),
			table('ntkd-neighbours', [ _('Rnode'), _('Interface'), _('Address'), _('State'), _('Link cost'),
				_('RTT'), _('Loss'), _('Signal'), _('Bitrate'), _('Wifi penalty') ]),
			E('h3', [ _('Routes') ]),
			table('ntkd-routes', [ _('Destination'), _('Next hops'), _('Kernel') ]),
			E('h3', [ _('Internet gateways') ]),
			E('p', [ _('Routers of the mesh that share their Internet uplink, best first; a router with a default route of its own uses that.') ]),
			E('table', { 'class': 'table', 'id': 'ntkd-igs' }),
			table('ntkd-gateways', [ _('Gateway'), _('Level'), _('Bandwidth'), _('Path cost'), _('Used') ])
		]);

		this.update(root, data);
		poll.add(L.bind(function() {
			return this.load().then(L.bind(this.update, this, root));
		}, this), 5);

		return root;
	},

	handleSaveApply: null,
	handleSave: null,
	handleReset: null
});
