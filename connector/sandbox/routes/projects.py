"""Projects (endpoints.md §2): CRUD, archive / restore, bot status, distribution links, the bot control
route, and the helpers the rest of the project family shares (activity, changes, delete shape, controls).

Decisions where the reference is silent:
- `DELETE` answers 200 `{"data": {"id", "deleted": true}}` (workflow tools need a body to show); the same
  shape is used by every delete route of this family (plans, resources, access codes).
- Handles are unique across all teams (the portal URL `my.memberpass.net/<handle>` is global). A generated
  handle is the ASCII slug of the name, with a random suffix when taken or shorter than 5 characters.
- A custom handle (on create, or a changed handle on update) needs a tier other than `free`.
- `description` is limited to 1000 characters as sent, then HTML tags are stripped.
- A hard delete removes the project's plans, resources, access codes and payment methods silently and
  detaches its bot; `project.deleted` is then the last event from the project.
- Bots live in table `bots` (`bot_` id, `name`, `url` https://t.me/<name>, `status` healthy / degraded,
  `project_id` or None). The dashboard side (`POST /_sandbox/projects/<id>/bot`) connects, rotates,
  degrades, recovers and disconnects them; a disconnected bot stays on the team and can be attached to a
  new project through `bot_id` on create. Without a bot, bot-link and deep-link answer VALIDATION_FAILED
  `fields.bot = ["no_bot_attached"]`.
- The n8n node's `platform` is an alias of `type`; `website_url` is stored but, like `metrics`, changes it
  make emit no `project.updated` (only name, description, handle, terms and privacy do).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from flask import Response

from connector.sandbox.control import control, json_body, json_response
from connector.sandbox.errors import ApiError, invalid, not_found
from connector.sandbox.framework import Ctx, api, services
from connector.sandbox.ids import new_id, random_alnum
from connector.sandbox.pagination import page_list
from connector.sandbox.store import Obj, Store, public
from connector.sandbox.validation import Field, validate

HANDLE_PATTERN = r"[a-z0-9-]{5,255}"
EVENT_FIELDS = ("name", "description", "handle", "terms", "privacy")
CHILD_TABLES = ("plans", "resources", "access_codes", "payment_methods")
PROJECT_FIELDS: dict[str, Field] = {
    "name": Field(required=True, min_len=5, max_len=255),
    "description": Field(max_len=1000, nullable=True),
    "handle": Field(pattern=HANDLE_PATTERN, nullable=True),
    "type": Field(choices=("telegram",), nullable=True),
    "platform": Field(choices=("telegram",), nullable=True),
    "terms": Field("url", max_len=255, nullable=True),
    "privacy": Field("url", max_len=255, nullable=True),
    "website_url": Field("url", max_len=255, nullable=True),
    "metrics": Field("bool", nullable=True),
    "active": Field("bool", nullable=True),
    "bot_id": Field(nullable=True),
    "team_id": Field(nullable=True),
}
_NON_NULL = ("type", "platform", "metrics", "active", "team_id")


# --- helpers shared by the project family --------------------------------------------------------------
def strip_tags(text: str | None) -> str | None:
    return None if text is None else re.sub(r"<[^>]*>", "", text).strip()


def apply_changes(obj: Obj, fields: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Write ``fields`` into ``obj``; return `{field: {from, to}}` for the values that really changed."""
    changes = {}
    for name, value in fields.items():
        if obj.get(name) != value:
            changes[name] = {"from": obj.get(name), "to": value}
            obj[name] = value
    return changes


def log(
    store: Store,
    obj: Obj,
    subject_type: str,
    event: str,
    description: str,
    *,
    changes: Obj | None = None,
    causer_id: str | None = None,
) -> None:
    """Activity entry for a project-family object (a token's action, or the system's without one)."""
    store.log_activity(
        obj["_team"],
        subject_type,
        obj["id"],
        event,
        description,
        causer_id=causer_id,
        changes=changes,
        actor_kind="api_token" if causer_id else "system",
        project_id=obj.get("project_id", obj["id"]),
    )


def deleted(obj_id: str) -> Obj:
    return {"data": {"id": obj_id, "deleted": True}}


def team_tier(store: Store, team_id: str) -> str:
    team = store.get("teams", team_id)
    return str(team.get("_tier", "free")) if team else "free"


# --- views ----------------------------------------------------------------------------------------------
def project_view(project: Obj) -> Obj:
    return public(project)


def project_snapshot(project: Obj) -> Obj:
    """The project object of `project.created` / `project.deleted` (webhooks.md §9.1)."""
    return {k: project[k] for k in ("id", "name", "handle", "description", "active", "team_id")}


def project_counts(store: Store, project_id: str) -> Obj:
    def count(table: str) -> int:
        return len(store.rows(table, lambda o: o.get("project_id") == project_id))

    return {
        "plans": count("plans"),
        "resources": count("resources"),
        "subscribers": count("members"),
        "payment_methods": count("payment_methods"),
    }


# --- handles --------------------------------------------------------------------------------------------
def handle_taken(store: Store, handle: str, except_id: str | None = None) -> bool:
    return any(p["handle"] == handle and p["id"] != except_id for p in store.table("projects").values())


def generate_handle(store: Store, name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    base = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:240] or "project"
    handle = base
    while len(handle) < 5 or handle_taken(store, handle):
        handle = f"{base}-{random_alnum(4).lower()}"
    return handle


# --- plain functions (seed, simulation and routes) ------------------------------------------------------
def create_project(store: Store, team_id: str, fields: dict, *, causer_id: str | None = None) -> Obj:
    """Insert a project, emit `project.created` (and `project.bot.connected` for a `bot_id`), log it."""
    now = store.iso_now()
    project: Obj = {
        "id": new_id("prj"),
        "name": fields["name"],
        "handle": fields.get("handle") or generate_handle(store, fields["name"]),
        "type": fields.get("type") or "telegram",
        "description": fields.get("description"),
        "banner_url": None,
        "photo_url": None,
        "terms": fields.get("terms"),
        "privacy": fields.get("privacy"),
        "website_url": fields.get("website_url"),
        "metrics": bool(fields.get("metrics", False)),
        "active": bool(fields.get("active", True)),
        "team_id": team_id,
        "created_at": now,
        "updated_at": now,
        "_team": team_id,
    }
    with store.lock:
        store.insert("projects", project)
        store.emit(team_id, project["id"], "project.created", {"project": project_snapshot(project)})
        log(store, project, "project", "created", "Project created", causer_id=causer_id)
        bot = store.get("bots", fields["bot_id"]) if fields.get("bot_id") else None
        if bot is not None:
            attach_bot(store, project, bot)
    return project


def update_project(store: Store, project: Obj, fields: dict, *, causer_id: str | None = None) -> Obj:
    """Apply a partial update; emit `project.updated` for the tracked fields and archive / restore for
    `active`. Returns every change, as logged."""
    fields = dict(fields)
    active = fields.pop("active", None)
    with store.lock:
        changes = apply_changes(project, fields)
        if changes:
            project["updated_at"] = store.iso_now()
            log(store, project, "project", "updated", "Project updated", changes=changes, causer_id=causer_id)
        tracked = {k: v for k, v in changes.items() if k in EVENT_FIELDS}
        if tracked:
            data = {"project": project_view(project), "changes": tracked}
            store.emit(project["_team"], project["id"], "project.updated", data)
        if active is not None:
            set_project_active(store, project, bool(active), causer_id=causer_id)
    return changes


def set_project_active(store: Store, project: Obj, active: bool, *, causer_id: str | None = None) -> bool:
    """Archive (`active` false) or restore; emits `project.archived` / `project.restored` on a change."""
    with store.lock:
        if project["active"] == active:
            return False
        project["active"] = active
        project["updated_at"] = store.iso_now()
        event = "restored" if active else "archived"
        changes = {"active": {"from": not active, "to": active}}
        log(store, project, "project", event, f"Project {event}", changes=changes, causer_id=causer_id)
        data = {"project": {"id": project["id"], "active": active}}
        store.emit(project["_team"], project["id"], f"project.{event}", data)
    return True


def delete_project(store: Store, project: Obj, *, causer_id: str | None = None) -> None:
    """Hard delete with its children; `project.deleted` is the last event from the project."""
    with store.lock:
        for table in CHILD_TABLES:
            for row in store.rows(table, lambda o: o.get("project_id") == project["id"]):
                store.delete(table, row["id"])
        bot = project_bot(store, project["id"])
        if bot is not None:
            bot["project_id"] = None
        store.delete("projects", project["id"])
        log(store, project, "project", "deleted", "Project deleted", causer_id=causer_id)
        store.emit(project["_team"], project["id"], "project.deleted", {"project": project_snapshot(project)})


# --- bot ------------------------------------------------------------------------------------------------
BOT_STATUSES = ("healthy", "degraded")


def project_bot(store: Store, project_id: str) -> Obj | None:
    return next((b for b in store.table("bots").values() if b["project_id"] == project_id), None)


def new_bot(store: Store, team_id: str, name: str) -> Obj:
    """A Telegram bot registered on the team, not yet attached to a project."""
    bot = {
        "id": new_id("bot"),
        "name": name,
        "url": f"https://t.me/{name}",
        "status": "healthy",
        "project_id": None,
        "created_at": store.iso_now(),
        "_team": team_id,
    }
    return store.insert("bots", bot)


def attach_bot(store: Store, project: Obj, bot: Obj) -> None:
    """Attach ``bot``; a bot already on the project is rotated out first (`project.bot.disconnected`)."""
    with store.lock:
        detach_bot(store, project)
        bot["project_id"] = project["id"]
        data = {"project_id": project["id"], "bot_id": bot["id"]}
        store.emit(project["_team"], project["id"], "project.bot.connected", data)
        log(store, project, "project", "bot_connected", f"Bot @{bot['name']} connected")


def detach_bot(store: Store, project: Obj) -> Obj | None:
    with store.lock:
        bot = project_bot(store, project["id"])
        if bot is None:
            return None
        bot["project_id"] = None
        data = {"project_id": project["id"], "bot_id": bot["id"]}
        store.emit(project["_team"], project["id"], "project.bot.disconnected", data)
        log(store, project, "project", "bot_disconnected", f"Bot @{bot['name']} disconnected")
        return bot


def set_bot_status(store: Store, project: Obj, bot: Obj, status: str) -> bool:
    """Enter or leave the degraded state; `project.bot.status_changed` only on a change."""
    with store.lock:
        if bot["status"] == status:
            return False
        bot["status"] = status
        data = {"project_id": project["id"], "bot_id": bot["id"], "status": status}
        store.emit(project["_team"], project["id"], "project.bot.status_changed", data)
    return True


def bot_status(store: Store, project_id: str) -> Obj:
    bot = project_bot(store, project_id)
    view = None if bot is None else {k: bot[k] for k in ("id", "name", "url", "status")}
    return {"project_id": project_id, "connected": bot is not None, "bot": view}


def default_bot_name(store: Store, project: Obj) -> str:
    """Telegram usernames: 5-32 characters of letters, digits and `_`, starting with a letter, ending in
    `bot`; unique among the sandbox's bots."""
    base = "mp_" + project["handle"].replace("-", "_")[:24]
    name = base + "_bot"
    while any(b["name"] == name for b in store.table("bots").values()):
        name = f"{base}_{random_alnum(3).lower()}_bot"[-32:]
    return name


# --- routes ---------------------------------------------------------------------------------------------
def clean_project_input(ctx: Ctx, project: Obj | None = None) -> dict[str, Any]:
    """Validate a create (``project`` None) or update body into stored field values."""
    clean = validate(ctx.body, PROJECT_FIELDS, partial=project is not None)
    for key in _NON_NULL:
        if key in clean and clean[key] is None:
            del clean[key]
    platform = clean.pop("platform", None)
    clean.setdefault("type", platform)
    if project is not None or clean["type"] is None:
        clean.pop("type")  # the platform is locked once created (and `telegram` is the only value)
    if clean.pop("team_id", ctx.team_id) != ctx.team_id:
        raise not_found("team")
    if "description" in clean:
        clean["description"] = strip_tags(clean["description"])
    handle = clean.get("handle")
    if handle is None or (project is not None and handle == project["handle"]):
        clean.pop("handle", None)
    elif handle_taken(ctx.store, handle):
        raise invalid({"handle": ["The handle has already been taken."]})
    elif team_tier(ctx.store, ctx.team_id) == "free":
        raise ApiError(
            "TEAM_TIER_REQUIRED",
            "A custom handle needs the Starter or Growth tier.",
            remediation="Upgrade the team to Starter or Growth, or omit `handle` to get a generated one.",
            context={"feature": "custom_handle", "required_tier": "starter"},
        )
    return clean


def _check_bot_id(ctx: Ctx, clean: dict[str, Any]) -> None:
    bot_id = clean.get("bot_id")
    if bot_id is None:
        return
    bot = ctx.store.get("bots", bot_id)
    if bot is None or bot["_team"] != ctx.team_id or bot["project_id"] is not None:
        raise invalid({"bot_id": ["The selected bot_id is invalid or already attached to a project."]})


@api.route("GET", "/projects", "project:view-any")
def list_projects(ctx: Ctx) -> Obj:
    handle = ctx.args.get("handle")
    items = ctx.store.rows(
        "projects",
        lambda p: (
            p["_team"] == ctx.team_id and ctx.in_scope(p["id"]) and (not handle or p["handle"] == handle)
        ),
    )
    return page_list(items, ctx.args)


@api.route("POST", "/projects", "project:create")
def post_project(ctx: Ctx) -> tuple[Obj, int]:
    clean = clean_project_input(ctx)
    _check_bot_id(ctx, clean)
    project = create_project(ctx.store, ctx.team_id, clean, causer_id=ctx.token["id"])
    return {"data": project_view(project)}, 201


@api.route("GET", "/projects/<project_id>", "project:view")
def get_project(ctx: Ctx, project_id: str) -> Obj:
    project = ctx.project(project_id)
    return {"data": {**project_view(project), "counts": project_counts(ctx.store, project_id)}}


@api.route("PATCH", "/projects/<project_id>", "project:update")
def patch_project(ctx: Ctx, project_id: str) -> Obj:
    project = ctx.project(project_id)
    clean = clean_project_input(ctx, project)
    clean.pop("bot_id", None)  # connecting or rotating a bot is dashboard-only
    update_project(ctx.store, project, clean, causer_id=ctx.token["id"])
    return {"data": project_view(project)}


@api.route("DELETE", "/projects/<project_id>", "project:delete")
def delete_project_route(ctx: Ctx, project_id: str) -> Obj:
    project = ctx.project(project_id)
    delete_project(ctx.store, project, causer_id=ctx.token["id"])
    return deleted(project_id)


@api.route("POST", "/projects/<project_id>/archive", "project:update")
def archive_project(ctx: Ctx, project_id: str) -> Obj:
    project = ctx.project(project_id)
    set_project_active(ctx.store, project, False, causer_id=ctx.token["id"])
    return {"data": project_view(project)}


@api.route("POST", "/projects/<project_id>/restore", "project:update")
def restore_project(ctx: Ctx, project_id: str) -> Obj:
    project = ctx.project(project_id)
    set_project_active(ctx.store, project, True, causer_id=ctx.token["id"])
    return {"data": project_view(project)}


@api.route("GET", "/projects/<project_id>/bot", "project:view")
def get_bot(ctx: Ctx, project_id: str) -> Obj:
    ctx.project(project_id)
    return {"data": bot_status(ctx.store, project_id)}


# --- distribution ---------------------------------------------------------------------------------------
PORTAL_BASE = "https://my.memberpass.net/"
START_PAYLOAD = re.compile(r"[A-Za-z0-9_-]{1,64}")  # what Telegram accepts after `?start=`


def require_bot(store: Store, project: Obj) -> Obj:
    bot = project_bot(store, project["id"])
    if bot is None:
        raise ApiError(
            "VALIDATION_FAILED",
            "The project has no Telegram bot attached (no_bot_attached).",
            remediation="Connect a Telegram bot to the project in the MemberPass dashboard first.",
            fields={"bot": ["no_bot_attached"]},
            context={"reason": "no_bot_attached"},
        )
    return bot


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


# --- dashboard-side controls (/_sandbox/) ---------------------------------------------------------------
BOT_NAME = r"[A-Za-z][A-Za-z0-9_]{1,27}_?[Bb][Oo][Tt]"
BOT_ACTIONS = ("connect", "disconnect", "degrade", "recover")


def control_input(spec: dict[str, Field]) -> dict[str, Any]:
    body = json_body()
    if not isinstance(body, dict):
        raise invalid({"body": ["must be a JSON object"]})
    return validate(body, spec)


def control_project(store: Store, project_id: str) -> Obj:
    project = store.get("projects", project_id)
    if project is None:
        raise not_found("project")
    return project


@control.post("/projects/<project_id>/bot")
def control_bot(project_id: str) -> Response:
    """`{"action": "connect" | "disconnect" | "degrade" | "recover", "name"?}` — what the dashboard and
    Telegram do to a project's bot. `connect` on a project with a bot rotates it."""
    clean = control_input(
        {"action": Field(required=True, choices=BOT_ACTIONS), "name": Field(pattern=BOT_NAME, nullable=True)}
    )
    store = services().store
    with store.lock:
        project = control_project(store, project_id)
        if clean["action"] == "connect":
            name = clean.get("name") or default_bot_name(store, project)
            attach_bot(store, project, new_bot(store, project["_team"], name))
        else:
            bot = project_bot(store, project_id)
            if bot is None:
                raise invalid({"action": ["no_bot_attached"]}, "The project has no bot attached.")
            if clean["action"] == "disconnect":
                detach_bot(store, project)
            else:
                set_bot_status(store, project, bot, "degraded" if clean["action"] == "degrade" else "healthy")
        return json_response({"data": bot_status(store, project_id)})
