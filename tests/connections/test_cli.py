"""Operator commands: key rotation (environment keys, key file), connections list/revoke, OAuth clients."""

from __future__ import annotations

import stat
from pathlib import Path

from click.testing import CliRunner, Result
from flask import Flask
from flask.testing import FlaskClient

from connector.cli import main
from connector.config import parse_key_ring
from connector.connections import services
from connector.connections.services import connections
from connector.crypto import encode_key, generate_key, key_id, key_id_of
from connector.keyfile import key_file_path, read_key_file
from connector.sandbox import SandboxServer
from tests.connections.support import bearer, build_app, connect, new_keys
from tests.helpers import Tenant, token_for


def run(db_path: Path, *args: str, keys: tuple[bytes, ...] = ()) -> Result:
    env = {"CONNECTOR_DB": str(db_path), "CONNECTOR_ENCRYPTION_KEYS": ",".join(encode_key(k) for k in keys)}
    result = CliRunner().invoke(main, list(args), env=env)
    assert result.exit_code == 0, result.output
    return result


def _paste_some(app: Flask, tenant: Tenant, count: int) -> dict[str, str]:
    client = app.test_client()
    tokens = [token_for(tenant).token for _ in range(count)]
    return {connect(client, token)[1]["id"]: token for token in tokens}


def _key_ids(app: Flask) -> set[bytes]:
    with app.app_context():
        rows = services.current_db().db.query("SELECT token_ciphertext FROM connections")
        return {key_id_of(r["token_ciphertext"]) for r in rows}


def _tokens(app: Flask, ids: list[str]) -> dict[str, str]:
    with app.app_context():
        return {i: connections().token(i) for i in ids}


def test_keys_generate_prints_a_usable_key(db_path: Path) -> None:
    key = run(db_path, "keys", "generate").output.strip()
    assert len(parse_key_ring(key)[0]) == 32


def test_rotation_with_environment_keys(
    sandbox_server: SandboxServer, tenant: Tenant, tmp_path: Path
) -> None:
    db_path = tmp_path / "c.db"
    old, new = new_keys(), parse_key_ring(generate_key())
    before = build_app(sandbox_server, db_path, old)
    stored = _paste_some(before, tenant, 3)
    assert _key_ids(before) == {key_id(old[0])}

    during = build_app(sandbox_server, db_path, new + old)  # the server restarted with the new key first
    assert _tokens(during, list(stored)) == stored
    out = run(db_path, "keys", "rotate", keys=new + old).output
    assert "Re-encrypted 3 stored token(s)" in out
    assert _key_ids(during) == {key_id(new[0])}
    assert _tokens(during, list(stored)) == stored, "reads kept working through the rotation"

    dropped = run(db_path, "keys", "rotate", "--drop-old", keys=new + old).output
    assert "Re-encrypted 0" in dropped and "remove them from CONNECTOR_ENCRYPTION_KEYS" in dropped
    after = build_app(sandbox_server, db_path, new)  # the old key is gone
    assert _tokens(after, list(stored)) == stored


def test_rotation_with_the_key_file_while_a_server_runs(
    sandbox_server: SandboxServer, tenant: Tenant, tmp_path: Path
) -> None:
    db_path = tmp_path / "c.db"
    server = build_app(sandbox_server, db_path, ())  # no CONNECTOR_ENCRYPTION_KEYS: the key file
    path = key_file_path(str(db_path))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    (first,) = read_key_file(path)
    stored = _paste_some(server, tenant, 2)

    out = run(db_path, "keys", "rotate", "--drop-old").output
    assert "Re-encrypted 2 stored token(s)" in out and "Removed 1 older key(s)" in out
    (current,) = read_key_file(path)
    assert current != first and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert _tokens(server, list(stored)) == stored, "the running server reloaded the key file"
    stored.update(_paste_some(server, tenant, 1))
    assert _key_ids(server) == {key_id(current)}, "new rows use the new key at once"
    status = run(db_path, "keys", "status").output
    assert f"{key_id(current).hex()}       3 token(s)  encrypts new tokens" in status


def test_rotate_refuses_to_drop_a_key_still_in_use(
    sandbox_server: SandboxServer, tenant: Tenant, tmp_path: Path
) -> None:
    db_path = tmp_path / "c.db"
    old, new = new_keys(), new_keys()
    _paste_some(build_app(sandbox_server, db_path, old), tenant, 1)
    result = CliRunner().invoke(
        main,
        ["keys", "rotate", "--drop-old"],
        env={"CONNECTOR_DB": str(db_path), "CONNECTOR_ENCRYPTION_KEYS": encode_key(old[0])},
    )
    assert result.exit_code == 0 and "Re-encrypted 0" in result.output
    missing = CliRunner().invoke(
        main,
        ["keys", "status"],
        env={"CONNECTOR_DB": str(db_path), "CONNECTOR_ENCRYPTION_KEYS": encode_key(new[0])},
    )
    assert f"{key_id(old[0]).hex()}       1 token(s)  MISSING from the ring" in missing.output


def test_connections_list_and_revoke(app: Flask, client: FlaskClient, tenant: Tenant, db_path: Path) -> None:
    keys = app.extensions[services.RING].keys
    key, connection = connect(client, tenant.token)
    listed = run(db_path, "connections", "list", keys=keys).output
    assert (
        connection["id"] in listed and "active" in listed and tenant.token not in listed and key not in listed
    )
    assert (
        f"Revoked {connection['id']}"
        in run(db_path, "connections", "revoke", connection["id"], keys=keys).output
    )
    assert client.get("/api/me", headers=bearer(key)).status_code == 401
    assert "revoked by the operator" in run(db_path, "connections", "list", keys=keys).output
    missing = CliRunner().invoke(
        main,
        ["connections", "revoke", "con_nope"],
        env={"CONNECTOR_DB": str(db_path), "CONNECTOR_ENCRYPTION_KEYS": ""},
    )
    assert missing.exit_code == 1 and "No connection con_nope" in missing.output


def test_oauth_clients_add_prints_the_secret_once(app: Flask, db_path: Path) -> None:
    keys = app.extensions[services.RING].keys
    out = run(
        db_path,
        "oauth-clients",
        "add",
        "--name",
        "n8n",
        "--redirect-uri",
        "https://n8n.example/cb",
        keys=keys,
    )
    client_id = out.stdout.split("client_id:")[1].split()[0]
    secret = out.stdout.split("client_secret:")[1].split()[0]
    assert secret.startswith("mpo_") and "shown only once" in out.stderr
    with app.app_context():
        assert services.oauth_store().client_secret_matches(client_id, secret)
    listed = run(db_path, "oauth-clients", "list", keys=keys).output
    assert client_id in listed and "https://n8n.example/cb" in listed and secret not in listed
    refused = CliRunner().invoke(
        main,
        ["oauth-clients", "add", "--name", "x", "--redirect-uri", "http://example.com/cb"],
        env={"CONNECTOR_DB": str(db_path)},
    )
    assert refused.exit_code == 2 and "must be an https URL" in refused.output
