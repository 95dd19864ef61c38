"""When to try a call again, and how long to wait first (after stripe-python's ``_should_retry`` and
``_sleep_time_seconds``).

Retried: transport failures, 5xx, 429 and 409 ``IDEMPOTENCY_REQUEST_IN_PROGRESS``; a mutation is safe to
send again because it carries the same ``Idempotency-Key`` every time. Everything else is an answer that
sending again cannot change (400, 401, 403, 404, 405, 422, other 409s). The wait is capped exponential
backoff with injected jitter, and never shorter than the server's ``Retry-After``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from connector.errors import ConnectorError, NetworkError, RetryableError

Jitter = Callable[[float], float]

IN_PROGRESS = "IDEMPOTENCY_REQUEST_IN_PROGRESS"


def equal_jitter(delay: float) -> float:
    """Somewhere between half the delay and all of it: spreads a crowd out, never collapses to zero."""
    return delay * random.uniform(0.5, 1.0)


def no_jitter(delay: float) -> float:
    return delay


def is_retryable(error: ConnectorError) -> bool:
    if isinstance(error, NetworkError):
        return error.code != "TLS_FAILED"
    if not isinstance(error, RetryableError):
        return False
    return error.status >= 500 or error.status == 429 or (error.status == 409 and error.code == IN_PROGRESS)


def told_when(error: ConnectorError) -> bool:
    """The server named the wait (429, 409 in progress): the attempt count does not bound these, the
    time budget does, so a throttled call rides the throttling out instead of giving up."""
    return error.status in (429, 409) and isinstance(error, RetryableError) and error.retry_after is not None


@dataclass(frozen=True)
class RetryPolicy:
    """``max_attempts`` counts every try (first one included) after a transport failure or 5xx; waits the
    server names (429, 409 in progress) are bounded by the time budget and ``max_told_attempts``."""

    max_attempts: int = 5
    max_told_attempts: int = 30
    base_delay: float = 0.5
    max_delay: float = 20.0
    jitter: Jitter = field(default=equal_jitter)

    def backoff(self, attempt: int) -> float:
        """Wait after failed attempt number ``attempt`` (1-based), before the Retry-After floor."""
        capped = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return max(0.0, min(capped, self.jitter(capped)))

    def wait_after(self, attempt: int, error: ConnectorError) -> float | None:
        """Seconds to wait before the next attempt, or None when the error is final."""
        if not is_retryable(error):
            return None
        limit = self.max_told_attempts if told_when(error) else self.max_attempts
        if attempt >= limit:
            return None
        retry_after = error.retry_after if isinstance(error, RetryableError) else None
        if retry_after is not None and told_when(error):
            # The server said when: wait that long (never less), without growing the backoff, so a burst
            # of 429s is ridden out at the pace the server sets.
            return max(retry_after, self.backoff(1))
        wait = self.backoff(attempt)
        return wait if retry_after is None else max(wait, retry_after)
