"""The activity log (endpoints.md §6): subject filters in both vocabularies, limits, scope, scrubbing."""

from __future__ import annotations

from connector.sandbox import SandboxServer
from tests.helpers import make_tenant, token_for
from tests.sandbox.subscriber_fixtures import World, make_world

ENTRY_KEYS = {
    "id",
    "log_name",
    "description",
    "event",
    "subject_type",
    "subject_id",
    "causer_type",
    "causer_id",
    "properties",
    "actor_kind",
    "created_at",
    "project_id",
}


def _banned_member(server: SandboxServer) -> tuple[World, dict]:
    world = make_world(server, make_tenant(server))
    member = world.member(status="customer")
    world.subscription(member)
    response = world.tenant.post(
        f"/projects/{world.project['id']}/members/{member['id']}/ban", {"reason": "spam"}
    )
    assert response.status_code == 200
    return world, member


def test_activity_of_one_subject_in_docs_and_n8n_vocabulary(sandbox_server: SandboxServer) -> None:
    world, member = _banned_member(sandbox_server)
    for subject_type in ("project-user", "member"):
        body = world.tenant.get(f"/activity?subject_type={subject_type}&subject_id={member['id']}").json()
        [entry] = body["data"]
        assert set(entry) == ENTRY_KEYS
        assert entry["id"].startswith("act_")
        assert (entry["subject_type"], entry["event"], entry["actor_kind"]) == (
            "project-user",
            "banned",
            "api_token",
        )
        assert entry["causer_id"] == world.tenant.token_record["id"]
        assert entry["properties"] == {"changes": {"status": {"from": "customer", "to": "banned"}}}
        assert body["meta"] == {
            "subject_type": "project-user",
            "subject_id": member["id"],
            "total": 1,
            "limit": 50,
        }
    subs = world.tenant.get("/activity?subject_type=subscription").json()
    assert [e["event"] for e in subs["data"]] == ["cancelled"]
    assert subs["meta"]["subject_type"] == "project-subscription"
    plans = world.tenant.get("/activity?subject_type=plan").json()["data"]
    assert [(e["subject_id"], e["event"]) for e in plans] == [(world.plan["id"], "created")]


def test_activity_limit_team_and_scope(sandbox_server: SandboxServer) -> None:
    world, member = _banned_member(sandbox_server)
    everything = world.tenant.get("/activity").json()
    assert everything["meta"]["total"] >= 4  # project, resource, plan, gateway, ban, cancellation
    limited = world.tenant.get("/activity?limit=1").json()
    assert len(limited["data"]) == 1 and limited["data"][0]["id"] == everything["data"][0]["id"]
    for bad in ("limit=0", "limit=201", "subject_type=Not%20A%20Type"):
        response = world.tenant.get("/activity?" + bad)
        assert response.status_code == 422, bad
    assert make_tenant(sandbox_server).get(f"/activity?subject_id={member['id']}").json()["data"] == []
    other = make_world(sandbox_server, world.tenant, "Other Club")
    scoped = token_for(world.tenant, project_ids=[other.project["id"]])
    assert scoped.get(f"/activity?subject_id={member['id']}").json()["data"] == []
    reader = token_for(world.tenant, "read_only")
    assert reader.get("/activity").status_code == 200
    no_ability = token_for(world.tenant, ["project:view"]).get("/activity")
    assert no_ability.json()["error"]["context"]["required_ability"] == "activity:read"


def test_activity_scrubs_secrets(sandbox_server: SandboxServer) -> None:
    world = make_world(sandbox_server, make_tenant(sandbox_server))
    world.store.log_activity(
        world.tenant.team["id"],
        "project",
        world.project["id"],
        "updated",
        "Bot rotated",
        changes={"bot_token": {"from": "123:abc", "to": "456:def"}, "name": {"from": "a", "to": "b"}},
        project_id=world.project["id"],
    )
    [entry] = world.tenant.get(
        f"/activity?subject_type=project&subject_id={world.project['id']}&limit=1"
    ).json()["data"]
    assert entry["properties"]["changes"] == {"bot_token": "[redacted]", "name": {"from": "a", "to": "b"}}
