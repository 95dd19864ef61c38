"""Polling benchmarks: subscriptions polled per second, and memory per 1,000 subscriptions.

The sandbox runs in a process of its own (``memberpass-connector sandbox``, limits lifted), as MemberPass is
elsewhere; the connector app, its polling scheduler and its database run in this process. Subscriptions are
made through the API (``POST /api/triggers/<key>/subscriptions``, which also runs each one's first poll),
spread over several connections (one MemberPass token each, as separate customers would be) and over event
triggers (the event feed) and list-backed triggers.

Figures (stable names):

- ``mem_mb_per_1k_subscriptions``: growth of this process's resident memory while 1,000 subscriptions are
  made, scheduled (one APScheduler job each) and polled once, after a warm-up batch has started the
  scheduler's threads and filled its caches (so the figure is what each further 1,000 costs);
- ``polls_per_s``: those subscriptions' jobs made due at once; the time until the scheduler (its default
  pool of workers) has polled each one once, as the subscriptions' ``last_poll_at`` shows.

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

from connector.bench.delivery import free_port
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
UNLIMITED = str(10**9)


@contextmanager
def sandbox_process() -> Iterator[str]:
    """The sandbox over HTTP in its own process; yields its root URL."""
    port = free_port()
    command = [sys.executable, "-m", "connector.cli", "sandbox", "--port", str(port),
               "--per-minute", UNLIMITED, "--per-hour", UNLIMITED]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(url + "/_sandbox/clock", timeout=1)
                break
            except requests.RequestException:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the sandbox did not start") from None
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(10)


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

    def poll_once(self, ids: list[str]) -> tuple[int, float]:
        """Schedule these subscriptions due now; wait until each was polled. (polled, seconds)."""
        from connector.connections import services
        from triggers.subscriptions import SubscriptionRepo

        ext = self.app.extensions
        repo = SubscriptionRepo(ext[services.DB], ext[services.RING], ext[services.CLOCK])
        subscriptions = [s for s in (repo.get(i) for i in ids) if s is not None]
        moment, started = time.time(), time.perf_counter()
        for subscription in subscriptions:
            self.scheduler.add(subscription, first_in=0)
        while polled_since(self.app, moment) < len(ids) and time.perf_counter() - started < 300:
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


def measure(count: int, warmup: int = WARMUP) -> dict[str, Any]:
    """Warm up (threads, caches, every code path) with ``warmup`` subscriptions polled once, then make
    ``count`` more, schedule and poll them once: the polling rate and the memory they added."""
    with fleet(warmup + count) as running:
        warm, _ = running.subscribe(warmup)
        running.poll_once(warm)
        gc.collect()
        before = rss_mb()
        ids, made_seconds = running.subscribe(count)
        polled, seconds = running.poll_once(ids)
        gc.collect()
        after = rss_mb()
    return {
        "subscriptions": count,
        "warmup_subscriptions": warmup,
        "connections": len(running.keys),
        "subscribe_per_s": round(count / made_seconds, 1),
        "polled": polled,
        "poll_seconds": round(seconds, 3),
        "polls_per_s": round(polled / seconds, 1),
        "rss_before_mb": round(before, 1),
        "rss_after_mb": round(after, 1),
        "mem_mb_per_1k": round((after - before) / count * 1000, 2),
    }


def measured_apart(count: int) -> dict[str, Any]:
    """:func:`measure` in a fresh Python process, so memory left over by whatever ran before in this one
    (other benchmarks) neither hides nor inflates the growth."""
    command = [sys.executable, "-m", "connector.bench.polling", "--measure", str(count)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the polling measurement failed:\n{done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def run(quick: bool = False) -> dict[str, Any]:
    result = measured_apart(1000)
    figures: dict[str, Any] = {
        "polls_per_s": result["polls_per_s"],
        "mem_mb_per_1k_subscriptions": result["mem_mb_per_1k"],
        "at_1k": result,
    }
    if not quick:
        larger = measured_apart(5000)
        figures["polls_per_s_at_5k"] = larger["polls_per_s"]
        figures["mem_mb_per_1k_subscriptions_at_5k"] = larger["mem_mb_per_1k"]
        figures["at_5k"] = larger
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--measure", type=int, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.measure:
        print(json.dumps(measure(arguments.measure)))
    else:
        print(json.dumps(run(arguments.quick), indent=2))
