"""The soak: nothing lost, nothing duplicated while faults, a flapping receiver and SIGKILLs hit the run.

By default the chaos lasts :data:`SHORT_SECONDS` (the short soak, part of every test run). ``SOAK_SECONDS``
sets a long one (``python3 tasks.py soak --minutes N``), which also runs the webhook-mode soak. Two focused
tests pin down the gaps the soak found (both fixed).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from connector.sandbox import SandboxServer
from tests.e2e.receiver import Receiver
from tests.e2e.service import Api, ConnectorProcess
from tests.e2e.upstream import Team, wait_until
from tests.soak.soak import SETTLE_SECONDS, SoakReport, run_soak

SHORT_SECONDS = 20.0
SEED = int(os.environ.get("SOAK_SEED", "20260608"))
LONG = "SOAK_SECONDS" in os.environ
CHAOS_SECONDS = float(os.environ.get("SOAK_SECONDS", SHORT_SECONDS))
SHORT_SETTLE = 45.0  # the short run fails fast instead of waiting out the long settling window


def assert_nothing_lost_or_duplicated(report: SoakReport) -> None:
    assert report.settled, "not every record arrived and was booked before the settling deadline"
    assert report.produced > 0 and report.delivered == report.produced
    assert (report.missing, report.unexpected, report.unverified) == (0, 0, 0)
    assert (report.duplicated_by_record, report.duplicated_by_webhook_id) == (0, 0)
    assert report.actions_attempted > 0
    assert (report.actions_duplicated, report.actions_missing) == (0, 0)
    assert report.actions_created == report.actions_attempted


def assert_chaos_happened(report: SoakReport) -> None:
    """The run really was hostile: kills, every fault kind, every kind of receiver flap."""
    assert report.kills >= 2
    for kind in ("500", "429", "dropped", "drop_before", "drop_after", "latency"):
        assert report.faults.get(kind, 0) > 0, f"no {kind} fault was injected"
    for kind in ("500", "stall", "down"):
        assert report.flaps.get(kind, 0) > 0, f"the receiver never flapped with {kind}"
    assert report.action_calls > report.actions_attempted, "no action call had to be retried"


@pytest.mark.slow
def test_soak_in_polling_mode_loses_and_duplicates_nothing(
    tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    report = run_soak(
        CHAOS_SECONDS,
        SEED,
        workdir=tmp_path,
        mode="polling",
        kill_during_actions=True,  # a killed process's action claim is taken over at once
        settle_seconds=SETTLE_SECONDS if LONG else SHORT_SETTLE,
    )
    print("\n" + report.table())
    for name, value in report.rows():
        record_property(name, value)
    assert_nothing_lost_or_duplicated(report)
    assert_chaos_happened(report)


@pytest.mark.slow
@pytest.mark.skipif(not LONG, reason="webhook mode soaks in the long run only (python3 tasks.py soak)")
def test_soak_in_webhook_mode_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    report = run_soak(CHAOS_SECONDS, SEED, workdir=tmp_path, mode="webhook")
    print("\n" + report.table())
    assert report.upstream_disabled == 0, "webhook mode silently fell back to the 300 s reconciliation poll"
    assert_nothing_lost_or_duplicated(report)
    assert_chaos_happened(report)


def endpoint_active(team: Team) -> bool:
    endpoints = team.store.rows("webhook_endpoints", lambda e: e["_team"] == team.team_id)
    return len(endpoints) == 1 and bool(endpoints[0]["is_active"])


def test_webhook_mode_recovers_an_endpoint_disabled_while_the_connector_was_down(
    start_connector: Callable[..., ConnectorProcess], receiver: Receiver, team: Team
) -> None:
    connector = start_connector(public=True)
    api = Api(connector.url).connect(team.token)
    receiver.secrets["created"] = api.subscribe("subscription.created", receiver.url("created"))["secret"]
    connector.kill()
    made = {e["id"] for e in team.simulate(25, kinds=["signup"]) if e["type"] == "subscription.created"}
    wait_until(lambda: not endpoint_active(team), 10, "MemberPass to disable the endpoint (20 failures)")
    connector.start()
    made |= {e["id"] for e in team.simulate(3, kinds=["signup"]) if e["type"] == "subscription.created"}
    wait_until(
        lambda: endpoint_active(team) and set(receiver.by_record("created")) >= made,
        6,
        "the endpoint re-enabled and every event delivered",
    )


def test_an_action_claim_of_a_killed_process_is_taken_over_at_once(
    start_connector: Callable[..., ConnectorProcess], team: Team, e2e_sandbox: SandboxServer
) -> None:
    connector = start_connector()
    api = Api(connector.url).connect(team.token)
    resource = team.store.rows("resources", lambda r: r["project_id"] == team.project_id)[0]["id"]
    body = {"project_id": team.project_id, "name": "Claimed plan", "price": 9, "currency": "USD",
            "billing_cycle": "months", "resources": [resource]}  # fmt: skip
    headers = {"Authorization": f"Bearer {api.key}", "Idempotency-Key": "claimed-by-the-dead"}
    slow = [{"route": "POST /v1/projects/{project_id}/plans", "latency_ms": 2000, "count": 1}]
    requests.put(e2e_sandbox.url + "/_sandbox/faults", json=slow, timeout=10)

    def call() -> None:
        with contextlib.suppress(requests.RequestException):  # the connector dies under this call
            requests.post(api.url + "/api/actions/create_plan", json=body, headers=headers, timeout=10)

    threading.Thread(target=call, daemon=True).start()
    time.sleep(0.5)  # the call is upstream, held by the latency fault
    connector.kill()
    connector.start()
    # the dead process's claim is taken over at once (not after its 120 s lease): the retry is answered
    answer = requests.post(api.url + "/api/actions/create_plan", json=body, headers=headers, timeout=5)
    assert answer.status_code in (200, 201), answer.text
    assert [p["name"] for p in team.store.rows("plans")].count("Claimed plan") == 1
