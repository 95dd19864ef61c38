"""Each MemberPass error answer becomes its typed error, with every field, and never shows the token."""

from __future__ import annotations

import json
import traceback
from typing import Any

import pytest
import requests
import responses

from connector import errors as e
from connector.client import MemberPassClient
from tests.client.conftest import BASE, TOKEN, assert_logs_clean, assert_no_token

URL = BASE + "/projects/prj_1"


def envelope(code: str, **extra: Any) -> dict[str, Any]:
    body = {
        "code": code,
        "message": f"Message for {code}.",
        "remediation": f"Do this about {code}.",
        "docs_url": f"https://docs.memberpass.net/api/errors#{code.lower()}",
        "request_id": "req_ENVELOPE",
    }
    body.update(extra)
    return {"error": body}


CASES = [
    ("AUTHENTICATION_REQUIRED", 401, {}, e.AuthenticationError),
    ("TOKEN_MISSING_ABILITY", 403, {"context": {"required_ability": "project:view"}}, e.MissingAbilityError),
    ("RESOURCE_NOT_FOUND", 404, {}, e.NotFoundError),
    ("VALIDATION_FAILED", 422, {"fields": {"name": ["is required"]}}, e.ValidationError),
    ("IDEMPOTENCY_KEY_REUSED", 422, {}, e.IdempotencyKeyReusedError),
    ("IDEMPOTENCY_KEY_REQUIRED", 400, {}, e.InputError),
    ("IDEMPOTENCY_REQUEST_IN_PROGRESS", 409, {}, e.IdempotencyInProgressError),
    ("RATE_LIMITED", 429, {}, e.RateLimitedError),
    ("TEAM_TIER_REQUIRED", 403, {}, e.TierRequiredError),
    ("SUBSCRIPTION_ALREADY_ACTIVE", 409, {}, e.ConflictError),
    ("METHOD_NOT_ALLOWED", 405, {}, e.InputError),
    ("INTERNAL_ERROR", 500, {}, e.ServerError),
    ("SERVICE_UNAVAILABLE", 503, {}, e.ServerError),
]


def capture(client: MemberPassClient, method: str = "GET") -> e.ConnectorError:
    with pytest.raises(e.ConnectorError) as info:
        client.request(method, "/projects/prj_1")
    return info.value


def assert_secret_free(err: BaseException, logs: pytest.LogCaptureFixture) -> None:
    shown = "".join(traceback.format_exception(err))
    extra = json.dumps(err.envelope()) if isinstance(err, e.ConnectorError) else ""
    assert_no_token(str(err), repr(err), shown, extra, vars(err))
    assert_logs_clean(logs)


@pytest.mark.parametrize(("code", "status", "extra", "cls"), CASES, ids=[c[0] for c in CASES])
def test_each_code_maps_to_its_error_with_every_field(
    mocked: responses.RequestsMock,
    single_shot: MemberPassClient,
    all_logs: pytest.LogCaptureFixture,
    code: str,
    status: int,
    extra: dict[str, Any],
    cls: type[e.ConnectorError],
) -> None:
    headers = {"X-Request-Id": "req_HEADER", "Retry-After": "7"}
    mocked.get(URL, json=envelope(code, **extra), status=status, headers=headers)
    err = capture(single_shot)
    assert type(err) is cls
    assert (err.code, err.status) == (code, status)
    assert err.message == f"Message for {code}."
    assert err.remediation == f"Do this about {code}."
    assert err.request_id == "req_ENVELOPE"
    assert err.docs_url.endswith("#" + code.lower())
    assert err.fields == extra.get("fields")
    assert err.context == extra.get("context")
    if isinstance(err, e.RetryableError):
        assert err.retry_after == 7.0
    assert_secret_free(err, all_logs)


def test_missing_ability_names_the_ability(
    mocked: responses.RequestsMock, single_shot: MemberPassClient
) -> None:
    extra = {"context": {"required_ability": "project:create"}}
    mocked.post(URL, json=envelope("TOKEN_MISSING_ABILITY", **extra), status=403)
    err = capture(single_shot, "POST")
    assert isinstance(err, e.MissingAbilityError)
    assert err.required_ability == "project:create"


def test_validation_error_keeps_fields(mocked: responses.RequestsMock, single_shot: MemberPassClient) -> None:
    fields = {"name": ["must be 5 to 255 characters"], "handle": ["is taken"]}
    mocked.post(URL, json=envelope("VALIDATION_FAILED", fields=fields), status=422)
    err = capture(single_shot, "POST")
    assert isinstance(err, e.ValidationError) and err.fields == fields


@pytest.mark.parametrize(
    ("status", "cls"),
    [(403, e.MissingAbilityError), (409, e.ConflictError), (418, e.InputError), (502, e.ServerError)],
)
def test_unknown_code_keeps_its_code_and_maps_by_status(
    mocked: responses.RequestsMock, single_shot: MemberPassClient, status: int, cls: type[e.ConnectorError]
) -> None:
    mocked.get(URL, json=envelope("PLAN_QUOTA_EXCEEDED"), status=status)
    err = capture(single_shot)
    assert type(err) is cls
    assert (err.code, err.status, err.request_id) == ("PLAN_QUOTA_EXCEEDED", status, "req_ENVELOPE")


@pytest.mark.parametrize(
    ("status", "cls", "code"),
    [
        (502, e.ServerError, "HTTP_502"),
        (503, e.ServerError, "SERVICE_UNAVAILABLE"),
        (401, e.AuthenticationError, "AUTHENTICATION_REQUIRED"),
        (403, e.MissingAbilityError, "HTTP_403"),
    ],
)
def test_html_error_body_still_gives_a_typed_error(
    mocked: responses.RequestsMock,
    single_shot: MemberPassClient,
    all_logs: pytest.LogCaptureFixture,
    status: int,
    cls: type[e.ConnectorError],
    code: str,
) -> None:
    html = f"<html><body><h1>{status} Bad Gateway</h1>{TOKEN}</body></html>"
    mocked.get(URL, body=html, status=status, content_type="text/html", headers={"X-Request-Id": "req_H"})
    err = capture(single_shot)
    assert type(err) is cls
    assert (err.code, err.status, err.request_id) == (code, status, "req_H")
    assert "text/html" in err.message
    assert_secret_free(err, all_logs)


def test_request_id_falls_back_to_the_header(
    mocked: responses.RequestsMock, single_shot: MemberPassClient
) -> None:
    body = envelope("RESOURCE_NOT_FOUND")
    del body["error"]["request_id"]
    mocked.get(URL, json=body, status=404, headers={"X-Request-Id": "req_FROM_HEADER"})
    assert capture(single_shot).request_id == "req_FROM_HEADER"


def test_a_token_echoed_by_the_server_is_scrubbed(
    mocked: responses.RequestsMock, single_shot: MemberPassClient, all_logs: pytest.LogCaptureFixture
) -> None:
    body = envelope("AUTHENTICATION_REQUIRED", message=f"Token {TOKEN} is revoked.", remediation=TOKEN)
    mocked.get(URL, json=body, status=401)
    err = capture(single_shot)
    assert "[redacted]" in err.message
    assert_secret_free(err, all_logs)


@pytest.mark.parametrize(
    "exc",
    [
        requests.ConnectionError(f"boom to {BASE}"),
        requests.exceptions.ReadTimeout("read timed out"),
        requests.exceptions.ChunkedEncodingError("broken"),
    ],
)
def test_transport_failures_are_network_errors(
    mocked: responses.RequestsMock,
    single_shot: MemberPassClient,
    all_logs: pytest.LogCaptureFixture,
    exc: Exception,
) -> None:
    mocked.get(URL, body=exc)
    err = capture(single_shot)
    assert isinstance(err, e.NetworkError)
    assert (err.code, err.status) == ("NETWORK_ERROR", 502)
    assert "GET /projects/prj_1" in err.message
    assert err.__cause__ is exc
    assert_secret_free(err, all_logs)


def test_tls_failure_is_not_retried(mocked: responses.RequestsMock, client: MemberPassClient) -> None:
    mocked.get(URL, body=requests.exceptions.SSLError("certificate verify failed"))
    err = capture(client)
    assert isinstance(err, e.NetworkError) and err.code == "TLS_FAILED"
    assert len(mocked.calls) == 1


def test_client_repr_and_auth_never_show_the_token(client: MemberPassClient) -> None:
    assert_no_token(repr(client), str(client), repr(client.governor), repr(vars(client)))


def test_a_whole_retried_call_logs_nothing_secret(
    mocked: responses.RequestsMock, client: MemberPassClient, all_logs: pytest.LogCaptureFixture
) -> None:
    mocked.post(URL, json=envelope("INTERNAL_ERROR"), status=500)
    mocked.post(URL, body=requests.ConnectionError("reset"))
    mocked.post(URL, json={"data": {"id": "prj_1"}}, status=201)
    result = client.request("POST", "/projects/prj_1", json={"name": "x"})
    assert result.attempts == 3
    assert any(r.name == "connector.client" for r in all_logs.records)
    assert_logs_clean(all_logs)
