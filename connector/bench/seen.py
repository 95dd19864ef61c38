"""What one poll costs as the number of keys it has seen grows: 10,000 against 100,000.

The seen set (``triggers.dedupe.SeenSet``) holds only keys at or after the window's floor, and at most
``PollSpec.max_seen`` of them (2,000; no manifest overrides it): pruning drops whole granules from the
oldest end and raises the floor. Keys pile up only when many records share the overlap window (a bulk
import of N records within a few seconds), so that is the case measured: N records handed over, all
inside the last 4 seconds, then a poll that finds 5 new ones at the head.

One measured poll is what the engine does with a subscription's state: ``PollState.from_dict`` of the
stored JSON, :func:`triggers.poll.poll` over an in-memory newest-first list (pages of 100), and the JSON
of the committed state. Figures (stable names):

- ``growth_seen_10k_to_100k``: poll time (best of 7) with 100,000 seen records over that with 10,000, at the
  product's bound (both states hold at most 2,000 keys, so about 1 is expected);
- ``seen_poll_ms_10k`` / ``seen_poll_ms_100k`` and ``seen_keys_kept_100k`` (the bounded state's size);
- full run only: ``growth_seen_10k_to_100k_unbounded`` with the bound lifted to N, the cost the bound saves.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from connector.clock import SystemClock
from triggers.cursor import PageToken, PollSpec, PollState, format_ts, parse_ts
from triggers.dedupe import SeenSet
from triggers.poll import poll

BASE = 1_780_000_000 * 1_000_000  # microseconds
WINDOW = 4_000_000  # the burst's spread: inside the 5 s overlap
PAGE = 100
NEW = 5


def records(count: int, start: int, spread: int) -> list[dict[str, Any]]:
    """``count`` records spread over ``spread`` microseconds from ``start``, newest first."""
    step = max(1, spread // max(1, count))
    made = [
        {"id": f"mem_{start + i * step:020d}", "created_at": format_ts(start + i * step)}
        for i in range(count)
    ]
    return made[::-1]


def handed_over(history: Sequence[dict[str, Any]], spec: PollSpec) -> PollState:
    """The state after every record of ``history`` (newest first) was handed over, pruned as the core
    prunes: floor at ``cursor - overlap``, at most ``max_seen`` keys."""
    newest = history[0]["created_at"]
    seen = SeenSet.from_state((r["id"], r["created_at"]) for r in history)
    floor = seen.prune(parse_ts(newest) - spec.overlap, spec.max_seen)
    return PollState(
        cursor=newest, floor=format_ts(floor) if floor is not None else None, head_mark=newest,
        seen=seen.to_state(), primed=True,
    )  # fmt: skip


def fetcher(listing: Sequence[dict[str, Any]]) -> Any:
    def fetch_page(token: PageToken) -> tuple[Sequence[dict[str, Any]], PageToken]:
        offset = int(token or 0)
        page = listing[offset : offset + PAGE]
        return page, (offset + PAGE if offset + PAGE < len(listing) else None)

    return fetch_page


def poll_cost(count: int, max_seen: int | None = None, rounds: int = 7) -> dict[str, Any]:
    """Seconds of one poll after ``count`` records were handed over inside the overlap window."""
    spec = PollSpec(order_by="created_at") if max_seen is None else PollSpec("created_at", max_seen=max_seen)
    history = records(count, BASE, WINDOW)
    stored = json.dumps(handed_over(history, spec).to_dict())
    fresh = records(NEW, BASE + WINDOW + 1000, 1000)
    listing = fresh + history
    times, kept, new = [], 0, 0
    for _ in range(rounds + 1):
        started = time.perf_counter()
        state = PollState.from_dict(json.loads(stored))
        result = poll(fetcher(listing), state, spec, SystemClock(), budget_seconds=60.0)
        text = json.dumps(result.new_state.to_dict())
        times.append(time.perf_counter() - started)
        kept, new = len(result.new_state.seen), len(result.new_records)
    if new != NEW:
        raise RuntimeError(f"the poll handed over {new} records, not {NEW}")
    # The first round only warms the timestamp caches; the best of the others is the cost (as timeit takes
    # it: the work is the same each round, so slower rounds measure only what else the machine was doing).
    return {"seconds": min(times[1:]), "kept": kept, "state_bytes": len(text)}


def run(quick: bool = False) -> dict[str, Any]:
    small, large = poll_cost(10_000), poll_cost(100_000)
    figures: dict[str, Any] = {
        "growth_seen_10k_to_100k": round(large["seconds"] / small["seconds"], 3),
        "seen_poll_ms_10k": round(small["seconds"] * 1000, 3),
        "seen_poll_ms_100k": round(large["seconds"] * 1000, 3),
        "seen_keys_kept_100k": large["kept"],
        "seen_state_kb_100k": round(large["state_bytes"] / 1024, 1),
    }
    if not quick:
        small_all, large_all = poll_cost(10_000, 10_000, rounds=2), poll_cost(100_000, 100_000, rounds=2)
        figures["growth_seen_10k_to_100k_unbounded"] = round(large_all["seconds"] / small_all["seconds"], 3)
        figures["seen_poll_ms_100k_unbounded"] = round(large_all["seconds"] * 1000, 1)
    return figures


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true")
    print(json.dumps(run(parser.parse_args().quick), indent=2))
