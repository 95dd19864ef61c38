"""The activity log (endpoints.md §6): `GET /activity`, ability `activity:read`, a capped list.

`subject_type` takes the docs' vocabulary (`project`, `project-subscription`, `project-subscription-plan`,
`project-user`, `project-resource`, …) and the n8n node's (`member`, `plan`, `subscription`,
`access-code`), which is mapped onto the docs' names; the meta echoes the docs' name. [convention] Both
filters are optional (without them the whole team's log is listed); a project-scoped token sees only
entries of its projects and team-level ones. Secrets in `properties` are scrubbed.
"""

from __future__ import annotations

import re
from typing import Any

from connector.sandbox.errors import invalid
from connector.sandbox.framework import Ctx, api
from connector.sandbox.pagination import capped_list
from connector.sandbox.store import Obj

N8N_SUBJECT_TYPES = {
    "member": "project-user",
    "plan": "project-subscription-plan",
    "subscription": "project-subscription",
    "access-code": "project-access-code",
    "resource": "project-resource",
    "payment-method": "project-payment-method",
}
SECRET_KEYS = re.compile(r"(secret|token|password|api_key|private_key)", re.IGNORECASE)
_SUBJECT_TYPE = re.compile(r"^[a-z][a-z-]{1,63}$")


def normalise_subject_type(value: str) -> str:
    return N8N_SUBJECT_TYPES.get(value, value)


def scrub(value: Any) -> Any:
    """Replace the values of secret-looking keys, at any depth."""
    if isinstance(value, dict):
        return {k: "[redacted]" if SECRET_KEYS.search(str(k)) else scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v) for v in value]
    return value


@api.route("GET", "/activity", "activity:read")
def list_activity(ctx: Ctx) -> Obj:
    raw_type = ctx.args.get("subject_type") or None
    subject_id = ctx.args.get("subject_id") or None
    if raw_type is not None and not _SUBJECT_TYPE.match(raw_type):
        raise invalid(
            {"subject_type": ["The subject_type field must be a subject type such as project-user."]}
        )
    subject_type = normalise_subject_type(raw_type) if raw_type else None

    def keep(entry: Obj) -> bool:
        return (
            entry["_team"] == ctx.team_id
            and ctx.in_scope(entry.get("project_id"))
            and (subject_type is None or entry["subject_type"] == subject_type)
            and (subject_id is None or entry["subject_id"] == subject_id)
        )

    meta = {"subject_type": subject_type, "subject_id": subject_id}
    listed = capped_list(ctx.store.rows("activity", keep), ctx.args, extra_meta=meta)
    listed["data"] = [{**row, "properties": scrub(row["properties"])} for row in listed["data"]]
    return listed
