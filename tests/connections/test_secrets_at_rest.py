"""No token or key in the clear: not in the SQLite file (main, -wal, -shm), not in any log record; ciphertext
bound to its row; migrations named and applied once."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from connector.connections.services import connections, current_db
from connector.crypto import DecryptionError
from connector.storage.db import ConnectorDB
from connector.storage.migrations import connections_migrations
from connector.storage.secrets import hash_secret
from tests.connections.support import bearer, connect, csrf_token
from tests.helpers import Tenant, token_for


def _file_bytes(db_path: Path) -> bytes:
    files = [db_path, Path(f"{db_path}-wal"), Path(f"{db_path}-shm")]
    return b"".join(p.read_bytes() for p in files if p.exists())


def _exercise(client: FlaskClient, tenant: Tenant) -> tuple[list[str], list[str]]:
    """Paste (API and page), replace, fail, revoke: every path a token or key travels. Returns
    (MemberPass tokens used, connection keys issued)."""
    key, _ = connect(client, tenant.token)
    replacement = token_for(tenant)
    assert (
        client.put("/api/me/token", json={"token": replacement.token}, headers=bearer(key)).status_code == 200
    )
    page_token = token_for(tenant)
    form = {
        "csrf_token": csrf_token(client.get("/connect").get_data(as_text=True)),
        "token": page_token.token,
    }
    page = client.post("/connect", data=form)
    assert page.status_code == 201
    page_key = page.get_data(as_text=True).split('id="connection-key">')[1].split("<")[0]
    client.post(
        "/api/connections", json={"token": tenant.token[:-3] + "zzz"}
    )  # wrong secret: refused upstream
    second_key, _ = connect(client, tenant.token)
    assert client.delete("/api/me", headers=bearer(second_key)).status_code == 200
    return [tenant.token, replacement.token, page_token.token], [key, page_key, second_key]


def test_no_token_or_key_in_the_database_files(
    app: Flask, client: FlaskClient, tenant: Tenant, db_path: Path
) -> None:
    tokens, keys = _exercise(client, tenant)
    raw = _file_bytes(db_path)
    assert Path(f"{db_path}-wal").exists(), "WAL mode: the write-ahead log is scanned too"
    assert tenant.team["name"].encode() in raw, "the scan reads real data"
    with app.app_context():
        current_db().checkpoint()
    for data in (raw, _file_bytes(db_path)):
        for secret in tokens + keys:
            assert secret.encode() not in data
            assert secret.split("_", 1)[1].encode() not in data  # not even the part after the prefix
        assert hash_secret(keys[0]).encode() in data, "keys are stored as their hash"


def test_no_token_or_key_in_any_log_record(
    client: FlaskClient, tenant: Tenant, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    tokens, keys = _exercise(client, tenant)
    assert any(r.name == "connector.connections" for r in caplog.records), "the paths do log"
    logged = "\n".join(caplog.text.splitlines() + [str(r.args) for r in caplog.records])
    for secret in tokens + keys:
        assert secret not in logged and secret.split("_", 1)[1] not in logged


def test_ciphertext_copied_onto_another_row_fails_to_decrypt(
    app: Flask, client: FlaskClient, tenant: Tenant
) -> None:
    _, first = connect(client, tenant.token)
    _, second = connect(client, token_for(tenant).token)
    with app.app_context():
        db = current_db().db
        blob = next(db.query("SELECT token_ciphertext FROM connections WHERE id = ?", [first["id"]]))
        db.execute(
            "UPDATE connections SET token_ciphertext = ? WHERE id = ?",
            [blob["token_ciphertext"], second["id"]],
        )
        assert connections().token(first["id"]) == tenant.token
        with pytest.raises(DecryptionError, match="another row"):
            connections().token(second["id"])


def test_migrations_are_named_and_applied_once(db_path: Path) -> None:
    for _ in range(2):
        cdb = ConnectorDB(str(db_path))
        cdb.migrate(connections_migrations)
        applied = [m.name for m in connections_migrations.applied(cdb.db)]
        assert applied == ["0001_connections", "0002_oauth"]
        assert cdb.db.journal_mode == "wal"
        cdb.close()
