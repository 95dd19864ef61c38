"""The per-token rate governor on a FakeClock: local windows, server headers, reserve, priority, pauses."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
import responses

from connector import errors as e
from connector.client import Limits, RateGovernor, governor_for
from connector.client.governor import NoSlotBeforeDeadline, Priority, _registry, reserve_for, token_key
from connector.clock import FakeClock
from tests.client.conftest import BASE, TOKEN, make_client


def headers(limit: int, remaining: int, reset: float) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset": str(reset),
    }


def test_local_window_holds_the_call_past_the_limit(clock: FakeClock) -> None:
    governor = RateGovernor(Limits(per_minute=5, reserve=0), clock)
    assert [governor.acquire() for _ in range(5)] == [0.0] * 5
    start = clock.monotonic()
    governor.acquire()
    assert clock.monotonic() - start == pytest.approx(60.0)


def test_hourly_window_counts_too(clock: FakeClock) -> None:
    governor = RateGovernor(Limits(per_minute=100, per_hour=3, reserve=0), clock)
    for _ in range(3):
        governor.acquire()
    assert governor.acquire() == pytest.approx(3600.0)


def test_background_leaves_the_reserve_to_interactive(clock: FakeClock) -> None:
    governor = RateGovernor(Limits(per_minute=10), clock)
    assert reserve_for(10, 0.1) == 1 and reserve_for(300, 0.1) == 30 and reserve_for(1, 0.1) == 0
    for _ in range(9):
        assert governor.acquire("background") == 0.0
    assert governor.acquire("interactive") == 0.0  # the reserved tenth
    assert governor.acquire("background") == pytest.approx(60.0)


def test_server_headers_lower_the_budget(clock: FakeClock) -> None:
    governor = RateGovernor(Limits(reserve=0), clock)
    governor.acquire()
    governor.done(headers(10, 2, clock.now() + 5))
    assert governor.acquire() == 0.0 and governor.acquire() == 0.0
    waited = governor.acquire()
    assert 5.0 <= waited < 6.0  # until the server's Reset, not the local minute


def test_background_keeps_off_the_servers_last_share(clock: FakeClock) -> None:
    governor = RateGovernor(Limits(), clock)
    governor.acquire("background")
    governor.done(headers(10, 1, clock.now() + 4))
    assert governor.acquire("interactive") == 0.0
    governor.done(headers(10, 0, clock.now() + 4))
    assert governor.acquire("background") >= 4.0


def test_an_older_answer_does_not_raise_the_estimate(clock: FakeClock) -> None:
    governor = RateGovernor(Limits(reserve=0), clock)
    reset = clock.now() + 30
    governor.acquire()
    governor.acquire()
    governor.done(headers(10, 2, reset))  # newer answer arrives first (the other call is in flight)
    governor.done(headers(10, 5, reset))  # older answer of the same window
    governor.acquire()
    assert governor.acquire() >= 29  # only one call was left


def test_a_new_window_after_reset_is_trusted(clock: FakeClock) -> None:
    governor = RateGovernor(Limits(reserve=0), clock)
    governor.acquire()
    governor.done(headers(10, 0, clock.now() + 3))
    assert governor.acquire() >= 3.0  # rolls over at Reset
    governor.done(headers(10, 9, clock.now() + 3))
    assert governor.acquire() == 0.0


def test_a_429_pauses_the_token(clock: FakeClock) -> None:
    governor = RateGovernor(Limits(), clock)
    governor.pause(7)
    assert governor.acquire() == pytest.approx(7.0)


def test_no_slot_before_the_deadline_raises_without_waiting(clock: FakeClock) -> None:
    governor = RateGovernor(Limits(), clock)
    governor.pause(50)
    with pytest.raises(NoSlotBeforeDeadline) as info:
        governor.acquire(deadline=clock.monotonic() + 10)
    assert info.value.wait == pytest.approx(50) and clock.sleeps == []


def test_client_reports_a_local_throttle_as_rate_limited(
    mocked: responses.RequestsMock, clock: FakeClock
) -> None:
    client = make_client(clock, total_budget=10)
    client.governor.pause(40)
    with pytest.raises(e.RateLimitedError) as info:
        client.request("GET", "/teams/current")
    assert info.value.retry_after == pytest.approx(40) and len(mocked.calls) == 0


def test_client_feeds_the_governor(mocked: responses.RequestsMock, clock: FakeClock) -> None:
    client = make_client(clock)
    mocked.get(BASE + "/teams/current", json={"data": {}}, headers=headers(300, 0, clock.now() + 20))
    client.request("GET", "/teams/current")
    result = client.request("GET", "/teams/current")
    assert result.throttled >= 20 and result.waited >= 20


def test_a_429_on_one_call_pauses_the_next(mocked: responses.RequestsMock, clock: FakeClock) -> None:
    client = make_client(clock, total_budget=5)
    body = {"error": {"code": "RATE_LIMITED", "message": "slow down"}}
    mocked.get(BASE + "/teams/current", json=body, status=429, headers={"Retry-After": "30"})
    with pytest.raises(e.RateLimitedError):
        client.request("GET", "/teams/current")
    assert client.governor.acquire() == pytest.approx(30.0)


def test_registry_is_per_token_and_keyed_by_a_digest() -> None:
    first = governor_for(TOKEN)
    assert governor_for(TOKEN) is first
    assert governor_for(TOKEN + "x") is not first
    assert token_key(TOKEN) in _registry
    assert all(TOKEN not in key for key in _registry)


def test_clients_of_one_token_share_one_governor() -> None:
    from connector import MemberPassClient

    one = MemberPassClient(BASE, TOKEN + "shared")
    two = MemberPassClient(BASE, TOKEN + "shared")
    assert one.governor is two.governor


class GatedClock(FakeClock):
    """A FakeClock whose sleeps hold until the test opens the gate, so both callers are surely waiting."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()

    def sleep(self, seconds: float) -> None:
        self.gate.wait(5)
        super().sleep(seconds)


def wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 5
    while not condition():
        assert time.monotonic() < deadline, "condition never held"
        time.sleep(0.001)


def test_interactive_goes_before_a_waiting_background_call() -> None:
    """Both wait on a pause; when it ends, the interactive caller takes the only slot first."""
    clock = GatedClock()
    governor = RateGovernor(Limits(per_minute=1, reserve=0, max_step=0.05), clock)
    order: list[str] = []
    governor.pause(1.0)

    def take(priority: Priority) -> None:
        governor.acquire(priority)
        order.append(priority)

    interactive = threading.Thread(target=take, args=("interactive",))
    background = threading.Thread(target=take, args=("background",))
    background.start()
    wait_until(lambda: governor.waiting("background") == 1)
    interactive.start()
    wait_until(lambda: governor.waiting("interactive") == 1)
    clock.gate.set()
    interactive.join(5)
    background.join(5)
    assert order == ["interactive", "background"]
