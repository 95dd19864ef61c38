"""The outbox: the only way records leave the connector (DESIGN.md "Delivery").

A producer (a poll checkpoint, an inbound MemberPass webhook) calls :func:`enqueue` inside its own
transaction, so the records and the state that accounts for them commit together. A delivery worker
claims due rows with :func:`due`, sends them, and books each outcome with :func:`mark_delivered`,
:func:`mark_retry` or :func:`mark_dead`.

- Row id = the ``webhook-id``: ``msg_`` + the first 24 hex digits of sha256(subscription id, newline, record
  key). A record queued again (a poll repeated after a crash) gets the same id and is ignored, and every
  attempt of a delivery carries the same id, so receivers can dedupe on it.
- Statuses are MemberPass's (webhooks.md §6): ``pending`` (waiting for its first attempt, or replayed),
  ``failed`` (an attempt failed, another is scheduled), ``delivered``, ``dead`` (no more automatic attempts).
- A claim sets ``lease_until``; rows whose lease ran out (a worker died mid-send) are due again. The claimed
  lease value is the claim's token: marking a row needs it, so a late outcome from a lost lease is ignored.
- Only rows of ``active`` subscriptions are claimed: a held or disabled subscription keeps its rows waiting.

Functions take either the :class:`ConnectorDB` (they open their own transaction) or the
``sqlite_utils.Database`` of a transaction the caller already holds.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlite_utils import Database

from connector.errors import ConflictError, NotFoundError
from connector.storage.db import ConnectorDB

STATUSES = ("pending", "delivered", "failed", "dead")
WAITING = ("pending", "failed")
REPLAYABLE = ("failed", "dead")
LEASE_SECONDS = 120.0  # longer than one attempt can take (its timeout), so a live claim never lapses
ERROR_CHARS = 500

Db = ConnectorDB | Database
Row = dict[str, Any]


def delivery_id(subscription_id: str, record_key: str) -> str:
    """The deterministic ``webhook-id`` of one record for one subscription."""
    digest = hashlib.sha256(f"{subscription_id}\n{record_key}".encode()).hexdigest()
    return f"msg_{digest[:24]}"


@contextmanager
def writing(db: Db) -> Iterator[Database]:
    """A write transaction: the caller's, or a new one on a :class:`ConnectorDB`."""
    if isinstance(db, ConnectorDB):
        with db.transaction() as tx:
            yield tx
    else:
        yield db


def reading(db: Db) -> Database:
    return db.db if isinstance(db, ConnectorDB) else db


def serialise(payload: Any) -> str:
    return (
        payload
        if isinstance(payload, str)
        else json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    )


def enqueue(
    db: Db, subscription_id: str, connection_id: str, items: Sequence[tuple[str, Any]], now: float
) -> int:
    """Queue ``(record_key, payload)`` items, due now; returns how many were new. Already queued keys are
    ignored (whatever their status), so this is safe to repeat."""
    added = 0
    with writing(db) as tx:
        for record_key, payload in items:
            cursor = tx.execute(
                "INSERT OR IGNORE INTO outbox (id, subscription_id, connection_id, record_key, payload,"
                " status, attempts, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?)",
                [
                    delivery_id(subscription_id, record_key),
                    subscription_id,
                    connection_id,
                    record_key,
                    serialise(payload),
                    now,
                    now,
                ],
            )
            added += max(cursor.rowcount, 0)
    return added


def due(
    db: Db, now: float, limit: int, *, lease_seconds: float = LEASE_SECONDS, owner: str | None = None
) -> list[Row]:
    """Claim up to ``limit`` due rows of active subscriptions, oldest due first. Each returned row carries
    its claim token in ``lease_until``; ``owner`` (a :func:`connector.leases.lease_owner`) names the claiming
    process so that :func:`release_abandoned` can hand the claims of a killed process back at once."""
    if limit <= 0:
        return []
    lease = now + lease_seconds
    with writing(db) as tx:
        rows = [
            dict(r)
            for r in tx.query(
                "SELECT o.* FROM outbox o JOIN subscriptions s ON s.id = o.subscription_id"
                " WHERE o.status IN ('pending', 'failed') AND o.next_attempt_at <= :now"
                " AND (o.lease_until IS NULL OR o.lease_until <= :now) AND s.status = 'active'"
                " ORDER BY o.next_attempt_at, o.created_at, o.rowid LIMIT :limit",
                {"now": now, "limit": limit},
            )
        ]
        for row in rows:
            tx.execute(
                "UPDATE outbox SET lease_until = ?, lease_owner = ? WHERE id = ?", [lease, owner, row["id"]]
            )
            row["lease_until"] = lease
    return rows


def release_abandoned(db: Db, now: float) -> int:
    """Hand back the live claims of processes that are gone (killed before booking their attempts), so
    their rows are sent again now rather than after the lease; returns how many rows were released."""
    from connector.leases import owner_is_gone

    released = 0
    with writing(db) as tx:
        owners = [
            r["lease_owner"]
            for r in tx.query(
                "SELECT DISTINCT lease_owner FROM outbox WHERE lease_owner IS NOT NULL AND lease_until > ?",
                [now],
            )
        ]
        for owner in owners:
            if owner_is_gone(owner):
                cursor = tx.execute(
                    "UPDATE outbox SET lease_until = NULL, lease_owner = NULL"
                    " WHERE lease_owner = ? AND lease_until > ?",
                    [owner, now],
                )
                released += max(cursor.rowcount, 0)
    return released


def _book(db: Db, claimed: Mapping[str, Any], assignments: str, values: list[Any]) -> bool:
    with writing(db) as tx:
        cursor = tx.execute(
            f"UPDATE outbox SET {assignments}, attempts = attempts + 1, lease_until = NULL"  # noqa: S608
            " WHERE id = ? AND lease_until = ?",
            [*values, claimed["id"], claimed["lease_until"]],
        )
        return cursor.rowcount == 1


def _short(error: str | None) -> str | None:
    return None if error is None else error[:ERROR_CHARS]


def mark_delivered(db: Db, claimed: Mapping[str, Any], now: float, http_status: int | None) -> bool:
    """Book a successful attempt; False when the claim was lost meanwhile (nothing changed)."""
    return _book(
        db,
        claimed,
        "status = 'delivered', delivered_at = ?, next_attempt_at = NULL, last_status = ?, last_error = NULL",
        [now, http_status],
    )


def mark_retry(
    db: Db, claimed: Mapping[str, Any], next_attempt_at: float, http_status: int | None, error: str | None
) -> bool:
    """Book a failed attempt with another one scheduled at ``next_attempt_at``."""
    return _book(
        db,
        claimed,
        "status = 'failed', next_attempt_at = ?, last_status = ?, last_error = ?",
        [next_attempt_at, http_status, _short(error)],
    )


def mark_dead(db: Db, claimed: Mapping[str, Any], http_status: int | None, error: str | None) -> bool:
    """Book a failed attempt after which no automatic attempt follows."""
    return _book(
        db,
        claimed,
        "status = 'dead', next_attempt_at = NULL, last_status = ?, last_error = ?",
        [http_status, _short(error)],
    )


def release(db: Db, claimed: Mapping[str, Any]) -> bool:
    """Give a claimed row back without counting an attempt (it was never sent)."""
    with writing(db) as tx:
        cursor = tx.execute(
            "UPDATE outbox SET lease_until = NULL WHERE id = ? AND lease_until = ?",
            [claimed["id"], claimed["lease_until"]],
        )
        return cursor.rowcount == 1


def get_for_connection(db: Db, delivery: str, connection_id: str) -> Row | None:
    rows = list(
        reading(db).query(
            "SELECT * FROM outbox WHERE id = ? AND connection_id = ?", [delivery, connection_id]
        )
    )
    return dict(rows[0]) if rows else None


def retry(db: Db, delivery: str, connection_id: str, now: float) -> Row:
    """Manual replay (webhooks.md §6): a ``failed`` or ``dead`` row of the caller's goes back to ``pending``,
    due now, with attempts reset to 0. Another connection's row is not found; a row in another state is a
    conflict (a pending row is already on its way; a delivered one would arrive twice)."""
    with writing(db) as tx:
        row = get_for_connection(tx, delivery, connection_id)
        if row is None:
            raise NotFoundError(
                f"No delivery {delivery}.",
                remediation="GET /api/deliveries lists this connection's deliveries.",
            )
        if row["status"] not in REPLAYABLE:
            raise ConflictError(
                f"Delivery {delivery} is {row['status']}; only failed or dead deliveries can be retried.",
                remediation="Nothing to do: it is delivered already or on its way.",
                context={"status": row["status"]},
            )
        tx.execute(
            "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = ?, lease_until = NULL"
            " WHERE id = ?",
            [now, delivery],
        )
        return {**row, "status": "pending", "attempts": 0, "next_attempt_at": now, "lease_until": None}


def list_for_connection(
    db: Db,
    connection_id: str,
    *,
    status: str | None = None,
    subscription_id: str | None = None,
    limit: int = 25,
    offset: int = 0,
) -> tuple[list[Row], int]:
    """The connection's deliveries, newest first, and how many match in all."""
    where, args = ["connection_id = ?"], [connection_id]
    if status is not None:
        where.append("status = ?")
        args.append(status)
    if subscription_id is not None:
        where.append("subscription_id = ?")
        args.append(subscription_id)
    clause = " AND ".join(where)
    db_ = reading(db)
    total = db_.execute(f"SELECT COUNT(*) FROM outbox WHERE {clause}", args).fetchone()[0]  # noqa: S608
    rows = db_.query(
        f"SELECT * FROM outbox WHERE {clause} ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?",  # noqa: S608
        [*args, limit, offset],
    )
    return [dict(r) for r in rows], int(total)


def delete_for_subscription(db: Db, subscription_id: str) -> int:
    """Remove a deleted subscription's rows (outbox, inbound event ids, failure run)."""
    with writing(db) as tx:
        tx.execute("DELETE FROM inbound_events WHERE subscription_id = ?", [subscription_id])
        tx.execute("DELETE FROM delivery_health WHERE subscription_id = ?", [subscription_id])
        return tx.execute("DELETE FROM outbox WHERE subscription_id = ?", [subscription_id]).rowcount
