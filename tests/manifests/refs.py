"""Resolve the `$name` references of manifest `sample_input`s against a seeded sandbox team.

`$project`, `$plan`, … name records of the demo seed (shared, read-only use); `$new_…` make a fresh record
for the one test that will change or delete it; `$unique_…` are fresh values. Reads and writes go to the
sandbox with a token of their own, so they do not eat the connection's rate limit.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import requests

from connector.sandbox import SandboxServer, lifecycle, records
from connector.sandbox.routes.access_codes import generate_codes

Resolver = Callable[["Refs"], Any]
CLOSED_PORT_URL = "http://127.0.0.1:9/memberpass-hook"  # loopback http (allowed by the sandbox), refused


class Refs:
    def __init__(self, server: SandboxServer, seeded: dict[str, Any]) -> None:
        self.server = server
        self.team_id: str = seeded["team_id"]
        self.project_id: str = seeded["project_ids"][0]
        minted = requests.post(
            server.url + "/_sandbox/tokens",
            json={"team_id": self.team_id, "name": "contract refs"},
            timeout=10,
        ).json()
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {minted['token']}"
        self.cache: dict[str, Any] = {}

    # --- plumbing --------------------------------------------------------------------------------------
    @property
    def store(self) -> Any:
        return self.server.sandbox.store

    def call(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        headers = {"Idempotency-Key": str(uuid.uuid4())} if method != "GET" else {}
        response = self.session.request(
            method, self.server.base_url + path, json=body, params=params, headers=headers, timeout=10
        )
        assert response.status_code < 300, f"{method} {path}: {response.status_code} {response.text}"
        return response.json() if response.content else None

    def first(self, path: str, **params: Any) -> dict[str, Any]:
        rows = self.call("GET", path, **params)["data"]
        assert rows, f"the seed has nothing at {path}"
        return dict(rows[0])

    def shared(self, name: str, make: Callable[[], Any]) -> Any:
        if name not in self.cache:
            self.cache[name] = make()
        return self.cache[name]

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if isinstance(value, str) and value.startswith("$"):
            return RESOLVERS[value[1:]](self)
        return value

    def resolve_all(self, sample_input: dict[str, Any]) -> dict[str, Any]:
        return {key: self.resolve(value) for key, value in sample_input.items()}

    # --- shared seed records ---------------------------------------------------------------------------
    def plan(self) -> dict[str, Any]:
        return self.shared("plan", lambda: self.first(f"/projects/{self.project_id}/plans"))

    def member(self) -> dict[str, Any]:
        def make() -> dict[str, Any]:
            members = self.call("GET", f"/projects/{self.project_id}/members")["data"]
            return next(m for m in members if m["email"] and m["status"] == "customer")

        return self.shared("member", make)

    def plan_with_codes(self) -> str:
        self.shared("codes", self.new_access_code)
        return str(self.plan()["id"])

    def endpoint(self) -> dict[str, Any]:
        return self.shared("endpoint", self.new_endpoint)

    # --- fresh records ---------------------------------------------------------------------------------
    def new_project(self) -> str:
        return str(self.call("POST", "/projects", {"name": f"Contract {uuid.uuid4().hex[:8]}"})["data"]["id"])

    def new_plan(self) -> str:
        body = {"name": unique_name(), "price": "5.00", "currency": "USD", "billing_cycle": "months"}
        body["resources"] = [self.first(f"/projects/{self.project_id}/resources")["id"]]
        return str(self.call("POST", f"/projects/{self.project_id}/plans", body)["data"]["id"])

    def new_resource(self) -> str:
        body = {"title": "Contract perk", "type": "manual", "url": "https://example.com/perk"}
        return str(self.call("POST", f"/projects/{self.project_id}/resources", body)["data"]["id"])

    def new_member(self) -> dict[str, Any]:
        with self.store.lock:
            return dict(
                records.insert_member(
                    self.store, self.team_id, self.project_id, name="Contract Member",
                    email=f"{uuid.uuid4().hex[:10]}@example.com", chat_id=int(time.time() * 1000),
                    at=self.store.clock.now(),
                )
            )  # fmt: skip

    def banned_member(self) -> str:
        member_id = str(self.new_member()["id"])
        self.call("POST", f"/projects/{self.project_id}/members/{member_id}/ban", {})
        return member_id

    def new_subscription(self) -> str:
        member = self.new_member()
        with self.store.lock:
            stored_member = self.store.get("members", member["id"])
            plan = self.store.get("plans", self.plan()["id"])
            ops = lifecycle.Ops(self.store, self.team_id)
            return str(lifecycle.subscribe(ops, stored_member, plan, provider="stripe")["id"])

    def project_with_member_changes(self) -> str:
        """The seeded project, once a fresh member of it has been banned (a `member.banned` in the feed)."""
        self.shared("member_changes", self.banned_member)
        return self.project_id

    def project_with_subscription_changes(self) -> str:
        """The seeded project, once a fresh subscription of it started (a `subscription.created`)."""
        self.plan()  # read over HTTP before `new_subscription` takes the store's lock
        self.shared("subscription_changes", self.new_subscription)
        return self.project_id

    def new_access_code(self) -> str:
        with self.store.lock:
            plan = self.store.get("plans", self.plan()["id"])
            _, codes = generate_codes(self.store, self.team_id, plan, 1, None)
        return str(codes[0]["id"])

    def new_endpoint(self) -> dict[str, Any]:
        body = {"name": "Contract endpoint", "url": CLOSED_PORT_URL, "events": ["plan.created"]}
        return dict(self.call("POST", "/webhook-endpoints", body)["data"])

    def new_token(self) -> str:
        minted = requests.post(
            self.server.url + "/_sandbox/tokens",
            json={"team_id": self.team_id, "name": "to revoke"},
            timeout=10,
        ).json()
        return str(minted["data"]["id"])

    def delivery(self, *, failed: bool) -> str:
        """A test-fire delivery to the refusing endpoint; with ``failed``, once its first attempt failed."""
        endpoint_id = self.endpoint()["id"]
        delivery_id = str(
            self.call("POST", f"/webhook-endpoints/{endpoint_id}/test", {})["data"]["delivery_id"]
        )
        deadline = time.monotonic() + 10
        while failed and self.call("GET", f"/webhook-deliveries/{delivery_id}")["data"]["status"] != "failed":
            assert time.monotonic() < deadline, "the test delivery never failed"
            time.sleep(0.02)
        return delivery_id


def unique_name() -> str:
    return f"Contract plan {uuid.uuid4().hex[:8]}"


RESOLVERS: dict[str, Resolver] = {
    "project": lambda r: r.project_id,
    "project_handle": lambda r: r.call("GET", f"/projects/{r.project_id}")["data"]["handle"],
    "plan": lambda r: r.plan()["id"],
    "plan_name": lambda r: r.plan()["name"],
    "plan_with_codes": lambda r: r.plan_with_codes(),
    "resource": lambda r: r.first(f"/projects/{r.project_id}/resources")["id"],
    "member": lambda r: r.member()["id"],
    "member_email": lambda r: r.member()["email"],
    "subscription": lambda r: r.first("/subscriptions", project_id=r.project_id)["id"],
    "payment_method": lambda r: r.first(f"/projects/{r.project_id}/payment-methods")["id"],
    "team": lambda r: r.team_id,
    "team_member": lambda r: next(
        m["id"] for m in r.call("GET", f"/teams/{r.team_id}/members")["data"] if not m["is_owner"]
    ),
    "role": lambda r: r.first("/roles")["id"],
    "group": lambda r: r.first("/groups")["id"],
    "token": lambda r: r.first("/tokens")["id"],
    "webhook_endpoint": lambda r: r.endpoint()["id"],
    "delivery": lambda r: r.shared("delivery", lambda: r.delivery(failed=False)),
    "failed_delivery": lambda r: r.delivery(failed=True),
    "receiver_url": lambda r: CLOSED_PORT_URL,
    "new_project": lambda r: r.new_project(),
    "new_plan": lambda r: r.new_plan(),
    "new_resource": lambda r: r.new_resource(),
    "new_member": lambda r: r.new_member()["id"],
    "banned_member": lambda r: r.banned_member(),
    "new_subscription": lambda r: r.new_subscription(),
    "new_access_code": lambda r: r.new_access_code(),
    "project_with_member_changes": lambda r: r.project_with_member_changes(),
    "project_with_subscription_changes": lambda r: r.project_with_subscription_changes(),
    "new_webhook_endpoint": lambda r: r.new_endpoint()["id"],
    "new_token": lambda r: r.new_token(),
    "unique_name": lambda r: unique_name(),
    "unique_email": lambda r: f"invitee.{uuid.uuid4().hex[:8]}@example.com",
}
