"""End-to-end fixtures: a sandbox with room for heavy traffic, a seeded team, a signature-checking receiver,
and connector processes (``memberpass-connector serve``) that are always stopped at the end of the test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from connector.sandbox import SandboxServer, SandboxSettings
from tests.e2e.receiver import Receiver
from tests.e2e.service import ConnectorProcess
from tests.e2e.upstream import Team, seeded_team

# Rate limits lifted: these tests count records, not 429s (the client's own governor still applies).
E2E_SETTINGS = SandboxSettings(per_minute=1_000_000, per_hour=100_000_000)


@pytest.fixture(scope="session")
def e2e_sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(E2E_SETTINGS) as server:
        yield server


@pytest.fixture
def team(e2e_sandbox: SandboxServer) -> Team:
    return seeded_team(e2e_sandbox)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver().up()
    try:
        yield running
    finally:
        running.down()


@pytest.fixture
def start_connector(e2e_sandbox: SandboxServer, tmp_path: Path) -> Iterator[Callable[..., ConnectorProcess]]:
    """``start_connector(poll_interval=…, public=…)`` starts a connector process on its own database."""
    started: list[ConnectorProcess] = []

    def start(**options: Any) -> ConnectorProcess:
        workdir = tmp_path / f"connector-{len(started)}"
        workdir.mkdir()
        process = ConnectorProcess(e2e_sandbox.base_url, workdir, **options)
        started.append(process)
        return process.start()

    try:
        yield start
    finally:
        for process in started:
            process.stop()
