"""The idempotency store on its own: claims, replays, refusals, waits, crash take-over, expiry."""

from __future__ import annotations

import os

import pytest

from actions.idempotency import Claim, IdempotencyStore, Stored, fingerprint, scoped_key
from connector.clock import FakeClock
from connector.crypto import KeyRing
from connector.errors import IdempotencyInProgressError, IdempotencyKeyReusedError
from connector.leases import HOST
from connector.storage.db import ConnectorDB
from tests.connections.support import new_keys

FP = fingerprint("create_plan", {"name": "Gold", "price": 29})


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(clock: FakeClock) -> IdempotencyStore:
    from connector.storage.idempotency_migrations import idempotency_migrations

    cdb = ConnectorDB(":memory:")
    cdb.migrate(idempotency_migrations)
    return IdempotencyStore(cdb, KeyRing(new_keys()), clock, window=3600, lease=60, wait=2, poll=0.5)


def claim(store: IdempotencyStore, key: str = "k:abc", fp: str = FP) -> Claim:
    outcome = store.begin("con_1", key, "create_plan", fp)
    assert isinstance(outcome, Claim)
    return outcome


def test_keys_are_scoped_and_canonical() -> None:
    assert scoped_key("create_plan", {"a": 1, "b": 2}, None) == scoped_key(
        "create_plan", {"b": 2, "a": 1}, None
    )
    assert scoped_key("create_plan", {"a": 1}, None) != scoped_key("update_plan", {"a": 1}, None)
    assert scoped_key("create_plan", {"a": 1}, "mine") == "k:mine"


def test_a_completed_call_is_replayed(store: IdempotencyStore) -> None:
    first = claim(store)
    store.complete(first, 201, {"id": "pln_1", "secret": "s3cr3t"})
    assert store.begin("con_1", "k:abc", "create_plan", FP) == Stored(
        201, {"id": "pln_1", "secret": "s3cr3t"}
    )
    stored = next(iter(store.cdb.db.query("SELECT body FROM action_idempotency")))["body"]
    assert b"s3cr3t" not in stored  # answers are encrypted at rest


def test_keys_are_per_connection(store: IdempotencyStore) -> None:
    claim(store)
    assert isinstance(store.begin("con_2", "k:abc", "create_plan", FP), Claim)


def test_the_same_key_for_another_call_is_refused(store: IdempotencyStore) -> None:
    claim(store)
    with pytest.raises(IdempotencyKeyReusedError):
        store.begin("con_1", "k:abc", "create_plan", fingerprint("create_plan", {"name": "Other"}))


def test_a_running_call_makes_the_next_wait_then_409(store: IdempotencyStore, clock: FakeClock) -> None:
    claim(store)
    with pytest.raises(IdempotencyInProgressError) as raised:
        store.begin("con_1", "k:abc", "create_plan", FP)
    assert raised.value.retry_after == 1.0
    assert clock.sleeps == [0.5] * 4  # polled for `wait` seconds


def test_a_crashed_holder_is_taken_over_with_the_same_upstream_key(
    store: IdempotencyStore, clock: FakeClock
) -> None:
    first = claim(store)
    clock.advance(61)  # the lease ran out: the first holder died
    second = claim(store)
    assert second.upstream_key == first.upstream_key


def test_a_claim_of_a_killed_process_is_taken_over_at_once_and_a_live_ones_is_not(
    store: IdempotencyStore,
) -> None:
    first = claim(store)
    live = store.cdb.db.execute("SELECT lease_owner FROM action_idempotency").fetchone()[0]
    assert live.startswith(f"{HOST}/{os.getpid()}/")
    with pytest.raises(IdempotencyInProgressError):  # this process is alive: its claim is respected
        store.begin("con_1", "k:abc", "create_plan", FP)
    dead = f"{HOST}/{os.getpid()}/an-earlier-process/abcd1234"  # same pid, another process's nonce
    store.cdb.db.execute("UPDATE action_idempotency SET lease_owner = ?", [dead])
    second = claim(store)  # well inside the 60 s lease
    assert second.upstream_key == first.upstream_key


def test_after_a_retryable_failure_the_retry_keeps_the_upstream_key(store: IdempotencyStore) -> None:
    first = claim(store)
    store.release(first, retryable=True)
    assert claim(store).upstream_key == first.upstream_key


def test_after_a_refusal_the_retry_starts_afresh(store: IdempotencyStore, clock: FakeClock) -> None:
    first = claim(store)
    store.release(first, retryable=False)
    clock.advance(1)
    assert claim(store).upstream_key != first.upstream_key


def test_records_expire_after_the_window(store: IdempotencyStore, clock: FakeClock) -> None:
    first = claim(store)
    store.complete(first, 201, {"id": "pln_1"})
    clock.advance(3599)
    assert isinstance(store.begin("con_1", "k:abc", "create_plan", FP), Stored)
    clock.advance(2)
    fresh = store.begin("con_1", "k:abc", "create_plan", fingerprint("create_plan", {"other": 1}))
    assert isinstance(fresh, Claim) and fresh.upstream_key != first.upstream_key


def test_an_answer_that_can_no_longer_be_read_runs_again_with_its_key(clock: FakeClock) -> None:
    from connector.storage.idempotency_migrations import idempotency_migrations

    cdb = ConnectorDB(":memory:")
    cdb.migrate(idempotency_migrations)
    old = IdempotencyStore(cdb, KeyRing(new_keys()), clock)
    first = claim(old)
    old.complete(first, 201, {"id": "pln_1"})
    rotated = IdempotencyStore(cdb, KeyRing(new_keys()), clock)  # the old key left the ring
    assert claim(rotated).upstream_key == first.upstream_key
