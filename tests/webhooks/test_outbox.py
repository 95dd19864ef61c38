"""The outbox: deterministic ids, enqueue at most once, leased claims, booking, replay, listing, scoping."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from connector.clock import FakeClock
from connector.errors import ConflictError, NotFoundError
from tests.webhooks.delivery_support import Store, new_secret, open_store
from webhooks import outbox


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(tmp_path: Path, clock: FakeClock) -> Iterator[Store]:
    opened = open_store(tmp_path / "connector.db", clock)
    yield opened
    opened.cdb.close()


def test_delivery_id_is_deterministic_and_per_subscription() -> None:
    first = outbox.delivery_id("sub_a", "evt_1")
    assert first == outbox.delivery_id("sub_a", "evt_1")
    assert re.fullmatch(r"msg_[0-9a-f]{24}", first)
    assert first != outbox.delivery_id("sub_b", "evt_1")
    assert first != outbox.delivery_id("sub_a", "evt_2")


def test_enqueue_queues_each_record_once(store: Store, clock: FakeClock) -> None:
    sub = store.subscribe("https://example.com/hook", new_secret())
    items = [("rec_1", {"id": "rec_1", "n": 1}), ("rec_2", {"id": "rec_2", "n": 2})]
    assert outbox.enqueue(store.cdb, sub.id, store.connection_id, items, clock.now()) == 2
    again = [("rec_1", {"id": "rec_1", "n": 99}), ("rec_3", {"id": "rec_3"})]
    assert outbox.enqueue(store.cdb, sub.id, store.connection_id, again, clock.now()) == 1
    row = store.row(outbox.delivery_id(sub.id, "rec_1"))
    assert row["payload"] == '{"id":"rec_1","n":1}'
    assert (row["status"], row["attempts"], row["next_attempt_at"]) == ("pending", 0, clock.now())


def test_enqueue_joins_the_callers_transaction(store: Store, clock: FakeClock) -> None:
    sub = store.subscribe("https://example.com/hook", new_secret())
    with pytest.raises(RuntimeError), store.cdb.transaction() as tx:
        outbox.enqueue(tx, sub.id, store.connection_id, [("rec_1", {"id": "rec_1"})], clock.now())
        raise RuntimeError("crash before the checkpoint commits")
    assert store.cdb.db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 0


def test_due_claims_with_a_lease(store: Store, clock: FakeClock) -> None:
    sub = store.subscribe("https://example.com/hook", new_secret())
    outbox.enqueue(store.cdb, sub.id, store.connection_id, [("a", {}), ("b", {})], clock.now())
    claimed = outbox.due(store.cdb, clock.now(), 10, lease_seconds=30)
    assert sorted(r["record_key"] for r in claimed) == ["a", "b"]
    assert outbox.due(store.cdb, clock.now() + 29, 10, lease_seconds=30) == []
    reclaimed = outbox.due(store.cdb, clock.now() + 30, 1, lease_seconds=30)
    assert len(reclaimed) == 1
    # the first claim of that row is stale now: its outcome changes nothing
    stale = next(r for r in claimed if r["id"] == reclaimed[0]["id"])
    assert outbox.mark_delivered(store.cdb, stale, clock.now(), 200) is False
    assert outbox.mark_delivered(store.cdb, reclaimed[0], clock.now(), 200) is True
    assert store.row(stale["id"])["status"] == "delivered"


def test_due_skips_rows_not_yet_due_and_inactive_subscriptions(store: Store, clock: FakeClock) -> None:
    active = store.subscribe("https://example.com/a", new_secret())
    held = store.subscribe("https://example.com/b", new_secret())
    now = clock.now()
    outbox.enqueue(store.cdb, active.id, store.connection_id, [("a", {})], now)
    outbox.enqueue(store.cdb, held.id, store.connection_id, [("b", {})], now)
    store.subscriptions.hold(held.id, "connection needs attention")
    [row] = outbox.due(store.cdb, now, 10)
    assert row["subscription_id"] == active.id
    assert outbox.mark_retry(store.cdb, row, now + 10, 500, "HTTP 500") is True
    assert outbox.due(store.cdb, now + 9, 10) == []
    [again] = outbox.due(store.cdb, now + 10, 10)
    assert (again["id"], again["attempts"], again["status"]) == (row["id"], 1, "failed")


def test_marks_record_status_attempts_and_errors(store: Store, clock: FakeClock) -> None:
    sub = store.subscribe("https://example.com/hook", new_secret())
    now = clock.now()
    outbox.enqueue(store.cdb, sub.id, store.connection_id, [("a", {})], now)
    [claimed] = outbox.due(store.cdb, now, 1)
    assert outbox.mark_dead(store.cdb, claimed, 404, "x" * 2000)
    row = store.row(claimed["id"])
    assert (row["status"], row["attempts"], row["last_status"], row["lease_until"]) == ("dead", 1, 404, None)
    assert len(row["last_error"]) == outbox.ERROR_CHARS
    assert outbox.due(store.cdb, now + 10**6, 10) == []


def test_release_gives_a_claim_back_without_counting(store: Store, clock: FakeClock) -> None:
    sub = store.subscribe("https://example.com/hook", new_secret())
    outbox.enqueue(store.cdb, sub.id, store.connection_id, [("a", {})], clock.now())
    [claimed] = outbox.due(store.cdb, clock.now(), 1)
    assert outbox.release(store.cdb, claimed)
    [again] = outbox.due(store.cdb, clock.now(), 1)
    assert again["attempts"] == 0


def test_retry_replays_failed_and_dead_rows_of_the_caller_only(store: Store, clock: FakeClock) -> None:
    sub = store.subscribe("https://example.com/hook", new_secret())
    now = clock.now()
    outbox.enqueue(store.cdb, sub.id, store.connection_id, [("a", {}), ("b", {})], now)
    claimed = {r["record_key"]: r for r in outbox.due(store.cdb, now, 10)}
    outbox.mark_dead(store.cdb, claimed["a"], 500, "gave up")
    outbox.mark_delivered(store.cdb, claimed["b"], now, 200)
    other = store.add_connection("tem_other")
    with pytest.raises(NotFoundError):
        outbox.retry(store.cdb, claimed["a"]["id"], other, now)
    with pytest.raises(ConflictError):
        outbox.retry(store.cdb, claimed["b"]["id"], store.connection_id, now)
    replayed = outbox.retry(store.cdb, claimed["a"]["id"], store.connection_id, now + 5)
    assert (replayed["status"], replayed["attempts"], replayed["next_attempt_at"]) == ("pending", 0, now + 5)
    assert [r["id"] for r in outbox.due(store.cdb, now + 5, 10)] == [claimed["a"]["id"]]


def test_list_for_connection_is_scoped_filtered_and_newest_first(store: Store, clock: FakeClock) -> None:
    first = store.subscribe("https://example.com/1", new_secret())
    second = store.subscribe("https://example.com/2", new_secret())
    for n in range(3):
        outbox.enqueue(store.cdb, first.id, store.connection_id, [(f"a{n}", {})], clock.now())
        clock.advance(1)
    outbox.enqueue(store.cdb, second.id, store.connection_id, [("b", {})], clock.now())
    rows, total = outbox.list_for_connection(store.cdb, store.connection_id, limit=2)
    assert total == 4 and [r["record_key"] for r in rows] == ["b", "a2"]
    rows, total = outbox.list_for_connection(store.cdb, store.connection_id, limit=2, offset=2)
    assert [r["record_key"] for r in rows] == ["a1", "a0"]
    rows, total = outbox.list_for_connection(store.cdb, store.connection_id, subscription_id=first.id)
    assert total == 3
    assert outbox.list_for_connection(store.cdb, store.connection_id, status="dead") == ([], 0)
    assert outbox.list_for_connection(store.cdb, store.add_connection("tem_x")) == ([], 0)


def test_deleting_a_subscription_deletes_its_rows(store: Store, clock: FakeClock) -> None:
    sub = store.subscribe("https://example.com/hook", new_secret())
    keep = store.subscribe("https://example.com/keep", new_secret())
    outbox.enqueue(store.cdb, sub.id, store.connection_id, [("a", {})], clock.now())
    outbox.enqueue(store.cdb, keep.id, store.connection_id, [("a", {})], clock.now())
    assert store.subscriptions.delete(sub.id)
    remaining = [r["subscription_id"] for r in store.cdb.db.query("SELECT subscription_id FROM outbox")]
    assert remaining == [keep.id]


def test_claims_of_a_process_that_is_gone_are_released_at_once(store: Store, clock: FakeClock) -> None:
    from connector.leases import HOST, lease_owner

    sub = store.subscribe("https://example.com/hook", new_secret())
    outbox.enqueue(store.cdb, sub.id, store.connection_id, [("a", {}), ("b", {})], clock.now())
    dead = f"{HOST}/{2**22 + 12345}/nonce00000/abcd1234"  # a pid above the kernel's maximum: never running
    outbox.due(store.cdb, clock.now(), 1, lease_seconds=120, owner=dead)
    outbox.due(store.cdb, clock.now(), 1, lease_seconds=120, owner=lease_owner())  # this live process
    assert outbox.due(store.cdb, clock.now(), 10) == []
    assert outbox.release_abandoned(store.cdb, clock.now()) == 1
    again = outbox.due(store.cdb, clock.now(), 10)
    assert len(again) == 1  # only the dead owner's row; the live claim is kept
