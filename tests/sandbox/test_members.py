"""Project subscribers (endpoints.md §5): list filters, tenancy, abilities, ban / kick / unban cascades."""

from __future__ import annotations

from connector.sandbox import SandboxServer
from tests.helpers import make_tenant, token_for
from tests.sandbox.subscriber_fixtures import World, make_world


def _world(server: SandboxServer) -> World:
    return make_world(server, make_tenant(server))


def test_list_members_shape_newest_first_and_page_meta(sandbox_server: SandboxServer) -> None:
    world = _world(sandbox_server)
    older = world.member("Old Timer", days_ago=5, chat_id=1)
    newer = world.member("New Comer", chat_id=2)
    response = world.tenant.get(f"/projects/{world.project['id']}/members?limit=1")
    assert response.status_code == 200
    body = response.json()
    assert [m["id"] for m in body["data"]] == [newer["id"]]
    assert set(body["data"][0]) == {
        "id",
        "project_id",
        "name",
        "email",
        "email_verified",
        "chat_id",
        "status",
        "joined_at",
    }
    assert body["meta"] == {
        "page": 1,
        "limit": 1,
        "total": 2,
        "has_more": True,
        "current_page": 1,
        "last_page": 2,
        "per_page": 1,
    }
    second = world.tenant.get(f"/projects/{world.project['id']}/members?per_page=1&page=2").json()
    assert [m["id"] for m in second["data"]] == [older["id"]]


def test_member_filters_status_search_and_telegram_id(sandbox_server: SandboxServer) -> None:
    world = _world(sandbox_server)
    ada = world.member("Ada Lovelace", status="customer", chat_id=111, email="ADA@Example.com")
    world.member("Grace Hopper", status="churned", chat_id=222)
    path = f"/projects/{world.project['id']}/members"

    def ids(query: str) -> list[str]:
        response = world.tenant.get(path + query)
        assert response.status_code == 200, response.text
        return [m["id"] for m in response.json()["data"]]

    assert ids("?status=customer") == [ada["id"]]
    assert ids("?search=LOVE") == [ada["id"]]
    assert ids("?search=ada@example") == [ada["id"]]
    assert ids("?telegram_id=111") == [ada["id"]]
    assert ids("?status=banned") == []
    bad = world.tenant.get(path + "?status=vip&telegram_id=abc")
    assert bad.status_code == 422
    assert "status" in bad.json()["error"]["fields"]
    bad_id = world.tenant.get(path + "?telegram_id=abc")
    assert bad_id.json()["error"]["fields"] == {"telegram_id": ["The telegram_id field must be an integer."]}


def test_members_tenancy_and_project_scope(sandbox_server: SandboxServer) -> None:
    world = _world(sandbox_server)
    member = world.member()
    other = make_tenant(sandbox_server)
    assert other.get(f"/projects/{world.project['id']}/members").status_code == 404
    assert other.get(f"/projects/{world.project['id']}/members/{member['id']}").status_code == 404
    elsewhere = make_world(sandbox_server, world.tenant, "Other Club")
    scoped = token_for(world.tenant, project_ids=[elsewhere.project["id"]])
    response = scoped.get(f"/projects/{world.project['id']}/members/{member['id']}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "RESOURCE_NOT_FOUND"
    mine = world.tenant.get(f"/projects/{world.project['id']}/members/{member['id']}")
    assert mine.status_code == 200 and mine.json()["data"]["id"] == member["id"]
    wrong_project = world.tenant.get(f"/projects/{elsewhere.project['id']}/members/{member['id']}")
    assert wrong_project.status_code == 404


def test_moderation_needs_project_user_update(sandbox_server: SandboxServer) -> None:
    world = _world(sandbox_server)
    member = world.member()
    reader = token_for(world.tenant, "read_only")
    for action in ("ban", "kick", "unban"):
        response = reader.post(f"/projects/{world.project['id']}/members/{member['id']}/{action}", {})
        assert response.status_code == 403
        assert response.json()["error"]["context"] == {"required_ability": "project-user:update"}
    no_list = token_for(world.tenant, ["project-user:view"])
    denied = no_list.get(f"/projects/{world.project['id']}/members")
    assert denied.json()["error"]["context"]["required_ability"] == "project-user:view-any"


def test_ban_cancels_subscriptions_and_emits_in_order(sandbox_server: SandboxServer) -> None:
    world = _world(sandbox_server)
    member = world.member(status="customer", chat_id=424242)
    sub = world.subscription(member)
    path = f"/projects/{world.project['id']}/members/{member['id']}/ban"
    response = world.tenant.post(path, {"reason": "spam"})
    assert response.status_code == 200
    assert response.json() == {"data": {"id": member["id"], "status": "banned"}}
    stored = world.tenant.get(f"/subscriptions/{sub['id']}").json()["data"]
    assert stored["status"] == "canceled" and stored["canceled_at"] == stored["ends_at"]
    moderation = [e for e in world.events() if e["type"] in ("member.banned", "subscription.cancelled")]
    assert [e["type"] for e in moderation] == ["member.banned", "subscription.cancelled"]
    banned, cancelled = moderation
    assert banned["project_id"] == world.project["id"]
    assert banned["data"] == {
        "subscriber": {"id": member["id"], "telegram_user_id": 424242, "status": "banned"},
        "reason": "spam",
    }
    assert cancelled["type"] == "subscription.cancelled"
    assert cancelled["data"]["subscription_id"] == sub["id"]
    assert cancelled["data"]["cancel_at_period_end"] is False
    before = len(world.events())
    again = world.tenant.post(path, {})
    assert again.json()["data"]["status"] == "banned"
    assert len(world.events()) == before  # banning a banned member is a no-op


def test_ban_reason_is_validated(sandbox_server: SandboxServer) -> None:
    world = _world(sandbox_server)
    member = world.member()
    response = world.tenant.post(f"/projects/{world.project['id']}/members/{member['id']}/ban", {"reason": 7})
    assert response.status_code == 422
    assert response.json()["error"]["fields"] == {"reason": ["The reason field must be a string."]}
    assert world.store.get("members", member["id"])["status"] == "lead"


def test_kick_churns_and_unban_lifts_a_ban(sandbox_server: SandboxServer) -> None:
    world = _world(sandbox_server)
    kicked = world.member("Kicked Member", status="customer", chat_id=7)
    sub = world.subscription(kicked)
    base = f"/projects/{world.project['id']}/members"
    response = world.tenant.post(f"{base}/{kicked['id']}/kick", {"reason": "rules"})
    assert response.json() == {"data": {"id": kicked["id"], "status": "churned"}}
    assert world.store.get("subscriptions", sub["id"])["status"] == "canceled"
    kick_event = world.events("member.kicked")[0]
    assert kick_event["data"]["subscriber"] == {
        "id": kicked["id"],
        "telegram_user_id": 7,
        "status": "churned",
    }

    banned = world.member("Banned Member", status="banned", chat_id=8)
    assert world.tenant.post(f"{base}/{banned['id']}/kick", {}).json()["data"]["status"] == "banned"
    lifted = world.tenant.post(f"{base}/{banned['id']}/unban", {})
    assert lifted.json() == {"data": {"id": banned["id"], "status": "churned"}}
    [unbanned] = world.events("member.unbanned")
    assert unbanned["data"] == {
        "subscriber": {"id": banned["id"], "telegram_user_id": 8, "status": "churned"}
    }
    # Unbanning someone who is not banned changes nothing and emits nothing.
    assert world.tenant.post(f"{base}/{banned['id']}/unban", {}).json()["data"]["status"] == "churned"
    assert len(world.events("member.unbanned")) == 1
    activity = world.tenant.get(f"/activity?subject_type=member&subject_id={banned['id']}").json()["data"]
    assert [a["event"] for a in activity] == ["churned"]
