"""Per-call overhead of MemberPassClient against a bare ``requests.Session`` on the same sandbox route.

Both make N ``GET /v1/teams/current`` calls against one sandbox, interleaved call by call (alternating which
goes first) so both see the same machine load; the report gives p50/p99 of each and their ratio.
Run: ``.venv/bin/python -m connector.bench.client_overhead [--quick]``; `memberpass-connector bench` calls
``run(quick)``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from typing import Any

import requests

from connector.bench.stats import percentile
from connector.client import Limits, MemberPassClient, RateGovernor, default_user_agent
from connector.sandbox import SandboxServer, SandboxSettings
from connector.sandbox.routes.teams import create_team
from connector.sandbox.tokens import mint_token

ROUTE = "/teams/current"
UNLIMITED = 10**9


def summary(samples: list[float]) -> dict[str, float]:
    ms = [s * 1000 for s in samples]
    return {
        "p50_ms": round(percentile(ms, 50), 3),
        "p99_ms": round(percentile(ms, 99), 3),
        "mean_ms": round(statistics.fmean(ms), 3),
    }


def timed(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def measure(server: SandboxServer, token: str, calls: int, warmup: int) -> tuple[list[float], list[float]]:
    # The sandbox's limits are lifted, so the governor is given matching limits: the figure is the
    # client's bookkeeping cost, not time spent waiting for a rate window.
    governor = RateGovernor(Limits(per_minute=UNLIMITED, per_hour=UNLIMITED))
    client = MemberPassClient(server.base_url, token, governor=governor)
    session = requests.Session()
    headers = {"Authorization": f"Bearer {token}", "User-Agent": default_user_agent()}
    url = server.base_url + ROUTE

    def with_client() -> None:
        client.request("GET", ROUTE)

    def bare() -> None:
        response = session.get(url, headers=headers, timeout=(5.0, 30.0))
        response.raise_for_status()
        response.json()

    for _ in range(warmup):
        with_client()
        bare()
    client_times: list[float] = []
    bare_times: list[float] = []
    for i in range(calls):
        pair = [(with_client, client_times), (bare, bare_times)]
        for call, sink in pair if i % 2 == 0 else reversed(pair):
            sink.append(timed(call))
    client.close()
    session.close()
    return client_times, bare_times


def run(quick: bool = False) -> dict[str, Any]:
    """Start a sandbox, measure both sides, and return the figures."""
    calls, warmup = (200, 20) if quick else (2000, 100)
    settings = SandboxSettings(per_minute=UNLIMITED, per_hour=UNLIMITED)
    with SandboxServer(settings) as server:
        store = server.sandbox.store
        team = create_team(store, "Bench Team")
        token, _ = mint_token(store, team["id"], ["team:view"], owner_user_id=team["owner_user_id"])
        client_times, bare_times = measure(server, token, calls, warmup)
    client, bare = summary(client_times), summary(bare_times)
    return {
        "route": "GET /v1" + ROUTE,
        "client_calls": calls,
        "client": client,
        "bare_requests": bare,
        "client_ratio_p50": round(client["p50_ms"] / bare["p50_ms"], 3),
        "client_ratio_p99": round(client["p99_ms"] / bare["p99_ms"], 3),
        "client_overhead_p50_ms": round(client["p50_ms"] - bare["p50_ms"], 3),
        "client_p50_ms": client["p50_ms"],
        "client_p99_ms": client["p99_ms"],
        "direct_requests_p50_ms": bare["p50_ms"],
        "direct_requests_p99_ms": bare["p99_ms"],
    }


def report(figures: dict[str, Any]) -> str:
    client, bare = figures["client"], figures["bare_requests"]
    lines = [
        f"{figures['route']}: {figures['client_calls']} calls each, interleaved",
        f"{'':18}{'p50 ms':>10}{'p99 ms':>10}{'mean ms':>10}",
        f"{'MemberPassClient':18}{client['p50_ms']:>10.3f}{client['p99_ms']:>10.3f}{client['mean_ms']:>10.3f}",
        f"{'bare requests':18}{bare['p50_ms']:>10.3f}{bare['p99_ms']:>10.3f}{bare['mean_ms']:>10.3f}",
        f"ratio p50 {figures['client_ratio_p50']:.3f}  ratio p99 {figures['client_ratio_p99']:.3f}  "
        f"overhead p50 {figures['client_overhead_p50_ms']:.3f} ms",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="200 calls each instead of 2000")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    figures = run(args.quick)
    print(json.dumps(figures, indent=2) if args.json else report(figures))


if __name__ == "__main__":
    main()
