"""The event feed `GET /v1/webhook-events` (C12): every emitted event of the team, newest first, for 30 days.

Items are the envelopes exactly as delivered: `{id, type, created_at, api_version, project_id, data}`.
Query: `type` (repeatable or comma-separated), `project_id`, `cursor` + `limit` (1-200, default 50).
Decisions where the reference is silent:

- Retention (`settings.event_retention`) runs on the sandbox clock; older events drop out of the feed.
- A project-scoped token (C13) sees only its projects' events, not team-level ones (`project_id` null):
  those could describe the whole team. A `project_id` outside its scope is RESOURCE_NOT_FOUND.
- An unknown `type` is VALIDATION_FAILED. Events whose minimum subscribing abilities (webhooks.md §9) the
  token lacks are left out; asking for such a `type` explicitly is TOKEN_MISSING_ABILITY, as subscribing is.
"""

from __future__ import annotations

from typing import Any

from connector.sandbox.errors import invalid
from connector.sandbox.event_catalog import EVENTS
from connector.sandbox.framework import Ctx, api
from connector.sandbox.pagination import keyset_list
from connector.sandbox.routes.webhooks import MANAGE
from connector.sandbox.store import Obj
from connector.sandbox.webhook_endpoints import require_event_abilities


def requested_types(args: Any) -> list[str]:
    """`type=a&type=b` and `type=a,b` alike; raises VALIDATION_FAILED naming unknown names."""
    names = [n.strip() for raw in args.getlist("type") for n in raw.split(",") if n.strip()]
    unknown = [n for n in names if n not in EVENTS]
    if unknown:
        raise invalid({"type": [f"Unknown event name(s): {', '.join(unknown)}."]})
    return list(dict.fromkeys(names))


def _readable(token: Obj, event_type: str) -> bool:
    return all(a in token["abilities"] for a in EVENTS.get(event_type, ()))


@api.route("GET", "/webhook-events", MANAGE)
def event_feed(ctx: Ctx) -> Obj:
    types = requested_types(ctx.args)
    require_event_abilities(ctx.token, types)
    project_id = ctx.args.get("project_id") or None
    if project_id is not None:
        ctx.project(project_id)
    oldest = ctx.now - ctx.settings.event_retention

    def wanted(event: Obj) -> bool:
        if event["_team"] != ctx.team_id or event["_at"] < oldest:
            return False
        if ctx.scope is not None and event["project_id"] not in ctx.scope:
            return False
        if project_id is not None and event["project_id"] != project_id:
            return False
        return event["type"] in types if types else _readable(ctx.token, event["type"])

    return keyset_list(ctx.store.rows("events", wanted), ctx.args)
