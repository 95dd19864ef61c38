"""The connector served over real HTTP from this process, with what ``serve`` starts (the polling scheduler
and the delivery worker), on a clock a test can move forward: the delivery retry schedule spans days, so a
test that walks through it shifts the connector's time instead of waiting.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from flask import Flask
from werkzeug.serving import make_server

from connector.app import create_app
from connector.config import parse_key_ring
from connector.connections import services
from connector.crypto import generate_key
from tests.e2e.service import Api
from triggers import scheduler
from webhooks.worker import start_background, stop_background


class ShiftedClock:
    """Wall time plus an offset that only grows (the connector's :class:`~connector.clock.Clock`)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return time.time() + self.offset

    def monotonic(self) -> float:
        return time.monotonic() + self.offset

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@dataclass
class Served:
    app: Flask
    url: str
    clock: ShiftedClock

    def api(self, key: str = "") -> Api:
        return Api(self.url, key)


@contextmanager
def served_connector(api_base: str, workdir: Path, poll_interval: float = 0.5) -> Iterator[Served]:
    settings = {
        "api_base": api_base,
        "db_path": str(workdir / "connector.db"),
        "encryption_keys": parse_key_ring(generate_key()),
        "allow_private_targets": True,
        "poll_interval": poll_interval,
    }
    app = create_app(settings)
    clock = ShiftedClock()
    app.extensions[services.CLOCK] = clock
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    polling = scheduler.start_background(app)
    start_background(app)
    try:
        yield Served(app, f"http://127.0.0.1:{server.server_port}", clock)
    finally:
        if polling is not None:
            polling.shutdown(wait=True)
        stop_background(app)
        server.shutdown()
        thread.join(5)
        app.extensions[services.DB].close()
