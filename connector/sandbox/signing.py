"""`MP-Signature` for outbound webhooks (webhooks.md §4-§5): HMAC-SHA256 over ``t + "." + body``.

The secret string is the HMAC key as-is; the hex digest is lower case. While a dashboard-style rotation's
dual-sign window is open the header carries ``v0`` (old secret) before ``v1`` (new secret).
"""

from __future__ import annotations

import hashlib
import hmac


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """Lower-case hex HMAC-SHA256 of ``<timestamp>.<body>`` keyed with ``secret``."""
    message = str(timestamp).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signature_header(timestamp: int, body: bytes, secret: str, old_secret: str | None = None) -> str:
    """``t=<t>,v1=<hex>``, or ``t=<t>,v0=<hex old>,v1=<hex new>`` during a dual-sign window."""
    parts = [f"t={timestamp}"]
    if old_secret is not None:
        parts.append(f"v0={signature(old_secret, timestamp, body)}")
    parts.append(f"v1={signature(secret, timestamp, body)}")
    return ",".join(parts)
