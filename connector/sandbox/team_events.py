"""Team-level changes for the simulation: collaborators, roles, groups, sibling teams and the creator's own
MemberPass billing. Every event here is team-level (`project_id` null, webhooks.md §2).

Each step changes stored state, creating what it needs first (e.g. `team.member.joined` with no pending
invitation invites someone, emitting `team.member.invited`, then accepts). [convention] Shapes where the
docs give none: `team.created` / `team.deleted` `{team: {id, name, owner_user_id, personal}}` for a sibling
team of the same owner; `role.created` / `role.deleted` `{team_id, role}` and `group.*` likewise;
invoices `{creator_id, invoice_id, tier, amount, currency, …}`. Billing writes `_past_due_since`,
`_locked_at` and `_tier_cancel_at` on the team (recorded, not enforced) and really changes `_tier`.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from connector.sandbox.ids import new_id
from connector.sandbox.lifecycle import Ops
from connector.sandbox.routes.team_admin import add_member, create_group, create_role, invite
from connector.sandbox.routes.teams import create_team
from connector.sandbox.store import Obj
from connector.sandbox.timeutil import iso

TEAM_STEPS = (
    "team.created",
    "team.member.invited",
    "team.member.joined",
    "team.member.role_changed",
    "team.member.removed",
    "role.created",
    "role.updated",
    "role.deleted",
    "group.created",
    "group.updated",
    "group.deleted",
    "team.deleted",
)
BILLING_STEPS = (
    "billing.invoice_created",
    "billing.invoice_overdue",
    "billing.payment_failed",
    "billing.grace_period_warning",
    "billing.account_locked",
    "billing.invoice_paid",
    "billing.tier_downgraded",
    "billing.tier_upgraded",
    "billing.tier_cancelled",
)
TIER_LADDER = ("free", "starter", "growth")
TIER_PRICES = {"free": "0.00", "starter": "19.00", "growth": "49.00"}
ROLE_ABILITIES = (
    ["project:view-any", "project:view", "project-user:view-any"],
    ["project:view-any", "project-subscription:view-any", "dashboard:read"],
)
DAY = 86_400.0


class TeamChanges:
    def __init__(self, ops: Ops, rng: random.Random) -> None:
        self.ops = ops
        self.rng = rng
        self.store = ops.store
        self.team_id = ops.team_id

    @property
    def team(self) -> Obj:
        team = self.store.get("teams", self.team_id)
        assert team is not None
        return team

    def emit(self, event_type: str, data: Obj) -> None:
        self.ops.emit(event_type, data, None)

    def _mine(self, table: str, where: Callable[[Obj], bool] = lambda _: True) -> list[Obj]:
        return self.store.rows(table, lambda o: o["_team"] == self.team_id and where(o))

    # --- sibling teams ---------------------------------------------------------------------------------
    def team_created(self) -> Obj:
        team = self.team
        sibling = create_team(
            self.store,
            f"{team['name']} Studio {self.rng.randint(100, 999)}",
            tier=team.get("_tier", "growth"),
            owner_user_id=team["owner_user_id"],
            personal=False,
        )
        sibling["_sibling_of"] = self.team_id
        self.emit("team.created", {"team": _team_view(sibling)})
        return sibling

    def team_deleted(self) -> None:
        siblings = self.store.rows("teams", lambda t: t.get("_sibling_of") == self.team_id)
        sibling = siblings[0] if siblings else self.team_created()
        self.store.delete("teams", sibling["id"])
        self.emit("team.deleted", {"team": _team_view(sibling)})

    # --- collaborators ---------------------------------------------------------------------------------
    def _role(self) -> Obj:
        roles = self._mine("roles")
        return self.rng.choice(roles) if roles else self.role_created()

    def member_invited(self) -> Obj:
        email = f"collaborator-{new_id('x')[-8:].lower()}@example.com"
        return invite(self.ops, self.team_id, email, self._role())

    def member_joined(self) -> Obj:
        pending = self._mine("team_invitations", lambda i: i["status"] == "pending")
        invitation = pending[-1] if pending else self.member_invited()
        invitation["status"] = "accepted"
        name = invitation["email"].split("@")[0].replace("-", " ").title()
        member = add_member(
            self.store, self.team_id, name=name, email=invitation["email"], role_id=invitation["role_id"]
        )
        self.ops.log("team-member", member, "joined", f"{name} joined the team")
        self.emit("team.member.joined", {"team_id": self.team_id, "user_id": member["id"]})
        return member

    def _collaborator(self) -> Obj:
        members = self._mine("team_members")
        return self.rng.choice(members) if members else self.member_joined()

    def member_role_changed(self) -> None:
        member = self._collaborator()
        others = [r for r in self._mine("roles") if r["id"] != member["role_id"]]
        role = self.rng.choice(others) if others else self.role_created()
        member["role_id"] = role["id"]
        self.ops.log("team-member", member, "role_changed", "Role changed")
        self.emit(
            "team.member.role_changed",
            {"team_id": self.team_id, "user_id": member["id"], "role_id": role["id"]},
        )

    def member_removed(self) -> None:
        member = self._collaborator()
        self.store.delete("team_members", member["id"])
        self.ops.log("team-member", member, "removed", "Removed from the team")
        self.emit("team.member.removed", {"team_id": self.team_id, "user_id": member["id"]})

    # --- roles and groups ------------------------------------------------------------------------------
    def role_created(self) -> Obj:
        number = self.rng.randint(100, 999)
        role = create_role(
            self.store,
            self.team_id,
            f"Moderator {number}",
            f"moderator_{number}",
            self.rng.choice(ROLE_ABILITIES),
        )
        self.emit("role.created", {"team_id": self.team_id, "role": _role_view(role)})
        return role

    def role_updated(self) -> None:
        role = self._role()
        before = list(role["abilities"])
        role["abilities"] = sorted({*before, *self.rng.choice(ROLE_ABILITIES)})
        changes = {"abilities": {"from": before, "to": role["abilities"]}}
        self.emit("role.updated", {"team_id": self.team_id, "role": _role_view(role), "changes": changes})

    def role_deleted(self) -> None:
        used = {m["role_id"] for m in self._mine("team_members")}
        used |= {i["role_id"] for i in self._mine("team_invitations", lambda i: i["status"] == "pending")}
        free = [r for r in self._mine("roles") if r["id"] not in used]
        role = free[0] if free else self.role_created()
        self.store.delete("roles", role["id"])
        self.emit("role.deleted", {"team_id": self.team_id, "role": _role_view(role)})

    def _project_ids(self) -> list[str]:
        return [p["id"] for p in self._mine("projects")]

    def group_created(self) -> Obj:
        projects = self._project_ids()
        chosen = self.rng.sample(projects, k=min(len(projects), 2))
        group = create_group(self.store, self.team_id, f"Group {self.rng.randint(100, 999)}", chosen)
        self.emit("group.created", {"team_id": self.team_id, "group": _group_view(group)})
        return group

    def group_updated(self) -> None:
        groups = self._mine("groups")
        group = self.rng.choice(groups) if groups else self.group_created()
        before = group["name"]
        group["name"] = f"{before.split(' (')[0]} ({self.rng.randint(2, 99)})"
        changes = {"name": {"from": before, "to": group["name"]}}
        self.emit("group.updated", {"team_id": self.team_id, "group": _group_view(group), "changes": changes})

    def group_deleted(self) -> None:
        groups = self._mine("groups")
        group = groups[-1] if groups else self.group_created()
        self.store.delete("groups", group["id"])
        self.emit("group.deleted", {"team_id": self.team_id, "group": _group_view(group)})

    def team_step(self, turn: int) -> None:
        step = TEAM_STEPS[turn % len(TEAM_STEPS)]
        handlers: dict[str, Callable[[], object]] = {
            "team.created": self.team_created,
            "team.member.invited": self.member_invited,
            "team.member.joined": self.member_joined,
            "team.member.role_changed": self.member_role_changed,
            "team.member.removed": self.member_removed,
            "role.created": self.role_created,
            "role.updated": self.role_updated,
            "role.deleted": self.role_deleted,
            "group.created": self.group_created,
            "group.updated": self.group_updated,
            "group.deleted": self.group_deleted,
            "team.deleted": self.team_deleted,
        }
        handlers[step]()


def _team_view(team: Obj) -> Obj:
    return {k: team[k] for k in ("id", "name", "owner_user_id", "personal")}


def _role_view(role: Obj) -> Obj:
    return {
        "id": role["id"],
        "name": role["name"],
        "code": role["code"],
        "abilities": list(role["abilities"]),
    }


def _group_view(group: Obj) -> Obj:
    return {"id": group["id"], "name": group["name"], "project_ids": list(group["project_ids"])}


class CreatorBilling:
    """The creator's own MemberPass tier and invoices (webhooks.md §9.10)."""

    def __init__(self, ops: Ops) -> None:
        self.ops = ops
        self.store = ops.store

    @property
    def team(self) -> Obj:
        team = self.store.get("teams", self.ops.team_id)
        assert team is not None
        return team

    def _emit(self, event_type: str, **data: object) -> None:
        self.ops.emit(event_type, {"creator_id": self.team["owner_user_id"], **data}, None)

    def _invoice(self, *statuses: str) -> Obj:
        open_ones = self.store.rows(
            "billing_invoices", lambda i: i["_team"] == self.ops.team_id and i["status"] in statuses
        )
        return open_ones[0] if open_ones else self.invoice_created()

    def _money(self, invoice: Obj) -> Obj:
        return {"invoice_id": invoice["id"], "amount": invoice["amount"], "currency": invoice["currency"]}

    def invoice_created(self) -> Obj:
        tier = self.team.get("_tier", "free")
        invoice = {
            "id": new_id("bil"),
            "tier": tier,
            "amount": TIER_PRICES.get(tier, "0.00"),
            "currency": "USD",
            "status": "open",
            "due_at": iso(self.ops.now + 7 * DAY),
            "created_at": iso(self.ops.now),
            "_team": self.ops.team_id,
        }
        self.store.insert("billing_invoices", invoice)
        self._emit("billing.invoice_created", tier=tier, due_at=invoice["due_at"], **self._money(invoice))
        return invoice

    def _past_due_since(self) -> str:
        team = self.team
        if team.get("_past_due_since") is None:
            team["_past_due_since"] = iso(self.ops.now)
        return str(team["_past_due_since"])

    def invoice_overdue(self) -> None:
        invoice = self._invoice("open")
        invoice["status"] = "overdue"
        self._emit(
            "billing.invoice_overdue",
            due_at=invoice["due_at"],
            past_due_since=self._past_due_since(),
            **self._money(invoice),
        )

    def payment_failed(self) -> None:
        invoice = self._invoice("overdue", "open")
        self._past_due_since()
        self._emit("billing.payment_failed", reason="card_declined", **self._money(invoice))

    def grace_period_warning(self) -> None:
        self._emit(
            "billing.grace_period_warning", past_due_since=self._past_due_since(), days_until_lockdown=7
        )

    def account_locked(self) -> None:
        since = self._past_due_since()
        self.team["_locked_at"] = iso(self.ops.now)
        self._emit("billing.account_locked", past_due_since=since, locked_at=self.team["_locked_at"])

    def invoice_paid(self) -> None:
        invoice = self._invoice("overdue", "open")
        invoice["status"] = "paid"
        self.team["_past_due_since"] = None
        self.team["_locked_at"] = None
        self._emit("billing.invoice_paid", paid_at=iso(self.ops.now), **self._money(invoice))

    def _move_tier(self, step: int) -> None:
        team = self.team
        current = team.get("_tier", "free")
        index = TIER_LADDER.index(current) if current in TIER_LADDER else len(TIER_LADDER) - 1
        if not 0 <= index + step < len(TIER_LADDER):
            self._move_tier(-step)  # at the end of the ladder: move the other way first
            index -= step
        to_tier = TIER_LADDER[index + step]
        event = "billing.tier_upgraded" if step > 0 else "billing.tier_downgraded"
        team["_tier"] = to_tier
        self._emit(event, from_tier=TIER_LADDER[index], to_tier=to_tier, effective_at=iso(self.ops.now))

    def tier_cancelled(self) -> None:
        effective = iso(self.ops.now + 30 * DAY)
        self.team["_tier_cancel_at"] = effective
        self._emit(
            "billing.tier_cancelled", plan_id=f"tier_{self.team.get('_tier', 'free')}", effective_at=effective
        )

    def step(self, turn: int) -> None:
        handlers: dict[str, Callable[[], object]] = {
            "billing.invoice_created": self.invoice_created,
            "billing.invoice_overdue": self.invoice_overdue,
            "billing.payment_failed": self.payment_failed,
            "billing.grace_period_warning": self.grace_period_warning,
            "billing.account_locked": self.account_locked,
            "billing.invoice_paid": self.invoice_paid,
            "billing.tier_downgraded": lambda: self._move_tier(-1),
            "billing.tier_upgraded": lambda: self._move_tier(+1),
            "billing.tier_cancelled": self.tier_cancelled,
        }
        handlers[BILLING_STEPS[turn % len(BILLING_STEPS)]]()
