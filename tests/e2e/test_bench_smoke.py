"""The delivery and polling benchmarks run end to end on tiny sizes and report complete figures (their speed
is reported by ``memberpass-connector bench``, never asserted here)."""

from __future__ import annotations

from connector.bench import delivery, polling


def test_the_delivery_benchmark_drains_every_row_and_times_both_modes() -> None:
    drained = delivery.throughput(60, subscriptions=3)
    assert drained["delivered"] == 60 and drained["per_s"] > 0
    pushed = delivery.latency("webhook", seconds=1.0)
    assert pushed["events"] > 0 and pushed["missing"] == 0 and pushed["p99_ms"] >= pushed["p50_ms"] > 0


def test_the_polling_benchmark_polls_every_subscription_once() -> None:
    measured = polling.measure(12, warmup=6)
    assert measured["polled"] == 12 and measured["polls_per_s"] > 0
    assert {"mem_mb_per_1k", "rss_before_mb", "rss_after_mb"} <= set(measured)
