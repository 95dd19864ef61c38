"""The MemberPass side of an end-to-end run: a seeded team, lifecycle changes through ``/_sandbox/simulate``,
and what the sandbox itself says happened (its event feed and its lists), read over HTTP with the team's
token, to compare with what the receiver got."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

from connector.sandbox import SandboxServer
from connector.sandbox.records import insert_member
from connector.sandbox.routes import plans

# Kinds whose every change emits at least one event of SUBSCRIBED_EVENTS: each change is visible downstream.
KINDS = ["signup", "trial_start", "renewal", "payment_failed", "cancel"]
SUBSCRIBED_EVENTS = [
    "subscription.created",
    "subscription.renewed",
    "subscription.cancelled",
    "payment.failed",
]
LIST_TRIGGER = "new_member"
TEAM_EVENT = "billing.invoice_paid"  # a team-level event: its trigger takes no input


@dataclass
class Team:
    server: SandboxServer
    team_id: str
    project_id: str
    token: str

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        response = requests.get(
            self.server.base_url + path,
            params=params,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def simulate(
        self, count: int, kinds: list[str] | None = None, seed: int | None = None
    ) -> list[dict[str, Any]]:
        """``count`` lifecycle changes in the team's first project; the events they emitted, oldest first."""
        body: dict[str, Any] = {"team_id": self.team_id, "project_id": self.project_id, "count": count}
        body["kinds"] = KINDS if kinds is None else kinds
        if seed is not None:
            body["seed"] = seed
        response = requests.post(self.server.url + "/_sandbox/simulate", json=body, timeout=60)
        assert response.status_code == 200, response.text
        events: list[dict[str, Any]] = response.json()["data"]
        return events

    # --- straight into the sandbox store (bursts the HTTP API could not make as fast) ---------------------
    @property
    def store(self) -> Any:
        return self.server.sandbox.store

    def emit(self, count: int, *, same_time: str | None = None) -> list[str]:
        """``count`` ``billing.invoice_paid`` events in one burst; ``same_time`` pins their ``created_at``."""
        ids = []
        with self.store.lock:
            for i in range(count):
                event = self.store.emit(self.team_id, None, TEAM_EVENT, {"invoice": {"id": f"inv_{i}"}})
                if same_time is not None:
                    event["created_at"] = same_time
                ids.append(event["id"])
        return ids

    def add_members(self, count: int, at: float) -> list[str]:
        """``count`` members of the project who all joined at the same instant ``at``."""
        with self.store.lock:
            return [
                insert_member(self.store, self.team_id, self.project_id, name=f"Same Time {i}",
                              email=f"same.{i}.{at}@example.com", chat_id=10**9 + i, at=at)["id"]
                for i in range(count)
            ]  # fmt: skip

    def add_plans(self, count: int) -> list[str]:
        project = self.store.get("projects", self.project_id)
        fields = {"price": "9.00", "currency": "USD", "billing_cycle": "months"}
        made = [
            plans.create_plan(self.store, self.team_id, project, {**fields, "name": f"Plan {i}"})
            for i in range(count)
        ]
        return [p["id"] for p in made]

    def delete_plans(self, plan_ids: list[str]) -> None:
        for plan_id in plan_ids:
            plan = self.store.get("plans", plan_id)
            if plan is not None:
                plans.delete_plan(self.store, plan)

    def plan_ids(self) -> list[str]:
        return [p["id"] for p in self.store.rows("plans", lambda p: p["project_id"] == self.project_id)]

    def feed_ids(self, event_type: str) -> set[str]:
        """Every event of this type in the sandbox's event feed (C12 keyset pages)."""
        ids: set[str] = set()
        params: dict[str, Any] = {"type": event_type, "limit": 200}
        while True:
            body = self.get("/webhook-events", **params)
            ids |= {e["id"] for e in body["data"]}
            cursor = body.get("meta", {}).get("next_cursor")
            if not cursor:
                return ids
            params["cursor"] = cursor

    def member_ids(self) -> set[str]:
        """Every member of the project (page-based list)."""
        ids: set[str] = set()
        page = 1
        while True:
            body = self.get(f"/projects/{self.project_id}/members", limit=100, page=page)
            ids |= {m["id"] for m in body["data"]}
            if not body["meta"]["has_more"]:
                return ids
            page += 1


def seeded_team(server: SandboxServer) -> Team:
    response = requests.post(server.url + "/_sandbox/seed", json={"preset": "demo"}, timeout=30)
    assert response.status_code == 201, response.text
    seeded = response.json()
    return Team(server, seeded["team_id"], seeded["project_ids"][0], seeded["tokens"]["full"])


def wait_until(condition: Callable[[], bool], seconds: float, what: str, step: float = 0.05) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds:g} s waiting for {what}")
        time.sleep(step)


def settle(count: Callable[[], int], quiet: float, seconds: float) -> int:
    """Wait until ``count()`` has not changed for ``quiet`` seconds (at most ``seconds``); return it."""
    deadline = time.monotonic() + seconds
    last, since = count(), time.monotonic()
    while time.monotonic() - since < quiet:
        if time.monotonic() > deadline:
            raise AssertionError(f"still changing after {seconds:g} s (at {last})")
        time.sleep(0.05)
        now = count()
        if now != last:
            last, since = now, time.monotonic()
    return last
