"""Verifying MemberPass's own webhooks (``MP-Signature``, webhooks.md §4) and remembering event ids.

Header: ``t=<unix seconds>,v1=<hex>`` and, during a dashboard rotation, ``v0=<hex>`` signed with the old
secret. Verification, in the reference's order:

1. split on ``,`` and each part on its first ``=``; collect ``t`` and every ``v1`` / ``v0`` candidate
   (other keys are ignored, for forward compatibility);
2. refuse when ``t`` is missing or not an integer, or ``|now - t| > 300`` s, in both directions, even when
   a signature would match (replays);
3. HMAC-SHA256 keyed with each known secret (as-is, no prefix) over ``t + "." + raw body``, lower-case
   hex; compare in constant time with every candidate, skipping candidates of another length.

Errors never contain a secret or a signature; they say which check failed. After verifying, the caller
acknowledges repeats of an event id it already processed (at-least-once delivery) via an
:class:`EventDeduper`, kept at least 24 h.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from connector.clock import Clock
from connector.errors import ConnectorError

TOLERANCE_SECONDS = 300
MIN_RETENTION_SECONDS = 24 * 3600
SIGNATURE_VERSIONS = ("v1", "v0")
_DIGITS = re.compile(r"[0-9]{1,12}")


class WebhookVerificationError(ConnectorError):
    """An inbound webhook was refused; MemberPass will retry it, so nothing is lost if we were wrong."""

    code = "WEBHOOK_SIGNATURE_INVALID"
    status = 401
    default_remediation = (
        "Check that the MemberPass webhook secret stored for this subscription is current; if the secret "
        "was rotated, re-create the subscription so the connector learns the new one."
    )


class SignatureHeaderError(WebhookVerificationError):
    code = "WEBHOOK_SIGNATURE_HEADER_INVALID"
    status = 400
    default_remediation = "Send an MP-Signature header of the form t=<unix seconds>,v1=<hex HMAC>."


class StaleTimestampError(WebhookVerificationError):
    code = "WEBHOOK_TIMESTAMP_OUT_OF_TOLERANCE"
    status = 400
    default_remediation = (
        "The signature timestamp is more than 300 s away from the connector's clock: a replay, or a clock "
        "that needs NTP. MemberPass signs each attempt afresh, so a genuine retry will pass."
    )


class SignatureMismatchError(WebhookVerificationError):
    code = "WEBHOOK_SIGNATURE_MISMATCH"


@dataclass(frozen=True)
class VerifiedSignature:
    timestamp: int
    version: str  # "v1" or "v0"
    secret_index: int  # which of the known secrets matched (0: the first given)


def parse_signature_header(header: str | None) -> tuple[int, list[tuple[str, str]]]:
    """``(t, [(version, hex), ...])`` of an ``MP-Signature`` header, or :class:`SignatureHeaderError`."""
    if not header or not header.strip():
        raise SignatureHeaderError("The MP-Signature header is missing.")
    timestamp: str | None = None
    candidates: list[tuple[str, str]] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            continue
        if key == "t":
            timestamp = value.strip()
        elif key in SIGNATURE_VERSIONS:
            candidates.append((key, value.strip()))
    if timestamp is None or not _DIGITS.fullmatch(timestamp):
        raise SignatureHeaderError("The MP-Signature header has no integer timestamp `t`.")
    if not candidates:
        raise SignatureHeaderError("The MP-Signature header carries no v1 or v0 signature.")
    return int(timestamp), candidates


def expected_signature(secret: str, timestamp: int, raw_body: bytes) -> str:
    message = str(timestamp).encode("ascii") + b"." + raw_body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def verify_mp_signature(
    header: str | None,
    raw_body: bytes,
    secrets: Sequence[str],
    clock: Clock,
    tolerance: int = TOLERANCE_SECONDS,
) -> VerifiedSignature:
    """Check an inbound delivery against every known secret; raise a :class:`WebhookVerificationError`."""
    timestamp, candidates = parse_signature_header(header)
    skew = clock.now() - timestamp
    if abs(skew) > tolerance:
        direction = "old" if skew > 0 else "far in the future"
        raise StaleTimestampError(
            f"The MP-Signature timestamp is {abs(int(skew))} s {direction} (tolerance {tolerance} s).",
            context={"skew_seconds": int(skew)},
        )
    if not secrets:
        raise SignatureMismatchError("No MemberPass webhook secret is stored for this subscription.")
    for index, secret in enumerate(secrets):
        expected = expected_signature(secret, timestamp, raw_body).encode("ascii")
        for version, candidate in candidates:
            given = candidate.encode("utf-8", "replace")
            if len(given) == len(expected) and hmac.compare_digest(expected, given):
                return VerifiedSignature(timestamp, version, index)
    raise SignatureMismatchError(
        f"No signature in MP-Signature ({len(candidates)} given) matches the body with a known secret.",
    )


class EventDeduper(Protocol):
    """Remembers processed MemberPass event ids for at least 24 h (``evt_…``, C15)."""

    def seen(self, event_id: str) -> bool: ...

    def remember(self, event_id: str, at: float) -> None: ...


class MemoryEventDeduper:
    """In-process :class:`EventDeduper`; ids expire ``retention`` seconds after ``at`` (default 48 h).

    Expiry walks from the oldest remembered id, so it assumes ``at`` is roughly increasing (it is the
    arrival time); an id found past its retention counts as unseen either way.
    """

    def __init__(self, clock: Clock, retention: float = 2 * MIN_RETENTION_SECONDS) -> None:
        if retention < MIN_RETENTION_SECONDS:
            raise ValueError("event ids must be kept for at least 24 hours")
        self._clock = clock
        self._retention = retention
        self._ids: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def seen(self, event_id: str) -> bool:
        with self._lock:
            self._expire()
            at = self._ids.get(event_id)
            return at is not None and at >= self._clock.now() - self._retention

    def remember(self, event_id: str, at: float) -> None:
        with self._lock:
            self._ids[event_id] = max(at, self._ids.get(event_id, at))
            self._ids.move_to_end(event_id)
            self._expire()

    def __len__(self) -> int:
        return len(self._ids)

    def _expire(self) -> None:
        cutoff = self._clock.now() - self._retention
        while self._ids:
            oldest_id, oldest_at = next(iter(self._ids.items()))
            if oldest_at >= cutoff:
                break
            del self._ids[oldest_id]
