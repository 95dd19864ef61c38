'use strict';
/*
 * The auth test and the connection label, shared by both authentication variants.
 *
 * test: GET /api/me answers {"data": {id, label, team: {id, name}, status, status_reason, ...}}; the test
 * returns that connection object, which Zapier then hands to connectionLabel as bundle.inputData.
 * A connection whose MemberPass token stopped working answers 200 with status `needs_attention`: the
 * test fails then, with the reason, so a Zap is not turned on over a token MemberPass refuses.
 */

const { apiUrl } = require('./http');

const test = async (z) => {
  const response = await z.request({ url: apiUrl('/api/me') });
  const me = (response.data || {}).data || {};
  if (me.status && me.status !== 'active') {
    const reason = me.status_reason ? ` (${me.status_reason})` : '';
    throw new z.errors.Error(
      `MemberPass no longer accepts the token behind this connection${reason}. ` +
        'Reconnect this account with a new MemberPass token, then test again.',
      'CONNECTION_NEEDS_ATTENTION',
      response.status,
    );
  }
  return me;
};

// The team name (the connector's own label says the same unless the user chose another one).
const connectionLabel = (z, bundle) => {
  const me = bundle.inputData || {};
  return (me.team && me.team.name) || me.label || me.id || 'MemberPass';
};

module.exports = { connectionLabel, test };
