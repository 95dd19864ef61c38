"""The subscription repository: REST-hook subscriptions, their signing secrets (encrypted) and their status.

Statuses: ``active`` (polled and delivered), ``held`` (skipped, nothing dropped: its poll state and outbox
rows wait; it resumes once its connection is active and changed after the hold), ``disabled`` (stopped for
good, with ``status_reason``: the connection was revoked, or the delivery worker gave up on the target).

Reads that serve an API caller go through ``get_for_connection`` / ``list_for_connection`` with the caller's
connection id, so one connection never sees another's subscription. The ``whsec_…`` secret is stored only as
AES-GCM ciphertext bound to ``subscription:<id>:secret`` (the upstream one, in webhook mode, to
``subscription:<id>:upstream_secret``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from connector.clock import Clock, iso
from connector.crypto import KeyRing
from connector.ids import prefixed
from connector.storage.db import ConnectorDB
from triggers.poll import FirstRun
from webhooks import outbox

MODES = ("polling", "webhook")
STATUSES = ("active", "held", "disabled")
RECONCILE_INTERVAL = 300.0  # webhook mode: the event feed is re-read this often at most, to fill gaps


@dataclass(frozen=True)
class Subscription:
    id: str
    connection_id: str
    trigger_key: str
    inputs: dict[str, Any]
    target_url: str
    mode: str
    first_run: FirstRun
    poll_interval: float
    status: str
    status_reason: str | None
    status_changed_at: float
    upstream_id: str | None
    consecutive_failures: int
    created_at: float
    updated_at: float
    next_poll_at: float | None
    last_poll_at: float | None

    def public(self) -> dict[str, Any]:
        """The subscription as the API shows it: never a secret."""
        return {
            "id": self.id,
            "trigger_key": self.trigger_key,
            "mode": self.mode,
            "status": self.status,
            "status_reason": self.status_reason,
            "target_url": self.target_url,
            "inputs": self.inputs,
            "first_run": first_run_view(self.first_run),
            "poll_interval": self.poll_interval,
            "consecutive_failures": self.consecutive_failures,
            "created_at": iso(self.created_at),
            "last_poll_at": _when(self.last_poll_at),
            "next_poll_at": _when(self.next_poll_at),
        }


def interval_for(subscription: Subscription) -> float:
    """Seconds between polls: the subscription's interval; in webhook mode (MemberPass pushes) the
    reconciliation poll of the event feed runs at most every ``RECONCILE_INTERVAL`` seconds."""
    if subscription.mode == "webhook":
        return max(subscription.poll_interval, RECONCILE_INTERVAL)
    return subscription.poll_interval


def _when(value: float | None) -> str | None:
    return None if value is None else iso(value)


def first_run_view(first_run: FirstRun) -> dict[str, Any]:
    view: dict[str, Any] = {"policy": first_run.policy}
    if first_run.policy == "last_n":
        view["n"] = first_run.n
    if first_run.policy == "since":
        view["since"] = first_run.since
    return view


def secret_aad(subscription_id: str) -> bytes:
    return f"subscription:{subscription_id}:secret".encode()


def upstream_secret_aad(subscription_id: str) -> bytes:
    return f"subscription:{subscription_id}:upstream_secret".encode()


def _row_to_subscription(row: dict[str, Any]) -> Subscription:
    first_run = json.loads(row["first_run"])
    return Subscription(
        id=row["id"],
        connection_id=row["connection_id"],
        trigger_key=row["trigger_key"],
        inputs=json.loads(row["inputs"]),
        target_url=row["target_url"],
        mode=row["mode"],
        first_run=FirstRun(first_run["policy"], int(first_run.get("n") or 0), first_run.get("since")),
        poll_interval=row["poll_interval"],
        status=row["status"],
        status_reason=row["status_reason"],
        status_changed_at=row["status_changed_at"],
        upstream_id=row["upstream_id"],
        consecutive_failures=row["consecutive_failures"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        next_poll_at=row["next_poll_at"],
        last_poll_at=row["last_poll_at"],
    )


class SubscriptionRepo:
    def __init__(self, cdb: ConnectorDB, ring: KeyRing, clock: Clock) -> None:
        self.cdb = cdb
        self.ring = ring
        self.clock = clock

    # --- reading -----------------------------------------------------------------------------------------
    def _one(self, sql: str, args: list[Any]) -> Subscription | None:
        rows = list(self.cdb.db.query(sql, args))
        return _row_to_subscription(rows[0]) if rows else None

    def get(self, subscription_id: str) -> Subscription | None:
        return self._one("SELECT * FROM subscriptions WHERE id = ?", [subscription_id])

    def get_for_connection(self, subscription_id: str, connection_id: str) -> Subscription | None:
        return self._one(
            "SELECT * FROM subscriptions WHERE id = ? AND connection_id = ?", [subscription_id, connection_id]
        )

    def list_for_connection(self, connection_id: str) -> list[Subscription]:
        """The connection's subscriptions, newest first."""
        rows = self.cdb.db.query(
            "SELECT * FROM subscriptions WHERE connection_id = ? ORDER BY created_at DESC, rowid DESC",
            [connection_id],
        )
        return [_row_to_subscription(r) for r in rows]

    def list_schedulable(self) -> list[Subscription]:
        """Every subscription that is not disabled (held ones keep their job, which skips them): for the
        scheduler only, never for an API caller."""
        rows = self.cdb.db.query("SELECT * FROM subscriptions WHERE status != 'disabled' ORDER BY rowid")
        return [_row_to_subscription(r) for r in rows]

    def secret(self, subscription_id: str) -> str:
        """The decrypted ``whsec_…`` signing secret."""
        rows = list(
            self.cdb.db.query("SELECT secret_ciphertext FROM subscriptions WHERE id = ?", [subscription_id])
        )
        if not rows:
            raise KeyError(subscription_id)
        return self.ring.decrypt(rows[0]["secret_ciphertext"], secret_aad(subscription_id)).decode()

    def upstream_secret(self, subscription_id: str) -> str | None:
        """The MemberPass webhook secret of a webhook-mode subscription, decrypted (None if there is none)."""
        rows = list(
            self.cdb.db.query(
                "SELECT upstream_secret_ciphertext FROM subscriptions WHERE id = ?", [subscription_id]
            )
        )
        if not rows or rows[0]["upstream_secret_ciphertext"] is None:
            return None
        blob = rows[0]["upstream_secret_ciphertext"]
        return self.ring.decrypt(blob, upstream_secret_aad(subscription_id)).decode()

    # --- creating and deleting ----------------------------------------------------------------------------
    def create(
        self,
        *,
        connection_id: str,
        trigger_key: str,
        inputs: dict[str, Any],
        target_url: str,
        secret: str,
        mode: str,
        first_run: FirstRun,
        poll_interval: float,
    ) -> Subscription:
        """Store a new active subscription and its empty poll state, in one transaction."""
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}")
        now = self.clock.now()
        subscription_id = prefixed("sub", 12)
        row = {
            "id": subscription_id,
            "connection_id": connection_id,
            "trigger_key": trigger_key,
            "inputs": json.dumps(inputs, sort_keys=True),
            "target_url": target_url,
            "secret_ciphertext": self.ring.encrypt(secret, secret_aad(subscription_id)),
            "mode": mode,
            "first_run": json.dumps({"policy": first_run.policy, "n": first_run.n, "since": first_run.since}),
            "poll_interval": poll_interval,
            "status": "active",
            "status_reason": None,
            "status_changed_at": now,
            "upstream_id": None,
            "upstream_secret_ciphertext": None,
            "consecutive_failures": 0,
            "created_at": now,
            "updated_at": now,
            "next_poll_at": None,
            "last_poll_at": None,
        }
        with self.cdb.transaction() as db:
            db.table("subscriptions").insert(row)
            db.table("poll_state").insert({"subscription_id": subscription_id, "state": None})
        created = self.get(subscription_id)
        assert created is not None
        return created

    def delete(self, subscription_id: str) -> bool:
        """Delete the subscription with its poll state, poll log and outbox rows; False when it was gone."""
        with self.cdb.transaction() as db:
            outbox.delete_for_subscription(db, subscription_id)
            db.execute("DELETE FROM poll_log WHERE subscription_id = ?", [subscription_id])
            db.execute("DELETE FROM poll_state WHERE subscription_id = ?", [subscription_id])
            cursor = db.execute("DELETE FROM subscriptions WHERE id = ?", [subscription_id])
            return cursor.rowcount == 1

    def set_upstream(
        self, subscription_id: str, upstream_id: str | None, upstream_secret: str | None
    ) -> None:
        """Webhook mode: remember MemberPass's subscription id and its signing secret (encrypted)."""
        blob = (
            None
            if upstream_secret is None
            else self.ring.encrypt(upstream_secret, upstream_secret_aad(subscription_id))
        )
        self.cdb.db.execute(
            "UPDATE subscriptions SET upstream_id = ?, upstream_secret_ciphertext = ?, updated_at = ? "
            "WHERE id = ?",
            [upstream_id, blob, self.clock.now(), subscription_id],
        )

    def set_mode(self, subscription_id: str, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}")
        self.cdb.db.execute(
            "UPDATE subscriptions SET mode = ?, updated_at = ? WHERE id = ?",
            [mode, self.clock.now(), subscription_id],
        )

    # --- status -------------------------------------------------------------------------------------------
    def _set_status(self, where: str, args: list[Any], status: str, reason: str | None) -> int:
        now = self.clock.now()
        sql = "UPDATE subscriptions SET status = ?, status_reason = ?, status_changed_at = ?, updated_at = ? "
        cursor = self.cdb.db.execute(sql + "WHERE " + where, [status, reason, now, now, *args])
        return int(cursor.rowcount)

    def disable(self, subscription_id: str, reason: str) -> bool:
        return self._set_status("id = ? AND status != 'disabled'", [subscription_id], "disabled", reason) == 1

    def hold(self, subscription_id: str, reason: str) -> bool:
        """Hold one subscription (its token lacks an ability, or its project is gone)."""
        return self._set_status("id = ? AND status = 'active'", [subscription_id], "held", reason) == 1

    def hold_for_connection(self, connection_id: str, reason: str) -> int:
        """Hold every active subscription of the connection (MemberPass refused its token)."""
        return self._set_status("connection_id = ? AND status = 'active'", [connection_id], "held", reason)

    def resume_for_connection(self, connection_id: str) -> int:
        """Make every held subscription of the connection active again; they resume from their state."""
        return self._set_status("connection_id = ? AND status = 'held'", [connection_id], "active", None)

    def enable(self, subscription_id: str) -> bool:
        """A disabled subscription becomes active again with a clean failure record (its run of failures
        and when it began), and its waiting deliveries are due at once: the receiver is said to be fixed."""
        now = self.clock.now()
        with self.cdb.transaction() as db:
            changed = self._set_status("id = ? AND status = 'disabled'", [subscription_id], "active", None)
            if changed:
                db.execute(
                    "UPDATE subscriptions SET consecutive_failures = 0 WHERE id = ?", [subscription_id]
                )
                db.execute("DELETE FROM delivery_health WHERE subscription_id = ?", [subscription_id])
                db.execute(
                    "UPDATE outbox SET next_attempt_at = ? WHERE subscription_id = ? AND status IN "
                    "('pending', 'failed') AND next_attempt_at > ?",
                    [now, subscription_id, now],
                )
        return changed == 1

    def disable_for_connection(self, connection_id: str, reason: str) -> int:
        return self._set_status(
            "connection_id = ? AND status != 'disabled'", [connection_id], "disabled", reason
        )

    # --- delivery and poll bookkeeping ----------------------------------------------------------------------
    def record_failure(self, subscription_id: str) -> int:
        """One more delivery failure in a row; returns the count."""
        with self.cdb.transaction() as db:
            db.execute(
                "UPDATE subscriptions SET consecutive_failures = consecutive_failures + 1, updated_at = ? "
                "WHERE id = ?",
                [self.clock.now(), subscription_id],
            )
            rows = list(
                db.query("SELECT consecutive_failures FROM subscriptions WHERE id = ?", [subscription_id])
            )
        return int(rows[0]["consecutive_failures"]) if rows else 0

    def record_success(self, subscription_id: str) -> None:
        self.cdb.db.execute(
            "UPDATE subscriptions SET consecutive_failures = 0 WHERE id = ? AND consecutive_failures != 0",
            [subscription_id],
        )

    def record_poll(self, subscription_id: str, at: float, next_at: float | None) -> None:
        self.cdb.db.execute(
            "UPDATE subscriptions SET last_poll_at = ?, next_poll_at = ? WHERE id = ?",
            [at, next_at, subscription_id],
        )
