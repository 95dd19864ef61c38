'use strict';
/*
 * OAuth 2 (authorization code with PKCE) against the connector's /oauth/authorize and /oauth/token. The
 * consent step is the connector's token-paste page; the access token it issues is a connection key,
 * valid one hour, and refresh tokens rotate on every use.
 *
 * Setup: register this app with the connector's operator
 *   memberpass-connector oauth-clients add --name Zapier --redirect-uri <the redirect URI of this app>
 * then give the printed values to Zapier: zapier-platform env:set <version> CLIENT_ID=… CLIENT_SECRET=…
 * Zapier adds code_challenge and code_challenge_method to the authorize URL itself (enablePkce).
 */

const { apiUrl } = require('./lib/http');
const { connectionLabel, test } = require('./lib/me');

const authorizeUrl = (z, bundle) => {
  const params = new URLSearchParams({
    response_type: 'code',
    client_id: process.env.CLIENT_ID || '',
    state: bundle.inputData.state || '',
    redirect_uri: bundle.inputData.redirect_uri || '',
  });
  return `${apiUrl('/oauth/authorize')}?${params.toString()}`;
};

const tokenRequest = (z, form) =>
  z.request({
    url: apiUrl('/oauth/token'),
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
    body: { ...form, client_id: process.env.CLIENT_ID || '', client_secret: process.env.CLIENT_SECRET || '' },
    skipThrowForStatus: true,
  });

const oauthProblem = (response) => {
  const body = response.data || {};
  const text = body.error_description || `The connector's token endpoint answered ${response.status}.`;
  return { code: typeof body.error === 'string' ? body.error : `HTTP_${response.status}`, text };
};

const tokens = (data) => ({ access_token: data.access_token, refresh_token: data.refresh_token });

const getAccessToken = async (z, bundle) => {
  const response = await tokenRequest(z, {
    grant_type: 'authorization_code',
    code: bundle.inputData.code,
    redirect_uri: bundle.inputData.redirect_uri,
    code_verifier: bundle.inputData.code_verifier,
  });
  if (response.status >= 400) {
    const problem = oauthProblem(response);
    throw new z.errors.Error(`${problem.text} Start the sign-in again.`, problem.code, response.status);
  }
  return tokens(response.data);
};

// A refused refresh (revoked sign-in, reused refresh token) cannot be fixed by retrying: the user has to
// sign in again, which is what ExpiredAuthError asks of them while Zapier holds the runs.
const refreshAccessToken = async (z, bundle) => {
  const response = await tokenRequest(z, {
    grant_type: 'refresh_token',
    refresh_token: bundle.authData.refresh_token,
  });
  if (response.status >= 400) {
    const problem = oauthProblem(response);
    throw new z.errors.ExpiredAuthError(`${problem.text} Reconnect your MemberPass account (sign in again).`);
  }
  return tokens(response.data);
};

module.exports = {
  type: 'oauth2',
  oauth2Config: {
    authorizeUrl,
    getAccessToken,
    refreshAccessToken,
    autoRefresh: true,
    enablePkce: true,
  },
  fields: [],
  test,
  connectionLabel,
};
