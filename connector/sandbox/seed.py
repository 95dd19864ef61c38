"""The `demo` seed: a Growth-tier team with two projects and 90 days of subscriber history.

Catalog objects (projects, bots, resources, plans) are created through the shared functions, so their
creation events are in the feed. The subscriber history (members, subscriptions, payments) is written
back-dated and without events: it happened before anyone could have subscribed to it. Every subscription
status a creator meets is present (active, trial, converted trial, past due, cancelled, expired, paused,
banned), payments include a refund and a pending checkout, and amounts are in USD and EUR.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from connector.sandbox import records
from connector.sandbox.abilities import ALL_ABILITIES, READ_ONLY_ABILITIES
from connector.sandbox.lifecycle import schedule_expiry, schedule_trial_converting
from connector.sandbox.records import DAY
from connector.sandbox.routes import payment_methods, plans, project_bots, projects, resources
from connector.sandbox.routes.team_admin import add_member, create_group, create_role
from connector.sandbox.routes.teams import create_team
from connector.sandbox.simulate import random_name
from connector.sandbox.store import Obj, Store
from connector.sandbox.timeutil import iso
from connector.sandbox.tokens import mint_token

PROJECTS: tuple[dict[str, Any], ...] = (
    {
        "name": "Crypto Signals Club",
        "description": "Daily market signals and a members-only discussion group.",
        "currency": "USD",
        "providers": ("stripe", "paypal"),
        # name, price, cycle, count, trial days
        "plans": (
            ("Monthly Membership", "29.00", "months", 1, 0),
            ("Annual Membership", "290.00", "years", 1, 0),
            ("Weekly Pass", "9.00", "weeks", 1, 7),
        ),
    },
    {
        "name": "Yoga Every Day",
        "description": "Live classes, recordings and a community chat.",
        "currency": "EUR",
        "providers": ("stripe", "coinpayments"),
        "plans": (
            ("Studio Monthly", "19.00", "months", 1, 7),
            ("Studio Quarterly", "49.00", "months", 3, 0),
            ("Studio Yearly", "179.00", "years", 1, 0),
        ),
    },
)
# One member per scenario and project; the last one differs per project.
SCENARIOS = (
    "trial_converted",
    "active",
    "active",
    "active_refund",
    "trialing",
    "past_due",
    "canceled",
    "expired",
    "paused",
)
LAST_SCENARIO = ("lead", "banned")


@dataclass
class History:
    """Members and subscriptions are written as they are made; payments are queued and written in time
    order at the end, so that newest-first lists and keyset cursors follow `occurred_at`."""

    store: Store
    team_id: str
    now: float
    rng: random.Random
    payments: list[tuple[float, dict[str, Any]]] = field(default_factory=list)

    def pay(self, at: float, sub: Obj | None, plan: Obj, member: Obj, method: Obj, **kw: Any) -> None:
        spec = {"subscription": sub, "plan": plan, "member": member, "method_id": method["id"], **kw}
        spec.setdefault("provider", method["provider"])
        spec.setdefault("status", "successful")
        spec.setdefault("billing_reason", "subscription_cycle")
        self.payments.append((at, spec))

    def flush(self) -> None:
        for at, spec in sorted(self.payments, key=lambda item: item[0]):
            plan, member = spec.pop("plan"), spec.pop("member")
            records.insert_payment(self.store, plan, member, at=at, **spec)

    def cycles(self, sub: Obj, plan: Obj, member: Obj, method: Obj, first: float, until: float) -> float:
        """Successful charges every period from ``first`` while before ``until``; returns the period end."""
        period = records.period_seconds(plan)
        if period is None:  # lifetime: one charge
            self.pay(first, sub, plan, member, method, billing_reason="subscription_create")
            return first
        at, reason = first, "subscription_create"
        while at <= until:
            self.pay(at, sub, plan, member, method, billing_reason=reason)
            reason = "subscription_cycle"
            at += period
        return at


def _subscribe(h: History, member: Obj, plan: Obj, method: Obj, start: float, scenario: str) -> None:
    """Write one member's subscription and payments for ``scenario``."""
    sub = records.insert_subscription(
        h.store, member, plan, status="active", provider=method["provider"], at=start
    )
    period = records.period_seconds(plan) or 30 * DAY
    member["status"] = "customer"
    if scenario == "trialing":
        trial_end = start + 7 * DAY
        records.touch(sub, start, status="trialing", trial_ends_at=iso(trial_end), ends_at=iso(trial_end))
        member["status"] = "trialing"
        schedule_trial_converting(h.store, h.team_id, sub)
        return
    first = start
    if scenario == "trial_converted":
        first = start + int(plan.get("trial_days") or 7) * DAY
        sub["trial_ends_at"] = iso(first)
    if scenario == "expired":
        h.pay(start, sub, plan, member, method, billing_reason="subscription_create")
        records.touch(sub, start + period, status="expired", ends_at=iso(start + period))
        sub["canceled_at"], sub["cancel_at_period_end"] = iso(start + 10 * DAY), True
        member["status"] = "churned"
        return
    until = h.now - period if scenario == "past_due" else h.now
    ends = h.cycles(sub, plan, member, method, first, until)
    records.touch(sub, max(first, ends - period), ends_at=iso(ends))
    _finish(h, sub, plan, member, method, scenario, ends)


def _finish(h: History, sub: Obj, plan: Obj, member: Obj, method: Obj, scenario: str, ends: float) -> None:
    if scenario == "past_due":
        h.pay(ends, sub, plan, member, method, status="failed")
        records.touch(sub, ends, status="past_due", _failures=1)
    elif scenario == "active_refund":
        h.pay(
            h.now - 3 * DAY,
            sub,
            plan,
            member,
            method,
            status="refunded",
            billing_reason="subscription_update",
        )
    elif scenario == "canceled":
        records.touch(sub, h.now - 2 * DAY, status="canceled", canceled_at=iso(h.now - 2 * DAY))
        sub["cancel_at_period_end"] = True
        schedule_expiry(h.store, h.team_id, sub)
    elif scenario == "paused":
        records.touch(sub, h.now - 3 * DAY, status="paused")
    elif scenario == "banned":
        banned_at = iso(h.now - 6 * DAY)
        records.touch(sub, h.now - 6 * DAY, status="canceled", canceled_at=banned_at, ends_at=banned_at)
        member["status"] = "banned"


def _catalog(
    store: Store, team_id: str, spec: dict[str, Any], rng: random.Random
) -> tuple[Obj, list[Obj], list[Obj]]:
    project = projects.create_project(
        store, team_id, {"name": spec["name"], "description": spec["description"]}
    )
    project_bots.attach_bot(
        store, project, project_bots.new_bot(store, team_id, project_bots.default_bot_name(store, project))
    )
    channel = resources.create_resource(
        store,
        team_id,
        project,
        {
            "type": "channel",
            "title": f"{spec['name']} channel",
            "chat_id": -1001000000000 - rng.randint(1, 10**8),
            "linked": True,
        },
    )
    group = resources.create_resource(
        store,
        team_id,
        project,
        {
            "type": "supergroup",
            "title": f"{spec['name']} chat",
            "chat_id": -1002000000000 - rng.randint(1, 10**8),
            "linked": True,
        },
    )
    methods = [
        payment_methods.add_payment_method(store, team_id, project["id"], p) for p in spec["providers"]
    ]
    made = []
    for name, price, cycle, count, trial in spec["plans"]:
        fields = {
            "name": name,
            "price": price,
            "currency": spec["currency"],
            "billing_cycle": cycle,
            "billing_cycle_count": count,
            "trial_days": trial,
            "resources": [channel["id"], group["id"]],
        }
        made.append(plans.create_plan(store, team_id, project, fields))
    return project, made, methods


START_DAYS = {"trialing": (1.0, 5.0), "expired": (50.0, 88.0), "past_due": (65.0, 88.0)}
SHORT_PLAN_SCENARIOS = ("trialing", "trial_converted", "past_due", "expired")


def _members(h: History, project: Obj, plan_list: list[Obj], methods: list[Obj], last: str) -> None:
    """Ten members, inserted in the order they joined; short-cycle plans where the story needs one."""
    shortest = min(plan_list, key=lambda p: records.period_seconds(p) or float("inf"))
    timeline = []
    for scenario in (*SCENARIOS, last):
        low, high = START_DAYS.get(scenario, (15.0, 88.0))
        timeline.append((h.now - h.rng.uniform(low, high) * DAY, scenario))
    for n, (start, scenario) in enumerate(sorted(timeline)):
        name = random_name(h.rng)
        email = f"{name.lower().replace(' ', '.')}.{n}@example.com"
        member = records.insert_member(
            h.store,
            h.team_id,
            project["id"],
            name=name,
            email=email,
            chat_id=h.rng.randint(10**8, 10**10),
            at=start,
            email_verified=n % 2 == 0,
        )
        plan = shortest if scenario in SHORT_PLAN_SCENARIOS else plan_list[n % len(plan_list)]
        method = methods[n % len(methods)]
        if scenario == "lead":
            h.pay(
                h.now - DAY,
                None,
                plan,
                member,
                method,
                status="pending",
                billing_reason="subscription_create",
            )
        else:
            _subscribe(h, member, plan, method, start, scenario)


def seed_demo(store: Store) -> dict[str, Any]:
    """Create the demo team and answer `{team_id, project_ids, tokens: {full, read_only, project_scoped}}`."""
    rng = random.Random(2026)
    with store.lock:
        now = store.clock.now()
        team = create_team(store, "Demo Creators", tier="growth")
        team.update(created_at=iso(now - 120 * DAY), _owner_name="Dana Demo", _owner_email="dana@example.com")
        history = History(store, team["id"], now, rng)
        project_ids = []
        for spec, last in zip(PROJECTS, LAST_SCENARIO, strict=True):
            project, plan_list, methods = _catalog(store, team["id"], spec, rng)
            project_ids.append(project["id"])
            _members(history, project, plan_list, methods, last)
        history.flush()
        _team_admin(store, team, project_ids)
        owner = team["owner_user_id"]
        full, _ = mint_token(
            store, team["id"], list(ALL_ABILITIES), owner_user_id=owner, name="Demo full access"
        )
        read_only, _ = mint_token(
            store, team["id"], list(READ_ONLY_ABILITIES), owner_user_id=owner, name="Demo read-only"
        )
        scoped, _ = mint_token(
            store,
            team["id"],
            list(ALL_ABILITIES),
            project_ids=project_ids[:1],
            owner_user_id=owner,
            name="Demo project-scoped",
        )
    return {
        "team_id": team["id"],
        "project_ids": project_ids,
        "tokens": {"full": full, "read_only": read_only, "project_scoped": scoped},
    }


def _team_admin(store: Store, team: Obj, project_ids: list[str]) -> None:
    manager = create_role(
        store,
        team["id"],
        "Manager",
        "manager",
        [
            "project:view-any",
            "project:view",
            "project:update",
            "project-user:view-any",
            "project-user:update",
        ],
    )
    create_role(store, team["id"], "Viewer", "viewer", ["project:view-any", "project:view", "dashboard:read"])
    create_group(store, team["id"], "All communities", project_ids)
    add_member(store, team["id"], name="Sam Support", email="sam@example.com", role_id=manager["id"])
