"""Per-token rate limits (contract §5, C6): fixed windows that start at the first hit, Laravel-style.

Windows run on real time, not on the (possibly sped-up) sandbox clock, so a client's governor can pace
itself against them.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass


@dataclass
class _Window:
    started: float
    count: int = 0


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    reset: int  # unix seconds
    retry_after: int  # seconds; 0 when allowed


class RateLimiter:
    def __init__(self) -> None:
        self._windows: dict[tuple[str, str], _Window] = {}
        self._lock = threading.Lock()

    def hit(
        self, token_id: str, buckets: list[tuple[str, int, float]], reported: int | None = None
    ) -> Verdict:
        """Count one request against every bucket (name, limit, window seconds), or refuse it.

        A refused request counts against nothing; a refusal names the bucket that refused. An allowed
        request's verdict (the `X-RateLimit-*` headers) describes the tightest of the first ``reported``
        buckets — the token-wide ones — so that a small endpoint bucket (test fire, 5/min) never looks like
        the token's whole budget to a client pacing itself on the headers.
        """
        now = time.time()
        with self._lock:
            states = []
            for name, limit, length in buckets:
                window = self._windows.get((token_id, name))
                if window is None or now >= window.started + length:
                    window = _Window(started=now)
                    self._windows[(token_id, name)] = window
                states.append((limit, length, window))
            blocked = [(w.started + length, limit) for limit, length, w in states if w.count >= limit]
            if blocked:
                reset, limit = max(blocked)
                return Verdict(False, limit, 0, math.ceil(reset), max(1, math.ceil(reset - now)))
            for _, _, window in states:
                window.count += 1
            shown = states[:reported] if reported else states
            limit, length, window = min(shown, key=lambda s: s[0] - s[2].count)
            return Verdict(True, limit, limit - window.count, math.ceil(window.started + length), 0)

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()
