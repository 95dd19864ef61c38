"""A connector app connected to a seeded sandbox team, shared by the tests of one module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connector.sandbox import SandboxServer
from tests.actions.support import Connected, connected_app


@pytest.fixture(scope="module")
def env(sandbox_server: SandboxServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Connected]:
    with connected_app(sandbox_server, tmp_path_factory.mktemp("actions") / "connector.db") as connected:
        yield connected
