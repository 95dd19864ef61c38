'use strict';
/*
 * HTTP glue between Zapier and the MemberPass Connector: where the connector lives, how each request is
 * authenticated (beforeRequest), and how the connector's error envelope becomes Zapier's errors
 * (afterResponse).
 *
 * Errors, by status (the envelope is {"error": {code, message, remediation, request_id, fields?}}):
 *   429          Zapier core raises ThrottledError with the Retry-After delay *before* afterResponse
 *                runs (core >= 18); the branch below only applies if a request opts out of that.
 *   401          oauth2: RefreshAuthError (core raises it first when autoRefresh is on), so Zapier
 *                refreshes the token and retries; when it was MemberPass that refused the connection's
 *                token, the connector answers that refresh with invalid_grant, so Zapier marks the
 *                connection stale and holds the runs (no refresh loop); custom: ExpiredAuthError, so
 *                Zapier holds the runs and asks the user to reconnect.
 *   502, 503     with Retry-After (MemberPass unreachable or unavailable): ThrottledError, so the run
 *                is retried later instead of counting as an error that can turn the Zap off.
 *   other >= 400 z.errors.Error(message + remediation, code, status).
 */

const config = require('./config');

const baseUrl = () => (process.env.CONNECTOR_BASE_URL || config.BAKED_BASE_URL).replace(/\/+$/, '');

const apiUrl = (path) => `${baseUrl()}${path}`;

const credential = (authData) =>
  config.AUTH_TYPE === 'oauth2' ? authData.access_token : authData.connection_key;

// beforeRequest: the connection's credential as a bearer token on every call to the connector's API.
const includeAuth = (request, z, bundle) => {
  request.headers = request.headers || {};
  const secret = credential(bundle.authData || {});
  const toTokenEndpoint = String(request.url || '').includes('/oauth/token');
  if (secret && !toTokenEndpoint && !request.headers.Authorization) {
    request.headers.Authorization = `Bearer ${secret}`;
  }
  if (!request.headers.Accept) {
    request.headers.Accept = 'application/json';
  }
  return request;
};

const envelopeOf = (response) => {
  const body = response.data; // undefined when the answer is not JSON
  const error = body && typeof body.error === 'object' && body.error ? body.error : {};
  return {
    code: error.code || `HTTP_${response.status}`,
    message: error.message || `The MemberPass Connector answered ${response.status}.`,
    remediation: error.remediation || '',
    requestId: error.request_id || response.getHeader('x-request-id') || '',
    fields: error.fields || null,
  };
};

const describe = (envelope) => {
  const parts = [envelope.message];
  if (envelope.fields) {
    const named = Object.keys(envelope.fields).map((k) => `${k}: ${[].concat(envelope.fields[k]).join(', ')}`);
    parts.push(`(${named.join('; ')})`);
  }
  if (envelope.remediation) {
    parts.push(envelope.remediation);
  }
  if (envelope.requestId) {
    parts.push(`[request ${envelope.requestId}]`);
  }
  return parts.join(' ');
};

const retryAfter = (response) => {
  const seconds = parseInt(response.getHeader('retry-after'), 10);
  return Number.isNaN(seconds) ? null : seconds;
};

// Throw the Zapier error for a failed response; used by afterResponse and by operations that read the
// status themselves (skipThrowForStatus).
const raiseFor = (response, z) => {
  const envelope = envelopeOf(response);
  const text = describe(envelope);
  if (response.status === 429) {
    throw new z.errors.ThrottledError(text, retryAfter(response) || 60);
  }
  if (response.status === 401) {
    if (config.AUTH_TYPE === 'oauth2') {
      throw new z.errors.RefreshAuthError(text);
    }
    throw new z.errors.ExpiredAuthError(text);
  }
  if ((response.status === 502 || response.status === 503) && retryAfter(response) !== null) {
    throw new z.errors.ThrottledError(text, retryAfter(response));
  }
  throw new z.errors.Error(text, envelope.code, response.status);
};

// afterResponse: leave successes and requests that handle their own status alone.
const handleErrors = (response, z) => {
  if (response.status >= 400 && !response.skipThrowForStatus) {
    raiseFor(response, z);
  }
  return response;
};

module.exports = { apiUrl, baseUrl, handleErrors, includeAuth, raiseFor };
