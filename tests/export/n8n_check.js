// Structural check of a built n8n community-node package, run by tests/export/test_n8n_package.py.
//
// usage: node n8n_check.js <package dir>   (n8n-workflow must resolve, e.g. through NODE_PATH)
//
// Loads every credential and node listed in package.json's `n8n` section from `dist/`, the way n8n's
// loader does (the class named like the file), and checks their descriptions:
//  - every property has a string name and displayName, a known type and a `default`;
//  - options/multiOptions have options with name and value, or a loadOptions routing/method;
//  - collections hold properties, fixedCollections hold named groups of properties;
//  - displayOptions only name properties that exist (or @version), with values those can take;
//  - n8n-workflow's own NodeHelpers resolve each operation's parameters: the visible set, and the
//    issues n8n would show while required fields are empty (and none once they are filled);
//  - credentials: password-masked key, generic Bearer authentication, a test request.
// Prints a JSON report on stdout: {problems: [...], credentials: {...}, nodes: {...}}.
'use strict';
const fs = require('fs');
const path = require('path');
const { NodeHelpers } = require('n8n-workflow');

const TYPES = new Set([
	'boolean', 'button', 'collection', 'color', 'dateTime', 'fixedCollection', 'hidden', 'json', 'notice',
	'multiOptions', 'number', 'options', 'string', 'credentialsSelect', 'resourceLocator', 'curlImport',
	'resourceMapper', 'filter', 'assignmentCollection', 'credentials', 'workflowSelector',
]);
const pkgDir = path.resolve(process.argv[2]);
const pkg = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));
const problems = [];
const problem = (where, what) => problems.push(`${where}: ${what}`);

function load(relative) {
	const file = path.join(pkgDir, relative);
	const className = path.basename(file).split('.')[0];
	const Cls = require(file)[className];
	if (typeof Cls !== 'function') throw new Error(`${relative} does not export class ${className}`);
	return { instance: new Cls(), className, dir: path.dirname(file) };
}

function checkProperty(prop, where) {
	const at = `${where}.${prop.name}`;
	if (typeof prop.name !== 'string' || !prop.name) problem(where, 'a property without a name');
	if (typeof prop.displayName !== 'string') problem(at, 'no displayName');
	if (!TYPES.has(prop.type)) problem(at, `unknown type ${prop.type}`);
	if (!('default' in prop)) problem(at, 'no default');
	const dynamic = prop.typeOptions && (prop.typeOptions.loadOptions || prop.typeOptions.loadOptionsMethod);
	if (prop.type === 'options' || prop.type === 'multiOptions') {
		if (!dynamic && !(Array.isArray(prop.options) && prop.options.length)) problem(at, 'options without values');
		for (const option of prop.options || []) {
			if (typeof option.name !== 'string' || !('value' in option)) problem(at, 'an option without name/value');
		}
		if (prop.type === 'multiOptions' && !Array.isArray(prop.default)) problem(at, 'multiOptions default is not a list');
	}
	if (prop.type === 'collection') {
		if (!Array.isArray(prop.options) || !prop.options.length) problem(at, 'empty collection');
		for (const option of prop.options || []) checkProperty(option, at);
	}
	if (prop.type === 'fixedCollection') {
		for (const group of prop.options || []) {
			if (!group.name || !Array.isArray(group.values)) problem(at, 'a fixedCollection group without values');
			for (const value of group.values || []) checkProperty(value, `${at}.${group.name}`);
		}
	}
}

function checkDisplayOptions(properties, where) {
	const byName = new Map();
	for (const prop of properties) {
		if (!byName.has(prop.name)) byName.set(prop.name, []);
		byName.get(prop.name).push(prop);
	}
	for (const prop of properties) {
		for (const kind of ['show', 'hide']) {
			const rules = (prop.displayOptions || {})[kind] || {};
			for (const [name, values] of Object.entries(rules)) {
				if (name === '@version') continue;
				const targets = byName.get(name);
				if (!targets) {
					problem(`${where}.${prop.name}`, `displayOptions.${kind} names unknown property ${name}`);
					continue;
				}
				const known = new Set();
				let open = false;
				for (const target of targets) {
					if (target.type === 'options' && Array.isArray(target.options)) target.options.forEach((o) => known.add(o.value));
					else open = true;
				}
				for (const value of values) {
					if (!open && !known.has(value)) problem(`${where}.${prop.name}`, `shown for ${name}=${value}, which ${name} cannot take`);
				}
			}
		}
	}
}

function nodeOf(description, parameters) {
	return { id: 'check', name: description.defaults.name, type: `${pkg.name}.${description.name}`, typeVersion: 1, position: [0, 0], parameters };
}

function issuesOf(description, parameters) {
	const issues = NodeHelpers.getNodeParametersIssues(description.properties, nodeOf(description, parameters), description);
	return Object.keys((issues && issues.parameters) || {}).sort();
}

function resolve(description, values) {
	return NodeHelpers.getNodeParameters(description.properties, values, true, false, nodeOf(description, values), description);
}

function filled(parameters, names) {
	const out = { ...parameters };
	for (const name of names) out[name] = typeof out[name] === 'number' ? 1 : 'x';
	return out;
}

function operationsReport(description) {
	const report = [];
	const resources = description.properties.find((p) => p.name === 'resource');
	for (const operationProp of description.properties.filter((p) => p.name === 'operation')) {
		const resource = operationProp.displayOptions.show.resource[0];
		for (const option of operationProp.options) {
			const params = resolve(description, { resource, operation: option.value });
			const visible = description.properties.filter(
				(p) => p.name in params && NodeHelpers.displayParameter(params, p, nodeOf(description, params), description),
			);
			const missing = issuesOf(description, params);
			const remaining = issuesOf(description, filled(params, missing));
			const collection = visible.find((p) => p.name === 'additionalFields');
			const sends = {};
			for (const prop of visible.concat(collection ? collection.options : [])) {
				if (prop.routing && prop.routing.send) sends[prop.name] = prop.routing.send;
			}
			report.push({
				resource, operation: option.value, request: (option.routing || {}).request,
				visible: visible.map((p) => p.name).filter((n) => !['resource', 'operation'].includes(n)).sort(),
				missing, remaining, sends,
				loadOptions: visible.concat(collection ? collection.options : [])
					.filter((p) => p.typeOptions && p.typeOptions.loadOptions)
					.map((p) => ({ name: p.name, request: p.typeOptions.loadOptions.routing.request })),
			});
		}
	}
	if (!resources) problem(description.name, 'no resource property');
	return report;
}

function triggersReport(description, instance) {
	const report = [];
	const trigger = description.properties.find((p) => p.name === 'trigger');
	const methods = (instance.methods && instance.methods.loadOptions) || {};
	for (const option of trigger.options) {
		const params = resolve(description, { trigger: option.value });
		const missing = issuesOf(description, params);
		report.push({ trigger: option.value, visible: Object.keys(params).sort(), missing });
	}
	for (const prop of description.properties) {
		const method = prop.typeOptions && prop.typeOptions.loadOptionsMethod;
		if (method && typeof methods[method] !== 'function') problem(`${description.name}.${prop.name}`, `no loadOptions method ${method}`);
	}
	const hooks = (instance.webhookMethods || {}).default || {};
	for (const name of ['checkExists', 'create', 'delete']) {
		if (typeof hooks[name] !== 'function') problem(description.name, `webhookMethods.default.${name} missing`);
	}
	if (typeof instance.webhook !== 'function') problem(description.name, 'no webhook()');
	return report;
}

function checkNode(relative, credentialNames) {
	const { instance, className, dir } = load(relative);
	const d = instance.description;
	const where = d.name;
	if (d.name !== className.charAt(0).toLowerCase() + className.slice(1)) problem(where, `name does not match class ${className}`);
	for (const key of ['displayName', 'name', 'group', 'version', 'description', 'defaults', 'inputs', 'outputs', 'properties']) {
		if (!(key in d)) problem(where, `no ${key}`);
	}
	if (typeof d.icon === 'string' && d.icon.startsWith('file:') && !fs.existsSync(path.join(dir, d.icon.slice(5)))) {
		problem(where, `icon ${d.icon} is not next to the compiled node`);
	}
	for (const credential of d.credentials || []) {
		if (!credentialNames.has(credential.name)) problem(where, `unknown credential ${credential.name}`);
	}
	d.properties.forEach((p) => checkProperty(p, where));
	checkDisplayOptions(d.properties, where);
	const trigger = (d.group || []).includes('trigger');
	const out = { name: d.name, trigger, displayName: d.displayName, requestDefaults: d.requestDefaults || null };
	if (trigger) {
		if (d.inputs.length !== 0) problem(where, 'a trigger with inputs');
		out.webhooks = d.webhooks;
		out.triggers = triggersReport(d, instance);
	} else {
		if (typeof instance.execute === 'function') problem(where, 'a declarative node with execute()');
		out.operations = operationsReport(d);
	}
	return out;
}

function checkCredential(relative) {
	const { instance, className } = load(relative);
	const where = instance.name;
	if (instance.name !== className.charAt(0).toLowerCase() + className.slice(1)) problem(where, 'name does not match class');
	instance.properties.forEach((p) => checkProperty(p, where));
	const key = instance.properties.find((p) => p.name === 'connectionKey');
	if (!key || !(key.typeOptions && key.typeOptions.password)) problem(where, 'the connection key is not masked');
	return { name: instance.name, authenticate: instance.authenticate, test: instance.test, properties: instance.properties.map((p) => p.name) };
}

const credentials = {};
for (const relative of pkg.n8n.credentials) {
	const report = checkCredential(relative);
	credentials[report.name] = report;
}
const nodes = {};
for (const relative of pkg.n8n.nodes) {
	const report = checkNode(relative, new Set(Object.keys(credentials)));
	nodes[report.name] = report;
}
process.stdout.write(JSON.stringify({ problems, credentials, nodes }));
