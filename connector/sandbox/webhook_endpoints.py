"""Webhook endpoints (webhooks.md §1, §5, §8): input checks, storage, secrets and the public view.

REST-hook subscriptions (`/v1/webhook-subscriptions`) are the same objects, made by the same controller.
Decisions where the reference is silent:

- `url` must be HTTPS; plain `http` is accepted only for loopback hosts (127.0.0.0/8, `localhost`, `[::1]`)
  when `settings.allow_http_loopback` is on. HTTPS hosts are not otherwise restricted.
- `allowed_ips` entries must be IP addresses or CIDR ranges; the sandbox stores them and enforces nothing.
- A project-scoped token (C13) may only manage endpoints of its projects: on create it must name one of
  them as `project_id` (a token scoped to exactly one project defaults to it), and team-wide endpoints
  answer RESOURCE_NOT_FOUND to it, because they would receive events outside its scope.
- `disabled_at` records an automatic disable only; `{"is_active": false}` pauses without setting it.
- Repeated names in `events` collapse to one, first occurrence kept; `project_id` cannot be changed later.
"""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit

from connector.sandbox.errors import ApiError, invalid, not_found
from connector.sandbox.event_catalog import EVENTS
from connector.sandbox.framework import Ctx
from connector.sandbox.ids import new_id, random_alnum
from connector.sandbox.settings import SandboxSettings
from connector.sandbox.store import Obj, public
from connector.sandbox.validation import Field, validate

TABLE = "webhook_endpoints"
DUAL_SIGN_WINDOW = 86_400.0  # sandbox seconds a dashboard-style rotation keeps signing with the old secret

_FIELDS: dict[str, Field] = {
    "name": Field(required=True, min_len=1, max_len=255),
    "url": Field("url", required=True, max_len=2048),
    "events": Field("list", required=True, min_len=1),
    "project_id": Field(nullable=True),
    "allowed_ips": Field("list", nullable=True),
    "is_active": Field("bool"),
}
_UPDATABLE = ("name", "url", "events", "is_active", "allowed_ips")


def new_secret() -> str:
    return random_alnum(48)


def endpoint_view(endpoint: Obj) -> Obj:
    """The endpoint as the API shows it; the secret never appears here."""
    return public(endpoint)


def visible(ctx: Ctx, endpoint: Obj) -> bool:
    if endpoint["_team"] != ctx.team_id:
        return False
    return ctx.scope is None or endpoint["project_id"] in ctx.scope


def find_endpoint(ctx: Ctx, endpoint_id: str) -> Obj:
    endpoint = ctx.store.get(TABLE, endpoint_id)
    if endpoint is None or not visible(ctx, endpoint):
        raise not_found("webhook endpoint")
    return endpoint


def create_endpoint(ctx: Ctx) -> tuple[Obj, str]:
    """Validate the body, check the token may subscribe, store the endpoint; returns it and its secret."""
    clean = validate(ctx.body, _FIELDS)
    _check_values(clean, ctx.settings)
    require_event_abilities(ctx.token, clean["events"])
    project_id = _project_for(ctx, clean.get("project_id"))
    secret = new_secret()
    endpoint: Obj = {
        "id": new_id("whe"),
        "name": clean["name"],
        "url": clean["url"],
        "events": clean["events"],
        "project_id": project_id,
        "allowed_ips": clean.get("allowed_ips") or [],
        "is_active": clean.get("is_active") is not False,
        "disabled_at": None,
        "consecutive_failures": 0,
        "created_at": ctx.store.iso_now(),
        "_team": ctx.team_id,
        "_secret": secret,
        "_old_secret": None,
        "_dual_until": None,
    }
    return ctx.store.insert(TABLE, endpoint), secret


def update_endpoint(ctx: Ctx, endpoint: Obj) -> bool:
    """Apply a partial update; returns True when the endpoint was (re-)enabled."""
    spec = {name: _FIELDS[name] for name in _UPDATABLE}
    clean = {k: v for k, v in validate(ctx.body, spec, partial=True).items() if v is not None}
    if "allowed_ips" in ctx.body and ctx.body["allowed_ips"] is None:
        clean["allowed_ips"] = []
    _check_values(clean, ctx.settings)
    if "events" in clean:
        require_event_abilities(ctx.token, clean["events"])
    endpoint.update(clean)
    if clean.get("is_active") is True:
        endpoint["disabled_at"] = None
        endpoint["consecutive_failures"] = 0
        return True
    return False


def rotate_secret(endpoint: Obj, now: float, *, dual_sign: bool = False) -> str:
    """Issue a new secret. API rotation signs with it alone at once (and closes an open dual-sign window);
    a dashboard-style dual-sign rotation keeps signing `v0` with the old secret for 24 h."""
    old = endpoint["_secret"]
    endpoint["_secret"] = new_secret()
    endpoint["_old_secret"] = old if dual_sign else None
    endpoint["_dual_until"] = now + DUAL_SIGN_WINDOW if dual_sign else None
    return str(endpoint["_secret"])


def signing_secrets(endpoint: Obj, now: float) -> tuple[str, str | None]:
    """(current secret, old secret while a dual-sign window is open, else None)."""
    until = endpoint.get("_dual_until")
    old = endpoint.get("_old_secret") if until is not None and now < until else None
    return str(endpoint["_secret"]), old


def require_event_abilities(token: Obj, events: list[str]) -> None:
    """Subscribing needs each event's minimum abilities (webhooks.md §9); name the first one missing."""
    for name in events:
        for ability in EVENTS[name]:
            if ability not in token["abilities"]:
                raise ApiError(
                    "TOKEN_MISSING_ABILITY",
                    f"Subscribing to `{name}` needs the `{ability}` ability, which this token lacks.",
                    remediation=f"Mint a token that includes `{ability}`.",
                    context={"required_ability": ability, "event": name},
                )


def _project_for(ctx: Ctx, project_id: str | None) -> str | None:
    if project_id is None and ctx.scope is not None:
        if len(ctx.scope) != 1:
            raise invalid({"project_id": ["A project-scoped token must name one of its projects."]})
        project_id = next(iter(ctx.scope))
    if project_id is None:
        return None
    return str(ctx.project(project_id)["id"])


def _check_values(clean: dict[str, Any], settings: SandboxSettings) -> None:
    """Checks beyond the field types; raises VALIDATION_FAILED naming every bad entry."""
    errors: dict[str, list[str]] = {}
    if "url" in clean:
        problem = url_problem(clean["url"], settings.allow_http_loopback)
        if problem:
            errors["url"] = [problem]
    if "events" in clean:
        errors.update(_event_errors(clean["events"]))
    if "allowed_ips" in clean:
        errors.update(_ip_errors(clean["allowed_ips"]))
    if errors:
        raise invalid(errors)
    if "events" in clean:
        clean["events"] = list(dict.fromkeys(clean["events"]))  # duplicates collapse, order kept


def url_problem(url: str, allow_http_loopback: bool) -> str | None:
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return "The url field must be a valid URL."
    if not host:
        return "The url field must be a valid URL."
    if parts.scheme == "https":
        return None
    if parts.scheme == "http" and allow_http_loopback and _is_loopback(host):
        return None
    return "The url must use HTTPS (plain http is accepted only for loopback hosts)."


def _is_loopback(host: str) -> bool:
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _event_errors(events: list[Any]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for i, name in enumerate(events):
        if not isinstance(name, str):
            errors[f"events.{i}"] = [f"The events.{i} field must be a string."]
        elif name not in EVENTS:
            errors[f"events.{i}"] = [
                f"The selected events.{i} is invalid: `{name}` is not a MemberPass event."
            ]
    return errors


def _ip_errors(values: list[Any]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for i, value in enumerate(values):
        try:
            ok = isinstance(value, str) and ipaddress.ip_network(value, strict=False) is not None
        except ValueError:
            ok = False
        if not ok:
            errors[f"allowed_ips.{i}"] = [f"The allowed_ips.{i} must be an IP address or a CIDR range."]
    return errors
