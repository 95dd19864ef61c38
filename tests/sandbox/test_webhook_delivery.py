"""Signed webhook delivery to a real local receiver (webhooks.md §1-§7, C15, C16).

Signatures are checked with the independent HMAC in `webhook_receiver`. Retry timing runs on a frozen
sandbox clock (`clock_speed=0`) moved with `POST /_sandbox/clock`, so the `t` of every attempt is exact.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any, TypeVar

import pytest
import requests

from connector.sandbox import SandboxServer, SandboxSettings
from connector.sandbox.settings import DOCUMENTED_RETRY_SCHEDULE
from connector.sandbox.timeutil import iso
from tests.helpers import Tenant, make_tenant
from tests.sandbox.webhook_support import Answer, Receiver, add_project, signed_with

FROZEN = SandboxSettings(clock_speed=0.0)
T = TypeVar("T")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as rx:
        yield rx


def advance(server: SandboxServer, seconds: float) -> None:
    response = requests.post(server.url + "/_sandbox/clock", json={"advance_seconds": seconds}, timeout=5)
    assert response.status_code == 200


def subscribe(tenant: Tenant, url: str, events: list[str], **fields: Any) -> tuple[str, str]:
    response = tenant.post("/webhook-endpoints", {"name": "Hook", "url": url, "events": events, **fields})
    assert response.status_code == 201, response.text
    return response.json()["data"]["id"], response.json()["secret"]


def emit(tenant: Tenant, event_type: str, project_id: str | None = None) -> dict[str, Any]:
    return tenant.server.sandbox.store.emit(tenant.team["id"], project_id, event_type, {"n": 1})


def deliveries(tenant: Tenant, **params: str) -> list[dict[str, Any]]:
    response = tenant.get("/webhook-deliveries", params=params)
    assert response.status_code == 200, response.text
    return list(response.json()["data"])


def wait_for(read: Callable[[], T], check: Callable[[T], bool]) -> T:
    """Poll `read` until `check` holds (the dispatcher books outcomes on its own threads)."""
    deadline = time.monotonic() + 5
    while True:
        value = read()
        if check(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition never held; last value: {value}")
        time.sleep(0.01)


def has_attempts(count: int, delivery: dict[str, Any]) -> bool:
    return bool(delivery["attempts"] == count)


def delivery_reader(tenant: Tenant, delivery_id: str) -> Callable[[], dict[str, Any]]:
    return lambda: tenant.get(f"/webhook-deliveries/{delivery_id}").json()["data"]


def endpoint_reader(tenant: Tenant, endpoint_id: str) -> Callable[[], dict[str, Any]]:
    return lambda: tenant.get(f"/webhook-endpoints/{endpoint_id}").json()["data"]


def settle(server: SandboxServer) -> None:
    """Run whatever is due now and give a would-be attempt time to arrive (used before asserting none did)."""
    server.sandbox.scheduler.run_due()
    time.sleep(0.15)


def test_delivery_is_signed_over_the_exact_body_with_the_documented_headers(
    fresh_sandbox: SandboxServer, receiver: Receiver
) -> None:
    tenant = make_tenant(fresh_sandbox)
    _, secret = subscribe(tenant, receiver.url(), ["team.member.joined"])
    event = emit(tenant, "team.member.joined")
    (got,) = receiver.wait_for(1)

    body = json.loads(got.body)
    assert body == tenant.get("/webhook-events").json()["data"][0]
    assert body["id"] == event["id"] and body["id"].startswith("evt_")
    assert got.headers["content-type"] == "application/json"
    assert got.headers["user-agent"] == "MemberPass-Webhooks/1.0"
    assert got.headers["mp-event-id"] == body["id"]
    assert got.headers["mp-event-name"] == body["type"] == "team.member.joined"
    assert set(got.signature) == {"t", "v1"}
    assert signed_with(got, secret)
    assert not signed_with(got, secret + "x")
    assert abs(got.t - fresh_sandbox.sandbox.clock.now()) < 5

    (listed,) = wait_for(lambda: deliveries(tenant), lambda d: d[0]["status"] == "delivered")
    assert listed["id"].startswith("whd_")
    assert {
        k: listed[k] for k in ("event_id", "event_type", "attempts", "http_status", "response_excerpt")
    } == {
        "event_id": event["id"],
        "event_type": "team.member.joined",
        "attempts": 1,
        "http_status": 200,
        "response_excerpt": "ok",
    }
    assert listed["delivered_at"] is not None and listed["next_attempt_at"] is None


def test_fan_out_follows_subscription_activity_project_and_team(
    fresh_sandbox: SandboxServer, receiver: Receiver
) -> None:
    tenant, stranger = make_tenant(fresh_sandbox), make_tenant(fresh_sandbox)
    alpha, beta = add_project(tenant), add_project(tenant)
    events = ["member.joined", "team.created"]
    team_wide, _ = subscribe(tenant, receiver.url("/all"), events)
    only_alpha, _ = subscribe(tenant, receiver.url("/alpha"), events, project_id=alpha)
    only_beta, _ = subscribe(tenant, receiver.url("/beta"), events, project_id=beta)
    subscribe(tenant, receiver.url("/off"), events, is_active=False)
    subscribe(tenant, receiver.url("/other"), ["member.banned"])
    subscribe(stranger, receiver.url("/stranger"), events)

    in_alpha, in_beta = emit(tenant, "member.joined", alpha), emit(tenant, "member.joined", beta)
    team_level = emit(tenant, "team.created")
    pairs = {(d["endpoint_id"], d["event_id"]) for d in deliveries(tenant)}
    assert pairs == {
        (team_wide, in_alpha["id"]),
        (team_wide, in_beta["id"]),
        (team_wide, team_level["id"]),
        (only_alpha, in_alpha["id"]),
        (only_beta, in_beta["id"]),
    }
    receiver.wait_for(3, "/all")
    receiver.wait_for(1, "/alpha")
    receiver.wait_for(1, "/beta")
    settle(fresh_sandbox)
    assert {r.path for r in receiver.received} == {"/all", "/alpha", "/beta"}
    assert receiver.count() == 5


@pytest.mark.parametrize("fresh_sandbox", [FROZEN], indirect=True)
def test_retry_curve_dead_letter_and_manual_retry(fresh_sandbox: SandboxServer, receiver: Receiver) -> None:
    receiver.default = Answer(500, b"boom")
    tenant = make_tenant(fresh_sandbox)
    endpoint_id, secret = subscribe(tenant, receiver.url(), ["subscription.renewed"])
    event = emit(tenant, "subscription.renewed")
    (delivery,) = deliveries(tenant)
    read = delivery_reader(tenant, delivery["id"])
    first = receiver.wait_for(1)[0]

    elapsed = 0
    for attempt, wait in enumerate(DOCUMENTED_RETRY_SCHEDULE, start=1):
        state = wait_for(read, partial(has_attempts, attempt))
        assert (state["status"], state["http_status"], state["response_excerpt"]) == ("failed", 500, "boom")
        elapsed += int(wait)
        assert state["next_attempt_at"] == iso(first.t + elapsed)
        if attempt == 1:  # not a second early
            advance(fresh_sandbox, wait - 1)
            settle(fresh_sandbox)
            assert receiver.count() == 1
            advance(fresh_sandbox, 1)
        else:
            advance(fresh_sandbox, wait)
        receiver.wait_for(attempt + 1)

    dead = wait_for(read, partial(has_attempts, 8))
    assert (dead["status"], dead["next_attempt_at"]) == ("dead", None)
    attempts = receiver.received
    assert [r.t - first.t for r in attempts] == [0, 10, 40, 160, 760, 4360, 25960, 112360]
    assert {r.body for r in attempts} == {first.body}  # the same event, byte for byte (C15)
    assert {r.headers["mp-event-id"] for r in attempts} == {event["id"]}
    assert all(signed_with(r, secret) for r in attempts)
    advance(fresh_sandbox, 7 * 86_400)
    settle(fresh_sandbox)
    assert receiver.count() == 8  # dead letters get no automatic retry

    receiver.default = Answer(200)
    retried = tenant.post(f"/webhook-deliveries/{delivery['id']}/retry")
    assert retried.status_code == 200
    assert (retried.json()["data"]["status"], retried.json()["data"]["attempts"]) == ("pending", 0)
    replay = receiver.wait_for(9)[8]
    assert replay.headers["mp-event-id"] == event["id"] and signed_with(replay, secret)
    done = wait_for(read, lambda d: d["status"] == "delivered")
    assert (done["attempts"], done["http_status"]) == (1, 200)
    assert endpoint_reader(tenant, endpoint_id)()["consecutive_failures"] == 0


@pytest.mark.parametrize(
    "fresh_sandbox", [SandboxSettings(clock_speed=50.0, retry_schedule=(5.0, 10.0, 20.0))], indirect=True
)
def test_a_sped_up_clock_runs_a_shortened_curve_on_its_own(
    fresh_sandbox: SandboxServer, receiver: Receiver
) -> None:
    receiver.default = Answer(503)
    tenant = make_tenant(fresh_sandbox)
    subscribe(tenant, receiver.url(), ["plan.created"])
    emit(tenant, "plan.created")
    attempts = receiver.wait_for(4)
    gaps = [(b.at - a.at) * 50 for a, b in itertools.pairwise(attempts)]
    assert all(gap >= wait - 1 for gap, wait in zip(gaps, (5.0, 10.0, 20.0), strict=True)), gaps
    (dead,) = wait_for(lambda: deliveries(tenant), lambda d: d[0]["status"] == "dead")
    assert dead["attempts"] == 4


@pytest.mark.parametrize(
    "fresh_sandbox", [SandboxSettings(clock_speed=0.0, auto_disable_after=3)], indirect=True
)
def test_consecutive_failures_disable_the_endpoint_and_a_success_resets_the_run(
    fresh_sandbox: SandboxServer, receiver: Receiver
) -> None:
    tenant = make_tenant(fresh_sandbox)
    endpoint_id, _ = subscribe(tenant, receiver.url(), ["member.kicked"])
    read_endpoint = endpoint_reader(tenant, endpoint_id)
    for n, status in enumerate([500, 500, 200, 500, 500], start=1):
        receiver.default = Answer(status)
        emit(tenant, "member.kicked")
        receiver.wait_for(n)
    assert wait_for(read_endpoint, lambda e: e["consecutive_failures"] == 2)["is_active"] is True

    receiver.default = Answer(500)
    emit(tenant, "member.kicked")
    disabled = wait_for(read_endpoint, lambda e: e["is_active"] is False)
    assert disabled["consecutive_failures"] == 3
    assert disabled["disabled_at"] == iso(fresh_sandbox.sandbox.clock.now())

    emit(tenant, "member.kicked")  # no delivery for an inactive endpoint
    assert len(deliveries(tenant)) == 6
    advance(fresh_sandbox, 60)  # the failed ones are due, but the endpoint is disabled
    settle(fresh_sandbox)
    assert receiver.count() == 6
    assert [d["status"] for d in deliveries(tenant, status="failed")] == ["failed"] * 5

    receiver.default = Answer(200)
    enabled = tenant.post(f"/webhook-endpoints/{endpoint_id}", {"is_active": True}).json()["data"]
    assert (enabled["is_active"], enabled["disabled_at"], enabled["consecutive_failures"]) == (True, None, 0)
    receiver.wait_for(11)
    wait_for(lambda: deliveries(tenant, status="delivered"), lambda d: len(d) == 6)


@pytest.mark.parametrize("fresh_sandbox", [FROZEN], indirect=True)
def test_dual_sign_rotation_then_api_rotation(fresh_sandbox: SandboxServer, receiver: Receiver) -> None:
    tenant = make_tenant(fresh_sandbox)
    endpoint_id, original = subscribe(tenant, receiver.url(), ["group.updated"])
    control = f"{fresh_sandbox.url}/_sandbox/webhook-endpoints/{endpoint_id}/rotate-secret"
    rotated = requests.post(control, json={"dual_sign": True}, timeout=5).json()["secret"]

    emit(tenant, "group.updated")
    during = receiver.wait_for(1)[0]
    assert list(during.signature) == ["t", "v0", "v1"]
    assert signed_with(during, original, "v0") and signed_with(during, rotated, "v1")
    assert not signed_with(during, original, "v1")

    advance(fresh_sandbox, 86_400)  # the 24 h window is over
    emit(tenant, "group.updated")
    after = receiver.wait_for(2)[1]
    assert set(after.signature) == {"t", "v1"} and signed_with(after, rotated)

    requests.post(control, json={"dual_sign": True}, timeout=5)
    api_secret = tenant.post(f"/webhook-endpoints/{endpoint_id}/rotate-secret").json()["secret"]
    emit(tenant, "group.updated")
    api = receiver.wait_for(3)[2]
    assert set(api.signature) == {"t", "v1"} and signed_with(api, api_secret)
    assert requests.post(control.replace(endpoint_id, "whe_nope"), json={}, timeout=5).status_code == 404


def test_test_fire_sends_a_synthetic_subscription_created(
    fresh_sandbox: SandboxServer, receiver: Receiver
) -> None:
    tenant = make_tenant(fresh_sandbox)
    endpoint_id, secret = subscribe(tenant, receiver.url(), ["team.created"])
    fired = tenant.post(f"/webhook-endpoints/{endpoint_id}/test")
    assert fired.status_code == 202
    (got,) = receiver.wait_for(1)
    body = json.loads(got.body)
    assert body["type"] == got.headers["mp-event-name"] == "subscription.created"
    assert body["id"] == got.headers["mp-event-id"] and body["id"].startswith("evt_")
    assert set(body["data"]) == {
        "subscription_id",
        "plan_id",
        "subscriber_id",
        "trial_ends_at",
        "access_code",
    }
    assert signed_with(got, secret)
    done = wait_for(
        delivery_reader(tenant, fired.json()["data"]["delivery_id"]), lambda d: d["status"] != "pending"
    )
    assert (done["status"], done["event_id"], done["endpoint_id"]) == ("delivered", body["id"], endpoint_id)
    assert tenant.get("/webhook-events").json()["data"] == []  # synthetic: not part of the feed


@pytest.mark.parametrize("fresh_sandbox", [SandboxSettings(delivery_timeout=0.5)], indirect=True)
def test_a_slow_receiver_fails_without_holding_up_the_others(
    fresh_sandbox: SandboxServer, receiver: Receiver
) -> None:
    receiver.answers["/slow"] = Answer(200, delay=1.5)
    tenant = make_tenant(fresh_sandbox)
    slow, _ = subscribe(tenant, receiver.url("/slow"), ["member.churned"])
    subscribe(tenant, receiver.url("/fast"), ["member.churned"])
    emit(tenant, "member.churned")
    receiver.wait_for(1, "/slow")
    receiver.wait_for(1, "/fast")
    states = {d["endpoint_id"] == slow: d for d in deliveries(tenant)}
    fast_state = wait_for(delivery_reader(tenant, states[False]["id"]), lambda d: d["status"] == "delivered")
    assert fast_state["attempts"] == 1
    slow_state = wait_for(delivery_reader(tenant, states[True]["id"]), lambda d: d["attempts"] == 1)
    assert (slow_state["status"], slow_state["http_status"]) == ("failed", None)
    assert "0.5 s" in slow_state["response_excerpt"]


def test_redirects_are_failures_2xx_is_success_and_excerpts_stop_at_4_kb(
    fresh_sandbox: SandboxServer, receiver: Receiver
) -> None:
    receiver.answers["/moved"] = Answer(302, b"", headers={"Location": receiver.url("/target")})
    receiver.answers["/big"] = Answer(500, b"x" * 10_000)
    receiver.answers["/empty"] = Answer(204, b"")
    tenant = make_tenant(fresh_sandbox)
    ids = {
        path: subscribe(tenant, receiver.url(path), ["role.updated"])[0]
        for path in ("/moved", "/big", "/empty")
    }
    emit(tenant, "role.updated")
    receiver.wait_for(3)
    by_endpoint = {d["endpoint_id"]: d["id"] for d in deliveries(tenant)}
    final = {
        path: wait_for(delivery_reader(tenant, by_endpoint[endpoint_id]), lambda d: d["attempts"] == 1)
        for path, endpoint_id in ids.items()
    }
    assert (final["/moved"]["status"], final["/moved"]["http_status"]) == ("failed", 302)
    assert receiver.count("/target") == 0
    assert (final["/big"]["status"], len(final["/big"]["response_excerpt"])) == ("failed", 4096)
    assert (final["/empty"]["status"], final["/empty"]["http_status"]) == ("delivered", 204)


@pytest.mark.parametrize("fresh_sandbox", [FROZEN], indirect=True)
def test_delivery_log_filters_tenancy_retry_rules_and_endpoint_deletion(
    fresh_sandbox: SandboxServer, receiver: Receiver
) -> None:
    receiver.answers["/bad"] = Answer(500)
    tenant, stranger = make_tenant(fresh_sandbox), make_tenant(fresh_sandbox)
    good, _ = subscribe(tenant, receiver.url("/good"), ["member.removed"])
    bad, _ = subscribe(tenant, receiver.url("/bad"), ["member.removed"])
    emit(tenant, "member.removed")
    receiver.wait_for(2)
    wait_for(lambda: deliveries(tenant, status="failed"), lambda d: len(d) == 1)
    (delivered,) = wait_for(lambda: deliveries(tenant, status="delivered"), lambda d: len(d) == 1)
    (failed,) = deliveries(tenant, endpoint_id=bad)
    assert delivered["endpoint_id"] == good and failed["status"] == "failed"
    assert tenant.get("/webhook-deliveries?status=lost").status_code == 422

    assert stranger.get(f"/webhook-deliveries/{failed['id']}").status_code == 404
    assert stranger.post(f"/webhook-deliveries/{failed['id']}/retry").status_code == 404
    assert deliveries(stranger) == []
    everyone = requests.get(fresh_sandbox.url + "/_sandbox/deliveries", timeout=5).json()["data"]
    assert {d["team_id"] for d in everyone} == {tenant.team["id"]}

    refused = tenant.post(f"/webhook-deliveries/{delivered['id']}/retry")
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "VALIDATION_FAILED"

    assert tenant.send("DELETE", f"/webhook-endpoints/{bad}").status_code == 204
    assert tenant.get(f"/webhook-deliveries/{failed['id']}").status_code == 404
    advance(fresh_sandbox, 60)
    settle(fresh_sandbox)
    assert receiver.count("/bad") == 1
