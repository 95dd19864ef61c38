"""Authenticate API callers by connection key: ``Authorization: Bearer mpc_…``.

``@require_connection`` puts the caller's :class:`Connection` on ``g.connection``; handlers read it with
:func:`current_connection` and pass only its id to repositories, so every query is scoped to the caller.
A missing, malformed, unknown, revoked or expired key answers 401 in the error envelope (never 403: 403
is kept for a valid key that lacks a permission). Keys are compared by hash in constant time.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import g, request

from connector.connections.services import connections
from connector.errors import AuthenticationError
from connector.storage.connections import Connection

F = TypeVar("F", bound=Callable[..., Any])
HOW = "Send `Authorization: Bearer mpc_…` with the connection key shown when you connected."


def bearer_key() -> str:
    header = request.headers.get("Authorization", "")
    if not header.strip():
        raise AuthenticationError("No connection key was sent.", remediation=HOW)
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise AuthenticationError("The Authorization header must be `Bearer mpc_…`.", remediation=HOW)
    key = value.strip()
    if key.startswith("mpt_"):
        raise AuthenticationError(
            "This is a MemberPass token, not a connection key.",
            remediation="Paste the token at /connect (or POST /api/connections) to get a connection key, "
            "then send that key.",
        )
    return key


def authenticate_request() -> Connection:
    connection = connections().authenticate(bearer_key())
    g.connection = connection
    return connection


def require_connection(view: F) -> F:
    """Decorator for routes that need a valid connection key."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        authenticate_request()
        return view(*args, **kwargs)

    return cast(F, wrapper)


def current_connection() -> Connection:
    """The connection authenticated for this request (inside a ``@require_connection`` route)."""
    connection: Connection = g.connection
    return connection
