"""Access codes (endpoints.md §3): async bulk generation, masking, status filter, preview, revoke, expiry."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests

from connector.sandbox import SandboxServer, SandboxSettings
from connector.sandbox.routes.access_codes import expire_due_codes, generate_codes, redeem_code
from connector.sandbox.routes.plans import create_plan
from connector.sandbox.routes.projects import create_project
from connector.sandbox.routes.resources import create_resource
from connector.sandbox.timeutil import iso, parse_iso
from tests.helpers import Tenant, make_tenant, token_for

MASKED = re.compile(r"^[A-Z0-9]{4}\*{4}[A-Z0-9]{4}$")


def setup(tenant: Tenant) -> tuple[dict[str, Any], dict[str, Any]]:
    """A project with a plan; returns (project, plan)."""
    store, team_id = tenant.server.sandbox.store, tenant.team["id"]
    project = create_project(store, team_id, {"name": "Codes project"})
    resource = create_resource(store, team_id, project, {"type": "manual", "title": "Perk"})
    fields = {"name": "Code plan", "price": 0, "currency": "USD", "billing_cycle": "months"}
    return project, create_plan(store, team_id, project, {**fields, "resources": [resource["id"]]})


def root(project: dict[str, Any], plan: dict[str, Any]) -> str:
    return f"/projects/{project['id']}/plans/{plan['id']}/access-codes"


def code_events(server: SandboxServer, project_id: str, kind: str) -> list[dict[str, Any]]:
    rows = server.sandbox.store.rows(
        "events", lambda e: e["project_id"] == project_id and e["type"] == f"access_code.{kind}"
    )
    return list(reversed(rows))


def advance(server: SandboxServer, seconds: float) -> None:
    response = requests.post(f"{server.url}/_sandbox/clock", json={"advance_seconds": seconds}, timeout=5)
    assert response.status_code == 200


def wait_for(predicate: Callable[[], bool], timeout: float = 3.0) -> None:
    """The scheduler thread runs due work within a tick; wait for its effect, briefly."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "scheduled work did not run"
        time.sleep(0.01)


SLOW_JOBS = [SandboxSettings(job_delay=60)]  # nothing completes until the test advances the clock


@pytest.mark.parametrize("fresh_sandbox", SLOW_JOBS, indirect=True)
def test_bulk_generate_is_async_and_emits_one_generated_event(fresh_sandbox: SandboxServer) -> None:
    sandbox_server = fresh_sandbox
    tenant = make_tenant(sandbox_server)
    project, plan = setup(tenant)
    body = {"quantity": 3, "export_type": "messages", "expiry_preset": "1_week"}
    response = tenant.post(root(project, plan) + "/bulk-generate", body)
    assert response.status_code == 202, response.text
    job = response.json()["data"]
    assert job["job_id"].startswith("mjb_") and job["batch_id"].startswith("btc_")
    assert (job["status"], job["quantity"], job["export_type"]) == ("queued", 3, "messages")
    assert parse_iso(job["expires_at"]) - parse_iso(job["enqueued_at"]) == pytest.approx(7 * 86400, abs=1)
    assert job["preview"]["quantity"] == 3 and job["preview"]["cost"] == "0.00"
    advance(sandbox_server, 30)
    time.sleep(0.1)
    assert code_events(sandbox_server, project["id"], "generated") == []
    advance(sandbox_server, 30)
    wait_for(lambda: bool(code_events(sandbox_server, project["id"], "generated")))
    [event] = code_events(sandbox_server, project["id"], "generated")
    assert event["data"] == {
        "batch_id": job["batch_id"],
        "plan_id": plan["id"],
        "count": 3,
        "expires_at": job["expires_at"],
    }
    listed = tenant.get(root(project, plan)).json()
    assert [c["batch_id"] for c in listed["data"]] == [job["batch_id"]] * 3
    assert sandbox_server.sandbox.store.get("jobs", job["job_id"])["status"] == "completed"


def test_bulk_generate_validation_and_expiry_inputs(sandbox_server: SandboxServer) -> None:
    tenant = make_tenant(sandbox_server)
    project, plan = setup(tenant)
    path = root(project, plan) + "/bulk-generate"
    for quantity in (0, 1001, "ten", None):
        response = tenant.post(path, {"quantity": quantity})
        assert response.status_code == 422 and set(response.json()["error"]["fields"]) == {"quantity"}
    bad = tenant.post(path, {"quantity": 1, "export_type": "email", "expiry_preset": "2_days"})
    assert set(bad.json()["error"]["fields"]) == {"export_type", "expiry_preset"}
    custom = tenant.post(path, {"quantity": 1, "expiry_preset": "custom"})
    assert set(custom.json()["error"]["fields"]) == {"custom_expiry_amount", "custom_expiry_type"}
    both = tenant.post(path, {"quantity": 1, "expiry_preset": "1_day", "expires_in_days": 3})
    assert set(both.json()["error"]["fields"]) == {"expires_in_days"}
    weeks = tenant.post(
        path,
        {"quantity": 1, "expiry_preset": "custom", "custom_expiry_amount": 2, "custom_expiry_type": "weeks"},
    ).json()["data"]
    assert parse_iso(weeks["expires_at"]) - parse_iso(weeks["enqueued_at"]) == pytest.approx(
        14 * 86400, abs=1
    )
    n8n = tenant.post(path, {"quantity": 1, "expires_in_days": 10}).json()["data"]
    assert parse_iso(n8n["expires_at"]) - parse_iso(n8n["enqueued_at"]) == pytest.approx(10 * 86400, abs=1)
    assert tenant.post(path, {"quantity": 1}).json()["data"]["expires_at"] is None


def test_list_masks_codes_and_filters_by_status(sandbox_server: SandboxServer) -> None:
    tenant = make_tenant(sandbox_server)
    project, plan = setup(tenant)
    store = sandbox_server.sandbox.store
    _, codes = generate_codes(store, tenant.team["id"], plan, 4, None)
    redeem_code(store, codes[0], "usr_member")
    response = tenant.get(root(project, plan), params={"limit": 3})
    assert all(c["_code"] not in response.text for c in codes)
    page = response.json()
    assert [c["id"] for c in page["data"]] == [c["id"] for c in reversed(codes)][:3]
    assert (page["meta"]["status"], page["meta"]["total"], page["meta"]["has_more"]) == ("all", 4, True)
    for item in page["data"]:
        assert MASKED.match(item["code_masked"]) and "code" not in item and "_code" not in item
    source = {c["id"]: c["_code"] for c in codes}
    first = page["data"][0]
    assert (
        first["code_masked"][:4] == source[first["id"]][:4]
        and first["code_masked"][-4:] == source[first["id"]][-4:]
    )
    redeemed = tenant.get(root(project, plan), params={"status": "redeemed"}).json()
    assert [c["id"] for c in redeemed["data"]] == [codes[0]["id"]] and redeemed["meta"][
        "status"
    ] == "redeemed"
    assert redeemed["data"][0]["redeemed_by"] == "usr_member" and redeemed["data"][0]["redeemed_at"]
    unredeemed = tenant.get(root(project, plan), params={"status": "unredeemed", "per_page": 10}).json()
    assert unredeemed["meta"]["total"] == 3 and unredeemed["meta"]["per_page"] == 10
    assert tenant.get(root(project, plan), params={"status": "active"}).status_code == 422


def test_preview_reflects_the_tier_quota(sandbox_server: SandboxServer) -> None:
    tenant = make_tenant(sandbox_server, tier="free")
    project, plan = setup(tenant)
    store = sandbox_server.sandbox.store
    _, codes = generate_codes(store, tenant.team["id"], plan, 2, None)
    for code in codes:
        redeem_code(store, code, "usr_someone")
    preview = tenant.get(root(project, plan) + "/preview", params={"quantity": 10}).json()["data"]
    assert preview == {
        "quantity": 10,
        "tier": "free",
        "quota": 5,
        "quota_used": 2,
        "quota_remaining": 3,
        "quota_after": 0,
        "over_quota": 7,
        "cost": "0.00",
    }
    growth = make_tenant(sandbox_server)
    gp, gplan = setup(growth)
    assert growth.get(root(gp, gplan) + "/preview", params={"quantity": 1}).json()["data"]["quota"] == 500
    assert set(tenant.get(root(project, plan) + "/preview").json()["error"]["fields"]) == {"quantity"}
    viewer = token_for(tenant, abilities=["project-access-code:view-any"])
    denied = viewer.get(root(project, plan) + "/preview", params={"quantity": 1})
    assert denied.json()["error"]["context"] == {"required_ability": "project-access-code:create"}


def test_revoke_one_code_and_tenancy(sandbox_server: SandboxServer) -> None:
    tenant, other = make_tenant(sandbox_server), make_tenant(sandbox_server)
    project, plan = setup(tenant)
    store = sandbox_server.sandbox.store
    _, codes = generate_codes(store, tenant.team["id"], plan, 2, None)
    path = root(project, plan) + f"/{codes[0]['id']}"
    assert tenant.send("DELETE", path).json() == {"data": {"id": codes[0]["id"], "deleted": True}}
    assert [c["id"] for c in tenant.get(root(project, plan)).json()["data"]] == [codes[1]["id"]]
    assert tenant.send("DELETE", path).status_code == 404
    assert other.send("DELETE", root(project, plan) + f"/{codes[1]['id']}").status_code == 404
    assert other.get(root(project, plan)).status_code == 404
    _, second_plan = setup(tenant)
    assert tenant.send("DELETE", root(project, second_plan) + f"/{codes[1]['id']}").status_code == 404


@pytest.mark.parametrize("fresh_sandbox", SLOW_JOBS, indirect=True)
def test_job_for_a_deleted_plan_emits_nothing(fresh_sandbox: SandboxServer) -> None:
    sandbox_server = fresh_sandbox
    tenant = make_tenant(sandbox_server)
    project, plan = setup(tenant)
    job = tenant.post(root(project, plan) + "/bulk-generate", {"quantity": 2}).json()["data"]
    assert tenant.send("DELETE", f"/projects/{project['id']}/plans/{plan['id']}").status_code == 200
    advance(sandbox_server, 60)
    store = sandbox_server.sandbox.store
    wait_for(lambda: store.get("jobs", job["job_id"])["status"] != "queued")
    assert store.get("jobs", job["job_id"])["status"] == "failed"
    assert code_events(sandbox_server, project["id"], "generated") == []


def test_codes_expire_once_with_masked_code(fresh_sandbox: SandboxServer) -> None:
    tenant = make_tenant(fresh_sandbox)
    project, plan = setup(tenant)
    store = fresh_sandbox.sandbox.store
    expires_at = iso(store.clock.now() + 86400)
    _, codes = generate_codes(store, tenant.team["id"], plan, 2, expires_at)
    _, lasting = generate_codes(store, tenant.team["id"], plan, 1, None)
    redeem_code(store, codes[1], "usr_early")
    assert expire_due_codes(store) == []
    advance(fresh_sandbox, 2 * 86400)
    wait_for(lambda: bool(code_events(fresh_sandbox, project["id"], "expired")))
    assert expire_due_codes(store) == []
    [event] = code_events(fresh_sandbox, project["id"], "expired")
    plaintext = codes[0]["_code"]
    assert event["data"] == {
        "subscription_id": None,
        "plan_id": plan["id"],
        "access_code": "*" * (len(plaintext) - 5) + plaintext[-5:],
        "expires_at": expires_at,
    }
    expired = tenant.get(root(project, plan), params={"status": "expired"}).json()["data"]
    assert [c["id"] for c in expired] == [codes[0]["id"]]
    assert lasting[0]["id"] in {c["id"] for c in tenant.get(root(project, plan)).json()["data"]}
