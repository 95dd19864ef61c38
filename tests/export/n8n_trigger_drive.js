// Drives the compiled trigger node the way n8n does, with small fakes of n8n's function contexts, against
// a live connector. Run by tests/export/test_n8n_package.py.
//
// usage: node n8n_trigger_drive.js <package dir> < job.json
// job: {state: {baseUrl, key, webhookUrl, params, staticData}, steps: ["create" | "checkExists" | "delete" |
//       {"loadOptions": source} | {"webhook": {headers, body}}]}
// prints {results: [...], staticData}
'use strict';
const fs = require('fs');
const path = require('path');

const pkgDir = path.resolve(process.argv[2]);
const pkg = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));
const job = JSON.parse(fs.readFileSync(0, 'utf8'));
const state = job.state;

function loadClass(relative) {
	const file = path.join(pkgDir, relative);
	const className = path.basename(file).split('.')[0];
	return new (require(file)[className])();
}
const credential = loadClass(pkg.n8n.credentials[0]);
const trigger = loadClass(pkg.n8n.nodes.find((n) => n.includes('Trigger')));

function expand(template, credentials) {
	return template.replace(/^=/, '').replace(/\{\{\s*\$credentials\.(\w+)\s*\}\}/g, (_, name) => credentials[name]);
}

// httpRequestWithAuthentication: the credential's generic `authenticate` headers, then fetch.
async function httpRequestWithAuthentication(credentialType, options) {
	const credentials = await this.getCredentials(credentialType);
	const headers = { Accept: 'application/json' };
	for (const [name, value] of Object.entries(credential.authenticate.properties.headers)) {
		headers[name] = expand(value, credentials);
	}
	const url = new URL(options.url);
	for (const [name, value] of Object.entries(options.qs || {})) {
		for (const item of Array.isArray(value) ? value : [value]) url.searchParams.append(name, String(item));
	}
	let body;
	if (options.body !== undefined) {
		headers['Content-Type'] = 'application/json';
		body = JSON.stringify(options.body);
	}
	const response = await fetch(url, { method: options.method, headers, body });
	const text = await response.text();
	const parsed = text ? JSON.parse(text) : '';
	if (!options.ignoreHttpStatusErrors && response.status >= 400) throw new Error(`HTTP ${response.status}: ${text}`);
	return options.returnFullResponse ? { statusCode: response.status, body: parsed } : parsed;
}

const node = { id: '1', name: 'MemberPass Connector Trigger', type: 'trigger', typeVersion: 1, position: [0, 0], parameters: {} };
const base = {
	getNode: () => node,
	getCredentials: async () => ({ baseUrl: state.baseUrl, connectionKey: state.key }),
	getWorkflowStaticData: () => state.staticData,
	helpers: { httpRequestWithAuthentication },
};
const hookContext = {
	...base,
	getNodeParameter: (name, fallback) => (name in state.params ? state.params[name] : fallback),
	getNodeWebhookUrl: () => state.webhookUrl,
};
const loadOptionsContext = {
	...base,
	getCurrentNodeParameter: (name) => state.params[name],
};

function webhookContext(delivery) {
	const response = { status: null, body: null };
	const res = {
		writeHead(status) { response.status = status; },
		end(text) { response.body = text; },
	};
	const headers = Object.fromEntries(Object.entries(delivery.headers).map(([k, v]) => [k.toLowerCase(), v]));
	const ctx = {
		...base,
		getRequestObject: () => ({ rawBody: Buffer.from(delivery.body, 'utf8'), headers }),
		getHeaderData: () => headers,
		getResponseObject: () => res,
		helpers: { returnJsonArray: (data) => (Array.isArray(data) ? data : [data]).map((json) => ({ json })) },
	};
	return { ctx, response };
}

async function run(step) {
	if (typeof step === 'string') return await trigger.webhookMethods.default[step].call(hookContext);
	if (step.loadOptions) return await trigger.methods.loadOptions[step.loadOptions].call(loadOptionsContext);
	const { ctx, response } = webhookContext(step.webhook);
	const answer = await trigger.webhook.call(ctx);
	return { answer, response };
}

(async () => {
	const results = [];
	for (const step of job.steps) {
		try {
			results.push({ ok: true, value: await run(step) });
		} catch (error) {
			results.push({ ok: false, error: String(error && error.message ? error.message : error) });
		}
	}
	process.stdout.write(JSON.stringify({ results, staticData: state.staticData }));
})();
