"""Polling benchmarks: subscriptions polled per second, memory per 1,000 subscriptions, and how both grow.

The sandbox runs in a process of its own (``memberpass-connector sandbox``, limits lifted), as MemberPass is
elsewhere; the connector app, its polling scheduler and its database run in a fresh Python process of their
own (so memory left by other benchmarks neither hides nor inflates the figures). Subscriptions are made
through the API (``POST /api/triggers/<key>/subscriptions``, which also runs each one's first poll), spread
over connections of 50 subscriptions (one MemberPass token each, as separate customers would be) and over
event triggers (the event feed) and list-backed triggers.

The fleet grows in steps: a warm-up batch (threads started, caches filled), then up to the first size, then
up to the second. At each size the new subscriptions' jobs first run spread out, then every job is made due
at once and the time until the scheduler (its default pool of workers) has polled each one once is taken,
as ``last_poll_at`` shows.

Figures (stable names):

- ``mem_mb_per_1k_subscriptions``: at the first size (1,000), the growth of this process's resident memory
  since the warm-up per 1,000 subscriptions, each made through the API (its first poll), given its
  APScheduler job and polled once more by that job, the jobs' runs spread as in service (``rebuild``
  spreads them over the interval) at 80 polls a second;
- ``polls_per_s``: then every job made due at once (a burst); the time until each was polled once.
  ``mem_mb_per_1k_after_burst`` is the memory per 1,000 after that burst: thousands of runs queued in the
  scheduler's executor at once leave Python's allocator with more arenas, which it keeps;
- ``polls_per_s_at_10k`` / ``mem_mb_per_1k_subscriptions_at_10k``: the same at the second size (10,000);
- ``growth_polls_1k_to_10k``: the cost of one poll at 10k over that at 1k
  (``polls_per_s / polls_per_s_at_10k``); ``growth_mem_1k_to_10k``: memory per subscription at 10k over
  that at 1k. About 1 or less: linear or better.

``--quick`` warms up with 50 and grows to 100 and 500 instead (smoke sizes; ``polling_sizes`` says which
were used, and the ``_at_10k`` names then hold the second size's figures).

Run: ``.venv/bin/python -m connector.bench.polling [--quick]``; ``memberpass-connector bench`` calls
:func:`run`.
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import requests

from connector.bench.processes import sandbox_process
from connector.bench.stats import rss_mb

PER_CONNECTION = 50
WARMUP = 100
TRIGGERS: tuple[tuple[str, bool], ...] = (  # (key, takes the project input)
    ("subscription.created", False),
    ("payment.succeeded", False),
    ("member.joined", False),
    ("new_member", True),
    ("new_payment", True),
    ("new_plan", True),
)
SIZES = (1000, 10_000)
SPREAD_RATE = 80.0  # polls a second asked of the scheduler while memory is measured (it manages ~130)
QUICK_SIZES = (100, 500)
QUICK_WARMUP = 50


def _ok(response: Any) -> Any:
    if response.status_code not in (200, 201):
        raise RuntimeError(f"{response.status_code}: {response.get_data(as_text=True)[:300]}")
    return response.json


def connections(client: Any, sandbox: str, team_id: str, count: int) -> list[str]:
    """``count`` connections, each with a token of its own; their connection keys."""
    keys = []
    for _ in range(count):
        minted = requests.post(sandbox + "/_sandbox/tokens", json={"team_id": team_id}, timeout=10).json()
        keys.append(_ok(client.post("/api/connections", json={"token": minted["token"]}))["connection_key"])
    return keys


def subscribe(client: Any, key: str, index: int, project_id: str) -> str:
    trigger, scoped = TRIGGERS[index % len(TRIGGERS)]
    body: dict[str, Any] = {"target_url": f"http://127.0.0.1:9/hook/{index}", "poll_interval": 3600}
    if scoped:
        body["inputs"] = {"project_id": project_id}
    headers = {"Authorization": f"Bearer {key}"}
    subscription_id: str = _ok(
        client.post(f"/api/triggers/{trigger}/subscriptions", json=body, headers=headers)
    )["id"]
    return subscription_id


def polled_since(app: Any, moment: float) -> int:
    from connector.connections import services

    row = (
        app.extensions[services.DB]
        .db.execute("SELECT COUNT(*) FROM subscriptions WHERE last_poll_at >= ?", [moment])
        .fetchone()
    )
    return int(row[0])


@dataclass
class Fleet:
    """The app, its running scheduler (a subscription gets a job when :meth:`poll_once` asks), and the
    connections the subscriptions are spread over."""

    app: Any
    client: Any
    scheduler: Any
    keys: list[str]
    project_id: str
    made: int = 0

    def subscribe(self, count: int) -> tuple[list[str], float]:
        """``count`` more subscriptions through the API; their ids and the seconds it took."""
        started = time.perf_counter()
        ids = []
        for _ in range(count):
            ids.append(
                subscribe(self.client, self.keys[self.made // PER_CONNECTION], self.made, self.project_id)
            )
            self.made += 1
        return ids, time.perf_counter() - started

    def poll_once(self, ids: list[str], spread: float = 0.0) -> tuple[int, float]:
        """Schedule these subscriptions due within ``spread`` seconds (0: all due now, a burst); wait until
        each was polled. (polled, seconds)."""
        from connector.connections import services
        from triggers.subscriptions import SubscriptionRepo

        ext = self.app.extensions
        repo = SubscriptionRepo(ext[services.DB], ext[services.RING], ext[services.CLOCK])
        subscriptions = [s for s in (repo.get(i) for i in ids) if s is not None]
        moment, started = time.time(), time.perf_counter()
        for n, subscription in enumerate(subscriptions):
            self.scheduler.add(subscription, first_in=spread * n / len(subscriptions))
        while polled_since(self.app, moment) < len(ids) and time.perf_counter() - started < 300 + spread:
            time.sleep(0.02)
        return polled_since(self.app, moment), time.perf_counter() - started


@contextmanager
def fleet(capacity: int) -> Iterator[Fleet]:
    from connector.bench.delivery import bench_app
    from triggers.scheduler import PollScheduler

    with sandbox_process() as sandbox, tempfile.TemporaryDirectory() as workdir:
        seeded = requests.post(sandbox + "/_sandbox/seed", json={"preset": "demo"}, timeout=30).json()
        app = bench_app(workdir, sandbox + "/v1")
        client = app.test_client()
        keys = connections(client, sandbox, seeded["team_id"], -(-capacity // PER_CONNECTION))
        scheduler = PollScheduler(app)
        scheduler.start()
        try:
            yield Fleet(app, client, scheduler, keys, seeded["project_ids"][0])
        finally:
            scheduler.shutdown(wait=True)
            app.extensions["connector.db"].close()


def measure(sizes: tuple[int, ...] = SIZES, warmup: int = WARMUP) -> dict[str, Any]:
    """Warm up with ``warmup`` subscriptions polled once; then grow the fleet to each of ``sizes`` in turn.
    At each size the new subscriptions' jobs run spread out (as ``PollScheduler.rebuild`` spreads them, at
    :data:`SPREAD_RATE` a second, under the pool's capacity): the memory added since the warm-up is taken
    then; then every job is made due at once: the polling rate, and the memory after that burst."""
    steps: list[dict[str, Any]] = []
    with fleet(warmup + max(sizes)) as running:
        warm, _ = running.subscribe(warmup)
        running.poll_once(warm)
        gc.collect()
        before = rss_mb()
        ids: list[str] = []
        for size in sizes:
            added, made_seconds = running.subscribe(size - len(ids))
            ids += added
            running.poll_once(added, spread=len(added) / SPREAD_RATE)
            gc.collect()
            running_mb = rss_mb()
            polled, seconds = running.poll_once(ids)
            gc.collect()
            after = rss_mb()
            steps.append({
                "subscriptions": size,
                "subscribe_per_s": round(len(added) / made_seconds, 1),
                "polled": polled,
                "poll_seconds": round(seconds, 3),
                "polls_per_s": round(polled / seconds, 1),
                "rss_mb": round(running_mb, 1),
                "mem_mb_per_1k": round((running_mb - before) / size * 1000, 2),
                "rss_after_burst_mb": round(after, 1),
                "mem_mb_per_1k_after_burst": round((after - before) / size * 1000, 2),
            })  # fmt: skip
    return {"warmup_subscriptions": warmup, "rss_before_mb": round(before, 1), "steps": steps}


def measured_apart(sizes: tuple[int, ...], warmup: int = WARMUP) -> dict[str, Any]:
    """:func:`measure` in a fresh Python process."""
    command = [sys.executable, "-m", "connector.bench.polling", "--measure", ",".join(map(str, sizes)),
               "--warmup", str(warmup)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the polling measurement failed:\n{done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def run(quick: bool = False) -> dict[str, Any]:
    sizes = QUICK_SIZES if quick else SIZES
    result = measured_apart(sizes, QUICK_WARMUP if quick else WARMUP)
    small, large = result["steps"]
    return {
        "polls_per_s": small["polls_per_s"],
        "mem_mb_per_1k_subscriptions": small["mem_mb_per_1k"],
        "polls_per_s_at_10k": large["polls_per_s"],
        "mem_mb_per_1k_subscriptions_at_10k": large["mem_mb_per_1k"],
        "mem_mb_per_1k_after_burst": small["mem_mb_per_1k_after_burst"],
        "mem_mb_per_1k_after_burst_at_10k": large["mem_mb_per_1k_after_burst"],
        "growth_polls_1k_to_10k": round(small["polls_per_s"] / large["polls_per_s"], 3),
        # A floor of 0.01 MB: at smoke sizes the first step can add less than a page of memory.
        "growth_mem_1k_to_10k": round(large["mem_mb_per_1k"] / max(small["mem_mb_per_1k"], 0.01), 3),
        "polling_sizes": list(sizes),
        "polling": result,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--warmup", type=int, default=WARMUP, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.measure:
        print(json.dumps(measure(tuple(int(n) for n in arguments.measure.split(",")), arguments.warmup)))
    else:
        print(json.dumps(run(arguments.quick), indent=2))
