"""Domain operations on subscribers: each changes stored state and emits the documented events in order.

Used by the REST routes (ban, kick, unban, cancel), by the simulation and by scheduled jobs. Pairings
follow webhooks.md §10; choices where the docs are silent are noted per function. [convention] Shapes of
undocumented payloads start with the flat ids of the documented siblings (`subscription_id`, `plan_id`,
`subscriber_id`) so a connector can treat the family uniformly.

Time-based transitions run on the sandbox scheduler: `subscription.trial_converting` 24 h before a
trial ends (once per trial), and the expiry of a cancelled subscription when `ends_at` is reached.
Trials do not end by themselves: the simulation's `trial_convert` / `trial_expire` decide their fate.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from connector.sandbox import records
from connector.sandbox.records import DAY, is_live, sub_ref, subscriber_ref, touch
from connector.sandbox.routes.access_codes import webhook_mask
from connector.sandbox.store import Obj, Store
from connector.sandbox.timeutil import iso, parse_iso
from connector.sandbox.validation import money

MAX_PAYMENT_FAILURES = 3  # [convention] the third failed charge in a row ends the grace period (unpaid)
DEFAULT_TRIAL_DAYS = 7


@dataclass
class Ops:
    """Who is acting, on which team."""

    store: Store
    team_id: str
    causer_id: str | None = None
    actor_kind: str = "system"

    @property
    def now(self) -> float:
        return self.store.clock.now()

    def emit(self, event_type: str, data: Obj, project_id: str | None) -> Obj:
        return self.store.emit(self.team_id, project_id, event_type, data)

    def log(self, subject_type: str, subject: Obj, event: str, description: str, **changes: object) -> None:
        self.store.log_activity(
            self.team_id,
            subject_type,
            subject["id"],
            event,
            description,
            causer_id=self.causer_id,
            changes=dict(changes),
            actor_kind=self.actor_kind,
            project_id=subject.get("project_id"),
        )


def plan_of(store: Store, sub: Obj) -> Obj:
    return store.get("plans", sub["plan_id"]) or {"id": sub["plan_id"], "price": "0.00", "currency": "USD"}


def member_of(store: Store, sub: Obj) -> Obj | None:
    return store.get("members", sub["subscriber_id"])


def _ends(plan: Obj, start: float) -> float | None:
    period = records.period_seconds(plan)
    return None if period is None else start + period


def _status_change(ops: Ops, sub: Obj, status: str, event: str, **fields: object) -> None:
    """Apply the change, stamp `updated_at` and log it (public fields only) in the activity log."""
    wanted = {"status": status, **fields}
    changes = {
        k: {"from": sub.get(k), "to": v}
        for k, v in wanted.items()
        if not k.startswith("_") and sub.get(k) != v
    }
    touch(sub, ops.now, **wanted)
    ops.log("project-subscription", sub, event, f"Subscription {event}", **changes)


def _set_member_status(ops: Ops, member: Obj, status: str) -> None:
    if member["status"] != status:
        before, member["status"] = member["status"], status
        ops.log(
            "project-user", member, status, f"Member is now {status}", status={"from": before, "to": status}
        )


def _resource_events(ops: Ops, sub: Obj, plan: Obj, event_type: str) -> None:
    for resource_id in records.plan_resource_ids(plan):
        data = {**sub_ref(sub), "resource_id": resource_id, "project_id": sub["project_id"]}
        ops.emit(event_type, data, sub["project_id"])


def _payment_data(sub: Obj | None, payment: Obj) -> Obj:
    data: Obj = {
        "payment_id": payment["id"],
        "subscription_id": sub["id"] if sub else None,
        "plan_id": payment["plan_id"],
        "subscriber_id": payment["subscriber_id"],
        "provider": payment["provider"],
        "external_payment_id": payment["external_payment_id"],
        "amount": payment["amount"],
        "currency": payment["currency"],
    }
    if payment.get("billing_reason"):
        data["billing_reason"] = payment["billing_reason"]
    return data


def charge(ops: Ops, sub: Obj, plan: Obj, member: Obj, reason: str, method_id: str | None) -> Obj:
    """A successful charge: the payment row and `payment.succeeded`."""
    payment = records.insert_payment(
        ops.store,
        plan,
        member,
        subscription=sub,
        status="successful",
        provider=sub["provider"],
        method_id=method_id,
        at=ops.now,
        billing_reason=reason,
    )
    ops.emit("payment.succeeded", _payment_data(sub, payment), sub["project_id"])
    return payment


# --- starting a subscription ---------------------------------------------------------------------------
def subscribe(
    ops: Ops,
    member: Obj,
    plan: Obj,
    *,
    provider: str,
    method_id: str | None = None,
    trial: bool = False,
    access_code: str | None = None,
) -> Obj:
    """Paid checkout, trial start or code redemption (webhooks.md §10 orderings).

    Paid: subscription.created → member.joined → payment.succeeded → member.resource_added per resource.
    Trial: subscription.created → subscription.trial_started → member.trial_joined → resource_added.
    Code: subscription.created → member.joined → resource_added (the caller adds access_code.redeemed).
    """
    now = ops.now
    trial_end = now + int(plan.get("trial_days") or DEFAULT_TRIAL_DAYS) * DAY if trial else None
    sub = records.insert_subscription(
        ops.store,
        member,
        plan,
        status="trialing" if trial else "active",
        provider="access_codes" if access_code else provider,
        at=now,
        trial_ends_at=trial_end,
        ends_at=trial_end if trial else _ends(plan, now),
    )
    masked = webhook_mask(access_code) if access_code else None
    project_id = sub["project_id"]
    ops.log(
        "project-subscription",
        sub,
        "created",
        "Subscription created",
        status={"from": None, "to": sub["status"]},
    )
    ops.emit(
        "subscription.created",
        {**sub_ref(sub), "trial_ends_at": sub["trial_ends_at"], "access_code": masked},
        project_id,
    )
    joined = {**sub_ref(sub), "project_id": project_id, "access_code": masked}
    if trial:
        ops.emit(
            "subscription.trial_started", {**sub_ref(sub), "trial_ends_at": sub["trial_ends_at"]}, project_id
        )
        if member["status"] != "customer":
            _set_member_status(ops, member, "trialing")
        ops.emit("member.trial_joined", joined, project_id)
        schedule_trial_converting(ops.store, ops.team_id, sub)
    else:
        _set_member_status(ops, member, "customer")
        ops.emit("member.joined", joined, project_id)
        if not access_code:
            charge(ops, sub, plan, member, "subscription_create", method_id)
    _resource_events(ops, sub, plan, "member.resource_added")
    return sub


def send_trial_converting(ops: Ops, sub: Obj) -> bool:
    """`subscription.trial_converting`, once per trial, while the subscription is still trialing."""
    if sub["status"] != "trialing" or sub.get("_converting_sent"):
        return False
    sub["_converting_sent"] = True
    ops.emit(
        "subscription.trial_converting",
        {**sub_ref(sub), "trial_ends_at": sub["trial_ends_at"]},
        sub["project_id"],
    )
    return True


def schedule_trial_converting(store: Store, team_id: str, sub: Obj) -> None:
    when = parse_iso(sub["trial_ends_at"]) - DAY
    sub_id = sub["id"]

    def job() -> None:
        with store.lock:
            current = store.get("subscriptions", sub_id)
            if current is not None:
                send_trial_converting(Ops(store, team_id), current)

    store.scheduler.call_at(when, job)


def convert_trial(ops: Ops, sub: Obj, method_id: str | None = None) -> None:
    """Trial → paid: [trial_converting if not yet sent] → payment.succeeded → subscription.activated →
    member.converted (the three documented pairs; the charge comes first because it causes the rest)."""
    send_trial_converting(ops, sub)
    plan, member = plan_of(ops.store, sub), member_of(ops.store, sub)
    if member is None:
        return
    charge(ops, sub, plan, member, "subscription_cycle", method_id)
    new_end = _ends(plan, ops.now)
    _status_change(ops, sub, "active", "activated", ends_at=iso(new_end) if new_end else None)
    ops.emit("subscription.activated", {**sub_ref(sub), "ends_at": sub["ends_at"]}, sub["project_id"])
    _set_member_status(ops, member, "customer")
    ops.emit("member.converted", {**sub_ref(sub), "provider": sub["provider"]}, sub["project_id"])


# --- ending a subscription -------------------------------------------------------------------------------
def _member_still_live(store: Store, member_id: str, except_id: str) -> bool:
    now = store.clock.now()
    return any(
        s["subscriber_id"] == member_id and s["id"] != except_id and is_live(s, now)
        for s in store.table("subscriptions").values()
    )


def _lapse(ops: Ops, sub: Obj) -> None:
    """After access ends: member.churned (if it was the last live subscription), then
    member.resource_removed per granted resource."""
    member = member_of(ops.store, sub)
    if member is not None and not _member_still_live(ops.store, member["id"], sub["id"]):
        if member["status"] != "banned":
            _set_member_status(ops, member, "churned")
        data = {
            "subscription_id": sub["id"],
            "subscriber_id": member["id"],
            "last_plan_id": sub["plan_id"],
            "ends_at": sub["ends_at"],
        }
        ops.emit("member.churned", data, sub["project_id"])
    _resource_events(ops, sub, plan_of(ops.store, sub), "member.resource_removed")


def expire(ops: Ops, sub: Obj) -> None:
    """subscription.expired → member.churned → member.resource_removed per resource."""
    ends_at = sub["ends_at"]
    if ends_at is None or parse_iso(ends_at) > ops.now:
        ends_at = iso(ops.now)
    _status_change(ops, sub, "expired", "expired", ends_at=ends_at)
    ops.emit("subscription.expired", {**sub_ref(sub), "ends_at": ends_at}, sub["project_id"])
    _lapse(ops, sub)


def expire_trial(ops: Ops, sub: Obj) -> None:
    """subscription.trial_expired → member.churned → member.resource_removed per resource."""
    _status_change(ops, sub, "expired", "trial_expired", ends_at=iso(ops.now))
    ops.emit(
        "subscription.trial_expired",
        {**sub_ref(sub), "trial_ends_at": sub["trial_ends_at"]},
        sub["project_id"],
    )
    _lapse(ops, sub)


def cancel(ops: Ops, sub: Obj, *, at_period_end: bool = True) -> None:
    """Record a cancellation (`subscription.cancelled`). At period end, access continues until `ends_at`
    and the expiry is scheduled then; otherwise (or for lifetime plans) the subscription expires now."""
    now = ops.now
    ends_at = sub["ends_at"]
    immediate = not at_period_end or ends_at is None or parse_iso(ends_at) <= now
    if immediate:
        ends_at = iso(now)
    _status_change(
        ops,
        sub,
        "canceled",
        "cancelled",
        canceled_at=iso(now),
        cancel_at_period_end=not immediate,
        ends_at=ends_at,
    )
    data = {
        **sub_ref(sub),
        "cancel_at_period_end": sub["cancel_at_period_end"],
        "canceled_at": sub["canceled_at"],
        "ends_at": ends_at,
    }
    ops.emit("subscription.cancelled", data, sub["project_id"])
    if immediate:
        expire(ops, sub)
    else:
        schedule_expiry(ops.store, ops.team_id, sub)


def schedule_expiry(store: Store, team_id: str, sub: Obj) -> None:
    """Expire a cancelled subscription when its `ends_at` passes (skipped if it was reactivated)."""
    sub_id, due = sub["id"], sub["ends_at"]

    def job() -> None:
        with store.lock:
            current = store.get("subscriptions", sub_id)
            if current is not None and current["status"] == "canceled" and current["ends_at"] == due:
                expire(Ops(store, team_id), current)

    store.scheduler.call_at(parse_iso(due), job)


def revoke(ops: Ops, sub: Obj) -> None:
    """Cancel with immediate loss of access and no churn events (used by ban and kick)."""
    now = iso(ops.now)
    _status_change(
        ops, sub, "canceled", "cancelled", canceled_at=now, cancel_at_period_end=False, ends_at=now
    )
    data = {**sub_ref(sub), "cancel_at_period_end": False, "canceled_at": now, "ends_at": now}
    ops.emit("subscription.cancelled", data, sub["project_id"])


# --- renewals and payment trouble -------------------------------------------------------------------------
def renew(ops: Ops, sub: Obj, method_id: str | None = None) -> None:
    """payment.succeeded → subscription.renewed; a past-due subscription recovers to active."""
    plan, member = plan_of(ops.store, sub), member_of(ops.store, sub)
    if member is None:
        return
    payment = charge(ops, sub, plan, member, "subscription_cycle", method_id)
    start = max(ops.now, parse_iso(sub["ends_at"])) if sub["ends_at"] else ops.now
    new_end = _ends(plan, start)
    _status_change(ops, sub, "active", "renewed", ends_at=iso(new_end) if new_end else None, _failures=0)
    ops.emit(
        "subscription.renewed",
        {**sub_ref(sub), "ends_at": sub["ends_at"], "payment_id": payment["id"]},
        sub["project_id"],
    )


def fail_payment(ops: Ops, sub: Obj, reason: str = "card_declined", method_id: str | None = None) -> None:
    """payment.failed paired with subscription.past_due; the MAX_PAYMENT_FAILURES-th failure in a row
    ends the grace period instead: payment.failed → subscription.unpaid."""
    plan, member = plan_of(ops.store, sub), member_of(ops.store, sub)
    if member is None:
        return
    payment = records.insert_payment(
        ops.store,
        plan,
        member,
        subscription=sub,
        status="failed",
        provider=sub["provider"],
        method_id=method_id,
        at=ops.now,
        billing_reason="subscription_cycle",
    )
    data = {**_payment_data(sub, payment), "reason": reason}
    ops.emit("payment.failed", data, sub["project_id"])
    failures = int(sub.get("_failures", 0)) + 1
    ids = {**sub_ref(sub), "provider": sub["provider"]}
    if failures >= MAX_PAYMENT_FAILURES:
        _status_change(ops, sub, "unpaid", "unpaid", _failures=failures)
        ops.emit("subscription.unpaid", ids, sub["project_id"])
    else:
        _status_change(ops, sub, "past_due", "past_due", _failures=failures)
        ops.emit(
            "subscription.past_due",
            {**ids, "external_payment_id": payment["external_payment_id"]},
            sub["project_id"],
        )


def pending_payment(ops: Ops, member: Obj, plan: Obj, *, provider: str, method_id: str | None) -> Obj:
    """A checkout awaiting confirmation: a `pending` payment with no subscription yet, `payment.pending`."""
    payment = records.insert_payment(
        ops.store,
        plan,
        member,
        subscription=None,
        status="pending",
        provider=provider,
        method_id=method_id,
        at=ops.now,
        billing_reason="subscription_create",
    )
    crypto = provider == "coinpayments"
    data = {
        "provider": provider,
        "plan_id": plan["id"],
        "subscriber_id": member["id"],
        "session_id": None if crypto else records.external_id(provider, "session"),
        "order_id": records.external_id(provider, "order") if crypto else None,
    }
    ops.emit("payment.pending", data, member["project_id"])
    return payment


def refund(ops: Ops, payment: Obj) -> None:
    """payment.refunded, then subscription.refunded when the payment belongs to a subscription."""
    payment["status"] = "refunded"
    sub = ops.store.get("subscriptions", payment["subscription_id"]) if payment["subscription_id"] else None
    ops.emit("payment.refunded", _payment_data(sub, payment), payment["project_id"])
    if sub is not None:
        data = {
            **sub_ref(sub),
            "payment_id": payment["id"],
            "amount": payment["amount"],
            "currency": payment["currency"],
        }
        ops.log(
            "project-subscription",
            sub,
            "refunded",
            "Payment refunded",
            payment_id={"from": None, "to": payment["id"]},
        )
        ops.emit("subscription.refunded", data, sub["project_id"])


# --- plan changes, pause, reactivation ----------------------------------------------------------------------
def change_plan(ops: Ops, sub: Obj, new_plan: Obj) -> None:
    """subscription.upgraded / .downgraded with a signed proration: the price difference times the share
    of the current period still to run."""
    old_plan = plan_of(ops.store, sub)
    diff = records.price_of(new_plan) - records.price_of(old_plan)
    share = Decimal(1)
    period = records.period_seconds(old_plan)
    if period and sub["ends_at"]:
        left = max(0.0, min(period, parse_iso(sub["ends_at"]) - ops.now))
        share = Decimal(str(left / period))
    kind = "upgraded" if diff > 0 else "downgraded"
    _status_change(ops, sub, sub["status"], kind, plan_id=new_plan["id"])
    data = {
        "subscription_id": sub["id"],
        "subscriber_id": sub["subscriber_id"],
        "from_plan_id": old_plan["id"],
        "to_plan_id": new_plan["id"],
        "proration_amount": money(diff * share),
    }
    ops.emit(f"subscription.{kind}", data, sub["project_id"])


def pause(ops: Ops, sub: Obj) -> None:
    _status_change(ops, sub, "paused", "paused")
    ops.emit("subscription.paused", {**sub_ref(sub), "paused_at": sub["updated_at"]}, sub["project_id"])


def unpause(ops: Ops, sub: Obj) -> None:
    """subscription.unpaused, then subscription.activated (the docs define it for paused → active too)."""
    _status_change(ops, sub, "active", "unpaused")
    ops.emit("subscription.unpaused", {**sub_ref(sub), "ends_at": sub["ends_at"]}, sub["project_id"])
    ops.emit("subscription.activated", {**sub_ref(sub), "ends_at": sub["ends_at"]}, sub["project_id"])


def reactivate(ops: Ops, sub: Obj) -> None:
    """A cancelled subscription resumes before `ends_at` (the scheduled expiry then does nothing)."""
    _status_change(ops, sub, "active", "reactivated", canceled_at=None, cancel_at_period_end=False)
    ops.emit("subscription.reactivated", {**sub_ref(sub), "ends_at": sub["ends_at"]}, sub["project_id"])


# --- members ------------------------------------------------------------------------------------------------
def _live_subs(store: Store, member: Obj) -> list[Obj]:
    now = store.clock.now()
    return store.rows("subscriptions", lambda s: s["subscriber_id"] == member["id"] and is_live(s, now))


def ban(ops: Ops, member: Obj, reason: str | None) -> None:
    """member.banned, then subscription.cancelled for each live subscription (access ends now).
    Banning a banned member is a no-op with no event."""
    if member["status"] == "banned":
        return
    _set_member_status(ops, member, "banned")
    ops.emit("member.banned", {"subscriber": subscriber_ref(member), "reason": reason}, member["project_id"])
    for sub in _live_subs(ops.store, member):
        revoke(ops, sub)


def kick(ops: Ops, member: Obj, reason: str | None) -> None:
    """member.kicked (→ churned), then subscription.cancelled for each live subscription.
    [convention] Kicking a banned member changes nothing: the ban stays."""
    if member["status"] == "banned":
        return
    _set_member_status(ops, member, "churned")
    ops.emit("member.kicked", {"subscriber": subscriber_ref(member), "reason": reason}, member["project_id"])
    for sub in _live_subs(ops.store, member):
        revoke(ops, sub)


def unban(ops: Ops, member: Obj) -> None:
    """member.unbanned (→ churned). [convention] Unbanning a member who is not banned is a no-op."""
    if member["status"] != "banned":
        return
    _set_member_status(ops, member, "churned")
    ops.emit("member.unbanned", {"subscriber": subscriber_ref(member)}, member["project_id"])


def remove_inactive(ops: Ops, member: Obj) -> None:
    """member.removed: taken out of the project's chats for inactivity, without a ban; the status stays."""
    ops.log("project-user", member, "removed", "Member removed for inactivity")
    ops.emit(
        "member.removed", {"subscriber": subscriber_ref(member), "reason": "inactivity"}, member["project_id"]
    )
