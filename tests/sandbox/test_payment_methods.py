"""Payment methods (endpoints.md §4): read-only listing without secrets; connected through the controls."""

from __future__ import annotations

from typing import Any

import requests

from connector.sandbox import SandboxServer
from connector.sandbox.routes.payment_methods import add_payment_method
from connector.sandbox.routes.projects import create_project
from tests.helpers import Tenant, make_tenant, token_for


def new_project(tenant: Tenant) -> dict[str, Any]:
    return create_project(tenant.server.sandbox.store, tenant.team["id"], {"name": "Payments project"})


def connect(server: SandboxServer, project_id: str, **body: Any) -> requests.Response:
    return requests.post(f"{server.url}/_sandbox/projects/{project_id}/payment-methods", json=body, timeout=5)


def test_list_is_newest_first_without_secrets_and_filters_active(sandbox_server: SandboxServer) -> None:
    tenant = make_tenant(sandbox_server)
    pid = new_project(tenant)["id"]
    stripe = connect(sandbox_server, pid, provider="stripe", mode="live").json()["data"]
    paypal = connect(sandbox_server, pid, provider="paypal", active=False).json()["data"]
    stars = connect(sandbox_server, pid, provider="telegram_stars").json()["data"]
    assert stripe["id"].startswith("pmt_") and (stars["mode"], paypal["mode"]) == ("live", "test")
    response = tenant.get(f"/projects/{pid}/payment-methods")
    body = response.json()
    assert [m["id"] for m in body["data"]] == [stars["id"], paypal["id"], stripe["id"]]
    assert body["meta"] == {"project_id": pid, "total": 3}
    assert set(body["data"][0]) == {
        "id",
        "project_id",
        "provider",
        "mode",
        "active",
        "created_at",
        "updated_at",
    }
    secrets = [m["_credentials"]["secret_key"] for m in sandbox_server.sandbox.store.rows("payment_methods")]
    assert not any(secret in response.text for secret in secrets)
    active = tenant.get(f"/projects/{pid}/payment-methods", params={"active_only": "true"}).json()
    assert [m["provider"] for m in active["data"]] == ["telegram_stars", "stripe"]
    assert active["meta"]["total"] == 2
    assert tenant.get(f"/projects/{pid}/payment-methods", params={"active_only": "maybe"}).status_code == 422


def test_get_one_and_tenancy(sandbox_server: SandboxServer) -> None:
    tenant, other = make_tenant(sandbox_server), make_tenant(sandbox_server)
    project, second = new_project(tenant), new_project(tenant)
    method = add_payment_method(sandbox_server.sandbox.store, tenant.team["id"], project["id"], "razorpay")
    path = f"/projects/{project['id']}/payment-methods/{method['id']}"
    data = tenant.get(path).json()["data"]
    assert (data["id"], data["provider"], data["mode"], data["active"]) == (
        method["id"],
        "razorpay",
        "test",
        True,
    )
    assert "_credentials" not in data
    assert other.get(path).status_code == 404
    assert tenant.get(f"/projects/{second['id']}/payment-methods/{method['id']}").status_code == 404
    scoped = token_for(tenant, project_ids=[second["id"]])
    assert scoped.get(path).status_code == 404
    assert scoped.get(f"/projects/{project['id']}/payment-methods").status_code == 404


def test_control_route_validates_provider_and_mode(sandbox_server: SandboxServer) -> None:
    tenant = make_tenant(sandbox_server)
    pid = new_project(tenant)["id"]
    unknown = connect(sandbox_server, pid, provider="payhere")
    assert unknown.status_code == 422 and set(unknown.json()["error"]["fields"]) == {"provider"}
    live_only = connect(sandbox_server, pid, provider="access_codes", mode="test")
    assert live_only.status_code == 422 and set(live_only.json()["error"]["fields"]) == {"mode"}
    assert connect(sandbox_server, "prj_missing", provider="stripe").status_code == 404
    assert tenant.get(f"/projects/{pid}/payment-methods").json()["meta"]["total"] == 0


def test_payment_method_abilities(sandbox_server: SandboxServer) -> None:
    tenant = make_tenant(sandbox_server, abilities=["project-payment-method:view"])
    pid = new_project(tenant)["id"]
    denied = tenant.get(f"/projects/{pid}/payment-methods")
    assert denied.status_code == 403
    assert denied.json()["error"]["context"] == {"required_ability": "project-payment-method:view-any"}
    viewer = token_for(tenant, abilities=["project-payment-method:view-any"])
    one = viewer.get(f"/projects/{pid}/payment-methods/pmt_x")
    assert one.json()["error"]["context"] == {"required_ability": "project-payment-method:view"}
