// Runs the jsCode of an n8n Code node ("Run Once for All Items") with small fakes of $input and
// this.helpers.getBinaryDataBuffer, as n8n's JavaScript sandbox provides them. Used by test_n8n_templates.py.
//
// usage: node n8n_code_node.js < job.json
// job: {code, items: [{json, binary: {data: {data: <base64>}}}]}; prints {ok, out} or {ok: false, error}
'use strict';
const fs = require('fs');

const job = JSON.parse(fs.readFileSync(0, 'utf8'));
const items = job.items;
const $input = { all: () => items, first: () => items[0], last: () => items[items.length - 1] };
const context = {
	helpers: {
		getBinaryDataBuffer: async (index, name) => Buffer.from(items[index].binary[name].data, 'base64'),
	},
};
const AsyncFunction = Object.getPrototypeOf(async function () {}).constructor;
const run = new AsyncFunction('$input', 'require', job.code);
run.call(context, $input, require).then(
	(out) => process.stdout.write(JSON.stringify({ ok: true, out })),
	(error) => process.stdout.write(JSON.stringify({ ok: false, error: String(error.message || error) })),
);
