"""The demo's live terminal view: one line per delivery as it arrives, a progress summary every few seconds.

Plain lines only (no cursor movement), so the output reads the same in a terminal and in a CI log.

Latency is measured from the moment a record came to be upstream to its first arrival at the receiver.
MemberPass timestamps (an event's ``created_at``, a member's ``joined_at``…) have whole-second precision,
which would blur webhook latencies of a few milliseconds, so :class:`EmissionIndex` remembers when the
traffic generator sent each ``/_sandbox/simulate`` call, by the ids of the events it emitted and of the
records those events name; an item's origin is the first of those it matches (its own id, ``event_id``,
``record_id``), and its own upstream timestamp only when it matches none (a record the generator did not
make). The send time bounds the true start from above by at most the call's duration (a few ms).
"""

from __future__ import annotations

import threading
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from connector.bench import stats
from connector.demo_receiver import Delivery, DemoReceiver

MAX_REMEMBERED = 200_000  # ids kept by the emission index (oldest forgotten first)
IN_FLIGHT_WAIT = 2.0  # seconds an arrival waits for the simulate call that made it to be recorded
TIMESTAMP_FIELDS = ("changed_at", "created_at", "occurred_at", "joined_at")


class EmissionIndex:
    """Id -> wall time of the simulate call that first mentioned it; thread-safe."""

    def __init__(self) -> None:
        self._origins: OrderedDict[str, float] = OrderedDict()
        self._in_flight = 0
        self._changed = threading.Condition()

    def begin(self) -> None:
        """A simulate call is about to be sent: arrivals that match nothing wait for its answer."""
        with self._changed:
            self._in_flight += 1

    def record(self, events: Iterable[dict[str, Any]], sent_at: float) -> None:
        """The events one call emitted (call after :meth:`begin`, also when the call failed: ``[]``)."""
        with self._changed:
            for event in events:
                for found in [event.get("id"), *_ids_in(event.get("data"))]:
                    if isinstance(found, str) and found not in self._origins:
                        self._origins[found] = sent_at
            while len(self._origins) > MAX_REMEMBERED:
                self._origins.popitem(last=False)
            self._in_flight -= 1
            self._changed.notify_all()

    def origin(self, payload: dict[str, Any], wait: float = IN_FLIGHT_WAIT) -> float | None:
        """When the item's record came to be: the generator's send time, else its upstream timestamp."""
        keys = [payload.get(k) for k in ("id", "event_id", "record_id")]
        with self._changed:
            found = self._match(keys)
            if found is None and self._changed.wait_for(lambda: self._in_flight == 0, wait):
                found = self._match(keys)
        return found if found is not None else upstream_time(payload)

    def _match(self, keys: list[Any]) -> float | None:
        for key in keys:
            if isinstance(key, str) and key in self._origins:
                return self._origins[key]
        return None


def _ids_in(data: Any) -> list[Any]:
    """Values of ``id`` and ``*_id`` keys anywhere in an event's data."""
    if isinstance(data, list):
        return [found for item in data for found in _ids_in(item)]
    if not isinstance(data, dict):
        return []
    found = [v for k, v in data.items() if k == "id" or k.endswith("_id")]
    return found + [nested for v in data.values() for nested in _ids_in(v)]


def upstream_time(payload: dict[str, Any]) -> float | None:
    for name in TIMESTAMP_FIELDS:
        value = payload.get(name)
        if isinstance(value, str):
            try:
                return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
            except ValueError:
                continue
    return None


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (``q`` in 0-100, as the benchmarks compute it); None for no values."""
    return stats.percentile(values, q) if values else None


def delivery_line(delivery: Delivery, latency_ms: float | None) -> str:
    took = "?" if latency_ms is None else f"{latency_ms:.0f}"
    return f"→ delivered {delivery.trigger} {delivery.record_id} in {took} ms ({delivery.mode})"


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f} ms"


class LiveView:
    """Prints deliveries as the receiver hands them over and keeps their latencies, per mode."""

    def __init__(self, index: EmissionIndex, echo: Callable[[str], None]) -> None:
        self.index = index
        self.echo = echo
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self._lock = threading.Lock()

    def delivered(self, delivery: Delivery) -> None:
        origin = self.index.origin(delivery.payload)
        latency = None if origin is None else max(0.0, (delivery.arrived_at - origin) * 1000)
        with self._lock:
            if latency is not None:
                self.latencies[delivery.mode].append(latency)
            self.echo(delivery_line(delivery, latency))

    def latency_figures(self) -> dict[str, dict[str, float | int | None]]:
        """Mode -> ``{"count", "p50_ms", "p99_ms"}``."""
        with self._lock:
            copies = {mode: list(values) for mode, values in self.latencies.items()}
        return {
            mode: {"count": len(values), "p50_ms": percentile(values, 50), "p99_ms": percentile(values, 99)}
            for mode, values in sorted(copies.items())
        }

    def summary(self, label: str, progress: dict[str, int]) -> None:
        """One summary line: ``progress`` holds emitted, received, unverified, pending and failed."""
        latency = "; ".join(
            f"{mode} p50 {_ms(f['p50_ms'])} p99 {_ms(f['p99_ms'])}"
            for mode, f in self.latency_figures().items()
        )
        line = (
            f"── {label}: {progress['emitted']} events emitted, {progress['received']} deliveries received"
            f" and verified ({progress['unverified']} unverified), outbox {progress['pending']} pending"
            f" / {progress['failed']} failed, latency {latency or 'no deliveries yet'}"
        )
        with self._lock:
            self.echo(line)


@dataclass
class DemoResult:
    """What a run saw (the smoke test reads it)."""

    events: dict[str, int] = field(default_factory=dict)  # event type -> emitted
    deliveries: dict[str, dict[str, int]] = field(default_factory=dict)  # trigger -> mode -> received
    by_mode: dict[str, int] = field(default_factory=dict)
    unverified: int = 0
    redeliveries: int = 0  # repeats of a webhook-id already received (acknowledged, not counted again)
    duplicate_records: int = 0  # items received under two webhook-ids
    latency: dict[str, dict[str, float | int | None]] = field(default_factory=dict)  # mode -> figures
    stopped_cleanly: bool = False


def result_of(events: Counter[str], receiver: DemoReceiver, view: LiveView) -> DemoResult:
    by_trigger: dict[str, Counter[str]] = defaultdict(Counter)
    for delivery in receiver.deliveries():
        by_trigger[delivery.trigger][delivery.mode] += 1
    return DemoResult(
        events=dict(events),
        deliveries={trigger: dict(modes) for trigger, modes in by_trigger.items()},
        by_mode=dict(sum(by_trigger.values(), Counter())),
        unverified=receiver.unverified,
        redeliveries=receiver.redeliveries,
        duplicate_records=receiver.duplicate_records(),
        latency=view.latency_figures(),
    )
