"""Run callbacks at sandbox times: async jobs, queued cancellations, webhook retries.

A single worker thread wakes every ``tick`` real seconds and runs whatever is due on the sandbox clock, so
advancing the clock (`POST /_sandbox/clock`) makes later work due at once.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
from collections.abc import Callable

from connector.sandbox.clock import SandboxClock

log = logging.getLogger(__name__)


class Scheduler:
    def __init__(self, clock: SandboxClock, tick: float = 0.02) -> None:
        self.clock = clock
        self.tick = tick
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._counter = itertools.count()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def call_at(self, when: float, fn: Callable[[], None]) -> None:
        with self._lock:
            heapq.heappush(self._heap, (when, next(self._counter), fn))
        self._wake.set()

    def call_later(self, delay: float, fn: Callable[[], None]) -> None:
        self.call_at(self.clock.now() + delay, fn)

    def run_due(self) -> int:
        """Run every callback that is due now; returns how many ran. Tests may call this directly."""
        ran = 0
        while True:
            with self._lock:
                if not self._heap or self._heap[0][0] > self.clock.now():
                    return ran
                _, _, fn = heapq.heappop(self._heap)
            try:
                fn()
            except Exception:
                log.exception("scheduled sandbox task failed")
            ran += 1

    def pending(self) -> int:
        with self._lock:
            return len(self._heap)

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="sandbox-scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.run_due()
            self._wake.wait(self.tick)
            self._wake.clear()
