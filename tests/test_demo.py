"""`demo` runs the whole tour for a few seconds: sandbox, connector, receiver, traffic, live view, clean stop.

Deliveries must arrive in both modes (event triggers pushed by MemberPass webhooks, list-backed triggers
polled every 2 s), every one verified by the receiver, no item under two webhook-ids, the summary lines
printed, and no thread the demo started still running once it returns.
"""

from __future__ import annotations

import re
import signal
import threading
import time
from collections import Counter

import pytest

from connector.demo import EVENT_TRIGGERS, LIST_TRIGGERS, run_demo
from tests.demo.process import free_port, read_until, start_demo, stop

DELIVERY_LINE = re.compile(r"^→ delivered (\S+) (\S+) in (\d+) ms \((webhook|polling)\)$")


def _threads_left(before: set[threading.Thread], grace: float = 3.0) -> list[str]:
    """Threads started since ``before`` that are still alive after ``grace`` seconds."""
    deadline = time.monotonic() + grace
    while True:
        left = [t.name for t in threading.enumerate() if t not in before and t.is_alive()]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


def test_demo_delivers_in_both_modes_verified_once_and_stops_cleanly(
    capsys: pytest.CaptureFixture[str],
) -> None:
    before = set(threading.enumerate())
    result = run_demo(
        sandbox_port=free_port(), connector_port=free_port(), duration=5, rate=20, summary_every=2
    )
    out = capsys.readouterr().out
    assert _threads_left(before) == []

    assert sum(result.events.values()) >= 50 and result.events.get("subscription.created", 0) > 0
    assert result.by_mode.get("webhook", 0) > 0 and result.by_mode.get("polling", 0) > 0
    assert set(result.deliveries) <= {*EVENT_TRIGGERS, *LIST_TRIGGERS}
    assert result.unverified == 0 and result.duplicate_records == 0
    assert result.latency["webhook"]["count"] and result.latency["polling"]["count"]
    assert result.stopped_cleanly

    delivered = [m.groups() for m in map(DELIVERY_LINE.match, out.splitlines()) if m]
    assert len(delivered) == sum(result.by_mode.values())  # one line per delivery, each counted once
    repeated = [item for item, n in Counter((t, r) for t, r, _, _ in delivered).items() if n > 1]
    assert repeated == []
    assert Counter(mode for _, _, _, mode in delivered) == Counter(result.by_mode)

    assert "MemberPass sandbox" in out and "token full" in out and "connection key     mpc_" in out
    assert "Dashboard            http://127.0.0.1:" in out
    assert re.search(r"^── \d+ s: \d+ events emitted, \d+ deliveries received and verified", out, re.M)
    assert re.search(r"^── final: .* \(0 unverified\), outbox \d+ pending / \d+ failed, latency ", out, re.M)
    assert "stopped cleanly" in out


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_the_command_stops_cleanly_on_ctrl_c_and_sigterm(stop_signal: signal.Signals) -> None:
    process = start_demo("--rate", "20")
    lines = read_until(process, "→ delivered")  # the first delivery: the whole tour is running
    out = "".join(lines) + stop(process, stop_signal)
    assert process.returncode == 0, out[-2000:]
    assert "stopping …" in out and "── final: " in out and out.rstrip().endswith("stopped cleanly.")
