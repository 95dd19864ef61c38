"""The polling failure modes of workflow platforms, through the running service (scheduler timing, real
HTTP both ways) rather than the engine driven poll by poll (tests/triggers/test_engine_delivery.py does
that): identical timestamps across page and poll boundaries, records deleted while polls run, a 5,000-record
burst, and a subscription deleted and made again. Each time: no record lost, none delivered twice, and
nothing older than the first-run policy allows.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

import pytest

from tests.e2e.receiver import Receiver
from tests.e2e.service import Api, ConnectorProcess
from tests.e2e.upstream import TEAM_EVENT, Team, settle, wait_until


def connected(start_connector: Callable[..., ConnectorProcess], team: Team) -> Api:
    return Api(start_connector(poll_interval=0.5).url).connect(team.token)


def subscribe(api: Api, receiver: Receiver, name: str, trigger: str = TEAM_EVENT, **body: object) -> str:
    created = api.subscribe(trigger, receiver.url(name), **body)
    receiver.secrets[name] = created["secret"]
    subscription_id: str = created["id"]
    return subscription_id


def received_once(receiver: Receiver, name: str) -> set[str]:
    """The endpoint's record ids, after checking none arrived twice or under two webhook-ids."""
    by_record = receiver.by_record(name)
    assert all(len(ids) == 1 for ids in by_record.values()), f"{name}: a record under two webhook-ids"
    assert len(receiver.accepted(name)) == len(by_record), f"{name}: a record delivered twice"
    return set(by_record)


def wait_for_records(receiver: Receiver, name: str, wanted: set[str], seconds: float = 30) -> None:
    wait_until(lambda: set(receiver.by_record(name)) >= wanted, seconds, f"{len(wanted)} records at {name}")
    settle(lambda: len(receiver.accepted()), quiet=1.0, seconds=seconds)


def test_identical_timestamps_across_pages_and_polls_arrive_once(
    start_connector: Callable[..., ConnectorProcess], receiver: Receiver, team: Team
) -> None:
    api = connected(start_connector, team)
    subscribe(api, receiver, "events")
    subscribe(api, receiver, "members", "new_member", inputs={"project_id": team.project_id})
    moment, at = team.store.iso_now(), team.store.clock.now()
    events, members = team.emit(130, same_time=moment), team.add_members(130, at)
    time.sleep(1.2)  # polls run and their cursors stop inside this very second
    events += team.emit(140, same_time=moment)
    members += team.add_members(120, at)
    time.sleep(0.7)
    events += team.emit(30, same_time=moment)
    wait_for_records(receiver, "events", set(events))
    wait_for_records(receiver, "members", set(members))
    assert received_once(receiver, "events") == set(events)
    assert received_once(receiver, "members") == set(members)
    assert receiver.unverified() == []


def test_records_deleted_while_polls_run_are_neither_lost_nor_repeated(
    start_connector: Callable[..., ConnectorProcess], receiver: Receiver, team: Team
) -> None:
    rng = random.Random(66)
    api = connected(start_connector, team)
    old = set(team.plan_ids())
    subscribe(api, receiver, "plans", "new_plan", inputs={"project_id": team.project_id})
    created: list[str] = []
    deleted: set[str] = set()
    for _ in range(25):  # ~2.5 s of churn: pages shift under the polls
        created += team.add_plans(12)
        doomed = rng.sample(sorted((set(created) | old) - deleted), 4)
        team.delete_plans(doomed)
        deleted |= set(doomed)
        time.sleep(0.1)
    survivors = set(created) - deleted
    wait_for_records(receiver, "plans", survivors)
    got = received_once(receiver, "plans")
    assert survivors <= got
    assert got <= set(created), "a plan from before the subscription was delivered (first run ignored)"
    assert len(created) > 250 and len(deleted & set(created)) > 50


@pytest.mark.slow
def test_a_5000_record_burst_drains_once_and_later_subscribers_are_not_flooded(
    start_connector: Callable[..., ConnectorProcess], receiver: Receiver, team: Team
) -> None:
    api = connected(start_connector, team)
    subscribe(api, receiver, "backlog")
    burst = team.emit(5000)
    subscribe(api, receiver, "late")  # from_now: none of the burst
    subscribe(api, receiver, "last10", first_run="last_n", n=10)
    after = team.emit(3)
    wait_for_records(receiver, "backlog", set(burst + after), seconds=90)
    wait_for_records(receiver, "late", set(after))
    assert received_once(receiver, "backlog") == set(burst + after)
    assert received_once(receiver, "late") == set(after)
    assert received_once(receiver, "last10") == set(burst[-10:] + after)
    assert receiver.unverified() == []


def test_a_subscription_made_again_after_deletion_starts_from_its_first_run_policy(
    start_connector: Callable[..., ConnectorProcess], receiver: Receiver, team: Team
) -> None:
    api = connected(start_connector, team)
    first = subscribe(api, receiver, "first")
    delivered = team.emit(5)
    wait_for_records(receiver, "first", set(delivered))
    receiver.respond = lambda name, before: 503 if name == "first" else 200
    waiting = team.emit(3)  # queued for the first subscription, failing at its receiver
    wait_until(lambda: len(api.deliveries(subscription_id=first, status="failed")) == 3, 10, "failed rows")
    assert api.call("DELETE", f"/api/subscriptions/{first}").status_code == 204
    assert api.deliveries(subscription_id=first) == []
    receiver.respond = lambda name, before: 200
    missed = team.emit(7)  # made while nobody is subscribed
    subscribe(api, receiver, "second")
    fresh = team.emit(4)
    wait_for_records(receiver, "second", set(fresh))
    assert received_once(receiver, "first") == set(delivered)
    assert received_once(receiver, "second") == set(fresh)
    assert not {a.record_id for a in receiver.arrivals()} & set(missed)
    assert [a for a in receiver.arrivals("first") if a.record_id in waiting and a.status == 200] == []
