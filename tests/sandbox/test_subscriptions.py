"""Subscriptions (endpoints.md §5): team-wide list and filters, one subscription, asynchronous cancel."""

from __future__ import annotations

import requests

from connector.sandbox import SandboxServer
from tests.helpers import make_tenant, token_for
from tests.sandbox.subscriber_fixtures import make_world

SUBSCRIPTION_KEYS = {
    "id",
    "project_id",
    "plan_id",
    "subscriber_id",
    "status",
    "provider",
    "trial_ends_at",
    "ends_at",
    "cancel_at_period_end",
    "canceled_at",
    "created_at",
    "updated_at",
}


def _advance(server: SandboxServer, seconds: float) -> None:
    response = requests.post(server.url + "/_sandbox/clock", json={"advance_seconds": seconds}, timeout=5)
    assert response.status_code == 200
    server.sandbox.store.scheduler.run_due()


def test_list_is_team_wide_with_filters(sandbox_server: SandboxServer) -> None:
    world = make_world(sandbox_server, make_tenant(sandbox_server))
    second = make_world(sandbox_server, world.tenant, "Second Club")
    active = world.subscription(world.member("A Member", chat_id=1))
    trial = world.subscription(world.member("B Member", chat_id=2), status="trialing")
    other_project = second.subscription(second.member("C Member", chat_id=3))
    foreign = make_world(sandbox_server, make_tenant(sandbox_server), "Foreign Club")
    foreign.subscription(foreign.member("Not Mine", chat_id=4))

    def ids(query: str = "") -> list[str]:
        response = world.tenant.get("/subscriptions" + query)
        assert response.status_code == 200, response.text
        return [s["id"] for s in response.json()["data"]]

    assert set(ids()) == {active["id"], trial["id"], other_project["id"]}
    assert ids("?status=trialing") == [trial["id"]]
    assert ids(f"?project_id={second.project['id']}") == [other_project["id"]]
    assert ids(f"?plan_id={world.plan['id']}&status=active") == [active["id"]]
    assert ids("?limit=1") == [other_project["id"]]
    page_two = world.tenant.get("/subscriptions?per_page=2&page=2").json()
    assert page_two["meta"]["last_page"] == 2 and [s["id"] for s in page_two["data"]] == [active["id"]]
    bad = world.tenant.get("/subscriptions?status=cancelled")
    assert bad.status_code == 422 and set(bad.json()["error"]["fields"]) == {"status"}
    assert world.tenant.get(f"/subscriptions?project_id={foreign.project['id']}").status_code == 404
    scoped = token_for(world.tenant, project_ids=[second.project["id"]])
    assert [s["id"] for s in scoped.get("/subscriptions").json()["data"]] == [other_project["id"]]
    assert scoped.get(f"/subscriptions/{active['id']}").status_code == 404


def test_get_one_subscription_shape_and_tenancy(sandbox_server: SandboxServer) -> None:
    world = make_world(sandbox_server, make_tenant(sandbox_server))
    sub = world.subscription(world.member())
    body = world.tenant.get(f"/subscriptions/{sub['id']}").json()["data"]
    assert set(body) == SUBSCRIPTION_KEYS
    assert (body["status"], body["plan_id"], body["provider"]) == ("active", world.plan["id"], "stripe")
    assert make_tenant(sandbox_server).get(f"/subscriptions/{sub['id']}").status_code == 404
    denied = token_for(world.tenant, ["project-subscription:view-any"]).get(f"/subscriptions/{sub['id']}")
    assert denied.status_code == 403
    assert denied.json()["error"]["context"]["required_ability"] == "project-subscription:view"


def test_cancel_is_queued_then_applied_and_repeats_answer_409(fresh_sandbox: SandboxServer) -> None:
    world = make_world(fresh_sandbox, make_tenant(fresh_sandbox))
    member = world.member(status="customer")
    sub = world.subscription(member)
    ends_at = sub["ends_at"]
    response = world.tenant.post(f"/subscriptions/{sub['id']}/cancel", {})
    assert response.status_code == 200
    assert response.json() == {"data": {"subscription_id": sub["id"], "status": "cancellation_queued"}}
    assert world.store.get("subscriptions", sub["id"])["status"] == "active"
    assert world.events("subscription.") == []
    queued = world.tenant.post(f"/subscriptions/{sub['id']}/cancel", {})
    assert queued.status_code == 409
    assert queued.json()["error"]["code"] == "SUBSCRIPTION_ALREADY_ACTIVE"

    _advance(fresh_sandbox, fresh_sandbox.sandbox.settings.job_delay)
    body = world.tenant.get(f"/subscriptions/{sub['id']}").json()["data"]
    assert (body["status"], body["cancel_at_period_end"], body["ends_at"]) == ("canceled", True, ends_at)
    [cancelled] = world.events("subscription.")
    assert cancelled["type"] == "subscription.cancelled"
    assert cancelled["data"]["subscription_id"] == sub["id"] and cancelled["data"]["ends_at"] == ends_at
    assert world.tenant.post(f"/subscriptions/{sub['id']}/cancel", {}).status_code == 409

    # Access continues until ends_at; then the subscription expires and the member churns.
    _advance(fresh_sandbox, 31 * 86_400)
    types = [e["type"] for e in world.events() if e["type"].startswith(("subscription.", "member."))]
    assert types == [
        "subscription.cancelled",
        "subscription.expired",
        "member.churned",
        "member.resource_removed",
    ]
    assert world.store.get("members", member["id"])["status"] == "churned"


def test_immediate_cancel_expires_at_once(fresh_sandbox: SandboxServer) -> None:
    world = make_world(fresh_sandbox, make_tenant(fresh_sandbox))
    sub = world.subscription(world.member(status="customer"))
    response = world.tenant.post(f"/subscriptions/{sub['id']}/cancel", {"at_period_end": False})
    assert response.status_code == 200
    _advance(fresh_sandbox, fresh_sandbox.sandbox.settings.job_delay)
    stored = world.store.get("subscriptions", sub["id"])
    assert stored["status"] == "expired" and stored["cancel_at_period_end"] is False
    types = [e["type"] for e in world.events("subscription.")]
    assert types == ["subscription.cancelled", "subscription.expired"]
    assert world.events("subscription.expired")[0]["data"]["ends_at"] == stored["ends_at"]


def test_cancel_validation_abilities_and_tenancy(sandbox_server: SandboxServer) -> None:
    world = make_world(sandbox_server, make_tenant(sandbox_server))
    sub = world.subscription(world.member())
    bad = world.tenant.post(f"/subscriptions/{sub['id']}/cancel", {"at_period_end": "yes"})
    assert bad.status_code == 422
    assert bad.json()["error"]["fields"] == {
        "at_period_end": ["The at_period_end field must be true or false."]
    }
    reader = token_for(world.tenant, "read_only")
    denied = reader.post(f"/subscriptions/{sub['id']}/cancel", {"at_period_end": "yes"})
    assert denied.status_code == 403  # the ability check comes before validation
    assert denied.json()["error"]["context"]["required_ability"] == "project-subscription:update"
    assert make_tenant(sandbox_server).post(f"/subscriptions/{sub['id']}/cancel", {}).status_code == 404
    assert world.store.get("subscriptions", sub["id"]).get("_cancel_queued") is None
