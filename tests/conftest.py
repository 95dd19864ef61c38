"""Shared fixtures: a sandbox served over real HTTP on 127.0.0.1, seeded per test where needed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connector.sandbox import SandboxServer, SandboxSettings


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[SandboxServer]:
    """One sandbox for the whole session (fast). Tests that change faults or limits use `fresh_sandbox`."""
    with SandboxServer(SandboxSettings()) as server:
        yield server


@pytest.fixture
def fresh_sandbox(request: pytest.FixtureRequest) -> Iterator[SandboxServer]:
    """A sandbox of its own; choose settings with
    `@pytest.mark.parametrize("fresh_sandbox", [SandboxSettings(...)], indirect=True)`."""
    settings = getattr(request, "param", None) or SandboxSettings()
    with SandboxServer(settings) as server:
        yield server
