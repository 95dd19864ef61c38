"""TypeScript of the trigger node (its description and input maps are spliced in as JSON).

Lifecycle, as n8n drives ``webhookMethods.default`` on activation and deactivation:

- ``checkExists``: the stored subscription (``GET /api/subscriptions/<id>``) still exists for this webhook
  URL and trigger; a stale one (other trigger or URL) is deleted and the node subscribes again;
- ``create``: ``POST /api/triggers/<key>/subscriptions`` with ``this.getNodeWebhookUrl('default')``, the
  trigger's inputs and the first-run policy; ``id`` and ``secret`` go to the node's static data;
- ``delete``: ``DELETE /api/subscriptions/<id>`` (a 404 counts as deleted).

``webhook()`` checks the Standard Webhooks signature before anything else: HMAC-SHA256 over
``<webhook-id>.<webhook-timestamp>.<raw body>`` keyed with the base64-decoded ``whsec_`` secret, any
``v1,<base64>`` entry of ``webhook-signature`` compared in constant time, timestamp within 5 minutes either
way. A bad delivery gets 401 and starts nothing; a good one becomes one item (the delivered record).
"""

TRIGGER_TS = r"""import { createHmac, timingSafeEqual } from 'crypto';
import type { IncomingHttpHeaders } from 'http';
import type {
	IDataObject,
	IHookFunctions,
	IHttpRequestMethods,
	ILoadOptionsFunctions,
	INodePropertyOptions,
	INodeType,
	INodeTypeDescription,
	IWebhookFunctions,
	IWebhookResponseData,
	JsonObject,
} from 'n8n-workflow';
import { NodeApiError } from 'n8n-workflow';

const CREDENTIAL = 'memberPassConnectorApi';
const ADDITIONAL = 'additionalFields';
export const TOLERANCE_SECONDS = 300;

/** Where each trigger's inputs are read: top-level parameters, or the additional fields. */
const TRIGGER_INPUTS: Record<string, { required: string[]; optional: string[] }> = __TRIGGER_INPUTS__;

/** The inputs each dropdown source takes (read from the node's current parameters). */
const CHOICE_INPUTS: Record<string, string[]> = __CHOICE_INPUTS__;

type Context = IHookFunctions | ILoadOptionsFunctions;

interface Answer {
	statusCode: number;
	body: unknown;
}

async function call(
	ctx: Context,
	method: IHttpRequestMethods,
	path: string,
	body?: IDataObject,
	qs?: IDataObject,
): Promise<Answer> {
	const credentials = await ctx.getCredentials(CREDENTIAL);
	const base = String(credentials.baseUrl ?? '').replace(/\/+$/, '');
	const response = await ctx.helpers.httpRequestWithAuthentication.call(ctx, CREDENTIAL, {
		method,
		url: base + path,
		body,
		qs,
		json: true,
		arrayFormat: 'repeat',
		returnFullResponse: true,
		ignoreHttpStatusErrors: true,
	});
	return { statusCode: Number(response.statusCode), body: response.body };
}

function failed(ctx: Context, answer: Answer): NodeApiError {
	const raw = answer.body;
	const body = (raw && typeof raw === 'object' ? raw : { message: String(raw) }) as JsonObject;
	const error = (body.error ?? {}) as JsonObject;
	return new NodeApiError(ctx.getNode(), body, {
		httpCode: String(answer.statusCode),
		message: String(error.message ?? `The connector answered ${answer.statusCode}`),
		description: error.remediation ? String(error.remediation) : undefined,
	});
}

function given(value: unknown): boolean {
	if (Array.isArray(value)) return value.length > 0;
	return value !== undefined && value !== null && value !== '';
}

function triggerInputs(ctx: IHookFunctions, key: string): IDataObject {
	const names = TRIGGER_INPUTS[key] ?? { required: [], optional: [] };
	const inputs: IDataObject = {};
	for (const name of names.required) {
		const value = ctx.getNodeParameter(name, '');
		if (given(value)) inputs[name] = value as IDataObject[keyof IDataObject];
	}
	const extra = ctx.getNodeParameter(ADDITIONAL, {}) as IDataObject;
	for (const name of names.optional) {
		if (given(extra[name])) inputs[name] = extra[name];
	}
	return inputs;
}

function subscribeBody(ctx: IHookFunctions, key: string, targetUrl: string): IDataObject {
	const body: IDataObject = { target_url: targetUrl, inputs: triggerInputs(ctx, key) };
	const firstRun = ctx.getNodeParameter('firstRun', 'from_now') as string;
	body.first_run = firstRun;
	if (firstRun === 'last_n') body.n = ctx.getNodeParameter('firstRunCount', 3) as number;
	if (firstRun === 'since') {
		const since = String(ctx.getNodeParameter('firstRunSince', ''));
		body.since = /(Z|[+-]\d\d:?\d\d)$/.test(since) ? since : `${since}Z`;
	}
	return body;
}

function header(headers: IncomingHttpHeaders, name: string): string {
	const value = headers[name];
	return Array.isArray(value) ? value[0] ?? '' : value ?? '';
}

/** Null when the delivery is signed with `secret`, else why it is refused. */
export function verifySignature(
	secret: string | undefined,
	headers: IncomingHttpHeaders,
	body: Buffer,
	now: number,
): string | null {
	if (!secret) return 'No subscription secret is stored: deactivate and activate the workflow again.';
	const id = header(headers, 'webhook-id');
	const timestamp = header(headers, 'webhook-timestamp');
	const signatures = header(headers, 'webhook-signature');
	if (!id || !timestamp || !signatures) return 'Missing webhook-id, -timestamp or -signature.';
	const sentAt = Number(timestamp);
	if (!/^\d+$/.test(timestamp) || Math.abs(now - sentAt) > TOLERANCE_SECONDS) {
		return 'The webhook-timestamp is more than 5 minutes away.';
	}
	const key = Buffer.from(secret.startsWith('whsec_') ? secret.slice(6) : secret, 'base64');
	const expected = createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest();
	for (const part of signatures.split(' ')) {
		const [version, value] = part.split(',', 2);
		if (version !== 'v1' || !value) continue;
		const candidate = Buffer.from(value, 'base64');
		if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) return null;
	}
	return 'No valid signature.';
}

async function loadChoices(ctx: ILoadOptionsFunctions, source: string): Promise<INodePropertyOptions[]> {
	const qs: IDataObject = {};
	const extra = (ctx.getCurrentNodeParameter(ADDITIONAL) ?? {}) as IDataObject;
	for (const name of CHOICE_INPUTS[source] ?? []) {
		const value = ctx.getCurrentNodeParameter(name) ?? extra[name];
		if (given(value)) qs[name] = value as IDataObject[keyof IDataObject];
	}
	const answer = await call(ctx, 'GET', `/api/choices/${encodeURIComponent(source)}`, undefined, qs);
	if (answer.statusCode >= 300) throw failed(ctx, answer);
	const rows = (Array.isArray(answer.body) ? answer.body : []) as Array<{ id: string; label: string }>;
	const options = rows.map((row) => ({ name: String(row.label), value: row.id }));
	return options.sort((a, b) => a.name.localeCompare(b.name));
}

type LoadOptions = (this: ILoadOptionsFunctions) => Promise<INodePropertyOptions[]>;

function loadOptionsMethods(): Record<string, LoadOptions> {
	const methods: Record<string, LoadOptions> = {};
	for (const source of Object.keys(CHOICE_INPUTS)) {
		methods[source] = async function (this: ILoadOptionsFunctions) {
			return await loadChoices(this, source);
		};
	}
	return methods;
}

function subscriptionPath(data: IDataObject): string {
	return `/api/subscriptions/${encodeURIComponent(String(data.subscriptionId))}`;
}

function forget(data: IDataObject): void {
	delete data.subscriptionId;
	delete data.secret;
}

/** Generated from the connector's manifests by `memberpass-connector export n8n`: do not edit. */
export class MemberPassConnectorTrigger implements INodeType {
	description: INodeTypeDescription = __DESCRIPTION__;

	methods = { loadOptions: loadOptionsMethods() };

	webhookMethods = {
		default: {
			async checkExists(this: IHookFunctions): Promise<boolean> {
				const data = this.getWorkflowStaticData('node');
				if (!data.subscriptionId) return false;
				const answer = await call(this, 'GET', subscriptionPath(data));
				if (answer.statusCode === 404) {
					forget(data);
					return false;
				}
				if (answer.statusCode >= 300) throw failed(this, answer);
				const found = ((answer.body as IDataObject).data ?? {}) as IDataObject;
				const sameUrl = found.target_url === this.getNodeWebhookUrl('default');
				const sameTrigger = found.trigger_key === this.getNodeParameter('trigger');
				if (sameUrl && sameTrigger && found.status !== 'disabled') return true;
				await call(this, 'DELETE', subscriptionPath(data));
				forget(data);
				return false;
			},
			async create(this: IHookFunctions): Promise<boolean> {
				const key = this.getNodeParameter('trigger') as string;
				const targetUrl = this.getNodeWebhookUrl('default') as string;
				const path = `/api/triggers/${encodeURIComponent(key)}/subscriptions`;
				const answer = await call(this, 'POST', path, subscribeBody(this, key, targetUrl));
				if (answer.statusCode !== 201) throw failed(this, answer);
				const created = answer.body as IDataObject;
				const data = this.getWorkflowStaticData('node');
				data.subscriptionId = created.id;
				data.secret = created.secret;
				return true;
			},
			async delete(this: IHookFunctions): Promise<boolean> {
				const data = this.getWorkflowStaticData('node');
				if (!data.subscriptionId) return true;
				const answer = await call(this, 'DELETE', subscriptionPath(data));
				if (answer.statusCode >= 300 && answer.statusCode !== 404) return false;
				forget(data);
				return true;
			},
		},
	};

	async webhook(this: IWebhookFunctions): Promise<IWebhookResponseData> {
		const req = this.getRequestObject();
		if (!req.rawBody && typeof req.readRawBody === 'function') await req.readRawBody();
		const raw: Buffer = req.rawBody ?? Buffer.alloc(0);
		const secret = this.getWorkflowStaticData('node').secret as string | undefined;
		const refused = verifySignature(secret, this.getHeaderData(), raw, Math.floor(Date.now() / 1000));
		if (refused !== null) {
			const res = this.getResponseObject();
			res.writeHead(401, { 'Content-Type': 'application/json' });
			res.end(JSON.stringify({ error: { code: 'SIGNATURE_INVALID', message: refused } }));
			return { noWebhookResponse: true };
		}
		const record = JSON.parse(raw.toString('utf8')) as IDataObject | IDataObject[];
		return { workflowData: [this.helpers.returnJsonArray(record)] };
	}
}
"""
