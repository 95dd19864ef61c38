"""Project subscribers ("members", endpoints.md §5): list with filters, one member, ban / kick / unban.

The moderation routes answer `{id, status}` and run the lifecycle operations, which emit the member event
and cancel the member's live subscriptions (see :mod:`connector.sandbox.lifecycle`).
"""

from __future__ import annotations

from collections.abc import Callable

from connector.sandbox import lifecycle
from connector.sandbox.errors import invalid
from connector.sandbox.framework import Ctx, api
from connector.sandbox.pagination import page_list
from connector.sandbox.store import Obj, public
from connector.sandbox.validation import Field, validate

MEMBER_STATUSES = ("lead", "trialing", "customer", "churned", "banned")
REASON = {"reason": Field(max_len=1000, nullable=True)}


def _filters(ctx: Ctx) -> list[Callable[[Obj], bool]]:
    args = validate(
        ctx.args.to_dict(),
        {"status": Field(choices=MEMBER_STATUSES), "search": Field(max_len=255), "telegram_id": Field()},
    )
    checks: list[Callable[[Obj], bool]] = []
    if "status" in args:
        checks.append(lambda m: m["status"] == args["status"])
    if args.get("search"):
        needle = args["search"].casefold()
        checks.append(
            lambda m: needle in (m["name"] or "").casefold() or needle in (m["email"] or "").casefold()
        )
    if "telegram_id" in args:
        raw = args["telegram_id"].strip()
        if not raw.lstrip("-").isdigit():
            raise invalid({"telegram_id": ["The telegram_id field must be an integer."]})
        checks.append(lambda m: m["chat_id"] == int(raw))
    return checks


@api.route("GET", "/projects/<project_id>/members", "project-user:view-any")
def list_members(ctx: Ctx, project_id: str) -> Obj:
    ctx.project(project_id)
    checks = _filters(ctx)
    rows = ctx.store.rows(
        "members", lambda m: m["project_id"] == project_id and all(check(m) for check in checks)
    )
    return page_list(rows, ctx.args)


@api.route("GET", "/projects/<project_id>/members/<member_id>", "project-user:view")
def get_member(ctx: Ctx, project_id: str, member_id: str) -> Obj:
    ctx.project(project_id)
    return {"data": public(ctx.owned("members", member_id, "member", project_id))}


def _moderate(ctx: Ctx, project_id: str, member_id: str) -> tuple[Obj, lifecycle.Ops]:
    ctx.project(project_id)
    member = ctx.owned("members", member_id, "member", project_id)
    return member, lifecycle.Ops(ctx.store, ctx.team_id, causer_id=ctx.token["id"], actor_kind="api_token")


@api.route("POST", "/projects/<project_id>/members/<member_id>/ban", "project-user:update")
def ban_member(ctx: Ctx, project_id: str, member_id: str) -> Obj:
    member, ops = _moderate(ctx, project_id, member_id)
    lifecycle.ban(ops, member, validate(ctx.body, REASON).get("reason"))
    return {"data": {"id": member["id"], "status": member["status"]}}


@api.route("POST", "/projects/<project_id>/members/<member_id>/kick", "project-user:update")
def kick_member(ctx: Ctx, project_id: str, member_id: str) -> Obj:
    member, ops = _moderate(ctx, project_id, member_id)
    lifecycle.kick(ops, member, validate(ctx.body, REASON).get("reason"))
    return {"data": {"id": member["id"], "status": member["status"]}}


@api.route("POST", "/projects/<project_id>/members/<member_id>/unban", "project-user:update")
def unban_member(ctx: Ctx, project_id: str, member_id: str) -> Obj:
    member, ops = _moderate(ctx, project_id, member_id)
    lifecycle.unban(ops, member)
    return {"data": {"id": member["id"], "status": member["status"]}}
