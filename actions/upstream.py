"""How actions and searches reach MemberPass: a client per call on a pooled session, and upstream errors
made actionable.

Errors keep MemberPass's envelope (code, status, message, fields, context, docs_url); what changes:
- ``TOKEN_MISSING_ABILITY`` says which ability to add and where;
- ``VALIDATION_FAILED`` fields are renamed back onto the entry's input keys (``events.0`` → ``events``);
- ``RESOURCE_NOT_FOUND`` names the id inputs to check;
- ``AUTHENTICATION_REQUIRED`` (the token was revoked or expired) says to reconnect;
- the upstream request id is kept in ``context.upstream_request_id``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from http.cookiejar import DefaultCookiePolicy

import requests

from connector.client import MemberPassClient
from connector.errors import (
    AuthenticationError,
    ConnectorError,
    MissingAbilityError,
    NotFoundError,
    ValidationError,
)
from connector.manifests.model import Entry

TOKENS_PAGE = "https://app.memberpass.net/settings/tokens"


POOL_SIZE = 32  # idle sessions kept per MemberPass base URL


def _session() -> requests.Session:
    """A session that keeps connections alive and never stores a cookie, so it can serve any tenant."""
    session = requests.Session()
    session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    return session


class SessionPool:
    """Idle HTTP sessions to MemberPass, reused across calls: a call borrows one (its kept-alive connection
    saves a TCP handshake, and building a session costs too) and gives it back. A session is used by one
    call at a time; it carries no credentials (each client sets its own bearer token per request) and no
    cookies (see :func:`_session`)."""

    def __init__(self, size: int = POOL_SIZE) -> None:
        self.size = size
        self._idle: dict[str, list[requests.Session]] = {}
        self._lock = threading.Lock()

    @contextmanager
    def client(self, api_base: str, token: str) -> Iterator[MemberPassClient]:
        with self._lock:
            idle = self._idle.setdefault(api_base, [])
            session = idle.pop() if idle else _session()
        try:
            yield MemberPassClient(api_base, token, session=session)
        finally:
            with self._lock:
                keep = len(self._idle[api_base]) < self.size
                if keep:
                    self._idle[api_base].append(session)
            if not keep:
                session.close()


POOL = SessionPool()


def make_client(api_base: str, token: str) -> AbstractContextManager[MemberPassClient]:
    """A client for one call (``with make_client(...) as client``), on a pooled session."""
    return POOL.client(api_base, token)


@contextmanager
def explained(entry: Entry) -> Iterator[None]:
    """Upstream errors raised inside the block leave it explained for ``entry``."""
    try:
        yield
    except ConnectorError as err:
        explain(err, entry)
        raise


def explain(err: ConnectorError, entry: Entry) -> None:
    """Add our remediation and input names to an upstream error, in place."""
    context = dict(err.context or {})
    if err.request_id:
        context["upstream_request_id"] = err.request_id
    context.setdefault("entry", entry.key)
    err.context = context
    if isinstance(err, MissingAbilityError):
        ability = err.required_ability or ", ".join(entry.abilities)
        err.remediation = (
            f"Add `{ability}` to the MemberPass token at {TOKENS_PAGE} (or mint a new token that carries "
            "it) and reconnect."
        )
    elif isinstance(err, ValidationError) and err.fields:
        err.fields = rename_fields(err.fields, entry)
    elif isinstance(err, NotFoundError):
        ids = [f"`{v}`" for v in entry.request.path_vars] or ["the inputs"]
        err.remediation = (
            f"Check {', '.join(ids)}: the record does not exist, or it is outside the team or projects of "
            "this connection's token."
        )
    elif isinstance(err, AuthenticationError):
        err.remediation = (
            "MemberPass no longer accepts this connection's token (revoked or expired): paste a new token "
            "on the connect page (PUT /api/me/token) and try again."
        )


def rename_fields(fields: dict[str, list[str]], entry: Entry) -> dict[str, list[str]]:
    """Upstream field names → input keys (``currency`` stays ``currency``, ``search`` → ``email``)."""
    names = {upstream: key for upstream, key in entry.request.body + entry.request.query}
    out: dict[str, list[str]] = {}
    for name, messages in fields.items():
        head = name.split(".", 1)[0].removesuffix("[]")
        key = names.get(name) or names.get(head) or names.get(head + "[]") or name
        out.setdefault(key, []).extend(messages)
    return out
