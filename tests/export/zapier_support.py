"""Zapier's own tooling for the export tests: Node, ``zapier-platform-core`` 19.1.0 from npm, and a driver.

``zapier-platform-core`` is proprietary (workflow-platforms.md §1.0), so it is never copied into the
repository: it is installed once into a cache outside it (``$XDG_CACHE_HOME`` or ``~/.cache``, then
``memberpass-connector/zapier-core-19.1.0``) and found through ``NODE_PATH``. Without Node and npm, or when
npm cannot reach the registry, the tests that need it are skipped with a message saying how to enable them;
``MEMBERPASS_REQUIRE_NODE=1`` turns those skips into failures (for CI machines that must run them).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import queue
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, NoReturn

import pytest

CORE_VERSION = "19.1.0"
HARNESS = Path(__file__).resolve().parent / "zapier_harness" / "driver.js"
OFFLINE = re.compile(
    r"ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|network|offline", re.I
)
HOW = (
    "To run them: install Node.js >= 18 with npm (e.g. `apt-get install nodejs npm`) and let npm reach "
    f"registry.npmjs.org once; zapier-platform-core@{CORE_VERSION} is then cached in {{cache}}."
)


def cache_dir() -> Path:
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "memberpass-connector" / f"zapier-core-{CORE_VERSION}"


def unavailable(reason: str) -> NoReturn:
    """Skip (or fail, with MEMBERPASS_REQUIRE_NODE=1) the calling test, saying how to enable it."""
    message = f"Zapier tooling unavailable: {reason}. " + HOW.format(cache=cache_dir())
    if os.environ.get("MEMBERPASS_REQUIRE_NODE", "").lower() in ("1", "true", "yes"):
        pytest.fail(message)
    pytest.skip(message)


def node_version() -> tuple[int, ...] | None:
    node = shutil.which("node")
    if node is None:
        return None
    out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30).stdout.strip()
    match = re.match(r"v(\d+)\.(\d+)", out)
    return (int(match.group(1)), int(match.group(2))) if match else None


def installed(node_modules: Path) -> bool:
    try:
        package = json.loads((node_modules / "zapier-platform-core" / "package.json").read_text())
    except (OSError, ValueError):
        return False
    return bool(package.get("version") == CORE_VERSION)


def ensure_core() -> Path:
    """The ``node_modules`` folder holding zapier-platform-core (installed on first use), or skip."""
    version = node_version()
    if version is None or shutil.which("npm") is None:
        unavailable("`node` and `npm` are not both on PATH")
    elif version < (18, 0):
        unavailable(f"Node {'.'.join(map(str, version))} is older than 18")
    target = cache_dir()
    if installed(target / "node_modules"):
        return target / "node_modules"
    target.parent.mkdir(parents=True, exist_ok=True)
    with _locked(target.parent / ".install.lock"):
        if not installed(target / "node_modules"):
            _install(target)
    return target / "node_modules"


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One installer at a time across processes (two test sessions starting together)."""
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _install(target: Path) -> None:
    """``npm install`` into a fresh folder beside the cache, then move it into place (never half there)."""
    work = Path(tempfile.mkdtemp(prefix="zapier-core-", dir=target.parent))
    try:
        (work / "package.json").write_text('{"private": true}\n')
        done = subprocess.run(
            [
                "npm",
                "install",
                "--no-audit",
                "--no-fund",
                "--ignore-scripts",
                f"zapier-platform-core@{CORE_VERSION}",
            ],
            cwd=work,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if done.returncode != 0:
            tail = (done.stderr or done.stdout)[-600:]
            if OFFLINE.search(tail):
                unavailable(f"npm could not download zapier-platform-core (no network?): {tail.strip()}")
            pytest.fail(f"npm install zapier-platform-core@{CORE_VERSION} failed:\n{tail}")
        if target.exists():
            shutil.rmtree(target)
        work.rename(target)
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)


class ZapierFailure(Exception):
    """An operation of the app failed the way Zapier would see it: ``name`` is the error class
    (ThrottledError, RefreshAuthError…), ``parsed`` the JSON inside its message when there is one."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(f"{error['name']}: {error['message']}")
        self.name: str = error["name"]
        self.message: str = error["message"]
        self.parsed: dict[str, Any] = error.get("parsed") or {}


class Driver:
    """``node zapier_harness/driver.js <app>``: one long-lived process per app, one JSON line per call."""

    def __init__(self, node_modules: Path, app_dir: Path, env: dict[str, str] | None = None) -> None:
        self._log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115  (open while the process runs)
        self._proc = subprocess.Popen(
            ["node", str(HARNESS), str(app_dir)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            env={**os.environ, "NODE_PATH": str(node_modules), **(env or {})},
        )
        self._answers: queue.Queue[dict[str, Any]] = queue.Queue()
        assert self._proc.stdout is not None
        self._reader = threading.Thread(target=self._read, args=(self._proc.stdout,), daemon=True)
        self._reader.start()
        self._next = 0

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            if line.startswith("@@RESULT "):
                self._answers.put(json.loads(line[len("@@RESULT ") :]))

    def call(self, op: str, timeout: float = 60, **fields: Any) -> dict[str, Any]:
        self._next += 1
        assert self._proc.stdin is not None
        self._proc.stdin.write(json.dumps({"id": self._next, "op": op, **fields}) + "\n")
        self._proc.stdin.flush()
        try:
            answer = self._answers.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(
                f"the Zapier driver did not answer {op}; its stderr:\n{self.stderr()}"
            ) from None
        assert answer["id"] == self._next
        return answer

    def run(
        self, method: str, bundle: dict[str, Any] | None = None, env: dict[str, str] | None = None
    ) -> Any:
        """createAppTester(App)(<function at ``method``>, bundle); raises :class:`ZapierFailure`."""
        answer = self.call("run", method=method, bundle=bundle or {}, env=env or {})
        if not answer["ok"]:
            raise ZapierFailure(answer["error"])
        return answer["result"]

    def stderr(self) -> str:
        self._log.seek(0)
        return self._log.read()[-4000:]

    def close(self) -> None:
        if self._proc.stdin is not None:
            self._proc.stdin.close()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._reader.join(timeout=10)
        if self._proc.stdout is not None:
            self._proc.stdout.close()
        self._log.close()
