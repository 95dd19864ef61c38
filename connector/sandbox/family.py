"""Helpers shared by the project family (projects, bots, plans, resources, access codes, payment methods):
activity logging, change diffs, the delete shape, tier look-up and `/_sandbox/` control input.

Decision where the reference is silent: every delete route of the family answers 200
`{"data": {"id", "deleted": true}}` (workflow tools need a body to show).
"""

from __future__ import annotations

import re
from typing import Any

from connector.sandbox.control import json_body
from connector.sandbox.errors import invalid, not_found
from connector.sandbox.store import Obj, Store
from connector.sandbox.validation import Field, validate


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


# --- dashboard-side controls (/_sandbox/) ---------------------------------------------------------------
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
