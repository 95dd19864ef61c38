"""The retry schedule, Retry-After, dead rows, and the consecutive-failure rule."""

from __future__ import annotations

import pytest

from webhooks.schedule import (
    MAX_ATTEMPTS,
    RETRY_DELAYS,
    FailureRule,
    Health,
    next_step,
    no_jitter,
    record_outcome,
    stretch_jitter,
)
from webhooks.sender import Outcome

NOW = 1_780_000_000.0
FAILED = Outcome("retry", status=500)


def test_the_documented_schedule() -> None:
    assert RETRY_DELAYS == (10, 60, 300, 1800, 7200, 21600, 43200, 86400)
    assert MAX_ATTEMPTS == 9
    assert sum(RETRY_DELAYS) == 160_570  # about 44.6 h from the first attempt to the last


def test_failures_walk_the_schedule_then_die() -> None:
    waits = []
    for attempt in range(1, MAX_ATTEMPTS):
        step = next_step(attempt, FAILED, NOW, no_jitter)
        assert step.status == "retry" and step.next_attempt_at is not None
        waits.append(step.next_attempt_at - NOW)
    assert tuple(waits) == RETRY_DELAYS
    dead = next_step(MAX_ATTEMPTS, FAILED, NOW, no_jitter)
    assert dead.status == "dead" and dead.next_attempt_at is None
    assert "9 attempts" in dead.reason and "HTTP 500" in dead.reason


def test_success_and_gone_end_the_row() -> None:
    assert next_step(3, Outcome("delivered", status=204), NOW).status == "delivered"
    gone = next_step(1, Outcome("gone", status=410), NOW)
    assert gone.status == "gone" and "410" in gone.reason


def test_jitter_is_injected_and_applied_to_the_wait() -> None:
    step = next_step(2, FAILED, NOW, lambda delay: delay * 1.5)
    assert step.next_attempt_at == NOW + 90


def test_the_default_jitter_only_ever_stretches() -> None:
    waits = [stretch_jitter(100.0) for _ in range(200)]
    assert min(waits) >= 100.0 and max(waits) <= 120.0 and len(set(waits)) > 1


@pytest.mark.parametrize(("retry_after", "expected"), [(3600.0, 3600.0), (5.0, 10.0)])
def test_retry_after_is_a_floor_never_a_shortcut(retry_after: float, expected: float) -> None:
    throttled = Outcome("throttled", status=429, retry_after=retry_after)
    assert next_step(1, throttled, NOW, no_jitter).next_attempt_at == NOW + expected


def test_a_retry_after_on_a_plain_failure_is_honoured_too() -> None:
    outcome = Outcome("retry", status=500, retry_after=600.0)
    assert next_step(1, outcome, NOW, lambda d: d / 2).next_attempt_at == NOW + 600


def test_a_short_outage_does_not_disable_a_subscription() -> None:
    health = Health()
    for i in range(50):
        health, reason = record_outcome(health, FAILED, NOW + i)
        assert reason is None
    assert health.consecutive_failures == 50 and health.failing_since == NOW


def test_a_long_run_of_failures_disables_with_a_reason() -> None:
    rule = FailureRule(max_consecutive=20, min_duration=24 * 3600)
    health = Health()
    for i in range(19):
        health, reason = record_outcome(health, FAILED, NOW + i * 3600, rule)
        assert reason is None
    health, reason = record_outcome(health, Outcome("retry", error="timed out"), NOW + 25 * 3600, rule)
    assert reason is not None
    assert "20 consecutive failed deliveries" in reason and "25.0 h" in reason and "timed out" in reason


def test_a_delivery_resets_the_run_and_throttling_is_neutral() -> None:
    health, _ = record_outcome(Health(), FAILED, NOW)
    health, _ = record_outcome(health, Outcome("throttled", status=429), NOW + 1)
    assert health == Health(1, NOW)
    health, _ = record_outcome(health, Outcome("delivered", status=200), NOW + 2)
    assert health == Health()
