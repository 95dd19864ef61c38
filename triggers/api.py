"""HTTP surface of triggers: Zapier's polling endpoint and REST-hook subscriptions.

| Route | Answer |
|---|---|
| ``GET /api/triggers/<key>`` | the newest records as Zapier items: an array, newest first, unique ``id`` |
| ``POST /api/triggers/<key>/subscriptions`` | 201 ``{id, secret, mode, trigger_key, target_url, status…}`` |
| ``GET /api/subscriptions`` | ``{"data": [...]}``: the caller's subscriptions, with cursor and last poll |
| ``GET /api/subscriptions/<id>`` | ``{"data": subscription}`` |
| ``GET /api/subscriptions/<id>/log`` | ``{"data": [...]}``: the poll log, newest first (``limit`` 1-200) |
| ``POST /api/subscriptions/<id>/enable`` | ``{"data": subscription}``: a disabled subscription active again |
| ``DELETE /api/subscriptions/<id>`` | 204; the subscription, its state, log and outbox rows are deleted |

Every route needs a connection key and sees only the caller's subscriptions (another's id is 404).

Polling endpoint: trigger inputs are query arguments; ``limit`` is 1-100 (default 50; Zapier's ``-1``, "no
limit", means 100); ``?sample=1`` or the header ``X-Sample: 1`` (Zapier's ``isLoadingSample``) answers the
3 newest. One page is read: the endpoint is stateless and answers well inside Zapier's 30 s.

Subscribe body: ``{"target_url", "inputs"?, "first_run"?: "from_now" (default) | "last_n" | "since",
"n"? (last_n: 1-1000), "since"? (ISO 8601 with offset), "poll_interval"? (seconds, 1-86400; default
``CONNECTOR_POLL_INTERVAL``)}``. The target URL must be http(s); private, loopback and link-local addresses
are refused unless ``CONNECTOR_ALLOW_PRIVATE_TARGETS`` is set. When the connection's abilities are known
(read from the token), a trigger ability it lacks is 403 ``TOKEN_MISSING_ABILITY`` naming it. The secret
(Standard Webhooks ``whsec_…``) is shown only in this answer.

The first poll runs before the answer (synchronously), so the first-run seed is committed when the client
gets 201: a record created after the 201 is delivered, whatever the policy. If that poll fails (MemberPass
refuses the token, lacks an ability, is rate-limited or down), nothing is kept and the error is answered.

Mode: ``webhook`` when ``CONNECTOR_PUBLIC_URL`` is set, the trigger is an event trigger, the connection holds
``webhook-endpoint:manage`` and :mod:`webhooks.upstream` is installed (it registers the MemberPass webhook
subscription); if that registration fails the subscription polls instead. Otherwise ``polling``.
"""

from __future__ import annotations

import importlib
import json
import logging
from types import ModuleType
from typing import Any

from flask import Blueprint, Flask, Response, request
from marshmallow import Schema, fields, validate

from actions.api import call_upstream, query_object
from connector.clock import iso
from connector.config import Settings
from connector.connections.api import json_response
from connector.connections.auth import current_connection, require_connection
from connector.connections.body import json_object, load
from connector.connections.services import current_clock, current_db, current_ring, current_settings
from connector.errors import (
    ConflictError,
    ConnectorError,
    MissingAbilityError,
    NotFoundError,
    ValidationError,
)
from connector.manifests import load_catalog
from connector.manifests.model import Entry
from connector.storage.connections import Connection
from triggers import scheduler
from triggers.engine import PollEngine, run_poll
from triggers.items import items_for, newest_first
from triggers.migrations import triggers_migrations
from triggers.poll import MAX_LAST_N, POLICIES, FirstRun
from triggers.source import FEED_ABILITY, fetch_page_for, is_event_trigger, trigger_entry, trigger_inputs
from triggers.subscriptions import Subscription, SubscriptionRepo
from webhooks.migrations import webhooks_migrations
from webhooks.signing import generate_secret
from webhooks.targets import check_target
from webhooks.worker import wake as wake_delivery

log = logging.getLogger("triggers.api")
bp = Blueprint("triggers", __name__, url_prefix="/api")

DEFAULT_LIMIT, MAX_LIMIT, SAMPLE_LIMIT = 50, 100, 3
LOG_LIMIT, LOG_MAX = 50, 200
FIRST_POLL_BUDGET = 10.0
TRUE = ("1", "true", "yes")

SubscribeSchema = Schema.from_dict(
    {
        "target_url": fields.String(required=True, validate=validate.Length(min=1, max=2000)),
        "inputs": fields.Dict(keys=fields.String(), load_default=dict),
        "first_run": fields.String(load_default="from_now", validate=validate.OneOf(POLICIES)),
        "n": fields.Integer(strict=True, validate=validate.Range(1, MAX_LAST_N)),
        "since": fields.String(),
        "poll_interval": fields.Float(allow_nan=False, validate=validate.Range(1, 86_400)),
    },
    name="SubscribeSchema",
)


def init_app(app: Flask) -> None:
    """Apply the triggers' (and the outbox's) migrations and register the routes; the connections'
    ``init_app`` must have opened the database first. The scheduler is not started here."""
    load_catalog()
    with app.app_context():
        current_db().migrate(triggers_migrations, webhooks_migrations)
    app.register_blueprint(bp)


def optional_module(name: str) -> ModuleType | None:
    """The module when it is installed, else None (a sibling feature that may not have landed)."""
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as err:
        if err.name != name:
            raise
        return None


def repo() -> SubscriptionRepo:
    return SubscriptionRepo(current_db(), current_ring(), current_clock())


# --- polling endpoint ------------------------------------------------------------------------------------
def parse_limit(raw: Any, sample: bool) -> int:
    if sample:
        return SAMPLE_LIMIT
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    value = int(raw) if isinstance(raw, str) and raw.strip().lstrip("-").isdigit() else 0
    if value == -1:
        return MAX_LIMIT
    if not 1 <= value <= MAX_LIMIT:
        raise ValidationError(
            "Invalid field(s): limit.", fields={"limit": [f"must be an integer from 1 to {MAX_LIMIT}"]}
        )
    return value


@bp.get("/triggers/<key>")
@require_connection
def poll_endpoint(key: str) -> Response:
    entry = trigger_entry(key)
    args = query_object()
    sample = str(args.pop("sample", "")).lower() in TRUE or request.headers.get("X-Sample", "") in TRUE
    limit = parse_limit(args.pop("limit", None), sample)
    inputs = trigger_inputs(entry, args)

    def head(client: Any) -> list[dict[str, Any]]:
        fetch = fetch_page_for(entry, inputs, client, page_size=limit, priority="interactive")
        return list(fetch(None)[0])

    found = call_upstream(head)
    return json_response(items_for(entry, newest_first(entry, found, limit)))


# --- subscribing ---------------------------------------------------------------------------------------
def first_run_of(body: dict[str, Any]) -> FirstRun:
    policy = body["first_run"]
    problems: dict[str, list[str]] = {}
    if policy == "last_n" and "n" not in body:
        problems["n"] = [f"is required with first_run last_n (1 to {MAX_LAST_N})"]
    if policy == "since" and not body.get("since"):
        problems["since"] = ["is required with first_run since (ISO 8601 with an offset)"]
    if not problems:
        try:
            return FirstRun(policy, body.get("n", 0) if policy == "last_n" else 0, body.get("since"))
        except ValueError:
            problems["since"] = ["must be an ISO 8601 date-time with an offset, e.g. 2026-05-18T10:05:00Z"]
    raise ValidationError("Invalid field(s): " + ", ".join(sorted(problems)) + ".", fields=problems)


def require_abilities(entry: Entry, connection: Connection) -> None:
    """403 naming the first ability the trigger needs that the token lacks. Only when the abilities were
    read from the token: inferred ones prove too little, and then the first poll is the check."""
    if connection.abilities_source != "token":
        return
    for ability in entry.abilities:
        if ability not in connection.abilities:
            raise MissingAbilityError(
                f"The MemberPass token of this connection lacks `{ability}`, which the trigger "
                f"`{entry.key}` needs.",
                remediation=f"Mint a MemberPass token that carries `{ability}` and replace the connection's "
                "token (PUT /api/me/token), then subscribe again.",
                context={"required_ability": ability, "trigger": entry.key},
            )


def upstream_hooks() -> ModuleType | None:
    """:mod:`webhooks.upstream` (webhook mode: ``subscribe(subscription)`` / ``unsubscribe(subscription)``)
    when it is installed, else None (every subscription polls)."""
    return optional_module("webhooks.upstream")


def choose_mode(entry: Entry, connection: Connection, settings: Settings) -> str:
    webhook = (
        settings.public_url is not None
        and is_event_trigger(entry)
        and FEED_ABILITY in connection.abilities
        and upstream_hooks() is not None
    )
    return "webhook" if webhook else "polling"


def register_upstream(subscription: Subscription) -> Subscription:
    """Webhook mode: register upstream; on failure fall back to polling (it works without PUBLIC_URL)."""
    hooks = upstream_hooks()
    try:
        assert hooks is not None
        hooks.subscribe(subscription)
    except ConnectorError as err:
        log.warning("subscription %s: webhook mode refused (%s); polling instead", subscription.id, err.code)
        repo().set_mode(subscription.id, "polling")
    return repo().get(subscription.id) or subscription


def discard(subscription: Subscription) -> None:
    """Remove a subscription: upstream registration (best effort), job, rows."""
    hooks = upstream_hooks()
    if subscription.mode == "webhook" and hooks is not None:
        try:
            hooks.unsubscribe(subscription)
        except ConnectorError as err:
            log.warning("subscription %s: upstream unsubscribe failed (%s)", subscription.id, err.code)
    scheduler.remove(subscription.id)
    repo().delete(subscription.id)


@bp.post("/triggers/<key>/subscriptions")
@require_connection
def subscribe(key: str) -> Response:
    entry = trigger_entry(key)
    body = load(SubscribeSchema(), json_object())
    inputs = trigger_inputs(entry, body["inputs"])
    first_run = first_run_of(body)
    settings, connection = current_settings(), current_connection()
    target_url = check_target(body["target_url"], allow_private=settings.allow_private_targets)
    require_abilities(entry, connection)
    secret = generate_secret()
    created = repo().create(
        connection_id=connection.id,
        trigger_key=entry.key,
        inputs=inputs,
        target_url=target_url,
        secret=secret,
        mode=choose_mode(entry, connection, settings),
        first_run=first_run,
        poll_interval=float(body.get("poll_interval", settings.poll_interval)),
    )
    if created.mode == "webhook":
        created = register_upstream(created)
    outcome = run_poll(created.id, budget_seconds=FIRST_POLL_BUDGET)
    if outcome.status != "polled":
        discard(created)
        raise outcome.error or ConnectorError(
            f"The first poll did not run: {outcome.reason}.", code="SUBSCRIPTION_NOT_STARTED", status=409,
            remediation="Check the connection (GET /api/me) and subscribe again.",
        )  # fmt: skip
    subscription = repo().get(created.id) or created
    scheduler.add(subscription)
    log.info("subscription %s to %s created (%s)", subscription.id, entry.key, subscription.mode)
    return json_response({**view(subscription), "secret": secret}, 201)


# --- reading and deleting --------------------------------------------------------------------------------
def owned(subscription_id: str) -> Subscription:
    found = repo().get_for_connection(subscription_id, current_connection().id)
    if found is None:
        raise NotFoundError(
            f"No subscription {subscription_id}.",
            remediation="GET /api/subscriptions lists this connection's subscriptions.",
        )
    return found


def view(subscription: Subscription) -> dict[str, Any]:
    """The public subscription plus where its polling stands: cursor, backlog, last poll decision."""
    engine = PollEngine.from_app()
    state = engine.load_state(subscription.id)
    last = (
        current_db()
        .db.execute(
            "SELECT at, decision FROM poll_log WHERE subscription_id = ? ORDER BY id DESC LIMIT 1",
            [subscription.id],
        )
        .fetchone()
    )
    return {
        **subscription.public(),
        "cursor": state.cursor if state else None,
        "backlog_pages": len(state.pending) if state else 0,
        "last_poll": {"at": iso(last[0]), **json.loads(last[1])} if last else None,
    }


@bp.get("/subscriptions")
@require_connection
def list_subscriptions() -> Response:
    return json_response({"data": [view(s) for s in repo().list_for_connection(current_connection().id)]})


@bp.get("/subscriptions/<subscription_id>")
@require_connection
def get_subscription(subscription_id: str) -> Response:
    return json_response({"data": view(owned(subscription_id))})


@bp.get("/subscriptions/<subscription_id>/log")
@require_connection
def subscription_log(subscription_id: str) -> Response:
    subscription = owned(subscription_id)
    raw = request.args.get("limit", "")
    limit = int(raw) if raw.isdigit() else LOG_LIMIT
    if not 1 <= limit <= LOG_MAX:
        raise ValidationError(
            "Invalid field(s): limit.", fields={"limit": [f"must be an integer from 1 to {LOG_MAX}"]}
        )
    rows = (
        current_db()
        .db.execute(
            "SELECT at, decision FROM poll_log WHERE subscription_id = ? ORDER BY id DESC LIMIT ?",
            [subscription.id, limit],
        )
        .fetchall()
    )
    return json_response({"data": [{"at": iso(at), **json.loads(text)} for at, text in rows]})


@bp.delete("/subscriptions/<subscription_id>")
@require_connection
def delete_subscription(subscription_id: str) -> Response:
    discard(owned(subscription_id))
    log.info("subscription %s deleted by its connection", subscription_id)
    return Response(status=204)


@bp.post("/subscriptions/<subscription_id>/enable")
@require_connection
def enable_subscription(subscription_id: str) -> Response:
    """Re-enable a subscription the delivery worker disabled (its receiver kept failing). Waiting deliveries
    are sent at once; dead ones stay dead until retried (``POST /api/deliveries/<id>/retry``). An active one
    is answered as is; a held one waits for its connection (a new token), not for this call."""
    return json_response({"data": view(reenable(owned(subscription_id)))})


def reenable(subscription: Subscription) -> Subscription:
    """Make a disabled subscription active again (the API's and the dashboard's enable)."""
    if subscription.status == "held":
        raise ConflictError(
            f"Subscription {subscription.id} is held: {subscription.status_reason}",
            remediation="Fix the connection (PUT /api/me/token with a working MemberPass token); "
            "held subscriptions resume by themselves.",
            context={"status": subscription.status},
        )
    if not repo().enable(subscription.id):
        return subscription  # active already
    enabled = repo().get(subscription.id) or subscription
    scheduler.add(enabled, first_in=0)
    wake_delivery()
    log.info("subscription %s re-enabled by its connection", subscription.id)
    return enabled
