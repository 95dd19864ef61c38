"""A per-token rate governor shared by every thread of the process (contract §5, C6).

Two sources of truth, and a slot is free only when both agree:

* the process's own sending history: sliding windows of 300/min and 10,000/h by default, so a burst never
  starts before the server has said anything;
* the server's latest word, ``X-RateLimit-Limit/Remaining/Reset``: how many calls are left until when. It
  counts every client of the token, so it corrects the local view.

Interactive calls go first: a background caller steps aside while an interactive one waits, and never takes
the last ``reserve`` share (10%) of any window. A 429 pauses the whole token until its ``Retry-After``.
Waiting goes through the injected clock, so tests advance time instead of sleeping.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from connector.clock import Clock, SystemClock

Priority = Literal["interactive", "background"]
PRIORITIES: tuple[Priority, ...] = ("interactive", "background")


@dataclass(frozen=True)
class Limits:
    per_minute: int = 300
    per_hour: int = 10_000
    minute: float = 60.0
    hour: float = 3600.0
    reserve: float = 0.1  # share of each window that background work leaves to interactive calls
    poll: float = 0.02  # how soon a background caller that stepped aside looks again
    max_step: float = 0.5  # longest single sleep, so a waiter notices a slot freed by a correction


class NoSlotBeforeDeadline(Exception):
    """The next free slot comes after the caller's deadline; ``wait`` says how far off it is."""

    def __init__(self, wait: float) -> None:
        super().__init__(f"no request slot for {wait:.2f}s")
        self.wait = wait


def reserve_for(limit: int, share: float) -> int:
    """Calls of a window kept for interactive work: at least one, never the whole window."""
    if share <= 0 or limit <= 1:
        return 0
    return min(limit - 1, max(1, math.ceil(limit * share)))


class _SlidingWindow:
    def __init__(self, limit: int, length: float) -> None:
        self.limit, self.length = limit, length
        self.sent: deque[float] = deque()

    def wait(self, mono: float, keep: int) -> float:
        """Seconds until fewer than ``limit - keep`` calls fall in the last ``length`` seconds."""
        while self.sent and self.sent[0] <= mono - self.length:
            self.sent.popleft()
        allowed = self.limit - keep
        if len(self.sent) < allowed:
            return 0.0
        return self.sent[len(self.sent) - allowed] + self.length - mono


@dataclass
class _ServerView:
    limit: int
    remaining: int
    reset_at: float  # unix seconds
    guessed: bool = False  # the window rolled over and no answer has described the new one yet


class RateGovernor:
    def __init__(self, limits: Limits | None = None, clock: Clock | None = None) -> None:
        self.limits = limits or Limits()
        self._clock = clock or SystemClock()
        self._lock = threading.Lock()
        self._windows = [
            _SlidingWindow(self.limits.per_minute, self.limits.minute),
            _SlidingWindow(self.limits.per_hour, self.limits.hour),
        ]
        self._server: _ServerView | None = None
        self._paused_until = 0.0  # monotonic
        self._inflight = 0
        self._waiting = {p: 0 for p in PRIORITIES}

    def __repr__(self) -> str:
        return f"RateGovernor({self.limits.per_minute}/min, {self.limits.per_hour}/h)"

    def waiting(self, priority: Priority) -> int:
        with self._lock:
            return self._waiting[priority]

    def acquire(self, priority: Priority = "interactive", deadline: float | None = None) -> float:
        """Block until this call may be sent and claim its slot; returns the seconds waited.

        Raises :class:`NoSlotBeforeDeadline` when the slot would come after ``deadline`` (monotonic).
        """
        waited = 0.0
        with self._lock:
            self._waiting[priority] += 1
        try:
            while True:
                with self._lock:
                    wait = self._wait_needed(priority)
                    if wait <= 0:
                        self._take()
                        return waited
                if deadline is not None and self._clock.monotonic() + wait > deadline:
                    raise NoSlotBeforeDeadline(wait)
                step = min(wait, self.limits.max_step)
                self._clock.sleep(step)
                waited += step
        finally:
            with self._lock:
                self._waiting[priority] -= 1

    def done(self, headers: Mapping[str, str] | None = None) -> None:
        """The call claimed by ``acquire`` finished; ``headers`` of its answer, if one came."""
        with self._lock:
            self._inflight = max(0, self._inflight - 1)
            if headers is not None:
                self._observe(headers)

    def pause(self, seconds: float) -> None:
        """A 429: nobody on this token sends again before ``seconds`` have passed."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock.monotonic() + seconds)

    # -- internals, called under the lock ------------------------------------------------------------
    def _wait_needed(self, priority: Priority) -> float:
        if priority == "background" and self._waiting["interactive"] > 0:
            return self.limits.poll
        background = priority == "background"
        mono = self._clock.monotonic()
        waits = [self._paused_until - mono]
        for window in self._windows:
            waits.append(
                window.wait(mono, reserve_for(window.limit, self.limits.reserve) if background else 0)
            )
        view = self._server
        if view is not None:
            now = self._clock.now()
            if now >= view.reset_at:
                view.remaining, view.reset_at, view.guessed = view.limit, now + self.limits.minute, True
            keep = reserve_for(view.limit, self.limits.reserve) if background else 0
            if view.remaining <= keep:
                # A guessed window ends when the next answer says so; look again soon if one is on its way.
                waits.append(self.limits.poll if view.guessed and self._inflight else view.reset_at - now)
        return max(waits)

    def _take(self) -> None:
        mono = self._clock.monotonic()
        for window in self._windows:
            window.sent.append(mono)
        if self._server is not None:
            self._server.remaining -= 1
        self._inflight += 1

    def _observe(self, headers: Mapping[str, str]) -> None:
        try:
            limit = int(headers["X-RateLimit-Limit"])
            remaining = int(headers["X-RateLimit-Remaining"])
            reset_at = float(headers["X-RateLimit-Reset"])
        except (KeyError, ValueError):
            return
        # Calls still in flight may land in the window this answer describes: count them as spent.
        fresh = _ServerView(limit, max(0, remaining - self._inflight), reset_at)
        view = self._server
        if view is None or view.guessed or reset_at > view.reset_at or fresh.remaining < view.remaining:
            self._server = fresh


_registry: dict[str, RateGovernor] = {}
_registry_lock = threading.Lock()


def token_key(token: str) -> str:
    """The registry key of a token: a digest, so the token itself is never held as a key or logged."""
    return hashlib.sha256(token.encode()).hexdigest()[:32]


def governor_for(token: str, *, limits: Limits | None = None, clock: Clock | None = None) -> RateGovernor:
    """The process-wide governor of this token, created on first use with ``limits`` and ``clock``."""
    key = token_key(token)
    with _registry_lock:
        governor = _registry.get(key)
        if governor is None:
            governor = _registry[key] = RateGovernor(limits, clock)
        return governor
