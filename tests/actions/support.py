"""A connector app connected to a freshly seeded sandbox team: what action and contract tests drive."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from connector.connections import services
from connector.sandbox import SandboxServer
from tests.connections.support import bearer, build_app, connect


@dataclass
class Connected:
    server: SandboxServer
    seed: dict[str, Any]
    app: Flask
    client: FlaskClient
    key: str

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.key)

    def action(self, key: str, body: Any, idempotency_key: str | None = None) -> TestResponse:
        headers = dict(self.headers)
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        return self.client.post(f"/api/actions/{key}", json=body, headers=headers)

    def search(self, key: str, query: dict[str, Any]) -> TestResponse:
        return self.client.get(f"/api/searches/{key}", query_string=as_query(query), headers=self.headers)

    def choices(self, source: str, query: dict[str, Any]) -> TestResponse:
        return self.client.get(f"/api/choices/{source}", query_string=as_query(query), headers=self.headers)


def as_query(values: dict[str, Any]) -> list[tuple[str, str]]:
    """Query arguments as a workflow tool sends them: lists repeat the name, booleans are true/false."""
    pairs = []
    for name, value in values.items():
        for item in value if isinstance(value, list) else [value]:
            pairs.append((name, ("true" if item else "false") if isinstance(item, bool) else str(item)))
    return pairs


def seed_demo(server: SandboxServer) -> dict[str, Any]:
    response = requests.post(server.url + "/_sandbox/seed", json={"preset": "demo"}, timeout=30)
    assert response.status_code == 201, response.text
    seeded: dict[str, Any] = response.json()
    return seeded


@contextmanager
def connected_app(
    server: SandboxServer, db_path: Path, *, seeded: dict[str, Any] | None = None, token: str | None = None
) -> Iterator[Connected]:
    """Build the connector app on ``db_path`` and connect it with ``token`` (default: the full token of a
    freshly seeded demo team)."""
    seeded = seeded or seed_demo(server)
    app = build_app(server, db_path)
    client = app.test_client()
    key, _ = connect(client, token or seeded["tokens"]["full"])
    try:
        yield Connected(server, seeded, app, client, key)
    finally:
        app.extensions[services.DB].close()
