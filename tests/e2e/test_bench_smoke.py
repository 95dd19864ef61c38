"""The delivery, polling and seen-key benchmarks run end to end on tiny sizes and report complete figures
(their speed is reported by ``memberpass-connector bench``, never asserted here)."""

from __future__ import annotations

from connector.bench import delivery, polling, seen


def test_the_delivery_benchmark_drains_every_row_and_times_both_modes() -> None:
    drained = delivery.throughput(60, subscriptions=3)
    assert drained["delivered"] == 60 and drained["per_s"] > 0
    pushed = delivery.latency("webhook", seconds=1.0)
    assert pushed["events"] > 0 and pushed["missing"] == 0 and pushed["p99_ms"] >= pushed["p50_ms"] > 0


def test_the_polling_benchmark_polls_every_subscription_once_at_each_size() -> None:
    measured = polling.measure((6, 12), warmup=6)
    assert [step["subscriptions"] for step in measured["steps"]] == [6, 12]
    assert [step["polled"] for step in measured["steps"]] == [6, 12]
    assert all(step["polls_per_s"] > 0 and "mem_mb_per_1k" in step for step in measured["steps"])


def test_the_seen_benchmark_keeps_the_bound_and_hands_over_only_the_new_records() -> None:
    bounded = seen.poll_cost(5000, rounds=1)
    assert bounded["kept"] <= 2000  # PollSpec.max_seen: the state never holds more
    lifted = seen.poll_cost(5000, max_seen=5000, rounds=1)
    assert lifted["kept"] > 2000
