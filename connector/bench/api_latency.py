"""The connector's HTTP API against the same MemberPass call made directly: actions and the polling endpoint.

Setup: the sandbox (limits lifted) and ``memberpass-connector serve`` each in a process of their own; this
process is the caller. Calls are spread round-robin over several connections (one MemberPass token each),
so that neither side waits on the per-token governor (300 calls a minute, contract §5): the figures are
the cost of the connector, not of the rate limit.

Figures (stable names):

- ``action_overhead_ratio``: p50 of ``POST /api/actions/update_project`` (connection key, a fresh
  ``Idempotency-Key``) over p50 of the same ``PATCH /v1/projects/<id>`` made directly with
  ``MemberPassClient`` (request rendered from the same manifest entry, same body, its own idempotency key);
  the two interleaved call by call, alternating which goes first. ``action_connector_p50_ms`` /
  ``action_connector_p99_ms``, ``action_direct_p50_ms`` / ``action_direct_p99_ms`` and
  ``action_overhead_ratio_p99`` beside it; ``action_overhead_p50_ms`` is the connector's own cost in
  milliseconds (the p50 difference), what the ratio becomes against a slower, real MemberPass.
- ``polling_endpoint_p50_ms`` / ``polling_endpoint_p99_ms``: ``GET /api/triggers/new_member?project_id=…``
  (one page of 50 members as Zapier items); ``polling_direct_p50_ms`` / ``polling_direct_p99_ms`` read the
  same page directly (``triggers.source.fetch_page_for`` with a client), interleaved the same way.

Run: ``.venv/bin/python -m connector.bench.api_latency [--quick]``; ``memberpass-connector bench`` calls
:func:`run`.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

from connector.bench.processes import sandbox_process, serve_process
from connector.bench.stats import ms, percentile

ACTION = "update_project"
TRIGGER = "new_member"
CALLS_PER_TOKEN = 200  # under the governor's 300 a minute, counting both sides' calls of one token


@dataclass
class Caller:
    """One connection: the MemberPass token (direct side) and the connection key (connector side)."""

    token: str
    key: str


def _ok(response: requests.Response) -> Any:
    if response.status_code not in (200, 201):
        raise RuntimeError(
            f"{response.request.method} {response.url}: {response.status_code} {response.text[:300]}"
        )
    return response.json()


def callers(sandbox: str, connector: str, team_id: str, count: int) -> list[Caller]:
    made = []
    for _ in range(count):
        token = _ok(requests.post(sandbox + "/_sandbox/tokens", json={"team_id": team_id}, timeout=10))[
            "token"
        ]
        key = _ok(requests.post(connector + "/api/connections", json={"token": token}, timeout=30))
        made.append(Caller(token, key["connection_key"]))
    return made


def interleaved(
    calls: int, warmup: int, connector: Callable[[int], None], direct: Callable[[int], None]
) -> tuple[list[float], list[float]]:
    """Time ``connector(i)`` and ``direct(i)`` call by call, alternating which goes first."""
    for i in range(warmup):
        connector(i)
        direct(i)
    via: list[float] = []
    bare: list[float] = []
    for i in range(warmup, warmup + calls):
        pair = [(connector, via), (direct, bare)]
        for call, sink in pair if i % 2 == 0 else reversed(pair):
            started = time.perf_counter()
            call(i)
            sink.append(time.perf_counter() - started)
    return via, bare


def figures_of(prefix: str, via: list[float], bare: list[float]) -> dict[str, float]:
    return {
        f"{prefix}_connector_p50_ms": ms(percentile(via, 50)),
        f"{prefix}_connector_p99_ms": ms(percentile(via, 99)),
        f"{prefix}_direct_p50_ms": ms(percentile(bare, 50)),
        f"{prefix}_direct_p99_ms": ms(percentile(bare, 99)),
    }


def action_calls(
    connector: str, api_base: str, people: list[Caller], project_id: str, calls: int, warmup: int
) -> dict[str, float]:
    from actions.render import render
    from connector.client import MemberPassClient
    from connector.manifests import load_catalog

    entry = load_catalog().get("action", ACTION)
    assert entry is not None
    session = requests.Session()
    clients = [MemberPassClient(api_base, p.token) for p in people]

    def values(i: int) -> dict[str, Any]:
        return {"project_id": project_id, "description": f"benchmark call {i}"}

    def via_connector(i: int) -> None:
        headers = {
            "Authorization": f"Bearer {people[i % len(people)].key}",
            "Idempotency-Key": str(uuid.uuid4()),
        }
        _ok(session.post(f"{connector}/api/actions/{ACTION}", json=values(i), headers=headers, timeout=30))

    def direct(i: int) -> None:
        rendered = render(entry, values(i))
        clients[i % len(clients)].request(
            rendered.method, rendered.path, params=rendered.params or None, json=rendered.json,
            idempotency_key=str(uuid.uuid4()),
        )  # fmt: skip

    via, bare = interleaved(calls, warmup, via_connector, direct)
    session.close()
    for client in clients:
        client.close()
    found = figures_of("action", via, bare)
    found["action_overhead_ratio"] = round(
        found["action_connector_p50_ms"] / found["action_direct_p50_ms"], 3
    )
    found["action_overhead_p50_ms"] = round(
        found["action_connector_p50_ms"] - found["action_direct_p50_ms"], 3
    )
    found["action_overhead_ratio_p99"] = round(
        found["action_connector_p99_ms"] / found["action_direct_p99_ms"], 3
    )
    return found


def polling_calls(
    connector: str, api_base: str, people: list[Caller], project_id: str, calls: int, warmup: int
) -> dict[str, float]:
    from connector.client import MemberPassClient
    from triggers.source import fetch_page_for, trigger_entry

    entry = trigger_entry(TRIGGER)
    session = requests.Session()
    clients = [MemberPassClient(api_base, p.token) for p in people]

    def via_connector(i: int) -> None:
        headers = {"Authorization": f"Bearer {people[i % len(people)].key}"}
        url = f"{connector}/api/triggers/{TRIGGER}"
        _ok(session.get(url, params={"project_id": project_id}, headers=headers, timeout=30))

    def direct(i: int) -> None:
        fetch = fetch_page_for(
            entry, {"project_id": project_id}, clients[i % len(clients)], page_size=50, priority="interactive"
        )
        fetch(None)

    via, bare = interleaved(calls, warmup, via_connector, direct)
    session.close()
    for client in clients:
        client.close()
    found = figures_of("polling", via, bare)
    return {
        "polling_endpoint_p50_ms": found["polling_connector_p50_ms"],
        "polling_endpoint_p99_ms": found["polling_connector_p99_ms"],
        "polling_direct_p50_ms": found["polling_direct_p50_ms"],
        "polling_direct_p99_ms": found["polling_direct_p99_ms"],
    }


def run(quick: bool = False) -> dict[str, Any]:
    calls, warmup = (100, 10) if quick else (1000, 50)
    with sandbox_process() as sandbox, tempfile.TemporaryDirectory() as workdir:
        seeded = _ok(requests.post(sandbox + "/_sandbox/seed", json={"preset": "demo"}, timeout=30))
        with serve_process(sandbox + "/v1", workdir) as connector:
            people = callers(sandbox, connector, seeded["team_id"], -(-(calls + warmup) // CALLS_PER_TOKEN))
            project_id = seeded["project_ids"][0]
            actions = action_calls(connector, sandbox + "/v1", people, project_id, calls, warmup)
            people = callers(sandbox, connector, seeded["team_id"], -(-(calls + warmup) // CALLS_PER_TOKEN))
            polling = polling_calls(connector, sandbox + "/v1", people, project_id, calls, warmup)
    return {**actions, **polling, "api_calls_each": calls, "api_connections": len(people)}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true")
    print(json.dumps(run(parser.parse_args().quick), indent=2))
