'use strict';
/*
 * Turns the generated operation definitions (plain data from the connector's manifests) into Zapier
 * triggers, creates and searches that call the connector's HTTP API:
 *
 *   polling trigger   GET    /api/triggers/<key>                 newest first, one unique `id` per item
 *   REST-hook trigger POST   /api/triggers/<key>/subscriptions   {target_url, inputs, first_run}
 *                     DELETE /api/subscriptions/<id>
 *                     GET    /api/triggers/<key>?sample=1        (performList: the editor's samples)
 *   dropdown          GET    /api/choices/<source>               [{id, label}], hidden polling trigger
 *   create            POST   /api/actions/<key>                  with an Idempotency-Key per Zap + input
 *   search            GET    /api/searches/<key>                 [] when nothing matches
 */

const crypto = require('crypto');

const { apiUrl, raiseFor } = require('./http');

const isEmpty = (value) =>
  value === undefined || value === null || value === '' || (Array.isArray(value) && value.length === 0);

// Only the operation's own inputs are sent: the connector refuses unknown keys, and Zapier hands a
// dropdown trigger every field of the form it fills.
const pick = (inputData, keys) => {
  const out = {};
  for (const key of keys) {
    if (!isEmpty((inputData || {})[key])) {
      out[key] = inputData[key];
    }
  }
  return out;
};

const keysOf = (fields) => fields.map((field) => field.key);

const path = (prefix, key) => apiUrl(`${prefix}/${encodeURIComponent(key)}`);

const listFrom = (response, what, z) => {
  if (!Array.isArray(response.data)) {
    throw new z.errors.Error(
      `The MemberPass Connector answered ${what} with something other than a list.`,
      'UNEXPECTED_ANSWER',
      response.status,
    );
  }
  return response.data;
};

const canonical = (value) => {
  if (Array.isArray(value)) {
    return `[${value.map(canonical).join(',')}]`;
  }
  if (value && typeof value === 'object') {
    const members = Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonical(value[key])}`);
    return `{${members.join(',')}}`;
  }
  return JSON.stringify(value);
};

// Zapier sends no idempotency key of its own. Within one Zap, a replayed or auto-replayed run carries the
// same input, so Zap + action + input names one logical call; the connector replays its stored answer
// for a repeat (24 h) instead of writing twice. Without a Zap id (the editor's test) no key is sent and
// the connector falls back to its own key from connection + action + input.
const idempotencyKey = (bundle, action, body) => {
  const zap = (bundle.meta || {}).zap || {};
  if (!zap.id) {
    return null;
  }
  const digest = crypto.createHash('sha256').update(canonical(body), 'utf8').digest('hex');
  return `zapier:${zap.id}:${action}:${digest.slice(0, 32)}`;
};

// Zapier's limit when it gives one; the seed poll (isPopulatingDedupe) asks for the connector's maximum
// (-1), so it covers every later poll: a later poll longer than the seed would fire old records as new.
const pollParams = (def, bundle) => {
  const params = pick(bundle.inputData, keysOf(def.inputFields));
  const meta = bundle.meta || {};
  if (Number.isInteger(meta.limit) && meta.limit >= 1) {
    params.limit = meta.limit;
  } else if (meta.isPopulatingDedupe) {
    params.limit = -1;
  }
  if (meta.isLoadingSample) {
    params.sample = 1;
  }
  return params;
};

const shell = (def, operation) => ({
  key: def.key,
  noun: def.noun,
  display: def.display,
  operation: {
    inputFields: def.inputFields,
    outputFields: def.outputFields,
    sample: def.sample,
    ...operation,
  },
});

const pollingTrigger = (def) =>
  shell(def, {
    type: 'polling',
    perform: async (z, bundle) => {
      const response = await z.request({
        url: path('/api/triggers', def.connectorKey),
        params: pollParams(def, bundle),
      });
      return listFrom(response, `trigger ${def.connectorKey}`, z);
    },
  });

// The body Zapier received at bundle.targetUrl is one record, exactly as the polling endpoint returns it.
const hookItems = (received) => {
  if (Array.isArray(received)) {
    return received;
  }
  return received && typeof received === 'object' && Object.keys(received).length ? [received] : [];
};

const hookTrigger = (def) =>
  shell(def, {
    type: 'hook',
    performSubscribe: async (z, bundle) => {
      const response = await z.request({
        url: `${path('/api/triggers', def.connectorKey)}/subscriptions`,
        method: 'POST',
        body: {
          target_url: bundle.targetUrl,
          inputs: pick(bundle.inputData, keysOf(def.inputFields)),
          first_run: 'from_now',
        },
      });
      // The signing secret stays with the connector: Zapier cannot verify signatures anyway.
      const { id, mode } = response.data;
      return { id, mode, trigger: def.connectorKey };
    },
    performUnsubscribe: async (z, bundle) => {
      const id = (bundle.subscribeData || {}).id;
      if (!id) {
        return {};
      }
      const response = await z.request({
        url: path('/api/subscriptions', id),
        method: 'DELETE',
        skipThrowForStatus: true,
      });
      if (response.status >= 400 && response.status !== 404) {
        raiseFor(response, z);
      }
      // 404: already gone (the connector removes a subscription whose target answered 410).
      return { id, deleted: true };
    },
    perform: async (z, bundle) => hookItems(bundle.cleanedRequest),
    performList: async (z, bundle) => {
      const response = await z.request({
        url: path('/api/triggers', def.connectorKey),
        params: { ...pick(bundle.inputData, keysOf(def.inputFields)), sample: 1 },
      });
      return listFrom(response, `trigger ${def.connectorKey}`, z);
    },
  });

// A hidden trigger that fills dropdowns. The connector answers every option at once, so "load more"
// (bundle.meta.page > 0) has nothing to add.
const dropdownTrigger = (def) =>
  shell(def, {
    type: 'polling',
    perform: async (z, bundle) => {
      if ((bundle.meta || {}).page > 0) {
        return [];
      }
      const response = await z.request({
        url: path('/api/choices', def.connectorKey),
        params: pick(bundle.inputData, def.sourceInputs),
      });
      return listFrom(response, `dropdown ${def.connectorKey}`, z);
    },
  });

const create = (def) =>
  shell(def, {
    perform: async (z, bundle) => {
      const body = pick(bundle.inputData, keysOf(def.inputFields));
      const headers = { 'Content-Type': 'application/json' };
      const key = idempotencyKey(bundle, def.connectorKey, body);
      if (key) {
        headers['Idempotency-Key'] = key;
      }
      const response = await z.request({
        url: path('/api/actions', def.connectorKey),
        method: 'POST',
        body,
        headers,
      });
      return response.data;
    },
  });

const search = (def) =>
  shell(def, {
    perform: async (z, bundle) => {
      const response = await z.request({
        url: path('/api/searches', def.connectorKey),
        params: pick(bundle.inputData, keysOf(def.inputFields)),
      });
      return listFrom(response, `search ${def.connectorKey}`, z);
    },
  });

module.exports = { canonical, create, dropdownTrigger, hookTrigger, idempotencyKey, pollingTrigger, search };
