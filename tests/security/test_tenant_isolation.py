"""Tenant isolation over every ``/api/`` operation of the OpenAPI document, with two connections A and B of
two sandbox teams: B's ids given to A's key answer ``404 RESOURCE_NOT_FOUND`` (never 403, so existence does
not leak), A's lists never show B's rows, and A's retries and deletes of B's objects change nothing.

Operations come from :func:`connector.openapi.build_document` (the fixed routes of
``connector/openapi_routes.py`` and one path per manifest entry), so a new route is covered automatically:
``test_every_api_operation_is_covered`` fails when one is neither exercised here nor listed in
``NO_OBJECT`` with the reason it names no per-connection object. A manifest entry is exercised when its
``sample_input`` references a team's records (``$project``, ``$member`` …, resolved against B's seed by the
contract test's resolvers); entries without such a reference are read with A's key and their answer must
not mention B's team or projects.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from werkzeug.test import TestResponse

from connector.manifests import Entry, load_catalog
from connector.openapi import build_document
from connector.sandbox import SandboxServer, SandboxSettings
from tests.manifests.refs import Refs
from tests.security.conftest import (
    Conn,
    Harness,
    assert_error,
    assert_same_team,
    body_of,
    harness,
    team_snapshot,
)
from triggers.engine import run_poll
from triggers.source import trigger_entry

CATALOG = load_catalog()
NOT_TEAM_DATA = {"$unique_name", "$unique_email", "$receiver_url"}
HOOK_HOST = "hooks.isolation.test"
NO_OBJECT = {
    ("POST", "/api/connections"): "creates a connection from a pasted token; no id in the request",
    ("GET", "/api/catalog"): "the public catalog, the same for everyone",
}
SUBS, DELIVERIES = (
    "test_subscriptions_stay_with_their_connection",
    "test_deliveries_stay_with_their_connection",
)
FIXED = {
    ("GET", "/api/me"): "test_me_is_always_the_callers_connection",
    ("DELETE", "/api/me"): "test_me_is_always_the_callers_connection",
    ("PUT", "/api/me/token"): "test_a_token_of_another_team_cannot_take_over_a_connection",
    ("GET", "/api/subscriptions"): SUBS,
    ("GET", "/api/subscriptions/{subscription_id}"): SUBS,
    ("DELETE", "/api/subscriptions/{subscription_id}"): SUBS,
    ("GET", "/api/subscriptions/{subscription_id}/log"): SUBS,
    ("POST", "/api/subscriptions/{subscription_id}/enable"): SUBS,
    ("GET", "/api/deliveries"): DELIVERIES,
    ("POST", "/api/deliveries/{delivery_id}/retry"): DELIVERIES,
}  # fmt: skip


def team_refs(entry: Entry) -> list[str]:
    values = [v for raw in entry.sample_input.values() for v in (raw if isinstance(raw, list) else [raw])]
    return [v for v in values if isinstance(v, str) and v.startswith("$") and v not in NOT_TEAM_DATA]


def entry_routes(entry: Entry) -> list[tuple[str, str]]:
    if entry.kind == "action":
        return [("POST", f"/api/actions/{entry.key}")]
    if entry.kind == "search":
        routes = [("GET", f"/api/searches/{entry.key}")]
        return routes + ([("POST", f"/api/search-or-create/{entry.key}")] if entry.or_create else [])
    if entry.kind == "choices":
        return [("GET", f"/api/choices/{entry.key}")]
    return [("GET", f"/api/triggers/{entry.key}"), ("POST", f"/api/triggers/{entry.key}/subscriptions")]


ENTRIES = list(CATALOG.entries.values())
EVENT_ENTRIES = [trigger_entry(name) for name in CATALOG.events]
WITH_IDS = [e for e in ENTRIES if team_refs(e)]
WITHOUT_IDS = [e for e in ENTRIES if not team_refs(e)]
PROJECT_EVENTS = [e for e in EVENT_ENTRIES if e.inputs]
TEAM_EVENTS = [e for e in EVENT_ENTRIES if not e.inputs]


@pytest.fixture(scope="module")
def roomy_sandbox() -> Iterator[SandboxServer]:
    """A sandbox of this module, with rate limits far above the few hundred calls it makes."""
    with SandboxServer(SandboxSettings(per_minute=1_000_000, per_hour=10_000_000)) as server:
        yield server


@pytest.fixture(scope="module")
def h(roomy_sandbox: SandboxServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    with harness(roomy_sandbox, tmp_path_factory.mktemp("isolation") / "connector.db") as made:
        yield made


@pytest.fixture(scope="module")
def refs_b(h: Harness) -> Refs:
    """Resolves sample inputs to records of team B."""
    return Refs(h.server, h.b.seed)


@pytest.fixture(autouse=True)
def hook_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """The subscribers' target host resolves to a public address (the SSRF guard stays on)."""
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == HOOK_HOST:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", int(port or 0)))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def b_markers(h: Harness) -> list[str]:
    return [h.b.team_id, *h.b.seed["project_ids"]]


def assert_no_mention(response: TestResponse, markers: list[str]) -> None:
    text = response.get_data(as_text=True)
    leaked = [m for m in markers if m in text]
    assert not leaked, f"the answer mentions another team's ids {leaked}: {text[:300]}"


# --- coverage -----------------------------------------------------------------------------------------------
def exercised_routes() -> dict[tuple[str, str], str]:
    routes = dict(FIXED)
    for entry in WITH_IDS:
        for route in entry_routes(entry):
            routes[route] = "test_another_teams_ids_are_not_found"
    for entry in PROJECT_EVENTS:
        for route in entry_routes(entry):
            routes[route] = "test_another_teams_project_is_not_found_for_event_triggers"
    for entry in READS:
        routes[entry_routes(entry)[0]] = "test_reads_without_ids_never_show_another_team"
    routes[("POST", "/api/search-or-create/find_project_by_handle")] = (
        "test_search_or_create_never_returns_another_teams_record"
    )
    return routes


def no_object_routes() -> dict[tuple[str, str], str]:
    routes = dict(NO_OBJECT)
    for entry in WITHOUT_IDS + TEAM_EVENTS:
        for route in entry_routes(entry)[1:]:
            routes[route] = f"{entry.key}: its inputs name no per-team object"
        if entry.kind == "action":
            routes[entry_routes(entry)[0]] = f"{entry.key}: writes only in the caller's own team"
    return routes


def test_every_api_operation_is_covered() -> None:
    documented = {
        (method.upper(), path)
        for path, item in build_document(CATALOG)["paths"].items()
        if path.startswith("/api/")
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    }
    covered = exercised_routes().keys() | no_object_routes().keys()
    assert documented - covered == set(), "routes neither exercised nor listed as having no object"
    expected = sum(len(entry_routes(e)) for e in ENTRIES + EVENT_ENTRIES)
    assert len(documented) >= expected + len(FIXED), "the document lists every manifest route"


# --- fixed routes -------------------------------------------------------------------------------------------
def test_me_is_always_the_callers_connection(h: Harness) -> None:
    for who, other in ((h.a, h.b), (h.b, h.a)):
        me = body_of(h.call("GET", "/api/me", who))["data"]
        assert (me["id"], me["team"]["id"]) == (who.id, who.team_id)
        assert other.id not in json.dumps(me) and other.team_id not in json.dumps(me)
    third = harness_connection(h)
    assert h.call("DELETE", "/api/me", third).status_code == 200
    for who in (h.a, h.b):
        assert h.call("GET", "/api/me", who).status_code == 200, "revoking one connection touched another"


def harness_connection(h: Harness) -> Conn:
    """A third connection to team A (to revoke without disturbing the others)."""
    response = h.client.post("/api/connections", json={"token": h.a.token})
    assert response.status_code == 201
    body = body_of(response)
    return Conn(body["connection_key"], body["data"]["id"], h.a.seed)


def test_a_token_of_another_team_cannot_take_over_a_connection(h: Harness) -> None:
    with h.unchanged():
        response = h.call("PUT", "/api/me/token", h.a, json={"token": h.b.token})
        error = assert_error(response, 409, "TOKEN_TEAM_MISMATCH")
    assert error["fields"] == {"token": ["belongs to another MemberPass team"]}
    assert body_of(h.call("GET", "/api/me", h.a))["data"]["team"]["id"] == h.a.team_id


@pytest.fixture(scope="module")
def b_subscription(h: Harness) -> dict[str, Any]:
    """B's subscription with one delivery row, made dead so that a retry would be allowed for B."""
    with pytest.MonkeyPatch.context() as patch:
        real = socket.getaddrinfo
        patch.setattr(
            socket, "getaddrinfo",
            lambda host, port, *a, **k: [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 443))]
            if host == HOOK_HOST else real(host, port, *a, **k),
        )  # fmt: skip
        created = h.call(
            "POST", "/api/triggers/billing.invoice_paid/subscriptions", h.b,
            json={"target_url": f"https://{HOOK_HOST}/b"},
        )  # fmt: skip
    assert created.status_code == 201, created.get_data(as_text=True)
    sub = body_of(created)
    with h.server.sandbox.store.lock:
        h.server.sandbox.store.emit(h.b.team_id, None, "billing.invoice_paid", {"invoice": {"id": "inv_b"}})
    with h.app.app_context():
        assert run_poll(sub["id"]).enqueued == 1
    db = h.app.extensions["connector.db"]
    db.db.execute("UPDATE outbox SET status = 'dead', attempts = 8 WHERE subscription_id = ?", [sub["id"]])
    [row] = db.db.execute("SELECT id FROM outbox WHERE subscription_id = ?", [sub["id"]]).fetchall()
    return {"id": sub["id"], "delivery_id": row[0]}


def test_subscriptions_stay_with_their_connection(h: Harness, b_subscription: dict[str, Any]) -> None:
    sub_id = b_subscription["id"]
    with h.unchanged():
        listed = body_of(h.call("GET", "/api/subscriptions", h.a))["data"]
        assert sub_id not in [s["id"] for s in listed]
        for method, path in [
            ("GET", f"/api/subscriptions/{sub_id}"),
            ("GET", f"/api/subscriptions/{sub_id}/log"),
            ("DELETE", f"/api/subscriptions/{sub_id}"),
            ("POST", f"/api/subscriptions/{sub_id}/enable"),
        ]:
            error = assert_error(h.call(method, path, h.a), 404, "RESOURCE_NOT_FOUND")
            assert h.b.team_id not in json.dumps(error) and HOOK_HOST not in json.dumps(error)
    assert body_of(h.call("GET", f"/api/subscriptions/{sub_id}", h.b))["data"]["id"] == sub_id, (
        "B still has it"
    )
    assert h.call("GET", f"/api/subscriptions/{sub_id}/log", h.b).status_code == 200


def test_deliveries_stay_with_their_connection(h: Harness, b_subscription: dict[str, Any]) -> None:
    delivery_id = b_subscription["delivery_id"]
    with h.unchanged():
        everything = body_of(h.call("GET", "/api/deliveries", h.a, query_string={"limit": 100}))
        assert delivery_id not in [d["id"] for d in everything["data"]]
        filtered = body_of(
            h.call("GET", "/api/deliveries", h.a, query_string={"subscription_id": b_subscription["id"]})
        )
        assert (filtered["data"], filtered["meta"]["total"]) == ([], 0)
        for status in ("dead", "failed", "pending", "delivered"):
            rows = body_of(h.call("GET", "/api/deliveries", h.a, query_string={"status": status}))["data"]
            assert delivery_id not in [d["id"] for d in rows]
        assert_error(h.call("POST", f"/api/deliveries/{delivery_id}/retry", h.a), 404, "RESOURCE_NOT_FOUND")
    mine = body_of(
        h.call("GET", "/api/deliveries", h.b, query_string={"subscription_id": b_subscription["id"]})
    )
    assert [(d["id"], d["status"]) for d in mine["data"]] == [(delivery_id, "dead")], "B's row is untouched"


# --- manifest routes ----------------------------------------------------------------------------------------
def call_entry(h: Harness, method: str, path: str, values: dict[str, Any]) -> TestResponse:
    if path.endswith("/subscriptions"):
        body = {"target_url": f"https://{HOOK_HOST}/a", "inputs": values}
        return h.call(method, path, h.a, json=body)
    if method == "GET":
        return h.call(method, path, h.a, query_string=values)
    return h.call(method, path, h.a, json=values)


def values_for(entry: Entry, route: tuple[str, str], refs: Refs) -> dict[str, Any]:
    values = refs.resolve_all(entry.sample_input)
    if route[1].startswith("/api/search-or-create/") and entry.or_create:
        create = CATALOG.get("action", entry.or_create)
        assert create is not None
        values = {**refs.resolve_all(create.sample_input), **values}
    return values


def assert_isolated(h: Harness, entry: Entry, route: tuple[str, str], values: dict[str, Any]) -> None:
    """A's call with B's ids: 404 in the envelope, or, for a search, no match; never B's data; neither
    the connector's database nor B's upstream records changed."""
    b_before = team_snapshot(h.server, h.b.team_id)
    with h.unchanged():
        response = call_entry(h, *route, values)
        if response.status_code >= 400 or entry.kind != "search":
            assert_error(response, 404, "RESOURCE_NOT_FOUND")
        else:
            assert response.status_code in (200, 201)
    if response.status_code < 400:
        ids = [v for v in values.values() if isinstance(v, str) and v.startswith(("prj_", "pln_", "usr_"))]
        assert_no_mention(response, b_markers(h) + ids)
    assert_same_team(b_before, team_snapshot(h.server, h.b.team_id))


# find_project_by_handle's search-or-create has its own test (a handle is not a per-team id).
ID_CASES = [
    (e, r)
    for e in WITH_IDS
    for r in entry_routes(e)
    if r[1] != "/api/search-or-create/find_project_by_handle"
]
READS = [e for e in WITHOUT_IDS + TEAM_EVENTS if e.kind != "action"]


@pytest.mark.parametrize(("entry", "route"), ID_CASES, ids=[f"{m} {p}" for _, (m, p) in ID_CASES])
def test_another_teams_ids_are_not_found(
    h: Harness, refs_b: Refs, entry: Entry, route: tuple[str, str]
) -> None:
    assert_isolated(h, entry, route, values_for(entry, route, refs_b))


def test_search_or_create_never_returns_another_teams_record(h: Harness, refs_b: Refs) -> None:
    """``find_project_by_handle`` with B's handle finds nothing for A, so it tries to create A's own project
    (which MemberPass refuses: handles are unique across teams, as public page addresses); B's project is
    never answered and B's records do not change."""
    handle = refs_b.resolve("$project_handle")
    b_before = team_snapshot(h.server, h.b.team_id)
    response = h.call("POST", "/api/search-or-create/find_project_by_handle", h.a,
                      json={"handle": handle, "name": "Isolation club"})  # fmt: skip
    assert_error(response, 422, "VALIDATION_FAILED")
    assert_no_mention(response, b_markers(h))
    assert_same_team(b_before, team_snapshot(h.server, h.b.team_id))


@pytest.mark.parametrize("entry", PROJECT_EVENTS, ids=[e.key for e in PROJECT_EVENTS])
def test_another_teams_project_is_not_found_for_event_triggers(h: Harness, entry: Entry) -> None:
    values = {"project_id": h.b.project_id}
    for route in entry_routes(entry):
        assert_isolated(h, entry, route, values)


@pytest.mark.parametrize("entry", READS, ids=[e.key for e in READS])
def test_reads_without_ids_never_show_another_team(h: Harness, entry: Entry) -> None:
    method, path = entry_routes(entry)[0]
    values = {k: v for k, v in entry.sample_input.items() if not (isinstance(v, str) and v.startswith("$"))}
    response = call_entry(h, method, path, values)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert_no_mention(response, b_markers(h))
