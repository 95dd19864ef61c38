"""A connector served on a real port of 127.0.0.1 (werkzeug ``make_server`` in a thread, its delivery worker
running as under ``serve``), connected to a freshly seeded sandbox team, and a receiver that records what is
POSTed to it: what Zapier's tooling drives in the export tests."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

from connector.app import create_app
from connector.connections import services
from connector.sandbox import SandboxServer
from tests.actions.support import seed_demo
from tests.connections.support import new_keys
from webhooks.worker import start_background, stop_background


@dataclass
class Live:
    url: str
    app: Flask
    sandbox: SandboxServer
    seed: dict[str, Any]
    key: str  # connection key of the seeded team's full token
    connection: dict[str, Any]

    @property
    def project_id(self) -> str:
        project: str = self.seed["project_ids"][0]
        return project

    def connect(self, token: str) -> str:
        """Another connection (its own token, so its own rate governor); returns its key."""
        response = requests.post(self.url + "/api/connections", json={"token": token}, timeout=30)
        assert response.status_code == 201, response.text
        key: str = response.json()["connection_key"]
        return key

    def get(self, path: str, key: str | None = None, **params: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {key or self.key}"}
        return requests.get(self.url + path, params=params, headers=headers, timeout=30)


def _serve(app: Any) -> tuple[BaseWSGIServer, threading.Thread]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    return server, thread


def _stop(server: BaseWSGIServer, thread: threading.Thread) -> None:
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


@contextmanager
def live_connector(sandbox: SandboxServer, db_path: Path) -> Iterator[Live]:
    seed = seed_demo(sandbox)
    app = create_app(
        {
            "api_base": sandbox.base_url,
            "db_path": str(db_path),
            "encryption_keys": new_keys(),
            "allow_private_targets": True,  # the receiver listens on 127.0.0.1
        }
    )
    server, thread = _serve(app)
    start_background(app)  # the delivery worker, as `serve` starts it; polls are run by the tests
    url = f"http://127.0.0.1:{server.server_port}"
    try:
        pasted = requests.post(url + "/api/connections", json={"token": seed["tokens"]["full"]}, timeout=30)
        assert pasted.status_code == 201, pasted.text
        body = pasted.json()
        yield Live(url, app, sandbox, seed, body["connection_key"], body["data"])
    finally:
        stop_background(app)
        _stop(server, thread)
        app.extensions[services.DB].close()


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Stands in for ``https://hooks.zapier.com/...``: answers 200 and keeps every POST."""

    url: str
    received: list[Received] = field(default_factory=list)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    def wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        with self.arrived:
            self.received.append(Received(request.path, dict(request.headers), request.get_data()))
            self.arrived.notify_all()
        return Response("ok")(environ, start_response)

    def wait_for(self, path: str, timeout: float) -> Received:
        deadline = time.monotonic() + timeout
        with self.arrived:
            while True:
                found = [r for r in self.received if r.path == path]
                if found:
                    return found[0]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"nothing was delivered to {path} within {timeout} s")
                self.arrived.wait(left)


@contextmanager
def receiver() -> Iterator[Receiver]:
    holder = Receiver(url="")
    server, thread = _serve(holder.wsgi)
    holder.url = f"http://127.0.0.1:{server.server_port}"
    try:
        yield holder
    finally:
        _stop(server, thread)


@contextmanager
def stub(status: int, body: Any, headers: dict[str, str] | None = None) -> Iterator[str]:
    """A server answering every request with ``status``, ``body`` (JSON) and ``headers``; yields its URL.
    For answers the real connector gives only under conditions too slow to arrange in a test."""

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        answer = Response(json.dumps(body), status=status, mimetype="application/json", headers=headers)
        return answer(environ, start_response)

    server, thread = _serve(wsgi)
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        _stop(server, thread)
