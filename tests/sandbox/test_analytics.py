"""Analytics computed from known stored data (endpoints.md §6): every figure asserted exactly."""

from __future__ import annotations

import pytest

from connector.sandbox import SandboxServer
from tests.helpers import Tenant, make_tenant, token_for
from tests.sandbox.subscriber_fixtures import World, iso_days_ago, make_world


@pytest.fixture
def world(sandbox_server: SandboxServer) -> World:
    """Monthly 29 USD, yearly 120 USD and monthly 10 EUR plans with a known history (see each test)."""
    world = make_world(sandbox_server, make_tenant(sandbox_server))
    yearly = world.new_plan("Yearly Membership", "120.00", billing_cycle="years")
    euro = world.new_plan("Euro Membership", "10.00", currency="EUR")
    subs = {
        "s1": world.subscription(world.member("S One", chat_id=1), days_ago=65),
        "s2": world.subscription(world.member("S Two", chat_id=2), plan=yearly, days_ago=10),
        "s3": world.subscription(world.member("S Three", chat_id=3), plan=euro, days_ago=5),
        "s4": world.subscription(
            world.member("S Four", chat_id=4),
            status="trialing",
            days_ago=3,
            trial_ends_at=iso_days_ago(world, -4),
        ),
        "s5": world.subscription(
            world.member("S Five", chat_id=5),
            status="canceled",
            days_ago=50,
            canceled_at=iso_days_ago(world, 20),
        ),
        "s6": world.subscription(
            world.member("S Six", chat_id=6), status="expired", days_ago=70, ends_at=iso_days_ago(world, 40)
        ),
        "s7": world.subscription(
            world.member("S Seven", chat_id=7), days_ago=20, trial_ends_at=iso_days_ago(world, 13)
        ),
    }
    world.payment(subs["s1"], days_ago=45)
    world.payment(subs["s1"], days_ago=25)
    world.payment(subs["s3"], amount="10.00", days_ago=5, plan=euro)
    world.payment(subs["s7"], days_ago=2)
    world.payment(subs["s1"], status="failed", days_ago=1)
    return world


def _get(client: World | Tenant, path: str) -> dict:
    tenant = client.tenant if isinstance(client, World) else client
    response = tenant.get(path)
    assert response.status_code == 200, response.text
    return response.json()


def test_dashboard_figures(world: World) -> None:
    body = _get(world, "/analytics/dashboard")
    data = body["data"]
    # MRR: 29 + 29 (monthly) + 120 / 12 (yearly) + 10 EUR x 1.08
    assert data["mrr"] == "78.80" and data["currency"] == "USD"
    assert data["active_subscribers"] == 4
    assert data["new_subscribers"] == 4  # s2, s3, s4, s7
    assert data["churn_rate"] == 50.0  # s5 of {s1, s5} alive 30 days ago
    assert data["by_plan"][0] == {"plan_id": world.plan["id"], "name": "Monthly Membership", "active": 2}
    assert sorted((row["name"], row["active"]) for row in data["by_plan"]) == [
        ("Euro Membership", 1),
        ("Monthly Membership", 2),
        ("Yearly Membership", 1),
    ]
    assert data["previous"]["new_subscribers"] == 1 and data["previous"]["churn_rate"] == 50.0
    assert body["meta"]["period"] == "30d" and body["meta"]["compare_period"] == "previous"
    assert "previous" not in _get(world, "/analytics/dashboard?compare_period=none")["data"]


def test_subscriber_analytics(world: World) -> None:
    data = _get(world, "/analytics/subscribers")["data"]
    assert data["new_subscribers"] == 4 and data["canceled_subscribers"] == 1
    assert data["churn_rate_percent"] == 50.0
    assert (data["trial_started"], data["trial_converted"], data["trial_to_paid_percent"]) == (2, 1, 50.0)
    distribution = data["status_distribution"]
    assert len(distribution) == 13
    assert {k: v for k, v in distribution.items() if v} == {
        "active": 4,
        "trialing": 1,
        "canceled": 1,
        "expired": 1,
    }
    all_time = _get(world, "/analytics/subscribers?period=all")["data"]
    assert all_time["new_subscribers"] == 7 and all_time["canceled_subscribers"] == 2


def test_earnings_totals_timeseries_and_previous(world: World) -> None:
    body = _get(world, "/analytics/earnings?granularity=day")
    totals = body["data"]["totals"]
    # 29.00 + 29.00 + 10 EUR (10.80 USD); fees 0.87 + 0.87 + 0.30 EUR (0.324 USD)
    assert totals == {"gross": "68.80", "fees": "2.06", "net": "66.74", "transactions": 3, "currency": "USD"}
    series = body["data"]["timeseries"]
    assert len(series) == 31 and series[-1]["bucket"] == body["meta"]["range"]["to"]
    assert sum(point["transactions"] for point in series) == 3
    euro_day = next(p for p in series if p["bucket"] == iso_days_ago(world, 5)[:10])
    assert (euro_day["gross"], euro_day["net"], euro_day["transactions"]) == ("10.80", "10.48", 1)
    assert body["data"]["previous_totals"]["gross"] == "29.00"
    assert body["meta"]["granularity"] == "day"
    months = _get(world, "/analytics/earnings?granularity=month&period=90d")["data"]
    assert sum(p["transactions"] for p in months["timeseries"]) == 4
    assert all(len(p["bucket"]) == 7 for p in months["timeseries"])
    failed = _get(world, "/analytics/earnings?statuses[]=failed")["data"]["totals"]
    assert (failed["gross"], failed["transactions"]) == ("29.00", 1)


def test_breakdown_by_currency_and_plan(world: World) -> None:
    data = _get(world, "/analytics/transactions/breakdown?dimension=currency")["data"]
    assert data["total_gross_usd"] == "68.80"
    assert data["groups"] == [
        {"key": "USD", "label": "USD", "gross_usd": "58.00", "transactions": 2, "share_percent": 84.3},
        {"key": "EUR", "label": "EUR", "gross_usd": "10.80", "transactions": 1, "share_percent": 15.7},
    ]
    by_plan = _get(world, "/analytics/transactions/breakdown?dimension=plan&period=90d")["data"]["groups"]
    assert [(g["label"], g["gross_usd"], g["transactions"]) for g in by_plan] == [
        ("Monthly Membership", "87.00", 3),
        ("Euro Membership", "10.80", 1),
    ]
    provider = _get(world, "/analytics/transactions/breakdown?dimension=payment_provider")["data"]["groups"]
    assert [(g["key"], g["label"]) for g in provider] == [("stripe", "Stripe")]
    for query in ("", "?dimension=country"):
        bad = world.tenant.get("/analytics/transactions/breakdown" + query)
        assert bad.status_code == 422 and set(bad.json()["error"]["fields"]) == {"dimension"}


def test_plan_performance(world: World) -> None:
    missing = world.tenant.get("/analytics/plan-performance")
    assert missing.status_code == 422
    assert missing.json()["error"]["code"] == "VALIDATION_FAILED"
    assert set(missing.json()["error"]["fields"]) == {"project_id"}
    body = _get(world, f"/analytics/plan-performance?project_id={world.project['id']}")
    rows = {row["plan_name"]: row for row in body["data"]}
    assert rows["Monthly Membership"] == {
        "plan_id": world.plan["id"],
        "plan_name": "Monthly Membership",
        "currency": "USD",
        "active_subscribers": 2,
        "payments_in_window": 2,
        "revenue_in_window": "58.00",
        "avg_ticket": "29.00",
    }
    assert (rows["Euro Membership"]["revenue_in_window"], rows["Euro Membership"]["currency"]) == (
        "10.00",
        "EUR",
    )
    assert rows["Yearly Membership"]["avg_ticket"] == "0.00"
    assert body["meta"]["project_id"] == world.project["id"]
    assert set(body["meta"]["range"]) == {"from", "to"}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("period=5d", "period"),
        ("from=2026-13-01", "from"),
        ("from=01-02-2026", "from"),
        ("to=2026-01-01", "from"),
        ("from=2026-02-01&to=2026-01-01", "to"),
        ("compare_period=last_year", "compare_period"),
        ("statuses[]=paid", "statuses"),
    ],
)
def test_common_filter_validation(sandbox_server: SandboxServer, query: str, field: str) -> None:
    tenant = make_tenant(sandbox_server)
    response = tenant.get("/analytics/dashboard?" + query)
    assert response.status_code == 422
    assert set(response.json()["error"]["fields"]) == {field}


def test_custom_range_and_calendar_periods(world: World) -> None:
    day = iso_days_ago(world, 25)[:10]
    body = _get(world, f"/analytics/earnings?from={day}&to={day}")
    assert body["data"]["totals"]["gross"] == "29.00" and len(body["data"]["timeseries"]) == 1
    assert body["meta"]["range"] == {"from": day, "to": day} and body["meta"]["period"] == "custom"
    ytd = _get(world, "/analytics/dashboard?period=ytd")["meta"]["range"]
    assert ytd["from"].endswith("-01-01")
    assert _get(world, "/analytics/earnings?granularity=week")["data"]["timeseries"][0]["bucket"] <= ytd["to"]
    assert world.tenant.get("/analytics/earnings?granularity=hour").status_code == 422


def test_analytics_ability_and_scope(world: World, sandbox_server: SandboxServer) -> None:
    denied = token_for(world.tenant, ["project:view-any"]).get("/analytics/dashboard")
    assert denied.status_code == 403
    assert denied.json()["error"]["context"]["required_ability"] == "dashboard:read"
    other = make_world(sandbox_server, world.tenant, "Other Club")
    other.subscription(other.member("Elsewhere", chat_id=99), days_ago=1)
    assert _get(world, "/analytics/dashboard")["data"]["active_subscribers"] == 5
    scoped = token_for(world.tenant, project_ids=[world.project["id"]])
    assert _get(scoped, "/analytics/dashboard")["data"]["active_subscribers"] == 4
    assert scoped.get(f"/analytics/dashboard?project_id={other.project['id']}").status_code == 404
    foreign = make_tenant(sandbox_server)
    assert foreign.get(f"/analytics/plan-performance?project_id={world.project['id']}").status_code == 404
