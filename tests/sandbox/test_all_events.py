"""Every one of the 72 catalog events is produced by a REST operation, a control action or a simulation."""

from __future__ import annotations

from typing import Any

import requests

from connector.sandbox import SandboxServer
from connector.sandbox.event_catalog import EVENTS
from connector.sandbox.simulate import KINDS
from tests.helpers import Tenant, make_tenant

DAY = 86_400


def _ok(response: requests.Response) -> dict[str, Any]:
    assert response.status_code in (200, 201, 202), response.text
    return response.json() if response.content else {}


def _control(server: SandboxServer, path: str, body: dict[str, Any]) -> dict[str, Any]:
    return _ok(requests.post(server.url + "/_sandbox" + path, json=body, timeout=10))


def _project_family(server: SandboxServer, tenant: Tenant) -> None:
    """project.*, project.bot.*, project.resource.*, plan.* and access_code.* through REST and controls."""
    project = _ok(tenant.post("/projects", {"name": "Everything Club"}))["data"]
    pid = project["id"]
    _ok(tenant.send("PATCH", f"/projects/{pid}", {"name": "Everything Club II"}))
    _ok(tenant.post(f"/projects/{pid}/archive", {}))
    _ok(tenant.post(f"/projects/{pid}/restore", {}))
    for action in ("connect", "degrade", "recover"):
        _control(server, f"/projects/{pid}/bot", {"action": action})
    channel = _ok(
        tenant.post(f"/projects/{pid}/resources", {"type": "channel", "title": "News", "chat_id": -1009})
    )
    rid = channel["data"]["id"]
    _control(server, f"/projects/{pid}/resources/{rid}/link", {})
    _ok(tenant.post(f"/projects/{pid}/resources/{rid}/unlink", {}))
    spare = _ok(tenant.post(f"/projects/{pid}/resources", {"type": "manual", "title": "Perk"}))["data"]["id"]
    _ok(tenant.send("DELETE", f"/projects/{pid}/resources/{spare}"))
    plan_body = {"name": "Monthly Plan", "price": "29.00", "currency": "USD", "billing_cycle": "months"}
    plan = _ok(tenant.post(f"/projects/{pid}/plans", {**plan_body, "resources": [rid]}))["data"]
    _ok(tenant.send("PATCH", f"/projects/{pid}/plans/{plan['id']}", {"price": "31.00"}))
    _ok(tenant.post(f"/projects/{pid}/plans/{plan['id']}/unpublish", {}))
    _ok(tenant.post(f"/projects/{pid}/plans/{plan['id']}/publish", {}))
    _control(server, f"/projects/{pid}/payment-methods", {"provider": "stripe"})
    _control(server, f"/projects/{pid}/plans/{plan['id']}/sync", {"provider": "stripe"})
    codes = f"/projects/{pid}/plans/{plan['id']}/access-codes/bulk-generate"
    _ok(tenant.post(codes, {"quantity": 2, "expiry_preset": "1_day"}))
    doomed = _ok(
        tenant.post(f"/projects/{pid}/plans", {**plan_body, "name": "Doomed Plan", "resources": [rid]})
    )
    _ok(tenant.send("DELETE", f"/projects/{pid}/plans/{doomed['data']['id']}"))
    _control(server, f"/projects/{pid}/bot", {"action": "disconnect"})
    throwaway = _ok(tenant.post("/projects", {"name": "Short Lived Club"}))["data"]["id"]
    _ok(tenant.send("DELETE", f"/projects/{throwaway}"))


def _advance(server: SandboxServer, seconds: float) -> None:
    _control(server, "/clock", {"advance_seconds": seconds})
    server.sandbox.store.scheduler.run_due()


def test_every_catalog_event_can_be_produced(fresh_sandbox: SandboxServer) -> None:
    tenant = make_tenant(fresh_sandbox)
    _project_family(fresh_sandbox, tenant)
    _advance(fresh_sandbox, 2)  # the bulk-generation job completes: access_code.generated
    _advance(fresh_sandbox, 2 * DAY)  # the unredeemed codes pass their expiry: access_code.expired
    invitee = {"email": "helper@example.com", "role_id": None}
    simulated = requests.post(
        fresh_sandbox.url + "/_sandbox/simulate",
        json={"team_id": tenant.team["id"], "count": len(KINDS) * 12},  # team_change rotates through 12 steps
        timeout=30,
    )
    assert simulated.status_code == 200
    # Three failed charges in a row on one subscription (a project of its own): subscription.unpaid.
    retried = _ok(tenant.post("/projects", {"name": "Retry Club"}))["data"]["id"]
    body = {"team_id": tenant.team["id"], "project_id": retried, "count": 3, "kinds": ["payment_failed"]}
    _control(fresh_sandbox, "/simulate", body)
    role_id = fresh_sandbox.sandbox.store.rows("roles", lambda r: r["_team"] == tenant.team["id"])[0]["id"]
    _ok(tenant.post(f"/teams/{tenant.team['id']}/members", {**invitee, "role_id": role_id}))

    produced = {
        e["type"]
        for e in fresh_sandbox.sandbox.store.rows("events", lambda e: e["_team"] == tenant.team["id"])
    }
    assert produced - set(EVENTS) == set()
    assert set(EVENTS) - produced == set()
    assert len(produced) == 72
