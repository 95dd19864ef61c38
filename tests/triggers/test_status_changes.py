"""Status-change triggers read from the event feed (`source: events`), against the sandbox: a change to a
member or subscription created long ago fires exactly once, each further change once more, repeated polls
add nothing, and the polling endpoint answers newest first with `<record id>:<event id>` ids."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connector.sandbox import SandboxServer, SandboxSettings
from connector.sandbox.abilities import ALL_ABILITIES
from tests.triggers.connected import Env, connected

MEMBERS = "member_status_changed"
SUBSCRIPTIONS = "subscription_status_changed"


@pytest.fixture(scope="module")
def own_sandbox() -> Iterator[SandboxServer]:
    """These tests move the sandbox clock: a sandbox of their own keeps it from other modules' tests."""
    with SandboxServer(SandboxSettings()) as server:
        yield server


@pytest.fixture
def env(own_sandbox: SandboxServer, tmp_path: Path) -> Iterator[Env]:
    with connected(own_sandbox, tmp_path / "c.db") as made:
        yield made


def oldest(env: Env, path: str, order: str, **where: str) -> dict[str, Any]:
    """The record of ``path`` created longest ago among those matching ``where`` (reads every page)."""
    rows: list[dict[str, Any]] = []
    page = 1
    while True:
        separator = "&" if "?" in path else "?"
        body = env.upstream("GET", f"{path}{separator}limit=100&page={page}").json()
        rows += body["data"]
        if not body["meta"].get("has_more") and page >= body["meta"].get("last_page", page):
            break
        page += 1
    matching = [r for r in rows if all(r[k] == v for k, v in where.items())]
    assert len(matching) >= 1, f"the seed has no such record at {path}"
    return min(matching, key=lambda r: r[order])


def act(env: Env, path: str, body: Any = None) -> None:
    response = env.upstream("POST", path, body or {})
    assert response.status_code < 300, response.text
    # Queued work (a cancellation) falls due, and the next change gets a later second (the feed's times
    # have one-second resolution).
    env.store.clock.advance(1.0)
    env.store.scheduler.run_due()


def feed_ids(env: Env, event: str) -> list[str]:
    """The ids of the team's ``event`` events, newest first, straight from MemberPass."""
    return [e["id"] for e in env.upstream("GET", f"/webhook-events?type={event}").json()["data"]]


def payloads(env: Env, subscription_id: str) -> list[dict[str, Any]]:
    rows = env.outbox(subscription_id)
    assert [row["record_key"] for row in rows] == [json.loads(row["payload"])["id"] for row in rows]
    return [json.loads(row["payload"]) for row in rows]


def member_path(env: Env, member_id: str) -> str:
    return f"/projects/{env.project_id}/members/{member_id}"


def test_an_old_member_banned_then_unbanned_fires_once_per_change(env: Env) -> None:
    member = oldest(env, f"/projects/{env.project_id}/members", "joined_at", status="customer")
    newest_joined = env.upstream("GET", f"/projects/{env.project_id}/members?limit=1").json()["data"][0]
    assert newest_joined["id"] != member["id"], "the member must not be at the head of the list"
    subscription = env.subscribed(MEMBERS, inputs={"project_id": env.project_id})

    act(env, member_path(env, member["id"]) + "/ban", {"reason": "spam"})
    env.drain(subscription)
    env.drain(subscription)
    banned = feed_ids(env, "member.banned")[0]
    (first,) = payloads(env, subscription)
    assert first["id"] == f"{member['id']}:{banned}" and first["record_id"] == member["id"]
    assert first["event_type"] == "member.banned" and first["status"] == "banned"
    assert first["joined_at"] == member["joined_at"] and first["request_id"].startswith("req_")

    act(env, member_path(env, member["id"]) + "/unban")
    env.drain(subscription)
    env.drain(subscription)
    unbanned = feed_ids(env, "member.unbanned")[0]
    assert [p["id"] for p in payloads(env, subscription)] == [first["id"], f"{member['id']}:{unbanned}"]
    second = payloads(env, subscription)[1]
    assert second["event_type"] == "member.unbanned" and second["status"] == "churned"
    assert second["changed_at"] > first["changed_at"]


def test_an_old_subscription_cancelled_fires_once(env: Env) -> None:
    sub = oldest(env, f"/subscriptions?project_id={env.project_id}", "created_at", status="active")
    head = env.upstream("GET", f"/subscriptions?project_id={env.project_id}&limit=1").json()["data"][0]
    assert head["id"] != sub["id"], "the subscription must not be at the head of the list"
    subscription = env.subscribed(SUBSCRIPTIONS, inputs={"project_id": env.project_id})

    act(env, f"/subscriptions/{sub['id']}/cancel", {"at_period_end": True})
    for _ in range(3):
        env.drain(subscription)
    cancelled = feed_ids(env, "subscription.cancelled")[0]
    (only,) = payloads(env, subscription)
    assert only["id"] == f"{sub['id']}:{cancelled}" and only["event_type"] == "subscription.cancelled"
    assert only["status"] == "canceled" and only["cancel_at_period_end"] is True
    assert only["created_at"] == sub["created_at"]


def test_only_the_changes_handed_over_cost_a_read(env: Env) -> None:
    """The seed reads the feed alone; a poll reads one record per new change, and none when nothing is new."""
    members = [oldest(env, f"/projects/{env.project_id}/members", "joined_at", status=s) for s in
               ("customer", "churned")]  # fmt: skip
    act(env, member_path(env, members[0]["id"]) + "/kick")  # a change before the subscription exists
    subscription = env.subscribed(MEMBERS, inputs={"project_id": env.project_id})
    seeded = env.sql("SELECT decision FROM poll_log WHERE subscription_id = ?", [subscription])
    assert json.loads(seeded[0]["decision"])["throttling"]["requests"] == 1
    assert env.outbox(subscription) == []

    act(env, member_path(env, members[1]["id"]) + "/ban")
    outcome = env.poll(subscription)
    assert outcome.enqueued == 1 and outcome.decision is not None
    assert outcome.decision["throttling"]["requests"] == 2  # the feed page and the banned member
    quiet = env.poll(subscription)
    assert quiet.enqueued == 0 and quiet.decision is not None
    assert quiet.decision["throttling"]["requests"] == 1


def test_a_record_gone_upstream_still_fires_with_its_fields_null(env: Env) -> None:
    member = oldest(env, f"/projects/{env.project_id}/members", "joined_at", status="customer")
    subscription = env.subscribed(MEMBERS, inputs={"project_id": env.project_id})
    act(env, member_path(env, member["id"]) + "/ban")
    with env.store.lock:
        env.store.delete("members", member["id"])
    env.drain(subscription)
    (item,) = payloads(env, subscription)
    assert item["record_id"] == member["id"] and item["event_type"] == "member.banned"
    assert item["status"] is None and item["email"] is None


def test_the_polling_endpoint_answers_each_change_newest_first(env: Env) -> None:
    first = oldest(env, f"/projects/{env.project_id}/members", "joined_at", status="customer")
    second = oldest(env, f"/projects/{env.project_id}/members", "joined_at", status="churned")
    act(env, member_path(env, first["id"]) + "/ban")
    act(env, member_path(env, second["id"]) + "/ban")
    act(env, member_path(env, first["id"]) + "/unban")
    banned, unbanned = feed_ids(env, "member.banned"), feed_ids(env, "member.unbanned")

    query = {"project_id": env.project_id}
    response = env.client.get(f"/api/triggers/{MEMBERS}", query_string=query, headers=env.headers)
    assert response.status_code == 200
    items = response.json
    assert [i["id"] for i in items] == [
        f"{first['id']}:{unbanned[0]}",
        f"{second['id']}:{banned[0]}",
        f"{first['id']}:{banned[1]}",
    ]
    assert [i["event_type"] for i in items] == ["member.unbanned", "member.banned", "member.banned"]
    assert [i["status"] for i in items] == ["churned", "banned", "churned"]  # each record as it is now
    assert [i["changed_at"] for i in items] == sorted((i["changed_at"] for i in items), reverse=True)
    limited = env.client.get(
        f"/api/triggers/{MEMBERS}", query_string={**query, "limit": 2}, headers=env.headers
    )
    assert [i["id"] for i in limited.json] == [i["id"] for i in items[:2]]
    subscriptions = env.client.get(f"/api/triggers/{SUBSCRIPTIONS}", headers=env.headers)
    assert subscriptions.status_code == 200
    assert {i["event_type"] for i in subscriptions.json} == {"subscription.cancelled"}  # the bans revoked
    assert len({i["id"] for i in subscriptions.json}) == len(subscriptions.json)


def test_a_token_that_cannot_read_the_records_is_refused_naming_the_ability(env: Env) -> None:
    lacking = [a for a in ALL_ABILITIES if a != "project-user:view"]
    pasted = env.client.post("/api/connections", json={"token": env.mint(lacking)["token"]})
    assert pasted.status_code == 201, pasted.get_data(as_text=True)
    headers = {"Authorization": f"Bearer {pasted.json['connection_key']}"}
    body = {"target_url": "http://127.0.0.1:9/hook", "inputs": {"project_id": env.project_id}}
    refused = env.client.post(f"/api/triggers/{MEMBERS}/subscriptions", json=body, headers=headers)
    assert refused.status_code == 403
    assert refused.json["error"]["context"]["required_ability"] == "project-user:view"
