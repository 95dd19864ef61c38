"""Fixtures for connection tests: a connector app on a temporary SQLite file, pointed at the sandbox."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from connector.clock import FakeClock
from connector.connections import services
from connector.sandbox import SandboxServer
from tests.connections.support import build_app
from tests.helpers import Tenant, make_tenant


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "connector.db"


@pytest.fixture
def app(sandbox_server: SandboxServer, db_path: Path) -> Iterator[Flask]:
    app = build_app(sandbox_server, db_path)
    yield app
    app.extensions[services.DB].close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def clock(app: Flask) -> FakeClock:
    """A fake clock installed in the app, starting now."""
    fake = FakeClock(start=time.time())
    app.extensions[services.CLOCK] = fake
    return fake


@pytest.fixture
def tenant(sandbox_server: SandboxServer) -> Tenant:
    return make_tenant(sandbox_server, name="Acme Creators")
