"""HTTP surface of delivery: the delivery log, manual replay, and the inbound MemberPass webhook.

- ``GET /api/deliveries?status=&subscription_id=&page=&limit=`` (connection key): the caller's deliveries,
  newest first, as ``{"data": [...], "meta": {page, limit, total, has_more}}`` (C11 names; ``limit``
  1-100, default 25);
- ``POST /api/deliveries/<id>/retry`` (connection key): 200 ``{"data": delivery}``, now ``pending`` with
  attempts 0; another connection's id is 404; a pending or delivered one, or one of a disabled
  subscription (re-enable it first: ``POST /api/subscriptions/<id>/enable``), is 409;
- ``POST /hooks/memberpass/<subscription id>`` (``MP-Signature``): 200 ``{"received": true, "duplicate":
  bool}``; 401 for a bad signature; 404 for an unknown subscription.

A delivery as shown: ``id`` (the ``webhook-id``), ``subscription_id``, ``record_key``, ``status``,
``attempts``, ``last_status`` (the receiver's last HTTP status, null when it gave none), ``last_error``,
``created_at``, ``next_attempt_at``, ``delivered_at`` (RFC 3339 UTC) and ``payload``, the body sent.

The inbound hook (webhook mode) reads the raw body before parsing anything, verifies ``MP-Signature``
(:mod:`webhooks.inbound`: v1 and v0, 300 s tolerance, constant time) against the subscription's stored
MemberPass secret, and then, in one transaction, remembers the event id (``inbound_events``, per
subscription, kept 48 h) and queues the event as the trigger's item (:func:`triggers.items.keyed_items`;
the item's id and record key are the event id). It answers at once; the delivery worker is woken to send.
Every verification failure answers 401 (MemberPass retries it, so a refusal loses nothing), a repeat of a
known event 200 with ``duplicate: true``. Decisions where the reference is silent: an event of another type
than the subscription's trigger is acknowledged and not queued (``ignored``); a held or disabled
subscription still queues (its rows wait, nothing is dropped); a body that is not an event object is 400.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import Blueprint, Flask, Response, request
from sqlite_utils import Database

from connector.clock import iso
from connector.connections.api import json_response
from connector.connections.auth import current_connection, require_connection
from connector.connections.services import current_clock, current_db, current_ring
from connector.errors import ConflictError, InputError, NotFoundError, ValidationError
from triggers.items import keyed_items
from triggers.migrations import triggers_migrations
from triggers.source import trigger_entry
from triggers.subscriptions import SubscriptionRepo
from webhooks import outbox
from webhooks.inbound import MIN_RETENTION_SECONDS, WebhookVerificationError, verify_mp_signature
from webhooks.migrations import webhooks_migrations
from webhooks.worker import wake

log = logging.getLogger("webhooks.api")
bp = Blueprint("webhooks_api", __name__)
MAX_LIMIT = 100
MAX_PAGE = 1_000_000  # bounds the OFFSET so it always fits an SQLite integer
DEFAULT_LIMIT = 25
INBOUND_RETENTION = 2 * MIN_RETENTION_SECONDS


def init_app(app: Flask) -> None:
    """Register the routes; the connections' ``init_app`` must have opened the database first."""
    with app.app_context():
        current_db().migrate(triggers_migrations, webhooks_migrations)
    app.register_blueprint(bp)


def _when(value: float | None) -> str | None:
    return None if value is None else iso(value)


def delivery_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "subscription_id": row["subscription_id"],
        "record_key": row["record_key"],
        "status": row["status"],
        "attempts": row["attempts"],
        "last_status": row["last_status"],
        "last_error": row["last_error"],
        "created_at": iso(row["created_at"]),
        "next_attempt_at": _when(row["next_attempt_at"]),
        "delivered_at": _when(row["delivered_at"]),
        "payload": json.loads(row["payload"]),
    }


def _int_arg(name: str, default: int, low: int, high: int | None) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if value < low or (high is not None and value > high):
        bound = f"from {low} to {high}" if high is not None else f"{low} or more"
        raise ValidationError(f"Invalid `{name}`.", fields={name: [f"must be an integer {bound}"]})
    return value


def _status_arg() -> str | None:
    status = request.args.get("status") or None
    if status is not None and status not in outbox.STATUSES:
        raise ValidationError(
            "Invalid `status`.", fields={"status": [f"must be one of: {', '.join(outbox.STATUSES)}"]}
        )
    return status


@bp.get("/api/deliveries")
@require_connection
def list_deliveries() -> Response:
    status = _status_arg()
    limit = _int_arg("limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    page = _int_arg("page", 1, 1, MAX_PAGE)
    rows, total = outbox.list_for_connection(
        current_db(),
        current_connection().id,
        status=status,
        subscription_id=request.args.get("subscription_id") or None,
        limit=limit,
        offset=(page - 1) * limit,
    )
    meta = {"page": page, "limit": limit, "total": total, "has_more": page * limit < total}
    return json_response({"data": [delivery_view(r) for r in rows], "meta": meta})


def replay(delivery_id: str, connection_id: str) -> dict[str, Any]:
    """Replay one of the connection's failed or dead deliveries now (the API's and the dashboard's retry)."""
    refuse_when_disabled(delivery_id, connection_id)
    row = outbox.retry(current_db(), delivery_id, connection_id, current_clock().now())
    wake()
    return row


def refuse_when_disabled(delivery_id: str, connection_id: str) -> None:
    """A replay of a disabled subscription's row would wait for ever: say so, and how to re-enable it."""
    row = outbox.get_for_connection(current_db(), delivery_id, connection_id)
    if row is None:
        return  # outbox.retry answers the 404
    subscription = subscriptions().get(row["subscription_id"])
    if subscription is not None and subscription.status == "disabled":
        raise ConflictError(
            f"Subscription {subscription.id} is disabled: {subscription.status_reason}",
            remediation=f"Fix the receiver, then POST /api/subscriptions/{subscription.id}/enable and retry.",
            context={"subscription_id": subscription.id, "subscription_status": "disabled"},
        )


@bp.post("/api/deliveries/<delivery_id>/retry")
@require_connection
def retry_delivery(delivery_id: str) -> Response:
    return json_response({"data": delivery_view(replay(delivery_id, current_connection().id))})


# --- inbound MemberPass webhooks --------------------------------------------------------------------------
class InboundEvents:
    """:class:`webhooks.inbound.EventDeduper` over ``inbound_events`` for one subscription, inside the
    caller's transaction; remembering prunes ids older than ``retention`` (at least 24 h)."""

    def __init__(self, db: Database, subscription_id: str, retention: float = INBOUND_RETENTION) -> None:
        self.db, self.subscription_id, self.retention = db, subscription_id, retention

    def seen(self, event_id: str) -> bool:
        found = self.db.execute(
            "SELECT 1 FROM inbound_events WHERE subscription_id = ? AND event_id = ?",
            [self.subscription_id, event_id],
        ).fetchone()
        return found is not None

    def remember(self, event_id: str, at: float) -> None:
        self.db.execute("DELETE FROM inbound_events WHERE received_at < ?", [at - self.retention])
        self.db.execute(
            "INSERT OR IGNORE INTO inbound_events (subscription_id, event_id, received_at) VALUES (?, ?, ?)",
            [self.subscription_id, event_id, at],
        )


def parse_event(raw: bytes) -> dict[str, Any]:
    """The MemberPass event envelope (webhooks.md §2) of a verified body; 400 when it is not one."""
    try:
        event = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        event = None
    if not isinstance(event, dict) or not isinstance(event.get("id"), str) or not event["id"]:
        raise InputError("The body is not a MemberPass event (a JSON object with an `id`).")
    if not isinstance(event.get("type"), str):
        raise InputError("The MemberPass event has no `type`.")
    return event


def subscriptions() -> SubscriptionRepo:
    return SubscriptionRepo(current_db(), current_ring(), current_clock())


@bp.post("/hooks/memberpass/<subscription_id>")
def memberpass_hook(subscription_id: str) -> Response:
    raw = request.get_data(cache=True)
    repo = subscriptions()
    sub = repo.get(subscription_id)
    if sub is None or sub.mode != "webhook":
        raise NotFoundError(
            "No webhook-mode subscription with that id.",
            remediation="The connector subscription was deleted; delete the MemberPass webhook subscription.",
        )
    secret = repo.upstream_secret(sub.id)
    try:
        verify_mp_signature(
            request.headers.get("MP-Signature"), raw, [secret] if secret else [], current_clock()
        )
    except WebhookVerificationError as err:
        log.warning("inbound webhook for %s refused: %s", sub.id, err.code)
        err.status = 401
        raise
    event = parse_event(raw)
    if event["type"] != sub.trigger_key:
        return json_response({"received": True, "ignored": f"`{event['type']}` is not this trigger's event"})
    pairs = keyed_items(trigger_entry(sub.trigger_key), [{**event, "request_id": None}])
    now = current_clock().now()
    with current_db().transaction() as tx:
        events = InboundEvents(tx, sub.id)
        duplicate = events.seen(event["id"])
        if not duplicate:
            events.remember(event["id"], now)
            outbox.enqueue(tx, sub.id, sub.connection_id, pairs, now)
    if not duplicate:
        wake()
    return json_response({"received": True, "duplicate": duplicate})
