"""Idempotency keys (contract §4, C1-C5) on mutations, over real HTTP."""

from __future__ import annotations

import threading
import time
import uuid

import requests

from connector.sandbox import SandboxServer
from tests.helpers import make_tenant, token_for


def _projects(tenant) -> list[dict]:  # type: ignore[no-untyped-def]
    return tenant.get("/projects", params={"limit": 100}).json()["data"]


def test_mutation_without_key_is_400(sandbox_server: SandboxServer) -> None:
    tenant = make_tenant(sandbox_server)
    response = requests.post(
        sandbox_server.base_url + "/projects", json={"name": "No key here"}, headers=tenant.headers, timeout=5
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "IDEMPOTENCY_KEY_REQUIRED"
    assert _projects(tenant) == []


def test_key_longer_than_255_or_unprintable_is_refused(sandbox_server: SandboxServer) -> None:
    tenant = make_tenant(sandbox_server)
    for key in ("k" * 256, "tab\there"):
        response = tenant.post("/projects", {"name": "Bad key project"}, key=key)
        assert response.status_code == 422
        assert "Idempotency-Key" in response.json()["error"]["fields"]
    assert tenant.post("/projects", {"name": "Good key project"}, key="k" * 255).status_code == 201


def test_replay_returns_the_original_answer(sandbox_server: SandboxServer) -> None:
    tenant = make_tenant(sandbox_server)
    key = str(uuid.uuid4())
    first = tenant.post("/projects", {"name": "Replayed project"}, key=key)
    second = tenant.post("/projects", {"name": "Replayed project"}, key=key)
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert len(_projects(tenant)) == 1


def test_same_key_different_request_is_422(sandbox_server: SandboxServer) -> None:
    tenant = make_tenant(sandbox_server)
    key = str(uuid.uuid4())
    assert tenant.post("/projects", {"name": "First project"}, key=key).status_code == 201
    reused = tenant.post("/projects", {"name": "Second project"}, key=key)
    assert reused.status_code == 422
    assert reused.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert len(_projects(tenant)) == 1


def test_keys_are_scoped_per_token(sandbox_server: SandboxServer) -> None:
    tenant = make_tenant(sandbox_server)
    other = token_for(tenant)
    key = str(uuid.uuid4())
    assert tenant.post("/projects", {"name": "Token one project"}, key=key).status_code == 201
    second = other.post("/projects", {"name": "Token one project"}, key=key)
    assert second.status_code == 201
    assert "Idempotent-Replayed" not in second.headers
    assert len(_projects(tenant)) == 2


def test_non_2xx_is_not_stored_so_the_retry_executes(sandbox_server: SandboxServer) -> None:
    tenant = make_tenant(sandbox_server)
    key = str(uuid.uuid4())
    invalid = tenant.post("/projects", {"name": "x"}, key=key)
    assert invalid.status_code == 422
    assert tenant.post("/projects", {"name": "x"}, key=key).status_code == 422  # executed again, not replayed
    requests.put(
        sandbox_server.url + "/_sandbox/faults",
        json=[{"route": "POST /v1/projects", "status": 500, "count": 1}],
        timeout=5,
    )
    key = str(uuid.uuid4())
    assert tenant.post("/projects", {"name": "After a fault"}, key=key).status_code == 500
    retried = tenant.post("/projects", {"name": "After a fault"}, key=key)
    assert retried.status_code == 201 and "Idempotent-Replayed" not in retried.headers
    assert [p["name"] for p in _projects(tenant)] == ["After a fault"]


def test_same_key_in_flight_is_409_with_retry_after(fresh_sandbox: SandboxServer) -> None:
    tenant = make_tenant(fresh_sandbox)
    requests.put(
        fresh_sandbox.url + "/_sandbox/faults",
        json=[{"route": "POST /v1/projects", "latency_ms": 600, "count": 1}],
        timeout=5,
    )
    key = str(uuid.uuid4())
    answers: list[requests.Response] = []
    slow = threading.Thread(
        target=lambda: answers.append(tenant.post("/projects", {"name": "Slow project"}, key=key))
    )
    slow.start()

    time.sleep(0.2)
    second = requests.post(
        fresh_sandbox.base_url + "/projects",
        json={"name": "Slow project"},
        headers={**tenant.headers, "Idempotency-Key": key},
        timeout=5,
    )
    slow.join()
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "IDEMPOTENCY_REQUEST_IN_PROGRESS"
    assert second.headers["Retry-After"] == "1"
    assert answers[0].status_code == 201
    replay = tenant.post("/projects", {"name": "Slow project"}, key=key)
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert len(_projects(tenant)) == 1


def test_drop_after_commit_then_retry_is_replayed(fresh_sandbox: SandboxServer) -> None:
    tenant = make_tenant(fresh_sandbox)
    requests.put(
        fresh_sandbox.url + "/_sandbox/faults",
        json=[{"route": "POST /v1/projects", "drop": "after", "count": 1}],
        timeout=5,
    )
    key = str(uuid.uuid4())
    try:
        tenant.post("/projects", {"name": "Committed then dropped"}, key=key)
        raise AssertionError("the connection should have been dropped")
    except requests.ConnectionError:
        pass
    assert len(_projects(tenant)) == 1  # the change was committed
    retry = tenant.post("/projects", {"name": "Committed then dropped"}, key=key)
    assert retry.status_code == 201
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert len(_projects(tenant)) == 1


def test_replay_window_is_24_hours(fresh_sandbox: SandboxServer) -> None:
    tenant = make_tenant(fresh_sandbox)
    key = str(uuid.uuid4())
    tenant.post("/projects", {"name": "Day one project"}, key=key)
    requests.post(fresh_sandbox.url + "/_sandbox/clock", json={"advance_seconds": 86_401}, timeout=5)
    again = tenant.post("/projects", {"name": "Day one project"}, key=key)
    assert "Idempotent-Replayed" not in again.headers
    assert again.status_code == 201  # executed again: a second project
    assert len(_projects(tenant)) == 2
