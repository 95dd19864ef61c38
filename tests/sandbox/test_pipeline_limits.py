"""Rate limits (C6), injected faults and the request log, over real HTTP."""

from __future__ import annotations

import time

import pytest
import requests

from connector.sandbox import SandboxServer, SandboxSettings
from tests.helpers import make_tenant, token_for

LOW_LIMITS = SandboxSettings(per_minute=5, per_hour=8, minute_window=2.0, hour_window=30.0)


@pytest.mark.parametrize("fresh_sandbox", [LOW_LIMITS], indirect=True)
def test_per_token_limits_headers_and_429(fresh_sandbox: SandboxServer) -> None:
    tenant = make_tenant(fresh_sandbox)
    remaining = []
    for _ in range(5):
        response = tenant.get("/teams/current")
        assert response.status_code == 200
        assert response.headers["X-RateLimit-Limit"] == "5"
        assert int(response.headers["X-RateLimit-Reset"]) >= int(time.time())
        remaining.append(int(response.headers["X-RateLimit-Remaining"]))
    assert remaining == [4, 3, 2, 1, 0]
    refused = tenant.get("/teams/current")
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "RATE_LIMITED"
    assert 1 <= int(refused.headers["Retry-After"]) <= 2
    # another token of the same team has its own budget
    assert token_for(tenant).get("/teams/current").status_code == 200


@pytest.mark.parametrize("fresh_sandbox", [LOW_LIMITS], indirect=True)
def test_minute_window_resets_but_hour_budget_holds(fresh_sandbox: SandboxServer) -> None:
    tenant = make_tenant(fresh_sandbox)
    statuses = [tenant.get("/teams/current").status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]
    time.sleep(2.1)
    statuses = [tenant.get("/teams/current").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]  # 8 per "hour"
    assert tenant.get("/teams/current").headers["X-RateLimit-Limit"] == "8"


def test_status_fault_with_count_then_recovers(fresh_sandbox: SandboxServer) -> None:
    tenant = make_tenant(fresh_sandbox)
    rules = [{"route": "GET /v1/teams/current", "status": 500, "count": 2}]
    assert requests.put(fresh_sandbox.url + "/_sandbox/faults", json=rules, timeout=5).status_code == 200
    statuses = [tenant.get("/teams/current").status_code for _ in range(3)]
    assert statuses == [500, 500, 200]
    failed = tenant.get  # the injected 500 uses the envelope too
    requests.put(
        fresh_sandbox.url + "/_sandbox/faults", json=[{"route": "*", "status": 503, "count": 1}], timeout=5
    )
    response = failed("/teams/current")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert response.json()["error"]["request_id"] == response.headers["X-Request-Id"]


def test_429_fault_carries_retry_after(fresh_sandbox: SandboxServer) -> None:
    tenant = make_tenant(fresh_sandbox)
    rules = [{"route": "GET /v1/teams/{team_id}", "status": 429, "retry_after": 2, "count": 1}]
    requests.put(fresh_sandbox.url + "/_sandbox/faults", json=rules, timeout=5)
    response = tenant.get(f"/teams/{tenant.team['id']}")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "2"
    assert response.json()["error"]["code"] == "RATE_LIMITED"
    assert tenant.get(f"/teams/{tenant.team['id']}").status_code == 200


def test_ratio_fault_hits_a_share(fresh_sandbox: SandboxServer) -> None:
    tenant = make_tenant(fresh_sandbox)
    requests.put(
        fresh_sandbox.url + "/_sandbox/faults", json=[{"route": "*", "status": 500, "ratio": 0.5}], timeout=5
    )
    statuses = [tenant.get("/teams/current").status_code for _ in range(60)]
    failures = statuses.count(500)
    assert 10 <= failures <= 50
    assert requests.delete(fresh_sandbox.url + "/_sandbox/faults", timeout=5).json() == {"data": []}
    assert tenant.get("/teams/current").status_code == 200


def test_latency_fault_delays_the_answer(fresh_sandbox: SandboxServer) -> None:
    tenant = make_tenant(fresh_sandbox)
    requests.put(
        fresh_sandbox.url + "/_sandbox/faults",
        json=[{"route": "*", "latency_ms": 300, "count": 1}],
        timeout=5,
    )
    started = time.monotonic()
    assert tenant.get("/teams/current").status_code == 200
    assert time.monotonic() - started >= 0.3
    started = time.monotonic()
    tenant.get("/teams/current")
    assert time.monotonic() - started < 0.3


def test_drop_before_closes_the_connection_without_an_answer(fresh_sandbox: SandboxServer) -> None:
    tenant = make_tenant(fresh_sandbox)
    requests.put(
        fresh_sandbox.url + "/_sandbox/faults",
        json=[{"route": "GET /v1/teams/current", "drop": "before", "count": 1}],
        timeout=5,
    )
    with pytest.raises(requests.ConnectionError):
        requests.get(fresh_sandbox.base_url + "/teams/current", headers=tenant.headers, timeout=5)
    assert tenant.get("/teams/current").status_code == 200
    log = requests.get(fresh_sandbox.url + "/_sandbox/requests", timeout=5).json()["data"]
    assert [entry["status"] for entry in log[-2:]] == [None, 200]


def test_bad_fault_rules_are_refused_naming_the_field(fresh_sandbox: SandboxServer) -> None:
    response = requests.put(
        fresh_sandbox.url + "/_sandbox/faults", json=[{"route": "*", "drop": "sideways"}], timeout=5
    )
    assert response.status_code == 422
    assert response.json()["error"]["fields"] == {"[0].drop": ["must be 'before' or 'after'"]}
    response = requests.put(
        fresh_sandbox.url + "/_sandbox/faults", json=[{"route": "*", "colour": 1}], timeout=5
    )
    assert "[0].colour" in response.json()["error"]["fields"]


def test_request_log_records_oldest_first(fresh_sandbox: SandboxServer) -> None:
    tenant = make_tenant(fresh_sandbox)
    requests.delete(fresh_sandbox.url + "/_sandbox/requests", timeout=5)
    tenant.get("/teams/current")
    tenant.send("DELETE", "/teams/current", key="abc-123")
    requests.get(fresh_sandbox.base_url + "/teams/current", timeout=5)
    log = requests.get(fresh_sandbox.url + "/_sandbox/requests", timeout=5).json()["data"]
    assert [(e["method"], e["path"], e["status"]) for e in log] == [
        ("GET", "/v1/teams/current", 200),
        ("DELETE", "/v1/teams/current", 405),
        ("GET", "/v1/teams/current", 401),
    ]
    assert log[0]["token_id"] == tenant.token_record["id"]
    assert log[1]["idempotency_key"] == "abc-123"
    assert log[2]["token_id"] is None
    assert log[0]["at"] <= log[1]["at"] <= log[2]["at"]
    assert set(log[0]) >= {"method", "path", "status", "idempotency_key", "token_id", "at"}


def test_clock_advances(fresh_sandbox: SandboxServer) -> None:
    before = requests.get(fresh_sandbox.url + "/_sandbox/clock", timeout=5).json()["now"]
    after = requests.post(
        fresh_sandbox.url + "/_sandbox/clock", json={"advance_seconds": 3600}, timeout=5
    ).json()
    assert after["now"] - before >= 3600
    bad = requests.post(fresh_sandbox.url + "/_sandbox/clock", json={"advance_seconds": "soon"}, timeout=5)
    assert bad.status_code == 422 and "advance_seconds" in bad.json()["error"]["fields"]


def test_headers_describe_the_token_budget_not_a_small_endpoint_bucket() -> None:
    from connector.sandbox.ratelimit import RateLimiter

    limiter = RateLimiter()
    buckets = [("minute", 300, 60.0), ("hour", 10_000, 3600.0), ("test-fire", 5, 60.0)]
    verdicts = [limiter.hit("tok", buckets, reported=2) for _ in range(5)]
    assert [v.limit for v in verdicts] == [300] * 5
    assert verdicts[-1].remaining == 295
    refused = limiter.hit("tok", buckets, reported=2)
    assert not refused.allowed and refused.limit == 5 and refused.retry_after >= 1
