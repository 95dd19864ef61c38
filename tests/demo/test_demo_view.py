"""The live view's figures: where an item's latency starts, percentiles, and the printed lines."""

from __future__ import annotations

import threading
import time

from connector.demo_receiver import Delivery
from connector.demo_view import EmissionIndex, LiveView, delivery_line, percentile

EVENT = {
    "id": "evt_1",
    "type": "payment.failed",
    "created_at": "2026-05-20T08:30:00Z",
    "data": {"payment_id": "pay_1", "subscriber": {"id": "usr_1"}, "items": [{"plan_id": "pln_1"}]},
}


def test_an_item_starts_when_the_call_that_emitted_it_or_its_record_was_sent() -> None:
    index = EmissionIndex()
    index.begin()
    index.record([EVENT], sent_at=100.0)
    assert index.origin({"id": "evt_1"}) == 100.0  # an event trigger's item is the event
    assert index.origin({"id": "pay_1"}) == 100.0  # a list record named in the event's data
    assert index.origin({"id": "usr_1:evt_9", "record_id": "usr_1"}) == 100.0
    assert index.origin({"id": "pln_1"}) == 100.0
    index.begin()
    index.record([{**EVENT, "id": "evt_2"}], sent_at=200.0)
    assert index.origin({"id": "pay_1"}) == 100.0  # the first mention wins


def test_an_unknown_record_falls_back_to_its_upstream_timestamp() -> None:
    index = EmissionIndex()
    assert index.origin({"id": "usr_9", "joined_at": "2026-05-20T08:30:00Z"}) == 1779265800.0
    assert index.origin({"id": "usr_9"}) is None


def test_an_arrival_waits_for_the_call_still_in_flight() -> None:
    index = EmissionIndex()
    index.begin()
    timer = threading.Timer(0.1, index.record, args=([EVENT], 100.0))
    timer.start()
    started = time.monotonic()
    assert index.origin({"id": "evt_1"}) == 100.0
    assert time.monotonic() - started < 1.5
    timer.join()


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile([7.0], 99) == 7.0
    assert percentile([], 50) is None


def test_lines_show_each_delivery_and_the_progress() -> None:
    lines: list[str] = []
    index = EmissionIndex()
    index.begin()
    index.record([EVENT], sent_at=time.time() - 0.25)
    view = LiveView(index, lines.append)
    view.delivered(Delivery("payment.failed", "webhook", "msg_1", "evt_1", {"id": "evt_1"}, time.time()))
    assert lines[0].startswith("→ delivered payment.failed evt_1 in 2")
    assert lines[0].endswith(" ms (webhook)")
    view.summary("5 s", {"emitted": 3, "received": 1, "unverified": 0, "pending": 2, "failed": 0})
    assert lines[1].startswith("── 5 s: 3 events emitted, 1 deliveries received and verified (0 unverified)")
    assert "outbox 2 pending / 0 failed" in lines[1] and "webhook p50 2" in lines[1]
    figures = view.latency_figures()["webhook"]
    assert figures["count"] == 1 and 240 <= (figures["p50_ms"] or 0) < 2000
    assert (
        delivery_line(Delivery("t", "polling", "m", "r", {}, 0.0), None)
        == "→ delivered t r in ? ms (polling)"
    )
