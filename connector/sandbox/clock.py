"""The sandbox clock: real time, optionally sped up, plus an offset that `/_sandbox/clock` advances."""

from __future__ import annotations

import threading
import time


class SandboxClock:
    def __init__(self, speed: float = 1.0) -> None:
        self.speed = speed
        self._origin_real = time.time()
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        elapsed = time.time() - self._origin_real
        with self._lock:
            return self._origin_real + elapsed * self.speed + self._offset

    def advance(self, seconds: float) -> float:
        with self._lock:
            self._offset += seconds
        return self.now()

    def real_seconds(self, sandbox_seconds: float) -> float:
        """How long, in real time, a span of sandbox time lasts."""
        return sandbox_seconds / self.speed
