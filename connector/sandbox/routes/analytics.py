"""Analytics computed from the stored subscriptions and payments (endpoints.md §6), all `dashboard:read`.

Definitions ([convention], the docs name the figures but not their formulas):
- an *active* subscription has status `active`; MRR sums their plan prices normalised to one month
  (days x 30, weeks x 52 / 12, years / 12, lifetime plans add nothing), in USD;
- *new* subscriptions were created inside the window; *churned* ones were cancelled (or, never cancelled,
  expired) inside it; churn rate = churned / subscriptions alive at the window start, in percent;
- a trial *converted* when its subscription has at least one successful payment;
- payment figures are USD-normalised except plan performance, which stays in the plan's currency.
Filters and windows: :mod:`connector.sandbox.analytics_scope`.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from connector.sandbox.analytics_scope import Scope, Window, build_scope, to_usd
from connector.sandbox.errors import invalid
from connector.sandbox.framework import Ctx, api
from connector.sandbox.records import price_of
from connector.sandbox.routes.subscriptions import SUBSCRIPTION_STATUSES
from connector.sandbox.store import Obj
from connector.sandbox.timeutil import parse_iso
from connector.sandbox.validation import money

MONTHLY_FACTOR = {
    "days": Decimal(30),
    "weeks": Decimal(52) / Decimal(12),
    "months": Decimal(1),
    "years": Decimal(1) / Decimal(12),
}
DIMENSIONS = ("plan", "payment_provider", "currency", "project")
GRANULARITIES = ("day", "week", "month")
PROVIDER_LABELS = {
    "stripe": "Stripe",
    "paypal": "PayPal",
    "razorpay": "Razorpay",
    "paystack": "Paystack",
    "skrill": "Skrill",
    "coinpayments": "CoinPayments",
    "ceypay": "CeyPay",
    "telegram_stars": "Telegram Stars",
    "access_codes": "Access Codes",
}


def _subs(ctx: Ctx, scope: Scope) -> list[Obj]:
    return [s for s in ctx.store.table("subscriptions").values() if scope.sees(s)]


def _payments(ctx: Ctx, scope: Scope, window: Window) -> list[Obj]:
    rows = ctx.store.table("payments").values()
    return [p for p in rows if scope.counts_payment(p) and window.contains(p["occurred_at"])]


def _churned_at(sub: Obj) -> str | None:
    if sub["canceled_at"]:
        return str(sub["canceled_at"])
    return str(sub["ends_at"]) if sub["status"] == "expired" and sub["ends_at"] else None


def _percent(part: int | Decimal, whole: int | Decimal) -> float:
    return round(float(Decimal(part) * 100 / Decimal(whole)), 2) if whole else 0.0


def _movement(subs: list[Obj], window: Window) -> Obj:
    """New and churned subscriptions in the window, and the churn rate against those alive at its start."""
    new = sum(1 for s in subs if window.contains(s["created_at"]))
    churned = sum(1 for s in subs if window.contains(_churned_at(s)))
    alive = 0
    for sub in subs:
        ended = _churned_at(sub)
        if parse_iso(sub["created_at"]) < window.start and (
            ended is None or parse_iso(ended) >= window.start
        ):
            alive += 1
    return {"new_subscribers": new, "canceled_subscribers": churned, "churn_rate": _percent(churned, alive)}


def _monthly_usd(plan: Obj) -> Decimal:
    factor = MONTHLY_FACTOR.get(plan.get("billing_cycle", "months"))
    if factor is None:
        return Decimal(0)
    return to_usd(price_of(plan) * factor / int(plan.get("billing_cycle_count") or 1), plan.get("currency"))


@api.route("GET", "/analytics/dashboard", "dashboard:read")
def dashboard(ctx: Ctx) -> Obj:
    scope = build_scope(ctx)
    subs = _subs(ctx, scope)
    active = [s for s in subs if s["status"] == "active"]
    plans = {p["id"]: p for p in ctx.store.table("plans").values() if scope.sees({**p, "plan_id": p["id"]})}
    mrr = sum((_monthly_usd(plans[s["plan_id"]]) for s in active if s["plan_id"] in plans), Decimal(0))
    movement = _movement(subs, scope.window)
    by_plan = [
        {"plan_id": pid, "name": plan["name"], "active": sum(1 for s in active if s["plan_id"] == pid)}
        for pid, plan in plans.items()
    ]
    by_plan.sort(key=lambda row: (-row["active"], row["name"]))
    data: Obj = {
        "mrr": money(mrr),
        "currency": "USD",
        "active_subscribers": len({s["subscriber_id"] for s in active}),
        "new_subscribers": movement["new_subscribers"],
        "churn_rate": movement["churn_rate"],
        "by_plan": by_plan,
    }
    if scope.compare:
        before = _movement(subs, scope.window.previous())
        data["previous"] = {
            "new_subscribers": before["new_subscribers"],
            "churn_rate": before["churn_rate"],
            "range": scope.window.previous().range(),
        }
    return {"data": data, "meta": _meta(ctx, scope)}


def _meta(ctx: Ctx, scope: Scope) -> Obj:
    return {
        "period": scope.window.period,
        "range": scope.window.range(),
        "compare_period": "previous" if scope.compare else "none",
        "project_id": ctx.args.get("project_id"),
    }


def _bucket(ts: float, granularity: str) -> str:
    day = datetime.fromtimestamp(ts, tz=UTC)
    if granularity == "month":
        return day.strftime("%Y-%m")
    if granularity == "week":
        day -= timedelta(days=day.weekday())
    return day.strftime("%Y-%m-%d")


def _buckets(window: Window, granularity: str) -> list[str]:
    keys: list[str] = []
    ts = window.start
    while ts < window.end:
        key = _bucket(ts, granularity)
        if not keys or keys[-1] != key:
            keys.append(key)
        ts += 86_400.0
    last = _bucket(window.end - 1, granularity)
    if not keys or keys[-1] != last:
        keys.append(last)
    return keys


def _totals(payments: list[Obj]) -> Obj:
    gross = sum((to_usd(p["amount"], p["currency"]) for p in payments), Decimal(0))
    fees = sum((to_usd(p["calculated_fee"], p["currency"]) for p in payments), Decimal(0))
    return {
        "gross": money(gross),
        "fees": money(fees),
        "net": money(gross - fees),
        "transactions": len(payments),
    }


@api.route("GET", "/analytics/earnings", "dashboard:read")
def earnings(ctx: Ctx) -> Obj:
    granularity = ctx.args.get("granularity") or "day"
    if granularity not in GRANULARITIES:
        raise invalid(
            {"granularity": ["The selected granularity is invalid; expected one of: day, week, month."]}
        )
    scope = build_scope(ctx)
    payments = _payments(ctx, scope, scope.window)
    grouped: dict[str, list[Obj]] = defaultdict(list)
    for payment in payments:
        grouped[_bucket(parse_iso(payment["occurred_at"]), granularity)].append(payment)
    timeseries = []
    for key in _buckets(scope.window, granularity):
        totals = _totals(grouped.get(key, []))
        timeseries.append(
            {
                "bucket": key,
                "gross": totals["gross"],
                "net": totals["net"],
                "transactions": totals["transactions"],
            }
        )
    data: Obj = {"totals": {**_totals(payments), "currency": "USD"}, "timeseries": timeseries}
    if scope.compare:
        data["previous_totals"] = _totals(_payments(ctx, scope, scope.window.previous()))
    return {"data": data, "meta": {**_meta(ctx, scope), "granularity": granularity}}


@api.route("GET", "/analytics/subscribers", "dashboard:read")
def subscribers(ctx: Ctx) -> Obj:
    scope = build_scope(ctx)
    subs = _subs(ctx, scope)
    movement = _movement(subs, scope.window)
    paid = {p["subscription_id"] for p in ctx.store.table("payments").values() if p["status"] == "successful"}
    trials = [s for s in subs if s["trial_ends_at"] and scope.window.contains(s["created_at"])]
    converted = sum(1 for s in trials if s["id"] in paid)
    distribution = dict.fromkeys(SUBSCRIPTION_STATUSES, 0)
    for sub in subs:
        distribution[sub["status"]] = distribution.get(sub["status"], 0) + 1
    data = {
        "new_subscribers": movement["new_subscribers"],
        "canceled_subscribers": movement["canceled_subscribers"],
        "churn_rate_percent": movement["churn_rate"],
        "trial_started": len(trials),
        "trial_converted": converted,
        "trial_to_paid_percent": _percent(converted, len(trials)),
        "status_distribution": distribution,
    }
    return {"data": data, "meta": _meta(ctx, scope)}


def _group_key(ctx: Ctx, payment: Obj, dimension: str) -> tuple[str, str]:
    """(key, label) of the payment's group."""
    if dimension == "plan":
        plan = ctx.store.get("plans", payment["plan_id"])
        return str(payment["plan_id"]), str(plan["name"] if plan else payment["plan_id"])
    if dimension == "payment_provider":
        provider = str(payment["provider"])
        return provider, PROVIDER_LABELS.get(provider, provider)
    if dimension == "currency":
        return payment["currency"], payment["currency"]
    project = ctx.store.get("projects", payment["project_id"])
    return payment["project_id"], project["name"] if project else payment["project_id"]


@api.route("GET", "/analytics/transactions/breakdown", "dashboard:read")
def breakdown(ctx: Ctx) -> Obj:
    dimension = ctx.args.get("dimension")
    if dimension not in DIMENSIONS:
        message = (
            "The dimension field is required." if not dimension else "The selected dimension is invalid."
        )
        raise invalid({"dimension": [f"{message} Expected one of: {', '.join(DIMENSIONS)}."]})
    scope = build_scope(ctx)
    groups: dict[tuple[str, str], list[Decimal]] = defaultdict(list)
    for payment in _payments(ctx, scope, scope.window):
        groups[_group_key(ctx, payment, dimension)].append(to_usd(payment["amount"], payment["currency"]))
    total = sum((sum(v, Decimal(0)) for v in groups.values()), Decimal(0))
    sums = {group: sum(values, Decimal(0)) for group, values in groups.items()}
    rows = [
        {
            "key": key,
            "label": label,
            "gross_usd": money(sums[(key, label)]),
            "transactions": len(values),
            "share_percent": _percent(sums[(key, label)], total),
        }
        for (key, label), values in sorted(groups.items(), key=lambda item: (-sums[item[0]], item[0]))
    ]
    data = {"dimension": dimension, "total_gross_usd": money(total), "groups": rows}
    return {"data": data, "meta": _meta(ctx, scope)}


@api.route("GET", "/analytics/plan-performance", "dashboard:read")
def plan_performance(ctx: Ctx) -> Obj:
    scope = build_scope(ctx, require_project=True)
    project_id = ctx.args["project_id"]
    payments = _payments(ctx, scope, scope.window)
    rows = []
    for plan in ctx.store.rows("plans", lambda p: p["project_id"] == project_id):
        if scope.plan_ids and plan["id"] not in scope.plan_ids:
            continue
        paid = [Decimal(p["amount"]) for p in payments if p["plan_id"] == plan["id"]]
        revenue = sum(paid, Decimal(0))
        rows.append(
            {
                "plan_id": plan["id"],
                "plan_name": plan["name"],
                "currency": plan.get("currency"),
                "active_subscribers": sum(
                    1
                    for s in ctx.store.table("subscriptions").values()
                    if s["plan_id"] == plan["id"] and s["status"] == "active"
                ),
                "payments_in_window": len(paid),
                "revenue_in_window": money(revenue),
                "avg_ticket": money(revenue / len(paid)) if paid else "0.00",
            }
        )
    meta = {"project_id": project_id, "period": scope.window.period, "range": scope.window.range()}
    return {"data": rows, "meta": meta}
