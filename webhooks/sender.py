"""One delivery attempt: POST the exact body with its signed headers, never follow a redirect, classify.

Classification (Standard Webhooks §4.1):

- ``delivered``: any 2xx;
- ``gone``: 410, the receiver asks to stop (the subscription is removed);
- ``throttled``: 429, or 502/503/504 with a ``Retry-After`` (seconds or an HTTP date; the next attempt is
  never sooner);
- ``retry``: everything else: other 5xx, 3xx (redirects are failures, not followed), other 4xx,
  timeouts, connection errors, and a target that now resolves to a refused address.

The outcome keeps the first 1 KB of the response body for the delivery log; the request itself is never
logged (it carries the signature).
"""

from __future__ import annotations

import functools
import importlib.metadata
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Literal

import requests

from connector.clock import Clock, SystemClock
from connector.errors import ConnectorError

EXCERPT_BYTES = 1024
THROTTLE_STATUSES = (502, 503, 504)
Kind = Literal["delivered", "gone", "throttled", "retry"]


@dataclass(frozen=True)
class Outcome:
    kind: Kind
    status: int | None = None
    retry_after: float | None = None  # seconds from the end of the attempt
    excerpt: str = ""
    error: str | None = None
    elapsed: float = 0.0

    @property
    def summary(self) -> str:
        """One line for logs and disable reasons."""
        if self.status is not None:
            return f"HTTP {self.status}"
        return self.error or self.kind


def retry_after_seconds(value: str | None, now: float) -> float | None:
    """``Retry-After`` as seconds from ``now``: delta-seconds or an HTTP date; None when absent or bad."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        return None
    return max(0.0, moment.timestamp() - now)


def classify(status: int, retry_after: float | None) -> Kind:
    if 200 <= status < 300:
        return "delivered"
    if status == 410:
        return "gone"
    if status == 429 or (status in THROTTLE_STATUSES and retry_after is not None):
        return "throttled"
    return "retry"


@functools.cache  # the installed version cannot change while running; reading it costs ~1.5 ms
def _user_agent() -> str:
    try:
        version = importlib.metadata.version("memberpass-connector")
    except importlib.metadata.PackageNotFoundError:
        version = "0"
    return f"memberpass-connector-webhooks/{version}"


def _excerpt(response: requests.Response) -> str:
    """The first 1 KB of the answer, read no further (``iter_content`` also covers a redirect's body,
    which requests has already read)."""
    raw = b""
    try:
        for chunk in response.iter_content(EXCERPT_BYTES):
            raw += chunk
            if len(raw) >= EXCERPT_BYTES:
                break
    except (requests.RequestException, OSError, ValueError):
        pass
    finally:
        response.close()
    return raw[:EXCERPT_BYTES].decode("utf-8", "replace")


def send(
    session: requests.Session,
    target_url: str,
    body: bytes,
    headers: Mapping[str, str],
    timeout: float | tuple[float, float] = (5.0, 15.0),
    *,
    clock: Clock | None = None,
) -> Outcome:
    """Make one attempt and say how it went; never raises for an HTTP or network failure."""
    clock = clock or SystemClock()
    started = clock.monotonic()
    sent = {"Content-Type": "application/json", "User-Agent": _user_agent(), **headers}
    try:
        response = session.post(
            target_url, data=body, headers=sent, timeout=timeout, allow_redirects=False, stream=True
        )
    except requests.Timeout:
        return Outcome("retry", error="timed out", elapsed=clock.monotonic() - started)
    except requests.RequestException as err:
        return Outcome(
            "retry", error=f"connection failed ({type(err).__name__})", elapsed=clock.monotonic() - started
        )
    except ConnectorError as err:  # the connect-time address guard (webhooks.targets)
        return Outcome("retry", error=f"refused: {err.message}", elapsed=clock.monotonic() - started)
    retry_after = retry_after_seconds(response.headers.get("Retry-After"), clock.now())
    excerpt = _excerpt(response)
    return Outcome(
        classify(response.status_code, retry_after),
        status=response.status_code,
        retry_after=retry_after,
        excerpt=excerpt,
        elapsed=clock.monotonic() - started,
    )
