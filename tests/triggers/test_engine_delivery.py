"""Subscriptions polled through the engine against the sandbox: first-run policies, identical timestamps,
deletions between polls, re-created subscriptions and a 5,000-record backlog. The outbox is read directly:
each record must be queued exactly once, with the polling endpoint's item as its payload."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from connector.sandbox import SandboxServer
from tests.triggers.connected import EVENT, Env, connected
from webhooks.outbox import delivery_id


@pytest.fixture
def env(sandbox_server: SandboxServer, tmp_path: Path) -> Iterator[Env]:
    with connected(sandbox_server, tmp_path / "c.db") as made:
        yield made


def test_from_now_emits_nothing_old_then_each_new_record_once(env: Env) -> None:
    before = env.emit(5)
    subscription_id = env.subscribed(EVENT)
    assert env.outbox(subscription_id) == []
    after = env.emit(4)
    env.drain(subscription_id)
    assert env.outbox_keys(subscription_id) == after
    assert not set(before) & set(env.outbox_keys(subscription_id))
    env.poll(subscription_id)
    assert env.outbox_keys(subscription_id) == after


def test_last_n_emits_the_n_newest_oldest_first_in_the_first_poll(env: Env) -> None:
    old = env.emit(10)
    subscription_id = env.subscribed(EVENT, first_run="last_n", n=3)
    assert env.outbox_keys(subscription_id) == old[-3:]
    new = env.emit(2)
    env.drain(subscription_id)
    assert env.outbox_keys(subscription_id) == old[-3:] + new


def test_since_emits_every_record_from_that_time(env: Env) -> None:
    store = env.store
    env.emit(3)
    store.clock.advance(120)
    since = store.iso_now()
    wanted = env.emit(6)
    subscription_id = env.subscribed(EVENT, first_run="since", since=since)
    env.drain(subscription_id)
    assert env.outbox_keys(subscription_id) == wanted


def test_the_payload_is_the_polling_endpoint_item_under_a_stable_webhook_id(env: Env) -> None:
    subscription_id = env.subscribed(EVENT)
    made = env.emit(2)
    env.poll(subscription_id)
    rows = env.outbox(subscription_id)
    listed = env.client.get(f"/api/triggers/{EVENT}", headers=env.headers).json
    by_id = {item["id"]: item for item in listed}
    for row, event_id in zip(rows, made, strict=True):
        payload = json.loads(row["payload"])
        assert row["id"] == delivery_id(subscription_id, event_id) and row["status"] == "pending"
        expected = {k: v for k, v in by_id[event_id].items() if k != "request_id"}
        assert {k: v for k, v in payload.items() if k != "request_id"} == expected
        assert payload["request_id"].startswith("req_")


def test_records_with_identical_timestamps_across_pages_and_polls_arrive_once(env: Env) -> None:
    subscription_id = env.subscribed(EVENT)
    moment = env.store.iso_now()
    first = env.emit(23, same_time=moment)
    env.drain(subscription_id, page_size=5)
    second = env.emit(17, same_time=moment)  # the same granule as the cursor
    env.drain(subscription_id, page_size=5)
    keys = env.outbox_keys(subscription_id)
    assert keys == first + second
    assert len(set(keys)) == 40


def test_deletions_between_polls_neither_lose_nor_repeat_records(env: Env) -> None:
    old_plans = [
        item["id"] for item in env.upstream("GET", f"/projects/{env.project_id}/plans").json()["data"]
    ]
    subscription_id = env.subscribed("new_plan", inputs={"project_id": env.project_id})
    wave_a = [env.create_plan(f"Plan A{i}") for i in range(8)]
    env.drain(subscription_id, page_size=3)
    env.delete_plan(wave_a[1])
    env.delete_plan(wave_a[4])
    env.delete_plan(old_plans[0])
    wave_b = [env.create_plan(f"Plan B{i}") for i in range(6)]
    env.drain(subscription_id, page_size=3)
    for plan_id in wave_b[:3]:
        env.delete_plan(plan_id)
    wave_c = [env.create_plan(f"Plan C{i}") for i in range(3)]
    env.drain(subscription_id, page_size=3)
    keys = env.outbox_keys(subscription_id)
    assert sorted(keys) == sorted(wave_a + wave_b + wave_c)
    assert len(keys) == len(set(keys))
    assert not set(keys) & set(old_plans)


def test_a_recreated_subscription_starts_from_its_first_run_policy(env: Env) -> None:
    first = env.subscribed(EVENT)
    delivered = env.emit(5)
    env.drain(first)
    assert env.outbox_keys(first) == delivered
    assert env.client.delete(f"/api/subscriptions/{first}", headers=env.headers).status_code == 204
    missed = env.emit(7)  # created while unsubscribed: from_now skips them, visibly
    second = env.subscribed(EVENT)
    assert env.outbox(second) == []
    fresh = env.emit(2)
    env.drain(second)
    assert env.outbox_keys(second) == fresh
    assert not set(missed) & set(env.outbox_keys(second))
    third = env.subscribed(EVENT, first_run="last_n", n=4)
    assert env.outbox_keys(third) == (delivered + missed + fresh)[-4:]


def test_a_backlog_of_5000_drains_across_budgeted_polls_without_loss_or_duplicate(
    sandbox_server: SandboxServer, tmp_path: Path
) -> None:
    with connected(sandbox_server, tmp_path / "backlog.db") as env:
        subscription_id = env.subscribed(EVENT)
        made: list[str] = []
        for _ in range(50):  # 100 per sandbox second: 50 granules of identical timestamps
            made += env.emit(100)
            env.store.clock.advance(1)
        outcomes = env.drain(subscription_id, max_pages=4, page_size=100)
        keys = env.outbox_keys(subscription_id)
    assert len(keys) == 5000 and len(set(keys)) == 5000
    assert set(keys) == set(made)
    assert keys == made  # handed over oldest first
    decisions = [o.decision for o in outcomes if o.decision]
    assert sum(1 for d in decisions if d["budget_exhausted"]) >= 5  # really spread over budgeted polls
    assert max(d["pages"] for d in decisions) <= 4
