"""The processes the benchmarks run against: the sandbox and the connector, each in a process of its own
(as MemberPass and the service would be), started from this interpreter's environment.

- :func:`sandbox_process`: ``memberpass-connector sandbox`` with its rate limits lifted; yields its root URL.
- :func:`serve_process`: ``memberpass-connector serve`` on a free port with a fresh database, configured
  through its environment as ``tests/e2e/service.py`` does; yields its URL once ``/healthz`` answers.
- :func:`time_to_healthy`: how long a fresh ``serve`` takes from spawn to its first ``/healthz`` 200.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

UNLIMITED = str(10**9)
READY_SECONDS = 30.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cli_command(*args: str) -> list[str]:
    """``memberpass-connector …`` from this interpreter's environment (the module when no script)."""
    script = Path(sys.executable).with_name("memberpass-connector")
    base = [str(script)] if script.exists() else [sys.executable, "-m", "connector.cli"]
    return [*base, *args]


def wait_until(url: str, process: subprocess.Popen[bytes], interval: float = 0.05) -> None:
    """Until ``url`` answers 200; RuntimeError when the process ends or does not answer in time."""
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(interval)
    raise RuntimeError(f"{url} did not answer (exit code {process.poll()})")


@contextmanager
def sandbox_process() -> Iterator[str]:
    """The sandbox over HTTP in its own process; yields its root URL (the API is under ``/v1``)."""
    port = free_port()
    command = cli_command("sandbox", "--port", str(port), "--per-minute", UNLIMITED, "--per-hour", UNLIMITED)
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(url + "/_sandbox/clock", process)
        yield url
    finally:
        process.terminate()
        process.wait(10)


def serve_env(api_base: str, workdir: str, poll_interval: float, public_url: str | None) -> dict[str, str]:
    from connector.crypto import generate_key

    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONNECTOR_", "MEMBERPASS_"))}
    env |= {
        "MEMBERPASS_API_BASE": api_base,
        "CONNECTOR_DB": str(Path(workdir) / "bench.db"),
        "CONNECTOR_ENCRYPTION_KEYS": generate_key(),
        "CONNECTOR_ALLOW_PRIVATE_TARGETS": "1",
        "CONNECTOR_POLL_INTERVAL": str(poll_interval),
    }
    if public_url:
        env["CONNECTOR_PUBLIC_URL"] = public_url
    return env


def spawn_serve(
    api_base: str, workdir: str, poll_interval: float, *, public: bool
) -> tuple[str, subprocess.Popen[bytes]]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = serve_env(api_base, workdir, poll_interval, url if public else None)
    command = cli_command("serve", "--host", "127.0.0.1", "--port", str(port))
    with open(Path(workdir) / "serve.log", "ab") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    return url, process


@contextmanager
def serve_process(
    api_base: str, workdir: str, poll_interval: float = 3600.0, *, public: bool = False
) -> Iterator[str]:
    """``memberpass-connector serve`` on a free port with a database in ``workdir``; yields its URL."""
    url, process = spawn_serve(api_base, workdir, poll_interval, public=public)
    try:
        wait_until(url + "/healthz", process)
        yield url
    finally:
        process.terminate()
        process.wait(10)


def time_to_healthy(api_base: str, workdir: str) -> float:
    """Seconds from spawning ``serve`` (a fresh database, so its migrations run too) to ``/healthz`` 200.
    The app answers only once ``create_app`` has loaded and validated the whole manifest catalog."""
    started = time.perf_counter()
    url, process = spawn_serve(api_base, workdir, 3600.0, public=False)
    try:
        wait_until(url + "/healthz", process, interval=0.005)
        return time.perf_counter() - started
    finally:
        process.terminate()
        process.wait(10)
