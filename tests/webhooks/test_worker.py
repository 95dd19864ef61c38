"""The delivery worker over real HTTP: a local receiver verifies every delivery with `standardwebhooks`.

The clock is a FakeClock that starts at the real time, so moving it a few minutes ahead keeps every
signature inside the receiver's ±5 min tolerance while retries fall due without sleeping.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connector.clock import FakeClock, SystemClock
from tests.webhooks.delivery_support import Receiver, Store, new_secret, open_store, running_receiver
from webhooks import outbox
from webhooks.schedule import FailureRule, no_jitter
from webhooks.worker import DeliveryWorker, wake


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(start=time.time())


@pytest.fixture
def store(tmp_path: Path, clock: FakeClock) -> Iterator[Store]:
    opened = open_store(tmp_path / "connector.db", clock)
    yield opened
    opened.cdb.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


def make_worker(store: Store, clock: Any, **kwargs: Any) -> DeliveryWorker:
    settings = store.settings(allow_private_targets=kwargs.pop("allow_private", True))
    kwargs.setdefault("jitter", no_jitter)
    return DeliveryWorker(store.cdb, store.ring, clock, settings, pool_size=8, **kwargs)


def queue(store: Store, subscription_id: str, keys: list[str], now: float) -> list[str]:
    items = [(key, {"id": key, "kind": "test"}) for key in keys]
    outbox.enqueue(store.cdb, subscription_id, store.connection_id, items, now)
    return [outbox.delivery_id(subscription_id, key) for key in keys]


def always(status: int, headers: dict[str, str] | None = None) -> Any:
    return lambda received, n: (status, headers or {})


def test_every_row_is_delivered_once_with_a_valid_signature(
    store: Store, clock: FakeClock, receiver: Receiver
) -> None:
    expected: dict[str, list[str]] = {}
    for name in ("a", "b", "c"):
        secret = new_secret()
        sub = store.subscribe(receiver.endpoint(name, secret), secret)
        expected[name] = queue(store, sub.id, [f"{name}{n}" for n in range(20)], clock.now())
    worker = make_worker(store, clock)
    attempts = worker.run_once()
    assert len(attempts) == 60 and {a.step.status for a in attempts if a.step} == {"delivered"}
    assert worker.run_once(clock.now() + 3600) == []
    assert all(call.verified for call in receiver.calls)
    for name, ids in expected.items():
        assert sorted(receiver.ids(name)) == sorted(ids)
        assert sorted(p["id"] for p in receiver.payloads(name)) == sorted(f"{name}{n}" for n in range(20))
    rows = store.cdb.db.execute("SELECT status, attempts, last_status FROM outbox").fetchall()
    assert set(rows) == {("delivered", 1, 200)}


def test_failed_attempts_retry_on_the_schedule_with_the_same_webhook_id(
    store: Store, clock: FakeClock, receiver: Receiver
) -> None:
    receiver.respond = lambda received, n: (500, {}) if n < 2 else (200, {})
    secret = new_secret()
    sub = store.subscribe(receiver.endpoint("r", secret), secret)
    now = clock.now()
    [delivery] = queue(store, sub.id, ["rec_1"], now)
    worker = make_worker(store, clock)
    [first] = worker.run_once(now)
    assert first.step is not None and first.step.status == "retry"
    row = store.row(delivery)
    assert (row["status"], row["attempts"], row["next_attempt_at"]) == ("failed", 1, now + 10)
    assert row["last_status"] == 500 and row["last_error"].startswith("HTTP 500")
    assert worker.run_once(now + 9.9) == []
    worker.run_once(now + 10)
    assert store.row(delivery)["next_attempt_at"] == now + 10 + 60
    worker.run_once(now + 70)
    row = store.row(delivery)
    assert (row["status"], row["attempts"], row["delivered_at"]) == ("delivered", 3, now + 70)
    calls = receiver.for_path("r")
    assert [c.webhook_id for c in calls] == [delivery] * 3
    assert [c.timestamp for c in calls] == [int(now), int(now + 10), int(now + 70)]
    assert all(c.verified for c in calls)
    assert store.subscriptions.get(sub.id).consecutive_failures == 0  # type: ignore[union-attr]


def test_jitter_stretches_the_wait(store: Store, clock: FakeClock, receiver: Receiver) -> None:
    receiver.respond = always(502)
    secret = new_secret()
    sub = store.subscribe(receiver.endpoint("r", secret), secret)
    [delivery] = queue(store, sub.id, ["rec_1"], clock.now())
    make_worker(store, clock, jitter=lambda wait: wait * 1.2).run_once(clock.now())
    assert store.row(delivery)["next_attempt_at"] == pytest.approx(clock.now() + 12)


def test_exhausted_rows_are_dead_and_a_replay_delivers_them(
    store: Store, clock: FakeClock, receiver: Receiver
) -> None:
    receiver.respond = always(500)
    secret = new_secret()
    sub = store.subscribe(receiver.endpoint("r", secret), secret)
    [delivery] = queue(store, sub.id, ["rec_1"], clock.now())
    worker = make_worker(store, clock, jitter=lambda wait: 0.0)  # every retry due at once
    for _ in range(20):
        if not worker.run_once(clock.now()):
            break
    row = store.row(delivery)
    assert (row["status"], row["attempts"], row["next_attempt_at"]) == ("dead", 9, None)
    assert "gave up after 9 attempts" in row["last_error"]
    assert len(receiver.for_path("r")) == 9
    receiver.respond = always(200)
    outbox.retry(store.cdb, delivery, store.connection_id, clock.now())
    worker.run_once(clock.now())
    assert store.row(delivery)["status"] == "delivered"
    assert receiver.ids("r") == [delivery] * 10 and all(c.verified for c in receiver.calls)


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_is_honoured(store: Store, clock: FakeClock, receiver: Receiver, status: int) -> None:
    receiver.respond = lambda received, n: (status, {"Retry-After": "120"}) if n == 0 else (200, {})
    secret = new_secret()
    sub = store.subscribe(receiver.endpoint("r", secret), secret)
    now = clock.now()
    [delivery] = queue(store, sub.id, ["rec_1"], now)
    worker = make_worker(store, clock)
    worker.run_once(now)
    assert store.row(delivery)["next_attempt_at"] == now + 120  # not the schedule's 10 s
    assert worker.run_once(now + 119) == []
    assert len(receiver.for_path("r")) == 1
    worker.run_once(now + 120)
    assert store.row(delivery)["status"] == "delivered"
    assert store.subscriptions.get(sub.id).consecutive_failures == 0  # type: ignore[union-attr]


def test_gone_removes_the_subscription_and_its_rows(
    store: Store, clock: FakeClock, receiver: Receiver
) -> None:
    receiver.respond = lambda received, n: (410, {}) if received.path == "/r/gone" else (200, {})
    gone_secret, kept_secret = new_secret(), new_secret()
    gone = store.subscribe(receiver.endpoint("gone", gone_secret), gone_secret)
    kept = store.subscribe(receiver.endpoint("kept", kept_secret), kept_secret)
    queue(store, gone.id, ["rec_1"], clock.now())
    queue(store, kept.id, ["rec_1"], clock.now())
    worker = make_worker(store, clock)
    steps = {a.subscription_id: a.step.status if a.step else None for a in worker.run_once()}
    assert steps == {gone.id: "gone", kept.id: "delivered"}
    assert store.subscriptions.get(gone.id) is None
    assert [r[0] for r in store.cdb.db.execute("SELECT subscription_id FROM outbox").fetchall()] == [kept.id]
    queue(store, kept.id, ["rec_2"], clock.now())
    worker.run_once(clock.now() + 60)
    assert len(receiver.for_path("gone")) == 1 and len(receiver.for_path("kept")) == 2


def test_a_run_of_failures_disables_the_subscription_with_a_reason(
    store: Store, clock: FakeClock, receiver: Receiver
) -> None:
    receiver.respond = always(500)
    secret = new_secret()
    sub = store.subscribe(receiver.endpoint("r", secret), secret)
    now = clock.now()
    queue(store, sub.id, ["a", "b", "c"], now)
    worker = make_worker(
        store, clock, jitter=lambda wait: 0.0, rule=FailureRule(max_consecutive=4, min_duration=60)
    )
    worker.run_once(now)
    worker.run_once(now + 30)
    current = store.subscriptions.get(sub.id)
    assert current is not None and (current.status, current.consecutive_failures) == ("active", 6)
    worker.run_once(now + 60)
    current = store.subscriptions.get(sub.id)
    assert current is not None and current.status == "disabled"
    assert current.status_reason is not None and "consecutive failed deliveries" in current.status_reason
    assert "HTTP 500" in current.status_reason
    sent = len(receiver.calls)
    assert worker.run_once(now + 3600) == [] and len(receiver.calls) == sent


def test_a_delivery_ends_the_run_of_failures(store: Store, clock: FakeClock, receiver: Receiver) -> None:
    receiver.respond = lambda received, n: (500, {}) if n < 2 else (200, {})
    secret = new_secret()
    sub = store.subscribe(receiver.endpoint("r", secret), secret)
    queue(store, sub.id, ["a"], clock.now())
    worker = make_worker(store, clock, jitter=lambda wait: 0.0)
    worker.run_once(clock.now())
    worker.run_once(clock.now())
    assert store.subscriptions.get(sub.id).consecutive_failures == 2  # type: ignore[union-attr]
    worker.run_once(clock.now())
    assert store.subscriptions.get(sub.id).consecutive_failures == 0  # type: ignore[union-attr]
    assert store.cdb.db.execute("SELECT COUNT(*) FROM delivery_health").fetchone()[0] == 0


def test_a_private_target_is_refused_at_send_time(store: Store, clock: FakeClock, receiver: Receiver) -> None:
    secret = new_secret()
    sub = store.subscribe(receiver.endpoint("r", secret), secret)  # stored when private targets were allowed
    [delivery] = queue(store, sub.id, ["rec_1"], clock.now())
    make_worker(store, clock, allow_private=False).run_once()
    assert receiver.calls == []
    row = store.row(delivery)
    assert row["status"] == "failed" and row["last_status"] is None
    assert row["last_error"].startswith("refused:") and "loopback" in row["last_error"]


def test_a_claim_lost_in_a_crash_is_redelivered_under_the_same_id(
    store: Store, clock: FakeClock, receiver: Receiver
) -> None:
    secret = new_secret()
    sub = store.subscribe(receiver.endpoint("r", secret), secret)
    now = clock.now()
    [delivery] = queue(store, sub.id, ["rec_1"], now)
    assert [r["id"] for r in outbox.due(store.cdb, now, 10, lease_seconds=60)] == [delivery]  # then "killed"
    worker = make_worker(store, clock)
    assert worker.run_once(now + 59) == []
    worker.run_once(now + 60)
    assert receiver.ids("r") == [delivery] and store.row(delivery)["attempts"] == 1


def test_the_background_worker_keeps_delivering_until_stopped(store: Store, receiver: Receiver) -> None:
    secret = new_secret()
    sub = store.subscribe(receiver.endpoint("r", secret), secret)
    worker = make_worker(store, SystemClock(), interval=5.0)
    worker.start()
    try:
        ids = queue(store, sub.id, [f"rec_{n}" for n in range(40)], time.time())
        wake()  # without it the worker would look again only after its 5 s interval
        deadline = time.monotonic() + 5
        while len(receiver.calls) < 40 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        worker.stop()
    assert sorted(receiver.ids("r")) == sorted(ids) and all(c.verified for c in receiver.calls)
    statuses = store.cdb.db.execute("SELECT DISTINCT status FROM outbox").fetchall()
    assert statuses == [("delivered",)]
