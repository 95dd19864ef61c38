"""Fixtures of the export tests: the generated Zapier apps and Zapier's core, installed once per machine."""

from __future__ import annotations

from pathlib import Path

import pytest

from connector.export.zapier import ZapierOptions, export_zapier
from connector.manifests import load_catalog
from tests.export.zapier_support import ensure_core

# Never reached: every Node run points the app at a live connector with CONNECTOR_BASE_URL.
BAKED_URL = "http://127.0.0.1:9"


@pytest.fixture(scope="session")
def zapier_core() -> Path:
    """``node_modules`` with zapier-platform-core 19.1.0 (skips, saying how to enable, without Node/npm)."""
    return ensure_core()


@pytest.fixture(scope="session")
def zapier_apps(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The app exported with each auth type: ``{"oauth2": dir, "custom": dir}``."""
    root = tmp_path_factory.mktemp("zapier-apps")
    apps = {}
    for auth in ("oauth2", "custom"):
        apps[auth] = root / auth
        export_zapier(load_catalog(), apps[auth], ZapierOptions(base_url=BAKED_URL, auth=auth))
    return apps
