"""Projects (endpoints.md §2): CRUD, archive / restore, and `create_project` (used by seed and simulation).
Bots live in ``project_bots``, distribution links in ``distribution``, shared helpers in ``family``.

Decisions where the reference is silent:
- Handles are unique across all teams (the portal URL `my.memberpass.net/<handle>` is global). A generated
  handle is the ASCII slug of the name, with a random suffix when taken or shorter than 5 characters.
- A custom handle (on create, or a changed handle on update) needs a tier other than `free`.
- `description` is limited to 1000 characters as sent, then HTML tags are stripped.
- A hard delete removes the project's plans, resources, access codes and payment methods silently and
  detaches its bot; `project.deleted` is then the last event from the project.
- The n8n node's `platform` is an alias of `type`; `website_url` is stored but, like `metrics`, changes it
  make emit no `project.updated` (only name, description, handle, terms and privacy do).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from connector.sandbox.errors import ApiError, invalid, not_found
from connector.sandbox.family import apply_changes, deleted, log, strip_tags, team_tier
from connector.sandbox.framework import Ctx, api
from connector.sandbox.ids import new_id, random_alnum
from connector.sandbox.pagination import page_list
from connector.sandbox.routes.project_bots import attach_bot, project_bot
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
