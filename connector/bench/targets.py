"""The figures the benchmark report leads with, in order, and the target beside each (issue #8).

A target compares a figure with a bound: ``<=`` or ``>=``. The polling-mode latency bound depends on the
poll interval the run used (``e2e_poll_interval_s``): interval + 1 s. A row without a bound is reported
without a verdict (the issue sets none for it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass


def _polling_bound(figures: Mapping[str, float]) -> float | None:
    interval = figures.get("e2e_poll_interval_s")
    return None if interval is None else (interval + 1.0) * 1000


@dataclass(frozen=True)
class Target:
    name: str
    op: str = ""  # "<=", ">=" or "" (no target)
    bound: float | Callable[[Mapping[str, float]], float | None] | None = None
    note: str = ""

    def bound_for(self, figures: Mapping[str, float]) -> float | None:
        return self.bound(figures) if callable(self.bound) else self.bound

    def text(self, figures: Mapping[str, float]) -> str:
        bound = self.bound_for(figures)
        if not self.op or bound is None:
            return self.note or "-"
        sign = "≤" if self.op == "<=" else "≥"
        return f"{sign} {bound:g}" + (f" ({self.note})" if self.note else "")

    def met(self, figures: Mapping[str, float]) -> bool | None:
        """True or False against the bound; None when there is no bound or no figure."""
        bound, value = self.bound_for(figures), figures.get(self.name)
        if not self.op or bound is None or value is None:
            return None
        return value <= bound if self.op == "<=" else value >= bound


ROWS: tuple[Target, ...] = (
    Target("action_overhead_ratio", "<=", 1.25, "connector p50 / direct client p50"),
    Target("action_overhead_ratio_p99", note="p99 / p99"),
    Target("action_connector_p50_ms"),
    Target("action_connector_p99_ms"),
    Target("action_direct_p50_ms"),
    Target("action_direct_p99_ms"),
    Target("polling_endpoint_p50_ms"),
    Target("polling_endpoint_p99_ms"),
    Target("polling_direct_p50_ms"),
    Target("polling_direct_p99_ms"),
    Target("e2e_poll_interval_s"),
    Target("e2e_p50_ms_polling", "<=", _polling_bound, "interval + 1 s"),
    Target("e2e_p99_ms_polling", "<=", _polling_bound, "interval + 1 s"),
    Target("e2e_p50_ms_webhook", "<=", 1000),
    Target("e2e_p99_ms_webhook", "<=", 1000),
    Target("deliveries_per_s", ">=", 300),
    Target("deliveries_per_s_at_10k_backlog", ">=", 300),
    Target("polls_per_s", ">=", 100),
    Target("polls_per_s_at_10k", ">=", 100),
    Target("mem_mb_per_1k_subscriptions", "<=", 3),
    Target("mem_mb_per_1k_subscriptions_at_10k", "<=", 3),
    Target("mem_mb_per_1k_after_burst", "<=", 3, "every job due at once"),
    Target("mem_mb_per_1k_after_burst_at_10k", "<=", 3, "every job due at once"),
    Target("startup_s", note="spawn to /healthz, catalog loaded"),
    Target("startup_app_s", note="import + create_app + first request"),
    Target("growth_polls_1k_to_10k", "<=", 1.2, "linear or better"),
    Target("growth_mem_1k_to_10k", "<=", 1.2, "linear or better"),
    Target("growth_seen_10k_to_100k", "<=", 1.2, "bounded seen set"),
    Target("growth_seen_10k_to_100k_unbounded", note="bound lifted, for comparison"),
)

# Names a quick run must always produce (tests/bench/test_bench_names.py holds the report to them).
STABLE: tuple[str, ...] = (
    "action_overhead_ratio",
    "action_connector_p50_ms",
    "action_connector_p99_ms",
    "action_direct_p50_ms",
    "action_direct_p99_ms",
    "polling_endpoint_p50_ms",
    "polling_endpoint_p99_ms",
    "e2e_p50_ms_polling",
    "e2e_p99_ms_polling",
    "e2e_p50_ms_webhook",
    "e2e_p99_ms_webhook",
    "e2e_poll_interval_s",
    "deliveries_per_s",
    "polls_per_s",
    "mem_mb_per_1k_subscriptions",
    "startup_s",
    "growth_polls_1k_to_10k",
    "growth_mem_1k_to_10k",
    "growth_seen_10k_to_100k",
)
