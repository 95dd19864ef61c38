"""The OAuth-like sign-in: authorization code + PKCE S256 + state, exact redirect match, single-use 60 s
codes, rotating refresh tokens, and every refusal."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from connector.clock import FakeClock
from connector.connections.services import connections, oauth_store
from tests.connections.support import bearer, csrf_token, mint, revoke
from tests.helpers import Tenant, make_tenant, token_for

REDIRECT = "https://zapier.example/dashboard/auth/oauth/return/App123CLIAPI/"


@dataclass
class Registered:
    client_id: str
    secret: str


@pytest.fixture
def registered(app: Flask) -> Registered:
    with app.app_context():
        client, secret = oauth_store().add_client(
            "Zapier", [REDIRECT, "http://127.0.0.1:5678/rest/oauth2-credential/callback"]
        )
    return Registered(client.id, secret)


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    return verifier, challenge


def authorize_params(reg: Registered, challenge: str, **over: str) -> dict[str, str]:
    params = {
        "response_type": "code",
        "client_id": reg.client_id,
        "redirect_uri": REDIRECT,
        "state": "st-" + secrets.token_hex(4),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    params.update(over)
    return {k: v for k, v in params.items() if v != "-"}


def consent(client: FlaskClient, reg: Registered, token: str, challenge: str, **over: str) -> Any:
    """Open the authorize page and paste the token; returns the POST response."""
    params = authorize_params(reg, challenge, **over)
    page = client.get("/oauth/authorize?" + urlencode(params))
    assert page.status_code == 200, page.get_data(as_text=True)
    return client.post(
        "/oauth/authorize",
        data={**params, "csrf_token": csrf_token(page.get_data(as_text=True)), "token": token},
    )


def code_from(response: Any, state: str | None = None) -> str:
    assert response.status_code == 303, response.get_data(as_text=True)
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    query = parse_qs(location.query)
    if state is not None:
        assert query["state"] == [state]
    return query["code"][0]


def exchange(client: FlaskClient, reg: Registered, code: str, verifier: str, **over: str) -> Any:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
        "client_id": reg.client_id,
        "client_secret": reg.secret,
    }
    form.update(over)
    return client.post("/oauth/token", data=form)


def refresh(client: FlaskClient, reg: Registered, token: str) -> Any:
    basic = base64.b64encode(f"{reg.client_id}:{reg.secret}".encode()).decode()
    return client.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": token},
        headers={"Authorization": f"Basic {basic}"},
    )


def sign_in(client: FlaskClient, reg: Registered, token: str) -> dict[str, Any]:
    verifier, challenge = pkce()
    response = exchange(client, reg, code_from(consent(client, reg, token, challenge)), verifier)
    assert response.status_code == 200, response.get_data(as_text=True)
    body: dict[str, Any] = response.json
    return body


# --- the happy path ---------------------------------------------------------------------------------------
def test_full_flow_with_pkce(client: FlaskClient, registered: Registered, tenant: Tenant) -> None:
    verifier, challenge = pkce()
    params = authorize_params(registered, challenge)
    page = client.get("/oauth/authorize?" + urlencode(params))
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Connect Zapier to MemberPass" in html and "zapier.example" in html
    assert "form-action 'self' https://zapier.example" in page.headers["Content-Security-Policy"]
    posted = client.post(
        "/oauth/authorize", data={**params, "csrf_token": csrf_token(html), "token": tenant.token}
    )
    code = code_from(posted, params["state"])
    assert code.startswith("mpo_")

    tokens = exchange(client, registered, code, verifier)
    assert tokens.status_code == 200 and tokens.headers["Cache-Control"] == "no-store"
    body = tokens.json
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    assert body["access_token"].startswith("mpc_") and body["refresh_token"].startswith("mpo_")
    me = client.get("/api/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200
    assert me.json["data"]["label"] == "Acme Creators" and me.json["data"]["created_via"] == "oauth"
    assert me.json["data"]["id"] == body["connection_id"]


def test_refresh_rotates_and_reuse_revokes_the_grant(
    client: FlaskClient, registered: Registered, tenant: Tenant
) -> None:
    first = sign_in(client, registered, tenant.token)
    second = refresh(client, registered, first["refresh_token"])
    assert second.status_code == 200
    rotated = second.json
    assert (
        rotated["refresh_token"] != first["refresh_token"]
        and rotated["access_token"] != first["access_token"]
    )
    assert client.get("/api/me", headers=bearer(rotated["access_token"])).status_code == 200

    replay = refresh(client, registered, first["refresh_token"])
    assert replay.status_code == 400 and replay.json["error"] == "invalid_grant"
    assert "already used" in replay.json["error_description"]
    for access in (first["access_token"], rotated["access_token"]):
        assert client.get("/api/me", headers=bearer(access)).status_code == 401
    assert refresh(client, registered, rotated["refresh_token"]).json["error"] == "invalid_grant"


def test_access_token_expires_and_refresh_brings_a_working_one(
    client: FlaskClient, registered: Registered, tenant: Tenant, clock: FakeClock
) -> None:
    tokens = sign_in(client, registered, tenant.token)
    clock.advance(3601)
    expired = client.get("/api/me", headers=bearer(tokens["access_token"]))
    assert expired.status_code == 401 and expired.json["error"]["code"] == "ACCESS_TOKEN_EXPIRED"
    fresh = refresh(client, registered, tokens["refresh_token"]).json
    assert client.get("/api/me", headers=bearer(fresh["access_token"])).status_code == 200


def test_refresh_is_refused_while_the_memberpass_token_is_refused_and_works_again_after(
    app: Flask, client: FlaskClient, registered: Registered, tenant: Tenant
) -> None:
    """No refresh loop: Zapier refreshes on a 401; invalid_grant makes it hold runs and ask to reconnect."""
    tokens = sign_in(client, registered, tenant.token)
    with app.app_context():
        connections().mark_needs_attention(tokens["connection_id"], "MemberPass answered 401")
    refused = refresh(client, registered, tokens["refresh_token"])
    assert refused.status_code == 400 and refused.json["error"] == "invalid_grant"
    assert "MemberPass refused the token" in refused.json["error_description"]
    with app.app_context():
        connections().mark_healthy(tokens["connection_id"])
    again = refresh(client, registered, tokens["refresh_token"])
    assert again.status_code == 200, "the refused refresh must not use the refresh token up"


def test_signing_in_again_replaces_the_token_of_the_same_connection(
    app: Flask, client: FlaskClient, registered: Registered, tenant: Tenant
) -> None:
    first = sign_in(client, registered, tenant.token)
    with app.app_context():
        connections().mark_needs_attention(first["connection_id"], "MemberPass answered 401")
    newer = token_for(tenant)
    second = sign_in(client, registered, newer.token)
    assert second["connection_id"] == first["connection_id"]
    me = client.get("/api/me", headers=bearer(second["access_token"])).json["data"]
    assert me["status"] == "active" and me["token_id"] == newer.token_record["id"]
    other_team = make_tenant(tenant.server, name="Other team")
    assert sign_in(client, registered, other_team.token)["connection_id"] != first["connection_id"]


# --- refusals at the authorize step -------------------------------------------------------------------------
def test_unknown_client_or_wrong_redirect_is_an_error_page_not_a_redirect(
    client: FlaskClient, registered: Registered
) -> None:
    _, challenge = pkce()
    for over, text in [
        ({"client_id": "cli_nope"}, "not registered"),
        ({"redirect_uri": REDIRECT + "evil"}, "redirect_uri must match exactly"),
        ({"redirect_uri": "https://attacker.example/cb"}, "redirect_uri must match exactly"),
        ({"redirect_uri": "-"}, "redirect_uri must match exactly"),
    ]:
        response = client.get(
            "/oauth/authorize?" + urlencode(authorize_params(registered, challenge, **over))
        )
        assert response.status_code == 400 and "Location" not in response.headers
        assert text in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("over", "error", "text"),
    [
        ({"code_challenge_method": "plain"}, "invalid_request", "S256"),
        ({"code_challenge_method": "-", "code_challenge": "-"}, "invalid_request", "PKCE is required"),
        ({"code_challenge": "short"}, "invalid_request", "code_challenge"),
        ({"state": "-"}, "invalid_request", "state is required"),
        ({"response_type": "token"}, "unsupported_response_type", "code"),
    ],
)
def test_bad_request_is_sent_back_to_the_client(
    client: FlaskClient, registered: Registered, over: dict[str, str], error: str, text: str
) -> None:
    _, challenge = pkce()
    params = authorize_params(registered, challenge, **over)
    response = client.get("/oauth/authorize?" + urlencode(params))
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    query = parse_qs(location.query)
    assert (
        location.netloc == "zapier.example"
        and query["error"] == [error]
        and text in query["error_description"][0]
    )
    if "state" in params:
        assert query["state"] == [params["state"]]


def test_cancel_sends_access_denied(client: FlaskClient, registered: Registered) -> None:
    _, challenge = pkce()
    params = authorize_params(registered, challenge)
    page = client.get("/oauth/authorize?" + urlencode(params))
    denied = client.post(
        "/oauth/authorize",
        data={**params, "csrf_token": csrf_token(page.get_data(as_text=True)), "action": "deny"},
    )
    assert denied.status_code == 303
    query = parse_qs(urlsplit(denied.headers["Location"]).query)
    assert query["error"] == ["access_denied"] and query["state"] == [params["state"]]


def test_consent_without_csrf_or_with_a_bad_token_stays_on_the_page(
    client: FlaskClient, registered: Registered, tenant: Tenant
) -> None:
    _, challenge = pkce()
    params = authorize_params(registered, challenge)
    no_csrf = client.post("/oauth/authorize", data={**params, "token": tenant.token})
    assert no_csrf.status_code == 403 and "Location" not in no_csrf.headers
    revoked = mint(tenant.server, tenant.team["id"])
    revoke(tenant.server, revoked["data"]["id"])
    refused = consent(client, registered, revoked["token"], challenge)
    assert refused.status_code == 401 and "The token has been revoked" in refused.get_data(as_text=True)
    assert revoked["token"] not in refused.get_data(as_text=True)


# --- refusals at the token step -----------------------------------------------------------------------------
def test_code_is_single_use_and_reuse_revokes_what_it_gave(
    client: FlaskClient, registered: Registered, tenant: Tenant
) -> None:
    verifier, challenge = pkce()
    code = code_from(consent(client, registered, tenant.token, challenge))
    first = exchange(client, registered, code, verifier)
    assert first.status_code == 200
    again = exchange(client, registered, code, verifier)
    assert again.status_code == 400 and again.json["error"] == "invalid_grant"
    assert "already used" in again.json["error_description"] and again.json["request_id"].startswith("req_")
    assert client.get("/api/me", headers=bearer(first.json["access_token"])).status_code == 401
    assert refresh(client, registered, first.json["refresh_token"]).json["error"] == "invalid_grant"


def test_bad_verifier_wrong_redirect_and_other_client_are_refused(
    app: Flask, client: FlaskClient, registered: Registered, tenant: Tenant
) -> None:
    verifier, challenge = pkce()
    code = code_from(consent(client, registered, tenant.token, challenge))
    other_verifier, _ = pkce()
    bad = exchange(client, registered, code, other_verifier)
    assert bad.status_code == 400 and "code_verifier does not match" in bad.json["error_description"]
    wrong_redirect = exchange(client, registered, code, verifier, redirect_uri=REDIRECT + "x")
    assert "redirect_uri differs" in wrong_redirect.json["error_description"]
    with app.app_context():
        other, other_secret = oauth_store().add_client("n8n", [REDIRECT])
    stolen = exchange(client, registered, code, verifier, client_id=other.id, client_secret=other_secret)
    assert stolen.json["error"] == "invalid_grant"
    assert exchange(client, registered, code, verifier).status_code == 200, (
        "failed attempts do not burn the code"
    )


def test_expired_code_is_refused(
    client: FlaskClient, registered: Registered, tenant: Tenant, clock: FakeClock
) -> None:
    verifier, challenge = pkce()
    code = code_from(consent(client, registered, tenant.token, challenge))
    clock.advance(60)
    expired = exchange(client, registered, code, verifier)
    assert expired.status_code == 400 and "expired" in expired.json["error_description"]


def test_client_authentication_and_grant_type(client: FlaskClient, registered: Registered) -> None:
    wrong = client.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "client_id": registered.client_id,
            "client_secret": "mpo_x",
        },
    )
    assert wrong.status_code == 401 and wrong.json["error"] == "invalid_client"
    assert wrong.headers["WWW-Authenticate"].startswith("Basic")
    unknown = client.post(
        "/oauth/token",
        json={
            "grant_type": "password",
            "client_id": registered.client_id,
            "client_secret": registered.secret,
        },
    )
    assert unknown.status_code == 400 and unknown.json["error"] == "unsupported_grant_type"
    missing = client.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "client_id": registered.client_id,
            "client_secret": registered.secret,
        },
    )
    assert missing.json == {
        "error": "invalid_request",
        "error_description": "code is required.",
        "request_id": missing.json["request_id"],
    }
