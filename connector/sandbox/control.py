"""The `/_sandbox/` control surface (not part of MemberPass v1): faults, request log, clock, tokens, reset."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, request

from connector.sandbox.abilities import ALL_ABILITIES, READ_ONLY_ABILITIES, is_known
from connector.sandbox.errors import ApiError, invalid
from connector.sandbox.faults import parse_rules
from connector.sandbox.framework import parse_json_body, services
from connector.sandbox.tokens import describe, mint_token

control = Blueprint("sandbox", __name__, url_prefix="/_sandbox")


def json_response(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


def json_body() -> dict[str, Any]:
    """A control route's JSON body: an object, or a list (fault rules)."""
    body: dict[str, Any] = parse_json_body(allow_list=True)
    return body


@control.put("/faults")
def put_faults() -> Response:
    rules = parse_rules(json_body())
    services().faults.set(rules)
    return json_response({"data": services().faults.describe()})


@control.get("/faults")
def get_faults() -> Response:
    return json_response({"data": services().faults.describe()})


@control.delete("/faults")
def delete_faults() -> Response:
    services().faults.clear()
    return json_response({"data": []})


@control.get("/requests")
def get_requests() -> Response:
    log = list(services().request_log)
    since = request.args.get("since", type=float)
    if since is not None:
        log = [r for r in log if r["at"] >= since]
    return json_response({"data": log})


@control.delete("/requests")
def delete_requests() -> Response:
    services().request_log.clear()
    return json_response({"data": []})


@control.post("/clock")
def advance_clock() -> Response:
    body = json_body()
    seconds = body.get("advance_seconds") if isinstance(body, dict) else None
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
        raise invalid({"advance_seconds": ["must be a number of seconds ≥ 0"]})
    now = services().store.clock.advance(float(seconds))
    return json_response({"now": now})


@control.get("/clock")
def get_clock() -> Response:
    return json_response({"now": services().store.clock.now()})


@control.post("/tokens")
def post_token() -> Response:
    """Mint a token: `{"team_id", "abilities"?: [...] or "all" or "read_only", "project_ids"?, ...}`."""
    body = json_body()
    if not isinstance(body, dict):
        raise invalid({"body": ["must be an object"]})
    store = services().store
    team = store.get("teams", str(body.get("team_id")))
    if team is None:
        raise ApiError("RESOURCE_NOT_FOUND", "No team with that id.")
    abilities = body.get("abilities", "all")
    if abilities == "all":
        abilities = list(ALL_ABILITIES)
    elif abilities == "read_only":
        abilities = list(READ_ONLY_ABILITIES)
    if not isinstance(abilities, list) or not all(isinstance(a, str) and is_known(a) for a in abilities):
        raise invalid({"abilities": ["must be 'all', 'read_only' or a list of known ability strings"]})
    environment = body.get("environment", services().settings.environment)
    if environment not in ("live", "test"):
        raise invalid({"environment": ["must be 'live' or 'test'"]})
    plaintext, record = mint_token(
        store,
        team["id"],
        abilities,
        project_ids=list(body.get("project_ids") or []),
        environment=environment,
        name=str(body.get("name", "Sandbox token")),
        owner_user_id=team["owner_user_id"],
        expires_at=body.get("expires_at"),
    )
    return json_response({"token": plaintext, "data": describe(record)}, 201)


@control.post("/tokens/<token_id>/revoke")
def revoke_token(token_id: str) -> Response:
    record = services().store.get("tokens", token_id)
    if record is None:
        raise ApiError("RESOURCE_NOT_FOUND", "No token with that id.")
    record["_revoked"] = True
    return json_response({"data": describe(record)})


@control.post("/reset")
def reset() -> Response:
    svc = services()
    svc.store.reset()
    svc.idempotency.reset()
    svc.limiter.reset()
    svc.faults.clear()
    svc.request_log.clear()
    return json_response({"data": "reset"})
