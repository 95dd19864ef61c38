"""Outbound signatures in the Standard Webhooks scheme (workflow-platforms.md §4.1), made by the
``standardwebhooks`` package so receivers can verify them with any conforming library.

- ``webhook-id``: the outbox row's id, the same on every retry of that delivery (the receiver's
  idempotency key).
- ``webhook-timestamp``: integer Unix seconds of *this attempt*.
- ``webhook-signature``: ``v1,<base64 HMAC-SHA256 of "id.timestamp.body">``, one per secret, separated by
  spaces, so a subscription can rotate its secret without a gap.

Secrets are ``whsec_`` + base64 of 32 random bytes (the spec asks for at least 24). The body must be the
exact bytes sent, UTF-8 (our deliveries are JSON).
"""

from __future__ import annotations

import base64
import secrets as random_source
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook

SECRET_PREFIX = "whsec_"  # noqa: S105 (a format prefix, not a secret)
SECRET_BYTES = 32


def generate_secret(random_bytes: Callable[[int], bytes] = random_source.token_bytes) -> str:
    """A new signing secret, ``whsec_`` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(random_bytes(SECRET_BYTES)).decode("ascii")


def sign(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64>`` for one secret. ``sign()`` of the package replaces the datetime's tzinfo with UTC,
    so it gets an aware UTC datetime built from the integer seconds."""
    if "." in webhook_id or not webhook_id:
        raise ValueError("a webhook id must be non-empty and contain no '.'")
    moment = datetime.fromtimestamp(int(timestamp), tz=UTC)
    return Webhook(secret).sign(webhook_id, moment, body.decode("utf-8"))


def headers_for(webhook_id: str, timestamp: float, body: bytes, secrets: Sequence[str]) -> dict[str, str]:
    """The three Standard Webhooks headers for one attempt; every secret signs (newest first is usual)."""
    if not secrets:
        raise ValueError("at least one signing secret is needed")
    seconds = int(timestamp)
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(seconds),
        "webhook-signature": " ".join(sign(s, webhook_id, seconds, body) for s in secrets),
    }
