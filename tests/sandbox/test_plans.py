"""Plans (endpoints.md §3) in the REST vocabulary, with plan events in the event vocabulary (C17, C19)."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from connector.sandbox import SandboxServer
from connector.sandbox.routes.access_codes import generate_codes
from connector.sandbox.routes.currencies import currency_by_code
from connector.sandbox.routes.payment_methods import add_payment_method
from connector.sandbox.routes.plans import create_plan, event_billing_cycle
from connector.sandbox.routes.projects import create_project
from connector.sandbox.routes.resources import create_resource
from tests.helpers import Tenant, make_tenant, token_for


def setup(tenant: Tenant) -> tuple[dict[str, Any], dict[str, Any]]:
    """A project with one manual resource."""
    store, team_id = tenant.server.sandbox.store, tenant.team["id"]
    project = create_project(store, team_id, {"name": "Plans project"})
    resource = create_resource(store, team_id, project, {"type": "manual", "title": "Course"})
    return project, resource


def plan_body(resource: dict[str, Any], **over: Any) -> dict[str, Any]:
    body = {
        "name": "Pro Monthly",
        "price": 29,
        "currency": "USD",
        "billing_cycle": "months",
        "billing_cycle_count": 1,
        "resources": [resource["id"]],
    }
    return {**body, **over}


def events(server: SandboxServer, project_id: str, prefix: str = "plan.") -> list[dict[str, Any]]:
    rows = server.sandbox.store.rows(
        "events", lambda e: e["project_id"] == project_id and e["type"].startswith(prefix)
    )
    return list(reversed(rows))


def test_create_plan_rest_shape_and_plan_created_event(sandbox_server: SandboxServer) -> None:
    tenant = make_tenant(sandbox_server)
    project, resource = setup(tenant)
    body = plan_body(resource, trial_days=7, description="All signals", newcomers_only=True)
    response = tenant.post(f"/projects/{project['id']}/plans", body)
    assert response.status_code == 201, response.text
    plan = response.json()["data"]
    usd = currency_by_code(sandbox_server.sandbox.store, "USD")
    assert usd is not None
    assert plan["id"].startswith("pln_")
    assert {k: plan[k] for k in ("price", "currency", "currency_id", "billing_cycle", "recurring")} == {
        "price": "29.00",
        "currency": "USD",
        "currency_id": usd["id"],
        "billing_cycle": "months",
        "recurring": True,
    }
    assert plan["resources"] == [resource["id"]] and plan["active"] is True
    assert (plan["newcomers_only"], plan["customers_only"], plan["churned_only"]) == (True, False, False)
    assert {"trial_cardless", "billing_cycle_count", "created_at", "updated_at", "project_id"} <= set(plan)
    [event] = events(sandbox_server, project["id"])
    assert event["type"] == "plan.created"
    assert event["data"] == {
        "plan": {
            "id": plan["id"],
            "name": "Pro Monthly",
            "price": 29.0,
            "currency": "USD",
            "billing_cycle": "monthly",
            "trial_days": 7,
            "active": True,
        }
    }


def test_currency_by_id_string_price_and_currency_errors(sandbox_server: SandboxServer) -> None:
    tenant = make_tenant(sandbox_server)
    project, resource = setup(tenant)
    eur = currency_by_code(sandbox_server.sandbox.store, "eur")
    assert eur is not None and eur["id"].startswith("cur_")
    path = f"/projects/{project['id']}/plans"
    body = plan_body(resource, currency=None, currency_id=eur["id"], price="12.5")
    plan = tenant.post(path, body).json()["data"]
    assert (plan["currency"], plan["price"]) == ("EUR", "12.50")
    cases = {
        "currency": plan_body(resource, name="Bad code", currency="XYZ"),
        "currency_id": plan_body(resource, name="Bad id", currency=None, currency_id="cur_nope"),
    }
    for field, bad in cases.items():
        assert set(tenant.post(path, bad).json()["error"]["fields"]) == {field}
    mismatch = tenant.post(path, plan_body(resource, name="Other plan", currency_id=eur["id"]))
    assert mismatch.json()["error"]["fields"] == {"currency": ["The currency does not match currency_id."]}


def test_create_plan_validation_names_each_field(sandbox_server: SandboxServer) -> None:
    tenant = make_tenant(sandbox_server)
    project, resource = setup(tenant)
    path = f"/projects/{project['id']}/plans"
    empty = tenant.post(path, {})
    assert empty.status_code == 422
    assert set(empty.json()["error"]["fields"]) == {"name", "price", "billing_cycle", "resources"}
    cases = {
        "billing_cycle_count": plan_body(resource, billing_cycle="lifetime", billing_cycle_count=2),
        "recurring": plan_body(resource, billing_cycle="lifetime", recurring=True),
        "price": plan_body(resource, price=-1),
        "trial_days": plan_body(resource, trial_days=366),
        "billing_cycle": plan_body(resource, billing_cycle="monthly"),
        "resources": plan_body(resource, resources=[]),
        "name": plan_body(resource, name="Pro"),
    }
    for field, body in cases.items():
        response = tenant.post(path, body)
        assert response.status_code == 422, field
        assert set(response.json()["error"]["fields"]) == {field}, field
    assert set(tenant.post(path, plan_body(resource, price="9.999")).json()["error"]["fields"]) == {"price"}
    assert set(tenant.post(path, plan_body(resource, currency=None)).json()["error"]["fields"]) == {
        "currency_id"
    }


def test_eligibility_flags_are_mutually_exclusive(sandbox_server: SandboxServer) -> None:
    tenant = make_tenant(sandbox_server)
    project, resource = setup(tenant)
    body = plan_body(resource, newcomers_only=True, churned_only=True)
    fields = tenant.post(f"/projects/{project['id']}/plans", body).json()["error"]["fields"]
    assert set(fields) == {"newcomers_only", "churned_only"}
    assert "mutually exclusive" in fields["churned_only"][0]


def test_resources_must_belong_to_the_project(sandbox_server: SandboxServer) -> None:
    tenant = make_tenant(sandbox_server)
    project, resource = setup(tenant)
    _, elsewhere = setup(tenant)
    body = plan_body(resource, resources=[resource["id"], elsewhere["id"]])
    response = tenant.post(f"/projects/{project['id']}/plans", body)
    assert response.json()["error"]["fields"] == {"resources": ["The selected resources.1 is invalid."]}


def test_name_is_unique_per_project(sandbox_server: SandboxServer) -> None:
    tenant = make_tenant(sandbox_server)
    project, resource = setup(tenant)
    other, other_resource = setup(tenant)
    assert tenant.post(f"/projects/{project['id']}/plans", plan_body(resource)).status_code == 201
    dup = tenant.post(f"/projects/{project['id']}/plans", plan_body(resource, name="PRO MONTHLY"))
    assert dup.status_code == 422 and set(dup.json()["error"]["fields"]) == {"name"}
    assert tenant.post(f"/projects/{other['id']}/plans", plan_body(other_resource)).status_code == 201


def test_list_newest_first_both_meta_styles_and_name_filter(sandbox_server: SandboxServer) -> None:
    tenant = make_tenant(sandbox_server)
    project, resource = setup(tenant)
    path = f"/projects/{project['id']}/plans"
    ids = [
        tenant.post(path, plan_body(resource, name=f"Plan number {i}")).json()["data"]["id"] for i in range(3)
    ]
    page = tenant.get(path, params={"limit": 2}).json()
    assert [p["id"] for p in page["data"]] == [ids[2], ids[1]]
    assert (page["meta"]["total"], page["meta"]["has_more"], page["meta"]["last_page"]) == (3, True, 2)
    second = tenant.get(path, params={"per_page": 2, "page": 2}).json()
    assert [p["id"] for p in second["data"]] == [ids[0]] and second["meta"]["current_page"] == 2
    found = tenant.get(path, params={"name": "plan NUMBER 1"}).json()["data"]
    assert [p["id"] for p in found] == [ids[1]] and found[0]["price"] == "29.00"


def test_plan_tenancy_and_abilities(sandbox_server: SandboxServer) -> None:
    tenant, other = make_tenant(sandbox_server), make_tenant(sandbox_server)
    project, resource = setup(tenant)
    second, _ = setup(tenant)
    foreign_project, foreign_resource = setup(other)
    store = sandbox_server.sandbox.store
    fields = plan_body(foreign_resource)
    foreign = create_plan(store, other.team["id"], foreign_project, fields)
    assert tenant.get(f"/projects/{foreign_project['id']}/plans/{foreign['id']}").status_code == 404
    assert tenant.get(f"/projects/{project['id']}/plans/{foreign['id']}").status_code == 404
    mine = create_plan(store, tenant.team["id"], project, plan_body(resource))
    assert tenant.get(f"/projects/{second['id']}/plans/{mine['id']}").status_code == 404
    scoped = token_for(tenant, project_ids=[second["id"]])
    assert scoped.get(f"/projects/{project['id']}/plans").status_code == 404
    reader = token_for(tenant, abilities=["project-subscription-plan:view-any"])
    denied = reader.post(f"/projects/{project['id']}/plans", {})
    assert denied.status_code == 403
    assert denied.json()["error"]["context"] == {"required_ability": "project-subscription-plan:create"}


def test_patch_emits_plan_updated_with_changes(sandbox_server: SandboxServer) -> None:
    tenant = make_tenant(sandbox_server)
    project, resource = setup(tenant)
    plan = create_plan(sandbox_server.sandbox.store, tenant.team["id"], project, plan_body(resource))
    path = f"/projects/{project['id']}/plans/{plan['id']}"
    response = tenant.send("PATCH", path, {"price": "39", "trial_days": 3})
    assert response.status_code == 200
    assert (response.json()["data"]["price"], response.json()["data"]["trial_days"]) == ("39.00", 3)
    [event] = events(sandbox_server, project["id"], "plan.updated")
    assert event["data"]["changes"] == {
        "price": {"from": 29.0, "to": 39.0},
        "trial_days": {"from": 0, "to": 3},
    }
    assert event["data"]["plan"]["price"] == 39.0
    bad = tenant.send("PATCH", path, {"billing_cycle": "lifetime", "billing_cycle_count": 3})
    assert set(bad.json()["error"]["fields"]) == {"billing_cycle_count"}
    lifetime = tenant.send("PATCH", path, {"billing_cycle": "lifetime"}).json()["data"]
    assert lifetime["recurring"] is False
    assert (
        events(sandbox_server, project["id"], "plan.updated")[-1]["data"]["plan"]["billing_cycle"]
        == "lifetime"
    )


def test_publish_unpublish_emit_only_on_change(sandbox_server: SandboxServer) -> None:
    tenant = make_tenant(sandbox_server)
    project, resource = setup(tenant)
    fields = plan_body(resource, active=False)
    plan = create_plan(sandbox_server.sandbox.store, tenant.team["id"], project, fields)
    path = f"/projects/{project['id']}/plans/{plan['id']}"
    assert tenant.post(path + "/publish").json() == {"data": {"id": plan["id"], "active": True}}
    assert tenant.post(path + "/publish").json() == {"data": {"id": plan["id"], "active": True}}
    assert tenant.post(path + "/unpublish").json() == {"data": {"id": plan["id"], "active": False}}
    got = [(e["type"], e["data"]["plan"]["active"]) for e in events(sandbox_server, project["id"])]
    assert got == [("plan.created", False), ("plan.activated", True), ("plan.deactivated", False)]


def test_delete_plan_removes_its_codes(sandbox_server: SandboxServer) -> None:
    tenant = make_tenant(sandbox_server)
    project, resource = setup(tenant)
    store = sandbox_server.sandbox.store
    plan = create_plan(store, tenant.team["id"], project, plan_body(resource))
    _, codes = generate_codes(store, tenant.team["id"], plan, 2, None)
    path = f"/projects/{project['id']}/plans/{plan['id']}"
    assert tenant.send("DELETE", path).json() == {"data": {"id": plan["id"], "deleted": True}}
    assert tenant.get(path).status_code == 404
    assert all(store.get("access_codes", c["id"]) is None for c in codes)
    assert events(sandbox_server, project["id"])[-1]["type"] == "plan.deleted"


def test_sync_control_emits_sync_completed(sandbox_server: SandboxServer) -> None:
    tenant = make_tenant(sandbox_server)
    project, resource = setup(tenant)
    store = sandbox_server.sandbox.store
    plan = create_plan(store, tenant.team["id"], project, plan_body(resource))
    url = f"{sandbox_server.url}/_sandbox/projects/{project['id']}/plans/{plan['id']}/sync"
    missing = requests.post(url, json={"provider": "stripe"}, timeout=5)
    assert missing.status_code == 422 and set(missing.json()["error"]["fields"]) == {"provider"}
    assert requests.post(url, json={"provider": "skrill"}, timeout=5).status_code == 422
    add_payment_method(store, tenant.team["id"], project["id"], "stripe")
    assert requests.post(url, json={"provider": "stripe"}, timeout=5).status_code == 200
    event = events(sandbox_server, project["id"])[-1]
    assert event["type"] == "plan.sync_completed"
    assert event["data"]["provider"] == "stripe" and event["data"]["plan"]["id"] == plan["id"]


@pytest.mark.parametrize(
    ("cycle", "count", "expected"),
    [
        ("days", 7, "weekly"),
        ("weeks", 3, "weekly"),
        ("weeks", 4, "monthly"),
        ("days", 30, "monthly"),
        ("months", 2, "monthly"),
        ("months", 3, "quarterly"),
        ("days", 90, "quarterly"),
        ("months", 6, "quarterly"),
        ("months", 12, "yearly"),
        ("days", 365, "yearly"),
        ("years", 1, "yearly"),
        ("lifetime", 1, "lifetime"),
    ],
)
def test_event_billing_cycle_mapping(cycle: str, count: int, expected: str) -> None:
    assert event_billing_cycle(cycle, count) == expected
