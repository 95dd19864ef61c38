"""Helpers for the subscriber-side tests: insert a tenant's catalog and history directly into the store."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from connector.sandbox import SandboxServer, records
from connector.sandbox.records import DAY
from connector.sandbox.routes.payment_methods import add_payment_method
from connector.sandbox.routes.plans import create_plan
from connector.sandbox.routes.projects import create_project
from connector.sandbox.routes.resources import create_resource
from connector.sandbox.store import Obj, Store, public
from connector.sandbox.timeutil import iso
from tests.helpers import Tenant


@dataclass
class World:
    """One tenant's project with a resource, a plan and a Stripe gateway."""

    tenant: Tenant
    project: Obj
    plan: Obj
    resource: Obj
    method: Obj

    @property
    def store(self) -> Store:
        return self.tenant.server.sandbox.store

    @property
    def now(self) -> float:
        return self.store.clock.now()

    def new_plan(self, name: str, price: str, **fields: Any) -> Obj:
        spec = {"name": name, "price": price, "currency": "USD", "billing_cycle": "months"}
        spec.update({"resources": [self.resource["id"]], **fields})
        return create_plan(self.store, self.tenant.team["id"], self.project, spec)

    def member(
        self, name: str = "Ada Lovelace", *, status: str = "lead", days_ago: float = 0, **kw: Any
    ) -> Obj:
        email = kw.pop("email", name.lower().replace(" ", ".") + "@example.com")
        return records.insert_member(
            self.store,
            self.tenant.team["id"],
            self.project["id"],
            name=name,
            email=email,
            chat_id=kw.pop("chat_id", 123456789),
            at=self.now - days_ago * DAY,
            status=status,
        )

    def subscription(
        self,
        member: Obj,
        *,
        status: str = "active",
        plan: Obj | None = None,
        days_ago: float = 0,
        **fields: Any,
    ) -> Obj:
        start = self.now - days_ago * DAY
        sub = records.insert_subscription(
            self.store,
            member,
            plan or self.plan,
            status=status,
            provider="stripe",
            at=start,
            ends_at=start + 30 * DAY,
        )
        sub.update(fields)
        return sub

    def payment(
        self, sub: Obj, *, amount: str = "29.00", status: str = "successful", days_ago: float = 0, **kw: Any
    ) -> Obj:
        plan = kw.pop("plan", None) or self.store.get("plans", sub["plan_id"])
        member = self.store.get("members", sub["subscriber_id"])
        assert plan is not None and member is not None
        return records.insert_payment(
            self.store,
            plan,
            member,
            subscription=sub,
            status=status,
            provider=kw.pop("provider", "stripe"),
            method_id=self.method["id"],
            at=self.now - days_ago * DAY,
            billing_reason="subscription_cycle",
            amount=Decimal(amount),
        )

    def events(self, prefix: str = "") -> list[Obj]:
        """The team's events, oldest first, as delivered (private keys stripped)."""
        rows = self.store.rows(
            "events", lambda e: e["_team"] == self.tenant.team["id"] and e["type"].startswith(prefix)
        )
        return [public(e) for e in reversed(rows)]


def make_world(server: SandboxServer, tenant: Tenant, name: str = "Trading Club") -> World:
    store = server.sandbox.store
    team_id = tenant.team["id"]
    project = create_project(store, team_id, {"name": name})
    resource = create_resource(
        store, team_id, project, {"type": "channel", "title": "Signals", "chat_id": -100123}
    )
    plan = create_plan(
        store,
        team_id,
        project,
        {
            "name": "Monthly Membership",
            "price": "29.00",
            "currency": "USD",
            "billing_cycle": "months",
            "resources": [resource["id"]],
        },
    )
    method = add_payment_method(store, team_id, project["id"], "stripe")
    return World(tenant, project, plan, resource, method)


def iso_days_ago(world: World, days: float) -> str:
    return iso(world.now - days * DAY)
