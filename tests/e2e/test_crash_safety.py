"""Crash safety: the connector process is SIGKILLed at random moments (seeded) while a few hundred lifecycle
changes flow, and started again on the same database each time. Every record still arrives, and never under
two different ``webhook-id``s; a redelivery of the same ``webhook-id`` (the kill landed between the
receiver's answer and the outbox booking it) is allowed, counted, and deduped by the receiver.

Claims left by a killed process are due again once their lease runs out (``webhooks.outbox.LEASE_SECONDS``),
so the final wait allows for that.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.e2e.receiver import Receiver
from tests.e2e.scenario import Run
from tests.e2e.service import Api, ConnectorProcess
from tests.e2e.upstream import TEAM_EVENT, Team, settle, wait_until
from webhooks.outbox import LEASE_SECONDS

SEED = 20260606
KILLS = 5
BURSTS, BURST = 30, 10  # 300 changes over a few seconds
EVENTS = ["subscription.created", "subscription.renewed", "payment.failed"]


def generate(team: Team, events: list[dict[str, Any]], done: threading.Event) -> None:
    try:
        for burst in range(BURSTS):
            events += team.simulate(BURST, seed=SEED if burst == 0 else None)
            time.sleep(0.25)
    finally:
        done.set()


def kill_and_restart(connector: ConnectorProcess, rng: random.Random, kills: int) -> list[float]:
    """SIGKILL the running connector ``kills`` times after random delays; returns the kill times."""
    moments = []
    for _ in range(kills):
        time.sleep(rng.uniform(0.2, 1.5))
        connector.kill()
        moments.append(time.monotonic())
        time.sleep(rng.uniform(0.0, 0.5))
        connector.start()
    return moments


@pytest.mark.slow
def test_sigkill_at_random_moments_loses_nothing_and_never_changes_a_webhook_id(
    start_connector: Callable[..., ConnectorProcess],
    receiver: Receiver,
    team: Team,
    record_property: Callable[[str, object], None],
) -> None:
    rng = random.Random(SEED)
    connector = start_connector(poll_interval=0.5)
    run = Run(team, receiver, EVENTS).subscribe(Api(connector.url).connect(team.token))
    events: list[dict[str, Any]] = []
    done = threading.Event()
    generator = threading.Thread(target=generate, args=(team, events, done), daemon=True)
    generator.start()
    kills = kill_and_restart(connector, rng, KILLS)
    generator.join(60)
    assert done.is_set() and connector.kills == KILLS
    expected = run.expected(events)

    assert run.api is not None
    api = run.api

    def settled() -> bool:
        """Every record at the receiver, and every outbox row booked as delivered (a row whose record
        arrived just before a kill is sent again, under its webhook-id, once its claim runs out)."""
        return run.complete(expected) and {d["status"] for d in api.deliveries()} == {"delivered"}

    deadline = kills[-1] + LEASE_SECONDS + 30 - time.monotonic()
    wait_until(settled, deadline, "every record delivered and booked", step=0.5)
    settle(lambda: len(receiver.accepted()), quiet=1.5, seconds=30)
    run.assert_each_once(expected, redeliveries=True)
    record_property("records", sum(len(w) for w in expected.values()))
    record_property("redeliveries_of_one_webhook_id", receiver.redeliveries())
    record_property("requests_cut_short", receiver.truncated)


def test_rows_in_flight_when_the_process_dies_are_sent_again_soon_after_the_restart(
    start_connector: Callable[..., ConnectorProcess], receiver: Receiver, team: Team
) -> None:
    connector = start_connector(poll_interval=0.5)
    api = Api(connector.url).connect(team.token)
    receiver.secrets["slow"] = api.subscribe(TEAM_EVENT, receiver.url("slow"))["secret"]
    receiver.delay = 5.0  # the receiver takes its time answering: the rows are claimed and in flight
    made = set(team.emit(3))
    wait_until(lambda: {a.record_id for a in receiver.arrivals("slow")} == made, 10, "three rows in flight")
    connector.kill()
    receiver.delay = 0.0
    connector.start()
    wait_until(
        lambda: {d["status"] for d in api.deliveries()} == {"delivered"}, 6, "the rows sent again and booked"
    )
    assert receiver.redeliveries("slow") == 3  # the same webhook-ids: the receiver had them already
