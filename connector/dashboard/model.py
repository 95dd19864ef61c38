"""What the dashboard shows of one connection: the connection, its subscriptions with where their polling
stands (mode, cursor, last poll decision), its delivery counts and its most recent deliveries."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from connector.connections.services import connections, current_db
from connector.storage.connections import Connection
from triggers.api import repo as subscription_repo
from triggers.api import view as subscription_view
from webhooks import outbox
from webhooks.api import delivery_view

RECENT = 25
STATUSES = ("pending", "failed", "delivered", "dead")


@dataclass
class Panel:
    connection: Connection
    subscriptions: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    triggers: dict[str, str] = field(default_factory=dict)  # subscription id → trigger key


def panels(connection_ids: list[str]) -> list[Panel]:
    """One panel per signed-in connection that still exists and is not revoked, in sign-in order."""
    found = []
    for connection_id in connection_ids:
        connection = connections().get(connection_id)
        if connection is not None and connection.status != "revoked":
            found.append(panel(connection))
    return found


def panel(connection: Connection) -> Panel:
    subscriptions = [subscription_view(s) for s in subscription_repo().list_for_connection(connection.id)]
    rows, _ = outbox.list_for_connection(current_db(), connection.id, limit=RECENT)
    return Panel(
        connection=connection,
        subscriptions=[_readable(s) for s in subscriptions],
        counts=delivery_counts(connection.id),
        deliveries=[_delivery(delivery_view(row), row) for row in rows],
        triggers={s["id"]: s["trigger_key"] for s in subscriptions},
    )


def delivery_counts(connection_id: str) -> dict[str, int]:
    rows = current_db().db.execute(
        "SELECT status, COUNT(*) FROM outbox WHERE connection_id = ? GROUP BY status", [connection_id]
    )
    counted = dict(rows.fetchall())
    return {status: int(counted.get(status, 0)) for status in STATUSES}


def _readable(subscription: dict[str, Any]) -> dict[str, Any]:
    """The subscription view plus short texts for its cursor and last poll decision."""
    last = subscription.get("last_poll") or {}
    decision = ", ".join(
        f"{name} {last[name]}" for name in ("fetched", "new", "suppressed", "enqueued") if name in last
    )
    return {
        **subscription,
        "cursor_text": _text(subscription.get("cursor")),
        "decision_text": f"{last.get('outcome', 'polled')}: {decision}" if last else "not polled yet",
        "last_poll_at": last.get("at"),
    }


def _delivery(view: dict[str, Any], row: dict[str, Any]) -> dict[str, Any]:
    """The delivery view plus its latency (queued → delivered) for the table."""
    latency = None
    if row["delivered_at"] is not None:
        latency = max(0, int((row["delivered_at"] - row["created_at"]) * 1000))
    return {**view, "latency_ms": latency, "retryable": view["status"] in ("failed", "dead")}


def _text(cursor: Any) -> str:
    if cursor is None or cursor == "":
        return "—"
    return cursor if isinstance(cursor, str) else json.dumps(cursor, default=str)
