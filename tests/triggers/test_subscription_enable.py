"""Re-enabling a subscription the delivery worker disabled: active again with a clean failure record, its
waiting deliveries due at once; held and active subscriptions and other connections' ids are handled."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connector.connections import services
from connector.sandbox import SandboxServer
from tests.triggers.connected import EVENT, Env, connected
from triggers.subscriptions import SubscriptionRepo


@pytest.fixture
def env(sandbox_server: SandboxServer, tmp_path: Path) -> Iterator[Env]:
    with connected(sandbox_server, tmp_path / "c.db") as made:
        yield made


def repo(env: Env) -> SubscriptionRepo:
    ext = env.app.extensions
    return SubscriptionRepo(ext[services.DB], ext[services.RING], ext[services.CLOCK])


def enable(env: Env, subscription_id: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    response = env.client.post(f"/api/subscriptions/{subscription_id}/enable", headers=headers or env.headers)
    return response.status_code, response.json


def test_enabling_a_disabled_subscription_clears_its_failures_and_makes_waiting_rows_due(env: Env) -> None:
    subscription_id = env.subscribed(EVENT)
    env.emit(2)
    env.poll(subscription_id)
    later = 10**10
    with env.app.app_context():
        for _ in range(20):
            repo(env).record_failure(subscription_id)
        assert repo(env).disable(subscription_id, "20 failed attempts; re-enable it")
    db = env.app.extensions[services.DB].db
    db.execute(
        "UPDATE outbox SET status = 'failed', next_attempt_at = ? WHERE subscription_id = ?",
        [later, subscription_id],
    )
    db.execute(
        "INSERT INTO delivery_health (subscription_id, failing_since) VALUES (?, 1)", [subscription_id]
    )

    status, body = enable(env, subscription_id)
    assert status == 200, body
    assert body["data"]["status"] == "active" and body["data"]["status_reason"] is None
    row = env.sql("SELECT consecutive_failures FROM subscriptions WHERE id = ?", [subscription_id])[0]
    assert row["consecutive_failures"] == 0
    assert env.sql("SELECT * FROM delivery_health WHERE subscription_id = ?", [subscription_id]) == []
    assert all(r["next_attempt_at"] < later for r in env.outbox(subscription_id))
    assert len(env.outbox(subscription_id)) == 2


def test_enabling_an_active_subscription_changes_nothing(env: Env) -> None:
    subscription_id = env.subscribed(EVENT)
    before = env.sql("SELECT updated_at, status FROM subscriptions WHERE id = ?", [subscription_id])
    status, body = enable(env, subscription_id)
    assert status == 200 and body["data"]["status"] == "active"
    assert env.sql("SELECT updated_at, status FROM subscriptions WHERE id = ?", [subscription_id]) == before


def test_a_held_subscription_is_not_enabled_by_hand(env: Env) -> None:
    subscription_id = env.subscribed(EVENT)
    with env.app.app_context():
        assert repo(env).hold(subscription_id, "MemberPass refused the token")
    status, body = enable(env, subscription_id)
    assert status == 409 and body["error"]["code"] == "CONFLICT"
    assert "PUT /api/me/token" in body["error"]["remediation"]
    assert env.sql("SELECT status FROM subscriptions WHERE id = ?", [subscription_id])[0]["status"] == "held"


def test_another_connections_subscription_is_not_found_and_stays_disabled(env: Env) -> None:
    subscription_id = env.subscribed(EVENT)
    with env.app.app_context():
        repo(env).disable(subscription_id, "receiver kept failing")
    other = env.client.post("/api/connections", json={"token": env.mint()["token"]}).json
    status, body = enable(env, subscription_id, {"Authorization": f"Bearer {other['connection_key']}"})
    assert status == 404 and body["error"]["code"] == "RESOURCE_NOT_FOUND"
    assert (
        env.sql("SELECT status FROM subscriptions WHERE id = ?", [subscription_id])[0]["status"] == "disabled"
    )
