"""REST-hook subscriptions: subscribe, list, read, log, delete, each scoped to the calling connection."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest

from connector.connections import services
from connector.sandbox import SandboxServer
from tests.triggers.connected import EVENT, Env, build_app, connected
from triggers.subscriptions import SubscriptionRepo


@pytest.fixture
def env(sandbox_server: SandboxServer, tmp_path: Path) -> Iterator[Env]:
    with connected(sandbox_server, tmp_path / "c.db") as made:
        yield made


def test_subscribe_answers_201_with_a_standard_webhooks_secret_shown_once(env: Env) -> None:
    response = env.subscribe(EVENT, target_url="http://127.0.0.1:9/hook", poll_interval=30)
    assert response.status_code == 201
    body = response.json
    assert body["id"].startswith("sub_") and body["mode"] == "polling" and body["status"] == "active"
    assert body["trigger_key"] == EVENT and body["target_url"] == "http://127.0.0.1:9/hook"
    assert body["first_run"] == {"policy": "from_now"} and body["poll_interval"] == 30
    assert body["secret"].startswith("whsec_")
    assert len(base64.b64decode(body["secret"].removeprefix("whsec_"))) >= 24
    with env.app.app_context():
        repo = SubscriptionRepo(
            env.app.extensions[services.DB],
            env.app.extensions[services.RING],
            env.app.extensions[services.CLOCK],
        )
        assert repo.secret(body["id"]) == body["secret"]
    stored = env.sql("SELECT secret_ciphertext FROM subscriptions WHERE id = ?", [body["id"]])[0]
    assert body["secret"].encode() not in stored["secret_ciphertext"]
    listed = env.client.get("/api/subscriptions", headers=env.headers).json["data"]
    assert [s["id"] for s in listed] == [body["id"]]
    assert "secret" not in listed[0]


def test_the_seed_is_committed_before_201(env: Env) -> None:
    env.emit(3)
    subscription_id = env.subscribed(EVENT)
    state = env.sql("SELECT state FROM poll_state WHERE subscription_id = ?", [subscription_id])[0]["state"]
    assert state is not None and '"primed": true' in state
    view = env.client.get(f"/api/subscriptions/{subscription_id}", headers=env.headers).json["data"]
    assert view["cursor"] is not None
    assert view["last_poll"]["first_run"] == "from_now" and view["last_poll"]["outcome"] == "polled"
    assert env.outbox(subscription_id) == []  # from_now emits nothing


def test_list_and_log_show_mode_status_cursor_and_each_poll(env: Env) -> None:
    subscription_id = env.subscribed(EVENT)
    env.emit(4)
    env.poll(subscription_id)
    view = env.client.get("/api/subscriptions", headers=env.headers).json["data"][0]
    assert view["mode"] == "polling" and view["status"] == "active" and view["cursor"] is not None
    assert view["last_poll"]["new"] == 4 and view["last_poll"]["enqueued"] == 4
    assert {"requests", "retries", "rate_remaining"} <= view["last_poll"]["throttling"].keys()
    log = env.client.get(f"/api/subscriptions/{subscription_id}/log", headers=env.headers).json["data"]
    assert [entry["new"] for entry in log] == [4, 0]  # newest first: the poll, then the seed
    assert log[1]["first_run"] == "from_now"
    assert log[0]["cursor_before"] == log[1]["cursor_after"]


def test_delete_removes_the_subscription_its_state_and_its_outbox_rows(env: Env) -> None:
    subscription_id = env.subscribed(EVENT)
    env.emit(2)
    env.poll(subscription_id)
    assert len(env.outbox(subscription_id)) == 2
    response = env.client.delete(f"/api/subscriptions/{subscription_id}", headers=env.headers)
    assert response.status_code == 204
    assert env.outbox(subscription_id) == []
    assert env.sql("SELECT * FROM poll_state WHERE subscription_id = ?", [subscription_id]) == []
    assert env.client.get("/api/subscriptions", headers=env.headers).json["data"] == []
    again = env.client.delete(f"/api/subscriptions/{subscription_id}", headers=env.headers)
    assert again.status_code == 404


def test_another_connection_sees_none_of_it(env: Env, tmp_path: Path) -> None:
    subscription_id = env.subscribed(EVENT)
    other_token = env.mint()["token"]
    other = env.client.post("/api/connections", json={"token": other_token}).json["connection_key"]
    headers = {"Authorization": f"Bearer {other}"}
    assert env.client.get("/api/subscriptions", headers=headers).json["data"] == []
    for method, path in (
        ("GET", f"/api/subscriptions/{subscription_id}"),
        ("GET", f"/api/subscriptions/{subscription_id}/log"),
        ("DELETE", f"/api/subscriptions/{subscription_id}"),
    ):
        assert env.client.open(path, method=method, headers=headers).status_code == 404
    assert env.client.get(f"/api/subscriptions/{subscription_id}", headers=env.headers).status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "target_url"),
        ({"target_url": "ftp://example.com/x"}, "target_url"),
        ({"target_url": "http://127.0.0.1:9/x", "first_run": "everything"}, "first_run"),
        ({"target_url": "http://127.0.0.1:9/x", "first_run": "last_n"}, "n"),
        ({"target_url": "http://127.0.0.1:9/x", "first_run": "last_n", "n": 0}, "n"),
        ({"target_url": "http://127.0.0.1:9/x", "first_run": "since", "since": "yesterday"}, "since"),
        ({"target_url": "http://127.0.0.1:9/x", "poll_interval": 0}, "poll_interval"),
        ({"target_url": "http://127.0.0.1:9/x", "inputs": {"colour": "red"}}, "colour"),
    ],
)
def test_bad_bodies_are_422_naming_the_field(env: Env, body: dict[str, object], field: str) -> None:
    response = env.client.post(f"/api/triggers/{EVENT}/subscriptions", json=body, headers=env.headers)
    assert response.status_code == 422, response.json
    assert field in response.json["error"]["fields"]
    assert env.sql("SELECT id FROM subscriptions") == []


def test_a_list_trigger_validates_its_inputs(env: Env) -> None:
    missing = env.subscribe("new_member")
    assert missing.status_code == 422 and "project_id" in missing.json["error"]["fields"]
    made = env.subscribe("new_member", inputs={"project_id": env.project_id})
    assert made.status_code == 201 and made.json["inputs"] == {"project_id": env.project_id}


def test_a_missing_ability_is_403_naming_it(sandbox_server: SandboxServer, tmp_path: Path) -> None:
    with connected(sandbox_server, tmp_path / "ro.db", seed_token="read_only") as env:
        response = env.subscribe(EVENT)
        assert response.status_code == 403
        error = response.json["error"]
        assert error["code"] == "TOKEN_MISSING_ABILITY"
        assert error["context"]["required_ability"] == "webhook-endpoint:manage"
        assert env.sql("SELECT id FROM subscriptions") == []
        assert env.subscribe("new_member", inputs={"project_id": env.project_id}).status_code == 201


def test_unknown_trigger_is_404_and_no_key_is_401(env: Env) -> None:
    assert env.subscribe("no_such_trigger").status_code == 404
    assert (
        env.client.post(
            f"/api/triggers/{EVENT}/subscriptions", json={"target_url": "http://x.y/"}
        ).status_code
        == 401
    )


def test_private_targets_are_refused_unless_allowed(sandbox_server: SandboxServer, tmp_path: Path) -> None:
    with connected(sandbox_server, tmp_path / "strict.db", allow_private_targets=False) as env:
        for url in ("http://127.0.0.1:9/hook", "http://10.0.0.7/hook", "http://169.254.169.254/latest"):
            response = env.subscribe(EVENT, target_url=url)
            assert response.status_code == 422, url
            assert "target_url" in response.json["error"]["fields"]


def test_the_app_does_not_start_the_scheduler(sandbox_server: SandboxServer, tmp_path: Path) -> None:
    app = build_app(sandbox_server, tmp_path / "bare.db")
    try:
        assert "triggers.scheduler" not in app.extensions
    finally:
        app.extensions[services.DB].close()


def upstream_ids(env: Env) -> list[str]:
    listed = env.upstream("GET", "/webhook-subscriptions").json()["data"]
    return [item["id"] for item in listed]


def test_webhook_mode_registers_upstream_and_delete_unregisters(
    sandbox_server: SandboxServer, tmp_path: Path
) -> None:
    public = {"public_url": "http://127.0.0.1:9/connector"}
    with connected(sandbox_server, tmp_path / "hooks.db", **public) as env:
        made = env.subscribe(EVENT)
        assert made.status_code == 201 and made.json["mode"] == "webhook"
        row = env.sql("SELECT upstream_id, upstream_secret_ciphertext FROM subscriptions")[0]
        assert row["upstream_id"] in upstream_ids(env) and row["upstream_secret_ciphertext"]
        listed = env.subscribe("new_member", inputs={"project_id": env.project_id})
        assert listed.json["mode"] == "polling"  # list-backed triggers always poll
        deleted = env.client.delete(f"/api/subscriptions/{made.json['id']}", headers=env.headers)
        assert deleted.status_code == 204
        assert row["upstream_id"] not in upstream_ids(env)


def test_the_poll_log_keeps_the_newest_200_per_subscription(env: Env) -> None:
    from triggers.engine import LOG_KEEP, PollEngine, _Progress

    kept, other = env.subscribed(EVENT), env.subscribed(EVENT)
    cdb = env.app.extensions[services.DB]
    for n in range(LOG_KEEP + 5):
        with cdb.transaction() as db:
            PollEngine._write_log(db, kept, _Progress(), 1_780_000_000.0 + n, {"outcome": "polled", "n": n})
    log = env.client.get(f"/api/subscriptions/{kept}/log?limit=200", headers=env.headers).json["data"]
    assert len(log) == LOG_KEEP == 200
    assert log[0]["n"] == LOG_KEEP + 4 and log[-1]["n"] == 5
    assert len(env.client.get(f"/api/subscriptions/{other}/log", headers=env.headers).json["data"]) == 1
    too_many = env.client.get(f"/api/subscriptions/{kept}/log?limit=500", headers=env.headers)
    assert too_many.status_code == 422
