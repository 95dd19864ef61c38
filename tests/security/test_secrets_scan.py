"""Nothing secret at rest or in logs after a whole working session, extending
``tests/connections/test_secrets_at_rest.py`` (which covers the connection paths alone) to everything else
that carries a secret: OAuth (client secret, codes, access and refresh tokens, rotated), subscriptions in
both modes (the ``whsec_`` signing secrets and MemberPass's upstream webhook secret), signed deliveries
and an inbound MemberPass webhook, an action whose answer holds a secret, a token replacement, and a key
rotation (``keys rotate --drop-old``). The SQLite file, its ``-wal`` and ``-shm``, and every log record
captured at DEBUG are scanned for each value and for its part after the prefix.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask

from connector.cli import main
from connector.config import parse_key_ring
from connector.connections import services
from connector.crypto import encode_key, generate_key
from connector.sandbox import SandboxServer
from connector.sandbox.signing import signature_header
from tests.connections.support import bearer
from tests.connections.test_oauth import Registered, refresh, sign_in
from tests.connections.test_secrets_at_rest import _file_bytes
from tests.helpers import make_tenant, token_for
from tests.security.conftest import TEAM_EVENT, body_of, make_app
from tests.webhooks.delivery_support import running_receiver
from triggers.engine import run_poll
from triggers.subscriptions import SubscriptionRepo
from webhooks.worker import DeliveryWorker

WEBHOOK_TRIGGER = "subscription.created"


@dataclass
class Session:
    secrets: dict[str, str] = field(default_factory=dict)
    raw_keys: list[bytes] = field(default_factory=list)

    def keep(self, name: str, value: Any) -> None:
        assert isinstance(value, str) and len(value) >= 16, f"{name}: {value!r}"
        self.secrets[name] = value


def deliver(app: Flask) -> None:
    attempts = DeliveryWorker.for_app(app, pool_size=2, timeout=5).run_once()
    assert attempts and all(a.outcome is not None and a.outcome.kind == "delivered" for a in attempts)


def work(app: Flask, server: SandboxServer, session: Session) -> None:
    """Connect, sign in with OAuth, subscribe in both modes, deliver, take an inbound webhook, run actions,
    replace the token; every secret met on the way is kept in ``session``."""
    client = app.test_client()
    tenant = make_tenant(server, name="Secrets Team")
    created = body_of(client.post("/api/connections", json={"token": tenant.token}))
    key = created["connection_key"]
    session.keep("token", tenant.token)
    session.keep("connection key", key)
    with app.app_context():
        oauth_client, client_secret = services.oauth_store().add_client("Zapier", [
            "https://zapier.example/dashboard/auth/oauth/return/App123CLIAPI/"])  # fmt: skip
    session.keep("client secret", client_secret)
    registered = Registered(oauth_client.id, client_secret)
    signed_in = sign_in(client, registered, token_for(tenant).token)
    rotated = body_of(refresh(client, registered, signed_in["refresh_token"]))
    for name in ("access_token", "refresh_token"):
        session.keep(f"oauth {name}", signed_in[name])
        session.keep(f"rotated {name}", rotated[name])
    with running_receiver() as receiver:
        polled = body_of(client.post(f"/api/triggers/{TEAM_EVENT}/subscriptions", headers=bearer(key),
                                     json={"target_url": receiver.endpoint("p", "")}))  # fmt: skip
        receiver.secrets["p"] = polled["secret"]
        session.keep("polling secret", polled["secret"])
        with server.sandbox.store.lock:
            server.sandbox.store.emit(tenant.team["id"], None, TEAM_EVENT, {"invoice": {"id": "inv_s"}})
        with app.app_context():
            assert run_poll(polled["id"]).enqueued == 1
        deliver(app)
        hooked = body_of(client.post(f"/api/triggers/{WEBHOOK_TRIGGER}/subscriptions", headers=bearer(key),
                                     json={"target_url": receiver.endpoint("w", "")}))  # fmt: skip
        assert hooked["mode"] == "webhook", hooked
        receiver.secrets["w"] = hooked["secret"]
        session.keep("webhook-mode secret", hooked["secret"])
        inbound_webhook(app, hooked["id"], session)
        deliver(app)
        assert [c.verified for c in receiver.calls] == [True, True]
    endpoint = client.post("/api/actions/create_webhook_endpoint", headers=bearer(key), json={
        "name": "Scan", "url": "https://hooks.example.com/mp", "events": ["plan.created"]})  # fmt: skip
    assert endpoint.status_code in (200, 201), endpoint.get_data(as_text=True)
    session.keep("action result secret", body_of(endpoint)["secret"])
    replacement = token_for(tenant)
    assert (
        client.put("/api/me/token", json={"token": replacement.token}, headers=bearer(key)).status_code == 200
    )
    session.keep("replacement token", replacement.token)


def inbound_webhook(app: Flask, sub_id: str, session: Session) -> None:
    with app.app_context():
        repo = SubscriptionRepo(services.current_db(), services.current_ring(), services.current_clock())
        upstream = repo.upstream_secret(sub_id)
    session.keep("MemberPass webhook secret", upstream)
    assert upstream is not None
    event = {"id": "evt_01HXSCAN00000000000000001", "type": WEBHOOK_TRIGGER,
             "created_at": "2026-05-18T10:05:00Z", "data": {"subscription_id": "sub_1"}}  # fmt: skip
    body = json.dumps(event).encode()
    headers = {"MP-Signature": signature_header(int(time.time()), body, upstream)}
    response = app.test_client().post(
        f"/hooks/memberpass/{sub_id}", data=body, headers=headers, content_type="application/json"
    )
    assert response.status_code == 200 and body_of(response)["duplicate"] is False


def rotate(db_path: Path, old: tuple[bytes, ...]) -> tuple[bytes, ...]:
    new = parse_key_ring(generate_key())
    env = {
        "CONNECTOR_DB": str(db_path),
        "CONNECTOR_ENCRYPTION_KEYS": ",".join(encode_key(k) for k in new + old),
    }
    result = CliRunner().invoke(main, ["keys", "rotate", "--drop-old"], env=env)
    assert result.exit_code == 0, result.output
    return new


def forms(value: str) -> list[str]:
    """The value, and what follows its prefix (``mpt_test_…``, ``mpc_…``, ``whsec_…``)."""
    tail = value.split("_", 1)[1] if value.startswith(("mp", "whsec_")) and "_" in value else value
    return [value, tail[-24:] if len(tail) > 24 else tail]


@pytest.fixture
def scanned(
    sandbox_server: SandboxServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> tuple[bytes, str, Session]:
    caplog.set_level(logging.DEBUG)
    db_path = tmp_path / "connector.db"
    keys = parse_key_ring(generate_key())
    app = make_app(sandbox_server, db_path, encryption_keys=keys, allow_private_targets=True,
                   public_url="http://127.0.0.1:9")  # fmt: skip
    session = Session()
    try:
        work(app, sandbox_server, session)
    finally:
        app.extensions[services.DB].close()
    new = rotate(db_path, keys)
    for name, key in (("old encryption key", keys[0]), ("new encryption key", new[0])):
        session.keep(name, encode_key(key))
    session.raw_keys = [keys[0], new[0]]
    records = caplog.records
    logged = "\n".join([caplog.text, *(str(r.args) for r in records), *(r.getMessage() for r in records)])
    return _file_bytes(db_path), logged, session


def test_no_secret_in_the_database_files_after_a_full_session(scanned: tuple[bytes, str, Session]) -> None:
    raw, _, session = scanned
    assert len(session.secrets) >= 14 and b"Secrets Team" in raw, "the scan reads real data"
    found = [name for name, value in session.secrets.items() if any(f.encode() in raw for f in forms(value))]
    assert found == [], f"in the SQLite files: {found}"
    assert not any(key in raw for key in session.raw_keys), "an encryption key's bytes are in the database"


def test_no_secret_in_any_log_record_of_the_session(scanned: tuple[bytes, str, Session]) -> None:
    _, logged, session = scanned
    assert "subscription" in logged and "oauth" in logged, "the paths do log"
    found = [name for name, value in session.secrets.items() if any(f in logged for f in forms(value))]
    assert found == [], f"in the logs: {found}"
