"""The connector as the operator runs it: ``memberpass-connector serve`` in a subprocess, configured through
its environment, which a test can SIGKILL and start again on the same database.

:class:`ConnectorProcess` waits for ``/healthz`` after each start and keeps every run's output in a log file
(:meth:`ConnectorProcess.log_tail` for assertion messages). :class:`Api` is a connection-key client of its
HTTP surface.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from connector.bench.processes import cli_command, free_port
from connector.crypto import generate_key

READY_SECONDS = 30.0


def serve_command(port: int) -> list[str]:
    """``memberpass-connector serve`` from this interpreter's environment (the module when no script)."""
    return cli_command("serve", "--host", "127.0.0.1", "--port", str(port))


class ConnectorProcess:
    def __init__(
        self,
        api_base: str,
        workdir: Path,
        *,
        poll_interval: float = 0.5,
        public: bool = False,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.workdir = workdir
        self.db_path = workdir / "connector.db"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("CONNECTOR_", "MEMBERPASS_"))}
        self.env.update(
            {
                "MEMBERPASS_API_BASE": api_base,
                "CONNECTOR_DB": str(self.db_path),
                "CONNECTOR_ENCRYPTION_KEYS": generate_key(),
                "CONNECTOR_ALLOW_PRIVATE_TARGETS": "1",
                "CONNECTOR_POLL_INTERVAL": str(poll_interval),
                "PYTHONUNBUFFERED": "1",
                **({"CONNECTOR_PUBLIC_URL": self.url} if public else {}),
                **(extra_env or {}),
            }
        )
        self.process: subprocess.Popen[bytes] | None = None
        self.runs = 0
        self.kills = 0

    @property
    def log_path(self) -> Path:
        return self.workdir / f"serve-{self.runs}.log"

    def start(self) -> ConnectorProcess:
        self.runs += 1
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                serve_command(self.port), env=self.env, stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir
            )
        self.wait_ready()
        return self

    def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_SECONDS
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"the connector exited ({self.process.returncode}):\n{self.log_tail()}")
            try:
                if requests.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.05)
        raise AssertionError(f"the connector did not answer /healthz:\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, whatever the process was doing."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)
            self.kills += 1
        self.process = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


@dataclass
class Api:
    """The connector's HTTP API as one connection sees it."""

    url: str
    key: str = ""

    def call(self, method: str, path: str, **kw: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.key}"} if self.key else {}
        return requests.request(method, self.url + path, headers=headers, timeout=30, **kw)

    def connect(self, token: str) -> Api:
        response = self.call("POST", "/api/connections", json={"token": token})
        assert response.status_code == 201, response.text
        return Api(self.url, response.json()["connection_key"])

    def subscribe(self, trigger: str, target_url: str, **body: Any) -> dict[str, Any]:
        response = self.call(
            "POST", f"/api/triggers/{trigger}/subscriptions", json={"target_url": target_url, **body}
        )
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    def deliveries(self, **query: Any) -> list[dict[str, Any]]:
        """Every delivery of this connection matching ``query`` (all pages)."""
        found: list[dict[str, Any]] = []
        page = 1
        while True:
            response = self.call("GET", "/api/deliveries", params={**query, "limit": 100, "page": page})
            assert response.status_code == 200, response.text
            body = response.json()
            found += body["data"]
            if not body["meta"]["has_more"]:
                return found
            page += 1
