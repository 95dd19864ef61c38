"""POST /api/connections, GET/DELETE /api/me, PUT /api/me/token against the sandbox over real HTTP."""

from __future__ import annotations

import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from connector.connections.services import connections
from connector.sandbox import SandboxServer
from tests.connections.support import bearer, build_app, connect, mint, paste, revoke
from tests.helpers import Tenant, make_tenant, token_for


def test_paste_creates_a_connection_and_shows_the_key_once(client: FlaskClient, tenant: Tenant) -> None:
    response = paste(client, tenant.token)
    assert response.status_code == 201
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json
    key, connection = body["connection_key"], body["data"]
    assert key.startswith("mpc_")
    assert connection["label"] == "Acme Creators"
    assert connection["team"] == {"id": tenant.team["id"], "name": "Acme Creators"}
    assert connection["environment"] == "test" and connection["status"] == "active"
    assert "team:view" in connection["abilities"] and connection["abilities_source"] == "token"
    assert connection["scopes"]["team_id"] == tenant.team["id"]
    assert connection["token_id"] == tenant.token_record["id"]

    me = client.get("/api/me", headers=bearer(key))
    assert me.status_code == 200
    assert me.json["data"]["id"] == connection["id"]
    assert key not in me.get_data(as_text=True) and tenant.token not in me.get_data(as_text=True)


def test_label_is_kept_and_abilities_are_the_tokens(client: FlaskClient, tenant: Tenant) -> None:
    reader = mint(tenant.server, tenant.team["id"], ["team:view", "project:view-any"])
    response = paste(client, reader["token"], label="  Zapier - shop  ")
    assert response.status_code == 201
    assert response.json["data"]["label"] == "Zapier - shop"
    assert response.json["data"]["abilities"] == ["team:view", "project:view-any"]


def test_keys_are_unique_per_paste_and_only_the_issued_one_works(client: FlaskClient, tenant: Tenant) -> None:
    first, _ = connect(client, tenant.token)
    second, _ = connect(client, tenant.token)
    assert first != second
    forged = first[: len("mpc_") + 16] + second[len("mpc_") + 16 :]  # A's lookup id with B's secret
    assert client.get("/api/me", headers=bearer(forged)).status_code == 401


# --- distinct errors for each bad token ------------------------------------------------------------------
def _error(response: object) -> dict[str, object]:
    body = response.json  # type: ignore[attr-defined]
    assert set(body) == {"error"}
    return body["error"]  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    "token",
    ["", "   ", "mpt_test_short", "mpt_prod_abcdefgh_" + "a" * 30, "Bearer mpt_test_abcdefgh_" + "a" * 30],
)
def test_malformed_token_is_422_naming_token(client: FlaskClient, token: str) -> None:
    response = paste(client, token)
    assert response.status_code == 422
    error = _error(response)
    assert error["code"] == "VALIDATION_FAILED"
    assert list(error["fields"]) == ["token"]  # type: ignore[call-overload]
    assert "mpt_live_" in str(error["message"]) + str(error["fields"]) or "required" in str(error["message"])


def test_each_upstream_refusal_has_its_own_code_and_message(client: FlaskClient, tenant: Tenant) -> None:
    server = tenant.server
    wrong = "mpt_test_abcdefgh_" + "a" * 30
    revoked = mint(server, tenant.team["id"])
    revoke(server, revoked["data"]["id"])
    live = mint(server, tenant.team["id"], environment="live")
    no_view = mint(server, tenant.team["id"], ["project:view-any"])

    errors = {
        name: paste(client, token)
        for name, token in [
            ("wrong", wrong),
            ("revoked", revoked["token"]),
            ("live", live["token"]),
            ("no_view", no_view["token"]),
        ]
    }
    codes = {name: (r.status_code, _error(r)["code"]) for name, r in errors.items()}
    assert codes == {
        "wrong": (401, "TOKEN_NOT_RECOGNISED"),
        "revoked": (401, "TOKEN_REVOKED"),
        "live": (401, "TOKEN_WRONG_ENVIRONMENT"),
        "no_view": (403, "TOKEN_MISSING_ABILITY"),
    }
    assert "MemberPass did not recognise this token" in str(_error(errors["wrong"])["message"])
    assert "The token has been revoked" in str(_error(errors["revoked"])["message"])
    live_error = _error(errors["live"])
    assert "A live token cannot be used against the test environment" in str(live_error["message"])
    assert f"talks to the test environment of MemberPass ({server.base_url})" in str(live_error["message"])
    assert "mpt_test_" in str(live_error["remediation"])
    no_view_error = _error(errors["no_view"])
    assert no_view_error["context"] == {"required_ability": "team:view"}
    assert "team:view" in str(no_view_error["remediation"])
    for response in errors.values():
        assert "token" in _error(response)["fields"]  # type: ignore[operator]
    with client.application.app_context():
        assert connections().list_all() == []


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_unreachable_memberpass_is_502_with_retry_advice(tmp_path: Path, tenant: Tenant) -> None:
    app = build_app(f"http://127.0.0.1:{_closed_port()}/v1", tmp_path / "c.db")
    response = paste(app.test_client(), tenant.token)
    assert response.status_code == 502
    error = _error(response)
    assert error["code"] == "MEMBERPASS_UNREACHABLE"
    assert "could not be reached" in str(error["message"]) and "Retry" in str(error["remediation"])
    assert int(response.headers["Retry-After"]) > 0


def test_unavailable_memberpass_is_503_with_retry_after(fresh_sandbox: SandboxServer, tmp_path: Path) -> None:
    tenant = make_tenant(fresh_sandbox)
    rule = [{"route": "GET /v1/teams/current", "status": 503, "retry_after": 7, "count": 5}]
    requests.put(fresh_sandbox.url + "/_sandbox/faults", json=rule, timeout=5).raise_for_status()
    app = build_app(fresh_sandbox, tmp_path / "c.db")
    response = paste(app.test_client(), tenant.token)
    assert response.status_code == 503
    assert _error(response)["code"] == "MEMBERPASS_UNAVAILABLE"
    assert response.headers["Retry-After"] == "7"


# --- bad input ----------------------------------------------------------------------------------------------
def test_malformed_json_is_400(client: FlaskClient) -> None:
    response = client.post("/api/connections", data=b'{"token": ', content_type="application/json")
    assert response.status_code == 400
    error = _error(response)
    assert error["code"] == "BAD_REQUEST" and error["fields"] == {"body": ["is not valid JSON"]}


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ([1, 2], {"body": ["must be a JSON object"]}),
        ({"token": 42}, {"token": ["must be a string"]}),
        ({}, {"token": ["is required"]}),
        ({"token": "x", "tokn": "y"}, {"tokn": ["is not a known field (allowed: label, token)"]}),
        ({"token": "x", "label": ""}, {"label": ["must be 1 to 100 characters"]}),
    ],
)
def test_wrong_shapes_are_422_naming_the_field(
    client: FlaskClient, body: object, fields: dict[str, object]
) -> None:
    response = client.post("/api/connections", json=body)
    assert response.status_code == 422
    error = _error(response)
    assert error["code"] == "VALIDATION_FAILED"
    for name, messages in fields.items():
        assert error["fields"][name] == messages  # type: ignore[index]


def test_oversized_body_is_413_in_the_envelope(sandbox_server: SandboxServer, tmp_path: Path) -> None:
    app = build_app(sandbox_server, tmp_path / "c.db")
    app.config["MAX_CONTENT_LENGTH"] = 1024
    response = app.test_client().post("/api/connections", json={"token": "x" * 2048})
    assert response.status_code == 413
    assert _error(response)["code"] == "PAYLOAD_TOO_LARGE"


# --- keys --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "No connection key was sent."),
        ({"Authorization": "Basic abc"}, "must be `Bearer mpc_…`"),
        ({"Authorization": "Bearer mpc_0123456789abcdef_nope"}, "not valid"),
        ({"Authorization": "Bearer garbage"}, "not valid"),
        ({"Authorization": "Bearer mpt_test_abcdefgh_" + "a" * 30}, "MemberPass token, not a connection key"),
    ],
)
def test_missing_or_wrong_key_is_401(client: FlaskClient, headers: dict[str, str], message: str) -> None:
    for method in ("GET", "DELETE"):
        response = client.open("/api/me", method=method, headers=headers)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        error = _error(response)
        assert error["code"] == "AUTHENTICATION_REQUIRED" and message in str(error["message"])
    assert client.put("/api/me/token", json={"token": "x"}, headers=headers).status_code == 401


def test_one_connection_cannot_see_or_touch_another(
    client: FlaskClient, sandbox_server: SandboxServer
) -> None:
    alice, bob = make_tenant(sandbox_server, name="Alice"), make_tenant(sandbox_server, name="Bob")
    alice_key, alice_conn = connect(client, alice.token)
    bob_key, bob_conn = connect(client, bob.token)
    assert client.get("/api/me", headers=bearer(alice_key)).json["data"]["id"] == alice_conn["id"]
    taken = client.put("/api/me/token", json={"token": bob.token}, headers=bearer(alice_key))
    assert taken.status_code == 409 and _error(taken)["code"] == "TOKEN_TEAM_MISMATCH"
    assert client.delete("/api/me", headers=bearer(alice_key)).json["data"]["status"] == "revoked"
    still = client.get("/api/me", headers=bearer(bob_key))
    assert still.status_code == 200 and still.json["data"] == {
        **bob_conn,
        "verified_at": still.json["data"]["verified_at"],
    }
    with client.application.app_context():
        assert connections().token(bob_conn["id"]) == bob.token


# --- revoke, health, replace -------------------------------------------------------------------------------
def test_delete_me_revokes_and_destroys_the_ciphertext(
    app: Flask, client: FlaskClient, tenant: Tenant
) -> None:
    key, connection = connect(client, tenant.token)
    response = client.delete("/api/me", headers=bearer(key))
    assert response.status_code == 200
    assert response.json["data"]["status"] == "revoked" and response.json["data"]["revoked_at"]
    with app.app_context():
        row = next(connections().cdb.db.query("SELECT * FROM connections WHERE id = ?", [connection["id"]]))
    assert row["token_ciphertext"] is None and row["status"] == "revoked"
    again = client.get("/api/me", headers=bearer(key))
    assert again.status_code == 401 and "revoked" in str(_error(again)["message"])


def test_needs_attention_is_reported_and_a_new_token_heals_it(
    app: Flask, client: FlaskClient, tenant: Tenant
) -> None:
    key, connection = connect(client, tenant.token)
    reason = "MemberPass answered 401: The token has been revoked."
    with app.app_context():
        connections().mark_needs_attention(connection["id"], reason)
    me = client.get("/api/me", headers=bearer(key)).json["data"]
    assert (me["status"], me["status_reason"]) == ("needs_attention", reason)

    fresh = token_for(tenant, ["team:view", "project:view-any"])
    replaced = client.put("/api/me/token", json={"token": fresh.token}, headers=bearer(key))
    assert replaced.status_code == 200
    data = replaced.json["data"]
    assert (data["status"], data["status_reason"]) == ("active", None)
    assert (
        data["abilities"] == ["team:view", "project:view-any"]
        and data["token_id"] == fresh.token_record["id"]
    )
    with app.app_context():
        assert connections().token(connection["id"]) == fresh.token


def test_mark_healthy_and_revoked_stays_revoked(app: Flask, client: FlaskClient, tenant: Tenant) -> None:
    _, connection = connect(client, tenant.token)
    with app.app_context():
        repo = connections()
        repo.mark_needs_attention(connection["id"], "MemberPass answered 403: lacks project:view-any")
        repo.mark_healthy(connection["id"])
        assert repo.require(connection["id"]).status == "active"
        repo.revoke(connection["id"])
        repo.mark_needs_attention(connection["id"], "late 401")
        assert repo.require(connection["id"]).status == "revoked"


def test_replacing_with_a_bad_token_keeps_the_old_one(
    app: Flask, client: FlaskClient, tenant: Tenant
) -> None:
    key, connection = connect(client, tenant.token)
    for token, status in [("nope", 422), ("mpt_test_abcdefgh_" + "a" * 30, 401)]:
        assert client.put("/api/me/token", json={"token": token}, headers=bearer(key)).status_code == status
    with app.app_context():
        assert connections().token(connection["id"]) == tenant.token


def test_concurrent_pastes_over_a_threaded_server(sandbox_server: SandboxServer, tmp_path: Path) -> None:
    """One SQLite connection per thread, writers serialised: no 'database is locked', every key works."""
    app = build_app(sandbox_server, tmp_path / "c.db")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}"
    tokens = [make_tenant(sandbox_server, name=f"Team {i}").token for i in range(8)]
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            pasted = list(
                pool.map(
                    lambda t: requests.post(url + "/api/connections", json={"token": t}, timeout=20), tokens
                )
            )
            assert [r.status_code for r in pasted] == [201] * 8
            keys = [r.json()["connection_key"] for r in pasted]
            seen = list(
                pool.map(lambda k: requests.get(url + "/api/me", headers=bearer(k), timeout=20).json(), keys)
            )
        assert sorted(m["data"]["team"]["name"] for m in seen) == sorted(f"Team {i}" for i in range(8))
    finally:
        server.shutdown()
        server.server_close()
