"""`POST /_sandbox/simulate`: N lifecycle changes of the given kinds, each a real state change.

Kinds run round-robin in the order given (all kinds, in :data:`KINDS` order, when none are given); the
rotation continues across calls for the same team and kinds, so `count: 1` calls in a loop cycle through
every kind. Subjects (which member, which subscription) are drawn with a
seeded `random.Random` kept per sandbox, so a fresh sandbox replays the same choices. When a kind finds no
eligible subject it first creates one through other kinds (a renewal with no active subscription signs
someone up first); those events are part of the answer too. Without a `project_id`, subjects come from all
of the team's projects and new ones go to a random project; a team with no project gets one (with a
resource, a plan and a Stripe test gateway).

Kind notes ([convention] where the docs are silent):
- `trial_convert` sends `subscription.trial_converting` first unless the scheduled 24-hour notice did;
- `payment_failed` retries a `past_due` subscription first (as providers do), else fails an active one;
  the third failure in a row makes it `unpaid`;
- `expire` prefers `unpaid` subscriptions (`unpaid → expired → churned`), then cancelled ones;
- `kick` alternates a creator's kick (`member.kicked`) and an inactivity removal (`member.removed`);
- `team_change` and `billing` step through their event families (:mod:`connector.sandbox.team_events`).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from connector.sandbox import lifecycle, records
from connector.sandbox.lifecycle import Ops
from connector.sandbox.routes import access_codes, payment_methods, plans, projects, resources
from connector.sandbox.store import Obj, Store, public
from connector.sandbox.team_events import CreatorBilling, TeamChanges

KINDS = (
    "signup",
    "trial_start",
    "trial_convert",
    "trial_expire",
    "renewal",
    "payment_failed",
    "payment_pending",
    "cancel",
    "expire",
    "refund",
    "upgrade",
    "downgrade",
    "pause",
    "unpause",
    "reactivate",
    "redeem_code",
    "ban",
    "unban",
    "kick",
    "team_change",
    "billing",
)
DEFAULT_SEED = 20260501
CARD_PROVIDERS = ("stripe", "paypal", "razorpay", "paystack", "skrill", "coinpayments", "ceypay")
FAIL_REASONS = ("card_declined", "insufficient_funds", "expired_card", "risk_blocked")
FIRST = ("Ada", "Ben", "Chloe", "Dev", "Elif", "Farah", "Goran", "Hana", "Ivo", "Jun", "Kofi", "Lena")
LAST = ("Silva", "Okafor", "Novak", "Perera", "Tanaka", "Meyer", "Haddad", "Larsen", "Rossi", "Kim")


@dataclass
class SimState:
    """Per-sandbox simulation state: the seeded RNG and, per team, the position in each rotation."""

    rng: random.Random = field(default_factory=lambda: random.Random(DEFAULT_SEED))
    turns: dict[tuple[str, str], int] = field(default_factory=dict)


def random_name(rng: random.Random) -> str:
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


class Simulation:
    def __init__(self, store: Store, state: SimState, team_id: str, project_id: str | None) -> None:
        self.store = store
        self.state = state
        self.rng = state.rng
        self.team_id = team_id
        self.fixed_project = project_id
        self.ops = Ops(store, team_id)

    @property
    def now(self) -> float:
        return self.store.clock.now()

    def turn(self, kind: str) -> int:
        key = (self.team_id, kind)
        self.state.turns[key] = self.state.turns.get(key, -1) + 1
        return self.state.turns[key]

    # --- prerequisites ---------------------------------------------------------------------------------
    def project_ids(self) -> list[str]:
        if self.fixed_project:
            return [self.fixed_project]
        return [p["id"] for p in self.store.rows("projects", lambda p: p["_team"] == self.team_id)][::-1]

    def project(self) -> Obj:
        ids = self.project_ids()
        if ids:
            project = self.store.get("projects", self.rng.choice(ids))
            assert project is not None
            return project
        return projects.create_project(self.store, self.team_id, {"name": "Simulated Community"})

    def plans_of(self, project: Obj) -> list[Obj]:
        rows = self.store.rows("plans", lambda p: p["project_id"] == project["id"] and p["active"])
        return [p for p in rows if records.period_seconds(p) is not None][::-1]

    def resource(self, project: Obj) -> Obj:
        owned = self.store.rows("resources", lambda r: r["project_id"] == project["id"])
        if owned:
            return owned[0]
        chat_id = -1001000000000 - self.rng.randint(1, 10**6)
        fields = {"type": "channel", "title": "Members channel", "chat_id": chat_id, "linked": True}
        return resources.create_resource(self.store, self.team_id, project, fields)

    def new_plan(self, project: Obj, price: str) -> Obj:
        resource = self.resource(project)
        fields = {
            "name": f"Membership {self.rng.randint(1000, 9999)}",
            "price": price,
            "currency": "USD",
            "billing_cycle": "months",
            "billing_cycle_count": 1,
            "resources": [resource["id"]],
            "trial_days": 7,
        }
        return plans.create_plan(self.store, self.team_id, project, fields)

    def plan(self, project: Obj) -> Obj:
        options = self.plans_of(project)
        return self.rng.choice(options) if options else self.new_plan(project, "29.00")

    def method(self, project: Obj) -> Obj:
        rows = self.store.rows(
            "payment_methods",
            lambda m: m["project_id"] == project["id"] and m["active"] and m["provider"] in CARD_PROVIDERS,
        )
        if rows:
            return self.rng.choice(rows[::-1])
        return payment_methods.add_payment_method(self.store, self.team_id, project["id"], "stripe")

    def new_member(self, project: Obj) -> Obj:
        name = random_name(self.rng)
        email = f"{name.lower().replace(' ', '.')}.{self.rng.randint(1000, 9999)}@example.com"
        return records.insert_member(
            self.store,
            self.team_id,
            project["id"],
            name=name,
            email=email,
            chat_id=self.rng.randint(10**8, 10**10),
            at=self.now,
        )

    def in_scope(self, row: Obj) -> bool:
        return row["_team"] == self.team_id and (self.fixed_project in (None, row["project_id"]))

    def pick(self, table: str, where: Callable[[Obj], bool]) -> Obj | None:
        rows = self.store.rows(table, lambda o: self.in_scope(o) and where(o))
        return self.rng.choice(rows[::-1]) if rows else None

    def sub(self, *statuses: str, where: Callable[[Obj], bool] = lambda _: True) -> Obj | None:
        return self.pick(
            "subscriptions", lambda s: s["status"] in statuses and not s.get("_cancel_queued") and where(s)
        )


# --- kinds ------------------------------------------------------------------------------------------------
def _start(sim: Simulation, *, trial: bool = False, plan: Obj | None = None) -> Obj:
    project = sim.store.get("projects", plan["project_id"]) if plan else sim.project()
    assert project is not None
    method = sim.method(project)
    return lifecycle.subscribe(
        sim.ops,
        sim.new_member(project),
        plan or sim.plan(project),
        provider=method["provider"],
        method_id=method["id"],
        trial=trial,
    )


def signup(sim: Simulation) -> None:
    _start(sim)


def trial_start(sim: Simulation) -> None:
    _start(sim, trial=True)


def trial_convert(sim: Simulation) -> None:
    lifecycle.convert_trial(sim.ops, sim.sub("trialing") or _start(sim, trial=True))


def trial_expire(sim: Simulation) -> None:
    lifecycle.expire_trial(sim.ops, sim.sub("trialing") or _start(sim, trial=True))


def _recurring(sub: Obj) -> bool:
    return sub["ends_at"] is not None


def renewal(sim: Simulation) -> None:
    lifecycle.renew(sim.ops, sim.sub("active", "past_due", where=_recurring) or _start(sim))


def payment_failed(sim: Simulation) -> None:
    sub = sim.sub("past_due") or sim.sub("active", where=_recurring) or _start(sim)
    lifecycle.fail_payment(sim.ops, sub, sim.rng.choice(FAIL_REASONS))


def payment_pending(sim: Simulation) -> None:
    project = sim.project()
    method = sim.method(project)
    lifecycle.pending_payment(
        sim.ops,
        sim.new_member(project),
        sim.plan(project),
        provider=method["provider"],
        method_id=method["id"],
    )


def cancel(sim: Simulation) -> None:
    sub = sim.sub("active", "trialing", "past_due", where=_recurring) or _start(sim)
    lifecycle.cancel(sim.ops, sub, at_period_end=True)


def _ending_later(sim: Simulation) -> Callable[[Obj], bool]:
    return lambda s: records.is_live(s, sim.now)


def expire(sim: Simulation) -> None:
    sub = sim.sub("unpaid") or sim.sub("canceled", where=_ending_later(sim)) or sim.sub("active", "past_due")
    lifecycle.expire(sim.ops, sub or _start(sim))


def refund(sim: Simulation) -> None:
    payment = sim.pick("payments", lambda p: p["status"] == "successful" and p["subscription_id"] is not None)
    if payment is None:
        sub = _start(sim)
        payment = sim.store.rows("payments", lambda p: p["subscription_id"] == sub["id"])[0]
    lifecycle.refund(sim.ops, payment)


def _change_plan(sim: Simulation, up: bool) -> None:
    """Move an active subscription to a pricier (`up`) or cheaper plan of its project, creating the
    subscription or the other plan when missing."""

    def better(sub: Obj, plan: Obj) -> bool:
        diff = records.price_of(plan) - records.price_of(lifecycle.plan_of(sim.store, sub))
        return diff > 0 if up else diff < 0

    def has_target(sub: Obj) -> bool:
        project = sim.store.get("projects", sub["project_id"])
        return project is not None and any(better(sub, p) for p in sim.plans_of(project))

    sub = sim.sub("active", where=lambda s: _recurring(s) and has_target(s))
    if sub is None:
        sub = sim.sub("active", where=_recurring) or _start(sim)
        if not has_target(sub):
            sub = _make_target(sim, sub, up)
    project = sim.store.get("projects", sub["project_id"])
    assert project is not None
    lifecycle.change_plan(sim.ops, sub, sim.rng.choice([p for p in sim.plans_of(project) if better(sub, p)]))


def _make_target(sim: Simulation, sub: Obj, up: bool) -> Obj:
    """Add a plan to move to: a pricier one for an upgrade; for a downgrade a cheaper one, or, when the
    subscription is already on a (near) free plan, a pricier plan to start a new subscription on."""
    project = sim.store.get("projects", sub["project_id"])
    assert project is not None
    current = records.price_of(lifecycle.plan_of(sim.store, sub))
    if up:
        sim.new_plan(project, str(current * 2 + 5))
        return sub
    if current >= 2:
        sim.new_plan(project, str((current / 2).quantize(Decimal("0.01"))))
        return sub
    return _start(sim, plan=sim.new_plan(project, str(current + 29)))


def upgrade(sim: Simulation) -> None:
    _change_plan(sim, up=True)


def downgrade(sim: Simulation) -> None:
    _change_plan(sim, up=False)


def pause(sim: Simulation) -> None:
    lifecycle.pause(sim.ops, sim.sub("active", where=_recurring) or _start(sim))


def unpause(sim: Simulation) -> None:
    sub = sim.sub("paused")
    if sub is None:
        sub = sim.sub("active", where=_recurring) or _start(sim)
        lifecycle.pause(sim.ops, sub)
    lifecycle.unpause(sim.ops, sub)


def reactivate(sim: Simulation) -> None:
    sub = sim.sub("canceled", where=_ending_later(sim))
    if sub is None:
        sub = sim.sub("active", where=_recurring) or _start(sim)
        lifecycle.cancel(sim.ops, sub, at_period_end=True)
    lifecycle.reactivate(sim.ops, sub)


def redeem_code(sim: Simulation) -> None:
    """Redeem an unused code (generating a batch of 5 first when there is none): subscription.created →
    member.joined → member.resource_added… → access_code.redeemed."""
    now = sim.store.iso_now()
    code = sim.pick("access_codes", lambda c: access_codes.code_status(c, now) == "unredeemed")
    plan = sim.store.get("plans", code["plan_id"]) if code else None
    if code is None or plan is None:
        plan = sim.plan(sim.project())
        _, batch = access_codes.generate_codes(sim.store, sim.team_id, plan, 5, None)
        code = batch[0]
    project = sim.store.get("projects", plan["project_id"])
    assert project is not None
    member = sim.new_member(project)
    access_codes.redeem_code(sim.store, code, member["id"])
    sub = lifecycle.subscribe(sim.ops, member, plan, provider="access_codes", access_code=code["_code"])
    data = {**records.sub_ref(sub), "access_code": access_codes.webhook_mask(code["_code"])}
    sim.ops.emit("access_code.redeemed", data, sub["project_id"])


def _member(sim: Simulation, *statuses: str) -> Obj:
    member = sim.pick("members", lambda m: m["status"] in statuses)
    if member is not None:
        return member
    found = sim.store.get("members", _start(sim)["subscriber_id"])
    assert found is not None
    return found


def ban(sim: Simulation) -> None:
    member = _member(sim, "customer", "trialing", "churned")
    lifecycle.ban(sim.ops, member, sim.rng.choice(("spam", "abuse", "chargeback", None)))


def unban(sim: Simulation) -> None:
    member = sim.pick("members", lambda m: m["status"] == "banned")
    if member is None:
        member = _member(sim, "customer", "trialing", "churned")
        lifecycle.ban(sim.ops, member, "spam")
    lifecycle.unban(sim.ops, member)


def kick(sim: Simulation) -> None:
    if sim.turn("kick") % 2 == 0:
        lifecycle.kick(sim.ops, _member(sim, "customer", "trialing"), sim.rng.choice(("rules", None)))
        return
    member = sim.pick("members", lambda m: m["status"] in ("lead", "churned")) or sim.new_member(
        sim.project()
    )
    lifecycle.remove_inactive(sim.ops, member)


def team_change(sim: Simulation) -> None:
    TeamChanges(sim.ops, sim.rng).team_step(sim.turn("team_change"))


def billing(sim: Simulation) -> None:
    CreatorBilling(sim.ops).step(sim.turn("billing"))


HANDLERS: dict[str, Callable[[Simulation], None]] = {
    "signup": signup,
    "trial_start": trial_start,
    "trial_convert": trial_convert,
    "trial_expire": trial_expire,
    "renewal": renewal,
    "payment_failed": payment_failed,
    "payment_pending": payment_pending,
    "cancel": cancel,
    "expire": expire,
    "refund": refund,
    "upgrade": upgrade,
    "downgrade": downgrade,
    "pause": pause,
    "unpause": unpause,
    "reactivate": reactivate,
    "redeem_code": redeem_code,
    "ban": ban,
    "unban": unban,
    "kick": kick,
    "team_change": team_change,
    "billing": billing,
}
assert tuple(HANDLERS) == KINDS


def simulate(
    store: Store, state: SimState, team_id: str, project_id: str | None, count: int, kinds: list[str]
) -> list[Obj]:
    """Run ``count`` changes under the store lock; return the emitted event envelopes, oldest first."""
    with store.lock:
        marker = store.next_seq()
        sim = Simulation(store, state, team_id, project_id)
        order = kinds or list(KINDS)
        key = (team_id, "|".join(order))
        start = state.turns.get(key, 0)
        for i in range(start, start + count):
            HANDLERS[order[i % len(order)]](sim)
        state.turns[key] = start + count
        events = [e for e in store.table("events").values() if e["_seq"] > marker and e["_team"] == team_id]
    events.sort(key=lambda e: e["_seq"])
    return [public(e) for e in events]
