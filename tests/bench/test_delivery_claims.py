"""The delivery changes made for throughput: claims read the partial index of waiting rows in due order
(no sort of the backlog), the worker claims in batches, and rows still queued when it stops are given back."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from connector.clock import SystemClock
from tests.webhooks.delivery_support import Receiver, Store, new_secret, open_store, running_receiver
from webhooks import outbox
from webhooks.schedule import no_jitter
from webhooks.worker import DeliveryWorker


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(tmp_path / "connector.db", SystemClock())
    yield opened
    opened.cdb.close()


def fill(store: Store, url: str, secret: str, rows: int) -> None:
    sub = store.subscribe(url, secret)
    outbox.enqueue(
        store.cdb, sub.id, store.connection_id, [(f"k{n}", {"n": n}) for n in range(rows)], time.time()
    )


def test_a_claim_reads_waiting_rows_from_the_partial_index_without_sorting(store: Store) -> None:
    fill(store, "http://127.0.0.1:9/hook", new_secret(), 50)
    seen: list[str] = []
    store.cdb.db.conn.set_trace_callback(seen.append)
    assert len(outbox.due(store.cdb, time.time(), 5)) == 5
    store.cdb.db.conn.set_trace_callback(None)
    [query] = [s for s in seen if s.lstrip().upper().startswith("SELECT O.*")]
    plan = " | ".join(row[3] for row in store.cdb.db.execute("EXPLAIN QUERY PLAN " + query).fetchall())
    assert "USING INDEX outbox_waiting" in plan and "TEMP B-TREE" not in plan, plan


def test_the_worker_claims_up_to_twice_its_pool_and_gives_back_what_is_queued_at_stop(store: Store) -> None:
    release = threading.Event()
    with running_receiver() as receiver:
        receiver.respond = slow(release)
        secret = new_secret()
        fill(store, receiver.endpoint("a", secret), secret, 20)
        settings = store.settings(allow_private_targets=True)
        worker = DeliveryWorker(store.cdb, store.ring, SystemClock(), settings, pool_size=2, jitter=no_jitter)
        worker.start()
        deadline = time.monotonic() + 10
        while leased(store) < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert leased(store) == 4  # 2 sending, 2 waiting in the pool's queue: one claim of a batch
        stopper = threading.Thread(target=worker.stop)
        stopper.start()
        time.sleep(0.2)  # stop() cancels the queued attempts at once, then waits for the two being sent
        release.set()
        stopper.join(10)
    rows = store.cdb.db.execute("SELECT status, lease_until FROM outbox").fetchall()
    assert sum(status == "delivered" for status, _ in rows) == 2
    assert all(lease is None for status, lease in rows if status != "delivered")  # given back, due now


def slow(release: threading.Event) -> Any:
    def respond(received: Receiver, n: int) -> tuple[int, dict[str, str]]:
        release.wait(10)
        return 200, {}

    return respond


def leased(store: Store) -> int:
    return int(
        store.cdb.db.execute("SELECT COUNT(*) FROM outbox WHERE lease_until IS NOT NULL").fetchone()[0]
    )
