"""`memberpass-connector demo`: the product tour, with no configuration.

The sandbox is started and seeded; the connector serves on 127.0.0.1 with a temporary database (a temp dir
removed at the end), private targets allowed (the receiver is local), a 2 s poll interval and its own URL as
``public_url``, so event triggers run in webhook mode (the sandbox pushes signed MemberPass webhooks to
``/hooks/memberpass/<id>``). A connection is made through the connector's API with the seeded full token;
event triggers (webhook mode) and list-backed triggers (polling mode) are subscribed to a built-in receiver
(:mod:`connector.demo_receiver`) that verifies every delivery; traffic comes from ``/_sandbox/simulate`` in
the seeded team's first project; :mod:`connector.demo_view` prints each delivery and a summary every ~5 s.
Ctrl-C (or ``duration``) stops everything, newest first, and prints the final summary.
"""

from __future__ import annotations

import shutil
import signal
import socket
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import click
import requests
from flask import Flask
from werkzeug.serving import make_server

from connector.app import create_app
from connector.config import parse_key_ring
from connector.connections import services
from connector.crypto import generate_key
from connector.dashboard import demo_link
from connector.demo_receiver import DemoReceiver
from connector.demo_view import DemoResult, EmissionIndex, LiveView, result_of
from connector.sandbox import SandboxServer, SandboxSettings
from triggers.scheduler import start_background as start_polling
from webhooks.worker import start_background as start_delivery
from webhooks.worker import stop_background

EVENT_TRIGGERS = ("subscription.created", "payment.succeeded", "member.banned")  # webhook mode
LIST_TRIGGERS = ("new_member", "failed_payment")  # polling mode, each with the project's id
POLL_INTERVAL = 2.0
SUMMARY_EVERY = 5.0
TICK = 0.1  # the generator's shortest pause; faster rates send several changes per call


def _free_port(preferred: int) -> int:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", preferred))
        except OSError:
            probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def dashboard_line(app: Flask, connection_id: str) -> str:
    """The web dashboard's one-time sign-in link for the demo's connection."""
    return f"Dashboard            {demo_link(app, connection_id)}  (one-time sign-in link)"


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


@contextmanager
def _sigterm_as_ctrl_c() -> Iterator[None]:
    """SIGTERM (``kill``, a CI job's timeout) stops the tour as Ctrl-C does, and Ctrl-C stops it even when
    the process was started with SIGINT ignored (a background job of a shell); only the main thread can."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous_term = signal.signal(signal.SIGTERM, _interrupt)
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous_term)
        signal.signal(signal.SIGINT, previous_int)


class Tour:
    def __init__(self, stack: ExitStack, summary_every: float) -> None:
        self.stack, self.summary_every = stack, summary_every
        self.index = EmissionIndex()
        self.view = LiveView(self.index, click.echo)
        self.receiver = DemoReceiver(self.view.delivered)
        self.events: Counter[str] = Counter()
        self.key = ""

    # --- start ----------------------------------------------------------------------------------------------
    def start(self, sandbox_port: int, connector_port: int) -> None:
        workdir = tempfile.mkdtemp(prefix="memberpass-demo-")
        self.stack.callback(shutil.rmtree, workdir, True)
        self.sandbox = SandboxServer(SandboxSettings(), port=_free_port(sandbox_port)).start()
        self.stack.callback(self.sandbox.stop)
        seeded = requests.post(
            self.sandbox.url + "/_sandbox/seed", json={"preset": "demo"}, timeout=10
        ).json()
        self.team_id, self.project_id = seeded["team_id"], seeded["project_ids"][0]
        click.echo(f"MemberPass sandbox   {self.sandbox.base_url}")
        click.echo(f"  team {self.team_id}, projects {', '.join(seeded['project_ids'])}")
        for name, token in seeded["tokens"].items():
            click.echo(f"  token {name:15} {token}")
        self.stack.callback(self.receiver.stop)
        self.receiver.start()
        self._serve(workdir, _free_port(connector_port))
        self._connect(seeded["tokens"]["full"])
        self._subscribe()

    def _serve(self, workdir: str, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.app = create_app(
            {
                "api_base": self.sandbox.base_url,
                "db_path": f"{workdir}/connector.db",
                "encryption_keys": parse_key_ring(generate_key()),
                "allow_private_targets": True,
                "poll_interval": POLL_INTERVAL,
                "public_url": self.url,
            }
        )
        self.stack.callback(self.app.extensions[services.DB].close)
        server = make_server("127.0.0.1", port, self.app, threaded=True)
        thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="demo-connector", daemon=True
        )
        thread.start()
        self.stack.callback(thread.join, 5)
        self.stack.callback(server.server_close)
        self.stack.callback(server.shutdown)
        start_delivery(self.app)
        self.stack.callback(stop_background, self.app)
        polling = start_polling(self.app)
        if polling is not None:
            self.stack.callback(polling.shutdown, True)
        click.echo(
            f"Connector            {self.url}  (webhook mode: MemberPass pushes to /hooks/memberpass/…)"
        )

    def api(self, method: str, path: str, **kw: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.key}"} if self.key else {}
        response = requests.request(method, self.url + path, headers=headers, timeout=30, **kw)
        if response.status_code >= 400:
            raise click.ClickException(f"{method} {path}: {response.status_code} {response.text[:300]}")
        return response.json()

    def _connect(self, token: str) -> None:
        made = self.api("POST", "/api/connections", json={"token": token})
        self.key, connection = made["connection_key"], made["data"]
        click.echo(f"Connection           {connection['label']} (team {connection['team']['id']})")
        click.echo(f"  connection key     {self.key}")
        click.echo(dashboard_line(self.app, connection["id"]))

    def _subscribe(self) -> None:
        click.echo(f"Receiver             {self.receiver.url} (verifies every delivery)")
        wanted: list[tuple[str, dict[str, str]]] = [(t, {}) for t in EVENT_TRIGGERS]
        wanted += [(t, {"project_id": self.project_id}) for t in LIST_TRIGGERS]
        for trigger, inputs in wanted:
            body = {"target_url": self.receiver.endpoint_url(trigger), "inputs": inputs}
            made = self.api("POST", f"/api/triggers/{trigger}/subscriptions", json=body)
            self.receiver.endpoint(trigger, made["mode"], made["secret"])
            click.echo(f"  subscribed {trigger:22} {made['mode']:8} {made['id']}")

    # --- run ------------------------------------------------------------------------------------------------
    def run(self, duration: float | None, rate: float) -> None:
        """Send ``rate`` changes per second in ticks of at least :data:`TICK` (several changes per call when
        faster), on a fixed schedule so a slow call does not lower the rate; print the summary when due."""
        click.echo(f"Live traffic: {rate:g} simulated lifecycle changes per second (Ctrl-C to stop)")
        started = tick = time.monotonic()
        next_summary, carry, interval = started + self.summary_every, 0.0, max(1.0 / rate, TICK)
        while duration is None or time.monotonic() - started < duration:
            carry += rate * interval
            count, carry = int(carry), carry - int(carry)
            if count:
                self._simulate(count)
            if time.monotonic() >= next_summary:
                self.summary(f"{time.monotonic() - started:.0f} s")
                next_summary += self.summary_every
            tick = max(tick + interval, time.monotonic() - 1.0)  # after a pause (Ctrl-Z), no burst
            time.sleep(max(0.0, tick - time.monotonic()))

    def _simulate(self, count: int) -> None:
        body = {"team_id": self.team_id, "project_id": self.project_id, "count": count}
        self.index.begin()
        sent_at, emitted = time.time(), []
        try:
            answer = requests.post(self.sandbox.url + "/_sandbox/simulate", json=body, timeout=10)
            emitted = answer.json()["data"]
        finally:
            self.index.record(emitted, sent_at)
        self.events.update(event["type"] for event in emitted)

    def _outbox(self, status: str) -> int:
        return int(self.api("GET", "/api/deliveries", params={"status": status, "limit": 1})["meta"]["total"])

    def summary(self, label: str) -> None:
        progress = {
            "emitted": sum(self.events.values()),
            "received": len(self.receiver.deliveries()),
            "unverified": self.receiver.unverified,
            "pending": self._outbox("pending"),
            "failed": self._outbox("failed"),
        }
        self.view.summary(label, progress)

    def result(self) -> DemoResult:
        return result_of(self.events, self.receiver, self.view)


def run_demo(
    sandbox_port: int = 8765,
    connector_port: int = 8080,
    duration: float | None = None,
    rate: float = 2.0,
    summary_every: float = SUMMARY_EVERY,
) -> DemoResult:
    """Run the tour until Ctrl-C (or SIGTERM) or ``duration`` seconds of traffic; returns what it saw."""
    with ExitStack() as stack:
        stack.enter_context(_sigterm_as_ctrl_c())
        tour = Tour(stack, summary_every)
        try:
            tour.start(sandbox_port, connector_port)
            tour.run(duration, rate)
        except KeyboardInterrupt:
            click.echo("stopping …")
        if tour.key:
            tour.summary("final")
    result = tour.result()  # after the stop: deliveries in flight while stopping are counted too
    result.stopped_cleanly = True
    total = sum(result.by_mode.values())
    click.echo(
        f"{sum(result.events.values())} events across {len(result.events)} kinds, {total} deliveries "
        f"({result.unverified} unverified); stopped cleanly."
    )
    return result
