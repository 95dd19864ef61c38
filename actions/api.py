"""HTTP surface of actions, searches, search-or-create and dynamic choices (DESIGN.md "HTTP surface").

- ``POST /api/actions/<key>``: a JSON object, optional ``Idempotency-Key`` header → the shaped record with
  MemberPass's 2xx status (200 for its 204); a replay adds ``Idempotent-Replayed: true``;
- ``GET /api/searches/<key>``: query arguments → an array, first item the match, ``[]`` when none;
- ``POST /api/search-or-create/<key>``: the search's and the create's inputs → 200 ``[found]`` or
  201 ``[created]``;
- ``GET /api/choices/<source>``: the source's inputs as query arguments → ``[{id, label}]``.

Every route needs a connection key. A query argument given several times (``type=a&type=b``) is a list.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, TypeVar

from flask import Blueprint, Flask, Response, current_app, request

from actions import engine
from actions.idempotency import DEFAULT_WINDOW, IdempotencyStore
from actions.schemas import load_input
from actions.upstream import make_client
from connector.client import MemberPassClient
from connector.client.client import check_key
from connector.connections.api import json_response
from connector.connections.auth import current_connection, require_connection
from connector.connections.body import json_object
from connector.connections.services import (
    connections,
    current_clock,
    current_db,
    current_ring,
    current_settings,
)
from connector.errors import AuthenticationError, NotFoundError
from connector.manifests import Entry, load_catalog
from connector.storage.idempotency_migrations import idempotency_migrations

bp = Blueprint("actions", __name__, url_prefix="/api")
T = TypeVar("T")
WINDOW = "connector.idempotency_window"


def init_app(app: Flask, window: float = DEFAULT_WINDOW) -> None:
    """Validate the manifests (a bad one stops the start with every problem listed) and register the
    routes; the connections' ``init_app`` must have opened the database first."""
    load_catalog()
    app.extensions[WINDOW] = window
    with app.app_context():
        current_db().migrate(idempotency_migrations)
    app.register_blueprint(bp)


def answer(body: Any, status: int = 200, *, replayed: bool = False) -> Response:
    response = json_response(body, status)
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response


def entry_of(kind: str, key: str) -> Entry:
    entry = load_catalog().get(kind, key)
    if entry is None:
        raise NotFoundError(
            f"There is no {kind} `{key}`.", remediation="GET /api/catalog lists every key, by kind."
        )
    return entry


def body_object() -> dict[str, Any]:
    return json_object() if request.get_data(cache=True).strip() else {}


def query_object() -> dict[str, Any]:
    return {k: v[0] if len(v) == 1 else v for k, v in request.args.to_dict(flat=False).items()}


def caller_key() -> str | None:
    key = request.headers.get("Idempotency-Key")
    return None if key is None else check_key(key)


def idempotency_store() -> IdempotencyStore:
    window = float(current_app.extensions.get(WINDOW, DEFAULT_WINDOW))
    return IdempotencyStore(current_db(), current_ring(), current_clock(), window=window)


def upstream() -> AbstractContextManager[MemberPassClient]:
    connection = current_connection()
    return make_client(current_settings().api_base, connections().token(connection.id))


def call_upstream(work: Callable[[MemberPassClient], T]) -> T:
    """Run ``work(client)``; keep the connection's health in step with what MemberPass answered: a 401
    marks it as needing attention, a success after that marks it healthy again."""
    connection = current_connection()
    with upstream() as client:
        try:
            result = work(client)
        except AuthenticationError as err:
            connections().mark_needs_attention(connection.id, f"MemberPass answered: {err.message}")
            raise
    if connection.status == "needs_attention":
        connections().mark_healthy(connection.id)
    return result


@bp.post("/actions/<key>")
@require_connection
def action(key: str) -> Response:
    entry = entry_of("action", key)
    values = load_input(entry, body_object())
    store, idem = idempotency_store(), caller_key()
    outcome = call_upstream(
        lambda client: engine.run_action(
            entry, values, client=client, store=store, connection_id=current_connection().id, caller_key=idem
        )
    )
    return answer(outcome.body, outcome.status, replayed=outcome.replayed)


@bp.get("/searches/<key>")
@require_connection
def search(key: str) -> Response:
    entry = entry_of("search", key)
    values = load_input(entry, query_object())
    return answer(call_upstream(lambda client: engine.run_search(entry, values, client=client)))


@bp.post("/search-or-create/<key>")
@require_connection
def search_or_create(key: str) -> Response:
    found = entry_of("search", key)
    if found.or_create is None:
        raise NotFoundError(
            f"The search `{key}` has no search-or-create pair.",
            remediation="GET /api/catalog: searches with `or_create` have one.",
        )
    create = entry_of("action", found.or_create)
    body, store, idem = body_object(), idempotency_store(), caller_key()
    outcome = call_upstream(
        lambda client: engine.run_search_or_create(
            found, create, body, client=client, store=store, connection_id=current_connection().id,
            caller_key=idem,
        )
    )  # fmt: skip
    return answer(outcome.body, outcome.status, replayed=outcome.replayed)


@bp.get("/choices/<source>")
@require_connection
def choices(source: str) -> Response:
    entry = entry_of("choices", source)
    values = load_input(entry, query_object())
    return answer(call_upstream(lambda client: engine.run_choices(entry, values, client=client)))
