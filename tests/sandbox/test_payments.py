"""Recent payments (`GET /projects/{project}/payments`, a convention) and keyset transactions."""

from __future__ import annotations

from connector.sandbox import SandboxServer
from tests.helpers import make_tenant, token_for
from tests.sandbox.subscriber_fixtures import World, iso_days_ago, make_world

PAYMENT_KEYS = {
    "id",
    "project_id",
    "subscription_id",
    "plan_id",
    "subscriber_id",
    "method_id",
    "currency_id",
    "currency",
    "status",
    "amount",
    "transaction_fee",
    "calculated_fee",
    "external_payment_id",
    "external_event_id",
    "billing_reason",
    "provider",
    "occurred_at",
}


def _history(server: SandboxServer) -> tuple[World, list[dict]]:
    world = make_world(server, make_tenant(server))
    sub = world.subscription(world.member(), days_ago=45)
    payments = [
        world.payment(sub, days_ago=40),
        world.payment(sub, days_ago=10, status="failed"),
        world.payment(sub, days_ago=5, provider="paypal"),
        world.payment(sub, days_ago=1, amount="12.50", status="refunded"),
    ]
    return world, payments


def test_recent_payments_newest_first_with_status_filter(sandbox_server: SandboxServer) -> None:
    world, payments = _history(sandbox_server)
    path = f"/projects/{world.project['id']}/payments"
    body = world.tenant.get(path).json()
    assert [p["id"] for p in body["data"]] == [p["id"] for p in reversed(payments)]
    assert body["meta"] == {"project_id": world.project["id"], "total": 4, "limit": 50}
    first = body["data"][-1]
    assert set(first) == PAYMENT_KEYS
    assert (first["amount"], first["transaction_fee"], first["calculated_fee"]) == ("29.00", 87, "0.87")
    assert first["occurred_at"] == payments[0]["occurred_at"]
    failed = world.tenant.get(path + "?status=failed&limit=1").json()
    assert [p["id"] for p in failed["data"]] == [payments[1]["id"]]
    assert failed["meta"] == {"project_id": world.project["id"], "total": 1, "limit": 1}
    for query, field in (("?limit=0", "limit"), ("?limit=201", "limit"), ("?status=paid", "status")):
        bad = world.tenant.get(path + query)
        assert bad.status_code == 422 and set(bad.json()["error"]["fields"]) == {field}


def test_recent_payments_tenancy_and_ability(sandbox_server: SandboxServer) -> None:
    world, _ = _history(sandbox_server)
    path = f"/projects/{world.project['id']}/payments"
    assert make_tenant(sandbox_server).get(path).status_code == 404
    denied = token_for(world.tenant, ["project:view"]).get(path)
    assert denied.status_code == 403
    assert denied.json()["error"]["context"]["required_ability"] == "project-subscription:view-any"


def test_transactions_need_a_project_and_walk_by_cursor(sandbox_server: SandboxServer) -> None:
    world, payments = _history(sandbox_server)
    missing = world.tenant.get("/analytics/transactions")
    assert missing.status_code == 422
    assert missing.json()["error"]["fields"] == {"project_id": ["The project_id field is required."]}
    seen: list[str] = []
    cursor = ""
    for _ in range(5):
        page = world.tenant.get(
            f"/analytics/transactions?project_id={world.project['id']}&period=90d&limit=3{cursor}"
        ).json()
        seen += [p["id"] for p in page["data"]]
        if page["meta"]["next_cursor"] is None:
            break
        cursor = "&cursor=" + page["meta"]["next_cursor"]
    assert seen == [p["id"] for p in reversed(payments)]
    bad = world.tenant.get(f"/analytics/transactions?project_id={world.project['id']}&cursor=zzz")
    assert bad.status_code == 422 and set(bad.json()["error"]["fields"]) == {"cursor"}


def test_transaction_filters_and_window(sandbox_server: SandboxServer) -> None:
    world, payments = _history(sandbox_server)
    base = f"/analytics/transactions?project_id={world.project['id']}"

    def ids(query: str) -> list[str]:
        response = world.tenant.get(base + query)
        assert response.status_code == 200, response.text
        return [p["id"] for p in response.json()["data"]]

    recent = [p["id"] for p in reversed(payments[1:])]
    assert ids("") == recent  # default window: 30 days
    assert ids("&statuses[]=failed&statuses[]=refunded") == [payments[3]["id"], payments[1]["id"]]
    assert ids("&statuses=successful&period=all") == [payments[2]["id"], payments[0]["id"]]
    assert ids("&provider_ids[]=paypal") == [payments[2]["id"]]
    assert ids(f"&provider_ids={world.method['id']}") == recent
    assert ids(f"&plan_ids[]={world.plan['id']}&currency_ids[]=USD") == recent
    assert ids(f"&currency_ids={world.plan['currency_id']}&period=60d") == [
        p["id"] for p in reversed(payments)
    ]
    assert ids("&currency_ids=EUR") == []
    day = iso_days_ago(world, 5)[:10]
    assert ids(f"&from={day}&to={day}") == [payments[2]["id"]]
    page = world.tenant.get(base + f"&from={day}").json()
    assert page["meta"]["period"] == "custom" and page["meta"]["range"]["from"] == day
    assert world.tenant.get(base + "&statuses[]=paid").status_code == 422
