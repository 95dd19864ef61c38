"""Helpers for delivery tests: a signature-checking receiver over real HTTP, and a database with a connection
and subscriptions made through the real repositories."""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from standardwebhooks.webhooks import EmptyWebhookSecretError, Webhook, WebhookVerificationError

from connector.clock import Clock, FakeClock
from connector.config import Settings
from connector.connections import services
from connector.crypto import KeyRing
from connector.sandbox import SandboxServer
from connector.storage.connections import ConnectionRepository, VerifiedToken
from connector.storage.db import ConnectorDB
from tests.connections.support import bearer, build_app, connect, new_keys
from tests.helpers import make_tenant
from triggers.poll import FirstRun
from triggers.subscriptions import Subscription, SubscriptionRepo
from webhooks import outbox


def new_secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(24)).decode()


@dataclass
class Received:
    path: str
    webhook_id: str
    timestamp: int
    body: bytes
    verified: bool
    status: int


Responder = Callable[["Received", int], tuple[int, dict[str, str]]]


@dataclass
class Receiver:
    """Answers POSTs on ``/r/<name>``; every one is verified with ``standardwebhooks`` against the secret
    of its endpoint. ``respond(received, n)`` (n: how many this endpoint got before) picks the answer."""

    secrets: dict[str, str] = field(default_factory=dict)
    calls: list[Received] = field(default_factory=list)
    respond: Responder = lambda received, n: (200, {})
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    def url(self, name: str) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_port}/r/{name}"

    def endpoint(self, name: str, secret: str) -> str:
        self.secrets[name] = secret
        return self.url(name)

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str]]:
        secret = self.secrets.get(path.rsplit("/", 1)[-1])
        try:
            Webhook(secret or "").verify(body, headers)
            verified = True
        except (WebhookVerificationError, EmptyWebhookSecretError, ValueError):  # bad or missing headers too
            verified = False
        with self.lock:
            before = sum(1 for c in self.calls if c.path == path)
            received = Received(
                path, headers.get("webhook-id", ""), int(headers.get("webhook-timestamp", "0") or 0), body,
                verified, 0,
            )  # fmt: skip
            status, extra = self.respond(received, before)
            received.status = status
            self.calls.append(received)
        return status, extra

    def for_path(self, name: str) -> list[Received]:
        with self.lock:
            return [c for c in self.calls if c.path == f"/r/{name}"]

    def ids(self, name: str | None = None) -> list[str]:
        with self.lock:
            return [c.webhook_id for c in self.calls if name is None or c.path == f"/r/{name}"]

    def payloads(self, name: str) -> list[Any]:
        return [json.loads(c.body) for c in self.for_path(name)]


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, extra = receiver.handle(self.path, headers, body)
            self.send_response(status)
            for name, value in extra.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver.server = server
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@dataclass
class Store:
    """A database with every migration, one connection, and helpers to add subscriptions."""

    cdb: ConnectorDB
    ring: KeyRing
    clock: Clock
    connection_id: str

    @property
    def subscriptions(self) -> SubscriptionRepo:
        return SubscriptionRepo(self.cdb, self.ring, self.clock)

    @property
    def connections(self) -> ConnectionRepository:
        return ConnectionRepository(self.cdb, self.ring, self.clock)

    def settings(self, **overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "api_base": "http://127.0.0.1:9/v1",
            "db_path": self.cdb.path,
            "encryption_keys": self.ring.keys,
            "allow_private_targets": True,
            **overrides,
        }
        return Settings(**values)

    def subscribe(
        self, target_url: str, secret: str, *, connection_id: str | None = None, mode: str = "polling",
        trigger_key: str = "subscription.created",
    ) -> Subscription:  # fmt: skip
        return self.subscriptions.create(
            connection_id=connection_id or self.connection_id,
            trigger_key=trigger_key,
            inputs={},
            target_url=target_url,
            secret=secret,
            mode=mode,
            first_run=FirstRun("from_now", 0, None),
            poll_interval=60.0,
        )

    def add_connection(self, team_id: str = "tem_test") -> str:
        verified = VerifiedToken(
            team_id, "Test Team", "test", ["webhook-endpoint:manage"], {}, "token", "tok_1"
        )
        token = "mpt_test_abcdefgh_" + "a" * 24
        connection, _ = self.connections.create(
            verified, token, label=None, created_via="api", issue_key=False
        )
        return connection.id

    def row(self, delivery_id: str) -> dict[str, Any]:
        rows = list(self.cdb.db.query("SELECT * FROM outbox WHERE id = ?", [delivery_id]))
        assert rows, f"no outbox row {delivery_id}"
        return dict(rows[0])


def open_store(path: Path, clock: Clock) -> Store:
    import triggers.migrations  # noqa: F401  (registers the sets open_db applies)
    import webhooks.migrations  # noqa: F401
    from connector.storage.db import open_db

    cdb = open_db(str(path))
    store = Store(cdb, KeyRing(new_keys()), clock, "")
    store.connection_id = store.add_connection()
    return store


@dataclass
class Env:
    """A connector app (create_app, real database) with two connections of two sandbox teams."""

    app: Flask
    client: FlaskClient
    clock: FakeClock
    keys: dict[str, str]  # connection name -> connection key
    ids: dict[str, str]  # connection name -> connection id

    @property
    def db(self) -> ConnectorDB:
        cdb: ConnectorDB = self.app.extensions[services.DB]
        return cdb

    @property
    def repo(self) -> SubscriptionRepo:
        return SubscriptionRepo(self.db, self.app.extensions[services.RING], self.clock)

    def subscribe(
        self, who: str, target_url: str, secret: str, *, mode: str = "polling",
        trigger_key: str = "subscription.created",
    ) -> Subscription:  # fmt: skip
        return self.repo.create(
            connection_id=self.ids[who], trigger_key=trigger_key, inputs={}, target_url=target_url,
            secret=secret, mode=mode, first_run=FirstRun("from_now", 0, None), poll_interval=60.0,
        )  # fmt: skip

    def enqueue(self, sub: Subscription, keys: list[str]) -> list[str]:
        items = [(k, {"id": k}) for k in keys]
        outbox.enqueue(self.db, sub.id, sub.connection_id, items, self.clock.now())
        return [outbox.delivery_id(sub.id, k) for k in keys]

    def get(self, who: str, **query: Any) -> Any:
        return self.client.get("/api/deliveries", query_string=query, headers=bearer(self.keys[who]))

    def retry(self, who: str, delivery_id: str) -> Any:
        return self.client.post(f"/api/deliveries/{delivery_id}/retry", headers=bearer(self.keys[who]))

    def outbox_rows(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.db.db.query("SELECT * FROM outbox ORDER BY rowid")]


@contextmanager
def connector_env(server: SandboxServer, db_path: Path) -> Iterator[Env]:
    app = build_app(server, db_path)
    app.config["CONNECTOR_SETTINGS"] = replace(app.config["CONNECTOR_SETTINGS"], allow_private_targets=True)
    clock = FakeClock(start=time.time())
    app.extensions[services.CLOCK] = clock
    client = app.test_client()
    keys, ids = {}, {}
    for who in ("mine", "theirs"):
        tenant = make_tenant(server, name=f"Team {who}")
        keys[who], connection = connect(client, tenant.token)
        ids[who] = connection["id"]
    try:
        yield Env(app, client, clock, keys, ids)
    finally:
        app.extensions[services.DB].close()
