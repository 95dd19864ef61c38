"""`GET /api/deliveries` and `POST /api/deliveries/<id>/retry`: scoped to the caller, filtered, paginated;
a dead delivery replayed through the API reaches the receiver."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connector.connections import services
from connector.sandbox import SandboxServer
from tests.webhooks.delivery_support import Env, Receiver, connector_env, new_secret, running_receiver
from webhooks import outbox
from webhooks.worker import DeliveryWorker


@pytest.fixture
def env(sandbox_server: SandboxServer, tmp_path: Path) -> Iterator[Env]:
    with connector_env(sandbox_server, tmp_path / "connector.db") as made:
        yield made


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


def test_the_log_lists_the_callers_deliveries_newest_first(env: Env) -> None:
    first = env.subscribe("mine", "https://example.com/1", new_secret())
    second = env.subscribe("mine", "https://example.com/2", new_secret())
    older = env.enqueue(first, ["a", "b"])
    env.clock.advance(5)
    newer = env.enqueue(second, ["c"])
    env.enqueue(env.subscribe("theirs", "https://example.com/3", new_secret()), ["x"])
    response = env.get("mine", limit=2)
    assert response.status_code == 200
    body = response.json
    assert [d["id"] for d in body["data"]] == [newer[0], older[1]]
    assert body["meta"] == {"page": 1, "limit": 2, "total": 3, "has_more": True}
    item = body["data"][0]
    assert item["payload"] == {"id": "c"} and item["status"] == "pending" and item["attempts"] == 0
    assert item["subscription_id"] == second.id and item["delivered_at"] is None
    assert [d["id"] for d in env.get("mine", limit=2, page=2).json["data"]] == [older[0]]
    assert env.get("mine", subscription_id=first.id).json["meta"]["total"] == 2
    assert env.get("mine", status="dead").json["data"] == []
    assert [d["record_key"] for d in env.get("theirs").json["data"]] == ["x"]


@pytest.mark.parametrize(
    ("query", "field"), [({"status": "lost"}, "status"), ({"limit": 0}, "limit"), ({"page": "x"}, "page")]
)
def test_bad_filters_name_the_field(env: Env, query: dict[str, Any], field: str) -> None:
    response = env.get("mine", **query)
    assert response.status_code == 422
    assert field in response.json["error"]["fields"]


def test_the_log_needs_a_connection_key(env: Env) -> None:
    response = env.client.get("/api/deliveries")
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "AUTHENTICATION_REQUIRED"


def test_retry_is_scoped_to_the_caller_and_to_replayable_rows(env: Env) -> None:
    sub = env.subscribe("mine", "https://example.com/1", new_secret())
    dead, delivered = env.enqueue(sub, ["a", "b"])
    db = env.app.extensions[services.DB]
    claimed = {r["id"]: r for r in outbox.due(db, env.clock.now(), 10)}
    outbox.mark_dead(db, claimed[dead], 500, "gave up")
    outbox.mark_delivered(db, claimed[delivered], env.clock.now(), 200)
    other = env.retry("theirs", dead)
    assert other.status_code == 404 and other.json["error"]["code"] == "RESOURCE_NOT_FOUND"
    assert env.retry("mine", "msg_000000000000000000000000").status_code == 404
    conflict = env.retry("mine", delivered)
    assert conflict.status_code == 409 and conflict.json["error"]["context"] == {"status": "delivered"}
    env.clock.advance(3)
    replayed = env.retry("mine", dead)
    assert replayed.status_code == 200
    data = replayed.json["data"]
    assert (data["id"], data["status"], data["attempts"], data["last_error"]) == (
        dead,
        "pending",
        0,
        "gave up",
    )


def test_a_dead_delivery_replayed_through_the_api_reaches_the_receiver(env: Env, receiver: Receiver) -> None:
    receiver.respond = lambda received, n: (500, {})
    secret = new_secret()
    sub = env.subscribe("mine", receiver.endpoint("r", secret), secret)
    [delivery] = env.enqueue(sub, ["rec_1"])
    worker = DeliveryWorker.for_app(env.app, jitter=lambda wait: 0.0)
    while worker.run_once():
        pass
    assert env.get("mine", status="dead").json["data"][0]["id"] == delivery
    receiver.respond = lambda received, n: (200, {})
    assert env.retry("mine", delivery).status_code == 200
    [attempt] = worker.run_once()
    assert attempt.step is not None and attempt.step.status == "delivered"
    shown = env.get("mine").json["data"][0]
    assert (shown["status"], shown["attempts"], shown["last_status"]) == ("delivered", 1, 200)
    assert receiver.ids("r") == [delivery] * 10 and all(c.verified for c in receiver.calls)
