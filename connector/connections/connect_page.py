"""``GET/POST /connect``: the page where a person pastes a MemberPass token and gets a connection key once.

A plain HTML form (no JavaScript), CSRF-protected. Each failure re-shows the form with its own message and
the HTTP status of the error; the token is never echoed back into the page. With the optional existing
connection key, the paste replaces that connection's token instead (same team only) and no new key is made.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Response, request

from connector.connections import csrf
from connector.connections.pages import render
from connector.connections.services import connections, current_settings
from connector.connections.verify import check_format, verify_token
from connector.errors import ConnectorError, ValidationError

log = logging.getLogger("connector.connections")
page = Blueprint("connect_page", __name__)


@page.get("/connect")
def connect_form() -> Response:
    return render("connect.html", values={})


@page.post("/connect")
def connect_submit() -> Response:
    label = request.form.get("label", "").strip()
    try:
        csrf.check()
        if len(label) > 100:
            raise ValidationError(
                "The name is too long.", fields={"label": ["must be at most 100 characters"]}
            )
        return _connect(label)
    except ConnectorError as err:
        return render("connect.html", err.status, values={"label": label}, error=form_error(err))


def _connect(label: str) -> Response:
    token = check_format(request.form.get("token", ""))
    existing_key = request.form.get("connection_key", "").strip()
    repo = connections()
    if existing_key:
        try:
            existing = repo.authenticate(existing_key)
        except ConnectorError as err:
            err.fields = {"connection_key": ["was not accepted"]}
            raise
        verified = verify_token(token, current_settings().api_base)
        connection = repo.replace_token(existing.id, verified, token)
        log.info("connection %s: token replaced on the connect page", connection.id)
        return render("connected.html", connection=connection, key=None)
    verified = verify_token(token, current_settings().api_base)
    connection, key = repo.create(verified, token, label=label or None, created_via="connect_page")
    log.info("connection %s created on the connect page for team %s", connection.id, connection.team_id)
    from connector.dashboard.views import sign_in_browser  # the dashboard builds on connections, not back

    return sign_in_browser(render("connected.html", 201, connection=connection, key=key), connection.id)


def form_error(err: ConnectorError) -> dict[str, Any]:
    """What the form shows for an error: message, remediation, and the field it concerns."""
    field, detail = None, None
    for name, messages in (err.fields or {}).items():
        field, detail = name, "; ".join(messages)
        break
    return {
        "code": err.code,
        "message": err.message,
        "remediation": err.remediation,
        "field": field,
        "detail": f"This {field.replace('_', ' ')} {detail}." if field and detail else None,
    }
