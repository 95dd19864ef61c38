"""`GET /api/triggers/<key>`: Zapier's polling contract over real HTTP to the sandbox, for an event trigger
(the event feed) and list-backed triggers (page-based lists)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from connector.manifests import load_catalog
from connector.sandbox import SandboxServer
from tests.triggers.connected import EVENT, Env, connected
from triggers.cursor import parse_ts


@pytest.fixture
def env(sandbox_server: SandboxServer, tmp_path: Path) -> Iterator[Env]:
    with connected(sandbox_server, tmp_path / "c.db") as made:
        yield made


def ids(response: object) -> list[str]:
    return [item["id"] for item in response.json]  # type: ignore[attr-defined]


def test_event_trigger_answers_the_feed_newest_first_with_unique_ids(env: Env) -> None:
    emitted = env.emit(7)
    env.emit(2, "billing.invoice_created")  # another event type: not this trigger's
    response = env.client.get(f"/api/triggers/{EVENT}", headers=env.headers)
    assert response.status_code == 200
    assert isinstance(response.json, list)
    assert ids(response) == list(reversed(emitted))
    first = response.json[0]
    assert first["type"] == EVENT and first["data__invoice__id"] == "inv_6"
    assert first["request_id"].startswith("req_")


def test_limit_and_sample_are_honoured(env: Env) -> None:
    emitted = list(reversed(env.emit(12)))
    limited = env.client.get(f"/api/triggers/{EVENT}?limit=5", headers=env.headers)
    assert ids(limited) == emitted[:5]
    assert ids(env.client.get(f"/api/triggers/{EVENT}?sample=1", headers=env.headers)) == emitted[:3]
    header = env.client.get(f"/api/triggers/{EVENT}", headers={**env.headers, "X-Sample": "1"})
    assert ids(header) == emitted[:3]
    everything = env.client.get(f"/api/triggers/{EVENT}?limit=-1", headers=env.headers)  # Zapier: no limit
    assert ids(everything) == emitted


@pytest.mark.parametrize("limit", ["0", "101", "abc", "5&limit=6"])
def test_a_bad_limit_is_refused_naming_the_field(env: Env, limit: str) -> None:
    response = env.client.get(f"/api/triggers/{EVENT}?limit={limit}", headers=env.headers)
    assert response.status_code == 422
    assert "limit" in response.json["error"]["fields"]


def test_list_trigger_orders_by_its_field_and_shapes_every_declared_output(env: Env) -> None:
    entry = load_catalog().get("trigger", "new_member")
    assert entry is not None and entry.output is not None
    response = env.client.get(
        "/api/triggers/new_member",
        query_string={"project_id": env.project_id, "limit": 4},
        headers=env.headers,
    )
    assert response.status_code == 200
    items = response.json
    assert len(items) == 4 and len(set(ids(response))) == 4
    joined = [parse_ts(item["joined_at"]) for item in items]
    assert joined == sorted(joined, reverse=True)
    for item in items:
        assert {f.key for f in entry.output.fields} <= item.keys()
        assert item["project_id"] == env.project_id


def test_an_updated_record_trigger_keys_items_on_id_and_version(env: Env) -> None:
    """`subscription_status_changed` reads the event feed: one item per change, `<record id>:<event id>`."""
    members = env.upstream("GET", f"/projects/{env.project_id}/members?status=customer").json()["data"]
    banned = env.upstream("POST", f"/projects/{env.project_id}/members/{members[-1]['id']}/ban", {})
    assert banned.status_code == 200  # a ban cancels the member's subscriptions: `subscription.cancelled`
    response = env.client.get("/api/triggers/subscription_status_changed?limit=10", headers=env.headers)
    assert response.status_code == 200 and response.json
    for item in response.json:
        assert item["id"] == f"{item['record_id']}:{item['event_id']}"
    assert len(set(ids(response))) == len(response.json)


def test_inputs_are_validated_and_unknown_triggers_are_404(env: Env) -> None:
    missing = env.client.get("/api/triggers/new_member", headers=env.headers)
    assert missing.status_code == 422 and "project_id" in missing.json["error"]["fields"]
    unknown = env.client.get("/api/triggers/no_such_trigger", headers=env.headers)
    assert unknown.status_code == 404
    assert env.client.get(f"/api/triggers/{EVENT}").status_code == 401


def test_a_token_without_the_feed_ability_gets_403_naming_it(
    sandbox_server: SandboxServer, tmp_path: Path
) -> None:
    with connected(sandbox_server, tmp_path / "ro.db", seed_token="read_only") as env:
        response = env.client.get(f"/api/triggers/{EVENT}", headers=env.headers)
    assert response.status_code == 403
    assert response.json["error"]["code"] == "TOKEN_MISSING_ABILITY"
    assert "webhook-endpoint:manage" in response.json["error"]["remediation"]
