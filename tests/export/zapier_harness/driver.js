'use strict';
/*
 * Drives a generated Zapier app with Zapier's own tooling, for tests/export/test_zapier_*.py.
 *
 *   NODE_PATH=<folder holding zapier-platform-core 19.1.0> node driver.js <app folder>
 *
 * Reads one JSON request per line on stdin and answers each with one line `@@RESULT {json}` on stdout
 * (other output, e.g. from the core's logger, is left alone and ignored by the reader):
 *
 *   {"id": 1, "op": "validate"}
 *       → {"id": 1, "ok": true, "result": [...]}   createAppHandler(App)({command: 'validate'}): the
 *         schema plus Zapier's functional constraints; [] means the app is valid.
 *   {"id": 2, "op": "definition"}
 *       → the App as JSON, each function written "$function".
 *   {"id": 3, "op": "run", "method": "triggers.new_member.operation.perform", "bundle": {...},
 *    "env": {"CONNECTOR_BASE_URL": "..."}}
 *       → createAppTester(App)(the function at that path, bundle); a failure answers
 *         {"ok": false, "error": {"name", "message", "parsed"?}} (`parsed` is the JSON inside the
 *         message of z.errors.Error / ThrottledError: {message, code, status} / {message, delay}).
 */

const path = require('path');
const readline = require('readline');

const zapier = require('zapier-platform-core');

const App = require(path.resolve(process.argv[2]));
const appTester = zapier.createAppTester(App);

const at = (object, dotted) => dotted.split('.').reduce((node, part) => (node == null ? node : node[part]), object);

const plain = (value) =>
  JSON.parse(JSON.stringify(value, (key, v) => (typeof v === 'function' ? '$function' : v)));

const describeError = (err) => {
  const out = { name: (err && err.name) || 'Error', message: String((err && err.message) || err) };
  try {
    const parsed = JSON.parse(out.message);
    if (parsed && typeof parsed === 'object') {
      out.parsed = parsed;
    }
  } catch (ignored) {
    // a plain message
  }
  return out;
};

const validate = () =>
  new Promise((resolve, reject) => {
    const handler = zapier.createAppHandler(App);
    handler({ command: 'validate' }, {}, (err, response) => (err ? reject(err) : resolve(response.results)));
  });

const withEnv = async (env, work) => {
  const saved = {};
  for (const [key, value] of Object.entries(env || {})) {
    saved[key] = process.env[key];
    process.env[key] = value;
  }
  try {
    return await work();
  } finally {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) {
        delete process.env[key];
      } else {
        process.env[key] = value;
      }
    }
  }
};

const run = (request) => {
  const method = at(App, request.method);
  if (typeof method !== 'function') {
    throw new Error(`No function at ${request.method}`);
  }
  return withEnv(request.env, () => appTester(method, request.bundle || {}));
};

const handle = async (request) => {
  if (request.op === 'validate') {
    return validate();
  }
  if (request.op === 'definition') {
    return plain(App);
  }
  if (request.op === 'run') {
    return run(request);
  }
  throw new Error(`unknown op ${request.op}`);
};

const answer = (body) => process.stdout.write(`@@RESULT ${JSON.stringify(body)}\n`);

const lines = readline.createInterface({ input: process.stdin });
let queue = Promise.resolve();
lines.on('line', (line) => {
  if (!line.trim()) {
    return;
  }
  queue = queue.then(async () => {
    const request = JSON.parse(line);
    try {
      answer({ id: request.id, ok: true, result: await handle(request) });
    } catch (err) {
      answer({ id: request.id, ok: false, error: describeError(err) });
    }
  });
});
