"""The demo's receiver over real HTTP: Standard Webhooks verification, 401 for a bad signature, dedupe by
``webhook-id`` (a redelivery is acknowledged but not counted again)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import requests
from standardwebhooks.webhooks import Webhook

from connector.demo_receiver import Delivery, DemoReceiver

SECRET = "whsec_" + base64.b64encode(b"demo receiver test secret 32 by.").decode()


@pytest.fixture
def receiver() -> Iterator[tuple[DemoReceiver, list[Delivery]]]:
    seen: list[Delivery] = []
    running = DemoReceiver(seen.append).start()
    try:
        yield running, seen
    finally:
        running.stop()


def post(url: str, webhook_id: str, payload: dict[str, object], secret: str = SECRET) -> requests.Response:
    body = json.dumps(payload)
    now = datetime.now(UTC)
    headers = {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(webhook_id, now, body),
        "Content-Type": "application/json",
    }
    return requests.post(url, data=body, headers=headers, timeout=5)


def test_a_verified_delivery_is_recorded_once_per_webhook_id(
    receiver: tuple[DemoReceiver, list[Delivery]],
) -> None:
    running, seen = receiver
    url = running.endpoint("new_member", "polling", SECRET)
    assert post(url, "msg_1", {"id": "usr_1"}).status_code == 200
    assert post(url, "msg_1", {"id": "usr_1"}).status_code == 200  # a redelivery: acknowledged
    assert post(url, "msg_2", {"id": "usr_2"}).status_code == 200
    assert [(d.trigger, d.mode, d.webhook_id, d.record_id) for d in running.deliveries()] == [
        ("new_member", "polling", "msg_1", "usr_1"),
        ("new_member", "polling", "msg_2", "usr_2"),
    ]
    assert [d.record_id for d in seen] == ["usr_1", "usr_2"]  # the view hears of each id once
    assert running.redeliveries == 1
    assert running.unverified == 0
    assert running.duplicate_records() == 0


def test_a_bad_signature_is_answered_401_and_counted_unverified(
    receiver: tuple[DemoReceiver, list[Delivery]],
) -> None:
    running, seen = receiver
    url = running.endpoint("member.banned", "webhook", SECRET)
    other = "whsec_" + base64.b64encode(b"another secret, not this one...").decode()
    assert post(url, "msg_1", {"id": "evt_1"}, secret=other).status_code == 401
    unsigned = requests.post(url, json={"id": "evt_2"}, timeout=5)
    assert unsigned.status_code == 401
    unknown = post(running.endpoint_url("payment.succeeded"), "msg_3", {"id": "evt_3"})
    assert unknown.status_code == 401  # no subscription's secret for that endpoint
    assert running.unverified == 3
    assert running.deliveries() == [] and seen == []


def test_the_same_record_under_two_webhook_ids_is_reported_as_a_duplicate(
    receiver: tuple[DemoReceiver, list[Delivery]],
) -> None:
    running, _ = receiver
    url = running.endpoint("failed_payment", "polling", SECRET)
    post(url, "msg_1", {"id": "pay_1"})
    post(url, "msg_2", {"id": "pay_1"})
    assert running.duplicate_records() == 1
