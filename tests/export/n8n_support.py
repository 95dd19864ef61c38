"""Node tooling and connector helpers for the n8n export tests.

The toolchain (``n8n-workflow``, ``typescript``, ``@types/node`` at the versions the generated package pins)
is installed with npm into a folder outside the repository, at most once per test session and kept between
sessions (``$XDG_CACHE_HOME`` or ``~/.cache``, then ``memberpass-connector/n8n-toolchain-<versions>``): a
fresh install takes 15-30 s, which would dominate the test file. It is built in a temporary folder beside
the cache and moved into place only when complete. Without Node and npm, or when npm cannot install, the
tests that need it are skipped with a message saying how to enable them (``MEMBERPASS_REQUIRE_NODE=1``
turns the skip into a failure).
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

import pytest
from flask import Flask
from werkzeug.exceptions import HTTPException

from connector.errors import ConnectorError
from connector.export import n8n_sources as src
from connector.manifests import load_catalog
from triggers.source import trigger_entry

HERE = Path(__file__).resolve().parent
CHECK_JS = HERE / "n8n_check.js"
DRIVE_JS = HERE / "n8n_trigger_drive.js"
PACKAGES = [
    f"n8n-workflow@{src.N8N_WORKFLOW_VERSION}",
    f"typescript@{src.TYPESCRIPT_VERSION}",
    f"@types/node@{src.TYPES_NODE_VERSION}",
]
HOW = (
    "To run them: install Node.js >= 18 with npm (e.g. `apt-get install nodejs npm`) and let npm reach "
    "registry.npmjs.org once; the tests install " + ", ".join(PACKAGES) + " into {cache}."
)


def unavailable(reason: str) -> NoReturn:
    message = f"n8n build tooling unavailable: {reason}. " + HOW.format(cache=cache_dir())
    if os.environ.get("MEMBERPASS_REQUIRE_NODE", "").lower() in ("1", "true", "yes"):
        pytest.fail(message)
    pytest.skip(message)


def node_major() -> int | None:
    node = shutil.which("node")
    if node is None:
        return None
    out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30).stdout
    match = re.match(r"v(\d+)\.", out.strip())
    return int(match.group(1)) if match else None


def require_node() -> None:
    major = node_major()
    if major is None or shutil.which("npm") is None:
        unavailable("`node` and `npm` are not both on PATH")
    if major < 18:
        unavailable(f"Node {major} is older than 18")


def cache_dir() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    tag = "-".join(p.rsplit("@", 1)[1] for p in PACKAGES)
    return base / "memberpass-connector" / f"n8n-toolchain-{tag}"


def complete(node_modules: Path) -> bool:
    wanted = {p.rsplit("@", 1)[0]: p.rsplit("@", 1)[1] for p in PACKAGES}
    for name, version in wanted.items():
        try:
            found = json.loads((node_modules / name / "package.json").read_text()).get("version")
        except (OSError, ValueError):
            return False
        if found != version:
            return False
    return True


def ensure_toolchain() -> Path:
    """The ``node_modules`` folder of the build tooling (installed on first use), or skip."""
    require_node()
    target = cache_dir()
    if complete(target / "node_modules"):
        return target / "node_modules"
    target.parent.mkdir(parents=True, exist_ok=True)
    with (target.parent / ".n8n-install.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not complete(target / "node_modules"):
            _install(target)
    return target / "node_modules"


def _install(target: Path) -> None:
    work = Path(tempfile.mkdtemp(prefix="n8n-toolchain-", dir=target.parent))
    try:
        (work / "package.json").write_text('{"private": true}\n')
        done = subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--ignore-scripts", *PACKAGES],
            cwd=work,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if done.returncode != 0:
            unavailable(f"npm could not install the tooling: {(done.stderr or done.stdout)[-500:].strip()}")
        if target.exists():
            shutil.rmtree(target)
        work.rename(target)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(args: list[str], cwd: Path, node_modules: Path, stdin: str | None = None) -> str:
    env = {**os.environ, "NODE_PATH": str(node_modules)}
    done = subprocess.run(args, cwd=cwd, env=env, input=stdin, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def node_json(script: Path, package: Path, node_modules: Path, job: Any = None) -> Any:
    stdin = None if job is None else json.dumps(job)
    return json.loads(run(["node", str(script), str(package)], package, node_modules, stdin))


# --- the connector's routes ------------------------------------------------------------------------------
KINDS = {
    "actions.action": ("action", "key"),
    "actions.search": ("search", "key"),
    "actions.search_or_create": ("search", "key"),
    "actions.choices": ("choices", "source"),
}


def route_of(app: Flask, method: str, url: str) -> tuple[str, dict[str, Any]] | None:
    """The endpoint and arguments ``method url`` reaches in ``app``, or None when no route takes it."""
    path = urlsplit(url).path if "://" in url else url
    try:
        endpoint, args = app.url_map.bind("localhost").match(path, method=method)
    except HTTPException:
        return None
    return str(endpoint), dict(args)


def names_a_known_key(endpoint: str, args: dict[str, Any]) -> bool:
    """A route with a manifest key in it must name an entry of the catalog (of the right kind)."""
    catalog = load_catalog()
    if endpoint in KINDS:
        kind, arg = KINDS[endpoint]
        entry = catalog.get(kind, args[arg])
        return entry is not None and (endpoint != "actions.search_or_create" or entry.or_create is not None)
    if endpoint.startswith("triggers.") and "key" in args:
        try:
            trigger_entry(args["key"])
        except ConnectorError:
            return False
    return True
