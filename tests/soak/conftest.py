"""Soak fixtures: the e2e fixtures (team, receiver, connector processes) over a sandbox of each test's own,
so the faults a test injects touch no other test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connector.sandbox import SandboxServer
from tests.e2e.conftest import receiver, start_connector, team
from tests.soak.soak import SOAK_SETTINGS

__all__ = ["receiver", "start_connector", "team"]


@pytest.fixture
def e2e_sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(SOAK_SETTINGS) as server:
        yield server
