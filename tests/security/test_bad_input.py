"""Hostile request bodies and headers on the connector's JSON routes: each is refused with the documented
envelope and status, reaches neither the database nor MemberPass (the sandbox's request log stays as it
was). The app runs with a small ``max_body_bytes`` (``CONNECTOR_MAX_BODY_BYTES``) so oversized bodies stay
cheap.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from connector.sandbox import SandboxServer
from tests.helpers import serving
from tests.security.conftest import Harness, assert_error, harness

MAX_BODY = 4096
ACTION = "/api/actions/create_project"
SUBSCRIBE = "/api/triggers/billing.invoice_paid/subscriptions"
JSON_ROUTES = [("POST", ACTION), ("POST", SUBSCRIBE), ("PUT", "/api/me/token"), ("POST", "/api/connections")]


@pytest.fixture(scope="module")
def h(sandbox_server: SandboxServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    with harness(sandbox_server, tmp_path_factory.mktemp("bad") / "c.db", max_body_bytes=MAX_BODY) as made:
        yield made


def upstream_calls(h: Harness) -> int:
    return len(requests.get(h.server.url + "/_sandbox/requests", timeout=10).json()["data"])


def refused(h: Harness, method: str, path: str, status: int, code: str, **kw: Any) -> dict[str, Any]:
    before = upstream_calls(h)
    with h.unchanged():
        error = assert_error(h.call(method, path, **kw), status, code)
    assert upstream_calls(h) == before, "the request reached MemberPass"
    return error


# --- bodies -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("method", "path"), [*JSON_ROUTES, ("POST", "/hooks/memberpass/sub_x")])
def test_a_body_over_the_limit_is_413(h: Harness, method: str, path: str) -> None:
    big = b'{"name": "' + b"x" * MAX_BODY + b'"}'
    refused(h, method, path, 413, "PAYLOAD_TOO_LARGE", data=big, content_type="application/json")


def test_a_chunked_body_over_the_limit_is_413_over_real_http(h: Harness) -> None:
    """No Content-Length to trust: the limit must still hold while the served app reads a chunked body.
    Werkzeug's ``LimitedStream(is_max=True).readall()`` stops at the limit without raising, so without the
    app's ChunkedBodyLimit the first ``max_body_bytes`` would be parsed (a padded body would run)."""
    with serving(h.app) as url:
        chunks = iter([b'{"name": "', *([b"x" * 1024] * (MAX_BODY // 1024 + 1)), b'"}'])
        with h.unchanged():
            response = requests.post(f"{url}{ACTION}", data=chunks, timeout=10,
                                     headers={**h.a.headers, "Content-Type": "application/json"})  # fmt: skip
            assert_error(response, 413, "PAYLOAD_TOO_LARGE")
        assert response.request.headers.get("Transfer-Encoding") == "chunked"


def test_the_413_remediation_says_how_big_a_body_may_be(h: Harness) -> None:
    error = refused(h, "POST", ACTION, 413, "PAYLOAD_TOO_LARGE", data=b"x" * (MAX_BODY + 1),
                    content_type="application/json")  # fmt: skip
    assert "Retry later" not in error["remediation"] and str(MAX_BODY) in error["remediation"]


@pytest.mark.parametrize("raw", [b'{"name": ', b"{'name': 'x'}", b'{"name": "x",}', b"\xff\xfe{}", b"{]"])
@pytest.mark.parametrize(("method", "path"), JSON_ROUTES)
def test_malformed_json_is_400(h: Harness, method: str, path: str, raw: bytes) -> None:
    refused(h, method, path, 400, "BAD_REQUEST", data=raw, content_type="application/json")


@pytest.mark.parametrize("raw", [b"[]", b'["name"]', b'"name"', b"42", b"NaN", b"null", b"true"])
@pytest.mark.parametrize(("method", "path"), JSON_ROUTES)
def test_json_that_is_not_an_object_is_422(h: Harness, method: str, path: str, raw: bytes) -> None:
    error = refused(h, method, path, 422, "VALIDATION_FAILED", data=raw, content_type="application/json")
    assert "body" in error["fields"]


@pytest.mark.parametrize(("method", "path"), JSON_ROUTES)
def test_a_form_encoded_body_is_415(h: Harness, method: str, path: str) -> None:
    refused(
        h,
        method,
        path,
        415,
        "UNSUPPORTED_MEDIA_TYPE",
        data={"name": "Club", "target_url": "https://x.example"},
    )


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "text/xml"])
def test_a_json_body_under_another_content_type_is_415(h: Harness, content_type: str) -> None:
    refused(
        h, "POST", ACTION, 415, "UNSUPPORTED_MEDIA_TYPE", data=b'{"name": "Club"}', content_type=content_type
    )


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", ACTION, {"name": "Club", "owner_team_id": "tem_x"}, "owner_team_id"),
        ("POST", SUBSCRIBE, {"target_url": "https://x.example/h", "secret": "whsec_mine"}, "secret"),
        ("POST", SUBSCRIBE, {"target_url": "https://x.example/h", "mode": "webhook"}, "mode"),
        (
            "POST",
            "/api/connections",
            {"token": "mpt_test_aaaaaaaa_" + "a" * 24, "team_id": "tem_x"},
            "team_id",
        ),
        ("PUT", "/api/me/token", {"token": "mpt_test_aaaaaaaa_" + "a" * 24, "status": "active"}, "status"),
    ],
)
def test_unknown_keys_are_422_naming_them(h: Harness, method: str, path: str, body: Any, field: str) -> None:
    assert field in refused(h, method, path, 422, "VALIDATION_FAILED", json=body)["fields"]


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", ACTION, {"name": 42}, "name"),
        ("POST", ACTION, {"name": ["Club"]}, "name"),
        ("POST", ACTION, {"name": {"$ne": ""}}, "name"),
        ("POST", SUBSCRIBE, {"target_url": 1}, "target_url"),
        ("POST", SUBSCRIBE, {"target_url": "https://x.example/h", "inputs": []}, "inputs"),
        ("POST", SUBSCRIBE, {"target_url": "https://x.example/h", "poll_interval": "soon"}, "poll_interval"),
        ("POST", SUBSCRIBE, {"target_url": "https://x.example/h", "first_run": "last_n", "n": "5"}, "n"),
        ("POST", "/api/connections", {"token": ["mpt_test_x"]}, "token"),
        ("PUT", "/api/me/token", {"token": None}, "token"),
    ],
)
def test_wrong_types_are_422_naming_the_field(
    h: Harness, method: str, path: str, body: Any, field: str
) -> None:
    assert field in refused(h, method, path, 422, "VALIDATION_FAILED", json=body)["fields"]


# --- headers ------------------------------------------------------------------------------------------------
# ``environ_overrides``: the test client builds the WSGI environ directly, so values a strict HTTP parser
# might drop still reach the app.
@pytest.mark.parametrize(
    "key", ["k\r\nX-Injected: 1", "k\nX-Injected: 1", "k\x00", "k" * 256, "", "ключ", "k\tk"]
)
def test_a_bad_idempotency_key_is_refused_before_anything_runs(h: Harness, key: str) -> None:
    error = refused(h, "POST", ACTION, 422, "VALIDATION_FAILED", json={"name": "Club Injected"},
                    environ_overrides={"HTTP_IDEMPOTENCY_KEY": key})  # fmt: skip
    assert list(error["fields"]) == ["Idempotency-Key"]


@pytest.mark.parametrize("suffix", ["\r\nX-Injected: 1", "\nX-Injected: 1", "\x00", " extra", "x" * 16_384])
def test_a_connection_key_with_injected_bytes_is_401(h: Harness, suffix: str) -> None:
    environ = {"HTTP_AUTHORIZATION": f"Bearer {h.a.key}{suffix}"}
    refused(
        h, "POST", ACTION, 401, "AUTHENTICATION_REQUIRED", json={"name": "Club"}, environ_overrides=environ
    )


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/a\r\nX-Injected: 1",
        "https://hooks.example.com/a\nHost: 127.0.0.1",
        "https://hooks.example.com/\x00",
        "https://hooks.example.com\x00.evil.test/",
    ],
)
def test_a_target_url_with_injected_bytes_is_refused(h: Harness, url: str) -> None:
    refused(h, "POST", SUBSCRIBE, 422, "TARGET_URL_REFUSED", json={"target_url": url})


def test_a_very_long_target_url_is_refused(h: Harness) -> None:
    error = refused(h, "POST", SUBSCRIBE, 422, "VALIDATION_FAILED",
                    json={"target_url": "https://hooks.example.com/" + "a" * 2100})  # fmt: skip
    assert list(error["fields"]) == ["target_url"]


def test_nul_bytes_in_a_json_body_are_refused(h: Harness) -> None:
    refused(
        h, "POST", ACTION, 400, "BAD_REQUEST", data=b'{"name": "Club\x00"}', content_type="application/json"
    )


def test_a_very_long_query_value_is_refused(h: Harness) -> None:
    response = h.call("GET", "/api/deliveries", query_string={"limit": "9" * 5000})
    assert_error(response, 422, "VALIDATION_FAILED")


@pytest.mark.parametrize("value", ["req_1\r\nSet-Cookie: a=b", "req_1\rX"])
def test_an_x_request_id_with_cr_or_lf_is_not_echoed(h: Harness, value: str) -> None:
    response = h.call("GET", "/api/me", environ_overrides={"HTTP_X_REQUEST_ID": value})
    assert response.status_code == 200 and "\r" not in response.headers["X-Request-Id"]


def test_a_very_long_x_request_id_is_not_echoed(h: Harness) -> None:
    response = h.call("GET", "/api/me", headers={"X-Request-Id": "r" * 8192})
    assert response.status_code == 200 and len(response.headers["X-Request-Id"]) <= 128


def test_a_chunked_body_within_the_limit_is_read_whole_over_real_http(h: Harness) -> None:
    with serving(h.app) as url:
        chunks = iter([b'{"name": ', b'"x", "unknown_key": 1}'])
        response = requests.post(f"{url}{ACTION}", data=chunks, timeout=10,
                                 headers={**h.a.headers, "Content-Type": "application/json"})  # fmt: skip
    assert response.request.headers.get("Transfer-Encoding") == "chunked"
    assert_error(response, 422, "VALIDATION_FAILED")  # parsed whole: the unknown key at the end is seen
    assert "unknown_key" in response.json()["error"]["fields"]
