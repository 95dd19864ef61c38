"""Delivery benchmarks: event-to-delivery latency in both trigger modes, and deliveries per second.

Figures (stable names):

- ``e2e_p50_ms_polling`` / ``e2e_p99_ms_polling``: a ``subscription.created`` event made by
  ``POST /_sandbox/simulate`` until a local receiver gets it, with the connector (``memberpass-connector
  serve`` in its own process) polling the event feed every ``e2e_poll_interval_s`` seconds. An event's
  ``created_at`` has whole seconds only, so the start is the wall time at which the simulate call returned.
  Changes are made one at a time at random moments, so they land anywhere in the poll cycle.
- ``e2e_p50_ms_webhook`` / ``e2e_p99_ms_webhook``: the same with ``CONNECTOR_PUBLIC_URL`` set: MemberPass
  (the sandbox) pushes each event to ``/hooks/memberpass/<id>`` and the connector forwards it.
- ``deliveries_per_s``: 2,000 rows put in the outbox at once, drained by one delivery worker (its default
  pool) to a receiver running in a process of its own that answers 204 at once; the full run adds
  ``deliveries_per_s_at_10k_backlog`` (10,000 rows), to show the claim's cost does not grow with the
  backlog (``webhooks.outbox.due`` reads a partial index of waiting rows in due order).

``--quick``: 3 s of changes per mode and a 600-row backlog.

Run: ``.venv/bin/python -m connector.bench.delivery [--quick]``; ``memberpass-connector bench`` calls
:func:`run`.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests

from connector.bench.processes import serve_process
from connector.bench.stats import ms, percentile
from connector.sandbox import SandboxServer, SandboxSettings

TRIGGER = "subscription.created"
POLL_INTERVAL = 1.0
BACKLOG = 2000  # outbox rows drained for deliveries_per_s (five times as many for the growth figure)
QUICK_BACKLOG = 600
UNLIMITED = SandboxSettings(per_minute=10**9, per_hour=10**9)
ITEM = {  # about the size of a Zapier item of this trigger
    "type": TRIGGER,
    "created_at": "2026-05-18T10:05:00Z",
    "project_id": "prj_benchmark0000",
    "data__subscription__status": "active",
    "data__subscription__plan_id": "pln_benchmark0000",
    "data__subscriber__name": "Ada Silva",
    "data__subscriber__email": "ada.silva@example.com",
    "data__payment__amount": "29.00",
    "data__payment__currency": "USD",
    "request_id": "req_benchmark000000000000",
}


# --- receivers ---------------------------------------------------------------------------------------------
class _Quiet(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        return


def _handler(on_body: Any) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            on_body(body)
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


def serve_receiver() -> None:
    """The receiver process (``--serve-receiver``): prints its port, then answers every POST 204."""
    server = _Quiet(("127.0.0.1", 0), _handler(lambda body: None))
    print(server.server_address[1], flush=True)
    server.serve_forever()


@contextmanager
def receiver_process() -> Iterator[str]:
    """A receiver in a process of its own (its own CPU, as a subscriber elsewhere would have)."""
    command = [sys.executable, "-m", "connector.bench.delivery", "--serve-receiver"]
    with subprocess.Popen(command, stdout=subprocess.PIPE) as process:
        try:
            assert process.stdout is not None
            yield f"http://127.0.0.1:{int(process.stdout.readline())}"
        finally:
            process.terminate()


class Arrivals:
    """An in-process receiver noting when each record id first arrived."""

    def __init__(self) -> None:
        self.first: dict[str, float] = {}
        self._lock = threading.Lock()
        self._server = _Quiet(("127.0.0.1", 0), _handler(self._note))
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hook"
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def _note(self, body: bytes) -> None:
        at = time.time()
        record_id = str(json.loads(body).get("id"))
        with self._lock:
            self.first.setdefault(record_id, at)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


# --- event-to-delivery latency ---------------------------------------------------------------------------
def _post(url: str, body: Any, key: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    response = requests.post(url, json=body, headers=headers, timeout=30)
    if response.status_code not in (200, 201):
        raise RuntimeError(f"{url}: {response.status_code} {response.text[:300]}")
    return response.json()


def _make_changes(sandbox: SandboxServer, team_id: str, seconds: float) -> dict[str, float]:
    """One signup at a time at random moments for ``seconds``; event id -> when simulate returned."""
    made: dict[str, float] = {}
    rng = random.Random(8)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        body = {"team_id": team_id, "count": 1, "kinds": ["signup"]}
        events = _post(sandbox.url + "/_sandbox/simulate", body)["data"]
        returned = time.time()
        made.update({e["id"]: returned for e in events if e["type"] == TRIGGER})
        time.sleep(rng.uniform(0.05, 0.35))
    return made


def latency(mode: str, seconds: float, poll_interval: float = POLL_INTERVAL) -> dict[str, Any]:
    """Event-to-delivery latency in ``mode`` ("polling" or "webhook")."""
    arrivals = Arrivals()
    with SandboxServer(UNLIMITED) as sandbox, tempfile.TemporaryDirectory() as workdir:
        seeded = _post(sandbox.url + "/_sandbox/seed", {"preset": "demo"})
        with serve_process(sandbox.base_url, workdir, poll_interval, public=mode == "webhook") as url:
            key = _post(url + "/api/connections", {"token": seeded["tokens"]["full"]})["connection_key"]
            created = _post(url + f"/api/triggers/{TRIGGER}/subscriptions", {"target_url": arrivals.url}, key)
            if created["mode"] != mode:
                raise RuntimeError(f"subscribed in {created['mode']} mode, not {mode}")
            made = _make_changes(sandbox, seeded["team_id"], seconds)
            deadline = time.monotonic() + poll_interval + 10
            while time.monotonic() < deadline and not set(made) <= set(arrivals.first):
                time.sleep(0.02)
    arrivals.close()
    waits = [arrivals.first[i] - made[i] for i in made if i in arrivals.first]
    return {
        "events": len(made),
        "missing": len(made) - len(waits),
        "p50_ms": ms(percentile(waits, 50)),
        "p99_ms": ms(percentile(waits, 99)),
        "max_ms": ms(max(waits, default=float("nan"))),
    }


# --- deliveries per second -----------------------------------------------------------------------------
def bench_app(workdir: str, api_base: str = "http://127.0.0.1:9/v1") -> Any:
    """A connector app on a fresh database in ``workdir``, talking to ``api_base``."""
    from connector.app import create_app
    from connector.config import parse_key_ring
    from connector.crypto import generate_key

    return create_app(
        {
            "api_base": api_base,
            "db_path": str(Path(workdir) / "bench.db"),
            "encryption_keys": parse_key_ring(generate_key()),
            "allow_private_targets": True,
        }
    )


def fill_outbox(app: Any, target: str, rows: int, subscriptions: int) -> None:
    """One connection, ``subscriptions`` subscriptions to ``target``/r/<n>, ``rows`` due rows over them."""
    from connector.connections import services
    from connector.storage.connections import ConnectionRepository, VerifiedToken
    from triggers.poll import FirstRun
    from triggers.subscriptions import SubscriptionRepo
    from webhooks import outbox
    from webhooks.signing import generate_secret

    cdb, ring, clock = (app.extensions[k] for k in (services.DB, services.RING, services.CLOCK))
    verified = VerifiedToken("tem_bench", "Bench", "test", [], {}, "token", "tok_bench")
    connection, _ = ConnectionRepository(cdb, ring, clock).create(
        verified, "mpt_test_benchmrk_" + "b" * 24, label=None, created_via="api", issue_key=False
    )
    repo = SubscriptionRepo(cdb, ring, clock)
    first_run = FirstRun("from_now", 0, None)
    subs = [
        repo.create(connection_id=connection.id, trigger_key=TRIGGER, inputs={}, target_url=f"{target}/r/{n}",
                    secret=generate_secret(), mode="polling", first_run=first_run, poll_interval=3600.0)
        for n in range(subscriptions)
    ]  # fmt: skip
    with cdb.transaction() as tx:
        for n in range(rows):
            key = f"evt_{n:08d}"
            outbox.enqueue(
                tx, subs[n % subscriptions].id, connection.id, [(key, {**ITEM, "id": key})], clock.now()
            )


def throughput(rows: int, subscriptions: int = 10) -> dict[str, Any]:
    """Fill the outbox with ``rows`` rows; time one delivery worker (default pool) draining it."""
    from connector.connections import services
    from webhooks.worker import DeliveryWorker

    with receiver_process() as target, tempfile.TemporaryDirectory() as workdir:
        app = bench_app(workdir)
        fill_outbox(app, target, rows, subscriptions)
        cdb = app.extensions[services.DB]
        worker = DeliveryWorker.for_app(app)
        started = time.perf_counter()
        worker.start()
        while _delivered(cdb) < rows and time.perf_counter() - started < 300:
            time.sleep(0.01)
        elapsed = time.perf_counter() - started
        worker.stop()
        delivered = _delivered(cdb)
        cdb.close()
    return {
        "rows": rows,
        "delivered": delivered,
        "seconds": round(elapsed, 3),
        "per_s": round(delivered / elapsed, 1),
        "pool": worker.pool_size,
    }


def _delivered(cdb: Any) -> int:
    return int(cdb.db.execute("SELECT COUNT(*) FROM outbox WHERE status = 'delivered'").fetchone()[0])


def run(quick: bool = False) -> dict[str, Any]:
    seconds = 3.0 if quick else 20.0
    polling = latency("polling", seconds)
    webhook = latency("webhook", seconds)
    drained = throughput(QUICK_BACKLOG if quick else BACKLOG)
    figures: dict[str, Any] = {
        "e2e_p50_ms_polling": polling["p50_ms"],
        "e2e_p99_ms_polling": polling["p99_ms"],
        "e2e_p50_ms_webhook": webhook["p50_ms"],
        "e2e_p99_ms_webhook": webhook["p99_ms"],
        "e2e_poll_interval_s": POLL_INTERVAL,
        "deliveries_per_s": drained["per_s"],
        "polling": polling,
        "webhook": webhook,
        "delivery": drained,
    }
    if not quick:
        larger = throughput(BACKLOG * 5)
        figures["deliveries_per_s_at_10k_backlog"] = larger["per_s"]
        figures["delivery_10k"] = larger
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--serve-receiver", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.serve_receiver:
        serve_receiver()
    else:
        print(json.dumps(run(arguments.quick), indent=2))
