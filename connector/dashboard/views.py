"""The dashboard's routes: ``/`` (the signed-in connections, or the sign-in form), sign-in with a connection
key or a one-time ticket, sign-out, and the two buttons (retry a delivery, re-enable a subscription).

Pages follow the connect page's rules (connector/connections/pages.py: no JavaScript, strict CSP, no cache,
CSRF on every form). A browser sees only the connections its session proved it holds; a delivery or
subscription of any other connection is "not found", exactly as on the API.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import quote

from flask import Blueprint, Response, request

from connector.connections import csrf
from connector.connections.connect_page import form_error
from connector.connections.pages import render
from connector.connections.services import (
    connections,
    current_clock,
    current_db,
    current_settings,
)
from connector.dashboard.model import panels
from connector.dashboard.sessions import SESSION_TTL, DashboardSessions
from connector.errors import ConnectorError, NotFoundError
from triggers.api import reenable
from triggers.api import repo as subscriptions
from webhooks.api import replay

log = logging.getLogger("connector.dashboard")
bp = Blueprint("dashboard", __name__)
COOKIE = "connector_dashboard"
REFRESH_SECONDS = 3


def sessions() -> DashboardSessions:
    return DashboardSessions(current_db(), current_clock())


def signed_in() -> list[str]:
    return sessions().connection_ids(request.cookies.get(COOKIE, ""))


def set_session(response: Response, session: str) -> Response:
    secure = request.is_secure or (current_settings().public_url or "").startswith("https://")
    response.set_cookie(
        COOKIE, session, max_age=int(SESSION_TTL), path="/", secure=secure, httponly=True, samesite="Lax"
    )
    return response


def sign_in_browser(response: Response, connection_id: str) -> Response:
    """Add a connection to this browser's dashboard session (the connect page calls this on success)."""
    return set_session(response, sessions().add(request.cookies.get(COOKIE, ""), [connection_id]))


def back(notice: str = "", status: int = 303) -> Response:
    return Response(status=status, headers={"Location": "/?notice=" + quote(notice) if notice else "/"})


@bp.get("/")
def dashboard() -> Response:
    ids = signed_in()
    if not ids:
        return render("dashboard_sign_in.html", values={})
    live = request.args.get("live", "1") != "0"
    return render(
        "dashboard.html",
        panels=panels(ids),
        notice=request.args.get("notice", "")[:300],
        refresh=REFRESH_SECONDS if live else None,
        live=live,
    )


@bp.post("/dashboard/sign-in")
def sign_in() -> Response:
    try:
        csrf.check()
        connection = connections().authenticate(request.form.get("connection_key", "").strip())
    except ConnectorError as err:
        err.fields = err.fields or {"connection_key": ["was not accepted"]}
        return render("dashboard_sign_in.html", err.status, values={}, error=form_error(err))
    log.info("dashboard: a browser signed in to connection %s", connection.id)
    return sign_in_browser(back(), connection.id)


@bp.get("/dashboard/open/<ticket>")
def open_ticket(ticket: str) -> Response:
    """A one-time link (``demo`` prints one): its connections join this browser's session."""
    ids = sessions().redeem(ticket)
    if not ids:
        err = ConnectorError(
            "This sign-in link was used already or has expired.",
            code="LINK_EXPIRED",
            status=410,
            remediation="Sign in with the connection key instead.",
        )
        return render("dashboard_sign_in.html", 410, values={}, error=form_error(err))
    return set_session(back(), sessions().add(request.cookies.get(COOKIE, ""), ids))


@bp.post("/dashboard/sign-out")
def sign_out() -> Response:
    csrf.check()
    sessions().close(request.cookies.get(COOKIE, ""))
    response = back()
    response.delete_cookie(COOKIE, path="/")
    return response


def _owned_action(run: Callable[[str], str]) -> Response:
    """CSRF, then ``run(connection_id)`` for the first signed-in connection that owns the object."""
    csrf.check()
    last: ConnectorError = NotFoundError("Not found among the connections signed in here.")
    for connection_id in signed_in():
        try:
            return back(run(connection_id))
        except NotFoundError as err:
            last = err
        except ConnectorError as err:
            return back(f"{err.message} {err.remediation or ''}".strip())
    return back(last.message)


@bp.post("/dashboard/deliveries/<delivery_id>/retry")
def retry(delivery_id: str) -> Response:
    def run(connection_id: str) -> str:
        replay(delivery_id, connection_id)
        return f"Delivery {delivery_id} is queued again."

    return _owned_action(run)


@bp.post("/dashboard/subscriptions/<subscription_id>/enable")
def enable(subscription_id: str) -> Response:
    def run(connection_id: str) -> str:
        found = subscriptions().get_for_connection(subscription_id, connection_id)
        if found is None:
            raise NotFoundError(f"No subscription {subscription_id}.")
        return f"Subscription {subscription_id} is {reenable(found).status}."

    return _owned_action(run)
