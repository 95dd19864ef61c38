"""Project resources (endpoints.md §4) in both vocabularies, and their events (webhooks.md §9.1)."""

from __future__ import annotations

from typing import Any

import requests

from connector.sandbox import SandboxServer
from connector.sandbox.routes.plans import create_plan
from connector.sandbox.routes.projects import create_project
from connector.sandbox.routes.resources import create_resource
from tests.helpers import Tenant, make_tenant, token_for


def new_project(tenant: Tenant) -> dict[str, Any]:
    return create_project(tenant.server.sandbox.store, tenant.team["id"], {"name": "Resource project"})


def events(server: SandboxServer, project_id: str) -> list[dict[str, Any]]:
    rows = server.sandbox.store.rows(
        "events", lambda e: e["project_id"] == project_id and e["type"].startswith("project.resource.")
    )
    return list(reversed(rows))


def link(server: SandboxServer, project_id: str, resource_id: str) -> requests.Response:
    url = f"{server.url}/_sandbox/projects/{project_id}/resources/{resource_id}/link"
    return requests.post(url, timeout=5)


def test_create_channel_in_event_vocabulary(sandbox_server: SandboxServer) -> None:
    tenant = make_tenant(sandbox_server)
    pid = new_project(tenant)["id"]
    body = {
        "type": "channel",
        "title": "VIP Signals",
        "description": "<b>Daily</b>",
        "chat_id": -1001234567890,
    }
    response = tenant.post(f"/projects/{pid}/resources", body)
    assert response.status_code == 201, response.text
    resource = response.json()["data"]
    assert resource["id"].startswith("rsr_") and resource["project_id"] == pid
    assert (resource["type"], resource["chat_id"], resource["description"]) == (
        "channel",
        -1001234567890,
        "Daily",
    )
    assert resource["linked"] is False and resource["url"] is None
    [event] = events(sandbox_server, pid)
    assert event["type"] == "project.resource.created"
    assert event["data"] == {
        "resource": {
            "id": resource["id"],
            "type": "channel",
            "title": "VIP Signals",
            "description": "Daily",
            "chat_id": -1001234567890,
        }
    }


def test_create_in_n8n_vocabulary(sandbox_server: SandboxServer) -> None:
    tenant = make_tenant(sandbox_server)
    pid = new_project(tenant)["id"]
    path = f"/projects/{pid}/resources"
    chat = tenant.post(path, {"type": "telegram_chat", "title": "Chat", "target": "-100555"}).json()["data"]
    assert (chat["type"], chat["chat_id"]) == ("group", -100555)
    channel = tenant.post(path, {"type": "telegram_channel", "title": "News", "target": "-100777"}).json()
    assert channel["data"]["type"] == "channel"
    perk = tenant.post(path, {"type": "link", "title": "Course", "target": "https://example.com/c"}).json()
    assert (perk["data"]["type"], perk["data"]["chat_id"], perk["data"]["url"]) == (
        "manual",
        None,
        "https://example.com/c",
    )
    assert perk["data"]["linked"] is True
    missing = tenant.post(path, {"type": "link", "title": "Course"})
    assert missing.status_code == 422 and set(missing.json()["error"]["fields"]) == {"target"}


def test_create_validation_names_each_field(sandbox_server: SandboxServer) -> None:
    tenant = make_tenant(sandbox_server)
    pid = new_project(tenant)["id"]
    path = f"/projects/{pid}/resources"
    assert set(tenant.post(path, {}).json()["error"]["fields"]) == {"title", "type"}
    assert set(tenant.post(path, {"type": "forum", "title": "x"}).json()["error"]["fields"]) == {"type"}
    cases = [
        {"type": "channel", "title": "No chat"},
        {"type": "group", "title": "Bad chat", "chat_id": "@somewhere"},
        {"type": "manual", "title": "Perk", "chat_id": -100},
    ]
    for body in cases:
        response = tenant.post(path, body)
        assert response.status_code == 422, body
        assert set(response.json()["error"]["fields"]) == {"chat_id"}, body
    assert tenant.post(path, {"type": "supergroup", "title": "Once", "chat_id": -42}).status_code == 201
    dup = tenant.post(path, {"type": "group", "title": "Twice", "chat_id": "-42"})
    assert dup.status_code == 422 and "already" in dup.json()["error"]["fields"]["chat_id"][0]


def test_list_get_and_tenancy(sandbox_server: SandboxServer) -> None:
    tenant, other = make_tenant(sandbox_server), make_tenant(sandbox_server)
    project = new_project(tenant)
    store = sandbox_server.sandbox.store
    ids = [
        create_resource(store, tenant.team["id"], project, {"type": "manual", "title": f"Perk {i}"})["id"]
        for i in range(3)
    ]
    page = tenant.get(f"/projects/{project['id']}/resources", params={"per_page": 2}).json()
    assert [r["id"] for r in page["data"]] == [ids[2], ids[1]]
    assert (page["meta"]["total"], page["meta"]["has_more"], page["meta"]["limit"]) == (3, True, 2)
    one = tenant.get(f"/projects/{project['id']}/resources/{ids[0]}").json()["data"]
    assert set(one) >= {"id", "type", "title", "description", "chat_id"} and one["title"] == "Perk 0"
    assert other.get(f"/projects/{project['id']}/resources/{ids[0]}").status_code == 404
    elsewhere = new_project(tenant)
    assert tenant.get(f"/projects/{elsewhere['id']}/resources/{ids[0]}").status_code == 404
    scoped = token_for(tenant, project_ids=[elsewhere["id"]])
    assert scoped.get(f"/projects/{project['id']}/resources").status_code == 404


def test_unlink_keeps_the_row_and_emits_once(sandbox_server: SandboxServer) -> None:
    tenant = make_tenant(sandbox_server)
    project = new_project(tenant)
    store = sandbox_server.sandbox.store
    resource = create_resource(store, tenant.team["id"], project, {"type": "manual", "title": "Perk"})
    path = f"/projects/{project['id']}/resources/{resource['id']}"
    assert tenant.post(path + "/unlink").json()["data"]["linked"] is False
    assert tenant.post(path + "/unlink").status_code == 200
    assert tenant.get(path).json()["data"]["linked"] is False
    unlinked = [e for e in events(sandbox_server, project["id"]) if e["type"] == "project.resource.unlinked"]
    assert [e["data"] for e in unlinked] == [{"project_id": project["id"], "resource_id": resource["id"]}]


def test_link_control_needs_a_bot_and_a_telegram_chat(sandbox_server: SandboxServer) -> None:
    tenant = make_tenant(sandbox_server)
    project = new_project(tenant)
    store, team_id = sandbox_server.sandbox.store, tenant.team["id"]
    chat = create_resource(store, team_id, project, {"type": "group", "title": "Chat", "chat_id": -5})
    perk = create_resource(store, team_id, project, {"type": "manual", "title": "Perk"})
    no_bot = link(sandbox_server, project["id"], chat["id"])
    assert no_bot.status_code == 422 and no_bot.json()["error"]["fields"] == {"bot": ["no_bot_attached"]}
    bot_url = f"{sandbox_server.url}/_sandbox/projects/{project['id']}/bot"
    requests.post(bot_url, json={"action": "connect"}, timeout=5)
    assert link(sandbox_server, project["id"], chat["id"]).json()["data"]["linked"] is True
    assert link(sandbox_server, project["id"], perk["id"]).status_code == 422
    assert link(sandbox_server, project["id"], "rsr_missing").status_code == 404
    [linked] = [e for e in events(sandbox_server, project["id"]) if e["type"] == "project.resource.linked"]
    assert linked["data"]["project_id"] == project["id"] and linked["data"]["resource_id"] == chat["id"]


def test_delete_resource_detaches_it_from_plans(sandbox_server: SandboxServer) -> None:
    tenant = make_tenant(sandbox_server)
    project = new_project(tenant)
    store, team_id = sandbox_server.sandbox.store, tenant.team["id"]
    keep = create_resource(store, team_id, project, {"type": "manual", "title": "Keep"})
    gone = create_resource(store, team_id, project, {"type": "manual", "title": "Gone"})
    fields = {"name": "Bundle", "price": 10, "currency": "GBP", "billing_cycle": "years"}
    plan = create_plan(store, team_id, project, {**fields, "resources": [keep["id"], gone["id"]]})
    path = f"/projects/{project['id']}/resources/{gone['id']}"
    assert tenant.send("DELETE", path).json() == {"data": {"id": gone["id"], "deleted": True}}
    assert tenant.get(path).status_code == 404
    assert tenant.get(f"/projects/{project['id']}/plans/{plan['id']}").json()["data"]["resources"] == [
        keep["id"]
    ]
    assert events(sandbox_server, project["id"])[-1]["type"] == "project.resource.deleted"


def test_resource_abilities(sandbox_server: SandboxServer) -> None:
    tenant = make_tenant(sandbox_server, abilities=["project-resource:view-any", "project-resource:view"])
    project = new_project(tenant)
    create = tenant.post(f"/projects/{project['id']}/resources", {})
    assert create.status_code == 403
    assert create.json()["error"]["context"] == {"required_ability": "project-resource:create"}
    delete = tenant.send("DELETE", f"/projects/{project['id']}/resources/rsr_x")
    assert delete.json()["error"]["context"] == {"required_ability": "project-resource:delete"}
    assert tenant.get(f"/projects/{project['id']}/resources").status_code == 200
