"""The JSON API of connections: paste a token, read, revoke, and replace the token of the caller's connection.

| Route | Auth | Answer |
|---|---|---|
| ``POST /api/connections`` ``{"token", "label"?}`` | none | 201, the connection and its key (shown once) |
| ``GET /api/me`` | key | the caller's connection: label (team name), abilities, status and reason |
| ``DELETE /api/me`` | key | 200, the connection as revoked; token ciphertext and every key destroyed |
| ``PUT /api/me/token`` ``{"token"}`` | key | 200, token replaced (same team only), status back to active |
"""

from __future__ import annotations

import json
import logging
from typing import Any

from flask import Blueprint, Response
from marshmallow import Schema, fields, validate

from connector.connections.auth import current_connection, require_connection
from connector.connections.body import json_object, load
from connector.connections.services import connections, current_settings
from connector.connections.verify import check_format, verify_token

log = logging.getLogger("connector.connections")
api = Blueprint("connections_api", __name__, url_prefix="/api")

_LABEL = fields.String(validate=validate.Length(min=1, max=100, error="must be 1 to 100 characters"))
PasteSchema = Schema.from_dict({"token": fields.String(required=True), "label": _LABEL}, name="PasteSchema")
TokenSchema = Schema.from_dict({"token": fields.String(required=True)}, name="TokenSchema")


def json_response(body: Any, status: int = 200) -> Response:
    response = Response(json.dumps(body), status=status, mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response


@api.post("/connections")
def create_connection() -> Response:
    body = load(PasteSchema(), json_object())
    token = check_format(body["token"])
    verified = verify_token(token, current_settings().api_base)
    label = body.get("label", "").strip() or None
    connection, key = connections().create(verified, token, label=label, created_via="api")
    log.info(
        "connection %s created for team %s (%s)", connection.id, connection.team_id, connection.environment
    )
    return json_response(
        {
            "data": connection.public(),
            "connection_key": key,
            "notice": "Store the connection key now: it is shown only once.",
        },
        201,
    )


@api.get("/me")
@require_connection
def me() -> Response:
    return json_response({"data": current_connection().public()})


@api.delete("/me")
@require_connection
def revoke_me() -> Response:
    connection = connections().revoke(current_connection().id)
    log.info("connection %s revoked by its owner", connection.id)
    return json_response({"data": connection.public()})


@api.put("/me/token")
@require_connection
def replace_token() -> Response:
    body = load(TokenSchema(), json_object())
    token = check_format(body["token"])
    verified = verify_token(token, current_settings().api_base)
    connection = connections().replace_token(current_connection().id, verified, token)
    log.info("connection %s: token replaced", connection.id)
    return json_response({"data": connection.public()})
