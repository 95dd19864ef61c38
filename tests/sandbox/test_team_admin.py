"""Team collaborators, roles and groups (endpoints.md §1) and `team.member.invited`."""

from __future__ import annotations

from connector.sandbox import SandboxServer
from connector.sandbox.routes.team_admin import add_member, create_group, create_role
from connector.sandbox.store import public
from tests.helpers import Tenant, make_tenant, token_for


def _team_with_staff(server: SandboxServer) -> tuple[Tenant, dict, dict]:
    tenant = make_tenant(server)
    store = server.sandbox.store
    role = create_role(store, tenant.team["id"], "Manager", "manager", ["project:view-any"])
    member = add_member(
        store, tenant.team["id"], name="Sam Support", email="sam@example.com", role_id=role["id"]
    )
    return tenant, role, member


def test_members_list_starts_with_the_owner(sandbox_server: SandboxServer) -> None:
    tenant, role, member = _team_with_staff(sandbox_server)
    body = tenant.get(f"/teams/{tenant.team['id']}/members").json()
    owner, staff = body["data"]
    assert owner == {
        "id": tenant.team["owner_user_id"],
        "team_id": tenant.team["id"],
        "name": "Team owner",
        "email": None,
        "role_id": None,
        "is_owner": True,
        "joined_at": tenant.team["created_at"],
    }
    assert staff["id"] == member["id"] and staff["role_id"] == role["id"] and staff["is_owner"] is False
    assert body["meta"] == {"total": 2}
    one = tenant.get(f"/teams/{tenant.team['id']}/members/{member['id']}").json()["data"]
    assert one["email"] == "sam@example.com"
    assert tenant.get(f"/teams/{tenant.team['id']}/members/{tenant.team['owner_user_id']}").json()["data"][
        "is_owner"
    ]


def test_team_routes_hide_other_teams(sandbox_server: SandboxServer) -> None:
    tenant, role, member = _team_with_staff(sandbox_server)
    other = make_tenant(sandbox_server)
    assert other.get(f"/teams/{tenant.team['id']}/members").status_code == 404
    assert other.get(f"/teams/{other.team['id']}/members/{member['id']}").status_code == 404
    assert other.get(f"/roles/{role['id']}").status_code == 404
    assert other.get("/roles").json() == {"data": [], "meta": {"total": 0}}


def test_invite_emits_team_member_invited(sandbox_server: SandboxServer) -> None:
    tenant, role, _ = _team_with_staff(sandbox_server)
    response = tenant.post(
        f"/teams/{tenant.team['id']}/members", {"email": "New@Example.com", "role_id": role["id"]}
    )
    assert response.status_code == 201
    invitation = response.json()["data"]
    assert invitation["id"].startswith("inv_") and invitation["status"] == "pending"
    assert (invitation["email"], invitation["role_id"]) == ("new@example.com", role["id"])
    [event] = sandbox_server.sandbox.store.rows(
        "events", lambda e: e["_team"] == tenant.team["id"] and e["type"] == "team.member.invited"
    )
    assert event["project_id"] is None
    assert event["data"] == {
        "team_id": tenant.team["id"],
        "email": "new@example.com",
        "role_id": role["id"],
        "role_code": "manager",
    }
    again = tenant.post(
        f"/teams/{tenant.team['id']}/members", {"email": "new@example.com", "role_id": role["id"]}
    )
    assert again.status_code == 422 and set(again.json()["error"]["fields"]) == {"email"}


def test_invite_validation_tier_and_ability(sandbox_server: SandboxServer) -> None:
    tenant, role, _ = _team_with_staff(sandbox_server)
    path = f"/teams/{tenant.team['id']}/members"
    bad = tenant.post(path, {"email": "not-an-email"})
    assert bad.status_code == 422
    assert set(bad.json()["error"]["fields"]) == {"email", "role_id"}
    foreign_role = create_role(
        sandbox_server.sandbox.store, make_tenant(sandbox_server).team["id"], "X", "x", []
    )
    wrong = tenant.post(path, {"email": "a@example.com", "role_id": foreign_role["id"]})
    assert wrong.json()["error"]["fields"] == {
        "role_id": ["The selected role_id is not a role of this team."]
    }
    denied = token_for(tenant, "read_only").post(path, {"email": "a@example.com", "role_id": role["id"]})
    assert denied.json()["error"]["context"] == {"required_ability": "team-member:invite"}
    starter = make_tenant(sandbox_server, tier="starter")
    starter_role = create_role(sandbox_server.sandbox.store, starter.team["id"], "Viewer", "viewer", [])
    tier = starter.post(
        f"/teams/{starter.team['id']}/members", {"email": "a@example.com", "role_id": starter_role["id"]}
    )
    assert tier.status_code == 403 and tier.json()["error"]["code"] == "TEAM_TIER_REQUIRED"


def test_roles_and_groups(sandbox_server: SandboxServer) -> None:
    tenant, role, _ = _team_with_staff(sandbox_server)
    group = create_group(sandbox_server.sandbox.store, tenant.team["id"], "Everything", ["prj_1"])
    roles = tenant.get("/roles").json()
    assert roles["data"] == [public(role)] and roles["meta"] == {"total": 1}
    assert {"id", "name", "abilities"} <= set(roles["data"][0])
    assert tenant.get(f"/roles/{role['id']}").json()["data"]["abilities"] == ["project:view-any"]
    groups = tenant.get("/groups").json()["data"]
    assert [(g["id"], g["name"], g["project_ids"]) for g in groups] == [
        (group["id"], "Everything", ["prj_1"])
    ]
    assert tenant.get(f"/groups/{group['id']}").json()["data"]["name"] == "Everything"
    limited = token_for(tenant, ["role:view-any", "group:view-any"])
    assert limited.get(f"/roles/{role['id']}").json()["error"]["context"]["required_ability"] == "role:view"
    assert (
        limited.get(f"/groups/{group['id']}").json()["error"]["context"]["required_ability"] == "group:view"
    )
    assert token_for(tenant, ["role:view"]).get("/groups").status_code == 403
