"""Projects, bot and distribution routes (endpoints.md §2) with their events (webhooks.md §9.1)."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from connector.sandbox import SandboxServer
from connector.sandbox.ids import new_id
from connector.sandbox.routes.payment_methods import add_payment_method
from connector.sandbox.routes.plans import create_plan
from connector.sandbox.routes.projects import create_project
from connector.sandbox.routes.resources import create_resource
from tests.helpers import Tenant, make_tenant, token_for


def events(server: SandboxServer, project_id: str, prefix: str = "") -> list[dict[str, Any]]:
    """Events of one project, oldest first."""
    rows = server.sandbox.store.rows(
        "events", lambda e: e["project_id"] == project_id and e["type"].startswith(prefix)
    )
    return list(reversed(rows))


def new_project(tenant: Tenant, **fields: Any) -> dict[str, Any]:
    store = tenant.server.sandbox.store
    return create_project(store, tenant.team["id"], {"name": "Trading Club", **fields})


def bot_action(server: SandboxServer, project_id: str, action: str, **extra: Any) -> requests.Response:
    url = f"{server.url}/_sandbox/projects/{project_id}/bot"
    return requests.post(url, json={"action": action, **extra}, timeout=5)


def test_create_project_returns_it_and_emits_project_created(sandbox_server: SandboxServer) -> None:
    tenant = make_tenant(sandbox_server)
    body = {
        "name": "Crypto Signals Club",
        "description": "<p>Daily <b>signals</b></p>",
        "handle": f"signals-{new_id('x')[-8:].lower()}",
        "terms": "https://example.com/terms",
        "metrics": True,
    }
    response = tenant.post("/projects", body)
    assert response.status_code == 201, response.text
    project = response.json()["data"]
    assert project["id"].startswith("prj_") and project["handle"] == body["handle"]
    assert project["description"] == "Daily signals"
    assert (project["type"], project["active"], project["team_id"]) == ("telegram", True, tenant.team["id"])
    assert project["metrics"] is True and project["created_at"].endswith("Z")
    [event] = events(sandbox_server, project["id"])
    assert event["type"] == "project.created"
    assert event["data"] == {
        "project": {
            "id": project["id"],
            "name": "Crypto Signals Club",
            "handle": body["handle"],
            "description": "Daily signals",
            "active": True,
            "team_id": tenant.team["id"],
        }
    }
    activity = sandbox_server.sandbox.store.rows("activity", lambda a: a["subject_id"] == project["id"])
    assert [(a["subject_type"], a["event"]) for a in activity] == [("project", "created")]


def test_create_project_validation_names_each_field(sandbox_server: SandboxServer) -> None:
    tenant = make_tenant(sandbox_server)
    empty = tenant.post("/projects", {})
    assert empty.status_code == 422
    assert empty.json()["error"]["code"] == "VALIDATION_FAILED"
    assert set(empty.json()["error"]["fields"]) == {"name"}
    bad = {
        "name": "Shrt",
        "handle": "Bad_Handle",
        "terms": "not a url",
        "privacy": "https://x.io/" + "p" * 250,
        "description": "d" * 1001,
        "type": "discord",
        "metrics": "yes",
    }
    fields = tenant.post("/projects", bad).json()["error"]["fields"]
    assert set(fields) == set(bad)
    assert tenant.post("/projects", {"name": "Valid name", "platform": "whatsapp"}).json()["error"][
        "fields"
    ] == {"platform": ["The selected platform is invalid; expected one of: telegram."]}


def test_handle_is_generated_unique_and_custom_needs_a_paid_tier(sandbox_server: SandboxServer) -> None:
    free = make_tenant(sandbox_server, tier="free")
    first = free.post("/projects", {"name": "Café Crème Club", "platform": "telegram"}).json()["data"]
    second = free.post("/projects", {"name": "Café Crème Club"}).json()["data"]
    assert first["handle"].startswith("cafe-creme-club")
    assert second["handle"] != first["handle"] and second["handle"].startswith("cafe-creme-club-")
    denied = free.post("/projects", {"name": "Custom handle", "handle": "my-custom-handle"})
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "TEAM_TIER_REQUIRED"
    growth = make_tenant(sandbox_server)
    taken = growth.post("/projects", {"name": "Copycat club", "handle": first["handle"]})
    assert taken.status_code == 422 and set(taken.json()["error"]["fields"]) == {"handle"}


def test_team_id_of_another_team_is_not_found(sandbox_server: SandboxServer) -> None:
    tenant, other = make_tenant(sandbox_server), make_tenant(sandbox_server)
    response = tenant.post("/projects", {"name": "Elsewhere", "team_id": other.team["id"]})
    assert response.status_code == 404 and response.json()["error"]["code"] == "RESOURCE_NOT_FOUND"
    assert tenant.post("/projects", {"name": "Right here", "team_id": tenant.team["id"]}).status_code == 201


def test_missing_ability_is_403_before_validation(sandbox_server: SandboxServer) -> None:
    tenant = make_tenant(sandbox_server, abilities=["project:view-any"])
    response = tenant.post("/projects", {})
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "TOKEN_MISSING_ABILITY"
    assert error["context"] == {"required_ability": "project:create"}
    assert tenant.get("/projects").status_code == 200


def test_list_is_newest_first_with_both_meta_styles_and_handle_filter(sandbox_server: SandboxServer) -> None:
    tenant = make_tenant(sandbox_server)
    ids = [new_project(tenant, name=f"Project number {i}")["id"] for i in range(5)]
    page = tenant.get("/projects", params={"limit": 2, "page": 2}).json()
    assert [p["id"] for p in page["data"]] == [ids[2], ids[1]]
    assert page["meta"] == {
        "page": 2,
        "limit": 2,
        "total": 5,
        "has_more": True,
        "current_page": 2,
        "last_page": 3,
        "per_page": 2,
    }
    last = tenant.get("/projects", params={"per_page": 2, "page": 3}).json()
    assert [p["id"] for p in last["data"]] == [ids[0]] and last["meta"]["has_more"] is False
    handle = tenant.get(f"/projects/{ids[3]}").json()["data"]["handle"]
    found = tenant.get("/projects", params={"handle": handle}).json()
    assert [p["id"] for p in found["data"]] == [ids[3]]
    assert set(found["data"][0]) >= {"id", "name", "handle", "type", "description", "active", "created_at"}


def test_tenancy_other_team_and_project_scope(sandbox_server: SandboxServer) -> None:
    tenant, other = make_tenant(sandbox_server), make_tenant(sandbox_server)
    mine, second = new_project(tenant), new_project(tenant, name="Second project")
    foreign = new_project(other)
    for method in ("GET", "PATCH", "DELETE"):
        response = tenant.send(method, f"/projects/{foreign['id']}", {"name": "Hijacked"})
        assert response.status_code == 404, method
        assert response.json()["error"]["code"] == "RESOURCE_NOT_FOUND"
    scoped = token_for(tenant, project_ids=[mine["id"]])
    assert [p["id"] for p in scoped.get("/projects").json()["data"]] == [mine["id"]]
    assert scoped.get(f"/projects/{second['id']}").status_code == 404
    assert scoped.get(f"/projects/{second['id']}/bot").status_code == 404
    assert scoped.post(f"/projects/{second['id']}/archive").status_code == 404
    assert second["active"] is True


def test_get_project_has_counts(sandbox_server: SandboxServer) -> None:
    tenant = make_tenant(sandbox_server)
    project = new_project(tenant)
    store, team_id = sandbox_server.sandbox.store, tenant.team["id"]
    resource = create_resource(store, team_id, project, {"type": "manual", "title": "Perk"})
    fields = {"name": "Monthly", "price": "9", "currency": "USD", "billing_cycle": "months"}
    create_plan(store, team_id, project, {**fields, "resources": [resource["id"]]})
    add_payment_method(store, team_id, project["id"], "stripe")
    for _ in range(2):
        store.insert("members", {"id": new_id("usr"), "project_id": project["id"], "_team": team_id})
    data = tenant.get(f"/projects/{project['id']}").json()["data"]
    assert data["counts"] == {"plans": 1, "resources": 1, "subscribers": 2, "payment_methods": 1}
    assert {"banner_url", "photo_url", "updated_at", "team_id"} <= set(data)


def test_patch_emits_updated_with_changes_of_tracked_fields_only(sandbox_server: SandboxServer) -> None:
    tenant = make_tenant(sandbox_server)
    project = new_project(tenant)
    body = {"name": "Renamed Club", "metrics": True, "description": "<i>New</i> text"}
    response = tenant.send("PATCH", f"/projects/{project['id']}", body)
    assert response.status_code == 200
    assert response.json()["data"]["name"] == "Renamed Club"
    [event] = events(sandbox_server, project["id"], "project.updated")
    assert event["data"]["changes"] == {
        "name": {"from": "Trading Club", "to": "Renamed Club"},
        "description": {"from": None, "to": "New text"},
    }
    assert event["data"]["project"]["metrics"] is True
    same = tenant.send("PATCH", f"/projects/{project['id']}", {"name": "Renamed Club"})
    assert same.status_code == 200
    assert len(events(sandbox_server, project["id"], "project.updated")) == 1
    bad = tenant.send("PATCH", f"/projects/{project['id']}", {"name": None, "handle": "UPPER"})
    assert set(bad.json()["error"]["fields"]) == {"name", "handle"}


def test_patch_active_archives_and_restores_instead_of_updating(sandbox_server: SandboxServer) -> None:
    tenant = make_tenant(sandbox_server)
    pid = new_project(tenant)["id"]
    assert tenant.send("PATCH", f"/projects/{pid}", {"active": False}).json()["data"]["active"] is False
    assert tenant.post(f"/projects/{pid}/archive").json()["data"]["active"] is False
    assert tenant.post(f"/projects/{pid}/restore").json()["data"]["active"] is True
    types = [e["type"] for e in events(sandbox_server, pid)]
    assert types == ["project.created", "project.archived", "project.restored"]
    assert events(sandbox_server, pid, "project.restored")[0]["data"] == {
        "project": {"id": pid, "active": True}
    }


def test_custom_handle_change_on_free_tier_is_refused(sandbox_server: SandboxServer) -> None:
    free = make_tenant(sandbox_server, tier="free")
    project = new_project(free)
    response = free.send("PATCH", f"/projects/{project['id']}", {"handle": "brand-new-handle"})
    assert response.status_code == 403 and response.json()["error"]["code"] == "TEAM_TIER_REQUIRED"
    same = free.send("PATCH", f"/projects/{project['id']}", {"handle": project["handle"]})
    assert same.status_code == 200


def test_delete_removes_children_and_project_deleted_is_last(sandbox_server: SandboxServer) -> None:
    tenant = make_tenant(sandbox_server)
    project = new_project(tenant)
    store = sandbox_server.sandbox.store
    resource = create_resource(store, tenant.team["id"], project, {"type": "manual", "title": "Perk"})
    response = tenant.send("DELETE", f"/projects/{project['id']}")
    assert response.status_code == 200
    assert response.json() == {"data": {"id": project["id"], "deleted": True}}
    assert tenant.get(f"/projects/{project['id']}").status_code == 404
    assert store.get("resources", resource["id"]) is None
    last = events(sandbox_server, project["id"])[-1]
    assert last["type"] == "project.deleted" and last["data"]["project"]["id"] == project["id"]


def test_bot_lifecycle_through_controls(sandbox_server: SandboxServer) -> None:
    tenant = make_tenant(sandbox_server)
    pid = new_project(tenant)["id"]
    assert tenant.get(f"/projects/{pid}/bot").json()["data"] == {
        "project_id": pid,
        "connected": False,
        "bot": None,
    }
    connected = bot_action(sandbox_server, pid, "connect", name="club_signals_bot").json()["data"]
    bot = connected["bot"]
    assert bot["id"].startswith("bot_") and bot["url"] == "https://t.me/club_signals_bot"
    assert tenant.get(f"/projects/{pid}/bot").json()["data"]["bot"]["id"] == bot["id"]
    for action in ("degrade", "degrade", "recover", "disconnect"):
        assert bot_action(sandbox_server, pid, action).status_code == 200
    assert tenant.get(f"/projects/{pid}/bot").json()["data"]["connected"] is False
    got = [(e["type"], e["data"]) for e in events(sandbox_server, pid, "project.bot")]
    ids = {"project_id": pid, "bot_id": bot["id"]}
    assert got == [
        ("project.bot.connected", ids),
        ("project.bot.status_changed", {**ids, "status": "degraded"}),
        ("project.bot.status_changed", {**ids, "status": "healthy"}),
        ("project.bot.disconnected", ids),
    ]


def test_bot_control_rejects_bad_input(sandbox_server: SandboxServer) -> None:
    tenant = make_tenant(sandbox_server)
    pid = new_project(tenant)["id"]
    bad = bot_action(sandbox_server, pid, "explode")
    assert bad.status_code == 422 and set(bad.json()["error"]["fields"]) == {"action"}
    none = bot_action(sandbox_server, pid, "disconnect")
    assert none.status_code == 422 and none.json()["error"]["fields"] == {"action": ["no_bot_attached"]}
    assert bot_action(sandbox_server, "prj_missing", "connect").status_code == 404
    bot_action(sandbox_server, pid, "connect")
    bot_action(sandbox_server, pid, "connect")
    rotated = [e["type"] for e in events(sandbox_server, pid, "project.bot")]
    assert rotated == ["project.bot.connected", "project.bot.disconnected", "project.bot.connected"]


def test_distribution_links(sandbox_server: SandboxServer) -> None:
    tenant = make_tenant(sandbox_server)
    project = new_project(tenant)
    pid = project["id"]
    assert tenant.get(f"/projects/{pid}/distribution/portal-url").json()["data"] == {
        "portal_url": f"https://my.memberpass.net/{project['handle']}"
    }
    for path in ("bot-link", "deep-link"):
        response = tenant.get(f"/projects/{pid}/distribution/{path}")
        assert response.status_code == 422
        assert response.json()["error"]["fields"] == {"bot": ["no_bot_attached"]}
    bot_action(sandbox_server, pid, "connect", name="club_links_bot")
    bot_url = "https://t.me/club_links_bot"
    assert tenant.get(f"/projects/{pid}/distribution/bot-link").json()["data"] == {"bot_url": bot_url}
    default = tenant.get(f"/projects/{pid}/distribution/deep-link").json()["data"]
    assert default == {
        "project_id": pid,
        "bot_url": bot_url,
        "start_payload": f"project_{pid}",
        "deep_link": f"{bot_url}?start=project_{pid}",
    }


@pytest.mark.parametrize(
    ("params", "payload"),
    [
        ({"access_code": "A3F1K9Z27Z9P", "plan_id": "PLAN", "custom": "promo"}, "A3F1K9Z27Z9P"),
        ({"plan_id": "PLAN", "custom": "promo"}, "plan_PLAN"),
        ({"custom": "promo-2026"}, "promo-2026"),
    ],
)
def test_deep_link_precedence(sandbox_server: SandboxServer, params: dict[str, str], payload: str) -> None:
    tenant = make_tenant(sandbox_server)
    project = new_project(tenant)
    store = sandbox_server.sandbox.store
    resource = create_resource(store, tenant.team["id"], project, {"type": "manual", "title": "Perk"})
    fields = {"name": "Monthly", "price": 5, "currency": "EUR", "billing_cycle": "months"}
    plan = create_plan(store, tenant.team["id"], project, {**fields, "resources": [resource["id"]]})
    bot_action(sandbox_server, project["id"], "connect")
    params = {k: v.replace("PLAN", plan["id"]) for k, v in params.items()}
    data = tenant.get(f"/projects/{project['id']}/distribution/deep-link", params=params).json()["data"]
    assert data["start_payload"] == payload.replace("PLAN", plan["id"])
    assert data["deep_link"].endswith("?start=" + data["start_payload"])


def test_deep_link_rejects_foreign_plan_and_bad_payload(sandbox_server: SandboxServer) -> None:
    tenant = make_tenant(sandbox_server)
    pid = new_project(tenant)["id"]
    bot_action(sandbox_server, pid, "connect")
    path = f"/projects/{pid}/distribution/deep-link"
    foreign = tenant.get(path, params={"plan_id": "pln_unknown"})
    assert foreign.status_code == 422 and set(foreign.json()["error"]["fields"]) == {"plan_id"}
    spaced = tenant.get(path, params={"custom": "has spaces"})
    assert spaced.status_code == 422 and set(spaced.json()["error"]["fields"]) == {"custom"}
    reader = token_for(tenant, abilities=["project:view"])
    denied = reader.get(path)
    assert denied.status_code == 403
    assert denied.json()["error"]["context"]["required_ability"] == "distribution:read"


def test_create_with_a_detached_bot_of_the_team(sandbox_server: SandboxServer) -> None:
    tenant, other = make_tenant(sandbox_server), make_tenant(sandbox_server)
    first = new_project(tenant)["id"]
    bot_id = bot_action(sandbox_server, first, "connect").json()["data"]["bot"]["id"]
    attached = tenant.post("/projects", {"name": "Takes the bot", "bot_id": bot_id})
    assert attached.status_code == 422 and set(attached.json()["error"]["fields"]) == {"bot_id"}
    bot_action(sandbox_server, first, "disconnect")
    assert other.post("/projects", {"name": "Steals the bot", "bot_id": bot_id}).status_code == 422
    created = tenant.post("/projects", {"name": "Takes the bot", "bot_id": bot_id}).json()["data"]
    assert tenant.get(f"/projects/{created['id']}/bot").json()["data"]["bot"]["id"] == bot_id
    assert [e["type"] for e in events(sandbox_server, created["id"])] == [
        "project.created",
        "project.bot.connected",
    ]
