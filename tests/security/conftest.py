"""Fixtures of the security suite: a connector app (the SSRF guard on) with two connections of two seeded
sandbox teams, the error-envelope check every refusal must pass, and snapshots that prove a refused request
left nothing behind (connector database and the other team's upstream records)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from connector.connections import services
from connector.errors import DOCS_BASE
from connector.sandbox import SandboxServer
from connector.sandbox.store import public
from tests.triggers.connected import SeededConnection, build_app, seed_demo

ENVELOPE_KEYS = {"code", "message", "remediation", "docs_url", "request_id"}
OPTIONAL_KEYS = {"fields", "context"}
REQUEST_ID = re.compile(r"^req_[0-9a-f]{24}$")
# Columns a request may touch without changing any object: a key's "last used" stamp.
VOLATILE_COLUMNS = {"last_used_at"}
TEAM_EVENT = "billing.invoice_paid"
# Upstream fields the sandbox's own webhook worker changes in the background (failing test deliveries).
BACKGROUND = {
    "webhook_deliveries": None,
    "webhook_endpoints": {"consecutive_failures", "disabled_at", "is_active"},
}  # a team-level event trigger: no inputs


def body_of(response: TestResponse | requests.Response) -> Any:
    raw = response.get_data() if isinstance(response, TestResponse) else response.content
    return json.loads(raw)


def assert_error(
    response: TestResponse | requests.Response, status: int, code: str | None = None
) -> dict[str, Any]:
    """The documented envelope: ``{"error": {code, message, remediation, docs_url, request_id, fields?,
    context?}}``, JSON, ``docs_url`` per C8 and ``request_id`` equal to ``X-Request-Id`` (C7)."""
    text = response.get_data(as_text=True) if isinstance(response, TestResponse) else response.text
    assert response.status_code == status, text[:500]
    assert response.headers["Content-Type"].startswith("application/json"), response.headers
    body = body_of(response)
    assert set(body) == {"error"}, body
    error: dict[str, Any] = body["error"]
    assert ENVELOPE_KEYS <= set(error) <= ENVELOPE_KEYS | OPTIONAL_KEYS, error
    assert all(isinstance(error[k], str) and error[k] for k in ENVELOPE_KEYS), error
    assert error["docs_url"] == DOCS_BASE + error["code"].lower()
    assert error["request_id"] == response.headers["X-Request-Id"]
    if code is not None:
        assert error["code"] == code, error
    return error


def db_snapshot(app: Flask) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every connector table (migrations aside), volatile columns left out."""
    db = app.extensions[services.DB].db
    snapshot: dict[str, list[tuple[Any, ...]]] = {}
    for table in db.table_names():
        if table.startswith("_sqlite"):
            continue
        columns = [c for c in db[table].columns_dict if c not in VOLATILE_COLUMNS]
        query = f"SELECT {', '.join(columns)} FROM [{table}]"  # noqa: S608 (names from the schema)
        rows = db.execute(query).fetchall()
        snapshot[table] = sorted(rows, key=repr)
    return snapshot


def team_snapshot(server: SandboxServer, team_id: str) -> dict[str, list[str]]:
    """Every upstream record of one sandbox team (public fields), as text to compare before and after.
    What the sandbox's own webhook worker changes in the background (``BACKGROUND``) is left out."""
    store = server.sandbox.store

    def text(name: str, row: dict[str, Any]) -> str:
        skip = BACKGROUND.get(name) or set()
        return json.dumps(
            {k: v for k, v in public(row).items() if k not in skip}, sort_keys=True, default=str
        )

    with store.lock:
        owned = {
            name: sorted(text(name, r) for r in rows.values() if team_id in (r.get("_team"), r.get("id")))
            for name, rows in store.tables.items()
            if not (name in BACKGROUND and BACKGROUND[name] is None)
        }  # fmt: skip
    return owned


def assert_same_team(before: dict[str, list[str]], after: dict[str, list[str]]) -> None:
    changed = {
        t: sorted(set(after.get(t, [])) ^ set(before.get(t, []))) for t in before.keys() | after.keys()
    }
    assert not any(changed.values()), (
        f"upstream records changed: {[(t, d[:2]) for t, d in changed.items() if d]}"
    )


@dataclass
class Conn(SeededConnection):
    """One connection: its key and id, and the seeded sandbox team behind it."""

    key: str
    id: str
    seed: dict[str, Any]

    @property
    def token(self) -> str:
        return str(self.seed["tokens"]["full"])


@dataclass
class Harness:
    server: SandboxServer
    app: Flask
    client: FlaskClient
    a: Conn
    b: Conn

    def call(self, method: str, path: str, who: Conn | None = None, **kw: Any) -> TestResponse:
        headers = {**(who or self.a).headers, **kw.pop("headers", {})}
        return self.client.open(path, method=method, headers=headers, **kw)

    def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        return db_snapshot(self.app)

    @contextmanager
    def unchanged(self) -> Iterator[None]:
        """Assert that the block leaves the connector database as it found it."""
        before = self.snapshot()
        yield
        after = self.snapshot()
        changed = sorted(t for t in before.keys() | after.keys() if before.get(t) != after.get(t))
        assert not changed, f"state left behind in: {changed}"

    def count(self, table: str) -> int:
        return int(
            self.app.extensions[services.DB].db.execute(f"SELECT count(*) FROM [{table}]").fetchone()[0]  # noqa: S608
        )

    def subscribe(
        self, who: Conn, target_url: str = "https://hooks.example.com/in", **body: Any
    ) -> TestResponse:
        return self.call(
            "POST", f"/api/triggers/{TEAM_EVENT}/subscriptions", who, json={"target_url": target_url, **body}
        )


def make_app(server: SandboxServer, db_path: Path, **overrides: Any) -> Flask:
    """A connector app on ``db_path`` with private targets refused (the guard under test) by default."""
    return build_app(server, db_path, **{"allow_private_targets": False, **overrides})


def connect(client: FlaskClient, seeded: dict[str, Any]) -> Conn:
    response = client.post("/api/connections", json={"token": seeded["tokens"]["full"]})
    assert response.status_code == 201, response.get_data(as_text=True)
    body = body_of(response)
    return Conn(body["connection_key"], body["data"]["id"], seeded)


@contextmanager
def harness(server: SandboxServer, db_path: Path, **overrides: Any) -> Iterator[Harness]:
    app = make_app(server, db_path, **overrides)
    client = app.test_client()
    try:
        first, second = connect(client, seed_demo(server)), connect(client, seed_demo(server))
        yield Harness(server, app, client, first, second)
    finally:
        app.extensions[services.DB].close()


@pytest.fixture(scope="module")
def h(sandbox_server: SandboxServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    """Two connections (teams A and B) on one app with the SSRF guard on, shared by a module's tests."""
    with harness(sandbox_server, tmp_path_factory.mktemp("security") / "connector.db") as made:
        yield made
