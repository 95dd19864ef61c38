"""Webhook deliveries (webhooks.md §1, §6, §7): fan-out, the retry curve (C16), auto-disable, manual retry.

Every emitted event gets one delivery per matching endpoint. A delivery is due at once; each failed
attempt waits ``settings.retry_schedule[n]`` sandbox seconds (counted from the failure) before the next,
and after attempt ``1 + len(retry_schedule)`` fails it is ``dead``. Due times run on the sandbox clock
through the store's scheduler, so advancing the clock makes retries due. The HTTP side lives in
webhook_dispatcher.py; this module only changes state, always under the store lock.

Decisions where the reference is silent:

- Deliveries of an inactive endpoint are not attempted: they stay ``pending`` / ``failed`` and resume when
  the endpoint is re-enabled. Deleting an endpoint deletes its deliveries.
- ``next_attempt_at`` is set while a delivery waits (``pending``, ``failed``) and null once it is
  ``delivered`` or ``dead``. A failed attempt without an HTTP answer has ``http_status`` null and a short
  reason in ``response_excerpt``.
- The body is the envelope serialised once, so every attempt sends (and signs) the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from connector.sandbox.ids import new_id
from connector.sandbox.settings import SandboxSettings
from connector.sandbox.signing import signature_header
from connector.sandbox.store import API_VERSION, Obj, Store, public
from connector.sandbox.timeutil import iso
from connector.sandbox.webhook_endpoints import TABLE as ENDPOINTS
from connector.sandbox.webhook_endpoints import signing_secrets

TABLE = "webhook_deliveries"
WAITING = ("pending", "failed")
USER_AGENT = "MemberPass-Webhooks/1.0"
EXCERPT_BYTES = 4096


@dataclass(frozen=True)
class Job:
    """One attempt, ready to send outside the lock."""

    delivery_id: str
    generation: int
    endpoint_id: str
    url: str
    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True)
class Outcome:
    ok: bool
    http_status: int | None
    excerpt: str | None


def envelope_bytes(envelope: Obj) -> bytes:
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def wants(endpoint: Obj, event: Obj) -> bool:
    """Fan-out rule (webhooks.md §12): active, subscribed, and matching the endpoint's project if it has one.
    Team-level events (project_id null) therefore reach only endpoints without a project."""
    if endpoint["_team"] != event["_team"] or not endpoint["is_active"]:
        return False
    if event["type"] not in endpoint["events"]:
        return False
    return endpoint["project_id"] is None or endpoint["project_id"] == event["project_id"]


def test_envelope(store: Store, endpoint: Obj) -> Obj:
    """The synthetic `subscription.created` a test fire sends; it is not recorded in the event feed."""
    return {
        "id": new_id("evt"),
        "type": "subscription.created",
        "created_at": store.iso_now(),
        "api_version": API_VERSION,
        "project_id": endpoint["project_id"],
        "data": {
            "subscription_id": new_id("sub"),
            "plan_id": new_id("pln"),
            "subscriber_id": new_id("usr"),
            "trial_ends_at": None,
            "access_code": None,
        },
    }


class DeliveryQueue:
    """Delivery state and scheduling. ``sender`` (set by the dispatcher) takes a ready :class:`Job`."""

    def __init__(self, store: Store, settings: SandboxSettings) -> None:
        self.store = store
        self.settings = settings
        self.sender: Callable[[Job], None] | None = None

    @property
    def max_attempts(self) -> int:
        return 1 + len(self.settings.retry_schedule)

    # --- creating and scheduling ------------------------------------------------------------------------
    def on_event(self, event: Obj) -> None:
        """Store listener: one delivery per endpoint that wants the event."""
        with self.store.lock:
            endpoints = [e for e in self.store.table(ENDPOINTS).values() if wants(e, event)]
            envelope = public(event)
            for endpoint in sorted(endpoints, key=lambda e: e["_seq"]):
                self.enqueue(endpoint, envelope)

    def enqueue(self, endpoint: Obj, envelope: Obj) -> Obj:
        with self.store.lock:
            now = self.store.clock.now()
            delivery: Obj = {
                "id": new_id("whd"),
                "endpoint_id": endpoint["id"],
                "event_id": envelope["id"],
                "event_type": envelope["type"],
                "status": "pending",
                "attempts": 0,
                "http_status": None,
                "response_excerpt": None,
                "next_attempt_at": None,
                "created_at": iso(now),
                "delivered_at": None,
                "_team": endpoint["_team"],
                "_project": endpoint["project_id"],
                "_body": envelope_bytes(envelope),
                "_generation": 0,
                "_due": now,
                "_inflight": False,
            }
            self.store.insert(TABLE, delivery)
            self.schedule(delivery, now)
            return delivery

    def schedule(self, delivery: Obj, when: float) -> None:
        """(Re)arm the delivery for ``when``; earlier arms become stale through the generation number."""
        delivery["_generation"] += 1
        delivery["_due"] = when
        delivery["_inflight"] = False
        delivery["next_attempt_at"] = iso(when)
        self.store.scheduler.call_at(when, partial(self.fire, delivery["id"], delivery["_generation"]))

    def resume_endpoint(self, endpoint_id: str) -> None:
        """Re-arm the waiting deliveries of a re-enabled endpoint (due ones go at once)."""
        with self.store.lock:
            now = self.store.clock.now()
            for delivery in self._waiting(lambda d: d["endpoint_id"] == endpoint_id):
                self.schedule(delivery, max(delivery["_due"], now))

    def resume_all(self) -> None:
        """Re-arm every waiting delivery, in flight or not (the dispatcher calls this when it starts)."""
        with self.store.lock:
            now = self.store.clock.now()
            for delivery in self.store.rows(TABLE, lambda d: d["status"] in WAITING):
                self.schedule(delivery, max(delivery["_due"], now))

    def release(self, job: Job) -> None:
        """Give back a job that was never sent; it waits for the next re-arm."""
        with self.store.lock:
            delivery = self.store.get(TABLE, job.delivery_id)
            if delivery is not None and delivery["_generation"] == job.generation:
                delivery["_inflight"] = False

    def drop_endpoint(self, endpoint_id: str) -> None:
        with self.store.lock:
            for delivery in self.store.rows(TABLE, lambda d: d["endpoint_id"] == endpoint_id):
                self.store.delete(TABLE, delivery["id"])

    def retry(self, delivery: Obj) -> None:
        """Manual replay of a failed or dead delivery: back to pending, attempts reset to 0, due now."""
        with self.store.lock:
            delivery.update(status="pending", attempts=0)
            self.schedule(delivery, self.store.clock.now())

    def _waiting(self, where: Callable[[Obj], bool]) -> list[Obj]:
        return self.store.rows(TABLE, lambda d: d["status"] in WAITING and not d["_inflight"] and where(d))

    # --- attempts ---------------------------------------------------------------------------------------
    def fire(self, delivery_id: str, generation: int) -> None:
        """Scheduler callback: hand a due delivery to the sender, unless it went stale or cannot go."""
        if self.sender is None:
            return
        job = self.take(delivery_id, generation)
        if job is not None:
            self.sender(job)

    def take(self, delivery_id: str, generation: int) -> Job | None:
        with self.store.lock:
            delivery = self.store.get(TABLE, delivery_id)
            if delivery is None or delivery["_generation"] != generation or delivery["_inflight"]:
                return None
            endpoint = self.store.get(ENDPOINTS, delivery["endpoint_id"])
            if delivery["status"] not in WAITING or endpoint is None or not endpoint["is_active"]:
                return None
            now = self.store.clock.now()
            secret, old_secret = signing_secrets(endpoint, now)
            body: bytes = delivery["_body"]
            headers = {
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                "MP-Signature": signature_header(int(now), body, secret, old_secret),
                "MP-Event-Id": delivery["event_id"],
                "MP-Event-Name": delivery["event_type"],
            }
            delivery["_inflight"] = True
            return Job(delivery_id, generation, endpoint["id"], endpoint["url"], body, headers)

    def record(self, job: Job, outcome: Outcome) -> None:
        """Book an attempt's outcome on the endpoint and, unless it went stale meanwhile, the delivery."""
        with self.store.lock:
            now = self.store.clock.now()
            endpoint = self.store.get(ENDPOINTS, job.endpoint_id)
            if endpoint is not None:
                self._count(endpoint, outcome.ok, now)
            delivery = self.store.get(TABLE, job.delivery_id)
            if delivery is None or delivery["_generation"] != job.generation:
                return
            delivery["_inflight"] = False
            delivery["attempts"] += 1
            delivery["http_status"] = outcome.http_status
            delivery["response_excerpt"] = outcome.excerpt
            if outcome.ok:
                delivery.update(status="delivered", delivered_at=iso(now), next_attempt_at=None)
            elif delivery["attempts"] >= self.max_attempts:
                delivery.update(status="dead", next_attempt_at=None)
            else:
                delivery["status"] = "failed"
                self.schedule(delivery, now + self.settings.retry_schedule[delivery["attempts"] - 1])

    def _count(self, endpoint: Obj, ok: bool, now: float) -> None:
        """Any success resets the failure run; `auto_disable_after` failures in a row disable the endpoint."""
        if ok:
            endpoint["consecutive_failures"] = 0
            return
        endpoint["consecutive_failures"] += 1
        if endpoint["is_active"] and endpoint["consecutive_failures"] >= self.settings.auto_disable_after:
            endpoint["is_active"] = False
            endpoint["disabled_at"] = iso(now)
