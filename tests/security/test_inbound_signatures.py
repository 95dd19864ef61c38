"""``POST /hooks/memberpass/<id>``: forged, tampered, replayed and misaddressed MemberPass webhooks are
refused with the documented answer (401 for every verification failure, 404 for an unknown or polling-mode
subscription, each in the error envelope) and leave no outbox row and no remembered event id.

Signatures are made with the sandbox's own signer (what MemberPass sends, webhooks.md §4) at the app's clock.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from connector.clock import FakeClock
from connector.connections import services
from connector.sandbox import SandboxServer
from connector.sandbox.signing import signature
from tests.security.conftest import Harness, assert_error, body_of, harness
from triggers.poll import FirstRun
from triggers.subscriptions import Subscription, SubscriptionRepo
from webhooks.signing import generate_secret

SECRET = "mp-secret-abcdefghijklmnopqrstuvwxyz0123456789AB"
OTHER_SECRET = "mp-secret-ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210ab"
TRIGGER = "subscription.created"


@pytest.fixture(scope="module")
def h(sandbox_server: SandboxServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    with harness(sandbox_server, tmp_path_factory.mktemp("inbound") / "connector.db") as made:
        made.app.extensions[services.CLOCK] = FakeClock(start=time.time())
        yield made


def clock(h: Harness) -> FakeClock:
    fake: FakeClock = h.app.extensions[services.CLOCK]
    return fake


def add_subscription(h: Harness, mode: str, upstream_secret: str | None) -> Subscription:
    with h.app.app_context():
        repo = SubscriptionRepo(services.current_db(), services.current_ring(), services.current_clock())
        sub = repo.create(
            connection_id=h.a.id, trigger_key=TRIGGER, inputs={}, target_url="https://hooks.example.com/z",
            secret=generate_secret(), mode=mode, first_run=FirstRun("from_now", 0, None), poll_interval=60.0,
        )  # fmt: skip
        if upstream_secret is not None:
            repo.set_upstream(sub.id, "whe_upstream", upstream_secret)
        return sub


@pytest.fixture(scope="module")
def sub(h: Harness) -> Subscription:
    return add_subscription(h, "webhook", SECRET)


def event(event_id: str = "evt_01HXSECURITY0000000000001") -> bytes:
    envelope = {
        "id": event_id,
        "type": TRIGGER,
        "created_at": "2026-05-18T10:05:00Z",
        "api_version": "2026-05-01",
        "project_id": "prj_01HX",
        "data": {"subscription_id": "sub_01HX", "plan_id": "pln_01HX", "subscriber_id": "usr_01HX"},
    }
    return json.dumps(envelope, separators=(",", ":")).encode()


def header(h: Harness, body: bytes, *, secret: str = SECRET, skew: int = 0, versions: str = "v1") -> str:
    """``t=…`` plus one signature per version listed (``"v1"``, ``"v0"``, ``"v1,v0"``)."""
    t = int(clock(h).now()) + skew
    sig = signature(secret, t, body)
    return ",".join([f"t={t}", *(f"{v}={sig}" for v in versions.split(","))])


def post(h: Harness, sub_id: str, body: bytes, mp_signature: str | None) -> Any:
    headers = {"Content-Type": "application/json"}
    if mp_signature is not None:
        headers["MP-Signature"] = mp_signature
    return h.client.post(f"/hooks/memberpass/{sub_id}", data=body, headers=headers)


def rejected(h: Harness, sub_id: str, body: bytes, mp_signature: str | None, status: int, code: str) -> None:
    with h.unchanged():
        error = assert_error(post(h, sub_id, body, mp_signature), status, code)
    assert SECRET not in json.dumps(error) and "v1=" not in error["message"], "the refusal leaks a secret"
    assert h.count("outbox") == 0 and h.count("inbound_events") == 0


def flip(hex_text: str) -> str:
    return hex_text[:-1] + ("0" if hex_text[-1] != "0" else "1")


def test_a_genuine_event_is_accepted_so_the_refusals_are_about_the_signature(
    h: Harness, sub: Subscription
) -> None:
    """Control: the same request, correctly signed, is queued (then the row is removed for the others)."""
    body = event("evt_01HXSECURITYCONTROL000001")
    response = post(h, sub.id, body, header(h, body))
    assert response.status_code == 200 and body_of(response) == {"received": True, "duplicate": False}
    db = h.app.extensions[services.DB].db
    assert h.count("outbox") == 1
    db.execute("DELETE FROM outbox")
    db.execute("DELETE FROM inbound_events")


def test_a_tampered_body_is_401(h: Harness, sub: Subscription) -> None:
    body = event()
    signed = header(h, body)
    tampered = body.replace(b"pln_01HX", b"pln_01HY")
    rejected(h, sub.id, tampered, signed, 401, "WEBHOOK_SIGNATURE_MISMATCH")
    rejected(h, sub.id, body + b" ", signed, 401, "WEBHOOK_SIGNATURE_MISMATCH")


@pytest.mark.parametrize("versions", ["v1", "v0", "v1,v0"])
def test_a_tampered_signature_is_401(h: Harness, sub: Subscription, versions: str) -> None:
    body = event()
    good = header(h, body, versions=versions)
    t, *sigs = good.split(",")
    forged = ",".join([t, *(f"{s.split('=')[0]}={flip(s.split('=')[1])}" for s in sigs)])
    rejected(h, sub.id, body, forged, 401, "WEBHOOK_SIGNATURE_MISMATCH")
    upper = ",".join([t, *(s.upper().replace("V", "v", 1) for s in sigs)])
    rejected(h, sub.id, body, upper, 401, "WEBHOOK_SIGNATURE_MISMATCH")
    truncated = ",".join([t, *(s[:-2] for s in sigs)])
    rejected(h, sub.id, body, truncated, 401, "WEBHOOK_SIGNATURE_MISMATCH")


def test_a_signature_for_another_timestamp_is_401(h: Harness, sub: Subscription) -> None:
    body = event()
    t = int(clock(h).now())
    moved = f"t={t - 1},v1={signature(SECRET, t, body)}"
    rejected(h, sub.id, body, moved, 401, "WEBHOOK_SIGNATURE_MISMATCH")


@pytest.mark.parametrize("versions", ["v1", "v0", "v1,v0"])
@pytest.mark.parametrize("skew", [-301, -3600, 301, 86_400])
def test_outside_the_300_s_tolerance_is_401_even_when_signed(
    h: Harness, sub: Subscription, skew: int, versions: str
) -> None:
    body = event()
    rejected(h, sub.id, body, header(h, body, skew=skew, versions=versions), 401,
             "WEBHOOK_TIMESTAMP_OUT_OF_TOLERANCE")  # fmt: skip


@pytest.mark.parametrize("versions", ["v1", "v0", "v1,v0"])
def test_a_signature_made_with_an_unknown_secret_is_401(h: Harness, sub: Subscription, versions: str) -> None:
    body = event()
    rejected(h, sub.id, body, header(h, body, secret=OTHER_SECRET, versions=versions), 401,
             "WEBHOOK_SIGNATURE_MISMATCH")  # fmt: skip


def test_the_connectors_own_signing_secret_is_not_a_memberpass_secret(h: Harness, sub: Subscription) -> None:
    """The subscription's outbound ``whsec_`` secret (shown to the subscriber) cannot sign inbound events."""
    with h.app.app_context():
        repo = SubscriptionRepo(services.current_db(), services.current_ring(), services.current_clock())
        own = repo.secret(sub.id)
    body = event()
    for secret in (own, own.removeprefix("whsec_"), ""):
        rejected(h, sub.id, body, header(h, body, secret=secret), 401, "WEBHOOK_SIGNATURE_MISMATCH")


@pytest.mark.parametrize(
    "value",
    [None, "", "v1=abc", "t=abc,v1=00", "t=1.5,v1=00", "t=1,v2=00", "garbage", "t=" + "9" * 40 + ",v1=0"],
)
def test_a_missing_or_malformed_header_is_401(h: Harness, sub: Subscription, value: str | None) -> None:
    rejected(h, sub.id, event(), value, 401, "WEBHOOK_SIGNATURE_HEADER_INVALID")


def test_a_subscription_without_a_stored_secret_refuses_everything(h: Harness) -> None:
    bare = add_subscription(h, "webhook", None)
    body = event()
    rejected(h, bare.id, body, header(h, body), 401, "WEBHOOK_SIGNATURE_MISMATCH")


@pytest.mark.parametrize("sub_id", ["sub_doesnotexist", "x" * 300, "..%2f..%2fapi%2fme"])
def test_an_unknown_subscription_is_404(h: Harness, sub_id: str) -> None:
    body = event()
    rejected(h, sub_id, body, header(h, body), 404, "RESOURCE_NOT_FOUND")


def test_a_polling_mode_subscription_takes_no_inbound_events(h: Harness) -> None:
    polling = add_subscription(h, "polling", SECRET)
    body = event()
    rejected(h, polling.id, body, header(h, body), 404, "RESOURCE_NOT_FOUND")


def test_another_subscriptions_secret_does_not_open_this_one(h: Harness, sub: Subscription) -> None:
    other = add_subscription(h, "webhook", OTHER_SECRET)
    body = event()
    rejected(h, sub.id, body, header(h, body, secret=OTHER_SECRET), 401, "WEBHOOK_SIGNATURE_MISMATCH")
    assert other.id != sub.id
