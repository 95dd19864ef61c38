"""One poll of one subscription: lease, state, the polling core, and a commit per checkpoint.

``run_poll(subscription_id)`` (inside an app context) does, in order:

1. **Gate.** A disabled or deleted subscription is skipped. A revoked connection disables its subscriptions.
   A ``held`` subscription is skipped until its connection is active and changed (token replaced, or marked
   healthy) after the hold; then the connection's held subscriptions resume from their stored state. An
   active subscription of a connection that needs attention is held.
2. **Lease.** ``poll_state.lease_owner/lease_until`` is claimed in a write transaction, so two workers (two
   threads, or two processes on one database) never poll one subscription. A lease runs out after the
   poll's budget plus a margin, or at once when its owner process on this host is gone (killed).
3. **Poll.** :func:`triggers.poll.poll` reads the trigger's list (:mod:`triggers.source`) under a time budget.
   Each checkpoint commits in ONE transaction: the outbox rows (``webhooks.outbox.enqueue``, ignored when
   already queued), the new poll state, and the poll's log row. A checkpoint whose lease was lost meanwhile
   (or whose subscription was deleted) commits nothing and stops the poll.
4. **Outcome.** 401 from MemberPass: the connection is marked as needing attention and all its subscriptions
   are held (the state is not advanced past what was committed; nothing is dropped). 403 (missing ability,
   tier), 404 or 422: this subscription is held with the reason. 429, 5xx, network: logged with the
   throttling figures; the next interval tries again (the client's rate governor already pauses the token
   after a 429). The log row gets the core's decision plus the outcome and the throttling figures.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from connector.client import MemberPassClient, RetryPolicy
from connector.clock import Clock
from connector.config import Settings
from connector.crypto import KeyRing
from connector.errors import (
    AuthenticationError,
    AuthError,
    ConnectorError,
    InputError,
    RetryableError,
)
from connector.leases import lease_owner, owner_is_gone
from connector.storage.connections import Connection, ConnectionRepository
from connector.storage.db import ConnectorDB
from triggers.cursor import PollState
from triggers.items import keyed_items, spec_for
from triggers.poll import Checkpoint, PollResult, poll
from triggers.source import PAGE_SIZE, Complete, FetchStats, reader_for, trigger_entry
from triggers.subscriptions import Subscription, SubscriptionRepo, interval_for
from webhooks import outbox

log = logging.getLogger("triggers.engine")

DEFAULT_BUDGET = 20.0  # seconds of reading per poll; a backlog carries on at the next poll
CALL_BUDGET = 15.0  # seconds one upstream call may take, retries included
# A poll retries a failed call briefly and never sits out a Retry-After: the next interval tries again (the
# token's rate governor, shared by the process, already pauses the token after a 429).
POLL_RETRY = RetryPolicy(max_attempts=3, max_told_attempts=1)
LEASE_MARGIN = 120.0  # a lease outlives the budget by this much (the first-run seed may read past it)
LOG_KEEP = 200


class LeaseLost(Exception):
    """Another worker took the subscription (our lease ran out), or the subscription was deleted."""


@dataclass(frozen=True)
class PollOutcome:
    """``status``: polled | held | retry | failed | skipped | disabled | gone."""

    subscription_id: str
    status: str
    reason: str | None = None
    enqueued: int = 0
    decision: dict[str, Any] | None = None
    error: ConnectorError | None = None


@dataclass
class _Progress:
    """The running poll's log row and counters."""

    log_id: int | None = None
    checkpoints: int = 0
    new: int = 0
    enqueued: int = 0


class PollEngine:
    def __init__(self, cdb: ConnectorDB, ring: KeyRing, clock: Clock, settings: Settings) -> None:
        self.cdb, self.ring, self.clock, self.settings = cdb, ring, clock, settings
        self.subscriptions = SubscriptionRepo(cdb, ring, clock)
        self.connections = ConnectionRepository(cdb, ring, clock)

    @classmethod
    def from_app(cls) -> PollEngine:
        from connector.connections.services import current_clock, current_db, current_ring, current_settings

        return cls(current_db(), current_ring(), current_clock(), current_settings())

    # --- the whole run ------------------------------------------------------------------------------------
    def run(
        self,
        subscription_id: str,
        *,
        budget_seconds: float | None = None,
        max_pages: int | None = None,
        page_size: int = PAGE_SIZE,
    ) -> PollOutcome:
        sub = self.subscriptions.get(subscription_id)
        if sub is None:
            return PollOutcome(subscription_id, "gone")
        gated = self._gate(sub)
        if isinstance(gated, PollOutcome):
            return gated
        sub, connection = gated
        budget = DEFAULT_BUDGET if budget_seconds is None else budget_seconds
        owner = lease_owner()
        if not self._acquire(sub.id, owner, budget + LEASE_MARGIN):
            return PollOutcome(sub.id, "skipped", "another worker holds this subscription's lease")
        started = self.clock.now()
        try:
            if sub.mode == "webhook" and sub.last_poll_at is not None:  # not the first: registered just now
                self._revive_upstream(sub)
            outcome = self._poll(sub, connection, owner, budget, max_pages, page_size)
        finally:
            self._release(sub.id, owner)
            self.subscriptions.record_poll(sub.id, started, self.clock.now() + interval_for(sub))
        return outcome

    def _revive_upstream(self, sub: Subscription) -> None:
        """Webhook mode: before the reconciliation poll, re-enable the MemberPass endpoint if MemberPass
        auto-disabled it (the connector was down for 20 of its pushes); the poll then fills the gap. A
        failure here is logged and the poll goes on: the feed is the source of truth either way."""
        from webhooks.upstream import Upstream  # webhooks builds on triggers, not the other way round

        try:
            Upstream(self.cdb, self.ring, self.clock, self.settings).ensure_active(sub)
        except ConnectorError as err:
            log.warning("subscription %s: could not check its MemberPass endpoint (%s)", sub.id, err.code)

    def _gate(self, sub: Subscription) -> tuple[Subscription, Connection] | PollOutcome:
        if sub.status == "disabled":
            return PollOutcome(sub.id, "disabled", sub.status_reason)
        connection = self.connections.get(sub.connection_id)
        if connection is None or connection.status == "revoked":
            reason = "The connection was revoked; create a new connection and subscribe again."
            self.subscriptions.disable_for_connection(sub.connection_id, reason)
            return PollOutcome(sub.id, "disabled", reason)
        if sub.status == "held":
            changed = max(connection.status_changed_at, connection.verified_at) > sub.status_changed_at
            if connection.status != "active" or not changed:
                return PollOutcome(sub.id, "skipped", sub.status_reason)
            resumed = self.subscriptions.resume_for_connection(connection.id)
            log.info("connection %s is active again: %d subscription(s) resumed", connection.id, resumed)
            sub = self.subscriptions.get(sub.id) or sub
        if connection.status != "active":
            reason = f"The connection needs attention: {connection.status_reason or 'reconnect it'}"
            self.subscriptions.hold_for_connection(connection.id, reason)
            return PollOutcome(sub.id, "held", reason)
        return sub, connection

    # --- the lease ----------------------------------------------------------------------------------------
    def _acquire(self, subscription_id: str, owner: str, seconds: float) -> bool:
        now = self.clock.now()
        with self.cdb.transaction() as db:
            row = db.execute(
                "SELECT lease_owner, lease_until FROM poll_state WHERE subscription_id = ?", [subscription_id]
            ).fetchone()
            if row is None:
                return False
            holder, until = row
            if holder is not None and until is not None and until > now and not owner_is_gone(holder):
                return False
            db.execute(
                "UPDATE poll_state SET lease_owner = ?, lease_until = ? WHERE subscription_id = ?",
                [owner, now + seconds, subscription_id],
            )
        return True

    def _release(self, subscription_id: str, owner: str) -> None:
        self.cdb.db.execute(
            "UPDATE poll_state SET lease_owner = NULL, lease_until = NULL "
            "WHERE subscription_id = ? AND lease_owner = ?",
            [subscription_id, owner],
        )

    def load_state(self, subscription_id: str) -> PollState | None:
        row = self.cdb.db.execute(
            "SELECT state FROM poll_state WHERE subscription_id = ?", [subscription_id]
        ).fetchone()
        if row is None or row[0] is None:
            return None
        return PollState.from_dict(json.loads(row[0]))

    # --- one poll -----------------------------------------------------------------------------------------
    def _poll(
        self,
        sub: Subscription,
        connection: Connection,
        owner: str,
        budget: float,
        max_pages: int | None,
        page_size: int,
    ) -> PollOutcome:
        stats, progress = FetchStats(), _Progress()
        try:
            entry = trigger_entry(sub.trigger_key)
            state = self.load_state(sub.id)
            token = self.connections.token(connection.id)
        except (ConnectorError, ValueError) as err:
            return self._broken(sub, progress, stats, err)
        lease_seconds = budget + LEASE_MARGIN

        def commit(checkpoint: Checkpoint, complete: Complete) -> None:
            now = self.clock.now()
            pairs = keyed_items(entry, complete(list(checkpoint.records)))  # reads changed records
            with self.cdb.transaction() as db:
                row = db.execute(
                    "SELECT lease_owner FROM poll_state WHERE subscription_id = ?", [sub.id]
                ).fetchone()
                if row is None or row[0] != owner:
                    raise LeaseLost(sub.id)
                added = outbox.enqueue(db, sub.id, connection.id, pairs, now)
                db.execute(
                    "UPDATE poll_state SET state = ?, lease_until = ? WHERE subscription_id = ?",
                    [json.dumps(checkpoint.state.to_dict()), now + lease_seconds, sub.id],
                )
                progress.checkpoints += 1
                progress.new += len(pairs)
                progress.enqueued += added
                self._write_log(db, sub.id, progress, now, self._running(checkpoint, progress))

        with MemberPassClient(
            self.settings.api_base, token, total_budget=CALL_BUDGET, retry=POLL_RETRY
        ) as client:
            reader = reader_for(entry, sub.inputs, client, page_size=page_size, stats=stats)
            try:
                result = poll(
                    reader.fetch_page, state, spec_for(entry), self.clock, budget_seconds=budget,
                    first_run=sub.first_run, max_pages=max_pages,
                    on_checkpoint=lambda checkpoint: commit(checkpoint, reader.complete),
                )  # fmt: skip
            except LeaseLost:
                return self._finish_lost(sub, progress, stats)
        return self._finish(sub, connection, result, progress, stats)

    @staticmethod
    def _running(checkpoint: Checkpoint, progress: _Progress) -> dict[str, Any]:
        return {
            "outcome": "running",
            "checkpoints": progress.checkpoints,
            "new": progress.new,
            "enqueued": progress.enqueued,
            "cursor_after": checkpoint.state.cursor,
            "backlog_pages": len(checkpoint.state.pending),
        }

    def _finish(
        self,
        sub: Subscription,
        connection: Connection,
        result: PollResult,
        progress: _Progress,
        stats: FetchStats,
    ) -> PollOutcome:
        status, reason = self._settle_error(sub, connection, result.error)
        throttling: dict[str, Any] = stats.to_dict()
        if isinstance(result.error, RetryableError):
            throttling["retry_after"] = result.error.retry_after
        decision = {
            **result.decision.to_dict(),
            "outcome": status,
            "reason": reason,
            "checkpoints": progress.checkpoints,
            "enqueued": progress.enqueued,
            "throttling": throttling,
        }
        with self.cdb.transaction() as db:
            if db.execute("SELECT 1 FROM subscriptions WHERE id = ?", [sub.id]).fetchone():
                self._write_log(db, sub.id, progress, self.clock.now(), decision)
        if result.error is not None:
            log.warning("poll of %s: %s (%s)", sub.id, status, result.error.code)
        return PollOutcome(sub.id, status, reason, progress.enqueued, decision, result.error)

    def _finish_lost(self, sub: Subscription, progress: _Progress, stats: FetchStats) -> PollOutcome:
        reason = "the lease was lost (another worker took over, or the subscription was deleted)"
        log.warning("poll of %s stopped: %s", sub.id, reason)
        decision = {"outcome": "failed", "reason": reason, "checkpoints": progress.checkpoints,
                    "enqueued": progress.enqueued, "throttling": stats.to_dict()}  # fmt: skip
        return PollOutcome(sub.id, "failed", reason, progress.enqueued, decision)

    def _broken(
        self, sub: Subscription, progress: _Progress, stats: FetchStats, error: Exception
    ) -> PollOutcome:
        """The poll could not start: the trigger left the manifests, the stored state or the token cannot
        be read. Logged and tried again next interval (an operator fixes the cause; nothing is advanced)."""
        reason = f"the poll could not start: {error}"
        decision = {"outcome": "failed", "reason": reason, "checkpoints": 0, "enqueued": 0,
                    "throttling": stats.to_dict()}  # fmt: skip
        with self.cdb.transaction() as db:
            self._write_log(db, sub.id, progress, self.clock.now(), decision)
        log.error("poll of %s could not start: %s", sub.id, type(error).__name__)
        failure = error if isinstance(error, ConnectorError) else None
        return PollOutcome(sub.id, "failed", reason, 0, decision, failure)

    def _settle_error(
        self, sub: Subscription, connection: Connection, error: ConnectorError | None
    ) -> tuple[str, str | None]:
        """What the poll's error means for the subscription: (outcome, reason)."""
        if error is None:
            return "polled", None
        reason = f"{error.code}: {error.message} {error.remediation}".strip()
        if isinstance(error, AuthenticationError):
            self.connections.mark_needs_attention(
                connection.id, f"MemberPass refused the token while polling: {error.message}"
            )
            self.subscriptions.hold_for_connection(connection.id, reason)
            return "held", reason
        if isinstance(error, AuthError | InputError):
            self.subscriptions.hold(sub.id, reason)
            return "held", reason
        if isinstance(error, RetryableError):
            return "retry", reason
        return "failed", reason

    # --- the poll log -------------------------------------------------------------------------------------
    @staticmethod
    def _write_log(
        db: Any, subscription_id: str, progress: _Progress, at: float, body: dict[str, Any]
    ) -> None:
        text = json.dumps(body)
        if progress.log_id is None:
            cursor = db.execute(
                "INSERT INTO poll_log (subscription_id, at, decision) VALUES (?, ?, ?)",
                [subscription_id, at, text],
            )
            progress.log_id = int(cursor.lastrowid)
            db.execute(
                "DELETE FROM poll_log WHERE subscription_id = ? AND id NOT IN "
                "(SELECT id FROM poll_log WHERE subscription_id = ? ORDER BY id DESC LIMIT ?)",
                [subscription_id, subscription_id, LOG_KEEP],
            )
        else:
            db.execute("UPDATE poll_log SET at = ?, decision = ? WHERE id = ?", [at, text, progress.log_id])


def run_poll(
    subscription_id: str,
    *,
    budget_seconds: float | None = None,
    max_pages: int | None = None,
    page_size: int = PAGE_SIZE,
) -> PollOutcome:
    """Poll one subscription now (inside an app context); see the module docstring."""
    engine = PollEngine.from_app()
    return engine.run(
        subscription_id, budget_seconds=budget_seconds, max_pages=max_pages, page_size=page_size
    )
