"""A receiver that is down (connection refused), then answers 500, then 410: the connector retries on its
schedule with a stable ``webhook-id``, removes the subscription on 410, marks exhausted rows dead, and replays
dead rows through ``POST /api/deliveries/<id>/retry`` once the receiver is back.

The connector runs in this process (served over real HTTP, with its scheduler and delivery worker running)
on a clock the test moves forward through the retry schedule (10 s … 24 h); the receiver judges signature
timestamps against that same clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connector.sandbox import SandboxServer
from tests.e2e.inprocess import Served, served_connector
from tests.e2e.receiver import Receiver
from tests.e2e.service import Api
from tests.e2e.upstream import Team, wait_until
from webhooks.schedule import MAX_ATTEMPTS, RETRY_DELAYS

TRIGGER = "subscription.created"
JITTER = 1.2  # the schedule's waits are stretched by up to 20 %


@pytest.fixture
def served(e2e_sandbox: SandboxServer, tmp_path: Path) -> Iterator[Served]:
    with served_connector(e2e_sandbox.base_url, tmp_path) as running:
        yield running


@pytest.fixture
def shifted_receiver(served: Served) -> Iterator[Receiver]:
    running = Receiver(now=served.clock.now).up()
    try:
        yield running
    finally:
        running.down()


def subscribe(api: Api, receiver: Receiver, name: str) -> str:
    created = api.subscribe(TRIGGER, receiver.url(name))
    receiver.secrets[name] = created["secret"]
    subscription_id: str = created["id"]
    return subscription_id


def signups(team: Team, count: int) -> set[str]:
    events = team.simulate(count, kinds=["signup"])
    return {e["id"] for e in events if e["type"] == TRIGGER}


def rows(api: Api, subscription_id: str) -> list[dict[str, Any]]:
    return api.deliveries(subscription_id=subscription_id)


def wait_attempts(
    api: Api, subscription_id: str, attempts: int, status: str = "failed", seconds: float = 10
) -> list[dict[str, Any]]:
    def reached() -> bool:
        found = rows(api, subscription_id)
        return bool(found) and all(r["attempts"] == attempts and r["status"] == status for r in found)

    wait_until(reached, seconds, f"attempt {attempts} of {subscription_id} ({status})", step=0.1)
    return rows(api, subscription_id)


def next_attempt(served: Served, attempt: int) -> None:
    """Move the connector's clock past the wait that follows attempt number ``attempt``."""
    served.clock.advance(RETRY_DELAYS[attempt - 1] * JITTER + 1)


@pytest.mark.slow
def test_down_then_500_then_410_retries_removes_and_dead_rows_replay(
    served: Served, shifted_receiver: Receiver, team: Team
) -> None:
    receiver = shifted_receiver
    api = served.api().connect(team.token)
    gone, patient = subscribe(api, receiver, "gone"), subscribe(api, receiver, "patient")
    receiver.down()
    made = signups(team, 2)
    for subscription_id in (gone, patient):
        refused = wait_attempts(api, subscription_id, 1)
        assert {r["payload"]["id"] for r in refused} == made
        assert all(r["last_status"] is None and "connection failed" in r["last_error"] for r in refused)
    next_attempt(served, 1)
    wait_attempts(api, patient, 2)
    receiver.up()
    receiver.respond = lambda name, before: 500
    next_attempt(served, 2)
    assert {r["last_status"] for r in wait_attempts(api, patient, 3)} == {500}
    receiver.respond = lambda name, before: 410 if name == "gone" else 500
    next_attempt(served, 3)
    wait_attempts(api, patient, 4)
    wait_until(lambda: api.call("GET", f"/api/subscriptions/{gone}").status_code == 404, 10, "removal")
    assert rows(api, gone) == []
    assert 410 in {a.status for a in receiver.arrivals("gone")}
    for attempt in range(4, MAX_ATTEMPTS):
        next_attempt(served, attempt)
        wait_attempts(api, patient, attempt + 1, "failed" if attempt + 1 < MAX_ATTEMPTS else "dead")
    dead = rows(api, patient)
    assert {r["last_status"] for r in dead} == {500} and len(dead) == 2
    assert len(receiver.arrivals("gone")) <= 4, "the removed subscription was still delivered"
    held_ids = {a.webhook_id for a in receiver.arrivals("patient")}
    assert held_ids == {r["id"] for r in dead}, "every attempt of a row carries the row's webhook-id"

    receiver.respond = lambda name, before: 200
    for row in dead:
        replay = api.call("POST", f"/api/deliveries/{row['id']}/retry")
        assert replay.status_code == 200, replay.text
        assert replay.json()["data"]["status"] == "pending" and replay.json()["data"]["attempts"] == 0
    wait_attempts(api, patient, 1, "delivered")
    assert set(receiver.by_record("patient")) == made
    assert set(receiver.by_webhook_id("patient")) == held_ids
    assert receiver.unverified() == []
    again = api.call("POST", f"/api/deliveries/{dead[0]['id']}/retry")
    assert again.status_code == 409
    subscription = api.call("GET", f"/api/subscriptions/{patient}").json()["data"]
    assert subscription["status"] == "active"


def test_dead_rows_of_a_subscription_disabled_after_a_day_of_failures_can_be_replayed(
    served: Served, shifted_receiver: Receiver, team: Team
) -> None:
    receiver = shifted_receiver
    api = served.api().connect(team.token)
    doomed = subscribe(api, receiver, "doomed")
    receiver.respond = lambda name, before: 500
    signups(team, 3)  # three rows: their attempts pass the 20-failure, 24-hour disable rule
    wait_attempts(api, doomed, 1)

    def status() -> str:
        found: str = api.call("GET", f"/api/subscriptions/{doomed}").json()["data"]["status"]
        return found

    for attempt in range(1, MAX_ATTEMPTS):
        next_attempt(served, attempt)
        wait_until(
            lambda n=attempt + 1: (
                status() == "disabled" or all(r["attempts"] == n for r in rows(api, doomed))
            ),
            10,
            f"attempt {attempt + 1} or the subscription disabled",
        )
        if status() == "disabled":
            break
    disabled = api.call("GET", f"/api/subscriptions/{doomed}").json()["data"]
    assert disabled["status"] == "disabled" and "re-enable" in disabled["status_reason"]
    receiver.respond = lambda name, before: 200
    waiting = rows(api, doomed)
    refused = [api.call("POST", f"/api/deliveries/{r['id']}/retry") for r in waiting]
    assert {r.status_code for r in refused} == {409}, (
        "a replay of a disabled subscription would wait for ever"
    )
    assert f"/api/subscriptions/{doomed}/enable" in refused[0].json()["error"]["remediation"]
    enabled = api.call("POST", f"/api/subscriptions/{doomed}/enable")
    assert enabled.status_code == 200, enabled.text
    assert enabled.json()["data"]["status"] == "active" and enabled.json()["data"]["status_reason"] is None
    for row in rows(api, doomed):
        if row["status"] == "dead":
            assert api.call("POST", f"/api/deliveries/{row['id']}/retry").status_code == 200
    wait_until(  # sent at once: enabling and replaying wake the worker, whatever a row's retry time was
        lambda: all(r["status"] == "delivered" for r in rows(api, doomed)), 3, "every row delivered", step=0.1
    )
    assert set(receiver.by_webhook_id("doomed")) == {r["id"] for r in waiting}
    assert receiver.unverified() == []
