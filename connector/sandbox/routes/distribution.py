"""Distribution links of a project (endpoints.md §2): bot-link, portal-url and deep-link.

Decision where the reference is silent: without a bot, bot-link and deep-link answer VALIDATION_FAILED
`fields.bot = ["no_bot_attached"]` (see ``require_bot``).
"""

from __future__ import annotations

import re

from connector.sandbox.errors import invalid
from connector.sandbox.framework import Ctx, api
from connector.sandbox.routes.project_bots import require_bot
from connector.sandbox.store import Obj

PORTAL_BASE = "https://my.memberpass.net/"
START_PAYLOAD = re.compile(r"[A-Za-z0-9_-]{1,64}")  # what Telegram accepts after `?start=`


def start_payload(ctx: Ctx, project: Obj) -> str:
    """`access_code` (verbatim) > `plan_id` (`plan_<id>`) > `custom` (verbatim) > `project_<id>`."""
    access_code, plan_id, custom = (ctx.args.get(k) for k in ("access_code", "plan_id", "custom"))
    if access_code:
        if not START_PAYLOAD.fullmatch(access_code):
            raise invalid({"access_code": ["The access_code must be 1-64 letters, digits, `_` or `-`."]})
        return str(access_code)
    if plan_id:
        plan = ctx.store.get("plans", plan_id)
        if plan is None or plan.get("project_id") != project["id"]:
            raise invalid({"plan_id": ["The selected plan_id is invalid."]})
        return f"plan_{plan_id}"
    if custom:
        if not START_PAYLOAD.fullmatch(custom):
            raise invalid({"custom": ["The custom payload must be 1-64 letters, digits, `_` or `-`."]})
        return str(custom)
    return f"project_{project['id']}"


@api.route("GET", "/projects/<project_id>/distribution/bot-link", "distribution:read")
def get_bot_link(ctx: Ctx, project_id: str) -> Obj:
    """Like the deep link, a project without a bot answers VALIDATION_FAILED (`no_bot_attached`)."""
    bot = require_bot(ctx.store, ctx.project(project_id))
    return {"data": {"bot_url": bot["url"]}}


@api.route("GET", "/projects/<project_id>/distribution/portal-url", "distribution:read")
def get_portal_url(ctx: Ctx, project_id: str) -> Obj:
    project = ctx.project(project_id)
    return {"data": {"portal_url": PORTAL_BASE + project["handle"]}}


@api.route("GET", "/projects/<project_id>/distribution/deep-link", "distribution:read")
def get_deep_link(ctx: Ctx, project_id: str) -> Obj:
    project = ctx.project(project_id)
    payload = start_payload(ctx, project)
    bot = require_bot(ctx.store, project)
    return {
        "data": {
            "project_id": project_id,
            "bot_url": bot["url"],
            "start_payload": payload,
            "deep_link": f"{bot['url']}?start={payload}",
        }
    }
