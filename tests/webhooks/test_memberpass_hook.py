"""`POST /hooks/memberpass/<subscription id>`: MemberPass's signed webhooks verified, deduped and queued.

Signatures are made by the sandbox's own signer (what MemberPass sends, webhooks.md §4), over the exact
bytes posted, at the app's clock."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connector.sandbox import SandboxServer
from connector.sandbox.signing import signature, signature_header
from tests.webhooks.delivery_support import Env, connector_env, new_secret
from triggers.subscriptions import Subscription
from webhooks import outbox

UPSTREAM_SECRET = "mp-secret-abcdefghijklmnopqrstuvwxyz0123456789AB"  # MemberPass's secrets carry no prefix


@pytest.fixture
def env(sandbox_server: SandboxServer, tmp_path: Path) -> Iterator[Env]:
    with connector_env(sandbox_server, tmp_path / "connector.db") as made:
        yield made


def webhook_sub(env: Env, who: str = "mine", secret: str = UPSTREAM_SECRET) -> Subscription:
    sub = env.subscribe(who, "https://example.com/zap", new_secret(), mode="webhook")
    env.repo.set_upstream(sub.id, "whe_upstream", secret)
    return sub


def event(event_id: str = "evt_01HXTEST000000000000000001", kind: str = "subscription.created") -> bytes:
    envelope = {
        "id": event_id,
        "type": kind,
        "created_at": "2026-05-18T10:05:00Z",
        "api_version": "2026-05-01",
        "project_id": "prj_01HX",
        "data": {"subscription_id": "sub_01HX", "plan_id": "pln_01HX", "subscriber_id": "usr_01HX"},
    }
    return json.dumps(envelope, separators=(",", ":")).encode()


def post(env: Env, sub_id: str, body: bytes, header: str | None) -> Any:
    headers = {"Content-Type": "application/json"}
    if header is not None:
        headers["MP-Signature"] = header
    return env.client.post(f"/hooks/memberpass/{sub_id}", data=body, headers=headers)


def signed(env: Env, body: bytes, secret: str = UPSTREAM_SECRET, skew: float = 0) -> str:
    return signature_header(int(env.clock.now() + skew), body, secret)


def test_a_verified_event_is_queued_once_as_the_triggers_item(env: Env) -> None:
    sub = webhook_sub(env)
    body = event()
    response = post(env, sub.id, body, signed(env, body))
    assert response.status_code == 200 and response.json == {"received": True, "duplicate": False}
    [row] = env.outbox_rows()
    assert row["id"] == outbox.delivery_id(sub.id, "evt_01HXTEST000000000000000001")
    assert (row["record_key"], row["subscription_id"], row["status"]) == (
        "evt_01HXTEST000000000000000001", sub.id, "pending",
    )  # fmt: skip
    item = json.loads(row["payload"])
    assert item["id"] == "evt_01HXTEST000000000000000001" and item["type"] == "subscription.created"
    assert item["data__plan_id"] == "pln_01HX"  # shaped like the polling endpoint's items


def test_the_same_event_twice_is_one_outbox_row(env: Env) -> None:
    sub = webhook_sub(env)
    body = event()
    assert post(env, sub.id, body, signed(env, body)).json["duplicate"] is False
    env.clock.advance(30)  # MemberPass's retry, signed afresh
    again = post(env, sub.id, body, signed(env, body))
    assert again.status_code == 200 and again.json == {"received": True, "duplicate": True}
    assert len(env.outbox_rows()) == 1


def test_two_subscriptions_to_one_event_each_queue_it(env: Env) -> None:
    first, second = webhook_sub(env), webhook_sub(env, secret=UPSTREAM_SECRET + "2")
    body = event()
    assert post(env, first.id, body, signed(env, body)).json["duplicate"] is False
    assert post(env, second.id, body, signed(env, body, UPSTREAM_SECRET + "2")).json["duplicate"] is False
    assert sorted(r["subscription_id"] for r in env.outbox_rows()) == sorted([first.id, second.id])


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("tampered", "WEBHOOK_SIGNATURE_MISMATCH"),
        ("stale", "WEBHOOK_TIMESTAMP_OUT_OF_TOLERANCE"),
        ("future", "WEBHOOK_TIMESTAMP_OUT_OF_TOLERANCE"),
        ("unknown_secret", "WEBHOOK_SIGNATURE_MISMATCH"),
        ("missing", "WEBHOOK_SIGNATURE_HEADER_INVALID"),
    ],
)
def test_a_bad_signature_is_401_and_queues_nothing(env: Env, case: str, code: str) -> None:
    sub = webhook_sub(env)
    body = event()
    header = {
        "tampered": signed(env, event("evt_01HXTEST000000000000000002")),
        "stale": signed(env, body, skew=-301),
        "future": signed(env, body, skew=301),
        "unknown_secret": signed(env, body, secret="another-secret"),
        "missing": None,
    }[case]
    response = post(env, sub.id, body, header)
    assert response.status_code == 401
    error = response.json["error"]
    assert error["code"] == code and UPSTREAM_SECRET not in json.dumps(error)
    assert env.outbox_rows() == []
    assert env.db.db.execute("SELECT COUNT(*) FROM inbound_events").fetchone()[0] == 0
    # a refusal remembers nothing: MemberPass's genuine retry of the same event is accepted
    assert post(env, sub.id, body, signed(env, body)).json == {"received": True, "duplicate": False}


def test_v0_during_a_dual_sign_rotation_is_accepted(env: Env) -> None:
    sub = webhook_sub(env)  # the connector knows the old secret only
    body = event()
    t = int(env.clock.now())
    header = f"t={t},v0={signature(UPSTREAM_SECRET, t, body)},v1={signature('the-new-secret', t, body)}"
    response = post(env, sub.id, body, header)
    assert response.status_code == 200 and len(env.outbox_rows()) == 1


def test_unknown_and_polling_mode_subscriptions_are_404(env: Env) -> None:
    body = event()
    polling = env.subscribe("mine", "https://example.com/zap", new_secret())
    for sub_id in ("sub_doesnotexist", polling.id):
        response = post(env, sub_id, body, signed(env, body))
        assert response.status_code == 404 and response.json["error"]["code"] == "RESOURCE_NOT_FOUND"
    assert env.outbox_rows() == []


def test_another_event_type_is_acknowledged_and_not_queued(env: Env) -> None:
    sub = webhook_sub(env)
    body = event(kind="payment.succeeded")
    response = post(env, sub.id, body, signed(env, body))
    assert response.status_code == 200 and "ignored" in response.json
    assert env.outbox_rows() == []


def test_a_signed_body_that_is_not_an_event_is_400(env: Env) -> None:
    sub = webhook_sub(env)
    body = b'["not", "an", "event"]'
    response = post(env, sub.id, body, signed(env, body))
    assert response.status_code == 400 and env.outbox_rows() == []


def test_event_ids_are_kept_at_least_a_day(env: Env) -> None:
    sub = webhook_sub(env)
    old = event("evt_01HXOLD0000000000000000001")
    post(env, sub.id, old, signed(env, old))
    env.clock.advance(24 * 3600)
    assert env.db.db.execute("SELECT COUNT(*) FROM inbound_events").fetchone()[0] == 1
    env.clock.advance(24 * 3600 + 1)
    new = event("evt_01HXNEW0000000000000000001")
    post(env, sub.id, new, signed(env, new))
    kept = [r[0] for r in env.db.db.execute("SELECT event_id FROM inbound_events").fetchall()]
    assert kept == ["evt_01HXNEW0000000000000000001"]
