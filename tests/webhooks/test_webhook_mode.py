"""Webhook mode end to end over real HTTP: the sandbox's delivery worker posts signed MemberPass webhooks to
the connector (served on a real port, its public URL pointing at itself), which verifies them, queues them
and delivers them to a local receiver that checks every Standard Webhooks signature."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from connector.connections import services
from connector.sandbox import SandboxServer
from connector.storage.db import ConnectorDB
from tests.connections.support import bearer, build_app
from tests.helpers import Tenant, make_tenant
from tests.webhooks.delivery_support import Receiver, running_receiver
from triggers.engine import run_poll
from triggers.subscriptions import SubscriptionRepo
from webhooks.worker import start_background, stop_background

TRIGGER = "subscription.created"


@dataclass
class Live:
    app: Flask
    url: str
    key: str
    tenant: Tenant
    sandbox: SandboxServer

    def api(self, method: str, path: str, **kw: Any) -> requests.Response:
        return requests.request(method, self.url + path, headers=bearer(self.key), timeout=15, **kw)

    def subscribe(self, receiver: Receiver, name: str) -> dict[str, Any]:
        body = {"target_url": receiver.url(name)}
        response = self.api("POST", f"/api/triggers/{TRIGGER}/subscriptions", json=body)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        receiver.secrets[name] = created["secret"]
        return created

    def upstream(self) -> list[dict[str, Any]]:
        response = self.tenant.get("/webhook-subscriptions")
        assert response.status_code == 200, response.text
        data: list[dict[str, Any]] = response.json()["data"]
        return data

    def simulate_signups(self, count: int) -> list[str]:
        """Real lifecycle changes in the sandbox; the ids of the `subscription.created` events they made."""
        body = {"team_id": self.tenant.team["id"], "kinds": ["signup"], "count": count}
        response = requests.post(self.sandbox.url + "/_sandbox/simulate", json=body, timeout=15)
        assert response.status_code == 200, response.text
        return [e["id"] for e in response.json()["data"] if e["type"] == TRIGGER]

    @property
    def db(self) -> ConnectorDB:
        cdb: ConnectorDB = self.app.extensions[services.DB]
        return cdb

    def outbox(self, subscription_id: str) -> list[dict[str, Any]]:
        query = "SELECT * FROM outbox WHERE subscription_id = ? ORDER BY rowid"
        return [dict(r) for r in self.db.db.query(query, [subscription_id])]

    def sandbox_delivery(self, event_id: str) -> dict[str, Any]:
        """MemberPass's own delivery record of an event to the connector."""
        response = self.tenant.get("/webhook-deliveries", params={"event_id": event_id})
        assert response.status_code == 200, response.text
        [delivery] = response.json()["data"]
        return dict(delivery)


def wait_for(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.02)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


@pytest.fixture
def live(sandbox_server: SandboxServer, tmp_path: Path) -> Iterator[Live]:
    app = build_app(sandbox_server, tmp_path / "connector.db")
    server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    settings = app.config["CONNECTOR_SETTINGS"]
    app.config["CONNECTOR_SETTINGS"] = replace(settings, public_url=url, allow_private_targets=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    tenant = make_tenant(sandbox_server, name="Webhook Mode Creators")
    pasted = requests.post(url + "/api/connections", json={"token": tenant.token}, timeout=15)
    assert pasted.status_code == 201, pasted.text
    start_background(app)
    try:
        yield Live(app, url, pasted.json()["connection_key"], tenant, sandbox_server)
    finally:
        stop_background(app)
        server.shutdown()
        thread.join(5)
        app.extensions[services.DB].close()


def test_events_arrive_by_webhook_and_are_delivered_once(live: Live, receiver: Receiver) -> None:
    created = live.subscribe(receiver, "zap")
    assert created["mode"] == "webhook"
    [upstream] = live.upstream()
    assert upstream["url"] == f"{live.url}/hooks/memberpass/{created['id']}"
    assert upstream["events"] == [TRIGGER] and upstream["name"] == f"MemberPass Connector — {TRIGGER}"
    event_ids = live.simulate_signups(3)
    assert event_ids
    wait_for(lambda: len(receiver.for_path("zap")) >= len(event_ids))
    # the reconciliation poll reads the same events from the feed: nothing more is queued
    with live.app.app_context():
        outcome = run_poll(created["id"])
    assert outcome.status == "polled" and outcome.enqueued == 0
    time.sleep(0.3)  # room for a duplicate delivery to show up, if one were made
    calls = receiver.for_path("zap")
    assert sorted(p["id"] for p in receiver.payloads("zap")) == sorted(event_ids)
    assert len({c.webhook_id for c in calls}) == len(calls) and all(c.verified for c in calls)
    assert {r["status"] for r in live.outbox(created["id"])} == {"delivered"}


def test_the_reconciliation_poll_fills_a_gap_and_the_late_webhook_adds_nothing(
    live: Live, receiver: Receiver
) -> None:
    created = live.subscribe(receiver, "zap")
    repo = SubscriptionRepo(live.db, live.app.extensions[services.RING], live.app.extensions[services.CLOCK])
    [upstream] = live.upstream()
    secret = repo.upstream_secret(created["id"])
    repo.set_upstream(created["id"], upstream["id"], "not-the-secret")  # the connector refuses (401) for now
    [missed] = live.simulate_signups(1)
    wait_for(lambda: live.sandbox_delivery(missed)["status"] == "failed")
    assert live.outbox(created["id"]) == []
    with live.app.app_context():
        assert run_poll(created["id"]).enqueued == 1
    wait_for(lambda: len(receiver.for_path("zap")) == 1)
    repo.set_upstream(created["id"], upstream["id"], secret)
    replay = live.tenant.post(f"/webhook-deliveries/{live.sandbox_delivery(missed)['id']}/retry")
    assert replay.status_code in (200, 202), replay.text
    wait_for(lambda: live.sandbox_delivery(missed)["status"] == "delivered")  # verified and acknowledged
    time.sleep(0.3)
    assert [p["id"] for p in receiver.payloads("zap")] == [missed]
    assert len(live.outbox(created["id"])) == 1


def test_unsubscribe_deletes_the_upstream_subscription(live: Live, receiver: Receiver) -> None:
    created = live.subscribe(receiver, "zap")
    assert len(live.upstream()) == 1
    assert live.api("DELETE", f"/api/subscriptions/{created['id']}").status_code == 204
    assert live.upstream() == []
    live.simulate_signups(1)
    time.sleep(0.3)
    assert receiver.calls == []


def test_gone_removes_the_subscription_here_and_upstream(live: Live, receiver: Receiver) -> None:
    receiver.respond = lambda received, n: (410, {})
    created = live.subscribe(receiver, "zap")
    live.simulate_signups(1)
    wait_for(lambda: live.upstream() == [])
    assert live.api("GET", f"/api/subscriptions/{created['id']}").status_code == 404
    assert len(receiver.for_path("zap")) == 1 and receiver.calls[0].verified


def test_an_endpoint_memberpass_disabled_is_re_enabled_and_its_gap_filled_by_the_reconciliation(
    live: Live, receiver: Receiver
) -> None:
    """While the connector was down MemberPass failed 20 pushes in a row and disabled the endpoint (here:
    disabled by hand); the next reconciliation poll turns it back on and reads what it missed, once."""
    created = live.subscribe(receiver, "zap")
    [upstream] = live.upstream()
    off = live.tenant.post(f"/webhook-endpoints/{upstream['id']}", {"is_active": False})
    assert off.status_code == 200 and off.json()["data"]["is_active"] is False
    missed = live.simulate_signups(2)
    with live.app.app_context():
        outcome = run_poll(created["id"])
    assert outcome.status == "polled" and outcome.enqueued == len(missed)
    endpoint = live.tenant.get(f"/webhook-endpoints/{upstream['id']}").json()["data"]
    assert endpoint["is_active"] is True
    later = live.simulate_signups(1)  # pushed again at once
    wait_for(lambda: len(receiver.for_path("zap")) >= len(missed) + len(later))
    time.sleep(0.3)  # room for a duplicate: MemberPass's queued pushes of the missed events come now too
    assert sorted(p["id"] for p in receiver.payloads("zap")) == sorted(missed + later)
    with live.app.app_context():
        assert run_poll(created["id"]).enqueued == 0  # an active endpoint is left alone
