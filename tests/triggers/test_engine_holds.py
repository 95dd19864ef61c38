"""What a poll does when MemberPass refuses or falters: 401 holds the connection's subscriptions until its
token is replaced, 403 holds one subscription, 429 and 5xx are logged and retried, and nothing is lost."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from connector.sandbox import SandboxServer
from connector.sandbox.abilities import ALL_ABILITIES
from tests.triggers.connected import EVENT, Env, connected


@pytest.fixture
def env(sandbox_server: SandboxServer, tmp_path: Path) -> Iterator[Env]:
    with connected(sandbox_server, tmp_path / "c.db") as made:
        yield made


def statuses(env: Env) -> dict[str, str]:
    return {
        s["id"]: s["status"] for s in env.client.get("/api/subscriptions", headers=env.headers).json["data"]
    }


def replace_token(env: Env, token: str) -> None:
    response = env.client.put("/api/me/token", json={"token": token}, headers=env.headers)
    assert response.status_code == 200, response.json
    assert response.json["data"]["status"] == "active"


def test_a_401_holds_every_subscription_and_a_replaced_token_resumes_them_without_loss(env: Env) -> None:
    events = env.subscribed(EVENT)
    members = env.subscribed("new_member", inputs={"project_id": env.project_id})
    delivered = env.emit(3)
    env.drain(events)
    cursor = env.client.get(f"/api/subscriptions/{events}", headers=env.headers).json["data"]["cursor"]

    token_id = env.client.get("/api/me", headers=env.headers).json["data"]["token_id"]
    revoked = requests.post(f"{env.server.url}/_sandbox/tokens/{token_id}/revoke", timeout=10)
    assert revoked.status_code == 200
    during = env.emit(4)
    outcome = env.poll(events)
    assert outcome.status == "held" and outcome.error is not None
    assert outcome.error.code == "AUTHENTICATION_REQUIRED"
    me = env.client.get("/api/me", headers=env.headers).json["data"]
    assert me["status"] == "needs_attention"
    assert statuses(env) == {events: "held", members: "held"}
    view = env.client.get(f"/api/subscriptions/{events}", headers=env.headers).json["data"]
    assert view["cursor"] == cursor and "AUTHENTICATION_REQUIRED" in view["status_reason"]
    assert env.poll(events).status == "skipped"  # held: not polled again until the token changes
    assert env.outbox_keys(events) == delivered

    later = env.emit(2)
    replace_token(env, env.mint()["token"])
    resumed = env.poll(events)
    assert resumed.status == "polled"
    assert statuses(env) == {events: "active", members: "active"}
    env.drain(events)
    assert env.outbox_keys(events) == delivered + during + later
    assert env.poll(members).status == "polled"


def test_a_403_holds_that_subscription_with_the_missing_ability_until_the_token_changes(env: Env) -> None:
    events = env.subscribed(EVENT)
    members = env.subscribed("new_member", inputs={"project_id": env.project_id})
    lacking = [a for a in ALL_ABILITIES if a != "billing:read"]
    replace_token(env, env.mint(lacking)["token"])
    during = env.emit(3)
    outcome = env.poll(events)
    assert outcome.status == "held"
    assert outcome.error is not None and outcome.error.code == "TOKEN_MISSING_ABILITY"
    assert outcome.reason is not None and "billing:read" in outcome.reason
    assert statuses(env) == {events: "held", members: "active"}
    assert env.poll(members).status == "polled"
    assert env.poll(events).status == "skipped"

    replace_token(env, env.mint()["token"])
    env.drain(events)
    assert statuses(env)[events] == "active"
    assert env.outbox_keys(events) == during


def test_a_revoked_connection_disables_its_subscriptions(env: Env) -> None:
    events = env.subscribed(EVENT)
    assert env.client.delete("/api/me", headers=env.headers).status_code == 200
    outcome = env.poll(events)
    assert outcome.status == "disabled"
    rows = env.sql("SELECT status, status_reason FROM subscriptions WHERE id = ?", [events])
    assert rows[0]["status"] == "disabled" and "revoked" in rows[0]["status_reason"]


def test_429_and_5xx_are_logged_with_throttling_and_retried_next_interval(
    fresh_sandbox: SandboxServer, tmp_path: Path
) -> None:
    faults = fresh_sandbox.url + "/_sandbox/faults"
    with connected(fresh_sandbox, tmp_path / "faults.db") as env:
        events = env.subscribed(EVENT)
        made = env.emit(3)
        rule = {"route": "GET /v1/webhook-events", "status": 429, "count": 1, "retry_after": 1}
        assert requests.put(faults, json=[rule], timeout=5).status_code == 200
        throttled = env.poll(events)
        assert throttled.status == "retry" and throttled.decision is not None
        assert throttled.decision["throttling"]["retry_after"] == 1
        assert throttled.decision["error"] == "RATE_LIMITED" and throttled.enqueued == 0

        rule = {"route": "GET /v1/webhook-events", "status": 503, "count": 3}
        assert requests.put(faults, json=[rule], timeout=5).status_code == 200
        failing = env.poll(events)
        assert failing.status == "retry" and failing.decision is not None
        assert failing.decision["throttling"]["failed_calls"] == 1
        assert failing.decision["throttling"]["last_status"] == 503
        assert env.outbox(events) == []
        assert statuses(env)[events] == "active"

        env.drain(events)
        assert env.outbox_keys(events) == made
        log = env.client.get(f"/api/subscriptions/{events}/log", headers=env.headers).json["data"]
        assert [entry["outcome"] for entry in log][-3:] == ["retry", "retry", "polled"]
