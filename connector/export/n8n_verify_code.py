"""The Code node that checks a Standard Webhooks signature in the "new member" template.

The Webhook node runs with ``options.rawBody``, so each item carries the exact bytes received as binary
``data``; the HMAC-SHA256 over ``<webhook-id>.<webhook-timestamp>.<raw body>`` uses the base64-decoded
``whsec_`` secret (not its text), any ``v1,`` signature may match (secret rotation), comparisons are
constant-time, and a timestamp more than 5 minutes away either way is refused. A refused delivery fails
the execution, so nothing downstream runs. Self-hosted n8n needs ``NODE_FUNCTION_ALLOW_BUILTIN=crypto``.
"""

SECRET_PLACEHOLDER = "whsec_PASTE_THE_SECRET_FROM_CREATE_SUBSCRIPTION"  # noqa: S105 (a placeholder)

VERIFY_JS = (
    """// Checks the Standard Webhooks signature of each MemberPass Connector delivery.
const crypto = require('crypto');
const SECRET = '"""
    + SECRET_PLACEHOLDER
    + """';
const TOLERANCE_SECONDS = 300;
const key = Buffer.from(SECRET.replace(/^whsec_/, ''), 'base64');

const out = [];
for (const [index, item] of $input.all().entries()) {
  const headers = item.json.headers || {};
  const id = headers['webhook-id'];
  const timestamp = String(headers['webhook-timestamp'] || '');
  const signatures = String(headers['webhook-signature'] || '');
  const age = Math.abs(Date.now() / 1000 - Number(timestamp));
  if (!id || !/^[0-9]+$/.test(timestamp) || age > TOLERANCE_SECONDS) {
    throw new Error('Delivery refused: missing webhook headers, or a timestamp more than 5 minutes away');
  }
  const raw = await this.helpers.getBinaryDataBuffer(index, 'data');
  const expected = crypto.createHmac('sha256', key).update(`${id}.${timestamp}.`).update(raw).digest();
  const valid = signatures.split(' ').some((part) => {
    const [version, value] = part.split(',');
    const given = Buffer.from(value || '', 'base64');
    return version === 'v1' && given.length === expected.length && crypto.timingSafeEqual(given, expected);
  });
  if (!valid) throw new Error('Delivery refused: the signature does not match the subscription secret');
  out.push({ json: JSON.parse(raw.toString('utf8')), pairedItem: { item: index } });
}
return out;
"""
)
