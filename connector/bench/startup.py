"""Start-up time with the full catalog.

- ``startup_s``: median over a few runs of the time from spawning ``memberpass-connector serve`` (a fresh
  database each time, so its migrations run) to its first ``/healthz`` 200 (polled every 5 ms). ``/healthz``
  answers only after ``create_app``, which loads and validates every manifest (the 83 triggers, actions,
  searches and choices), so this is process start to "ready with the full catalog".
- ``startup_app_s``: the same inside a fresh interpreter, without the process and server: importing the
  app, ``create_app`` and the first ``GET /healthz`` through the test client.

Both include compiling the sources when the interpreter may not write bytecode caches
(``PYTHONDONTWRITEBYTECODE``); the machine line of the report says whether it could.

Run: ``.venv/bin/python -m connector.bench.startup [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

from connector.bench.processes import time_to_healthy

UPSTREAM = "http://127.0.0.1:9/v1"  # never called: start-up makes no upstream call


def in_process() -> float:
    """Import, build the app on a fresh database and answer ``/healthz`` once; seconds (``--in-process``)."""
    started = time.perf_counter()
    from connector.app import create_app
    from connector.config import parse_key_ring
    from connector.crypto import generate_key

    with tempfile.TemporaryDirectory() as workdir:
        settings = {"db_path": f"{workdir}/bench.db", "encryption_keys": parse_key_ring(generate_key())}
        app = create_app({"api_base": UPSTREAM, **settings})
        if app.test_client().get("/healthz").status_code != 200:
            raise RuntimeError("/healthz did not answer 200")
        elapsed = time.perf_counter() - started
        app.extensions["connector.db"].close()
    return elapsed


def in_fresh_interpreter() -> float:
    command = [sys.executable, "-m", "connector.bench.startup", "--in-process"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"the start-up measurement failed:\n{done.stderr[-2000:]}")
    return float(done.stdout.strip())


def run(quick: bool = False) -> dict[str, Any]:
    """``--quick``: one spawn, and no in-process figure."""
    runs = 1 if quick else 3
    spawned: list[float] = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as workdir:
            spawned.append(time_to_healthy(UPSTREAM, workdir))
    figures: dict[str, Any] = {
        "startup_s": round(statistics.median(spawned), 3),
        "startup_runs": runs,
        "startup_all_s": [round(s, 3) for s in spawned],
    }
    if not quick:
        figures["startup_app_s"] = round(statistics.median(in_fresh_interpreter() for _ in range(runs)), 3)
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--in-process", action="store_true", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.in_process:
        print(f"{in_process():.4f}")
    else:
        print(json.dumps(run(arguments.quick), indent=2))
