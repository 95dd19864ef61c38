"""Project resources (endpoints.md §4): Telegram channels, groups, supergroups and manual perks.

Two input vocabularies are accepted (the docs and the n8n node disagree):
- events / docs: `type` ∈ channel, group, supergroup, manual, with `title`, `description`, `chat_id`
  (an integer Telegram chat id, or its decimal string; null for manual) and, for manual perks, `url`;
- n8n node: `type` telegram_chat → group, telegram_channel → channel, link → manual, with `target` holding
  the chat id (Telegram types) or the URL (link, required).
Stored and returned in the event vocabulary: `{id, project_id, type, title, description, chat_id, url,
linked, created_at, updated_at}`.

`linked` means "attached to delivery". A Telegram resource starts unlinked and becomes linked when the
project's bot gets admin rights in the chat (the `/_sandbox/…/link` control, which emits
`project.resource.linked`); a manual perk is linked from the start. Unlink detaches without deleting.
Deleting a resource also drops it from the plans that granted it (no `plan.updated`: a pivot change).
"""

from __future__ import annotations

import re
from typing import Any

from flask import Response

from connector.sandbox.control import control, json_response
from connector.sandbox.errors import invalid, not_found
from connector.sandbox.family import control_input, control_project, deleted, log, strip_tags
from connector.sandbox.framework import Ctx, api, services
from connector.sandbox.ids import new_id
from connector.sandbox.pagination import page_list
from connector.sandbox.routes.project_bots import require_bot
from connector.sandbox.store import Obj, Store, public
from connector.sandbox.validation import Field, validate

SUBJECT = "project-resource"
TELEGRAM_TYPES = ("channel", "group", "supergroup")
N8N_TYPES = {"telegram_chat": "group", "telegram_channel": "channel", "link": "manual"}
RESOURCE_FIELDS: dict[str, Field] = {
    "title": Field(required=True, min_len=1, max_len=255),
    "type": Field(required=True, choices=(*TELEGRAM_TYPES, "manual", *N8N_TYPES)),
    "description": Field(max_len=1000, nullable=True),
    "url": Field("url", max_len=2048, nullable=True),
    "target": Field(max_len=2048, nullable=True),
}
_URL = re.compile(r"^https?://[^\s/]+")


def resource_snapshot(resource: Obj) -> Obj:
    """The resource object of `project.resource.created` (webhooks.md §9.1)."""
    return {k: resource[k] for k in ("id", "type", "title", "description", "chat_id")}


def parse_chat_id(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d{1,20}", value.strip()):
        return int(value)
    return None


def _telegram_chat(ctx: Ctx, project: Obj, raw_type: str, target: Any) -> int:
    key = "target" if raw_type in N8N_TYPES else "chat_id"
    chat_id = parse_chat_id(ctx.body.get("chat_id", target))
    if chat_id is None:
        raise invalid({key: [f"The {key} field is required and must be a Telegram chat id (an integer)."]})
    taken = ctx.store.rows(
        "resources", lambda r: r["project_id"] == project["id"] and r["chat_id"] == chat_id
    )
    if taken:
        raise invalid({key: ["This chat is already a resource of the project."]})
    return chat_id


def clean_resource_input(ctx: Ctx, project: Obj) -> dict[str, Any]:
    clean = validate(ctx.body, RESOURCE_FIELDS)
    raw_type = clean["type"]
    target = clean.pop("target", None)
    fields: dict[str, Any] = {
        "type": N8N_TYPES.get(raw_type, raw_type),
        "title": clean["title"],
        "description": strip_tags(clean.get("description")),
        "chat_id": None,
        "url": clean.get("url"),
    }
    if fields["type"] != "manual":
        fields["chat_id"] = _telegram_chat(ctx, project, raw_type, target)
        fields["url"] = None
    elif ctx.body.get("chat_id") is not None:
        raise invalid({"chat_id": ["The chat_id must be null for a manual resource."]})
    elif raw_type == "link":
        if not isinstance(target, str) or not _URL.match(target):
            raise invalid({"target": ["The target field is required and must be a URL for a link."]})
        fields["url"] = target
    return fields


# --- plain functions ------------------------------------------------------------------------------------
def create_resource(
    store: Store, team_id: str, project: Obj, fields: dict, *, causer_id: str | None = None
) -> Obj:
    """Insert a resource (event vocabulary), emit `project.resource.created`, log it. ``fields`` may set
    `linked` (seeds); by default only manual perks start linked."""
    now = store.iso_now()
    resource: Obj = {
        "id": new_id("rsr"),
        "project_id": project["id"],
        "type": fields["type"],
        "title": fields["title"],
        "description": fields.get("description"),
        "chat_id": fields.get("chat_id"),
        "url": fields.get("url"),
        "linked": bool(fields.get("linked", fields["type"] == "manual")),
        "created_at": now,
        "updated_at": now,
        "_team": team_id,
    }
    with store.lock:
        store.insert("resources", resource)
        data = {"resource": resource_snapshot(resource)}
        store.emit(team_id, project["id"], "project.resource.created", data)
        log(store, resource, SUBJECT, "created", "Resource created", causer_id=causer_id)
    return resource


def set_linked(store: Store, resource: Obj, linked: bool, *, causer_id: str | None = None) -> bool:
    """Link or unlink; emits `project.resource.linked` / `.unlinked` only on a change."""
    with store.lock:
        if resource["linked"] == linked:
            return False
        resource["linked"] = linked
        resource["updated_at"] = store.iso_now()
        event = "linked" if linked else "unlinked"
        changes = {"linked": {"from": not linked, "to": linked}}
        log(store, resource, SUBJECT, event, f"Resource {event}", changes=changes, causer_id=causer_id)
        data: Obj = {"project_id": resource["project_id"], "resource_id": resource["id"]}
        if linked:
            data["resource"] = resource_snapshot(resource)
        store.emit(resource["_team"], resource["project_id"], f"project.resource.{event}", data)
    return True


def delete_resource(store: Store, resource: Obj, *, causer_id: str | None = None) -> None:
    with store.lock:
        store.delete("resources", resource["id"])
        for plan in store.rows("plans", lambda p: resource["id"] in p.get("resources", [])):
            plan["resources"] = [r for r in plan["resources"] if r != resource["id"]]
        log(store, resource, SUBJECT, "deleted", "Resource deleted", causer_id=causer_id)
        data = {
            "project_id": resource["project_id"],
            "resource_id": resource["id"],
            "resource": resource_snapshot(resource),
        }
        store.emit(resource["_team"], resource["project_id"], "project.resource.deleted", data)


# --- routes ---------------------------------------------------------------------------------------------
def _resource(ctx: Ctx, project_id: str, resource_id: str) -> Obj:
    ctx.project(project_id)
    return ctx.owned("resources", resource_id, "resource", project_id)


@api.route("GET", "/projects/<project_id>/resources", "project-resource:view-any")
def list_resources(ctx: Ctx, project_id: str) -> Obj:
    ctx.project(project_id)
    return page_list(ctx.store.rows("resources", lambda r: r["project_id"] == project_id), ctx.args)


@api.route("POST", "/projects/<project_id>/resources", "project-resource:create")
def post_resource(ctx: Ctx, project_id: str) -> tuple[Obj, int]:
    project = ctx.project(project_id)
    fields = clean_resource_input(ctx, project)
    resource = create_resource(ctx.store, ctx.team_id, project, fields, causer_id=ctx.token["id"])
    return {"data": public(resource)}, 201


@api.route("GET", "/projects/<project_id>/resources/<resource_id>", "project-resource:view")
def get_resource(ctx: Ctx, project_id: str, resource_id: str) -> Obj:
    return {"data": public(_resource(ctx, project_id, resource_id))}


@api.route("POST", "/projects/<project_id>/resources/<resource_id>/unlink", "project-resource:update")
def unlink_resource(ctx: Ctx, project_id: str, resource_id: str) -> Obj:
    resource = _resource(ctx, project_id, resource_id)
    set_linked(ctx.store, resource, False, causer_id=ctx.token["id"])
    return {"data": public(resource)}


@api.route("DELETE", "/projects/<project_id>/resources/<resource_id>", "project-resource:delete")
def delete_resource_route(ctx: Ctx, project_id: str, resource_id: str) -> Obj:
    resource = _resource(ctx, project_id, resource_id)
    delete_resource(ctx.store, resource, causer_id=ctx.token["id"])
    return deleted(resource_id)


@control.post("/projects/<project_id>/resources/<resource_id>/link")
def control_link_resource(project_id: str, resource_id: str) -> Response:
    """The project's bot got admin rights in the resource's chat: the resource becomes linked."""
    control_input({})
    store = services().store
    with store.lock:
        project = control_project(store, project_id)
        resource = store.get("resources", resource_id)
        if resource is None or resource["project_id"] != project_id:
            raise not_found("resource")
        if resource["type"] == "manual":
            raise invalid({"resource_id": ["A manual perk has no Telegram chat to link."]})
        require_bot(store, project)
        set_linked(store, resource, True)
        return json_response({"data": public(resource)})
