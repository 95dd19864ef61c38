"""Row builders for the subscriber side of the sandbox: members, subscriptions, payments.

These only insert rows (no events), so the seed can write back-dated history and the lifecycle
operations (:mod:`connector.sandbox.lifecycle`) can build on them. Stored shapes are fixed (see the field
lists below); private ``_`` keys hold bookkeeping that never leaves the sandbox.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from connector.sandbox.ids import new_id, random_alnum
from connector.sandbox.store import Obj, Store
from connector.sandbox.timeutil import iso, parse_iso
from connector.sandbox.validation import money

DAY = 86_400.0
CYCLE_SECONDS = {"days": DAY, "weeks": 7 * DAY, "months": 30 * DAY, "years": 365 * DAY}
# [convention] Card-style providers keep a 3 % fee (the docs' example: 29.00 → 87); in-app and code
# redemptions carry none.
FEE_RATE = Decimal("0.03")
FEE_FREE_PROVIDERS = ("access_codes", "telegram_stars")
# Subscription statuses that grant access; a cancelled one keeps access until its `ends_at`.
LIVE_STATUSES = ("trialing", "active", "past_due", "paused")


def period_seconds(plan: Obj) -> float | None:
    """Length of one billing period, or None for lifetime plans."""
    cycle = plan.get("billing_cycle", "months")
    if cycle not in CYCLE_SECONDS:
        return None
    return CYCLE_SECONDS[cycle] * int(plan.get("billing_cycle_count") or 1)


def price_of(plan: Obj) -> Decimal:
    return Decimal(str(plan.get("price") or "0"))


def fee_of(amount: Decimal, provider: str) -> Decimal:
    if provider in FEE_FREE_PROVIDERS:
        return Decimal("0.00")
    return (amount * FEE_RATE).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def external_id(provider: str, kind: str) -> str:
    """A provider-looking id (`pi_…` / `evt_…` for Stripe, `<provider>_<kind>_…` otherwise)."""
    if provider == "stripe":
        return {"payment": "pi_", "event": "evt_", "session": "cs_"}.get(kind, "x_") + random_alnum(24)
    return f"{provider}_{kind}_{random_alnum(16)}"


def insert_member(
    store: Store,
    team_id: str,
    project_id: str,
    *,
    name: str,
    email: str | None,
    chat_id: int,
    at: float,
    status: str = "lead",
    email_verified: bool = False,
) -> Obj:
    member: Obj = {
        "id": new_id("usr"),
        "project_id": project_id,
        "name": name,
        "email": email,
        "email_verified": email_verified,
        "chat_id": chat_id,
        "status": status,
        "joined_at": iso(at),
        "_team": team_id,
    }
    return store.insert("members", member)


def insert_subscription(
    store: Store,
    member: Obj,
    plan: Obj,
    *,
    status: str,
    provider: str,
    at: float,
    trial_ends_at: float | None = None,
    ends_at: float | None = None,
) -> Obj:
    sub: Obj = {
        "id": new_id("sub"),
        "project_id": member["project_id"],
        "plan_id": plan["id"],
        "subscriber_id": member["id"],
        "status": status,
        "provider": provider,
        "trial_ends_at": iso(trial_ends_at) if trial_ends_at is not None else None,
        "ends_at": iso(ends_at) if ends_at is not None else None,
        "cancel_at_period_end": False,
        "canceled_at": None,
        "created_at": iso(at),
        "updated_at": iso(at),
        "_team": member["_team"],
        "_failures": 0,
    }
    return store.insert("subscriptions", sub)


def insert_payment(
    store: Store,
    plan: Obj,
    member: Obj,
    *,
    subscription: Obj | None,
    status: str,
    provider: str,
    method_id: str | None,
    at: float,
    billing_reason: str | None,
    amount: Decimal | None = None,
) -> Obj:
    value = price_of(plan) if amount is None else amount
    fee = fee_of(value, provider) if status == "successful" else Decimal("0.00")
    payment: Obj = {
        "id": new_id("pay"),
        "project_id": member["project_id"],
        "subscription_id": subscription["id"] if subscription else None,
        "plan_id": plan["id"],
        "subscriber_id": member["id"],
        "method_id": method_id,
        "currency_id": plan.get("currency_id"),
        "currency": plan.get("currency", "USD"),
        "status": status,
        "amount": money(value),
        "transaction_fee": int(fee * 100),
        "calculated_fee": money(fee),
        "external_payment_id": external_id(provider, "payment") if status != "pending" else None,
        "external_event_id": external_id(provider, "event"),
        "billing_reason": billing_reason,
        "provider": provider,
        "occurred_at": iso(at),
        "_team": member["_team"],
    }
    return store.insert("payments", payment)


def touch(obj: Obj, at: float, **changes: Any) -> Obj:
    """Apply ``changes`` and stamp ``updated_at``."""
    obj.update(changes)
    obj["updated_at"] = iso(at)
    return obj


def subscriber_ref(member: Obj) -> Obj:
    """The `subscriber` object of member.banned / member.unbanned."""
    return {"id": member["id"], "telegram_user_id": member["chat_id"], "status": member["status"]}


def sub_ref(sub: Obj) -> Obj:
    """The flat ids every subscription event starts with."""
    return {"subscription_id": sub["id"], "plan_id": sub["plan_id"], "subscriber_id": sub["subscriber_id"]}


def is_live(sub: Obj, now: float) -> bool:
    """Does the subscription still grant access?"""
    if sub["status"] == "canceled":
        return bool(sub["ends_at"]) and parse_iso(sub["ends_at"]) > now
    return sub["status"] in LIVE_STATUSES


def plan_resource_ids(plan: Obj) -> list[str]:
    resources = plan.get("resources") or plan.get("resource_ids") or []
    return [r if isinstance(r, str) else r["id"] for r in resources]
