"""The event feed `GET /v1/webhook-events` (C12) over HTTP: filters, keyset paging, tenancy, retention."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from connector.sandbox import SandboxServer, SandboxSettings
from connector.sandbox.abilities import ALL_ABILITIES
from tests.helpers import Tenant, make_tenant, token_for
from tests.sandbox.webhook_support import add_project


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    with SandboxServer(SandboxSettings()) as sandbox:
        yield sandbox


@pytest.fixture
def tenant(server: SandboxServer) -> Tenant:
    return make_tenant(server)


def emit(tenant: Tenant, project_id: str | None, event_type: str, **data: object) -> dict:
    return tenant.server.sandbox.store.emit(tenant.team["id"], project_id, event_type, dict(data))


def ids(response: requests.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [e["id"] for e in response.json()["data"]]


def test_items_are_the_envelopes_newest_first(tenant: Tenant) -> None:
    project_id = add_project(tenant)
    first = emit(tenant, project_id, "plan.created", plan={"id": "pln_1", "price": 29.0})
    second = emit(tenant, None, "team.created")
    body = tenant.get("/webhook-events").json()
    assert [e["id"] for e in body["data"]] == [second["id"], first["id"]]
    assert body["data"][1] == {
        "id": first["id"],
        "type": "plan.created",
        "created_at": first["created_at"],
        "api_version": "2026-05-01",
        "project_id": project_id,
        "data": {"plan": {"id": "pln_1", "price": 29.0}},
    }
    assert body["meta"]["next_cursor"] is None


def test_type_filter_repeated_or_comma_separated(tenant: Tenant) -> None:
    project_id = add_project(tenant)
    joined = emit(tenant, project_id, "member.joined")
    created = emit(tenant, project_id, "subscription.created")
    emit(tenant, project_id, "payment.succeeded")
    expected = [created["id"], joined["id"]]
    assert ids(tenant.get("/webhook-events?type=member.joined&type=subscription.created")) == expected
    assert ids(tenant.get("/webhook-events?type=member.joined,%20subscription.created")) == expected
    assert ids(tenant.get("/webhook-events", params={"type": "member.joined"})) == [joined["id"]]

    unknown = tenant.get("/webhook-events?type=member.joined,member.exploded")
    assert unknown.status_code == 422
    assert "member.exploded" in unknown.json()["error"]["fields"]["type"][0]


def test_project_filter_and_other_teams_projects(tenant: Tenant, server: SandboxServer) -> None:
    alpha, beta = add_project(tenant), add_project(tenant)
    in_alpha = emit(tenant, alpha, "member.joined")
    emit(tenant, beta, "member.joined")
    emit(tenant, None, "team.created")
    assert ids(tenant.get(f"/webhook-events?project_id={alpha}")) == [in_alpha["id"]]
    stranger_project = add_project(make_tenant(server))
    assert tenant.get(f"/webhook-events?project_id={stranger_project}").status_code == 404


def test_cursor_paging_walks_every_event_once_then_stops(tenant: Tenant) -> None:
    emitted = [emit(tenant, None, "role.created", n=n)["id"] for n in range(5)]
    seen: list[str] = []
    pages = 0
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        body = tenant.get("/webhook-events", params=params).json()
        seen += [e["id"] for e in body["data"]]
        pages += 1
        cursor = body["meta"]["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(emitted))
    assert pages == 3
    assert tenant.get("/webhook-events?limit=201").status_code == 422
    assert tenant.get("/webhook-events?cursor=garbage!").status_code == 422


def test_other_teams_events_are_invisible(tenant: Tenant, server: SandboxServer) -> None:
    stranger = make_tenant(server)
    emit(stranger, None, "team.created")
    mine = emit(tenant, None, "team.created")
    assert ids(tenant.get("/webhook-events")) == [mine["id"]]


def test_project_scoped_token_sees_only_its_projects_events(tenant: Tenant) -> None:
    mine, other = add_project(tenant), add_project(tenant)
    own = emit(tenant, mine, "member.joined")
    emit(tenant, other, "member.joined")
    emit(tenant, None, "team.member.joined")  # team-level: hidden from project-scoped tokens
    scoped = token_for(tenant, project_ids=[mine])
    assert ids(scoped.get("/webhook-events")) == [own["id"]]
    assert ids(scoped.get(f"/webhook-events?project_id={mine}")) == [own["id"]]
    assert scoped.get(f"/webhook-events?project_id={other}").status_code == 404
    assert len(ids(tenant.get("/webhook-events"))) == 3


def test_events_the_token_could_not_subscribe_to_are_left_out(tenant: Tenant) -> None:
    emit(tenant, None, "billing.invoice_paid")
    visible = emit(tenant, None, "team.created")
    narrow = token_for(tenant, [a for a in ALL_ABILITIES if a != "billing:read"])
    assert ids(narrow.get("/webhook-events")) == [visible["id"]]
    refused = narrow.get("/webhook-events?type=billing.invoice_paid")
    assert refused.status_code == 403
    assert refused.json()["error"]["context"]["required_ability"] == "billing:read"


def test_events_are_kept_thirty_days_of_sandbox_time(fresh_sandbox: SandboxServer) -> None:
    tenant = make_tenant(fresh_sandbox)
    old = emit(tenant, None, "team.created")
    advance = requests.post(
        fresh_sandbox.url + "/_sandbox/clock", json={"advance_seconds": 29 * 86_400}, timeout=5
    )
    assert advance.status_code == 200
    recent = emit(tenant, None, "team.deleted")
    assert ids(tenant.get("/webhook-events")) == [recent["id"], old["id"]]
    requests.post(fresh_sandbox.url + "/_sandbox/clock", json={"advance_seconds": 2 * 86_400}, timeout=5)
    assert ids(tenant.get("/webhook-events")) == [recent["id"]]
