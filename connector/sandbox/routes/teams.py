"""Teams (endpoints.md §1): the token's team, the caller's teams, one team."""

from __future__ import annotations

from connector.sandbox.errors import not_found
from connector.sandbox.framework import Ctx, api
from connector.sandbox.ids import new_id
from connector.sandbox.pagination import unpaginated
from connector.sandbox.store import Obj, Store, public

TIERS = ("free", "starter", "growth")


def create_team(
    store: Store, name: str, *, tier: str = "growth", owner_user_id: str | None = None, personal: bool = True
) -> Obj:
    """Create a team (dashboard-side; there is no public team-create route in v1)."""
    team: Obj = {
        "id": new_id("tem"),
        "name": name,
        "owner_user_id": owner_user_id or new_id("cre"),
        "personal": personal,
        "created_at": store.iso_now(),
        "_tier": tier,
    }
    team["_team"] = team["id"]
    return store.insert("teams", team)


def team_view(team: Obj) -> Obj:
    return public(team)


@api.route("GET", "/teams/current", "team:view")
def current_team(ctx: Ctx) -> Obj:
    team = ctx.store.get("teams", ctx.team_id)
    if team is None:
        raise not_found("team")
    return {"data": team_view(team)}


@api.route("GET", "/teams", "team:view-any")
def list_teams(ctx: Ctx) -> Obj:
    owner = ctx.token.get("_owner")
    member_of = {m["team_id"] for m in ctx.store.rows("team_members", lambda m: m.get("user_id") == owner)}
    teams = ctx.store.rows(
        "teams", lambda t: t["id"] == ctx.team_id or t["owner_user_id"] == owner or t["id"] in member_of
    )
    return unpaginated([t for t in teams])


@api.route("GET", "/teams/<team_id>", "team:view")
def get_team(ctx: Ctx, team_id: str) -> Obj:
    if team_id != ctx.team_id:
        raise not_found("team")
    return current_team(ctx)
