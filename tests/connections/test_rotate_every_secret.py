"""`keys rotate` re-encrypts every stored secret, not only tokens: subscription signing secrets, upstream
webhook secrets and stored action results. After a rotation that drops the old key, everything decrypts."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result
from flask import Flask

from actions.idempotency import IdempotencyStore, Stored
from connector.cli import main
from connector.connections import services
from connector.crypto import encode_key, key_id, key_id_of
from connector.keyfile import key_file_path, read_key_file
from connector.sandbox import SandboxServer
from connector.storage.encrypted import COLUMNS
from tests.connections.support import build_app, connect, new_keys
from tests.helpers import Tenant
from triggers.poll import FirstRun
from triggers.subscriptions import SubscriptionRepo

SECRET, UPSTREAM_SECRET = "whsec_" + "a" * 32, "whsec_" + "b" * 32
RESULT = {"id": "wep_1", "secret": "whsec_from_memberpass"}


def cli(db_path: Path, *args: str, keys: tuple[bytes, ...] = ()) -> Result:
    env = {"CONNECTOR_DB": str(db_path), "CONNECTOR_ENCRYPTION_KEYS": ",".join(encode_key(k) for k in keys)}
    return CliRunner().invoke(main, list(args), env=env)


def store_secrets(app: Flask, tenant: Tenant) -> dict[str, Any]:
    """A connection, a subscription with both secrets and a stored action result, written by their owners."""
    _, connection = connect(app.test_client(), tenant.token)
    with app.app_context():
        cdb, ring, clock = services.current_db(), services.current_ring(), services.current_clock()
        subscriptions = SubscriptionRepo(cdb, ring, clock)
        sub = subscriptions.create(
            connection_id=connection["id"], trigger_key="member_status_changed", inputs={},
            target_url="https://example.com/hook", secret=SECRET, mode="webhook", first_run=FirstRun(),
            poll_interval=60.0,
        )  # fmt: skip
        subscriptions.set_upstream(sub.id, "whk_1", UPSTREAM_SECRET)
        store = IdempotencyStore(cdb, ring, clock)
        claim = store.begin(connection["id"], "k:rotate-me", "create_webhook_endpoint", "fp")
        assert not isinstance(claim, Stored)
        store.complete(claim, 201, RESULT)
    return {"connection_id": connection["id"], "token": tenant.token, "subscription_id": sub.id}


def read_back(app: Flask, stored: dict[str, Any]) -> tuple[Any, ...]:
    with app.app_context():
        cdb, ring, clock = services.current_db(), services.current_ring(), services.current_clock()
        subscriptions = SubscriptionRepo(cdb, ring, clock)
        replay = IdempotencyStore(cdb, ring, clock).begin(
            stored["connection_id"], "k:rotate-me", "create_webhook_endpoint", "fp"
        )
        return (
            services.connections().token(stored["connection_id"]),
            subscriptions.secret(stored["subscription_id"]),
            subscriptions.upstream_secret(stored["subscription_id"]),
            replay,
        )


def blob_keys(db_path: Path) -> set[bytes]:
    with sqlite3.connect(db_path) as db:
        rows = [row for c in COLUMNS for row in db.execute(f"SELECT {c.column} FROM {c.table}")]  # noqa: S608
    return {key_id_of(row[0]) for row in rows if row[0] is not None}


def test_rotate_and_drop_the_old_key_then_every_secret_still_decrypts(
    sandbox_server: SandboxServer, tenant: Tenant, tmp_path: Path
) -> None:
    db_path = tmp_path / "c.db"
    server = build_app(sandbox_server, db_path, ())  # the key file beside the database
    (old,) = read_key_file(key_file_path(str(db_path)))
    stored = store_secrets(server, tenant)
    assert blob_keys(db_path) == {key_id(old)}

    rotated = cli(db_path, "keys", "rotate", "--drop-old")
    assert rotated.exit_code == 0, rotated.output
    assert "Re-encrypted 1 stored token(s)" in rotated.output
    assert (
        "Re-encrypted 1 subscription secret(s), 1 upstream webhook secret(s), 1 stored action result(s)."
        in rotated.output
    )
    assert "Removed 1 older key(s)" in rotated.output
    (new,) = read_key_file(key_file_path(str(db_path)))
    assert new != old and blob_keys(db_path) == {key_id(new)}

    expected = (stored["token"], SECRET, UPSTREAM_SECRET, Stored(201, RESULT))
    assert read_back(server, stored) == expected, "the running server reloaded the key file"
    server.extensions[services.DB].close()
    restarted = build_app(sandbox_server, db_path, (new,))  # only the new key exists anywhere
    assert read_back(restarted, stored) == expected
    restarted.extensions[services.DB].close()


def test_status_counts_secrets_and_drop_waits_for_them(
    sandbox_server: SandboxServer, tenant: Tenant, tmp_path: Path
) -> None:
    db_path = tmp_path / "c.db"
    old, new = new_keys(), new_keys()
    app = build_app(sandbox_server, db_path, old)
    store_secrets(app, tenant)
    status = cli(db_path, "keys", "status", keys=new + old).output
    assert f"{key_id(old[0]).hex()}       1 token(s)  decrypts only  (and 3 subscription secret(s)" in status
    rotated = cli(db_path, "keys", "rotate", "--drop-old", keys=new + old)
    assert rotated.exit_code == 0 and "remove them from CONNECTOR_ENCRYPTION_KEYS" in rotated.output
    assert blob_keys(db_path) == {key_id(new[0])}
    app.extensions[services.DB].close()


def test_an_unreadable_action_result_is_left_but_an_unreadable_secret_stops_the_rotation(
    sandbox_server: SandboxServer, tenant: Tenant, tmp_path: Path
) -> None:
    db_path = tmp_path / "c.db"
    lost, kept = new_keys(), new_keys()
    app = build_app(sandbox_server, db_path, lost)
    store_secrets(app, tenant)
    with sqlite3.connect(db_path) as db:  # only the action result stays under the key that will be lost
        db.execute("DELETE FROM subscriptions")
        db.execute("UPDATE connections SET token_ciphertext = NULL")
    result = cli(db_path, "keys", "rotate", keys=kept)
    assert result.exit_code == 0, result.output
    assert "Left 1 stored action result(s) that no key of the ring can read" in result.output
    app.extensions[services.DB].close()

    again = build_app(sandbox_server, tmp_path / "d.db", lost)
    stored = store_secrets(again, tenant)
    failed = cli(tmp_path / "d.db", "keys", "rotate", keys=kept)
    assert failed.exit_code == 1 and "not in the key ring" in failed.output
    assert stored["token"] not in failed.output and SECRET not in failed.output
    again.extensions[services.DB].close()


def test_every_blob_column_of_the_schema_is_rotated(app: Flask, db_path: Path) -> None:
    with sqlite3.connect(db_path) as db:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        blobs = {
            (table, column[1])
            for table in tables
            for column in db.execute(f"PRAGMA table_info([{table}])")
            if column[2].upper() == "BLOB"
        }
    assert blobs == {(c.table, c.column) for c in COLUMNS}
