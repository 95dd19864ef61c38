"""A connector app connected to a freshly seeded sandbox team, with the helpers trigger tests share:
subscribe, poll a subscription through the engine, read the outbox, make events and plans upstream."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from connector.app import create_app
from connector.connections import services
from connector.sandbox import SandboxServer
from triggers.engine import PollOutcome, run_poll

EVENT = "billing.invoice_paid"  # a team-level event: no project input


def seed_demo(server: SandboxServer) -> dict[str, Any]:
    response = requests.post(server.url + "/_sandbox/seed", json={"preset": "demo"}, timeout=30)
    assert response.status_code == 201, response.text
    seeded: dict[str, Any] = response.json()
    return seeded


def build_app(server: SandboxServer, db_path: Path, **overrides: Any) -> Flask:
    settings = {
        "api_base": server.base_url,
        "db_path": str(db_path),
        "encryption_keys": (os.urandom(32),),
        "allow_private_targets": True,
        **overrides,
    }
    app = create_app(settings)
    app.testing = True
    return app


class SeededConnection:
    """What a connection of a seeded demo team offers: its key as a header, the team, the first project.
    Needs ``key`` (the connection key) and ``seed`` (the answer of ``/_sandbox/seed``)."""

    key: str
    seed: dict[str, Any]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    @property
    def team_id(self) -> str:
        return str(self.seed["team_id"])

    @property
    def project_id(self) -> str:
        return str(self.seed["project_ids"][0])


@dataclass
class Env(SeededConnection):
    server: SandboxServer
    seed: dict[str, Any]
    app: Flask
    client: FlaskClient
    key: str
    token: str

    # --- the connector --------------------------------------------------------------------------------------
    def subscribe(self, trigger: str, **body: Any) -> TestResponse:
        body.setdefault("target_url", "http://127.0.0.1:9/hook")
        return self.client.post(f"/api/triggers/{trigger}/subscriptions", json=body, headers=self.headers)

    def subscribed(self, trigger: str, **body: Any) -> str:
        response = self.subscribe(trigger, **body)
        assert response.status_code == 201, response.get_data(as_text=True)
        subscription_id: str = response.json["id"]
        return subscription_id

    def poll(self, subscription_id: str, **kwargs: Any) -> PollOutcome:
        with self.app.app_context():
            return run_poll(subscription_id, **kwargs)

    def drain(self, subscription_id: str, *, limit: int = 200, **kwargs: Any) -> list[PollOutcome]:
        """Poll until a poll brings nothing new and leaves no backlog."""
        outcomes = []
        for _ in range(limit):
            outcome = self.poll(subscription_id, **kwargs)
            assert outcome.status == "polled", outcome
            outcomes.append(outcome)
            assert outcome.decision is not None
            if outcome.enqueued == 0 and outcome.decision["backlog_pages"] == 0:
                return outcomes
        raise AssertionError("the subscription never settled")

    def sql(self, query: str, args: list[Any] | None = None) -> list[dict[str, Any]]:
        return [dict(r) for r in self.app.extensions[services.DB].db.query(query, args or [])]

    def outbox(self, subscription_id: str) -> list[dict[str, Any]]:
        return self.sql("SELECT * FROM outbox WHERE subscription_id = ? ORDER BY rowid", [subscription_id])

    def outbox_keys(self, subscription_id: str) -> list[str]:
        return [row["record_key"] for row in self.outbox(subscription_id)]

    # --- upstream ------------------------------------------------------------------------------------------
    @property
    def store(self) -> Any:
        return self.server.sandbox.store

    def emit(self, count: int, event: str = EVENT, *, same_time: str | None = None) -> list[str]:
        """``count`` events of the team, straight into the sandbox store; ``same_time`` pins their
        ``created_at`` (identical timestamps). Returns their ids, oldest first."""
        ids = []
        with self.store.lock:
            for i in range(count):
                made = self.store.emit(self.team_id, None, event, {"invoice": {"id": f"inv_{i}"}})
                if same_time is not None:
                    made["created_at"] = same_time
                ids.append(made["id"])
        return ids

    def upstream(self, method: str, path: str, body: Any = None) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token}", "Idempotency-Key": str(uuid.uuid4())}
        return requests.request(method, self.server.base_url + path, json=body, headers=headers, timeout=10)

    def create_plan(self, name: str) -> str:
        resource = self.upstream("GET", f"/projects/{self.project_id}/resources").json()["data"][0]["id"]
        body = {"name": name, "price": "9.00", "currency": "USD", "billing_cycle": "months",
                "resources": [resource]}  # fmt: skip
        response = self.upstream("POST", f"/projects/{self.project_id}/plans", body)
        assert response.status_code == 201, response.text
        plan_id: str = response.json()["data"]["id"]
        return plan_id

    def delete_plan(self, plan_id: str) -> None:
        response = self.upstream("DELETE", f"/projects/{self.project_id}/plans/{plan_id}")
        assert response.status_code == 200, response.text

    def mint(self, abilities: Any = "all") -> dict[str, Any]:
        body = {"team_id": self.team_id, "abilities": abilities}
        response = requests.post(self.server.url + "/_sandbox/tokens", json=body, timeout=10)
        assert response.status_code == 201, response.text
        minted: dict[str, Any] = response.json()
        return minted


@contextmanager
def connected(
    server: SandboxServer,
    db_path: Path,
    *,
    seed_token: str | None = None,
    **overrides: Any,
) -> Iterator[Env]:
    """A connector app on ``db_path`` connected with a token of a freshly seeded demo team
    (``seed_token``: "full" by default, "read_only" or "project_scoped")."""
    seeded = seed_demo(server)
    app = build_app(server, db_path, **overrides)
    client = app.test_client()
    plaintext = seeded["tokens"][seed_token or "full"]
    response = client.post("/api/connections", json={"token": plaintext})
    assert response.status_code == 201, response.get_data(as_text=True)
    try:
        yield Env(server, seeded, app, client, response.json["connection_key"], plaintext)
    finally:
        app.extensions[services.DB].close()
