"""A project's Telegram bot: the `bots` table, `GET /projects/{project}/bot`, and the dashboard-side
control route `POST /_sandbox/projects/<project_id>/bot`.

Decisions where the reference is silent:
- Bots live in table `bots` (`bot_` id, `name`, `url` https://t.me/<name>, `status` healthy / degraded,
  `project_id` or None). The control route connects, rotates, degrades, recovers and disconnects them; a
  disconnected bot stays on the team and can be attached to a new project through `bot_id` on create.
- Routes that need a bot (bot-link, deep-link) answer VALIDATION_FAILED `fields.bot = ["no_bot_attached"]`
  without one (``require_bot``).
"""

from __future__ import annotations

from flask import Response

from connector.sandbox.control import control, json_response
from connector.sandbox.errors import ApiError, invalid
from connector.sandbox.family import control_input, control_project, log
from connector.sandbox.framework import Ctx, api, services
from connector.sandbox.ids import new_id, random_alnum
from connector.sandbox.store import Obj, Store
from connector.sandbox.validation import Field

BOT_STATUSES = ("healthy", "degraded")
BOT_NAME = r"[A-Za-z][A-Za-z0-9_]{1,27}_?[Bb][Oo][Tt]"
BOT_ACTIONS = ("connect", "disconnect", "degrade", "recover")


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


@api.route("GET", "/projects/<project_id>/bot", "project:view")
def get_bot(ctx: Ctx, project_id: str) -> Obj:
    ctx.project(project_id)
    return {"data": bot_status(ctx.store, project_id)}


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
