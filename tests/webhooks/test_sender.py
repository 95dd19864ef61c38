"""One delivery attempt: classification with `responses`, and real HTTP to a local receiver that verifies
every signature with the `standardwebhooks` package."""

from __future__ import annotations

import json
import time

import pytest
import requests
import responses

from connector.clock import FakeClock
from tests.webhooks.local_receiver import local_receiver
from webhooks.schedule import next_step, no_jitter
from webhooks.sender import EXCERPT_BYTES, classify, retry_after_seconds, send
from webhooks.signing import generate_secret, headers_for
from webhooks.targets import delivery_session

URL = "https://hooks.example.com/in"
BODY = json.dumps({"id": "mem_01HX", "status": "active"}).encode()
SECRET = generate_secret()
CLOCK = FakeClock(start=1_780_000_000.0)


def attempt(session: requests.Session | None = None, url: str = URL) -> object:
    headers = headers_for("dlv_01HX", CLOCK.now(), BODY, [SECRET])
    return send(session or requests.Session(), url, BODY, headers, timeout=5, clock=CLOCK)


@pytest.mark.parametrize(
    ("status", "retry_after", "kind"),
    [
        (200, None, "delivered"),
        (204, None, "delivered"),
        (299, None, "delivered"),
        (410, None, "gone"),
        (429, None, "throttled"),
        (429, 30.0, "throttled"),
        (503, 30.0, "throttled"),
        (502, 30.0, "throttled"),
        (503, None, "retry"),
        (500, None, "retry"),
        (301, None, "retry"),
        (307, None, "retry"),
        (400, None, "retry"),
        (401, None, "retry"),
        (404, None, "retry"),
        (413, None, "retry"),
    ],
)
def test_classification(status: int, retry_after: float | None, kind: str) -> None:
    assert classify(status, retry_after) == kind


def test_retry_after_in_seconds_or_as_an_http_date() -> None:
    now = 1_780_000_000.0
    assert retry_after_seconds("120", now) == 120.0
    assert retry_after_seconds("Sun, 31 May 2026 20:30:00 GMT", now) == pytest.approx(1_780_259_400.0 - now)
    assert retry_after_seconds("Sun, 31 May 2020 20:30:00 GMT", now) == 0.0
    assert retry_after_seconds("soon", now) is None
    assert retry_after_seconds(None, now) is None
    assert retry_after_seconds("-5", now) is None


@responses.activate
def test_a_2xx_delivers_and_the_exact_body_and_signed_headers_are_sent() -> None:
    responses.post(URL, status=204)
    outcome = attempt()
    assert outcome.kind == "delivered" and outcome.status == 204
    sent = responses.calls[0].request
    assert sent.body == BODY
    assert sent.headers["webhook-id"] == "dlv_01HX"
    assert sent.headers["webhook-timestamp"] == str(int(CLOCK.now()))
    assert sent.headers["webhook-signature"].startswith("v1,")
    assert sent.headers["Content-Type"] == "application/json"
    assert sent.headers["User-Agent"].startswith("memberpass-connector-webhooks/")


@responses.activate
def test_a_redirect_is_a_failure_and_is_not_followed() -> None:
    responses.post(URL, status=302, headers={"Location": "http://169.254.169.254/latest/meta-data/"})
    followed = responses.get("http://169.254.169.254/latest/meta-data/", status=200)
    outcome = attempt()
    assert outcome.kind == "retry" and outcome.status == 302
    assert followed.call_count == 0 and len(responses.calls) == 1


@responses.activate
def test_429_with_an_http_date_throttles_until_that_date() -> None:
    when = "Thu, 28 May 2026 20:56:40 GMT"  # 1,780,001,800: 30 minutes after CLOCK's start
    responses.post(URL, status=429, headers={"Retry-After": when})
    outcome = attempt()
    assert outcome.kind == "throttled" and outcome.retry_after == pytest.approx(1800.0)
    assert next_step(1, outcome, CLOCK.now(), no_jitter).next_attempt_at == pytest.approx(CLOCK.now() + 1800)


@responses.activate
def test_410_gone() -> None:
    responses.post(URL, status=410)
    assert attempt().kind == "gone"


@responses.activate
def test_5xx_keeps_a_1kb_excerpt_of_the_answer() -> None:
    responses.post(URL, status=500, body="é" * 3000)
    outcome = attempt()
    assert outcome.kind == "retry" and outcome.status == 500
    assert len(outcome.excerpt.encode("utf-8")) <= EXCERPT_BYTES and outcome.excerpt.startswith("ééé")


@responses.activate
def test_a_timeout_and_a_refused_connection_are_retried() -> None:
    responses.post(URL, body=requests.ReadTimeout("slow"))
    assert (attempt().kind, attempt().error) == ("retry", "timed out")
    responses.replace(responses.POST, URL, body=requests.ConnectionError("refused"))
    outcome = attempt()
    assert outcome.kind == "retry" and outcome.status is None and "ConnectionError" in (outcome.error or "")


def test_a_real_receiver_verifies_the_signature_with_the_standard_webhooks_package() -> None:
    with local_receiver(SECRET) as receiver:
        session = delivery_session(allow_private=True)
        for _ in range(2):  # a retry reuses the webhook-id, signed afresh
            headers = headers_for("dlv_stable", time.time(), BODY, [SECRET])
            assert send(session, receiver.url(), BODY, headers, timeout=5).kind == "delivered"
        assert receiver.verified_ids == ["dlv_stable", "dlv_stable"]
        assert [json.loads(r.body) for r in receiver.requests] == [json.loads(BODY)] * 2


def test_a_real_receiver_during_rotation_and_with_a_tampered_body() -> None:
    old = generate_secret()
    with local_receiver(old) as receiver:
        session = delivery_session(allow_private=True)
        both = headers_for("dlv_rot", time.time(), BODY, [SECRET, old])
        assert send(session, receiver.url(), BODY, both, timeout=5).kind == "delivered"
        only_new = headers_for("dlv_new", time.time(), BODY, [SECRET])
        refused = send(session, receiver.url(), BODY, only_new, timeout=5)
        assert (refused.kind, refused.status) == ("retry", 401)
        tampered = send(session, receiver.url(), BODY + b" ", both, timeout=5)
        assert tampered.status == 401
        assert receiver.verified_ids == ["dlv_rot"]


def test_a_real_receiver_that_redirects_is_not_followed() -> None:
    with local_receiver(SECRET) as receiver:
        receiver.answers["/moved"] = (307, {"Location": receiver.url("/hook")}, b"moved")
        headers = headers_for("dlv_r", time.time(), BODY, [SECRET])
        outcome = send(delivery_session(allow_private=True), receiver.url("/moved"), BODY, headers, timeout=5)
        assert (outcome.kind, outcome.status, outcome.excerpt) == ("retry", 307, "moved")
        assert [r.path for r in receiver.requests] == ["/moved"]


def test_a_receiver_that_is_down_is_a_connection_failure() -> None:
    with local_receiver(SECRET) as receiver:
        url = receiver.url()
    headers = headers_for("dlv_d", time.time(), BODY, [SECRET])
    outcome = send(delivery_session(allow_private=True), url, BODY, headers, timeout=2)
    assert outcome.kind == "retry" and outcome.status is None and outcome.error
