"""Identifiers the connector mints: request ids and prefixed random ids."""

from __future__ import annotations

import secrets


def token_urlsafe(nbytes: int = 24) -> str:
    return secrets.token_urlsafe(nbytes)


def prefixed(prefix: str, nbytes: int = 16) -> str:
    return f"{prefix}_{secrets.token_hex(nbytes)}"


def request_id() -> str:
    return prefixed("req", 12)
