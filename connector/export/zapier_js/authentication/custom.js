'use strict';
/*
 * A connection key (`mpc_…`), shown once when a MemberPass token is pasted on the connector's connect
 * page (or returned by POST /api/connections), sent as `Authorization: Bearer` by lib/http.js.
 */

const { apiUrl } = require('./lib/http');
const { connectionLabel, test } = require('./lib/me');

const connectPage = apiUrl('/connect');

module.exports = {
  type: 'custom',
  fields: [
    {
      key: 'connection_key',
      label: 'Connection Key',
      type: 'password',
      required: true,
      helpText:
        `The connection key (\`mpc_…\`) shown once when you paste a MemberPass token at [${connectPage}](${connectPage}).`,
    },
  ],
  test,
  connectionLabel,
};
