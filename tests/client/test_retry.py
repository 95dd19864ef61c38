"""Retries: what is retried, with which key, after how long, and within which budget (FakeClock)."""

from __future__ import annotations

import email.utils
import uuid

import pytest
import requests
import responses

from connector import errors as e
from connector.client import MemberPassClient, RetryPolicy, default_user_agent
from connector.clock import FakeClock
from tests.client.conftest import BASE, TOKEN, make_client

URL = BASE + "/projects"


def fail(code: str, status: int, **headers: str) -> dict[str, object]:
    body = {"error": {"code": code, "message": code, "remediation": "r", "request_id": "req_F"}}
    return {"json": body, "status": status, "headers": headers}


def keys(mocked: responses.RequestsMock) -> list[str | None]:
    return [call.request.headers.get("Idempotency-Key") for call in mocked.calls]


def test_500_500_200_sends_one_idempotency_key_three_times(
    mocked: responses.RequestsMock, client: MemberPassClient, clock: FakeClock
) -> None:
    mocked.post(URL, **fail("INTERNAL_ERROR", 500))
    mocked.post(URL, **fail("INTERNAL_ERROR", 500))
    mocked.post(URL, json={"data": {"id": "prj_1"}}, status=201, headers={"X-Request-Id": "req_OK"})
    result = client.request("POST", "/projects", json={"name": "Alpha"})
    sent = keys(mocked)
    assert len(sent) == 3 and len(set(sent)) == 1
    assert uuid.UUID(str(sent[0])).version == 4
    assert (result.status, result.attempts, result.request_id) == (201, 3, "req_OK")
    assert result.body == {"data": {"id": "prj_1"}} and result.data == {"id": "prj_1"}
    assert result.idempotency_key == sent[0] and not result.replayed
    assert clock.sleeps == [0.5, 1.0]


def test_callers_key_is_sent_on_every_attempt(
    mocked: responses.RequestsMock, client: MemberPassClient
) -> None:
    mocked.patch(URL + "/prj_1", body=requests.ConnectionError("reset"))
    mocked.patch(URL + "/prj_1", body=requests.exceptions.ReadTimeout("slow"))
    mocked.patch(URL + "/prj_1", json={"data": {"id": "prj_1"}}, headers={"Idempotent-Replayed": "true"})
    result = client.request("PATCH", "/projects/prj_1", json={"name": "B"}, idempotency_key="zap-42")
    assert keys(mocked) == ["zap-42"] * 3
    assert result.replayed and result.attempts == 3


def test_each_logical_call_gets_its_own_key(mocked: responses.RequestsMock, client: MemberPassClient) -> None:
    mocked.delete(URL + "/prj_1", status=204)
    client.request("DELETE", "/projects/prj_1")
    client.request("DELETE", "/projects/prj_1")
    first, second = keys(mocked)
    assert first and second and first != second


def test_get_is_retried_without_a_key(
    mocked: responses.RequestsMock, client: MemberPassClient, clock: FakeClock
) -> None:
    mocked.get(URL, **fail("SERVICE_UNAVAILABLE", 503))
    mocked.get(URL, json={"data": [], "meta": {}})
    result = client.request("GET", "/projects", params={"limit": 5})
    assert result.attempts == 2 and keys(mocked) == [None, None]
    assert mocked.calls[1].request.url == URL + "?limit=5"


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("BAD_REQUEST", 400),
        ("AUTHENTICATION_REQUIRED", 401),
        ("TOKEN_MISSING_ABILITY", 403),
        ("RESOURCE_NOT_FOUND", 404),
        ("METHOD_NOT_ALLOWED", 405),
        ("SUBSCRIPTION_ALREADY_ACTIVE", 409),
        ("VALIDATION_FAILED", 422),
        ("IDEMPOTENCY_KEY_REUSED", 422),
    ],
)
def test_answers_that_cannot_change_are_not_retried(
    mocked: responses.RequestsMock, client: MemberPassClient, clock: FakeClock, code: str, status: int
) -> None:
    mocked.post(URL, **fail(code, status))
    with pytest.raises(e.ConnectorError) as info:
        client.request("POST", "/projects", json={})
    assert info.value.code == code
    assert len(mocked.calls) == 1 and clock.sleeps == []


def test_retry_after_is_honoured_never_sooner(mocked: responses.RequestsMock, clock: FakeClock) -> None:
    client = make_client(clock, jitter=lambda d: d / 10)  # backoff alone would be far shorter
    mocked.get(URL, **fail("RATE_LIMITED", 429, **{"Retry-After": "5"}))
    mocked.get(URL, **fail("RATE_LIMITED", 429, **{"Retry-After": "3"}))
    mocked.get(URL, json={"data": []})
    result = client.request("GET", "/projects")
    assert result.attempts == 3
    assert sum(clock.sleeps[:1]) >= 5 and clock.sleeps[0] >= 5
    assert clock.sleeps[-1] >= 3
    assert result.waited >= 8


def test_retry_after_as_http_date(mocked: responses.RequestsMock, clock: FakeClock) -> None:
    client = make_client(clock)
    when = email.utils.formatdate(clock.now() + 12, usegmt=True)
    mocked.get(URL, **fail("SERVICE_UNAVAILABLE", 503, **{"Retry-After": when}))
    mocked.get(URL, json={"data": []})
    client.request("GET", "/projects")
    assert clock.sleeps[0] >= 11.0


def test_a_burst_of_429s_outlasts_the_attempt_count(mocked: responses.RequestsMock, clock: FakeClock) -> None:
    client = make_client(clock, retry=RetryPolicy(max_attempts=2))
    for _ in range(6):
        mocked.get(URL, **fail("RATE_LIMITED", 429, **{"Retry-After": "1"}))
    mocked.get(URL, json={"data": []})
    assert client.request("GET", "/projects").attempts == 7


def test_in_progress_conflict_is_retried_after_retry_after(
    mocked: responses.RequestsMock, client: MemberPassClient, clock: FakeClock
) -> None:
    fault = fail("IDEMPOTENCY_REQUEST_IN_PROGRESS", 409, **{"Retry-After": "1"})
    mocked.post(URL, **fault)
    mocked.post(URL, json={"data": {"id": "prj_1"}}, status=201, headers={"Idempotent-Replayed": "true"})
    result = client.request("POST", "/projects", json={"name": "Alpha"})
    assert result.replayed and result.status == 201
    assert len(set(keys(mocked))) == 1 and clock.sleeps[0] >= 1


def test_attempts_run_out_on_persistent_5xx(mocked: responses.RequestsMock, clock: FakeClock) -> None:
    client = make_client(clock, retry=RetryPolicy(max_attempts=3), total_budget=300)
    mocked.get(URL, **fail("INTERNAL_ERROR", 500))
    with pytest.raises(e.ServerError):
        client.request("GET", "/projects")
    assert len(mocked.calls) == 3


def test_budget_exhaustion_stops_before_an_oversized_wait(
    mocked: responses.RequestsMock, clock: FakeClock
) -> None:
    client = make_client(clock, total_budget=2.0)
    mocked.post(URL, **fail("INTERNAL_ERROR", 500))
    with pytest.raises(e.TimeoutBudgetError) as info:
        client.request("POST", "/projects", json={})
    # waits 0.5 and 1.0 fit in 2 s; the next (2.0) would not, so it is never slept.
    assert clock.sleeps == [0.5, 1.0] and len(mocked.calls) == 3
    err = info.value
    assert isinstance(err.__cause__, e.ServerError)
    assert err.context == {"attempts": 3, "last_code": "INTERNAL_ERROR", "last_status": 500}
    assert err.request_id == "req_F" and err.retry_after == 2.0


def test_a_retry_after_beyond_the_budget_raises_rate_limited_at_once(
    mocked: responses.RequestsMock, clock: FakeClock
) -> None:
    client = make_client(clock, total_budget=30)
    mocked.get(URL, **fail("RATE_LIMITED", 429, **{"Retry-After": "60"}))
    with pytest.raises(e.RateLimitedError) as info:
        client.request("GET", "/projects")
    assert info.value.retry_after == 60 and clock.sleeps == [] and len(mocked.calls) == 1


def test_per_call_budget_overrides_the_default(mocked: responses.RequestsMock, clock: FakeClock) -> None:
    client = make_client(clock, total_budget=1.0)
    mocked.get(URL, **fail("RATE_LIMITED", 429, **{"Retry-After": "10"}))
    mocked.get(URL, json={"data": []})
    assert client.request("GET", "/projects", budget=60).attempts == 2


def test_jitter_is_injected_and_backoff_is_capped() -> None:
    seen: list[float] = []

    def jitter(delay: float) -> float:
        seen.append(delay)
        return delay / 2

    policy = RetryPolicy(base_delay=1.0, max_delay=4.0, jitter=jitter)
    assert [policy.backoff(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 2.0, 2.0]
    assert seen == [1.0, 2.0, 4.0, 4.0, 4.0]


def test_headers_auth_user_agent_and_result(mocked: responses.RequestsMock, client: MemberPassClient) -> None:
    mocked.get(BASE + "/teams/current", json={"data": {"id": "tem_1"}}, headers={"X-Request-Id": "req_1"})
    result = client.request("GET", "teams/current")
    sent = mocked.calls[0].request.headers
    assert sent["Authorization"] == f"Bearer {TOKEN}"
    assert sent["User-Agent"] == default_user_agent() == "memberpass-connector/0.1.0"
    assert "Idempotency-Key" not in sent
    assert (result.status, result.request_id, result.headers["X-Request-Id"]) == (200, "req_1", "req_1")


def test_empty_answer_and_non_json_success(mocked: responses.RequestsMock, client: MemberPassClient) -> None:
    mocked.delete(URL + "/prj_1", status=204)
    mocked.get(URL, body="<html>ok</html>", status=200, content_type="text/html")
    assert client.request("DELETE", "/projects/prj_1").body is None
    with pytest.raises(e.ConnectorError) as info:
        client.request("GET", "/projects")
    assert info.value.code == "INVALID_RESPONSE" and len(mocked.calls) == 2


def test_absolute_urls_are_refused(client: MemberPassClient) -> None:
    with pytest.raises(ValueError, match="relative"):
        client.request("GET", "https://evil.example/v1/teams/current")


def test_timeouts_are_connect_and_read(mocked: responses.RequestsMock, clock: FakeClock) -> None:
    client = make_client(clock, timeout=(2.0, 9.0))
    mocked.get(URL, json={"data": []})
    client.request("GET", "/projects")
    assert mocked.calls[0].request.req_kwargs["timeout"] == (2.0, 9.0)  # type: ignore[attr-defined]


@pytest.mark.parametrize("key", ["", "x" * 256, "naïve-key", "tab\tkey"])
def test_an_invalid_callers_key_is_refused_before_sending(
    mocked: responses.RequestsMock, client: MemberPassClient, key: str
) -> None:
    with pytest.raises(e.ValidationError) as info:
        client.request("POST", "/projects", json={}, idempotency_key=key)
    assert info.value.fields == {"Idempotency-Key": ["must be 1 to 255 printable ASCII characters"]}
    assert len(mocked.calls) == 0
