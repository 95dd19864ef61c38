"""`memberpass-connector demo`: the sandbox with demo data, the connector pointed at it, and live traffic.

Grows with the product: each stage prints what it started. Ctrl-C (or `--duration`) stops everything cleanly.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import Any

import click
import requests
from werkzeug.serving import make_server

from connector.sandbox import SandboxServer, SandboxSettings


def _free_port(preferred: int) -> int:
    import socket

    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", preferred))
            return preferred
        except OSError:
            probe.bind(("127.0.0.1", 0))
            return int(probe.getsockname()[1])


class _ConnectorThread:
    def __init__(self, app: Any, port: int) -> None:
        self.server = make_server("127.0.0.1", port, app, threaded=True)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def run_demo(
    sandbox_port: int = 8765, connector_port: int = 8080, duration: float | None = None, rate: float = 2.0
) -> dict[str, int]:
    """Run the tour; returns the event counts seen (used by the smoke test)."""
    from connector.app import create_app
    from triggers.scheduler import start_background
    from webhooks.worker import start_background as start_delivery

    sandbox = SandboxServer(SandboxSettings(), port=_free_port(sandbox_port)).start()
    seeded = requests.post(sandbox.url + "/_sandbox/seed", json={"preset": "demo"}, timeout=10).json()
    click.echo(f"MemberPass sandbox   {sandbox.base_url}")
    click.echo(f"  team {seeded['team_id']}, projects {', '.join(seeded['project_ids'])}")
    for name, token in seeded["tokens"].items():
        click.echo(f"  token {name:15} {token}")
    app = create_app({"api_base": sandbox.base_url, "db_path": ":memory:"})
    polling = start_background(app)
    delivery = start_delivery(app)
    connector = _ConnectorThread(app, _free_port(connector_port))
    connector.start()
    click.echo(f"Connector            http://127.0.0.1:{connector.server.server_port}  (GET /healthz)")
    click.echo("Live traffic: simulated MemberPass lifecycle changes (Ctrl-C to stop)")
    counts: Counter[str] = Counter()
    started = time.monotonic()
    try:
        while duration is None or time.monotonic() - started < duration:
            emitted = requests.post(
                sandbox.url + "/_sandbox/simulate",
                json={"team_id": seeded["team_id"], "count": 1},
                timeout=10,
            ).json()["data"]
            for event in emitted:
                counts[event["type"]] += 1
                click.echo(f"  {event['created_at']}  {event['type']:32} {event['id']}")
            time.sleep(1 / rate)
    except KeyboardInterrupt:
        click.echo("stopping …")
    finally:
        if polling is not None:
            polling.shutdown()
        if delivery is not None:
            delivery.stop()
        connector.stop()
        sandbox.stop()
    click.echo(f"{sum(counts.values())} events across {len(counts)} kinds; stopped cleanly.")
    return dict(counts)
