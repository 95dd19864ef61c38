"""The delivery worker: claims due outbox rows and sends them concurrently, signed, with retries.

One attempt (:meth:`DeliveryWorker.attempt`):

1. the row's subscription must still be active (else the claim is given back, no attempt counted);
2. the body is the row's payload, byte for byte; the headers are Standard Webhooks ones
   (:mod:`webhooks.signing`) signed with the subscription's secret: ``webhook-id`` = the row id, the same on
   every retry, and a fresh ``webhook-timestamp`` per attempt;
3. :func:`webhooks.sender.send` posts it over a guarded session (:func:`webhooks.targets.delivery_session`):
   the peer address is checked again when connecting, unless ``CONNECTOR_ALLOW_PRIVATE_TARGETS`` is set,
   and redirects are never followed;
4. :func:`webhooks.schedule.next_step` books the outcome: 2xx → ``delivered``; 410 → the row is ``dead`` and
   the subscription is deleted (and, in webhook mode, unsubscribed upstream first); ``Retry-After`` on
   429/502/503/504 is honoured; other failures retry on the schedule with jitter; the last → ``dead``;
5. :func:`webhooks.schedule.record_outcome` keeps the subscription's run of failures
   (``consecutive_failures`` via the repository, when the run began in ``delivery_health``) and disables it,
   with the reason, when the rule says so.

:meth:`run_once` claims what is due at ``now`` and sends it (tests); :meth:`start` runs a thread that keeps
the pool busy and wakes early on :func:`wake` (a new inbound event, a replay). It claims in batches: once no
more than ``pool_size`` rows are in flight it tops them up to twice that (the extra rows wait in the pool's
queue), so a claim's transaction is shared by a batch of rows while the senders never run dry; rows still
queued when the worker stops are given back. A delivered attempt is booked in one transaction (the row,
and the end of the subscription's failure run). Claims are leased (:func:`webhooks.outbox.due`), so a
worker that dies mid-send leaves its rows due again; a redelivery reuses the row's ``webhook-id``.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import weakref
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import requests
from flask import Flask

from connector.clock import Clock
from connector.config import Settings
from connector.crypto import KeyRing
from connector.errors import ConnectorError
from connector.leases import lease_owner
from connector.storage.db import ConnectorDB
from triggers.subscriptions import Subscription, SubscriptionRepo
from webhooks import outbox
from webhooks.schedule import FailureRule, Health, Jitter, Step, next_step, record_outcome, stretch_jitter
from webhooks.sender import Outcome, send
from webhooks.signing import headers_for
from webhooks.targets import delivery_session

log = logging.getLogger("webhooks.worker")
EXTENSION = "webhooks.worker"
POOL_SIZE = 16
IDLE_INTERVAL = 0.5  # seconds between looks at the outbox when nothing woke the worker
BATCH_LIMIT = 1000  # rows one run_once claims at most
DEFAULT_RULE = FailureRule()

_workers: weakref.WeakSet[DeliveryWorker] = weakref.WeakSet()


def wake() -> None:
    """Tell every running worker of this process that rows may be due now."""
    for worker in list(_workers):
        worker.notify()


class SessionPool:
    """One guarded delivery session per sending thread (a session is not shared between threads), so
    connections to a receiver are kept alive across attempts; :meth:`close_all` when done."""

    def __init__(self, allow_private: bool) -> None:
        self.allow_private = allow_private
        self._sessions: dict[int, requests.Session] = {}
        self._lock = threading.Lock()

    def get(self) -> requests.Session:
        ident = threading.get_ident()
        with self._lock:
            session = self._sessions.get(ident)
            if session is None:
                session = delivery_session(allow_private=self.allow_private)
                self._sessions[ident] = session
            return session

    def close_all(self) -> None:
        with self._lock:
            sessions, self._sessions = list(self._sessions.values()), {}
        for session in sessions:
            session.close()


@dataclass(frozen=True)
class Attempt:
    """What one attempt did: ``step`` is None when no attempt was made (the claim was given back)."""

    delivery_id: str
    subscription_id: str
    outcome: Outcome | None
    step: Step | None
    disabled_reason: str | None = None


class DeliveryWorker:
    def __init__(
        self,
        cdb: ConnectorDB,
        ring: KeyRing,
        clock: Clock,
        settings: Settings,
        *,
        pool_size: int = POOL_SIZE,
        interval: float = IDLE_INTERVAL,
        jitter: Jitter = stretch_jitter,
        rule: FailureRule = DEFAULT_RULE,
        timeout: float | tuple[float, float] = (5.0, 15.0),
        lease_seconds: float = outbox.LEASE_SECONDS,
    ) -> None:
        self.cdb, self.ring, self.clock, self.settings = cdb, ring, clock, settings
        self.pool_size, self.interval, self.jitter, self.rule = pool_size, interval, jitter, rule
        self.timeout, self.lease_seconds = timeout, lease_seconds
        self.subscriptions = SubscriptionRepo(cdb, ring, clock)
        self._sessions = SessionPool(settings.allow_private_targets)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._inflight = 0
        self._pool: ThreadPoolExecutor | None = None
        self._thread: threading.Thread | None = None
        self.owner = lease_owner()

    @classmethod
    def for_app(cls, app: Flask, **kwargs: Any) -> DeliveryWorker:
        from connector.connections import services

        ext = app.extensions
        settings: Settings = app.config["CONNECTOR_SETTINGS"]
        return cls(ext[services.DB], ext[services.RING], ext[services.CLOCK], settings, **kwargs)

    # --- one pass, for tests and tools ---------------------------------------------------------------------
    def run_once(self, now: float | None = None, limit: int = BATCH_LIMIT) -> list[Attempt]:
        """Claim every row due at ``now`` (default: the clock's now) and attempt them concurrently; the
        attempts are signed and booked at ``now`` too. Returns what each attempt did."""
        at = self.clock.now() if now is None else now
        rows = outbox.due(self.cdb, at, limit, lease_seconds=self.lease_seconds, owner=self.owner)
        if not rows:
            return []
        try:
            with ThreadPoolExecutor(
                min(self.pool_size, len(rows)), thread_name_prefix="delivery-once"
            ) as pool:
                return list(pool.map(lambda row: self.attempt(row, at), rows))
        finally:
            self._sessions.close_all()

    # --- one attempt ---------------------------------------------------------------------------------------
    def attempt(self, row: dict[str, Any], now: float | None = None) -> Attempt:
        """Send one claimed row and book the outcome; never raises (a crash gives the claim back)."""
        try:
            return self._attempt(row, now)
        except Exception:
            log.exception("delivery %s: the attempt crashed; it will be tried again", row["id"])
            outbox.release(self.cdb, row)
            return Attempt(row["id"], row["subscription_id"], None, None)

    def _attempt(self, row: dict[str, Any], now: float | None) -> Attempt:
        sub = self.subscriptions.get(row["subscription_id"])
        if sub is None or sub.status != "active":
            outbox.release(self.cdb, row)
            return Attempt(row["id"], row["subscription_id"], None, None)
        body = row["payload"].encode("utf-8")
        sent_at = self.clock.now() if now is None else now
        headers = headers_for(row["id"], sent_at, body, [self.subscriptions.secret(sub.id)])
        outcome = send(self._sessions.get(), sub.target_url, body, headers, self.timeout, clock=self.clock)
        booked_at = self.clock.now() if now is None else now
        step = next_step(row["attempts"] + 1, outcome, booked_at, self.jitter)
        self._book(row, outcome, step, booked_at)
        if step.status == "gone":
            self._remove(sub, step.reason)
            return Attempt(row["id"], sub.id, outcome, step)
        return Attempt(row["id"], sub.id, outcome, step, self._track_health(sub, outcome, booked_at))

    def _book(self, row: dict[str, Any], outcome: Outcome, step: Step, now: float) -> None:
        if step.status == "delivered":
            with self.cdb.transaction() as tx:  # one commit: the row and the end of any failure run
                if outbox.mark_delivered(tx, row, now, outcome.status):
                    self.subscriptions.record_success(row["subscription_id"])
                    tx.execute(
                        "DELETE FROM delivery_health WHERE subscription_id = ?", [row["subscription_id"]]
                    )
        elif step.status == "retry":
            assert step.next_attempt_at is not None
            outbox.mark_retry(self.cdb, row, step.next_attempt_at, outcome.status, error_text(outcome))
        else:
            reason = f"{step.reason} ({error_text(outcome)})" if step.status == "dead" else step.reason
            outbox.mark_dead(self.cdb, row, outcome.status, reason)

    def _track_health(self, sub: Subscription, outcome: Outcome, now: float) -> str | None:
        """Count the attempt in the subscription's run of failures; disable it when the rule says so."""
        if outcome.kind != "retry":
            return None  # delivered (booked with its row) or throttled (neither a failure nor a success)
        with self.cdb.transaction() as tx:
            failures = self.subscriptions.record_failure(sub.id)
            if failures == 0:
                return None  # the subscription was deleted meanwhile
            tx.execute(
                "INSERT INTO delivery_health (subscription_id, failing_since) VALUES (?, ?) "
                "ON CONFLICT (subscription_id) DO NOTHING",
                [sub.id, now],
            )
            since = tx.execute(
                "SELECT failing_since FROM delivery_health WHERE subscription_id = ?", [sub.id]
            ).fetchone()[0]
        _, reason = record_outcome(Health(failures - 1, since), outcome, now, self.rule)
        if reason is not None and self.subscriptions.disable(sub.id, reason):
            log.warning("subscription %s disabled: %s", sub.id, reason)
        return reason

    def _remove(self, sub: Subscription, reason: str) -> None:
        """410 Gone: the receiver unsubscribed; so do we (upstream first, in webhook mode)."""
        if sub.mode == "webhook":
            from webhooks.upstream import Upstream

            try:
                Upstream(self.cdb, self.ring, self.clock, self.settings).unsubscribe(sub)
            except ConnectorError as err:
                log.warning("subscription %s: upstream unsubscribe failed (%s)", sub.id, err.code)
        self.subscriptions.delete(sub.id)
        log.info("subscription %s deleted: %s", sub.id, reason)

    # --- the background thread ----------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        released = outbox.release_abandoned(self.cdb, self.clock.now())
        if released:
            log.info("took over %d deliveries claimed by a process that is gone", released)
        self._pool = ThreadPoolExecutor(self.pool_size, thread_name_prefix="delivery")
        self._thread = threading.Thread(target=self._loop, name="delivery-worker", daemon=True)
        _workers.add(self)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop claiming, let the attempts in flight finish (their claims are booked), and join."""
        _workers.discard(self)
        self._stop.set()
        self._wake.set()
        thread, pool = self._thread, self._pool
        self._thread = self._pool = None
        if thread is not None:
            thread.join(timeout)
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        self._sessions.close_all()

    def notify(self) -> None:
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            claimed = 0
            try:
                claimed = self._fill()
            except Exception:
                log.exception("the delivery worker could not claim rows; it tries again shortly")
            if claimed == 0:
                self._wake.wait(self.interval)

    def _fill(self) -> int:
        """Top the rows in flight up to twice the pool once no more than the pool's size are left."""
        pool = self._pool  # stop() clears the attribute while this thread may be here; it joins us first
        with self._lock:
            inflight = self._inflight
        if inflight > self.pool_size or pool is None:
            return 0
        rows = outbox.due(
            self.cdb, self.clock.now(), 2 * self.pool_size - inflight, lease_seconds=self.lease_seconds,
            owner=self.owner,
        )  # fmt: skip
        for row in rows:
            with self._lock:
                self._inflight += 1
            try:
                pool.submit(self.attempt, row).add_done_callback(functools.partial(self._done, row=row))
            except RuntimeError:  # stopping: the pool refuses work; give the claim back
                self._done(None, row=row)
        return len(rows)

    def _done(self, future: Future[Attempt] | None, *, row: dict[str, Any]) -> None:
        """An attempt ended, or was never made (refused, or cancelled in the queue at stop): then the
        claim is given back, so the row is due again at once."""
        if future is None or future.cancelled():
            outbox.release(self.cdb, row)
        with self._lock:
            self._inflight -= 1
        self._wake.set()


def error_text(outcome: Outcome) -> str:
    """What the delivery log shows for a failed attempt (never the request, which carries the signature)."""
    if outcome.status is None:
        return outcome.error or outcome.kind
    excerpt = " ".join(outcome.excerpt.split())[:200]
    return f"HTTP {outcome.status}" + (f": {excerpt}" if excerpt else "")


def start_background(app: Flask, *, reloader: bool = False, **kwargs: Any) -> DeliveryWorker | None:
    """What ``serve`` and ``demo`` call: start the app's delivery worker (once), unless this is the watcher
    process of the Werkzeug reloader, which would deliver a second time."""
    if reloader and os.environ.get("WERKZEUG_RUN_MAIN") != "true":
        return None
    running: DeliveryWorker | None = app.extensions.get(EXTENSION)
    if running is not None:
        return running
    worker = DeliveryWorker.for_app(app, **kwargs)
    app.extensions[EXTENSION] = worker
    worker.start()
    log.info("delivery worker started with %d sender(s)", worker.pool_size)
    return worker


def stop_background(app: Flask) -> None:
    worker: DeliveryWorker | None = app.extensions.pop(EXTENSION, None)
    if worker is not None:
        worker.stop()
