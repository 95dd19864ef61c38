"""500 simulated lifecycle changes, sandbox → connector process → receiver: each record delivered once.

Four event triggers (polled from the event feed, or pushed by MemberPass webhooks in webhook mode) and one
list-backed trigger (``new_member``, always polled) are subscribed with the default first-run policy
(``from_now``). The changes are generated in bursts while the connector runs; once the receiver's count is
stable, what it accepted is compared, subscription by subscription, with what the sandbox says happened: its
event feed (events of that type that were not there before subscribing) and its member list.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.receiver import Receiver
from tests.e2e.scenario import Run
from tests.e2e.service import Api, ConnectorProcess
from tests.e2e.upstream import LIST_TRIGGER, SUBSCRIBED_EVENTS, Team, settle, wait_until

CHANGES = 500
BURST = 50
PAUSE = 0.25  # seconds between bursts: changes keep arriving while polls and deliveries run


def run_changes(team: Team, seed: int) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for burst in range(CHANGES // BURST):
        events += team.simulate(BURST, seed=seed if burst == 0 else None)
        time.sleep(PAUSE)
    return events


def run_scenario(url: str, receiver: Receiver, team: Team, seed: int) -> Run:
    run = Run(team, receiver, SUBSCRIBED_EVENTS).subscribe(Api(url).connect(team.token))
    expected = run.expected(run_changes(team, seed))
    wait_until(lambda: run.complete(expected), 60, "every record")
    settle(lambda: len(receiver.accepted()), quiet=1.0, seconds=30)  # room for a duplicate to show up
    run.assert_each_once(expected, redeliveries=False)
    # every change of these kinds emits one of the subscribed events: all 500 reached the receiver
    assert sum(len(expected[t]) for t in SUBSCRIBED_EVENTS) >= CHANGES
    return run


@pytest.mark.slow
def test_polling_mode_delivers_each_of_500_changes_exactly_once(
    start_connector: Callable[..., ConnectorProcess], receiver: Receiver, team: Team
) -> None:
    connector = start_connector(poll_interval=0.5)
    run = run_scenario(connector.url, receiver, team, seed=601)
    assert {s["mode"] for s in run.subscriptions.values()} == {"polling"}


@pytest.mark.slow
def test_webhook_mode_delivers_each_of_500_changes_exactly_once(
    start_connector: Callable[..., ConnectorProcess], receiver: Receiver, team: Team
) -> None:
    connector = start_connector(poll_interval=0.5, public=True)
    run = run_scenario(connector.url, receiver, team, seed=602)
    assert {run.subscriptions[t]["mode"] for t in SUBSCRIBED_EVENTS} == {"webhook"}
    assert run.subscriptions[LIST_TRIGGER]["mode"] == "polling"
