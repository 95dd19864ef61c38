"""When a delivery is tried again, when it is dead, and when a subscription is disabled.

Retry schedule (waits after a failed attempt, before the next one; Standard Webhooks §4.1 asks for
exponential backoff with jitter over days):

    attempt   1    2     3      4      5       6     7     8      9
    wait      -   10 s  1 min  5 min  30 min  2 h   6 h   12 h   24 h   -> dead after attempt 9 fails

That is nine attempts over about 44.6 h. Each wait goes through the injected ``jitter`` (default: up to
20 % longer, never shorter), and never ends before the receiver's ``Retry-After``.

Outcomes (from :mod:`webhooks.sender`): ``delivered`` (2xx) ends the row; ``gone`` (410) ends it and removes
the subscription; ``throttled`` (429, or 502/503/504 naming a ``Retry-After``) and ``retry`` (every other
failure: 5xx, 3xx, other 4xx, timeouts, connection errors, a refused address) are tried again on the
schedule. Every non-2xx is retried because receivers fail in passing (a deploy answers 404, a rotated key
401); the schedule bounds the cost.

A subscription is disabled (with a reason) after ``max_consecutive`` failed attempts in a row, across all
its deliveries, once the first of them is at least ``min_duration`` old: a burst of failures during a short
outage does not disable anything, a receiver down for a day does. Throttling is neither failure nor
success; any delivery resets the run.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from webhooks.sender import Outcome

RETRY_DELAYS: tuple[float, ...] = (10, 60, 300, 1800, 7200, 21600, 43200, 86400)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1

Jitter = Callable[[float], float]
Status = Literal["delivered", "gone", "retry", "dead"]


def stretch_jitter(delay: float) -> float:
    """Up to 20 % longer, at random: spreads retries of a fleet without ever retrying early."""
    return delay * random.uniform(1.0, 1.2)


def no_jitter(delay: float) -> float:
    return delay


@dataclass(frozen=True)
class Step:
    status: Status
    next_attempt_at: float | None = None
    reason: str = ""


def next_step(attempts: int, outcome: Outcome, now: float, jitter: Jitter = stretch_jitter) -> Step:
    """What to do after attempt number ``attempts`` (1-based) ended with ``outcome`` at ``now``."""
    if outcome.kind == "delivered":
        return Step("delivered", reason=outcome.summary)
    if outcome.kind == "gone":
        return Step("gone", reason="the receiver answered 410 Gone: the subscription is removed")
    if attempts >= MAX_ATTEMPTS:
        return Step("dead", reason=f"gave up after {attempts} attempts; last: {outcome.summary}")
    wait = max(0.0, jitter(RETRY_DELAYS[max(attempts, 1) - 1]))
    if outcome.retry_after is not None:
        wait = max(wait, outcome.retry_after)
    return Step("retry", now + wait, outcome.summary)


@dataclass(frozen=True)
class FailureRule:
    max_consecutive: int = 20
    min_duration: float = 24 * 3600.0


@dataclass(frozen=True)
class Health:
    """A subscription's run of failed attempts (plain data, stored with the subscription)."""

    consecutive_failures: int = 0
    failing_since: float | None = None


def record_outcome(
    health: Health, outcome: Outcome, now: float, rule: FailureRule = FailureRule()
) -> tuple[Health, str | None]:
    """The subscription's health after an attempt, and the reason to disable it, if it is time."""
    if outcome.kind in ("delivered", "gone"):
        return Health(), None
    if outcome.kind == "throttled":
        return health, None
    failures = health.consecutive_failures + 1
    since = now if health.failing_since is None else health.failing_since
    updated = Health(failures, since)
    if failures >= rule.max_consecutive and now - since >= rule.min_duration:
        hours = (now - since) / 3600
        return updated, (
            f"Disabled after {failures} consecutive failed deliveries over {hours:.1f} h; "
            f"last: {outcome.summary}. Fix the receiver, then re-enable the subscription."
        )
    return updated, None
