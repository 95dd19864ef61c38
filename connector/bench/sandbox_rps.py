"""Sandbox throughput: requests per second on a read route and a write route.

Later connector figures are read against these: the connector cannot be faster than the upstream it calls.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import requests

from connector.bench.stats import ms, percentile
from connector.sandbox import SandboxServer, SandboxSettings

_UNLIMITED = SandboxSettings(per_minute=10**9, per_hour=10**9, deliver_webhooks=False)


def _drive(
    url: str, method: str, headers: dict[str, str], body: Any, seconds: float, threads: int
) -> dict[str, float]:
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def worker() -> None:
        session = requests.Session()
        local: list[float] = []
        bad = 0
        while time.perf_counter() < deadline:
            extra = {"Idempotency-Key": str(uuid.uuid4())} if method != "GET" else {}
            started = time.perf_counter()
            response = session.request(method, url, headers={**headers, **extra}, json=body, timeout=10)
            local.append(time.perf_counter() - started)
            bad += response.status_code >= 300
        with lock:
            latencies.extend(local)
            errors[0] += bad

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    started = time.perf_counter()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    elapsed = time.perf_counter() - started
    return {
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": ms(percentile(latencies, 50)),
        "p99_ms": ms(percentile(latencies, 99)),
        "requests": len(latencies),
        "errors": errors[0],
    }


def run(quick: bool = False) -> dict[str, Any]:
    seconds = 1.0 if quick else 5.0
    with SandboxServer(_UNLIMITED) as server:
        seeded = requests.post(server.url + "/_sandbox/seed", json={"preset": "demo"}, timeout=10).json()
        headers = {"Authorization": "Bearer " + seeded["tokens"]["full"]}
        read = _drive(server.base_url + "/teams/current", "GET", headers, None, seconds, threads=4)
        body = {"name": "Benchmark project", "description": "created by the benchmark"}
        write = _drive(server.base_url + "/projects", "POST", headers, body, seconds, threads=4)
    return {"sandbox_read_rps": read["rps"], "sandbox_write_rps": write["rps"], "read": read, "write": write}


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=2))
