"""Team collaborators, roles and groups (endpoints.md §1).

Stored tables: `team_members` (`{id: "cre_…", user_id, team_id, name, email, role_id, is_owner, joined_at}`;
`id` is the collaborator's user id), `team_invitations`, `roles` (`{id, team_id, name, code, abilities}`)
and `groups` (`{id, team_id, name, project_ids}`). The team owner is not stored as a member: lists start with
an owner pseudo-row whose `role_id` is null.

[convention] Inviting needs a Growth-tier team (teams are a Growth-and-up feature) and answers 201 with the
pending invitation `{id: "inv_…", team_id, email, role_id, status: "pending", invited_at}`; the email may
not already belong to a collaborator or a pending invitation.
"""

from __future__ import annotations

from connector.sandbox.errors import ApiError, invalid, not_found
from connector.sandbox.framework import Ctx, api
from connector.sandbox.ids import new_id
from connector.sandbox.lifecycle import Ops
from connector.sandbox.pagination import unpaginated
from connector.sandbox.store import Obj, Store, public
from connector.sandbox.validation import Field, validate

EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


def create_role(store: Store, team_id: str, name: str, code: str, abilities: list[str]) -> Obj:
    role = {"id": new_id("rol"), "team_id": team_id, "name": name, "code": code, "abilities": list(abilities)}
    return store.insert("roles", {**role, "created_at": store.iso_now(), "_team": team_id})


def create_group(store: Store, team_id: str, name: str, project_ids: list[str]) -> Obj:
    group = {"id": new_id("grp"), "team_id": team_id, "name": name, "project_ids": list(project_ids)}
    return store.insert("groups", {**group, "created_at": store.iso_now(), "_team": team_id})


def add_member(store: Store, team_id: str, *, name: str, email: str, role_id: str | None) -> Obj:
    user_id = new_id("cre")
    member = {
        "id": user_id,
        "user_id": user_id,
        "team_id": team_id,
        "name": name,
        "email": email,
        "role_id": role_id,
        "is_owner": False,
        "joined_at": store.iso_now(),
        "_team": team_id,
    }
    return store.insert("team_members", member)


def invite(ops: Ops, team_id: str, email: str, role: Obj) -> Obj:
    """Record a pending invitation and emit `team.member.invited` (team-level: project_id null)."""
    invitation = {
        "id": new_id("inv"),
        "team_id": team_id,
        "email": email,
        "role_id": role["id"],
        "status": "pending",
        "invited_at": ops.store.iso_now(),
        "_team": team_id,
    }
    ops.store.insert("team_invitations", invitation)
    data = {"team_id": team_id, "email": email, "role_id": role["id"], "role_code": role["code"]}
    ops.emit("team.member.invited", data, None)
    return invitation


def owner_row(team: Obj) -> Obj:
    return {
        "id": team["owner_user_id"],
        "team_id": team["id"],
        "name": team.get("_owner_name", "Team owner"),
        "email": team.get("_owner_email"),
        "role_id": None,
        "is_owner": True,
        "joined_at": team["created_at"],
    }


def _team(ctx: Ctx, team_id: str) -> Obj:
    team = ctx.store.get("teams", team_id)
    if team is None or team_id != ctx.team_id:
        raise not_found("team")
    return team


@api.route("GET", "/teams/<team_id>/members", "team-member:view-any")
def list_team_members(ctx: Ctx, team_id: str) -> Obj:
    team = _team(ctx, team_id)
    members = [public(m) for m in ctx.store.rows("team_members", lambda m: m["_team"] == team_id)]
    return unpaginated([owner_row(team), *members])


@api.route("GET", "/teams/<team_id>/members/<user_id>", "team-member:view")
def get_team_member(ctx: Ctx, team_id: str, user_id: str) -> Obj:
    team = _team(ctx, team_id)
    if user_id == team["owner_user_id"]:
        return {"data": owner_row(team)}
    return {"data": public(ctx.owned("team_members", user_id, "team member"))}


@api.route("POST", "/teams/<team_id>/members", "team-member:invite")
def invite_team_member(ctx: Ctx, team_id: str) -> tuple[Obj, int]:
    team = _team(ctx, team_id)
    if team.get("_tier") != "growth":
        raise ApiError("TEAM_TIER_REQUIRED", "Inviting collaborators needs a Growth-tier team.")
    body = validate(
        ctx.body, {"email": Field(required=True, max_len=255, pattern=EMAIL), "role_id": Field(required=True)}
    )
    role = ctx.store.get("roles", body["role_id"])
    if role is None or role["_team"] != team_id:
        raise invalid({"role_id": ["The selected role_id is not a role of this team."]})
    email = body["email"].lower()
    taken = ctx.store.rows("team_members", lambda m: m["_team"] == team_id and m["email"].lower() == email)
    taken += ctx.store.rows(
        "team_invitations",
        lambda i: i["_team"] == team_id and i["status"] == "pending" and i["email"] == email,
    )
    if taken or email == str(team.get("_owner_email", "")).lower():
        raise invalid({"email": ["This email already belongs to a collaborator or a pending invitation."]})
    ops = Ops(ctx.store, ctx.team_id, causer_id=ctx.token["id"], actor_kind="api_token")
    invitation = invite(ops, team_id, email, role)
    ctx.activity("team-member", invitation["id"], "invited", f"Invited {email}")
    return {"data": public(invitation)}, 201


@api.route("GET", "/roles", "role:view-any")
def list_roles(ctx: Ctx) -> Obj:
    return unpaginated(ctx.store.rows("roles", lambda r: r["_team"] == ctx.team_id))


@api.route("GET", "/roles/<role_id>", "role:view")
def get_role(ctx: Ctx, role_id: str) -> Obj:
    return {"data": public(ctx.owned("roles", role_id, "role"))}


@api.route("GET", "/groups", "group:view-any")
def list_groups(ctx: Ctx) -> Obj:
    return unpaginated(ctx.store.rows("groups", lambda g: g["_team"] == ctx.team_id))


@api.route("GET", "/groups/<group_id>", "group:view")
def get_group(ctx: Ctx, group_id: str) -> Obj:
    return {"data": public(ctx.owned("groups", group_id, "group"))}
