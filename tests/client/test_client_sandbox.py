"""The client against the sandbox over real HTTP, with faults injected (issue 3, "what must be shown")."""

from __future__ import annotations

import itertools
import threading
import time
from typing import Any

import pytest
import requests

from connector import MemberPassClient
from connector.client import RetryPolicy, no_jitter
from connector.client.result import Result
from connector.sandbox import SandboxServer, SandboxSettings
from tests.helpers import Tenant, make_tenant


def client_for(tenant: Tenant, **kw: Any) -> MemberPassClient:
    kw.setdefault("jitter", no_jitter)
    kw.setdefault("retry", RetryPolicy(base_delay=0.05))
    return MemberPassClient(tenant.server.base_url, tenant.token, **kw)


def set_faults(server: SandboxServer, rules: list[dict[str, Any]]) -> None:
    response = requests.put(server.url + "/_sandbox/faults", json=rules, timeout=5)
    assert response.status_code == 200, response.text


def request_log(server: SandboxServer, method: str, path: str) -> list[dict[str, Any]]:
    log = requests.get(server.url + "/_sandbox/requests", timeout=5).json()["data"]
    return [r for r in log if r["method"] == method and r["path"] == path]


def projects_named(client: MemberPassClient, name: str) -> list[dict[str, Any]]:
    return [p for p in client.paginate("/projects") if p["name"] == name]


def test_create_through_500_500_200_sends_one_key_and_leaves_one_record(fresh_sandbox: SandboxServer) -> None:
    client = client_for(make_tenant(fresh_sandbox))
    set_faults(fresh_sandbox, [{"route": "POST /v1/projects", "status": 500, "count": 2}])
    result = client.request("POST", "/projects", json={"name": "Alpha Project"})
    log = request_log(fresh_sandbox, "POST", "/v1/projects")
    assert [r["status"] for r in log] == [500, 500, 201]
    assert {r["idempotency_key"] for r in log} == {result.idempotency_key}
    assert result.attempts == 3 and result.status == 201
    assert [p["id"] for p in projects_named(client, "Alpha Project")] == [result.data["id"]]


def test_dropped_connection_after_commit_is_answered_by_the_replay(fresh_sandbox: SandboxServer) -> None:
    client = client_for(make_tenant(fresh_sandbox))
    set_faults(fresh_sandbox, [{"route": "POST /v1/projects", "drop": "after", "count": 1}])
    result = client.request("POST", "/projects", json={"name": "Beta Project"})
    log = request_log(fresh_sandbox, "POST", "/v1/projects")
    assert [r["status"] for r in log] == [None, 201]  # the first answer never reached the client
    assert {r["idempotency_key"] for r in log} == {result.idempotency_key}
    assert result.replayed and result.attempts == 2
    assert [p["id"] for p in projects_named(client, "Beta Project")] == [result.data["id"]]


def test_a_burst_of_429s_is_ridden_out_never_before_retry_after(fresh_sandbox: SandboxServer) -> None:
    client = client_for(make_tenant(fresh_sandbox))
    rule = {"route": "GET /v1/teams/current", "status": 429, "count": 2, "retry_after": 1}
    set_faults(fresh_sandbox, [rule])
    result = client.request("GET", "/teams/current")
    log = request_log(fresh_sandbox, "GET", "/v1/teams/current")
    assert [r["status"] for r in log] == [429, 429, 200]
    gaps = [later["at"] - earlier["at"] for earlier, later in itertools.pairwise(log)]
    assert all(gap >= 1.0 for gap in gaps), gaps
    assert result.status == 200 and result.attempts == 3 and result.data["id"]


LOW_LIMITS = SandboxSettings(per_minute=10, minute_window=2.0)


@pytest.mark.parametrize("fresh_sandbox", [LOW_LIMITS], indirect=True)
def test_background_burst_never_draws_a_429_and_interactive_goes_first(fresh_sandbox: SandboxServer) -> None:
    client = client_for(make_tenant(fresh_sandbox))  # the token's process-wide governor, default limits
    background: list[Result] = []

    def poll() -> None:
        for _ in range(2 * LOW_LIMITS.per_minute):
            background.append(client.request("GET", "/teams/current", priority="background"))

    worker = threading.Thread(target=poll)
    worker.start()
    deadline = time.monotonic() + 10
    # Nine background calls fit in the window; the tenth is held back to keep the reserve.
    while not (len(background) == 9 and client.governor.waiting("background") == 1):
        assert time.monotonic() < deadline, "the background burst never reached the reserve"
        time.sleep(0.002)
    interactive = client.request("GET", "/teams/current")
    worker.join(30)

    log = request_log(fresh_sandbox, "GET", "/v1/teams/current")
    assert len(log) == 21 and {r["status"] for r in log} == {200}
    order = [r["request_id"] for r in log]
    assert order.index(interactive.request_id) < order.index(background[9].request_id)
    assert interactive.throttled < background[9].throttled
    assert background[9].throttled > 0.2


def test_pagination_over_a_real_page_based_list(sandbox_server: SandboxServer) -> None:
    client = client_for(make_tenant(sandbox_server))
    created = [client.request("POST", "/projects", json={"name": f"Project {n:02d}"}) for n in range(6)]
    since = time.time()

    pager = client.paginate("/projects", page_size=3)
    ids = [p["id"] for p in pager]
    assert ids == [r.data["id"] for r in reversed(created)]  # newest first, nothing twice
    assert pager.complete and pager.pages == 2  # has_more false on page 2: no third request

    created.append(client.request("POST", "/projects", json={"name": "Project 06"}))
    pager = client.paginate("/projects", page_size=3)
    assert len(list(pager)) == 7 and pager.pages == 3  # the short third page ends it
    log = [r for r in request_log(sandbox_server, "GET", "/v1/projects") if r["at"] >= since]
    assert len(log) == 5


def test_pagination_over_the_keyset_event_feed(sandbox_server: SandboxServer) -> None:
    client = client_for(make_tenant(sandbox_server))
    for n in range(5):
        client.request("POST", "/projects", json={"name": f"Feed Project {n}"})
    pager = client.paginate("/webhook-events", {"type": "project.created"}, page_size=2)
    events = list(pager)
    assert [e["data"]["project"]["name"] for e in events] == [f"Feed Project {n}" for n in reversed(range(5))]
    assert len({e["id"] for e in events}) == 5
    assert pager.complete and pager.pages == 3
