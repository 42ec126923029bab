'use strict';
'require view';
'require form';
'require uci';
'require ui';
'require ntkd.shape as shape';

// /etc/config/ntkd as a form (sections main, andna, dns, vlayer, igs,
// limits and one vlink per tunnel); the init script renders it into the daemon's TOML with
// `ntkd uci-render`. Every field is checked here with the rules ntkd's own
// configuration check applies.
// The mesh wifi helper stages a new wifi interface and network for the
// chosen radio and adds it to the mesh; Save & Apply applies all three.

var isReadonlyView = !L.hasViewPermission() || null;

// validator(check, optional): a form validate function from a shape check.
function validator(check, optional) {
	return function(section_id, value) {
		if (optional && (value == null || value === ''))
			return true;
		return check(value) || true;
	};
}

function field(label, widget, err) {
	return E('div', { 'class': 'cbi-value' }, [
		E('label', { 'class': 'cbi-value-title' }, [ label ]),
		E('div', { 'class': 'cbi-value-field' }, [ widget, E('div', { 'class': 'cbi-value-description', 'style': 'color:#c00', 'data-error': err }) ])
	]);
}

return view.extend({
	load: function() {
		return Promise.all([
			uci.load('ntkd'),
			L.resolveDefault(uci.load('network'), null),
			L.resolveDefault(uci.load('wireless'), null)
		]);
	},

	networks: function() {
		return uci.sections('network', 'interface').map(function(s) { return s['.name']; })
			.filter(function(n) { return n !== 'loopback'; });
	},

	radios: function() {
		return uci.sections('wireless', 'wifi-device').map(function(s) { return s['.name']; });
	},

	// handleMeshWifi opens the helper; its answer is staged into uci and
	// the form drawn again from it.
	handleMeshWifi: function(m) {
		var radios = this.radios(), networks = this.networks();
		if (!radios.length) {
			ui.addNotification(null, E('p', [ _('This router has no wifi radio in /etc/config/wireless.') ]), 'warning');
			return;
		}
		var radio = E('select', { 'class': 'cbi-input-select' }, radios.map(function(r) {
			var band = uci.get('wireless', r, 'band') || uci.get('wireless', r, 'hwmode') || '';
			var channel = uci.get('wireless', r, 'channel') || 'auto';
			return E('option', { 'value': r }, [ '%s (%s, %s %s)'.format(r, band || '?', _('channel'), channel) ]);
		}));
		var mode = E('select', { 'class': 'cbi-input-select' }, [
			E('option', { 'value': 'mesh' }, [ _('802.11s mesh point') ]),
			E('option', { 'value': 'adhoc' }, [ _('Ad-hoc (IBSS)') ])
		]);
		var id = E('input', { 'class': 'cbi-input-text', 'value': 'netsukuku' });
		var net = E('input', { 'class': 'cbi-input-text', 'value': networks.indexOf('ntkmesh') < 0 ? 'ntkmesh' : '' });
		var key = E('input', { 'class': 'cbi-input-password', 'type': 'password', 'placeholder': _('empty: open mesh') });

		ui.showModal(_('Create a mesh wifi interface'), [
			E('p', [ _('Adds a wifi interface on the chosen radio, a network for it (no address: ntkd uses the link-local one) and puts that network in the mesh. Every router of the mesh needs the same mode, ID, channel and key. Encrypted 802.11s needs a wpad package with mesh support.') ]),
			field(_('Radio'), radio, 'radio'),
			field(_('Mode'), mode, 'mode'),
			field(_('Mesh ID / SSID'), id, 'id'),
			field(_('New network name'), net, 'network'),
			field(_('Key (SAE)'), key, 'key'),
			E('div', { 'class': 'right' }, [
				E('button', { 'class': 'btn', 'click': ui.hideModal }, [ _('Cancel') ]), ' ',
				E('button', {
					'class': 'btn cbi-button-positive',
					'click': ui.createHandlerFn(this, function(ev) {
						var plan = shape.meshWifiPlan({
							radio: radio.value, mode: mode.value, id: id.value,
							network: net.value.trim(), key: key.value
						}, radios, networks);
						var modal = ev.target.closest('.modal') || document;
						modal.querySelectorAll('[data-error]').forEach(function(el) {
							el.textContent = (plan.errors && plan.errors[el.getAttribute('data-error')]) || '';
						});
						if (plan.errors)
							return;
						// Keep what was typed in the form, then stage the plan.
						return m.parse().then(function() {
							plan.ops.forEach(function(op) {
								if (op.op === 'add') {
									var sid = uci.add(op.config, op.type, op.name || undefined);
									Object.keys(op.values).forEach(function(k) { uci.set(op.config, sid, k, op.values[k]); });
								} else if (op.op === 'list_add') {
									var cur = L.toArray(uci.get(op.config, op.section, op.option));
									if (cur.indexOf(op.value) < 0)
										uci.set(op.config, op.section, op.option, cur.concat([ op.value ]));
								}
							});
							ui.hideModal();
							ui.addNotification(null, E('p', [ _('The wifi interface and the network %s are staged: Save & Apply to create them.').format(plan.ops[0].name) ]), 'info');
							return m.load().then(function() { return m.reset(); });
						}, function() {
							ui.hideModal();
							ui.addNotification(null, E('p', [ _('Fix the invalid fields of the form first.') ]), 'warning');
						});
					})
				}, [ _('Create') ])
			])
		]);
	},

	render: function() {
		var m, s, o;
		var networks = this.networks();

		m = new form.Map('ntkd', _('Netsukuku mesh'),
			_('ntkd builds routes across a wifi or wired mesh of routers, with no central server. Pick the interfaces it runs on and enable it; every router of one mesh needs the same prefix.'));

		s = m.section(form.NamedSection, 'main', 'ntkd', _('General'));
		s.addremove = false;
		s.tab('general', _('General'));
		s.tab('advanced', _('Advanced'));

		o = s.taboption('general', form.Flag, 'enabled', _('Enabled'),
			_('ntkd is off until this is set and at least one interface is chosen.'));
		o.rmempty = false;

		o = s.taboption('general', form.DynamicList, 'interface', _('Mesh interfaces'),
			_('Networks (from Network → Interfaces) or Linux devices ntkd runs on. Every router on them should run ntkd.'));
		networks.forEach(function(n) { o.value(n); });
		o.validate = validator(shape.checkIfaceName, true);

		o = s.taboption('general', form.Button, '_meshwifi', _('Mesh wifi'),
			_('Create a wifi interface in 802.11s or ad-hoc mode on a radio and add it to the mesh interfaces.'));
		o.inputtitle = _('Create mesh wifi…');
		o.inputstyle = 'add';
		o.readonly = isReadonlyView;
		o.onclick = L.bind(function() { return this.handleMeshWifi(m); }, this);

		o = s.taboption('general', form.Flag, 'wifi_metrics', _('Wifi metrics'),
			_('Add the wifi driver\'s station figures (signal, bitrate, retries) to link costs.'));
		o.default = o.enabled;

		o = s.taboption('general', form.Value, 'prefix', _('Mesh prefix'),
			_('The address range the mesh lives in: inside 10.0.0.0/8, 172.16.0.0/12 or fc00::/7. ntkd never leaves it and never touches the default route.'));
		o.placeholder = '10.0.0.0/8';
		o.validate = validator(shape.checkPrefix, true);

		o = s.taboption('general', form.Value, 'network_key', _('Network key'),
			_('A closed mesh: 64 hex digits (openssl rand -hex 32), the same on every router, or the path of a file holding them (mode 0600). Packets without it are dropped, so other routers cannot join. Empty: an open mesh.'));
		o.password = true;
		o.validate = validator(shape.checkNetworkKey, true);

		o = s.taboption('general', form.Value, 'network_key_accept', _('Also accepted key'),
			_('During a key change only: 1. on every router, the new key here; 2. on every router, the new key above and the old one here; 3. on every router, empty here.'));
		o.password = true;
		o.validate = function(section_id, value) {
			if (value == null || value === '')
				return true;
			if (!this.section.formvalue(section_id, 'network_key'))
				return _('Needs a network key, the one sent with');
			return shape.checkNetworkKey(value) || true;
		};

		o = s.taboption('general', form.ListValue, 'log_level', _('Log level'));
		o.value('debug', _('Debug'));
		o.value('info', _('Info'));
		o.value('warn', _('Warnings'));
		o.value('error', _('Errors'));
		o.default = 'info';

		o = s.taboption('advanced', form.Value, 'memory_limit', _('Memory limit'),
			_('A guard against growth (GOMEMLIMIT), with a binary unit such as 16MiB; 0 for none. Below 8MiB the collector works hard.'));
		o.placeholder = '16MiB';
		o.validate = validator(shape.checkMemoryLimit, true);

		o = s.taboption('advanced', form.Value, 'gogc', _('Collector target (GOGC)'),
			_('Percent: lower saves memory, higher saves CPU; -1 switches the collector off until the memory limit.'));
		o.placeholder = '25';
		o.validate = function(section_id, value) {
			if (value == null || value === '')
				return true;
			return shape.checkGogc(value, this.section.formvalue(section_id, 'memory_limit')) || true;
		};

		o = s.taboption('advanced', form.Value, 'max_procs', _('Threads (GOMAXPROCS)'), _('0: one per CPU.'));
		o.placeholder = '1';
		o.validate = validator(shape.checkMaxProcs, true);

		o = s.taboption('advanced', form.Value, 'radar_port', _('Radar port (UDP)'), _('Every node of a mesh uses the same ports.'));
		o.placeholder = '269';
		o.validate = validator(function(v) { return shape.checkPort(v); }, true);

		o = s.taboption('advanced', form.Value, 'stream_port', _('Stream port (TCP)'));
		o.placeholder = '269';
		o.validate = validator(function(v) { return shape.checkPort(v); }, true);

		o = s.taboption('advanced', form.Value, 'andna_port', _('ANDNA port (UDP and TCP)'));
		o.placeholder = '277';
		o.validate = function(section_id, value) {
			if (value == null || value === '')
				value = '277';
			return shape.checkAndnaPort(value, this.section.formvalue(section_id, 'radar_port'),
				this.section.formvalue(section_id, 'stream_port')) || true;
		};

		o = s.taboption('advanced', form.Value, 'table', _('Routing table'), _('main, or a number 1..252 for a table of their own.'));
		o.placeholder = 'main';
		o.validate = validator(shape.checkTable, true);

		s = m.section(form.NamedSection, 'andna', 'andna', _('Names (ANDNA)'),
			_('Names this node registers in the mesh, kept across restarts. The key that owns them is created on first start: back up its directory to keep them.'));
		s.addremove = true;
		o = s.option(form.Flag, 'enabled', _('Enabled'));
		o.default = o.enabled;
		o = s.option(form.DynamicList, 'name', _('Names'), _('Lowercase letters, digits and hyphens, dots between labels: myrouter, files.myrouter.'));
		o.validate = validator(shape.checkName, true);
		o = s.option(form.Value, 'key_dir', _('Key directory'));
		o.placeholder = '/etc/ntkd';
		o.validate = validator(shape.checkAbsPath, true);

		s = m.section(form.NamedSection, 'dns', 'dns', _('DNS'),
			_('Answer DNS queries for mesh names (NAME.ntk). dnsmasq keeps port 53: add list server \'/ntk/127.0.0.1#5373\' to its configuration.'));
		s.addremove = true;
		o = s.option(form.Flag, 'enabled', _('Enabled'));
		o = s.option(form.Value, 'listen', _('Listen on'));
		o.placeholder = '127.0.0.1:5373';
		o.validate = validator(function(v) { return shape.checkHostPort(v); }, true);
		o = s.option(form.Value, 'suffix', _('Suffix'));
		o.placeholder = 'ntk';
		o.validate = validator(shape.checkSuffix, true);
		o = s.option(form.Value, 'upstream', _('Forward other names to'), _('ip:port; empty refuses them.'));
		o.validate = validator(function(v) { return shape.checkHostPort(v, true); }, true);

		s = m.section(form.NamedSection, 'vlayer', 'vlayer', _('Virtual layer'),
			_('Tunnels (WireGuard, kmod-wireguard) that join separate mesh islands.'));
		s.addremove = true;
		o = s.option(form.Flag, 'enabled', _('Enabled'));
		o = s.option(form.Value, 'internet', _('Internet network'), _('The network that reaches the Internet: the tunnels\' ports are opened on it.'));
		o.placeholder = 'wan';
		networks.forEach(function(n) { o.value(n); });
		o.validate = validator(shape.checkIfaceName, true);
		o = s.option(form.Value, 'key_file', _('Key file'));
		o.placeholder = '/etc/ntkd/vlayer.key';
		o.validate = validator(shape.checkAbsPath, true);
		// Entry servers and nodes (seed 002; docs/VLAYER.md): the checks of
		// internal/config's validateEntry.
		o = s.option(form.DynamicList, 'entry_server', _('Entry servers'),
			_('Up to 8, each the server\'s address and its key separated by a space (ntkd entry-server -print-key prints the key). The list of entry nodes is fetched from them at start and every 6 hours: ntkd ctl entry-nodes shows it.'));
		o.placeholder = '198.51.100.2:27100 KEY';
		o.validate = function(section_id, value) {
			if (value == null || value === '')
				return true;
			if (L.toArray(this.section.formvalue(section_id, 'entry_server')).length > 8)
				return _('At most 8 entry servers');
			return shape.checkEntryServer(value) || true;
		};
		o = s.option(form.Value, 'latitude', _('Latitude'),
			_('This router\'s coordinates in degrees, north and east positive, both or neither: the nearest entry nodes come first.'));
		o.placeholder = '45.46';
		o.validate = function(section_id, value) {
			return shape.checkCoordinate(value, 90, this.section.formvalue(section_id, 'longitude')) || true;
		};
		o = s.option(form.Value, 'longitude', _('Longitude'));
		o.placeholder = '9.19';
		o.validate = function(section_id, value) {
			return shape.checkCoordinate(value, 180, this.section.formvalue(section_id, 'latitude')) || true;
		};
		o = s.option(form.Flag, 'entry_node', _('Entry node'),
			_('Once up 3 days, list this router on the entry servers: new vnodes may open their first tunnel to it.'));
		o = s.option(form.Value, 'endpoint', _('Public endpoint'),
			_('This router\'s public ip:port for tunnels, what an entry node lists.'));
		o.placeholder = '203.0.113.5:27000';
		o.validate = function(section_id, value) {
			return shape.checkEndpoint(value, this.section.formvalue(section_id, 'entry_node') === '1',
				L.toArray(this.section.formvalue(section_id, 'entry_server')).length) || true;
		};

		s = m.section(form.NamedSection, 'igs', 'igs', _('Internet gateways'),
			_('Routers with an Internet uplink share it with the mesh; the others send their Internet traffic to the best of them, inside VXLAN (kmod-vxlan). A router\'s own default route always wins: its LAN and uplink are never touched.'));
		s.addremove = true;
		o = s.option(form.Flag, 'share_internet', _('Share this router\'s Internet'),
			_('Be a gateway: probe the uplink, announce it and NAT the mesh\'s traffic out of it. The firewall lets the mesh into the uplink\'s zone.'));
		o = s.option(form.Value, 'uplink', _('Uplink network'),
			_('The network that reaches the Internet, or a device name; empty: the device of the default route.'));
		o.placeholder = 'wan';
		networks.forEach(function(n) { o.value(n); });
		o.validate = function(section_id, value) {
			if (value == null || value === '')
				return true;
			return shape.checkUplink(value, L.toArray(uci.get('ntkd', 'main', 'interface'))) || true;
		};
		o = s.option(form.Value, 'bandwidth', _('Bandwidth (kbit/s)'), _('What the uplink is announced with, 1..100000000.'));
		o.placeholder = '10000';
		o.validate = validator(function(v) { return shape.checkRange(v, 1, 100000000); }, true);
		o = s.option(form.DynamicList, 'probe', _('Probes'),
			_('ip:port TCP targets, up to 8: the uplink is up while one of them answers through it. None: up while the default route goes through it.'));
		o.validate = validator(shape.checkProbe, true);
		o = s.option(form.Value, 'probe_interval', _('Probe interval'), _('1s..10m; two failures in a row take the gateway down.'));
		o.placeholder = '10s';
		o.validate = validator(shape.checkProbeInterval, true);
		o = s.option(form.Flag, 'use_gateways', _('Use the mesh\'s gateways'),
			_('A default route over the mesh\'s gateways, used only while this router has none of its own.'));
		o.default = o.enabled;
		o = s.option(form.Value, 'max_gateways', _('Gateways used'), _('Per level, 1..4: the traffic is spread over them by bandwidth and path cost.'));
		o.placeholder = '2';
		o.validate = validator(function(v) { return shape.checkRange(v, 1, 4); }, true);

		// [limits]: the ranges of ntkd's configuration check
		// (internal/config/validate.go), the daemon's defaults as placeholders.
		s = m.section(form.NamedSection, 'limits', 'limits', _('Limits'),
			_('What anyone in radio range can make ntkd hold: each is a bound on memory or work, none a quota. The defaults suit a home router; empty keeps the default.'));
		s.addremove = true;
		[
			[ 'max_neighbours', _('Neighbours'), _('Most neighbours kept at once, 1..255.'), 1, 255, 64 ],
			[ 'max_pending_requests', _('Pending requests'), _('Most ANDNA requests waiting for an answer, 16..65536.'), 16, 65536, 1024 ],
			[ 'max_andna_records', _('Name records'), _('Most name records kept for the mesh, 16..1048576.'), 16, 1048576, 16384 ],
			[ 'per_source_rate', _('Packets per second per source'), _('Each source\'s allowance over everything it sends, 1..1000000.'), 1, 1000000, 200 ],
			[ 'per_source_burst', _('Burst per source'), _('Packets above that rate a source may send at once, 1..1000000.'), 1, 1000000, 400 ],
			[ 'max_conns', _('Streams'), _('Accepted streams that have sent a valid packet, in all, 1..4096.'), 1, 4096, 32 ],
			[ 'max_conns_per_source', _('Streams per source'), _('The same per source, 1..64; at most the streams in all.'), 1, 64, 4 ],
			[ 'max_fresh_conns', _('New streams'), _('Accepted streams that have not sent a valid packet yet, 1..1024.'), 1, 1024, 8 ],
			[ 'stream_queue', _('Send queue'), _('Packets queued per outgoing stream, 1..65536.'), 1, 65536, 256 ],
			[ 'recv_queue', _('Receive queue'), _('Packets received and not yet handled, 1..65536.'), 1, 65536, 128 ],
			[ 'max_peers', _('Sources remembered'), _('Link-local sources heard, 16..1048576.'), 16, 1048576, 1024 ]
		].forEach(function(l) {
			o = s.option(form.Value, l[0], l[1], l[2]);
			o.placeholder = String(l[5]);
			o.validate = function(section_id, value) {
				if (value == null || value === '')
					return true;
				var e = shape.checkRange(value, l[3], l[4]);
				// Streams per source <= streams in all, either left at its default.
				var conns = (l[0] === 'max_conns' ? value : this.section.formvalue(section_id, 'max_conns')) || '32',
					per = (l[0] === 'max_conns_per_source' ? value : this.section.formvalue(section_id, 'max_conns_per_source')) || '4';
				if (!e && (l[0] === 'max_conns' || l[0] === 'max_conns_per_source') && +per > +conns)
					e = shape.fmt(_('Streams per source (%s) above the streams in all (%s)'), per, conns);
				return e || true;
			};
		});

		s = m.section(form.GridSection, 'vlink', _('Tunnels'), _('One per other vnode; its public key is shown on its Virtual links page.'));
		s.addremove = true;
		s.anonymous = true;
		o = s.option(form.Flag, 'enabled', _('Enabled'));
		o.default = o.enabled;
		o.editable = true;
		o = s.option(form.Value, 'name', _('Interface'));
		o.placeholder = 'ntkv0';
		o.validate = validator(shape.checkIfaceName, true);
		o = s.option(form.Value, 'listen_port', _('Listen port'));
		o.placeholder = '0';
		o.validate = validator(function(v) { return shape.checkPort(v, true); }, true);
		o = s.option(form.Value, 'public_key', _('Peer public key'));
		o.validate = validator(shape.checkWgKey, false);
		o = s.option(form.Value, 'endpoint', _('Endpoint'), _('ip:port; empty waits for the other end.'));
		o.validate = validator(function(v) { return shape.checkHostPort(v, true); }, true);
		o = s.option(form.Value, 'keepalive', _('Keepalive'), _('Keeps NAT mappings open while idle; 0s turns it off.'));
		o.placeholder = '25s';
		o.validate = validator(function(v) { return shape.checkDuration(v, 65535); }, true);

		return m.render();
	}
});
